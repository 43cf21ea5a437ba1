/* SPDX-License-Identifier: MIT */
/* export.h — writing a trained adapter out for other tools, and reading
 * adapters made elsewhere.
 *
 *   PEFT adapter      adapter_config.json + adapter_model.safetensors
 *   GGUF LoRA adapter for llama.cpp's --lora on the original GGUF base
 *   merged GGUF       W' = W + s·B·A in F16, Q8_0 or Q4_K_M, with the source's
 *                     tokenizer, chat template and end-of-turn metadata
 *   Modelfile         for `ollama create`, next to a merged GGUF
 *
 * Every export is written under a temporary name in the destination folder,
 * flushed to disk and renamed at the end, so a failed or cancelled export
 * never leaves a half-written file under the final name.  An export replaces
 * only what Temper made for the same kind of export (a folder listing its
 * files in .temper-export, a GGUF with the key temper.export, a Modelfile
 * starting "# Made by Temper.") or an empty file or folder; anything else
 * already under the destination's name is refused and left as it was.  Long exports report progress and
 * check the GCancellable between tensors. */
#pragma once

#include <gio/gio.h>

#include "temper/adapter.h"
#include "temper/model.h"

G_BEGIN_DECLS

/* @fraction in [0, 1]; called from the exporting thread. */
typedef void (*TemperExportProgressFunc) (double fraction, gpointer user_data);

typedef struct {
  GCancellable             *cancellable;
  TemperExportProgressFunc  progress;
  gpointer                  progress_data;
} TemperExportOptions;

void temper_export_options_init (TemperExportOptions *options);

/* A PEFT folder at @out_dir (replacing only an earlier PEFT export of
 * Temper's there), loadable by Hugging Face PEFT onto the base model: q/k B
 * rows in Hugging Face order whatever the order of @model.  @options may be
 * NULL. */
gboolean temper_export_peft (const temper_model_t *model, temper_adapter_t *adapter,
                             float dropout, const char *out_dir,
                             const TemperExportOptions *options, GError **error);
/* The sentence the PEFT export's README.md uses to say which base model the
 * adapter needs ("It needs the base model Qwen/Qwen2.5-0.5B-Instruct."). */
char    *temper_export_describe_peft_base (const temper_model_t *model);

/* A GGUF LoRA adapter file for llama.cpp (FORMATS.md §3): general.type
 * "adapter", adapter.lora.alpha (rsLoRA is folded in as α·√r, since llama.cpp
 * always scales by alpha/r), F32 tensors blk.N.<name>.weight.lora_a {in, r}
 * and .lora_b {r, out}, B rows of q/k in llama.cpp's interleaved order for a
 * llama-arch base. */
gboolean temper_export_gguf_adapter (const temper_model_t *model, temper_adapter_t *adapter,
                                     const char *out_path,
                                     const TemperExportOptions *options, GError **error);

/* Reads a GGUF LoRA adapter (as written above or by llama.cpp's
 * convert_lora_to_gguf.py) for @model.  Refuses, naming the file, adapters
 * for another architecture, with unknown tensors, with shapes that do not fit
 * the model, or with ranks that differ between tensors. */
temper_adapter_t *temper_import_gguf_adapter (const char *path, const temper_model_t *model,
                                              GError **error);

typedef enum {
  TEMPER_EXPORT_F16,
  TEMPER_EXPORT_Q8_0,
  /* llama.cpp's Q4_K_M rule, simplified: Q6_K for output.weight (or the tied
   * token embedding), every attn_v and every ffn_down, Q4_K for the other
   * matrices; where rows are not a multiple of 256, Q5_0 instead of Q4_K and
   * Q8_0 instead of Q6_K, as llama.cpp falls back. */
  TEMPER_EXPORT_Q4_K_M,
} TemperExportQuant;

/* "f16", "q8_0", "q4_k_m". */
const char *temper_export_quant_name  (TemperExportQuant quant);
gboolean    temper_export_quant_parse (const char *text, TemperExportQuant *quant,
                                       GError **error);

