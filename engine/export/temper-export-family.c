/* SPDX-License-Identifier: MIT */
/* temper-export-family.c — what a merge into the other format must know of
 * a family beyond the loaders' description of it (TemperModelConfig): the
 * names Hugging Face gives its class and its norms and experts, which norms
 * llama.cpp's converter stores as 1 + w, and the RoPE scaling as the other
 * format spells it.  Everything the block computes (fused matrices, q/k
 * norms, post norms, windows, soft-caps, rotary dimensions, experts) is read
 * from the loaded model's config, so the loaders stay the one place that
 * knows it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper-export-private.h"
#include "temper-model-private.h"

/* One row per family a merge can change the format of. */
static const TemperExportFamily families[] = {
  { "Llama",     TEMPER_ARCH_LLAMA,   FALSE, "LlamaForCausalLM",   "llama",       0.0f,
    NULL, "post_attention_layernorm", NULL, NULL, NULL, NULL, NULL },
  { "Mistral",   TEMPER_ARCH_MISTRAL, FALSE, "MistralForCausalLM", "mistral",     0.0f,
    NULL, "post_attention_layernorm", NULL, NULL, NULL, NULL, NULL },
  { "Qwen2",     TEMPER_ARCH_QWEN2,   FALSE, "Qwen2ForCausalLM",   "qwen2",       0.0f,
    NULL, "post_attention_layernorm", NULL, NULL, NULL, NULL, NULL },
  { "Qwen3",     TEMPER_ARCH_QWEN3,   FALSE, "Qwen3ForCausalLM",   "qwen3",       0.0f,
    NULL, "post_attention_layernorm", NULL, NULL, NULL, NULL, NULL },
  { "Gemma 2",   TEMPER_ARCH_GEMMA2,  FALSE, "Gemma2ForCausalLM",  "gemma2",      1.0f,
    "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
    NULL, NULL, NULL, NULL },
  { "Gemma 3",   TEMPER_ARCH_GEMMA3,  FALSE, "Gemma3ForCausalLM",  "gemma3_text", 1.0f,
    "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
    NULL, NULL, NULL, NULL },
  { "Phi-3",     TEMPER_ARCH_PHI3,    FALSE, "Phi3ForCausalLM",    "phi3",        0.0f,
    NULL, "post_attention_layernorm", NULL, NULL, NULL, NULL, NULL },
  { "GLM-4",     TEMPER_ARCH_GLM4,    FALSE, "Glm4ForCausalLM",    "glm4",        0.0f,
    "post_self_attn_layernorm", "post_attention_layernorm", "post_mlp_layernorm",
    NULL, NULL, NULL, NULL },
  { "Qwen3-MoE", TEMPER_ARCH_QWEN3,   TRUE,  "Qwen3MoeForCausalLM", "qwen3_moe",  0.0f,
    NULL, "post_attention_layernorm", NULL,
    "mlp.gate", "mlp.experts.%d.gate_proj", "mlp.experts.%d.up_proj", "mlp.experts.%d.down_proj" },
  { "Mixtral",   TEMPER_ARCH_LLAMA,   TRUE,  "MixtralForCausalLM", "mixtral",     0.0f,
    NULL, "post_attention_layernorm", NULL,
    "block_sparse_moe.gate", "block_sparse_moe.experts.%d.w1", "block_sparse_moe.experts.%d.w3",
    "block_sparse_moe.experts.%d.w2" },
};

const TemperExportFamily *
temper_export_family_of (const temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);

  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    if (families[i].arch == c->arch && families[i].moe == (c->n_expert > 0))
      return &families[i];
  return NULL;
}

gboolean
temper_export_qk_permuted_in_gguf (const TemperModelConfig *config)
{
  /* llama.cpp's converter reorders the rotary halves of q and k into pairs
   * for the llama architecture only (Llama, Mistral, Mixtral); GLM-4 pairs
   * them in its own Hugging Face files already, the others rotate halves. */
  return config->arch == TEMPER_ARCH_LLAMA || config->arch == TEMPER_ARCH_MISTRAL;
}

/* ---- RoPE scaling ------------------------------------------------------- */

static double
pair_wavelength (int i, int rope_dims, double theta)
{
  return 2.0 * G_PI / pow (theta, -2.0 * i / rope_dims);
}

