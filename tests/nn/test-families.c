/* SPDX-License-Identifier: MIT */
/* Every family's forward against Hugging Face transformers: tiny random
 * models written by tests/nn/make-family-fixtures.py, loaded from their
 * Hugging Face folder and from llama.cpp's GGUF conversion of it.  The
 * logits after the prompt and after each of 64 greedy tokens (fed as
 * transformers chose them) must agree to 1e-4 of the largest logit, in
 * exact mode; the positions run past the sliding windows (24) and past
 * Llama 3.1's original context (32).  Phi-3.5's LongRoPE is checked with its
 * short factors, inside its original context (128), and (phi35-long) with
 * its long factors past an original context of 8 (also as a conversation
 * that crosses it, and as a prompt the forward runs in batches); qwen3-yarn
 * runs YaRN (4× an original context of 64) past that context.  Qwen3-MoE and Mixtral
 * (four experts, two per token) run their experts through the CPU's
 * mixture-of-experts op; qwen3moe-mixed keeps a dense layer
 * (mlp_only_layers), mixtral-window attends through a window of 24, and
 * qwen3moe-q8_0, llama.cpp's Q8_0 quantization, is held to transformers
 * run on the weights gguf-py dequantizes from it.  gemma3-vlm is Gemma 3
 * 4B's layout (Gemma3ForConditionalGeneration: an image tower beside the
 * text model, text_config without its defaults), held to transformers'
 * text-only forward; gemma3-vlm-modules is the same with the tensors named
 * as the modules are.  qk-norm-shared-decode holds Qwen3-MoE's Q, K and V,
 * formed in one dispatch before their norms, to each product dispatched
 * alone. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "temper/generate.h"
#include "temper/model.h"
#include "temper/tokenizer.h"
#include "cpu/temper-cpu-backend.h"
#include "nn/temper-forward.h"

typedef struct {
  const char *family;
  gboolean    gguf;
  int         split;  /* the prompt's first tokens evaluated on their own first; 0 = none */
} Case;

static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "families", name, NULL);
}

static GArray *
int_array (JsonObject *obj, const char *member)
{
  JsonArray *a = json_object_get_array_member (obj, member);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint32));

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      gint32 v = (gint32) json_array_get_int_element (a, i);
      g_array_append_val (out, v);
    }
  return out;
}

/* max |a − b| / max |b|. */
static double
relative_error (const float *a, const float *b, int n)
{
  double diff = 0.0, scale = 0.0;

  for (int i = 0; i < n; i++)
    {
      diff = MAX (diff, fabs ((double) a[i] - b[i]));
      scale = MAX (scale, fabs ((double) b[i]));
    }
  return diff / MAX (scale, 1e-30);
}

