/* SPDX-License-Identifier: MIT */
/* temper-family.c — what a family is: the helpers every loader and both
 * compute paths (generation and training) share to read the family
 * description in TemperModelConfig, and the refusal of families Temper
 * does not run, naming the nearest one it does. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-model-private.h"

gboolean
temper_model_config_layer_is_local (const TemperModelConfig *c, int layer)
{
  if (c->sliding_window <= 0)
    return FALSE;
  if (c->swa_period <= 0)
    return TRUE;
  return (layer + 1) % c->swa_period != 0;
}

int
temper_model_config_rope_dims (const TemperModelConfig *c)
{
  return c->rope_dims > 0 ? c->rope_dims : c->head_dim;
}

const char *
temper_model_config_hf_tensor_prefix (const TemperModelConfig *c)
{
  switch (c->hf_layout)
    {
    case TEMPER_HF_LAYOUT_VLM:         return "language_model.model.";
    case TEMPER_HF_LAYOUT_VLM_MODULES: return "model.language_model.";
    case TEMPER_HF_LAYOUT_CAUSAL_LM:
    default:                           return "model.";
    }
}

const char *
temper_model_config_hf_module_prefix (const TemperModelConfig *c)
{
  return c->hf_layout == TEMPER_HF_LAYOUT_CAUSAL_LM ? "model." : "model.language_model.";
}

const char *
temper_model_get_family_name (const temper_model_t *model)
{
  if (model->config.n_expert > 0)
    return model->config.arch == TEMPER_ARCH_QWEN3 ? "Qwen3-MoE" : "Mixtral";
  switch (model->config.arch)
    {
    /* Llama 3.1's factors come without an attention scale; YaRN's with one. */
    case TEMPER_ARCH_LLAMA:   return model->rope_factors != NULL && (model->config.rope_mscale == 0.0f
                                                                     || model->config.rope_mscale == 1.0f)
                                     ? "Llama 3.1" : "Llama";
    case TEMPER_ARCH_QWEN2:   return "Qwen2";
    case TEMPER_ARCH_QWEN3:   return "Qwen3";
    case TEMPER_ARCH_MISTRAL: return "Mistral";
    case TEMPER_ARCH_GEMMA2:  return "Gemma 2";
    case TEMPER_ARCH_GEMMA3:  return "Gemma 3";
    case TEMPER_ARCH_PHI3:    return "Phi-3";
    case TEMPER_ARCH_GLM4:    return "GLM-4";
    default:                  return "?";
    }
}

const float *
temper_model_get_rope_factors (const temper_model_t *model)
{
  return model->rope_factors;
}

const float *
temper_model_get_rope_long_factors (const temper_model_t *model)
{
  return model->rope_long_factors;
}

void
temper_model_split_rows (const TemperTensorView *fused, int64_t first, int64_t n,
                         const char *name, TemperTensorView *part)
{
  *part = *fused;
  part->name = name;
  part->ne[1] = n;
  part->data = (const guint8 *) fused->data + (size_t) first * fused->row_bytes;
}

