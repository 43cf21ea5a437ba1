/* SPDX-License-Identifier: MIT */
/* model.h — a decoder-only Llama-family model loaded from disk.
 *
 * A model is opened from a GGUF file or a Hugging Face folder (config.json +
 * safetensors).  Weights stay where they are: memory-mapped from the file, in
 * their stored type (F32, F16, BF16 or GGUF quant blocks).  Nothing is
 * reordered: a llama-arch GGUF keeps llama.cpp's interleaved Q/K row order and
 * is run with interleaved RoPE; HF folders and qwen2 keep the HF order and run
 * with split-halves RoPE.  Exports convert between the two. */
#pragma once

#include <gio/gio.h>
#include "temper/tensor.h"

G_BEGIN_DECLS

typedef struct temper_model     temper_model_t;
typedef struct temper_tokenizer temper_tokenizer_t;

typedef enum {
  TEMPER_ARCH_LLAMA,   /* Llama 2/3/3.1/3.2, SmolLM2 */
  TEMPER_ARCH_QWEN2,   /* Qwen2 / Qwen2.5: q/k/v bias */
  TEMPER_ARCH_QWEN3,   /* Qwen3 dense: per-head q/k RMSNorm */
  TEMPER_ARCH_MISTRAL, /* Mistral / Ministral: sliding-window attention */
  TEMPER_ARCH_GEMMA2,  /* Gemma 2: GeGLU, post norms, soft-capping, alternating window */
  TEMPER_ARCH_GEMMA3,  /* Gemma 3 text: GeGLU, post norms, q/k norms, 5 local : 1 global */
  TEMPER_ARCH_PHI3,    /* Phi-3 / 3.5 / 4-mini: fused qkv and gate_up, partial rotary */
  TEMPER_ARCH_GLM4,    /* GLM-4 (Glm4ForCausalLM): fused gate_up, post norms, half rotary */
} TemperArch;

/* The feed-forward's gated activation. */
typedef enum {
  TEMPER_MLP_SWIGLU,    /* silu(gate) ⊙ up */
  TEMPER_MLP_GEGLU,     /* gelu_tanh(gate) ⊙ up (Gemma) */
} TemperMlpKind;

typedef enum {
  TEMPER_ROPE_INTERLEAVED, /* rotate (x[2i], x[2i+1]) — llama.cpp "normal", llama-arch GGUF */
  TEMPER_ROPE_HALVES,      /* rotate (x[i], x[i+d/2]) — HF rotate_half, "neox" */
} TemperRopeLayout;

typedef enum {
  TEMPER_MODEL_FORMAT_GGUF,
  TEMPER_MODEL_FORMAT_HF_FOLDER,
} TemperModelFormat;

/* Where a Hugging Face folder keeps the text model's tensors. */
typedef enum {
  TEMPER_HF_LAYOUT_CAUSAL_LM,   /* model.layers.…, model.embed_tokens, lm_head (and every GGUF) */
  TEMPER_HF_LAYOUT_VLM,         /* a model of text and images (Gemma3ForConditionalGeneration) whose
                                 * files name the text model as Google ships it and transformers 5
                                 * saves it: language_model.model.layers.…, language_model.lm_head */
  TEMPER_HF_LAYOUT_VLM_MODULES, /* the same, its files named as the modules are:
                                 * model.language_model.layers.…, lm_head */
} TemperHfLayout;

