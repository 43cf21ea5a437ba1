/* SPDX-License-Identifier: MIT */
/* export-test-util.h — the fixture, adapters, prompt and measures shared by
 * the export tests and the program that writes the inputs of
 * make-export-fixtures.py. */
#pragma once

#include <math.h>

#include "temper/adapter.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper/train.h"
#include "tiny-model.h"

/* An adapter whose every A and B is filled with values in ±@amp, so that it
 * changes the model's answers clearly. */
static inline temper_adapter_t *
random_adapter (temper_model_t *model, int rank, float alpha, gboolean rslora, guint targets,
                float amp)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  g_autoptr(GError) error = NULL;
  temper_adapter_t *adapter = temper_adapter_new (c, rank, alpha, rslora, targets, &error);
  guint salt = 100;

  g_assert_no_error (error);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;
        g_autofree float *va = NULL, *vb = NULL;

        if (!(targets & TEMPER_LORA_TARGET_BIT (t)))
          continue;
        temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
        va = tiny_values ((gsize) in * rank, salt++);
        vb = tiny_values ((gsize) out * rank, salt++);
        for (gsize i = 0; i < (gsize) in * rank; i++)
          temper_adapter_get_a (adapter, l, (TemperLoraTarget) t)[i] = 2 * amp * va[i];
        for (gsize i = 0; i < (gsize) out * rank; i++)
          temper_adapter_get_b (adapter, l, (TemperLoraTarget) t)[i] = 2 * amp * vb[i];
      }
  temper_adapter_changed (adapter);
  return adapter;
}

static const gint32 prompt[] = { TINY_IM_START, 'u', 's', 'e', 'r', '\n', 'H', 'i', '!', TINY_IM_END,
                                 '\n', TINY_IM_START, 'a', 's', 's', '\n' };

/* The adapter of the transformers reference: q, k, v, o, gate, up and down
 * of tiny-qwen2, rank 4, α 8 with rsLoRA (scale 4). */
static inline temper_adapter_t *
export_test_adapter (temper_model_t *model)
{
  return random_adapter (model, 4, 8.0f, TRUE, TEMPER_LORA_ALL_TARGETS, 0.1f);
}

typedef struct {
  char *dir;
} Fixture;

static inline void
fixture_setup (Fixture *f, gconstpointer data)
{
  (void) data;
  f->dir = model_test_tmpdir ();
}

static inline void
fixture_teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  test_remove_tree (f->dir);
  g_free (f->dir);
}

static inline temper_model_t *
load (const char *path)
{
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

/* A tiny GGUF model at DIR/@name with @spec. */
static inline temper_model_t *
tiny_gguf (Fixture *f, const char *name, const TinySpec *spec)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);

  tiny_write_gguf (path, spec);
  return load (path);
}

/* Next-token logits after the prompt, in fp32 throughout. */
static inline float *
logits_of (temper_model_t *model, temper_adapter_t *adapter)
{
  TemperGeneratorOptions options = { .n_ctx = 64, .n_threads = 1, .exact = TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &options, &error);
  float *logits = g_new (float, temper_model_get_config (model)->n_vocab);

  g_assert_no_error (error);
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  g_assert_true (temper_generator_eval (gen, prompt, G_N_ELEMENTS (prompt), logits, NULL, &error));
  g_assert_no_error (error);
  return logits;
}

static inline GArray *
greedy_of (temper_model_t *model, temper_adapter_t *adapter)
{
  TemperGeneratorOptions options = { .n_ctx = 64, .n_threads = 1, .exact = TRUE };
  TemperSamplingParams params;
  TemperGenerateResult result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &options, &error);
  GArray *tokens;

  g_assert_no_error (error);
  temper_sampling_params_init (&params);
  params.temperature = 0.0f;
  params.repeat_penalty = 1.0f;
  params.max_tokens = 12;
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  g_assert_true (temper_generator_generate (gen, prompt, G_N_ELEMENTS (prompt), &params, NULL,
                                            NULL, NULL, &result, &error));
  g_assert_no_error (error);
  tokens = g_array_ref (result.tokens);
  temper_generate_result_clear (&result);
  return tokens;
}

/* ‖x − y‖ / ‖y‖ */
static inline double
normalized_error (const float *x, const float *y, int n)
{
  double num = 0, den = 0;

  for (int i = 0; i < n; i++)
    {
      num += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
      den += (double) y[i] * y[i];
    }
  return sqrt (num / den);
}

static inline guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static inline char *
tiny_qwen2_dir (void)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "nn",
                           "tiny-qwen2", NULL);
}