/* What the loader must have read for each family. */
static void
check_description (const char *family, const temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);

  if (strcmp (family, "llama31") == 0)
    g_assert_nonnull (temper_model_get_rope_factors (model));
  else if (strcmp (family, "qwen3") == 0)
    g_assert_true (c->qk_norm);
  else if (strcmp (family, "gemma2") == 0)
    {
      g_assert_cmpint (c->mlp, ==, TEMPER_MLP_GEGLU);
      g_assert_cmpfloat (c->attn_softcap, ==, 2.0f);
      g_assert_cmpfloat (c->final_softcap, ==, 5.0f);
      g_assert_true (temper_model_config_layer_is_local (c, 0));
      g_assert_false (temper_model_config_layer_is_local (c, 1));
    }
  else if (strcmp (family, "gemma3") == 0)
    {
      g_assert_true (c->qk_norm && c->post_norms);
      for (int l = 0; l < 5; l++)
        g_assert_true (temper_model_config_layer_is_local (c, l));
      g_assert_false (temper_model_config_layer_is_local (c, 5));
      g_assert_cmpfloat (c->rope_freq_scale, ==, 0.125f);
    }
  else if (strcmp (family, "phi3") == 0)
    {
      g_assert_true (c->fused_qkv && c->fused_gate_up);
      g_assert_cmpint (temper_model_config_rope_dims (c), ==, 12);
    }
  else if (strcmp (family, "phi35") == 0)
    {
      g_assert_nonnull (temper_model_get_rope_factors (model));
      g_assert_cmpfloat (c->rope_mscale, >, 1.0f);
      /* With long factors the whole context is open; they take over past 128. */
      g_assert_cmpint (c->n_ctx_train, ==, 512);
      g_assert_cmpint (c->rope_long_after, ==, 128);
    }
  else if (strcmp (family, "phi35-long") == 0)
    {
      /* √(1 + ln(256/8) / ln 8), transformers' attention factor. */
      g_assert_nonnull (temper_model_get_rope_long_factors (model));
      g_assert_cmpint (c->rope_long_after, ==, 8);
      g_assert_cmpfloat_with_epsilon (c->rope_mscale, sqrt (1.0 + log (32.0) / log (8.0)), 1e-6);
      g_assert_cmpint (c->n_ctx_train, ==, 256);
    }
  else if (strcmp (family, "qwen3-yarn") == 0)
    {
      /* 0.1·ln 4 + 1, YaRN's attention factor. */
      g_assert_nonnull (temper_model_get_rope_factors (model));
      g_assert_cmpfloat_with_epsilon (c->rope_mscale, 0.1 * log (4.0) + 1.0, 1e-6);
    }
  else if (strcmp (family, "qwen3moe-q8_0") == 0)
    {
      /* llama.cpp's quantization: Q8_0 gate and up experts, F16 down
       * experts (24-wide rows are no whole Q8_0 block), each expert a
       * slice of one stacked tensor. */
      const TemperLayerWeights *w = temper_model_get_layer (model, 1);

      g_assert_cmpint (w->exp_gate[3].type, ==, TEMPER_TYPE_Q8_0);
      g_assert_cmpint (w->exp_up[0].type, ==, TEMPER_TYPE_Q8_0);
      g_assert_cmpint (w->exp_down[2].type, ==, TEMPER_TYPE_F16);
      g_assert_cmpint (w->exp_down[2].ne[0], ==, 24);
      g_assert_cmpint (w->exp_down[2].ne[1], ==, 32);
    }
  else if (strcmp (family, "qwen3moe-mixed") == 0)
    {
      /* mlp_only_layers [0]: a dense first layer; no renormalisation. */
      g_assert_cmpint (c->n_expert, ==, 4);
      g_assert_false (c->expert_norm);
      g_assert_false (temper_model_layer_is_moe (temper_model_get_layer (model, 0)));
      g_assert_nonnull (temper_model_get_layer (model, 0)->w_gate.data);
      g_assert_true (temper_model_layer_is_moe (temper_model_get_layer (model, 1)));
    }
  else if (strcmp (family, "mixtral-window") == 0)
    g_assert_true (c->n_expert == 4 && c->sliding_window > 0);
  else if (strcmp (family, "qwen3moe") == 0 || strcmp (family, "mixtral") == 0)
    {
      /* Four experts, two per token, weights renormalised; Qwen3-MoE's are
       * 24 wide (moe_intermediate_size), Mixtral's 48 (intermediate_size). */
      g_assert_cmpint (c->n_expert, ==, 4);
      g_assert_cmpint (c->n_expert_used, ==, 2);
      g_assert_true (c->expert_norm);
      g_assert_cmpint (c->n_ff_expert, ==, family[0] == 'q' ? 24 : 48);
      g_assert_true (c->qk_norm == (family[0] == 'q'));
      g_assert_cmpstr (temper_model_get_family_name (model), ==, family[0] == 'q' ? "Qwen3-MoE" : "Mixtral");
      for (int l = 0; l < c->n_layer; l++)
        g_assert_true (temper_model_layer_is_moe (temper_model_get_layer (model, l)));
    }
  else if (g_str_has_prefix (family, "gemma3-vlm"))
    {
      /* Gemma3ForConditionalGeneration's text part: the settings its
       * text_config leaves out are Gemma3TextConfig's defaults (8 heads, 4
       * key/value heads, query_pre_attn_scalar 256, RoPE bases 1e6 and 1e4,
       * a context of 131072); the tensors' names say the layout. */
      g_assert_cmpint (c->hf_layout, ==, strstr (family, "modules") != NULL ? TEMPER_HF_LAYOUT_VLM_MODULES
                                                                         : TEMPER_HF_LAYOUT_VLM);
      g_assert_cmpint (c->arch, ==, TEMPER_ARCH_GEMMA3);
      g_assert_cmpint (c->n_head, ==, 8);
      g_assert_cmpint (c->n_head_kv, ==, 4);
      g_assert_cmpint (c->head_dim, ==, 8);
      g_assert_cmpint (c->n_ctx_train, ==, 131072);
      g_assert_cmpfloat (c->attn_scale, ==, 1.0f / 16.0f);
      g_assert_cmpfloat (c->rope_theta, ==, 1e6f);
      g_assert_cmpfloat (c->rope_theta_local, ==, 1e4f);
      g_assert_cmpfloat (c->rope_freq_scale, ==, 0.125f);
      g_assert_true (c->qk_norm && c->post_norms && c->tied_embeddings);
      /* Its chat template is the processor's, in chat_template.json. */
      g_assert_nonnull (strstr (temper_model_get_chat_template (model), "<start_of_turn>"));
      for (int l = 0; l < 3; l++)
        g_assert_true (temper_model_config_layer_is_local (c, l));
      g_assert_false (temper_model_config_layer_is_local (c, 3));
      {
        g_autofree char *scope = temper_model_describe_lora_scope (model);

        g_assert_nonnull (strstr (scope, "image part is not used"));
      }
    }
  else if (strcmp (family, "glm4") == 0)
    {
      g_assert_true (c->post_norms && c->fused_gate_up && c->qkv_bias);
      g_assert_cmpint (temper_model_config_rope_dims (c), ==, 8);
    }
}