typedef struct {
  TemperArch        arch;
  TemperRopeLayout  rope_layout;
  int               n_layer;
  int               n_embd;        /* hidden size */
  int               n_ff;          /* feed-forward (intermediate) size */
  int               n_head;
  int               n_head_kv;
  int               head_dim;
  int               n_vocab;
  int               n_ctx_train;   /* context length the model was trained for */
  float             rms_eps;
  float             rope_theta;
  gboolean          qkv_bias;
  gboolean          tied_embeddings;

  /* The family description: what the one transformer block does beyond a
   * Llama block.  Zero means "as Llama" for every field, so a config from
   * an older caller still describes a Llama or Qwen2 model. */
  float             norm_offset;   /* RMSNorm scales by (offset + w): 1 for Gemma's HF weights */
  gboolean          qk_norm;       /* per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3) */
  gboolean          post_norms;    /* RMSNorm of the attention and feed-forward outputs before
                                    * the residual add (Gemma 2/3, GLM-4) */
  TemperMlpKind     mlp;
  float             embd_scale;    /* the embeddings are multiplied by this (Gemma: √hidden); 0 = 1 */
  float             attn_scale;    /* query scale; 0 = 1/√head_dim (Gemma: 1/√query_pre_attn_scalar) */
  float             attn_softcap;  /* scores become c·tanh(s/c); 0 = none (Gemma 2) */
  float             final_softcap; /* logits become c·tanh(l/c); 0 = none (Gemma 2) */
  int               rope_dims;     /* rotated dimensions per head, ≤ head_dim; 0 = all */
  float             rope_freq_scale; /* linear RoPE scaling of the global layers: positions ×
                                      * this (Gemma 3 4B+: 1/8); 0 = 1 */
  gboolean          rope_freq_factors; /* per-frequency divisors (Llama 3.1 "llama3"), see
                                        * temper_model_get_rope_factors() */
  int               sliding_window;  /* keys a local layer sees (itself included); 0 = none */
  int               swa_period;    /* with a window: every swa_period-th layer is global (Gemma:
                                    * 2 or 6); 0 = every layer is local (Mistral) */
  float             rope_theta_local;/* RoPE base of local layers; 0 = rope_theta */
  float             rope_mscale;   /* cos and sin of the global layers × this (LongRoPE, YaRN); 0 = 1 */
  int               rope_long_after; /* LongRoPE: a forward whose last position is at or past
                                      * this many tokens runs the long factors (see
                                      * temper_model_get_rope_long_factors()); 0 = never */
  gboolean          fused_qkv;     /* the file stores q, k, v as one matrix (Phi-3) */
  gboolean          fused_gate_up; /* the file stores gate and up as one matrix (Phi-3, GLM-4) */
  /* Mixture of experts (Qwen3-MoE, Mixtral); n_expert == 0: a dense model.
   * A layer whose ffn_gate_inp has data routes each token to n_expert_used
   * of n_expert SwiGLU experts of n_ff_expert; other layers are dense. */
  int               n_expert;
  int               n_expert_used;
  int               n_ff_expert;
  gboolean          expert_norm;   /* the chosen experts' weights are renormalised to sum to 1
                                    * (Mixtral always; Qwen3-MoE with norm_topk_prob) */
  TemperHfLayout    hf_layout;     /* the text part of a model of text and images: its image part
                                    * is not used */
} TemperModelConfig;

/* The name before "layers.N." of the text model's tensors in the model's
 * safetensors files: "model.", "language_model.model." or
 * "model.language_model.". */
const char *temper_model_config_hf_tensor_prefix (const TemperModelConfig *config);
/* The same as the modules are named in transformers (and so in PEFT, after
 * its "base_model.model."): "model." or "model.language_model.". */
const char *temper_model_config_hf_module_prefix (const TemperModelConfig *config);

/* Whether layer @layer attends through the sliding window (and its RoPE base). */
gboolean temper_model_config_layer_is_local (const TemperModelConfig *config, int layer);
/* The rotary dimensions per head. */
int      temper_model_config_rope_dims      (const TemperModelConfig *config);

/* One transformer block.  Linear weights have ne = {in, out}.  Absent
 * tensors (the biases of a Llama model) have data == NULL. */