float *
temper_model_llama3_rope_factors (int n_pairs, int rope_dims, float theta, float factor,
                                  float low_freq_factor, float high_freq_factor,
                                  int original_context)
{
  float *factors = g_new (float, n_pairs);
  double low_wavelen = original_context / low_freq_factor;
  double high_wavelen = original_context / high_freq_factor;

  for (int i = 0; i < n_pairs; i++)
    {
      double inv_freq = pow (theta, -2.0 * i / rope_dims);
      double wavelen = 2.0 * G_PI / inv_freq;

      if (wavelen < high_wavelen)
        factors[i] = 1.0f;
      else if (wavelen > low_wavelen)
        factors[i] = factor;
      else
        {
          double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
          factors[i] = (float) (1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
  return factors;
}

/* The YaRN paper's attention scale, 0.1·m·ln(factor) + 1. */
static double
yarn_mscale (double factor, double m)
{
  return factor <= 1.0 ? 1.0 : 0.1 * m * log (factor) + 1.0;
}

float
temper_model_yarn_attention_factor (float factor, float mscale, float mscale_all_dim)
{
  if (mscale > 0.0f && mscale_all_dim > 0.0f)
    return (float) (yarn_mscale (factor, mscale) / yarn_mscale (factor, mscale_all_dim));
  return (float) yarn_mscale (factor, 1.0);
}

/* The dimension (of rope_dims) whose pair turns @rotations times over the
 * original context. */
static double
yarn_correction_dim (double rotations, int rope_dims, double theta, int original_context)
{
  return rope_dims * log (original_context / (rotations * 2.0 * G_PI)) / (2.0 * log (theta));
}

float *
temper_model_yarn_rope_factors (int n_pairs, int rope_dims, float theta, float factor,
                                int original_context, float beta_fast, float beta_slow,
                                gboolean truncate)
{
  float *factors = g_new (float, n_pairs);
  double low = yarn_correction_dim (beta_fast, rope_dims, theta, original_context);
  double high = yarn_correction_dim (beta_slow, rope_dims, theta, original_context);

  if (truncate)
    {
      low = floor (low);
      high = ceil (high);
    }
  low = MAX (low, 0.0);
  high = MIN (high, rope_dims - 1.0);
  if (low == high)
    high += 0.001;
  for (int i = 0; i < n_pairs; i++)
    {
      /* ramp 0: the pair keeps its frequency (extrapolation); 1: divided by
       * factor (interpolation).  As a divisor of the plain frequency: */
      double ramp = CLAMP ((i - low) / (high - low), 0.0, 1.0);
      factors[i] = (float) (1.0 / (ramp / factor + (1.0 - ramp)));
    }
  return factors;
}

/* Families Temper does not run, and the supported family nearest to each. */
static const struct {
  const char *name;     /* GGUF general.architecture or config.json architecture */
  const char *family;   /* for people */
  const char *nearest;
} unsupported[] = {
  { "qwen2moe", "Qwen2-MoE", "Qwen3-MoE (for example Qwen3-30B-A3B), or a dense Qwen2.5 or Qwen3 model" },
  { "Qwen2MoeForCausalLM", "Qwen2-MoE", "Qwen3-MoE (for example Qwen3-30B-A3B), or a dense Qwen2.5 or Qwen3 model" },
  { "gemma", "Gemma (first generation)", "Gemma 2 or Gemma 3" },
  { "GemmaForCausalLM", "Gemma (first generation)", "Gemma 2 or Gemma 3" },
  { "gemma3n", "Gemma 3n", "Gemma 3 (1B or 4B)" },
  { "phi2", "Phi-2", "Phi-3 mini or Phi-4-mini" },
  { "PhiForCausalLM", "Phi-2", "Phi-3 mini or Phi-4-mini" },
  { "PhiMoEForCausalLM", "Phi-3.5-MoE", "Phi-3.5 mini" },
  { "phimoe", "Phi-3.5-MoE", "Phi-3.5 mini" },
  { "phi4", "Phi-4", "Phi-4-mini" },
  { "chatglm", "ChatGLM", "GLM-4 (Glm4ForCausalLM, for example GLM-4-9B-0414)" },
  { "ChatGLMModel", "ChatGLM", "GLM-4 (Glm4ForCausalLM, for example GLM-4-9B-0414)" },
  { "deepseek2", "DeepSeek-V2/V3", "a DeepSeek-R1 distill (Qwen or Llama based)" },
  { "DeepseekV2ForCausalLM", "DeepSeek-V2", "a DeepSeek-R1 distill (Qwen or Llama based)" },
  { "DeepseekV3ForCausalLM", "DeepSeek-V3", "a DeepSeek-R1 distill (Qwen or Llama based)" },
  { "mistral3", "Mistral 3", "Mistral 7B or Ministral 8B" },
  { "llama4", "Llama 4", "Llama 3.1 or 3.2" },
  { "glm4moe", "GLM-4 MoE", "GLM-4 (dense)" },
};

void
temper_model_refuse_family (const char *what, const char *name, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (unsupported); i++)
    if (strcmp (name, unsupported[i].name) == 0)
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("“%s” is a %s model, which Temper cannot open yet. The nearest family it runs: %s."),
                     what, unsupported[i].family, unsupported[i].nearest);
        return;
      }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("“%s” is a “%s” model, which Temper cannot open. Supported families: Llama 2, 3 and "
                 "3.1–3.3, Qwen2/2.5, Qwen3, Qwen3-MoE, Mistral, Mixtral, Gemma 2, Gemma 3, Phi-3/3.5/4-mini and GLM-4."),
               what, name);
}