static void
test_family (gconstpointer data)
{
  const Case *t = data;
  /* The module-named copy of the Gemma 3 model of text and images has the
   * same references. */
  g_autofree char *stem = g_str_has_suffix (t->family, "-modules")
                          ? g_strndup (t->family, strlen (t->family) - strlen ("-modules")) : g_strdup (t->family);
  g_autofree char *json_name = g_strdup_printf ("%s.json", stem);
  g_autofree char *logits_name = g_strdup_printf ("%s.logits", stem);
  g_autofree char *gguf_name = g_strdup_printf ("%s.gguf", t->family);
  g_autofree char *json_path = fixture_path (json_name);
  g_autofree char *logits_path = fixture_path (logits_name);
  g_autofree char *model_path = fixture_path (t->gguf ? gguf_name : t->family);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) prompt = NULL, greedy = NULL, ids = NULL, expected_ids = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *logits = NULL;
  TemperGeneratorOptions opts = { 256, 2, TRUE };
  const TemperModelConfig *c;
  JsonObject *obj;
  gsize len;
  int n_vocab, window, n_rows;
  double worst = 0.0;

  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  prompt = int_array (obj, "prompt");
  greedy = int_array (obj, "greedy");
  n_vocab = (int) json_object_get_int_member (obj, "n_vocab");
  window = (int) json_object_get_int_member (obj, "window");
  g_assert_true (g_file_get_contents (logits_path, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, (gsize) (greedy->len + 1) * n_vocab * sizeof (float));

  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->n_vocab, ==, n_vocab);
  check_description (t->family, model);

  /* The tokenizer is the family's kind: the Hugging Face folder's matches
   * transformers, a SentencePiece GGUF's matches SentencePiece itself. */
  expected_ids = int_array (obj, t->gguf && json_object_has_member (obj, "spm_ids") ? "spm_ids" : "tokenizer_ids");
  if (!t->gguf || json_object_has_member (obj, "spm_ids"))
    {
      ids = temper_tokenizer_encode (temper_model_get_tokenizer (model),
                                     json_object_get_string_member (obj, "tokenizer_text"), -1, FALSE);
      g_assert_cmpuint (ids->len, ==, expected_ids->len);
      g_assert_cmpmem (ids->data, ids->len * sizeof (gint32), expected_ids->data, expected_ids->len * sizeof (gint32));
    }

  /* llama.cpp runs a llama-arch GGUF without Mistral's window (its
   * converter writes none): it is compared as far as the window reaches. */
  n_rows = (int) greedy->len + 1;
  if (t->gguf && strcmp (t->family, "mistral") == 0)
    {
      g_assert_cmpint (c->sliding_window, ==, 0);
      n_rows = window - (int) prompt->len + 1;
    }
  else if (c->sliding_window > 0)
    g_assert_cmpint (c->sliding_window, ==, window);

  gen = temper_generator_new (model, &opts, &error);
  g_assert_no_error (error);
  logits = g_new (float, n_vocab);
  /* split: a conversation that starts inside LongRoPE's original context
   * and crosses it, so that the keys cached with the short factors must
   * be computed again with the long ones, as transformers does. */
  if (t->split > 0)
    {
      g_assert_true (temper_generator_eval (gen, (const gint32 *) prompt->data, t->split, logits, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (temper_generator_eval (gen, (const gint32 *) prompt->data + t->split, prompt->len - t->split,
                                        logits, NULL, &error));
  g_assert_no_error (error);
  for (int row = 0; row < n_rows; row++)
    {
      const float *expected = (const float *) bytes + (gsize) row * n_vocab;
      double err = relative_error (logits, expected, n_vocab);

      if (err > 1e-4)
        g_error ("%s row %d (position %u): relative error %.2e", t->family, row,
                 prompt->len - 1 + row, err);
      worst = MAX (worst, err);
      if (row + 1 < n_rows)
        {
          g_assert_true (temper_generator_eval (gen, &g_array_index (greedy, gint32, row), 1, logits, NULL, &error));
          g_assert_no_error (error);
        }
    }
  g_test_message ("%s (%s): %d rows, worst relative error %.2e", t->family, t->gguf ? "GGUF" : "HF",
                  n_rows, worst);
}

/* LongRoPE's prompt run in batches of 4 by the forward itself: the first
 * batches end inside the original context (8) but belong to a forward that
 * passes it, so they too take the long factors, as transformers' one
 * forward over the whole prompt does. */
static void
test_longrope_batches (void)
{
  g_autofree char *json_path = fixture_path ("phi35-long.json");
  g_autofree char *logits_path = fixture_path ("phi35-long.logits");
  g_autofree char *model_path = fixture_path ("phi35-long");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) prompt = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *logits = NULL;
  TemperBackend *backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  TemperForward *fwd;
  JsonObject *obj;
  int n_vocab;
  double err;

  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  prompt = int_array (obj, "prompt");
  n_vocab = (int) json_object_get_int_member (obj, "n_vocab");
  g_assert_true (g_file_get_contents (logits_path, &bytes, NULL, NULL));
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  fwd = temper_forward_new (model, backend, 64, 4, &error);
  g_assert_no_error (error);
  logits = g_new (float, n_vocab);
  g_assert_true (temper_forward_eval (fwd, (const gint32 *) prompt->data, (int) prompt->len, 0, logits, &error));
  g_assert_no_error (error);
  err = relative_error (logits, (const float *) bytes, n_vocab);
  g_test_message ("phi35-long in batches of 4: relative error %.2e", err);
  g_assert_cmpfloat (err, <=, 1e-4);
  temper_forward_free (fwd);   /* and the backend it owns */
}

/* The CPU's one dispatch of one token's Q, K and V, counted: the Q/K-norm
 * test below must see it taken. */
static void (*cpu_shared_input) (TemperBackend *b, int count, const TemperBTensor *const *y,
                                 const TemperBTensor *x, const TemperBTensor *const *w,
                                 const TemperBTensor *const *bias);
static int shared_qkv_calls;

static void
counted_shared_input (TemperBackend *b, int count, const TemperBTensor *const *y, const TemperBTensor *x,
                      const TemperBTensor *const *w, const TemperBTensor *const *bias)
{
  shared_qkv_calls += count == 3 && x->ne[1] == 1;
  cpu_shared_input (b, count, y, x, w, bias);
}

/* The logits of @model after @prompt and after each of the first @n_greedy
 * of @greedy, on two threads with 8-bit decoding; @shared FALSE takes the
 * backend's shared-input op away, so each product is dispatched alone. */
static float *
decode_logits (const temper_model_t *model, GArray *prompt, GArray *greedy, int n_greedy, gboolean shared)
{
  int n_vocab = temper_model_get_config (model)->n_vocab;
  TemperBackend *backend = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_FAST_DECODE);
  TemperBackendOps ops = *backend->ops;
  g_autoptr(GError) error = NULL;
  float *logits = g_new (float, (gsize) (n_greedy + 1) * n_vocab);
  TemperForward *fwd;

  cpu_shared_input = ops.matmul_shared_input;
  ops.matmul_shared_input = shared ? counted_shared_input : NULL;
  backend->ops = &ops;
  fwd = temper_forward_new (model, backend, 128, 8, &error);
  g_assert_no_error (error);
  g_assert_true (temper_forward_eval (fwd, (const gint32 *) prompt->data, (int) prompt->len, 0, logits, &error));
  g_assert_no_error (error);
  for (int i = 0; i < n_greedy; i++)
    {
      g_assert_true (temper_forward_eval (fwd, &g_array_index (greedy, gint32, i), 1, (int) prompt->len + i,
                                          logits + (gsize) (i + 1) * n_vocab, &error));
      g_assert_no_error (error);
    }
  temper_forward_free (fwd);   /* and the backend it owns, before ops goes */
  return logits;
}

