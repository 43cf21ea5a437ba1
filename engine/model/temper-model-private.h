/* SPDX-License-Identifier: MIT */
/* temper-model-private.h — the model struct, for engine code that needs
 * more than the public getters (exports reading the source files). */
#pragma once

#include "temper/gguf.h"
#include "temper/model.h"
#include "temper/safetensors.h"

/* What a model's settings may be, in config.json and GGUF metadata alike:
 * far beyond any real model, but small enough that a hostile file cannot
 * make Temper allocate without bound or divide by zero. */
#define TEMPER_MODEL_MAX_LAYERS    1024
#define TEMPER_MODEL_MAX_EMBD      131072
#define TEMPER_MODEL_MAX_FF        1048576
#define TEMPER_MODEL_MAX_HEADS     1024
#define TEMPER_MODEL_MAX_HEAD_DIM  4096
#define TEMPER_MODEL_MAX_CONTEXT   16777216
#define TEMPER_MODEL_MAX_VOCAB     4194304
#define TEMPER_MODEL_MIN_EPS       1e-12
#define TEMPER_MODEL_MAX_EPS       0.1
#define TEMPER_MODEL_MIN_ROPE_BASE 1.0
#define TEMPER_MODEL_MAX_ROPE_BASE 1e10

G_BEGIN_DECLS

struct temper_model {
  char                 *path;
  char                 *name;
  char                 *arch_name;      /* "llama" or "qwen2" */
  TemperModelFormat     format;
  TemperModelConfig     config;

  /* Exactly one of these holds the mapped weights. */
  temper_gguf_t        *gguf;
  temper_safetensors_t *safetensors;

  TemperTensorView      token_embd;
  TemperTensorView      output_norm;
  TemperTensorView      output;        /* == token_embd when tied */
  TemperLayerWeights   *layers;        /* config.n_layer entries */
  float                *rope_factors;  /* rope_dims / 2, or NULL */
  float                *rope_long_factors; /* LongRoPE past rope_long_after, or NULL */
  GPtrArray            *expert_views;  /* per MoE layer, 3 × n_expert views its exp_* point into */

  temper_tokenizer_t   *tokenizer;
  char                 *chat_template;
  GArray               *stop_tokens;   /* int, terminated by -1 */
  GArray               *extra_stops;   /* ids the loader found (EOT, generation_config) */

  /* Linear projections requantized at load (temper-model-base.c), and the
   * memory their views point into. */
  TemperBaseWeights     base_weights;
  guint8               *owned_weights;
  guint64               stored_weight_bytes, stored_linear_bytes;

  char                 *quantization;      /* the file's own name for it: "Q4_K_M" */
  char                 *quantization_mix;  /* "Q4_K 60 %, Q6_K 20 %, …" or NULL */
  guint64               n_params;
  guint64               file_size;
};

/* Loaders for each format fill the model's config, weights, tokenizer and
 * chat template; temper_model_load() then does the checks they share. */
gboolean temper_model_load_gguf (temper_model_t *model, const char *path,
                                 GCancellable *cancellable, GError **error);
gboolean temper_model_load_hf   (temper_model_t *model, const char *dir,
                                 GCancellable *cancellable, GError **error);

/* Checks that @view (absent when data == NULL) has type Temper can compute
 * with and shape {ne0, ne1}; @what names the model file for the message. */
gboolean temper_model_check_tensor (const TemperTensorView *view, const char *name,
                                    int64_t ne0, int64_t ne1, gboolean norm,
                                    const char *what, GError **error);

/* Sets a TEMPER_ERROR_CANCELLED error when @cancellable is cancelled. */
gboolean temper_model_check_cancelled (GCancellable *cancellable, GError **error);

/* Views rows [first, first + n) of @fused (a fused qkv or gate_up
 * matrix) as a matrix of its own. */
void     temper_model_split_rows (const TemperTensorView *fused, int64_t first, int64_t n,
                                  const char *name, TemperTensorView *part);

/* Llama 3.1's frequency divisors from its rope_scaling settings, n_pairs
 * floats, as transformers computes them. */
float   *temper_model_llama3_rope_factors (int n_pairs, int rope_dims, float theta, float factor,
                                           float low_freq_factor, float high_freq_factor,
                                           int original_context);
/* YaRN's frequency divisors (interpolation by @factor for the long
 * wavelengths, none for the short ones, a linear ramp between the
 * dimensions where @beta_fast and @beta_slow rotations fit the original
 * context), n_pairs floats, as transformers' _compute_yarn_parameters
 * computes its inverse frequencies; and its attention scale. */
float   *temper_model_yarn_rope_factors (int n_pairs, int rope_dims, float theta, float factor,
                                         int original_context, float beta_fast, float beta_slow,
                                         gboolean truncate);
float    temper_model_yarn_attention_factor (float factor, float mscale, float mscale_all_dim);

/* Whether Temper opens GGUF files of architecture @arch (as GGUF spells
 * it), and the GGUF spelling of a Hugging Face architecture Temper opens
 * (NULL for one it does not): the loaders' own tables, which discovery asks
 * too. */
gboolean    temper_model_gguf_arch_known   (const char *arch);
const char *temper_model_hf_arch_gguf_name (const char *architecture);

/* The text part of a model of text and images (Gemma3ForConditionalGeneration,
 * temper-model-hf-vlm.c): its text_config with the defaults it leaves out,
 * as a Gemma3ForCausalLM's config.json; NULL for any other config. */
struct _JsonObject;
struct _JsonNode *temper_model_hf_text_part_config (struct _JsonObject *config);
/* temper-model-hf-side.c: generation_config.json's stop tokens, added to
 * model->extra_stops; the chat template, or NULL. */
void  temper_model_hf_read_generation_config (temper_model_t *model, const char *dir);
char *temper_model_hf_read_chat_template     (const char *dir, const char *tokenizer_config);

/* Which of the two names of such a model's text tensors @st uses. */
TemperHfLayout    temper_model_hf_find_layout      (temper_safetensors_t *st);

/* Refuses a family Temper does not run: names it, and the nearest family
 * it does. */
void     temper_model_refuse_family (const char *what, const char *name, GError **error);

/* Reads the experts of layer @layer (model->layers[layer].exp_* and the
 * router) from the file: GGUF's stacked ffn_*_exps, or a Hugging Face
 * folder's one tensor per expert.  In temper-model-moe.c. */
gboolean temper_model_read_experts (temper_model_t *model, int layer, const char *what,
                                    GError **error);

gboolean temper_model_check_experts (const TemperModelConfig *c, const char *what, GError **error);
/* Bytes of every layer's router and experts. */
guint64  temper_model_get_expert_bytes (const temper_model_t *model);

/* Adds @id to @stops unless already there or outside the vocabulary. */
void     temper_model_add_stop_token (temper_model_t *model, GArray *stops, int id);

G_END_DECLS
