/* SPDX-License-Identifier: MIT */
/* temper-model-notes.c — one plain line per model family and weight type.
 *
 * Sizes are said against the 16-bit weights a model is published in, the
 * size people compare downloads with: a 4-bit block type with its scales
 * (about 4.5 bits a weight) is "about a quarter" of it. */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "temper-model-notes.h"

typedef struct {
  const char *family;   /* as temper_model_get_family_name() spells it */
  const char *line;
} FamilyNote;

static const FamilyNote family_notes[] = {
  { "Llama",     N_("Llama — Meta's open family (Llama 2 and 3, and models built on them such as SmolLM); chats mainly in English.") },
  { "Llama 3.1", N_("Llama 3.1 — Meta's 2024 family (3.1 to 3.3); long context, chats in English and several other languages.") },
  { "Qwen2",     N_("Qwen2 — Alibaba's 2024 family (Qwen2, Qwen2.5, and the DeepSeek-R1 distills); chats in Chinese and English.") },
  { "Qwen3",     N_("Qwen3 — Alibaba's 2025 family; chats in Chinese and English, can think step by step.") },
  { "Qwen3 MoE", N_("Qwen3 MoE — Alibaba's 2025 mixture of experts: only a few of its experts work on each word, so it runs faster than its size suggests.") },
  { "Mistral",   N_("Mistral — Mistral AI's family from France; compact, strong in English and European languages.") },
  { "Mixtral",   N_("Mixtral — Mistral AI's mixture of experts: only two of its eight experts work on each word.") },
  { "Gemma 2",   N_("Gemma 2 — Google's 2024 family; careful answers, mainly in English.") },
  { "Gemma 3",   N_("Gemma 3 — Google's 2025 family, from 270 million to 27 billion parameters; many languages.") },
  { "Phi-3",     N_("Phi-3 — Microsoft's small models (Phi-3, 3.5 and 4-mini), trained on textbook-like text; good at reasoning for their size.") },
  { "GLM-4",     N_("GLM-4 — Zhipu AI's family from Tsinghua University; chats in Chinese and English.") },
};

static const char *
family_note (const char *family)
{
  for (guint i = 0; family != NULL && i < G_N_ELEMENTS (family_notes); i++)
    if (g_ascii_strcasecmp (family, family_notes[i].family) == 0)
      return _(family_notes[i].line);
  return NULL;
}

gboolean
temper_model_family_is_described (const char *family)
{
  return family_note (family) != NULL;
}

char *
temper_model_family_line (const char *family)
{
  const char *note = family_note (family);

  if (note != NULL)
    return g_strdup (note);
  /* Translators: the Model page's line for a family without a description of its own */
  return g_strdup_printf (_("%s — a model family Temper can read; it has no description here yet."),
                          family != NULL && g_strcmp0 (family, "?") != 0 ? family : _("This family"));
}

/* What the type means, said after its name; NULL when there is none. */
static const char *
quantization_note (const char *q)
{
  if (q == NULL)
    return NULL;
  if (g_str_equal (q, "F32"))
    return _("full 32-bit precision, twice the usual 16-bit size; no loss of quality");
  if (g_str_equal (q, "F16"))
    return _("16-bit, the size models are published in; no practical loss of quality");
  if (g_str_equal (q, "BF16"))
    return _("16-bit as models are trained, the size they are published in; no practical loss of quality");
  if (g_str_equal (q, "NF4"))
    return _("4-bit as QLoRA keeps weights, about a quarter of the original size; small loss of quality");
  if (g_str_equal (q, "TQ2_0") || g_str_equal (q, "TQ1_0"))
    return _("ternary weights (−1, 0, 1) for models trained that way; other models lose much of their quality");
  if (g_str_has_prefix (q, "Q8_"))
    return _("8-bit, about half the original size; almost no loss of quality");
  if (g_str_has_prefix (q, "Q6_"))
    return _("6-bit, about two fifths of the original size; very small loss of quality");
  if (g_str_has_prefix (q, "Q5_"))
    return _("5-bit, about a third of the original size; small loss of quality");
  if (g_str_has_prefix (q, "Q4_") || g_str_has_prefix (q, "IQ4_"))
    return _("4-bit, about a quarter of the original size; small loss of quality");
  if (g_str_has_prefix (q, "Q3_"))
    return _("3-bit, about a fifth of the original size; noticeable loss of quality");
  if (g_str_has_prefix (q, "Q2_"))
    return _("2-bit, about a sixth of the original size; clear loss of quality");
  return NULL;
}

gboolean
temper_model_quantization_is_described (const char *quantization)
{
  return quantization_note (quantization) != NULL;
}

char *
temper_model_quantization_line (const char *quantization)
{
  const char *note = quantization_note (quantization);

  if (note != NULL)
    /* Translators: a weight type and what it means, e.g. "Q4_K_M — 4-bit, about a quarter of the original size; small loss of quality" */
    return g_strdup_printf (_("%s — %s"), quantization, note);
  /* Translators: the Model page's line for a weight type without a description of its own */
  return g_strdup_printf (_("%s — a weight type Temper can read; it has no description here yet."),
                          quantization != NULL ? quantization : "?");
}