/* A Q/K-norm model (Qwen3-MoE, llama.cpp's Q8_0) decoding with 8-bit
 * activations: each token's Q, K and V go to the CPU in one dispatch and
 * are normed after, each from its own room.  The logits must be those of
 * the same forward with each product dispatched alone, bit for bit (the
 * shared dispatch's numbers are each product's own), and near
 * transformers' (a norm of the wrong room, or k formed over q before its
 * norm, is far off). */
static void
test_qk_norm_shared_decode (void)
{
  const int n_greedy = 16;
  g_autofree char *json_path = fixture_path ("qwen3moe-q8_0.json");
  g_autofree char *logits_path = fixture_path ("qwen3moe-q8_0.logits");
  g_autofree char *model_path = fixture_path ("qwen3moe-q8_0.gguf");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) prompt = NULL, greedy = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *shared = NULL, *alone = NULL;
  JsonObject *obj;
  int n_vocab;
  double worst = 0.0;

  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  prompt = int_array (obj, "prompt");
  greedy = int_array (obj, "greedy");
  g_assert_cmpint ((int) greedy->len, >=, n_greedy);
  g_assert_true (g_file_get_contents (logits_path, &bytes, NULL, NULL));
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_model_get_config (model)->qk_norm);
  n_vocab = temper_model_get_config (model)->n_vocab;

  shared_qkv_calls = 0;
  shared = decode_logits (model, prompt, greedy, n_greedy, TRUE);
  /* Every layer of every decoded token. */
  g_assert_cmpint (shared_qkv_calls, ==, n_greedy * temper_model_get_config (model)->n_layer);
  alone = decode_logits (model, prompt, greedy, n_greedy, FALSE);
  for (int row = 0; row <= n_greedy; row++)
    {
      const float *s = shared + (gsize) row * n_vocab, *a = alone + (gsize) row * n_vocab;
      double err = relative_error (s, (const float *) bytes + (gsize) row * n_vocab, n_vocab);

      for (int i = 0; i < n_vocab; i++)
        if (s[i] != a[i])
          g_error ("row %d, logit %d: %.9g in one dispatch, %.9g alone", row, i, s[i], a[i]);
      if (err > 1e-1)
        g_error ("row %d: relative error %.2e against transformers", row, err);
      worst = MAX (worst, err);
    }
  g_test_message ("qwen3moe-q8_0, 8-bit decoding: worst relative error %.2e", worst);
}

