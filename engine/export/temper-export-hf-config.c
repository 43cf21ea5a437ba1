/* SPDX-License-Identifier: MIT */
/* temper-export-hf-config.c — config.json of a merged Hugging Face folder
 * made from a GGUF base: the family's class (temper-export-family.c) and
 * every setting its transformers class reads, from the loaded model's
 * description (TemperModelConfig), written the way the family's own
 * checkpoints spell them (rope_theta and rope_scaling, which transformers 4
 * and 5 both read). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-export-private.h"
#include "temper-tokenizer-private.h"

static void
set_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
set_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
}

static void
set_bool (JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, value);
}

static void
set_null (JsonBuilder *b, const char *key)
{
  json_builder_set_member_name (b, key);
  json_builder_add_null_value (b);
}

/* The shortest decimal that reads back as the same float. */
static double
shortest (float value)
{
  char text[32];

  g_snprintf (text, sizeof text, "%.9g", (double) value);
  for (int digits = 6; digits < 9; digits++)
    {
      char shorter[32];

      g_snprintf (shorter, sizeof shorter, "%.*g", digits, (double) value);
      if ((float) g_ascii_strtod (shorter, NULL) == value)
        return g_ascii_strtod (shorter, NULL);
    }
  return g_ascii_strtod (text, NULL);
}

static void
add_float (JsonBuilder *b, float value)
{
  json_builder_add_double_value (b, shortest (value));
}

static void
set_float (JsonBuilder *b, const char *key, float value)
{
  json_builder_set_member_name (b, key);
  add_float (b, value);
}

static void
set_floats (JsonBuilder *b, const char *key, const float *values, int n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    add_float (b, values[i]);
  json_builder_end_array (b);
}

/* rope_theta and rope_scaling (Gemma 3: of the global layers, with
 * rope_local_base_freq for the local ones). */
static void
write_rope (JsonBuilder *b, const temper_model_t *model, const TemperExportRope *r)
{
  const TemperModelConfig *c = temper_model_get_config (model);

  set_float (b, "rope_theta", c->rope_theta);
  if (c->arch == TEMPER_ARCH_GEMMA3)
    set_float (b, "rope_local_base_freq", c->rope_theta_local > 0.0f ? c->rope_theta_local : c->rope_theta);
  if (r->kind == TEMPER_EXPORT_ROPE_PLAIN)
    {
      set_null (b, "rope_scaling");
      return;
    }
  json_builder_set_member_name (b, "rope_scaling");
  json_builder_begin_object (b);
  switch (r->kind)
    {
    case TEMPER_EXPORT_ROPE_LINEAR:
      set_string (b, "rope_type", "linear");
      set_float (b, "factor", r->factor);
      break;
    case TEMPER_EXPORT_ROPE_LLAMA3:
      set_string (b, "rope_type", "llama3");
      set_float (b, "factor", r->factor);
      set_float (b, "low_freq_factor", r->low_freq_factor);
      set_float (b, "high_freq_factor", r->high_freq_factor);
      set_int (b, "original_max_position_embeddings", r->original_context);
      break;
    case TEMPER_EXPORT_ROPE_YARN:
      set_string (b, "rope_type", "yarn");
      set_float (b, "factor", r->factor);
      set_int (b, "original_max_position_embeddings", r->original_context);
      set_float (b, "beta_fast", r->beta_fast);
      set_float (b, "beta_slow", r->beta_slow);
      set_float (b, "attention_factor", r->attn_factor);
      break;
    case TEMPER_EXPORT_ROPE_LONGROPE:
      /* Without long factors the short ones hold everywhere Temper runs
       * the model (its context ends at the original one). */
      set_string (b, "rope_type", "longrope");
      set_string (b, "type", "longrope");
      set_floats (b, "short_factor", r->short_factors, r->n_pairs);
      set_floats (b, "long_factor", r->long_factors != NULL ? r->long_factors : r->short_factors, r->n_pairs);
      set_float (b, "attention_factor", r->attn_factor);
      break;
    case TEMPER_EXPORT_ROPE_PLAIN:
    default:
      break;
    }
  json_builder_end_object (b);
}

/* Gemma's layer_types: every swa_period-th layer global. */
static void
write_layer_types (JsonBuilder *b, const TemperModelConfig *c)
{
  json_builder_set_member_name (b, "layer_types");
  json_builder_begin_array (b);
  for (int l = 0; l < c->n_layer; l++)
    json_builder_add_string_value (b, temper_model_config_layer_is_local (c, l) ? "sliding_attention"
                                                                                 : "full_attention");
  json_builder_end_array (b);
}

