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

G_END_DECLS