int
main (int argc, char **argv)
{
  static const char *const families[] = {
    "llama31", "qwen3", "mistral", "gemma2", "gemma3", "phi3", "phi35", "glm4", "qwen3-yarn", "phi35-long",
    "qwen3moe", "mixtral",
    "qwen3moe-mixed", "qwen3moe-q8_0", "mixtral-window", "gemma3-vlm", "gemma3-vlm-modules",
  };
  static Case cases[G_N_ELEMENTS (families) * 2];
  static const Case crossing = { "phi35-long", FALSE, 4 };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    for (int g = 0; g < 2; g++)
      {
        g_autofree char *name = g_strdup_printf ("/nn/families/%s/%s", families[i], g ? "gguf" : "hf");

        /* Qwen3-MoE with dense layers and Mixtral with a window have no
         * llama.cpp conversion; the quantized Qwen3-MoE is a GGUF only. */
        if ((g && (strcmp (families[i], "qwen3moe-mixed") == 0 || strcmp (families[i], "mixtral-window") == 0
                   || g_str_has_prefix (families[i], "gemma3-vlm")))
            || (!g && strcmp (families[i], "qwen3moe-q8_0") == 0))
          continue;

        cases[i * 2 + g].family = families[i];
        cases[i * 2 + g].gguf = g;
        g_test_add_data_func (name, &cases[i * 2 + g], test_family);
      }
  g_test_add_data_func ("/nn/families/phi35-long/crossing", &crossing, test_family);
  g_test_add_func ("/nn/families/phi35-long/batches", test_longrope_batches);
  g_test_add_func ("/nn/families/qk-norm-shared-decode", test_qk_norm_shared_decode);
  return g_test_run ();
}
