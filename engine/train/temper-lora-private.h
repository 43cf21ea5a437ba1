/* SPDX-License-Identifier: MIT */
/* temper-lora-private.h — LoRA helpers shared inside engine/train. */
#pragma once

#include "temper/train.h"

G_BEGIN_DECLS

/* Reorders the @n_rows × @n_cols rows of @rows between llama.cpp's
 * interleaved Q/K order and Hugging Face's split-halves order, head by head
 * (FORMATS.md §1.7): GGUF row h·d + 2i + s = HF row h·d + s·d/2 + i.
 * @to_hf picks the direction. */
void temper_lora_permute_rows (float *rows, int n_rows, int n_cols, int head_dim,
                               gboolean to_hf);

/* Checks rank, alpha, dropout and targets; the message names the setting. */
gboolean temper_lora_config_check (const TemperLoraConfig *config, GError **error);

/* One matrix of the model's files that LoRA adapts, as PEFT and llama.cpp
 * name it, and the targets Temper trains in it (q, k, v for Phi-3's
 * qkv_proj; one target where the matrix is not fused). */
typedef struct {
  const char       *peft_name;   /* "qkv_proj" */
  const char       *gguf_name;   /* "attn_qkv" */
  gboolean          attention;   /* under self_attn (else mlp) */
  int               n_parts;
  TemperLoraTarget  parts[3];    /* in the order of the fused rows */
} TemperLoraModule;

/* Fills @modules with @config's adaptable matrices in file order; returns
 * how many. */
int temper_lora_modules (const TemperModelConfig *config,
                         TemperLoraModule modules[TEMPER_LORA_N_TARGETS]);

/* How many of @module's parts are in @targets. */
int temper_lora_module_n_trained (const TemperLoraModule *module, guint targets);

/* The one LoRA of @module in @layer equal to its parts' LoRAs: A stacks the
 * trained parts' A, B holds each part's B (times @b_scale) on the part's
 * rows and zeros elsewhere.  Returns its rank (0 and NULLs when no part is
 * trained); *@a_out (rank × in) and *@b_out (out × rank) are g_free()d by the
 * caller. */
int temper_lora_module_fuse (temper_adapter_t *adapter, const TemperModelConfig *config,
                             int layer, const TemperLoraModule *module, float b_scale,
                             float **a_out, float **b_out, int *in_out, int *out_out);

/* Saves @adapter as a PEFT folder whose modules are those of the family's
 * own Hugging Face files (fused where the family fuses them), for PEFT and
 * llama.cpp's converter.  Temper's run folders keep the separate parts
 * (temper_lora_save_peft), which temper_lora_load_peft reads. */
gboolean temper_lora_export_peft (temper_adapter_t *adapter, const TemperModelConfig *model,
                                  float dropout, const char *dir, const char *base_model_name,
                                  GError **error);

/* LoRAs of the matrices a model's files hold, as other tools save them,
 * gathered into one adapter of Temper's (temper-lora-import.c). */
typedef struct _TemperLoraImport TemperLoraImport;

TemperLoraImport *temper_lora_import_new  (const TemperModelConfig *config);
void              temper_lora_import_free (TemperLoraImport *imp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperLoraImport, temper_lora_import_free)
/* The LoRA of @module in @layer: @a is @rank × in, @b holds the rows of all
 * the module's parts × @rank, and s·B·A is added to the weight.  Each part
 * keeps its rows of B and the columns that are not zero there.  Fails when
 * a part was added before; @what names the file in messages. */
gboolean          temper_lora_import_add  (TemperLoraImport *imp, int layer, const TemperLoraModule *module,
                                           int rank, const float *a, const float *b, float scale,
                                           const char *what, GError **error);
/* The adapter equal to every part added: its rank is the largest part's,
 * its targets every part's; *@rank_out, *@alpha_out and *@targets_out say
 * them.  Fails when nothing was added or the model refuses the targets. */
temper_adapter_t *temper_lora_import_finish (TemperLoraImport *imp, gboolean rslora, int *rank_out,
                                             float *alpha_out, guint *targets_out, const char *what,
                                             GError **error);

/* A GGUF LoRA file (temper-lora-gguf.c) as an adapter of the model @config
 * describes; @arch_name, when given, must be the file's
 * general.architecture.  @config_out (may be NULL) gets its rank, alpha and
 * targets. */
temper_adapter_t *temper_lora_load_gguf (const char *path, const TemperModelConfig *config,
                                         const char *arch_name, TemperLoraConfig *config_out,
                                         GError **error);
/* Whether a GGUF LoRA's Q and K rows are in llama.cpp's interleaved order
 * while the model keeps Hugging Face's (a Llama or Mistral HF folder). */
gboolean temper_lora_gguf_needs_permutation (const TemperModelConfig *config, TemperLoraTarget target);

G_END_DECLS
