/* SPDX-License-Identifier: MIT */
/* The families on the Vulkan backend.  Qwen3 (per-head q/k norms, built
 * from the RMSNorm every backend has), Mistral past its sliding window,
 * Gemma 2 (GeGLU, alternating windowed layers, post norms, soft-capped
 * attention and logits), the families that turn by a RoPE frequency table
 * (Llama 3.1's frequency factors, Gemma 3's scaled global RoPE, Phi-3's and
 * GLM-4's partial rotary, Phi-3.5's LongRoPE) and the mixtures of experts
 * (Qwen3-MoE, with a dense layer too, Mixtral, with a window too, and
 * llama.cpp's Q8_0/F16 quantization of the Qwen3-MoE, read from its GGUF)
 * run, and their logits after the prompt and 64 greedy tokens must match
 * transformers (tests/nn's family fixtures) to 1e-4.  They also train
 * (Gemma 2 with its soft-capped loss, the mixtures of experts LoRA on
 * attention through their frozen experts and router): 20 AdamW steps
 * against PEFT (tests/train/make-family-peft-fixtures.py) to 3e-4, as
 * test-vk-train holds the tiny Llama. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "nn/temper-forward.h"
#include "temper/error.h"
#include "temper/train.h"
#include "train/temper-train-step.h"
#include "vulkan/temper-vk-backend.h"

static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;

  return g_build_filename (src, "tests", "fixtures", "families", name, NULL);
}

static TemperBackend *
open_vulkan (void)
{
  g_autoptr(GError) error = NULL;
  TemperBackend *vk = temper_vk_backend_new (-1, &error);

  if (vk == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
    }
  return vk;
}

/* Runs @family (its Hugging Face folder, or where it has none its GGUF) for
 * @n_ctx positions and compares as many rows as fit. */
