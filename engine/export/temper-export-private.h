/* SPDX-License-Identifier: MIT */
/* temper-export-private.h — helpers shared by the exporters. */
#pragma once

#include "temper/export.h"
#include "temper/gguf.h"
#include "temper-lora-private.h"
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A hidden sibling of @final_path with a random name: "DIR/.NAME.tmp-" and
 * six hex digits.  The caller writes there, then calls
 * temper_export_commit(). */
char    *temper_export_temp_path (const char *final_path);

/* What an export writes; an existing destination is replaced only by an
 * export of the same kind that Temper made there. */
typedef enum {
  TEMPER_EXPORT_KIND_PEFT,
  TEMPER_EXPORT_KIND_GGUF_ADAPTER,
  TEMPER_EXPORT_KIND_HF,
  TEMPER_EXPORT_KIND_GGUF,
  TEMPER_EXPORT_KIND_MODELFILE,
} TemperExportKind;

/* The GGUF key naming the kind of export ("gguf-adapter", "gguf") in every
 * GGUF Temper exports: how a later export knows the file is Temper's. */
#define TEMPER_EXPORT_GGUF_KEY "temper.export"

const char *temper_export_kind_name (TemperExportKind kind);

/* The path to write to for @requested (trailing separators dropped), or
 * NULL with a message when its folder does not exist, when it names no new
 * file or folder ("", ".", "/"), or when something is already there that
 * is not empty and not an export of @kind made by Temper: the user's own
 * files are never replaced. */
char    *temper_export_prepare_dest (const char *requested, TemperExportKind kind,
                                     GError **error);

/* Flushes @temp_path to disk and renames it to @final_path, replacing only
 * what temper_export_prepare_dest() allows (checked again); a folder gets
 * the marker that says which files Temper wrote.  On failure @temp_path is
 * removed. */
gboolean temper_export_commit    (const char *temp_path, const char *final_path,
                                  TemperExportKind kind, GError **error);

/* Words @error, raised while writing @what to @final_path, for a person:
 * a full disk is reported against @final_path (never the temporary name
 * the writer used), other failures get @what and @final_path in front. */
void     temper_export_explain_error (GError **error, const char *what, const char *final_path);

/* README.md in @dir: what the adapter was trained on and what it needs. */
gboolean temper_export_write_peft_readme (const temper_model_t *model, const char *base_id,
                                          const char *dir, GError **error);

/* Removes @path, a temporary file or flat folder of files made by the
 * export itself, ignoring errors. */
void     temper_export_discard   (const char *path);

/* Reports @fraction and returns FALSE with TEMPER_ERROR_CANCELLED once the
 * caller has cancelled. */
gboolean temper_export_step      (const TemperExportOptions *options, double fraction,
                                  GError **error);

/* Refuses, by the family's name, a merged model whose metadata has to be
 * written anew (a GGUF from a Hugging Face base or the other way round) for
 * a family without a row in temper-export-family.c.  What a GGUF cannot hold
 * of a family it has (a Gemma query scalar llama.cpp does not read, dense
 * layers among experts) is refused by temper_export_gguf_from_hf(), naming
 * the family too.  Same-format merges copy the base's own config or
 * metadata. */
gboolean temper_export_check_family (const temper_model_t *model, GError **error);
/* What temper_export_merge_supported() checks for a merged GGUF from a
 * Hugging Face model (temper-export-gguf-hf.c), and for a merged folder
 * from a GGUF (temper-export-hf-tokenizer.c). */
gboolean temper_export_gguf_from_hf_supported (const temper_model_t *model, GError **error);
gboolean temper_export_hf_from_gguf_supported (const temper_model_t *model, GError **error);

/* What a merge into the other format knows of a family beyond its
 * TemperModelConfig (temper-export-family.c): Hugging Face's names. */
typedef struct {
  const char *name;              /* for people: "Gemma 2" */
  TemperArch  arch;
  gboolean    moe;
  const char *hf_architecture;   /* "Gemma2ForCausalLM" */
  const char *model_type;        /* "gemma2" */
  float       hf_norm_offset;    /* Hugging Face scales by (offset + w); the GGUF stores offset + w */
  const char *attn_post_norm;    /* "post_attention_layernorm", or NULL */
  const char *ffn_norm;          /* the norm before the feed-forward */
  const char *ffn_post_norm;     /* or NULL */
  const char *router;            /* "mlp.gate" (MoE only) */
  const char *expert_gate, *expert_up, *expert_down;  /* with the expert's number (%d) */
} TemperExportFamily;

