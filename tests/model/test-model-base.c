/* SPDX-License-Identifier: MIT */
/* test-model-base.c — holding a model's linear projections as NF4
 * (temper_model_set_base_weights) on tiny models written by the test: which
 * tensors change, the bytes they take, the blocks they hold, and the models
 * it must refuse. */
#include "config.h"

#include <string.h>

#include "temper/error.h"
#include "temper/model.h"
#include "tiny-model.h"

typedef struct {
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = model_test_tmpdir ();
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  test_remove_tree (t->dir);
  g_free (t->dir);
}

/* A tiny Llama whose every linear layer has rows of whole 64-blocks. */
static TinySpec
spec_64 (void)
{
  TinySpec s = tiny_spec_default ("llama");

  s.n_embd = 64;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 128;
  return s;
}

static temper_model_t *
load (const char *path)
{
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

static void
linears (const temper_model_t *model, int l, const TemperTensorView *v[7])
{
  const TemperLayerWeights *w = temper_model_get_layer (model, l);

  v[0] = &w->wq, v[1] = &w->wk, v[2] = &w->wv, v[3] = &w->wo;
  v[4] = &w->w_gate, v[5] = &w->w_up, v[6] = &w->w_down;
}

/* Every linear layer of @nf4 holds, row by row, the NF4 blocks of the same
 * row of @stored; everything else is untouched. */
static void
check_quantized (const temper_model_t *nf4, const temper_model_t *stored)
{
  const TemperModelConfig *c = temper_model_get_config (stored);
  guint64 expected_linear = 0;

  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperTensorView *q[7], *s[7];
      const TemperLayerWeights *wq = temper_model_get_layer (nf4, l);
      const TemperLayerWeights *ws = temper_model_get_layer (stored, l);

      linears (nf4, l, q);
      linears (stored, l, s);
      for (int i = 0; i < 7; i++)
        {
          size_t rb = temper_type_row_bytes (TEMPER_TYPE_NF4, s[i]->ne[0]);
          g_autofree float *row = g_new (float, s[i]->ne[0]);
          g_autofree guint8 *blocks = g_malloc (rb);

          g_assert_cmpint (q[i]->type, ==, TEMPER_TYPE_NF4);
          g_assert_cmpint (q[i]->ne[0], ==, s[i]->ne[0]);
          g_assert_cmpint (q[i]->ne[1], ==, s[i]->ne[1]);
          g_assert_cmpuint (q[i]->row_bytes, ==, rb);
          for (int64_t r = 0; r < s[i]->ne[1]; r++)
            {
              temper_tensor_row_to_f32 (s[i], r, row);
              temper_quantize_row_nf4 (row, s[i]->ne[0], blocks);
              g_assert_cmpmem ((const guint8 *) q[i]->data + r * rb, rb, blocks, rb);
            }
          expected_linear += rb * (guint64) s[i]->ne[1];
        }
      g_assert_cmpint (wq->attn_norm.type, ==, ws->attn_norm.type);
      g_assert_cmpint (wq->ffn_norm.type, ==, ws->ffn_norm.type);
    }
  g_assert_cmpint (temper_model_get_token_embd (nf4)->type, ==, temper_model_get_token_embd (stored)->type);
  g_assert_cmpint (temper_model_get_output (nf4)->type, ==, temper_model_get_output (stored)->type);
  g_assert_cmpuint (temper_model_get_linear_bytes (nf4), ==, expected_linear);
  g_assert_cmpuint (temper_model_get_stored_linear_bytes (nf4), ==, temper_model_get_linear_bytes (stored));
  g_assert_cmpuint (temper_model_get_stored_weight_bytes (nf4), ==, temper_model_get_weight_bytes (stored));
  g_assert_cmpuint (temper_model_get_weight_bytes (nf4), ==,
                    temper_model_get_weight_bytes (stored) - temper_model_get_linear_bytes (stored)
                    + expected_linear);
}

static void
test_hf_bf16 (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "hf", NULL);
  TinySpec s = spec_64 ();
  g_autoptr(temper_model_t) nf4 = NULL;
  g_autoptr(temper_model_t) stored = NULL;
  g_autoptr(GError) error = NULL;
  guint64 estimate;

  tiny_write_hf_folder (dir, &s, "LlamaForCausalLM", NULL, FALSE);
  nf4 = load (dir);
  stored = load (dir);
  g_assert_cmpstr (temper_model_get_quantization (stored), ==, "BF16");
  g_assert_cmpint (temper_model_get_base_weights (stored), ==, TEMPER_BASE_WEIGHTS_STORED);
  g_assert_cmpuint (temper_model_get_stored_weight_bytes (stored), ==, temper_model_get_weight_bytes (stored));
  /* The estimate made before converting is what converting then gives. */
  g_assert_true (temper_model_can_hold_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4));
  estimate = temper_model_estimate_weight_bytes (nf4, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_cmpuint (estimate, <, temper_model_get_weight_bytes (stored));

  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_cmpuint (temper_model_get_weight_bytes (nf4), ==, estimate);
  g_assert_cmpuint (temper_model_estimate_weight_bytes (nf4, TEMPER_BASE_WEIGHTS_STORED), ==,
                    temper_model_get_weight_bytes (stored));
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_base_weights (nf4), ==, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_cmpstr (temper_model_get_quantization (nf4), ==, "NF4");
  check_quantized (nf4, stored);
  /* 36 bytes per 64 BF16 weights (128 bytes): 9/32 of the memory. */
  g_assert_cmpuint (temper_model_get_linear_bytes (nf4) * 32, ==, temper_model_get_linear_bytes (stored) * 9);

  /* Asking again changes nothing; going back needs a fresh load. */
  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  check_quantized (nf4, stored);
  g_assert_false (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_STORED, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
}

static void
test_gguf_f16_allowed (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "f16.gguf", NULL);
  TinySpec s = spec_64 ();
  g_autoptr(temper_model_t) nf4 = NULL;
  g_autoptr(temper_model_t) stored = NULL;
  g_autoptr(GError) error = NULL;

  s.matrix_type = TEMPER_TYPE_F16;
  tiny_write_gguf (path, &s);
  nf4 = load (path);
  stored = load (path);
  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  check_quantized (nf4, stored);
}