/* The settings of @model's family beyond Llama's. */
static void
write_family (JsonBuilder *b, const temper_model_t *model, const TemperExportFamily *f,
              const TemperExportRope *r)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  int rope_dims = temper_model_config_rope_dims (c);

  switch (c->arch)
    {
    case TEMPER_ARCH_GEMMA2:
    case TEMPER_ARCH_GEMMA3:
      set_string (b, "hidden_activation", "gelu_pytorch_tanh");
      /* Queries are scaled by 1/√query_pre_attn_scalar, a whole number for
       * transformers (head_dim, or hidden/heads for the 27B models). */
      set_int (b, "query_pre_attn_scalar", c->attn_scale > 0.0f
                                           ? lround (1.0 / ((double) c->attn_scale * c->attn_scale))
                                           : c->head_dim);
      if (c->attn_softcap > 0.0f)
        set_float (b, "attn_logit_softcapping", c->attn_softcap);
      else
        set_null (b, "attn_logit_softcapping");
      if (c->final_softcap > 0.0f)
        set_float (b, "final_logit_softcapping", c->final_softcap);
      else
        set_null (b, "final_logit_softcapping");
      set_bool (b, "attention_bias", FALSE);
      if (c->sliding_window > 0)
        {
          set_int (b, "sliding_window", c->sliding_window);
          write_layer_types (b, c);
          if (c->arch == TEMPER_ARCH_GEMMA3)
            set_int (b, "sliding_window_pattern", c->swa_period);
        }
      else
        set_null (b, "sliding_window");
      break;
    case TEMPER_ARCH_PHI3:
      set_string (b, "hidden_act", "silu");
      set_float (b, "partial_rotary_factor", (float) rope_dims / (float) c->head_dim);
      set_int (b, "original_max_position_embeddings",
               r->kind == TEMPER_EXPORT_ROPE_LONGROPE ? r->original_context : c->n_ctx_train);
      if (c->sliding_window > 0)
        set_int (b, "sliding_window", c->sliding_window);
      else
        set_null (b, "sliding_window");
      break;
    case TEMPER_ARCH_GLM4:
      set_string (b, "hidden_act", "silu");
      set_float (b, "partial_rotary_factor", (float) rope_dims / (float) c->head_dim);
      set_bool (b, "attention_bias", c->qkv_bias);
      break;
    case TEMPER_ARCH_MISTRAL:
      set_string (b, "hidden_act", "silu");
      set_int (b, "sliding_window", c->sliding_window);
      break;
    case TEMPER_ARCH_QWEN2:
    case TEMPER_ARCH_QWEN3:
      set_string (b, "hidden_act", "silu");
      set_bool (b, "use_sliding_window", FALSE);
      if (c->arch == TEMPER_ARCH_QWEN3)
        set_bool (b, "attention_bias", FALSE);
      break;
    case TEMPER_ARCH_LLAMA:
    default:
      set_string (b, "hidden_act", "silu");
      if (!f->moe)
        {
          set_bool (b, "attention_bias", c->qkv_bias);
          set_bool (b, "mlp_bias", FALSE);
        }
      break;
    }
  if (f->moe && c->arch == TEMPER_ARCH_QWEN3)
    {
      set_int (b, "num_experts", c->n_expert);
      set_int (b, "num_experts_per_tok", c->n_expert_used);
      set_int (b, "moe_intermediate_size", c->n_ff_expert);
      set_bool (b, "norm_topk_prob", c->expert_norm);
      set_int (b, "decoder_sparse_step", 1);
      json_builder_set_member_name (b, "mlp_only_layers");
      json_builder_begin_array (b);
      json_builder_end_array (b);
    }
  else if (f->moe)
    {
      set_int (b, "num_local_experts", c->n_expert);
      set_int (b, "num_experts_per_tok", c->n_expert_used);
      if (c->sliding_window > 0)
        set_int (b, "sliding_window", c->sliding_window);
      else
        set_null (b, "sliding_window");
    }
}

JsonNode *
temper_export_hf_config_json (const temper_model_t *model, const char *dtype, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  const TemperExportFamily *f = temper_export_family_of (model);
  const char *dtype_name = strcmp (dtype, "F32") == 0 ? "float32" : "bfloat16";
  g_autoptr(JsonBuilder) b = json_builder_new ();
  TemperExportRope rope;

  g_assert (f != NULL);
  if (!temper_export_rope_describe (model, &rope, error))
    return NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "architectures");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, f->hf_architecture);
  json_builder_end_array (b);
  set_string (b, "model_type", f->model_type);
  set_int (b, "hidden_size", c->n_embd);
  /* Mixtral's experts are intermediate_size wide. */
  set_int (b, "intermediate_size", f->moe && c->arch == TEMPER_ARCH_LLAMA ? c->n_ff_expert : c->n_ff);
  set_int (b, "num_hidden_layers", c->n_layer);
  set_int (b, "num_attention_heads", c->n_head);
  set_int (b, "num_key_value_heads", c->n_head_kv);
  set_int (b, "head_dim", c->head_dim);
  set_int (b, "max_position_embeddings", c->n_ctx_train);
  set_float (b, "rms_norm_eps", c->rms_eps);
  write_rope (b, model, &rope);
  set_int (b, "vocab_size", c->n_vocab);
  set_bool (b, "tie_word_embeddings", c->tied_embeddings);
  write_family (b, model, f, &rope);
  if (tok->bos >= 0)
    set_int (b, "bos_token_id", tok->bos);
  if (tok->eos >= 0)
    set_int (b, "eos_token_id", tok->eos);
  if (tok->pad >= 0)
    set_int (b, "pad_token_id", tok->pad);
  /* transformers 5 reads "dtype", 4.x "torch_dtype". */
  set_string (b, "dtype", dtype_name);
  set_string (b, "torch_dtype", dtype_name);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