/* @model's row, or NULL for a family no merge can change the format of. */
const TemperExportFamily *temper_export_family_of (const temper_model_t *model);

/* Whether llama.cpp's converter reorders q and k rows for this family. */
gboolean temper_export_qk_permuted_in_gguf (const TemperModelConfig *config);

typedef enum {
  TEMPER_EXPORT_ROPE_PLAIN,
  TEMPER_EXPORT_ROPE_LINEAR,    /* positions / factor (Gemma 3's global layers) */
  TEMPER_EXPORT_ROPE_LLAMA3,    /* Llama 3.1's frequency divisors */
  TEMPER_EXPORT_ROPE_YARN,
  TEMPER_EXPORT_ROPE_LONGROPE,  /* Phi-3's short and long factors */
} TemperExportRopeKind;

/* A model's RoPE scaling with the settings each format writes. */
typedef struct {
  TemperExportRopeKind kind;
  int          n_pairs;
  float        factor;                           /* linear, llama3, YaRN */
  float        low_freq_factor, high_freq_factor; /* llama3 */
  int          original_context;                 /* llama3, YaRN, LongRoPE */
  float        beta_fast, beta_slow;             /* YaRN */
  float        attn_factor;                      /* YaRN, LongRoPE: 1 when none */
  const float *short_factors, *long_factors;     /* LongRoPE (long may be NULL); llama3's divisors */
} TemperExportRope;

/* Describes @model's RoPE scaling; refuses what the other format cannot
 * say (frequency factors that are not Llama 3.1's formula). */
gboolean temper_export_rope_describe (const temper_model_t *model, TemperExportRope *rope,
                                      GError **error);

/* config.json for a merged Hugging Face folder made from a GGUF base
 * (temper-export-hf-config.c): the family's class and every setting
 * transformers reads, from the model's description and its GGUF. */
JsonNode *temper_export_hf_config_json (const temper_model_t *model, const char *dtype,
                                        GError **error);

/* Whether q/k B rows must be reordered between @config's own order and the
 * order llama.cpp uses for a llama-arch GGUF. */
gboolean temper_export_needs_qk_permutation (const TemperModelConfig *config,
                                             TemperLoraTarget target);

/* "attn_q", … for @target: the GGUF name stem of its weight. */
const char *temper_export_gguf_target_name (TemperLoraTarget target);

/* Parses "blk.N.<stem>.weight<suffix>" into a layer and target. */
gboolean temper_export_parse_gguf_name (const char *name, const char *suffix,
                                        int *layer, TemperLoraTarget *target);

/* @rows × @in floats: the weight @w (ne {in, rows}) as f32, plus s·B·A for
 * @target of @layer when @adapter adapts it. */
void     temper_export_merge_weight (const TemperTensorView *w, temper_adapter_t *adapter,
                                     int layer, TemperLoraTarget target, float *out);

/* Whether @name is the weight of an adaptable matrix of @config ("blk.N.
 * attn_qkv.weight" in a GGUF, "model.layers.N.self_attn.qkv_proj.weight" in
 * a Hugging Face file): then its layer and module. */
gboolean temper_export_find_module (const TemperModelConfig *config, const char *name,
                                    gboolean gguf, int *layer, TemperLoraModule *module);

/* @w (all of @module's parts, in the file's row order) with each trained
 * part's LoRA merged into its rows, as f32 into @out. */
void     temper_export_merge_module (const TemperTensorView *w, temper_adapter_t *adapter,
                                     const TemperModelConfig *config, int layer,
                                     const TemperLoraModule *module, float *out);

/* GGUF writing shared by the GGUF and Hugging Face sources of a merged GGUF
 * (temper-export-gguf.c). */
/* The llama_ftype value for general.file_type. */
guint32  temper_export_gguf_file_type (TemperExportQuant quant);
/* The type tensor @name is stored in for @quant: F32 for vectors, norms and
 * biases; Q4_K_M's per-tensor choice with llama.cpp's fallbacks. */
int      temper_export_gguf_tensor_type (TemperExportQuant quant, const char *name, int n_dims,
                                         int64_t ne0, gboolean has_output);