/* The base model of @model with @adapter (may be NULL) merged in, as one GGUF
 * file; vectors (norms, biases) are stored as F32.
 *
 * From a GGUF base, its metadata (architecture, hyper-parameters, tokenizer,
 * chat template, EOS and EOT ids) is copied.  From a Hugging Face folder, the
 * file is laid out as llama.cpp's converter does it: llama.cpp's tensor
 * names, Q/K rows (and biases) reordered for the "llama" architecture (none
 * for "qwen2"), hyper-parameters from config.json, and the tokenizer.json
 * written as tokenizer.ggml.* keys ("gpt2" byte-level BPE with merges and the
 * pre-tokenizer's llama.cpp name, or "llama" SentencePiece with scores), the
 * BOS/EOS/EOT/padding ids, add_bos and the chat template.  A tokenizer that
 * splits text in a way GGUF has no name for is refused. */
gboolean temper_export_merged_gguf (const temper_model_t *model, temper_adapter_t *adapter,
                                    TemperExportQuant quant, const char *out_path,
                                    const TemperExportOptions *options, GError **error);

typedef enum {
  TEMPER_EXPORT_HF_BF16,
  TEMPER_EXPORT_HF_F32,
} TemperExportHfDtype;

/* The base model of @model with @adapter (may be NULL) merged in, as a
 * Hugging Face folder at @out_dir (replaced if it exists): safetensors in
 * @dtype, in shards model-0000k-of-0000n.safetensors with
 * model.safetensors.index.json once the weights pass @max_shard_bytes (0:
 * 5 GB), config.json (dtype updated) and the source's tokenizer.json,
 * tokenizer_config.json (with the chat template), generation_config.json and
 * other small files.  From a GGUF @model the weights are dequantized (q/k
 * rows back in Hugging Face order), config.json and generation_config.json
 * come from its metadata and tokenizer.json / tokenizer_config.json (chat
 * template, special tokens) from its vocabulary (byte-level BPE with the
 * pre-tokenizers Temper knows, or SentencePiece as Metaspace writes it). */
gboolean temper_export_merged_hf (const temper_model_t *model, temper_adapter_t *adapter,
                                  TemperExportHfDtype dtype, guint64 max_shard_bytes,
                                  const char *out_dir, const TemperExportOptions *options,
                                  GError **error);

typedef enum {
  TEMPER_EXPORT_MERGED_GGUF,
  TEMPER_EXPORT_MERGED_HF,
} TemperExportMergedFormat;

/* Whether @model with an adapter can be merged into @format; if not, a
 * TEMPER_ERROR_UNSUPPORTED saying why by the family's name and what to
 * export instead.  These are the checks temper_export_merged_gguf() and
 * temper_export_merged_hf() make before writing anything: a family Temper
 * cannot change format for, what llama.cpp would run otherwise than the
 * folder (Gemma's query_pre_attn_scalar, Qwen3-MoE's dense layers or
 * unnormalised expert weights), RoPE factors config.json cannot say, a
 * tokenizer the other format has no form for.  Reads config.json at most. */
gboolean temper_export_merge_supported (const temper_model_t *model, TemperExportMergedFormat format,
                                        GError **error);

/* Writes an Ollama Modelfile at @modelfile_path for the merged GGUF at
 * @gguf_path (made for @model): FROM, TEMPLATE in Ollama's Go template syntax
 * for the ChatML and Llama 3 families (other families rely on the template
 * stored in the GGUF), a PARAMETER stop line for each stop token and
 * Temper's default sampling parameters.  *@command (when non-NULL) receives
 * the line to run in a terminal: ollama create NAME -f MODELFILE. */
/* TRUE when @name is a model name `ollama create` takes ([namespace/]model[:tag]);
 * else a TEMPER_ERROR_INVALID_ARGUMENT saying what is allowed. */
gboolean temper_export_check_ollama_name (const char *name, GError **error);

gboolean temper_export_modelfile (const temper_model_t *model, const char *gguf_path,
                                  const char *modelfile_path, const char *name,
                                  char **command, GError **error);

/* Renders a few conversations with @model's chat template (the one training
 * used) and with the template and tokenizer stored in the exported GGUF at
 * @exported_path, compares the token ids, and checks that the end-of-turn
 * token is one of the exported model's stop tokens.  Returns FALSE only when
 * the check could not run; *@problem is NULL when all agrees, else a message
 * naming the first difference. */
gboolean temper_export_check_template (const temper_model_t *model, const char *exported_path,
                                       char **problem, GError **error);

G_END_DECLS