static void
test_gguf_quantized_refused (Tmp *t, gconstpointer data)
{
  static const int types[] = { TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q4_0 };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *path = g_build_filename (t->dir, "quantized.gguf", NULL);
      TinySpec s = spec_64 ();
      g_autoptr(temper_model_t) model = NULL;
      g_autoptr(GError) error = NULL;
      guint64 bytes;

      s.matrix_type = types[i];
      tiny_write_gguf (path, &s);
      model = load (path);
      bytes = temper_model_get_weight_bytes (model);
      g_assert_false (temper_model_can_hold_base_weights (model, TEMPER_BASE_WEIGHTS_NF4));
      g_assert_cmpuint (temper_model_estimate_weight_bytes (model, TEMPER_BASE_WEIGHTS_NF4), ==, bytes);
      g_assert_false (temper_model_set_base_weights (model, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "quantized.gguf"));
      g_assert_nonnull (strstr (error->message, "already quantized"));
      g_assert_nonnull (strstr (error->message, temper_type_name (types[i])));
      /* Nothing changed. */
      g_assert_cmpint (temper_model_get_layer (model, 0)->wq.type, ==, types[i]);
      g_assert_cmpint (temper_model_get_base_weights (model), ==, TEMPER_BASE_WEIGHTS_STORED);
      g_assert_cmpuint (temper_model_get_weight_bytes (model), ==, bytes);
    }
}

/* Hidden size 32: q, k, v, o, gate and up have 32-wide rows, which no NF4
 * block tiles, and stay as stored; down (64 wide) becomes NF4. */
static void
test_rows_not_whole_blocks (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "hf32", NULL);
  TinySpec s = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  const TemperLayerWeights *w;
  guint64 estimate;

  tiny_write_hf_folder (dir, &s, "LlamaForCausalLM", NULL, FALSE);
  model = load (dir);
  estimate = temper_model_estimate_weight_bytes (model, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_true (temper_model_set_base_weights (model, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (temper_model_get_weight_bytes (model), ==, estimate);
  w = temper_model_get_layer (model, 1);
  g_assert_cmpint (w->wq.type, ==, TEMPER_TYPE_BF16);
  g_assert_cmpint (w->w_up.type, ==, TEMPER_TYPE_BF16);
  g_assert_cmpint (w->w_down.type, ==, TEMPER_TYPE_NF4);
}

static void
test_cancelled (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "hf", NULL);
  TinySpec s = spec_64 ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  tiny_write_hf_folder (dir, &s, "LlamaForCausalLM", NULL, FALSE);
  model = load (dir);
  g_cancellable_cancel (cancellable);
  g_assert_false (temper_model_set_base_weights (model, TEMPER_BASE_WEIGHTS_NF4, cancellable, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_assert_cmpint (temper_model_get_layer (model, 0)->wq.type, ==, TEMPER_TYPE_BF16);
  g_assert_cmpint (temper_model_get_base_weights (model), ==, TEMPER_BASE_WEIGHTS_STORED);
}

static void
test_parse (void)
{
  TemperBaseWeights base = TEMPER_BASE_WEIGHTS_STORED;
  g_autoptr(GError) error = NULL;

  g_assert_true (temper_base_weights_parse ("nf4", &base, NULL));
  g_assert_cmpint (base, ==, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_true (temper_base_weights_parse ("stored", &base, NULL));
  g_assert_cmpint (base, ==, TEMPER_BASE_WEIGHTS_STORED);
  g_assert_true (temper_base_weights_parse ("NF4", &base, NULL));
  g_assert_cmpstr (temper_base_weights_name (base), ==, "nf4");
  g_assert_false (temper_base_weights_parse ("int4", &base, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“int4”"));
  g_assert_cmpint (base, ==, TEMPER_BASE_WEIGHTS_NF4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/model/base-weights/hf-bf16", Tmp, NULL, tmp_setup, test_hf_bf16, tmp_teardown);
  g_test_add ("/model/base-weights/gguf-f16", Tmp, NULL, tmp_setup, test_gguf_f16_allowed, tmp_teardown);
  g_test_add ("/model/base-weights/gguf-quantized-refused", Tmp, NULL, tmp_setup,
              test_gguf_quantized_refused, tmp_teardown);
  g_test_add ("/model/base-weights/rows-not-whole-blocks", Tmp, NULL, tmp_setup,
              test_rows_not_whole_blocks, tmp_teardown);
  g_test_add ("/model/base-weights/cancelled", Tmp, NULL, tmp_setup, test_cancelled, tmp_teardown);
  g_test_add_func ("/model/base-weights/parse", test_parse);
  return g_test_run ();
}