/* Quantizes one row of @n floats into @type (F16, Q8_0, Q4_K, Q5_0, Q6_K…). */
void     temper_export_quantize_row (int type, const float *x, int64_t n, guint8 *dst);

/* Fills @w with the metadata and merged tensors of a Hugging Face base
 * (temper-export-gguf-hf.c), as llama.cpp's converter names and writes them
 * for the family; converted tensors are kept alive in @owned.  Refuses by the
 * family's name what llama.cpp would run otherwise than the folder. */
gboolean temper_export_gguf_from_hf (temper_gguf_writer_t *w, const temper_model_t *model,
                                     temper_adapter_t *adapter, TemperExportQuant quant,
                                     GPtrArray *owned, const char *out_path,
                                     const TemperExportOptions *options, GError **error);

/* Special token ids (-1: none) that llama.cpp's converter finds outside the
 * tokenizer's own files (config.json, the family's fixed choices); each is
 * written only where the tokenizer names no such token itself. */
typedef struct {
  int bos, unk, eot;
} TemperExportTokenIds;

/* Writes the tokenizer.ggml.* keys for @tok (loaded from a Hugging Face
 * tokenizer.json at @path), its token list padded with unused names to
 * @n_rows (the embedding's rows) as llama.cpp expects, the end-of-turn id
 * found among @stop_tokens (-1 terminated, may be NULL), the ids of
 * @fallback (may be NULL) and @chat_template (may be NULL) (temper-export-gguf-tokenizer.c).  Refuses, naming @path, a
 * pre-tokenizer that has no GGUF name.  tokenizer.ggml.pre is
 * temper_export_gguf_pre_name()'s. */
gboolean temper_export_gguf_tokenizer (temper_gguf_writer_t *w, const temper_tokenizer_t *tok,
                                       const char *chat_template, const int *stop_tokens,
                                       const TemperExportTokenIds *fallback,
                                       int n_rows, const char *path, GError **error);

/* The tokenizer.ggml.pre a GGUF of @tok gets, from what the tokenizer really
 * is: "default" for a SentencePiece vocabulary, as llama.cpp's
 * convert_hf_to_gguf.py writes it; otherwise the llama.cpp name of the
 * splitting tokenizer.json asks for (its Split regex and ByteLevel settings:
 * Llama 3's regex → "llama-bpe", Qwen2's → "qwen2", SmolLM's digits + byte
 * level → "smollm", plain byte level → "gpt-2").  Not the family: llama.cpp
 * splits text by this name, so a name the tokenizer's own splitting does not
 * have tokenizes digits and contractions unlike Hugging Face.  NULL for a
 * splitting with no GGUF name. */
const char *temper_export_gguf_pre_name (const temper_tokenizer_t *tok);

/* The refusals of temper_export_gguf_tokenizer(), writing nothing. */
gboolean temper_export_gguf_tokenizer_check (const temper_tokenizer_t *tok, int n_rows,
                                             const char *path, GError **error);

/* One BPE merge: tokens @left + @right make @result, tried in @rank order. */
typedef struct {
  gint32 rank, left, right, result;
} TemperExportMerge;
/* The tokenizer's merge table back in rank order (TemperExportMerge). */
GArray  *temper_export_merges_by_rank (const temper_tokenizer_t *tok);

/* tokenizer.json and tokenizer_config.json (with @chat_template, may be
 * NULL) for @tok, which Hugging Face tokenizers split exactly as Temper
 * does (temper-export-hf-tokenizer.c).  Refuses, naming @path, what it
 * cannot express. */
JsonNode *temper_export_tokenizer_json (const temper_tokenizer_t *tok, const char *path,
                                        GError **error);
JsonNode *temper_export_tokenizer_config_json (const temper_tokenizer_t *tok,
                                               const char *chat_template, int n_ctx);

/* A merged Hugging Face folder's files in @dir for a GGUF @model
 * (temper-export-hf-gguf.c): weights in @dtype ("BF16" or "F32") with the
 * family's Hugging Face names (fused where its checkpoints fuse), q/k row
 * order and norm convention, config.json (temper-export-hf-config.c) and
 * generation_config.json from the GGUF's metadata, and the tokenizer. */
gboolean temper_export_hf_files_from_gguf (const temper_model_t *model, temper_adapter_t *adapter,
                                           const char *dtype, guint64 max_shard_bytes,
                                           const char *dir, const TemperExportOptions *options,
                                           GError **error);

G_END_DECLS