typedef struct {
  TemperTensorView attn_norm;   /* {n_embd} F32 (or F16/BF16 from HF) */
  TemperTensorView wq, wk, wv;  /* {n_embd, n_head*head_dim}, {n_embd, n_head_kv*head_dim} ×2 */
  TemperTensorView bq, bk, bv;  /* Qwen2 only */
  TemperTensorView wo;          /* {n_head*head_dim, n_embd} */
  TemperTensorView ffn_norm;    /* {n_embd} */
  TemperTensorView w_gate, w_up;/* {n_embd, n_ff} */
  TemperTensorView w_down;      /* {n_ff, n_embd} */
  /* Family extras; data == NULL when the family has none. */
  TemperTensorView q_norm, k_norm;       /* {head_dim}: per-head RMSNorm (Qwen3, Gemma 3) */
  TemperTensorView attn_post_norm;       /* {n_embd}: on the attention output (Gemma 2/3, GLM-4) */
  TemperTensorView ffn_post_norm;        /* {n_embd}: on the feed-forward output */
  /* Mixture of experts (data == NULL in a dense layer, which has w_gate,
   * w_up and w_down instead): the router and n_expert experts each. */
  TemperTensorView ffn_gate_inp;         /* {n_embd, n_expert} */
  const TemperTensorView *exp_gate, *exp_up;  /* n_expert of {n_embd, n_ff_expert} */
  const TemperTensorView *exp_down;           /* n_expert of {n_ff_expert, n_embd} */
} TemperLayerWeights;

/* Whether @layer has a mixture-of-experts feed-forward (a router). */
gboolean temper_model_layer_is_moe (const TemperLayerWeights *layer);

typedef enum {
  TEMPER_LOAD_PHASE_READING,
  TEMPER_LOAD_PHASE_CHECKING,
} TemperLoadPhase;

/* Opens @path: a .gguf file, or a folder holding config.json and safetensors.
 * Fails with a message naming the file and the problem (truncated file, tensor
 * past the end, unknown tensor type, missing tensor, unsupported architecture
 * listing the supported ones, …). */
temper_model_t *temper_model_load  (const char    *path,
                                    GCancellable  *cancellable,
                                    GError       **error);
void            temper_model_free  (temper_model_t *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_model_t, temper_model_free)

const TemperModelConfig  *temper_model_get_config    (const temper_model_t *model);
TemperModelFormat         temper_model_get_format    (const temper_model_t *model);
const char               *temper_model_get_path      (const temper_model_t *model);
/* A display name: general.name, the HF folder name, or the file name. */
const char               *temper_model_get_name      (const temper_model_t *model);
/* "llama" or "qwen2", as GGUF spells it. */
const char               *temper_model_get_arch_name (const temper_model_t *model);
/* The file's quantization as llama.cpp names it ("Q4_K_M", "Q8_0", from
 * general.file_type), else the dominant weight type: "Q4_1", "BF16", … */
const char               *temper_model_get_quantization (const temper_model_t *model);
/* The same with the block types behind it, largest share first:
 * "Q4_K_M (Q4_K 60 %, Q6_K 20 %, Q5_0 20 %)"; free with g_free(). */
char                     *temper_model_describe_quantization (const temper_model_t *model);
guint64                   temper_model_get_n_params  (const temper_model_t *model);
guint64                   temper_model_get_file_size (const temper_model_t *model);

const TemperTensorView   *temper_model_get_token_embd (const temper_model_t *model); /* {n_embd, n_vocab} */
const TemperTensorView   *temper_model_get_output_norm(const temper_model_t *model); /* {n_embd} */
/* The lm_head: the token embedding itself when the embeddings are tied. */
const TemperTensorView   *temper_model_get_output     (const temper_model_t *model); /* {n_embd, n_vocab} */
const TemperLayerWeights *temper_model_get_layer      (const temper_model_t *model, int layer);
/* Llama 3.1's RoPE frequency divisors, rope_dims / 2 floats (GGUF
 * rope_freqs.weight, or computed from config.json's rope_scaling), or NULL
 * when the family has none.  Rotary pair i turns at
 * theta^(−2i/rope_dims) / factor[i]. */