/* Whether llama3's formula with these settings gives @factors. */
static gboolean
llama3_matches (const float *factors, int n_pairs, int rope_dims, float theta, float factor,
                float low, float high, int original)
{
  g_autofree float *again = NULL;

  if (!(factor > 0.0f) || !(low > 0.0f) || !(high > low) || original <= 0)
    return FALSE;
  again = temper_model_llama3_rope_factors (n_pairs, rope_dims, theta, factor, low, high, original);
  for (int i = 0; i < n_pairs; i++)
    if (fabsf (again[i] - factors[i]) > 1e-5f * fabsf (factors[i]))
      return FALSE;
  return TRUE;
}

/* Llama 3.1's settings back from the frequency divisors a GGUF carries
 * (rope_freqs.weight).  The formula depends on the original context and the
 * two frequency factors only through their ratios, so low_freq_factor is
 * taken as 1 (as every Llama 3.x has it) and the rest solved from the pairs
 * between the two plateaus; the answer is checked by computing the divisors
 * again. */
static gboolean
fit_llama3 (TemperExportRope *r, const float *factors, float theta)
{
  int n = r->n_pairs, rope_dims = 2 * n;
  float big = 1.0f;
  int mid[2] = { -1, -1 }, n_mid = 0, last_one = -1, first_big = -1;

  for (int i = 0; i < n; i++)
    big = MAX (big, factors[i]);
  for (int i = 0; i < n; i++)
    {
      if (fabsf (factors[i] - 1.0f) <= 1e-6f)
        last_one = i;
      else if (fabsf (factors[i] - big) <= 1e-6f * big)
        {
          if (first_big < 0)
            first_big = i;
        }
      else
        {
          mid[n_mid > 0 ? 1 : 0] = i;
          n_mid++;
        }
    }
  r->factor = big;
  r->low_freq_factor = 1.0f;
  /* Two pairs on the ramp: original/λ − 1 = s·(high − 1) for each. */
  if (n_mid >= 2)
    {
      double x0 = 1.0 / pair_wavelength (mid[0], rope_dims, theta);
      double x1 = 1.0 / pair_wavelength (mid[1], rope_dims, theta);
      double s0 = (1.0 / factors[mid[0]] - 1.0 / big) / (1.0 - 1.0 / big);
      double s1 = (1.0 / factors[mid[1]] - 1.0 / big) / (1.0 - 1.0 / big);
      double det = x0 * (-s1) - x1 * (-s0);

      if (fabs (det) > 0.0)
        {
          double original = (1.0 * (-s1) - 1.0 * (-s0)) / det;
          double h = (x0 * 1.0 - x1 * 1.0) / det;

          r->original_context = (int) lround (original);
          r->high_freq_factor = (float) (h + 1.0);
          if (llama3_matches (factors, n, rope_dims, theta, big, 1.0f, r->high_freq_factor, r->original_context))
            return TRUE;
        }
    }
  /* Else Llama 3.1's high_freq_factor of 4 and the original context from
   * one ramp pair, or from between the plateaus. */
  r->high_freq_factor = 4.0f;
  if (n_mid >= 1)
    {
      double x = 1.0 / pair_wavelength (mid[0], rope_dims, theta);
      double s = (1.0 / factors[mid[0]] - 1.0 / big) / (1.0 - 1.0 / big);
      r->original_context = (int) lround ((1.0 + 3.0 * s) / x);
    }
  else
    {
      double lo = last_one >= 0 ? 4.0 * pair_wavelength (last_one, rope_dims, theta) : 1.0;
      double hi = first_big >= 0 ? pair_wavelength (first_big, rope_dims, theta) : lo * 4.0;
      r->original_context = (int) lround (sqrt (lo * hi));
    }
  return llama3_matches (factors, n, rope_dims, theta, big, 1.0f, 4.0f, r->original_context);
}

/* YaRN's settings as the source file states them: GGUF keys, or
 * config.json's rope_parameters / rope_scaling. */
