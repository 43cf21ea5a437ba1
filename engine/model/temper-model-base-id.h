/* SPDX-License-Identifier: MIT */
/* temper-model-base-id.h — the Hugging Face id of a model's base (private
 * to the engine). */
#pragma once

#include "temper/model.h"

G_BEGIN_DECLS

/* The base model a PEFT adapter for @model needs, as transformers finds it:
 * a Hub id ("org/name", from a Hub cache folder or the GGUF's source
 * repository) or the absolute path of a Hugging Face folder; NULL when a
 * GGUF does not say where it came from. */
char *temper_model_base_model_id (const temper_model_t *model);

G_END_DECLS