static void
run_matching (const char *family, int n_ctx)
{
  g_autofree char *folder = fixture_path (family);
  g_autofree char *gguf_name = g_strdup_printf ("%s.gguf", family);
  g_autofree char *dir = g_file_test (folder, G_FILE_TEST_IS_DIR) ? g_strdup (folder) : fixture_path (gguf_name);
  g_autofree char *json_name = g_strdup_printf ("%s.json", family);
  g_autofree char *logits_name = g_strdup_printf ("%s.logits", family);
  g_autofree char *json_path = fixture_path (json_name);
  g_autofree char *logits_path = fixture_path (logits_name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(TemperForward) fwd = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *logits = NULL;
  g_autofree gint32 *prompt = NULL;
  TemperBackend *vk = open_vulkan ();
  JsonObject *obj;
  JsonArray *jprompt, *jgreedy;
  int n_vocab, n_prompt, n_rows;
  gsize len;
  double worst = 0.0;

  if (vk == NULL)
    return;
  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  jprompt = json_object_get_array_member (obj, "prompt");
  jgreedy = json_object_get_array_member (obj, "greedy");
  n_vocab = (int) json_object_get_int_member (obj, "n_vocab");
  n_prompt = (int) json_array_get_length (jprompt);
  g_assert_true (g_file_get_contents (logits_path, &bytes, &len, NULL));
  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  fwd = temper_forward_new (model, vk, n_ctx, n_prompt, &error);
  g_assert_no_error (error);

  prompt = g_new (gint32, n_prompt);
  for (int i = 0; i < n_prompt; i++)
    prompt[i] = (gint32) json_array_get_int_element (jprompt, (guint) i);
  logits = g_new (float, n_vocab);
  g_assert_true (temper_forward_eval (fwd, prompt, n_prompt, 0, logits, &error));
  g_assert_no_error (error);
  n_rows = MIN ((int) json_array_get_length (jgreedy) + 1, n_ctx - n_prompt + 1);
  for (int row = 0; row < n_rows; row++)
    {
      const float *expected = (const float *) bytes + (gsize) row * n_vocab;
      double diff = 0.0, scale = 0.0;

      for (int i = 0; i < n_vocab; i++)
        {
          diff = MAX (diff, fabs ((double) logits[i] - expected[i]));
          scale = MAX (scale, fabs ((double) expected[i]));
        }
      g_assert_cmpfloat (diff / scale, <=, 1e-4);
      worst = MAX (worst, diff / scale);
      if (row + 1 < n_rows)
        {
          gint32 next = (gint32) json_array_get_int_element (jgreedy, (guint) row);
          g_assert_true (temper_forward_eval (fwd, &next, 1, n_prompt + row, logits, &error));
          g_assert_no_error (error);
        }
    }
  g_test_message ("%s on Vulkan: %d rows, worst relative error %.2e", family, n_rows, worst);
}

static void
test_qwen3 (void)
{
  run_matching ("qwen3", 128);
}

/* Inside its window, Mistral is a Llama block: Vulkan runs it. */
static void
test_mistral_inside_window (void)
{
  run_matching ("mistral", 24);
}

/* Past it (the fixture's prompt and decode go beyond 24 positions), the
 * windowed attention. */
static void
test_mistral_past_window (void)
{
  run_matching ("mistral", 128);
}

static void
test_gemma2 (void)
{
  run_matching ("gemma2", 128);
}

static void
test_rope_table_family (gconstpointer data)
{
  run_matching (data, 128);
}

static void
test_moe_family (gconstpointer data)
{
  run_matching (data, 128);
}

static void
test_training (gconstpointer data)
{
  const char *family = data;
  const char *src = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *adapter_name = g_strdup_printf ("%s-adapter", family);
  g_autofree char *json_name = g_strdup_printf ("%s-parity.json", family);
  g_autofree char *model_dir = fixture_path (family);
  g_autofree char *adapter_dir = g_build_filename (src, "tests", "fixtures", "train", "families", adapter_name, NULL);
  g_autofree char *json = g_build_filename (src, "tests", "fixtures", "train", "families", json_name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint32 *tok = NULL, *tgt = NULL;
  TemperBackend *vk = open_vulkan ();
  temper_adapter_t *adapter;
  TemperTrainStep *step;
  JsonObject *fixture, *settings;
  JsonArray *ids, *mask, *losses;
  TemperAdamWParams p = { 0 };
  int n_rows, seq, micro_batch;
  double worst = 0.0;

  if (vk == NULL)
    return;
  model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  fixture = json_node_get_object (json_parser_get_root (parser));
  settings = json_object_get_object_member (fixture, "settings");
  ids = json_object_get_array_member (fixture, "ids");
  mask = json_object_get_array_member (fixture, "mask");
  losses = json_object_get_array_member (fixture, "losses");
  n_rows = (int) json_array_get_length (ids);
  seq = (int) json_array_get_length (json_array_get_array_element (ids, 0));
  micro_batch = (int) json_object_get_int_member (settings, "micro_batch");
  tok = g_new (gint32, n_rows * seq);
  tgt = g_new (gint32, n_rows * seq);
  for (int r = 0; r < n_rows; r++)
    for (int t = 0; t < seq; t++)
      {
        JsonArray *ri = json_array_get_array_element (ids, r), *rm = json_array_get_array_element (mask, r);

        tok[r * seq + t] = (gint32) json_array_get_int_element (ri, t);
        tgt[r * seq + t] = t + 1 < seq && json_array_get_int_element (rm, t + 1)
                           ? (gint32) json_array_get_int_element (ri, t + 1) : -1;
      }
  step = temper_train_step_new (model, vk, adapter, 0.0f, micro_batch, seq, FALSE, &error);
  g_assert_no_error (error);
  p.lr = (float) json_object_get_double_member (settings, "learning_rate");
  p.beta1 = (float) json_object_get_double_member (settings, "beta1");
  p.beta2 = (float) json_object_get_double_member (settings, "beta2");
  p.eps = (float) json_object_get_double_member (settings, "eps");
  p.weight_decay = (float) json_object_get_double_member (settings, "weight_decay");
  p.max_grad_norm = (float) json_object_get_double_member (settings, "max_grad_norm");
  for (guint i = 0; i < json_array_get_length (losses); i++)
    {
      int batch = (int) i % (n_rows / micro_batch), count = 0;
      const gint32 *bt = tgt + batch * micro_batch * seq;
      double expected = json_array_get_double_element (losses, i), sum = 0, n = 0, norm;

      for (int j = 0; j < micro_batch * seq; j++)
        count += bt[j] >= 0;
      g_assert_true (temper_train_step_run (step, tok + batch * micro_batch * seq, bt, micro_batch, seq,
                                            TRUE, 1.0f / (float) count, NULL, &sum, &n, &error));
      g_assert_no_error (error);
      g_assert_true (temper_train_step_grad_norm (step, &norm, &error));
      worst = MAX (worst, fabs (sum / n - expected) / expected);
      g_assert_cmpfloat (fabs (sum / n - expected), <=, 3e-4 * expected);
      p.step = i + 1;
      g_assert_true (temper_train_step_optimize (step, &p, &error));
    }
  g_test_message ("%s training on Vulkan: largest relative loss difference from PEFT %.2e", family, worst);
  temper_train_step_free (step);
  temper_backend_free (vk);
  temper_adapter_free (adapter);
}

int
main (int argc, char **argv)
{
  static const char *const rope_tables[] = { "llama31", "gemma3", "phi3", "phi35", "glm4", "qwen3-yarn", "phi35-long" };
  static const char *const experts[] = { "qwen3moe", "mixtral", "qwen3moe-mixed", "mixtral-window", "qwen3moe-q8_0" };
  static const char *const trained[] = { "qwen3", "mistral", "gemma2", "llama31", "gemma3", "phi3", "glm4",
                                         "qwen3moe", "mixtral", "qwen3moe-mixed" };

  g_test_init (&argc, &argv, NULL);
  /* CI has only Mesa's lavapipe, which Temper skips unless asked. */
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  g_test_add_func ("/vulkan/families/qwen3", test_qwen3);
  g_test_add_func ("/vulkan/families/mistral-inside-window", test_mistral_inside_window);
  g_test_add_func ("/vulkan/families/mistral-past-window", test_mistral_past_window);
  g_test_add_func ("/vulkan/families/gemma2", test_gemma2);
  for (gsize i = 0; i < G_N_ELEMENTS (rope_tables); i++)
    {
      g_autofree char *name = g_strdup_printf ("/vulkan/families/%s", rope_tables[i]);
      g_test_add_data_func (name, rope_tables[i], test_rope_table_family);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (experts); i++)
    {
      g_autofree char *name = g_strdup_printf ("/vulkan/families/%s", experts[i]);
      g_test_add_data_func (name, experts[i], test_moe_family);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (trained); i++)
    {
      g_autofree char *name = g_strdup_printf ("/vulkan/families/%s-training", trained[i]);
      g_test_add_data_func (name, trained[i], test_training);
    }
  return g_test_run ();
}
