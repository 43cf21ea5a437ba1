/* SPDX-License-Identifier: MIT */
/* adapter.h — a LoRA adapter: low-rank updates to the linear layers.
 *
 * For each adapted layer and target, W' = W + s·B·A with A [rank, in] and
 * B [out, rank] in fp32, row-major, and s = alpha/rank (or alpha/√rank with
 * rsLoRA).  The forward applies them on the fly, so the same model answers
 * with and without the adapter.  B's rows for q and k follow the model's own
 * row order: a llama-arch GGUF keeps llama.cpp's interleaved order (see
 * model.h), so its B rows are permuted like the base Q/K rows. */
#pragma once

#include <glib.h>
#include "temper/model.h"

G_BEGIN_DECLS

typedef struct temper_adapter temper_adapter_t;

typedef enum {
  TEMPER_LORA_Q,
  TEMPER_LORA_K,
  TEMPER_LORA_V,
  TEMPER_LORA_O,
  TEMPER_LORA_GATE,
  TEMPER_LORA_UP,
  TEMPER_LORA_DOWN,
  TEMPER_LORA_N_TARGETS,
} TemperLoraTarget;

#define TEMPER_LORA_TARGET_BIT(t) (1u << (t))
#define TEMPER_LORA_ALL_TARGETS   ((1u << TEMPER_LORA_N_TARGETS) - 1)

/* "q_proj", "k_proj", … (the PEFT module names). */
const char *temper_lora_target_name (TemperLoraTarget target);
/* The in and out sizes of @target's weight for a model of @config. */
void        temper_lora_target_dims (const TemperModelConfig *config, TemperLoraTarget target,
                                     int *in, int *out);

/* A zero adapter (A and B all 0) for every layer and the targets in
 * @target_mask.  Returns NULL with an error when @rank or the mask is out of
 * range. */
temper_adapter_t *temper_adapter_new  (const TemperModelConfig *config, int rank,
                                       float alpha, gboolean rslora, guint target_mask,
                                       GError **error);
void              temper_adapter_free (temper_adapter_t *adapter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_adapter_t, temper_adapter_free)

int      temper_adapter_get_rank     (const temper_adapter_t *adapter);
float    temper_adapter_get_alpha    (const temper_adapter_t *adapter);
gboolean temper_adapter_get_rslora   (const temper_adapter_t *adapter);
guint    temper_adapter_get_targets  (const temper_adapter_t *adapter);
int      temper_adapter_get_n_layer  (const temper_adapter_t *adapter);
/* alpha/rank, or alpha/√rank with rsLoRA. */
float    temper_adapter_get_scale    (const temper_adapter_t *adapter);

/* A [rank, in] and B [out, rank] of one layer's target, writable; NULL when
 * the target is not adapted.  After changing them, call
 * temper_adapter_changed() so generators holding the adapter pick them up. */
float   *temper_adapter_get_a        (temper_adapter_t *adapter, int layer, TemperLoraTarget target);
float   *temper_adapter_get_b        (temper_adapter_t *adapter, int layer, TemperLoraTarget target);
void     temper_adapter_changed      (temper_adapter_t *adapter);
/* Bumped by temper_adapter_changed(). */
guint64  temper_adapter_get_version  (const temper_adapter_t *adapter);

G_END_DECLS
