/* SPDX-License-Identifier: MIT */
/* temper-model-notes.h — what a model's family and its weight type mean,
 * in one plain line each, for the Model page.  People meet these names in
 * file names ("qwen3-4b-Q4_K_M.gguf") without being told what they are. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "Qwen3 — Alibaba's 2025 family; …" for a family name as
 * temper_model_get_family_name() gives it; a generic line naming
 * @family for one without a description.  A new string. */
char     *temper_model_family_line       (const char *family);
/* "Q4_K_M — 4-bit, about a quarter of the original size, small loss of
 * quality" for a weight type or llama.cpp file type name (as
 * temper_model_get_quantization() gives it); a generic line naming
 * @quantization otherwise.  A new string. */
char     *temper_model_quantization_line (const char *quantization);
/* Whether a specific line (not the generic one) is known. */
gboolean  temper_model_family_is_described       (const char *family);
gboolean  temper_model_quantization_is_described (const char *quantization);

G_END_DECLS