const float              *temper_model_get_rope_factors (const temper_model_t *model);
/* LongRoPE's long factors (Phi-3.5, Phi-4-mini), rope_dims / 2 floats used
 * in place of temper_model_get_rope_factors() by a forward that reaches past
 * config.rope_long_after tokens, or NULL. */
const float              *temper_model_get_rope_long_factors (const temper_model_t *model);
/* What LoRA trains in @model when it is not every layer asked for, as a
 * sentence for people: a mixture-of-experts model trains its attention only
 * (the experts stay as they are).  NULL for other models; free it. */
char                     *temper_model_describe_lora_scope (const temper_model_t *model);
/* A family's name for people ("Gemma 3", "Qwen3", …). */
const char               *temper_model_get_family_name  (const temper_model_t *model);

/* ---- Base weights kept 4-bit (QLoRA) ------------------------------------ */

typedef enum {
  TEMPER_BASE_WEIGHTS_STORED,  /* as the file stores them (F32/F16/BF16 or GGUF quant blocks) */
  TEMPER_BASE_WEIGHTS_NF4,     /* linear projections quantized to NF4 at load */
} TemperBaseWeights;

/* "stored", "nf4". */
const char *temper_base_weights_name  (TemperBaseWeights base);
/* Fails, listing the accepted words, for any other text. */
gboolean    temper_base_weights_parse (const char *text, TemperBaseWeights *base, GError **error);

/* Holds the model's linear projections (q, k, v, o, gate, up, down of every
 * layer) as @base: for TEMPER_BASE_WEIGHTS_NF4 they are quantized into memory
 * the model owns and their views point there; embeddings, norms, biases and
 * the lm_head stay as stored.  A projection whose rows are not whole NF4
 * blocks (64 values) stays as stored.  Refused, with a message saying why,
 * when the projections are already quantized (a Q4/Q5/Q8 GGUF): only F32,
 * F16 and BF16 weights can be made NF4.  Asking again for what the model
 * already holds does nothing.  The files are never changed, so an export that
 * loads the model again merges into the original weights. */
gboolean          temper_model_set_base_weights (temper_model_t *model, TemperBaseWeights base,
                                                 GCancellable *cancellable, GError **error);
TemperBaseWeights temper_model_get_base_weights (const temper_model_t *model);
/* Bytes of every weight as the model now holds them (the tied lm_head
 * counted once), and of the linear projections alone. */
guint64           temper_model_get_weight_bytes (const temper_model_t *model);
guint64           temper_model_get_linear_bytes (const temper_model_t *model);
/* Whether temper_model_set_base_weights() would accept @base for this model
 * (NF4 only from F32, F16 or BF16 projections), and the bytes all its
 * weights would then take, as temper_model_get_weight_bytes() would report
 * them afterwards; nothing is converted.  For a @base the model cannot hold,
 * the bytes as it is. */
gboolean          temper_model_can_hold_base_weights (const temper_model_t *model,
                                                      TemperBaseWeights base);
guint64           temper_model_estimate_weight_bytes (const temper_model_t *model,
                                                      TemperBaseWeights base);
/* The same two figures for the weights as the files store them. */
guint64           temper_model_get_stored_weight_bytes (const temper_model_t *model);
guint64           temper_model_get_stored_linear_bytes (const temper_model_t *model);

/* Owned by the model. */
temper_tokenizer_t       *temper_model_get_tokenizer  (const temper_model_t *model);
/* The Jinja chat template stored with the model, or NULL. */
const char               *temper_model_get_chat_template (const temper_model_t *model);
/* Token ids that end generation: the tokenizer's EOS plus generation_config's
 * eos_token_id list and the end-of-turn token where one is known.
 * Terminated by -1. */
const int                *temper_model_get_stop_tokens (const temper_model_t *model);

G_END_DECLS
