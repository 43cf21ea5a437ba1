/* SPDX-License-Identifier: MIT */
/* test-export-hf-from-gguf.c — a merged Hugging Face folder made from a
 * GGUF base.  Temper re-opens the folder as a Hugging Face model: its
 * logits equal those of the GGUF with the adapter (the q/k rows of a
 * llama-arch GGUF went back to Hugging Face order, or the rotary positions
 * would differ), and the rebuilt tokenizer.json splits text into the GGUF
 * tokenizer's ids.  check-hf-from-gguf.py does the same with transformers. */
#include "config.h"

#include <string.h>

#include "temper/export.h"
#include "temper/tokenizer.h"
#include "export-test-util.h"

static const char *const texts[] = {
  "Hello world! It's 2026, isn't it?",
  "  two  spaces\tand a tab\n\nnew lines 1234567 3.14159",
  "長城是中國古代的軍事防禦工程。Ünïcödé café",
  "<|im_start|>user\nWhat's up?<|im_end|>\n",
  "def f(x):\n    return x ** 2  # square",
};

static void
assert_same_tokens (const temper_tokenizer_t *want, const temper_tokenizer_t *got)
{
  g_assert_cmpint (temper_tokenizer_get_bos (got), ==, temper_tokenizer_get_bos (want));
  g_assert_cmpint (temper_tokenizer_get_eos (got), ==, temper_tokenizer_get_eos (want));
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    for (int special = 0; special < 2; special++)
      {
        g_autoptr(GArray) a = temper_tokenizer_encode (want, texts[i], -1, special);
        g_autoptr(GArray) b = temper_tokenizer_encode (got, texts[i], -1, special);

        g_assert_cmpuint (a->len, ==, b->len);
        g_assert_cmpmem (a->data, a->len * sizeof (gint32), b->data, b->len * sizeof (gint32));
      }
}

static void
check_export (Fixture *f, const char *name, const TinySpec *spec)
{
  g_autoptr(temper_model_t) base = tiny_gguf (f, name, spec);
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (base);
  g_autofree char *out = g_build_filename (f->dir, "merged", NULL);
  g_autofree char *config_path = g_build_filename (out, "config.json", NULL);
  g_autofree float *want = NULL, *got = NULL;
  g_autoptr(temper_model_t) merged = NULL;
  g_autoptr(GError) error = NULL;
  const TemperModelConfig *c, *mc;
  double err, change;

  g_assert_true (temper_export_merged_hf (base, adapter, TEMPER_EXPORT_HF_F32, 0, out, NULL, &error));
  g_assert_no_error (error);
  merged = load (out);
  c = temper_model_get_config (base);
  mc = temper_model_get_config (merged);
  g_assert_cmpint (mc->arch, ==, c->arch);
  g_assert_cmpint (mc->rope_layout, ==, TEMPER_ROPE_HALVES);
  g_assert_cmpint (mc->n_layer, ==, c->n_layer);
  g_assert_cmpint (mc->n_head_kv, ==, c->n_head_kv);
  g_assert_cmpint (mc->qkv_bias, ==, c->qkv_bias);
  g_assert_cmpint (mc->tied_embeddings, ==, c->tied_embeddings);
  g_assert_cmpfloat (mc->rope_theta, ==, c->rope_theta);
  g_assert_cmpfloat (mc->rms_eps, ==, c->rms_eps);
  g_assert_cmpstr (temper_model_get_chat_template (merged), ==, temper_model_get_chat_template (base));

  want = logits_of (base, adapter);
  got = logits_of (merged, NULL);
  err = normalized_error (got, want, c->n_vocab);
  {
    g_autofree float *plain = logits_of (base, NULL);
    change = normalized_error (plain, want, c->n_vocab);
  }
  g_test_message ("%s: merged folder vs GGUF + adapter %.2e (the adapter changes logits by %.2e)",
                  name, err, change);
  g_assert_cmpfloat (change, >, 1e-2);
  g_assert_cmpfloat (err, <, 1e-5);
  assert_same_tokens (temper_model_get_tokenizer (base), temper_model_get_tokenizer (merged));
  g_assert_true (g_file_test (config_path, G_FILE_TEST_IS_REGULAR));
}

static void
test_llama (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");

  (void) data;
  spec.untied = TRUE;
  check_export (f, "llama.gguf", &spec);
}

static void
test_qwen2 (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("qwen2");

  (void) data;
  spec.biases = TRUE;
  spec.matrix_type = TEMPER_TYPE_Q4_0;
  check_export (f, "qwen2.gguf", &spec);
}

/* A base in one of the low-bit types (Q3_K, as in a Q3_K_M download):
 * the folder holds its dequantized weights. */
static void
test_llama_q3_k (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");

  (void) data;
  spec.n_embd = 256;
  spec.n_ff = 256;
  spec.n_layer = 1;
  spec.matrix_type = TEMPER_TYPE_Q3_K;
  check_export (f, "llama-q3_k.gguf", &spec);
}

/* The demo model's real vocabulary (49,152 tokens, SmolLM's digits-then-
 * GPT-2 splitting) survives the trip through tokenizer.json. */
static void
test_demo_tokenizer (Fixture *f, gconstpointer data)
{
  g_autofree char *path = model_test_demo_path ();
  g_autofree char *out = g_build_filename (f->dir, "demo-merged", NULL);
  g_autofree char *json = g_build_filename (out, "tokenizer.json", NULL);
  g_autofree char *config = g_build_filename (out, "tokenizer_config.json", NULL);
  g_autoptr(temper_model_t) base = NULL;
  g_autoptr(temper_tokenizer_t) rebuilt = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  if (path == NULL)
    return;
  base = load (path);
  g_assert_true (temper_export_merged_hf (base, NULL, TEMPER_EXPORT_HF_BF16, 0, out, NULL, &error));
  g_assert_no_error (error);
  rebuilt = temper_tokenizer_new_from_hf (json, config, &error);
  g_assert_no_error (error);
  assert_same_tokens (temper_model_get_tokenizer (base), rebuilt);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/export/hf-from-gguf/llama", Fixture, NULL, fixture_setup, test_llama, fixture_teardown);
  g_test_add ("/export/hf-from-gguf/qwen2", Fixture, NULL, fixture_setup, test_qwen2, fixture_teardown);
  g_test_add ("/export/hf-from-gguf/llama-q3_k", Fixture, NULL, fixture_setup, test_llama_q3_k,
              fixture_teardown);
  g_test_add ("/export/hf-from-gguf/demo-tokenizer", Fixture, NULL, fixture_setup, test_demo_tokenizer,
              fixture_teardown);
  return g_test_run ();
}