static gboolean
read_yarn (const temper_model_t *model, TemperExportRope *r, GError **error)
{
  const char *path = temper_model_get_path (model);

  r->beta_fast = 32.0f;
  r->beta_slow = 1.0f;
  if (temper_model_get_format (model) == TEMPER_MODEL_FORMAT_GGUF)
    {
      g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, error);
      const char *arch = temper_model_get_arch_name (model);
      guint32 original = 0;
      float v;

      if (gguf == NULL)
        return FALSE;
#define KEY(suffix) (g_snprintf (key, sizeof key, "%s." suffix, arch), key)
      {
        char key[128];
        if (temper_gguf_get_f32 (gguf, KEY ("rope.scaling.factor"), &v))
          r->factor = v;
        if (temper_gguf_get_u32 (gguf, KEY ("rope.scaling.original_context_length"), &original))
          r->original_context = (int) original;
        if (temper_gguf_get_f32 (gguf, KEY ("rope.scaling.yarn_beta_fast"), &v))
          r->beta_fast = v;
        if (temper_gguf_get_f32 (gguf, KEY ("rope.scaling.yarn_beta_slow"), &v))
          r->beta_slow = v;
      }
#undef KEY
    }
  else
    {
      g_autofree char *config_path = g_build_filename (path, "config.json", NULL);
      g_autoptr(JsonNode) root = temper_json_parse_file (config_path, TEMPER_JSON_MAX_SETTINGS_SIZE, error);
      JsonObject *config = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      JsonObject *scaling = NULL;

      if (config == NULL)
        return FALSE;
      if (json_object_has_member (config, "rope_parameters")
          && JSON_NODE_HOLDS_OBJECT (json_object_get_member (config, "rope_parameters")))
        scaling = json_object_get_object_member (config, "rope_parameters");
      if ((scaling == NULL || !json_object_has_member (scaling, "factor"))
          && json_object_has_member (config, "rope_scaling")
          && JSON_NODE_HOLDS_OBJECT (json_object_get_member (config, "rope_scaling")))
        scaling = json_object_get_object_member (config, "rope_scaling");
      if (scaling != NULL)
        {
          r->factor = (float) json_object_get_double_member_with_default (scaling, "factor", 0.0);
          r->original_context = (int) json_object_get_double_member_with_default (
            scaling, "original_max_position_embeddings",
            json_object_get_double_member_with_default (config, "original_max_position_embeddings", 0.0));
          r->beta_fast = (float) json_object_get_double_member_with_default (scaling, "beta_fast", 32.0);
          r->beta_slow = (float) json_object_get_double_member_with_default (scaling, "beta_slow", 1.0);
        }
    }
  if (r->factor <= 0.0f || r->original_context <= 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has YaRN RoPE scaling without its factor or original context."), path);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_rope_describe (const temper_model_t *model, TemperExportRope *r, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const float *factors = temper_model_get_rope_factors (model);
  gboolean scaled_attention = c->rope_mscale != 0.0f && c->rope_mscale != 1.0f;

  memset (r, 0, sizeof *r);
  r->n_pairs = temper_model_config_rope_dims (c) / 2;
  r->attn_factor = scaled_attention ? c->rope_mscale : 1.0f;
  if (c->rope_freq_scale != 0.0f && c->rope_freq_scale != 1.0f)
    {
      r->kind = TEMPER_EXPORT_ROPE_LINEAR;
      r->factor = 1.0f / c->rope_freq_scale;
    }
  if (factors == NULL)
    return TRUE;
  if (c->arch == TEMPER_ARCH_PHI3 || temper_model_get_rope_long_factors (model) != NULL)
    {
      r->kind = TEMPER_EXPORT_ROPE_LONGROPE;
      r->short_factors = factors;
      r->long_factors = temper_model_get_rope_long_factors (model);
      r->original_context = c->rope_long_after > 0 ? c->rope_long_after : c->n_ctx_train;
      return TRUE;
    }
  if (scaled_attention)
    {
      r->kind = TEMPER_EXPORT_ROPE_YARN;
      return read_yarn (model, r, error);
    }
  r->kind = TEMPER_EXPORT_ROPE_LLAMA3;
  r->short_factors = factors;
  if (!fit_llama3 (r, factors, c->rope_theta))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” has RoPE frequency factors that are not Llama 3.1’s formula, so Temper cannot "
                     "describe them in a Hugging Face config.json. Merge into a GGUF instead, or export "
                     "the adapter."), temper_model_get_path (model));
      return FALSE;
    }
  return TRUE;
}
