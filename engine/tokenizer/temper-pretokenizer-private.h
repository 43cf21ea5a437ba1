/* SPDX-License-Identifier: MIT */
/* temper-pretokenizer-private.h — the pre-tokenizer regexes of the byte-level
 * BPE models, as hand-written matchers over classified code points.
 *
 * Each step splits every fragment left by the step before it (Hugging Face's
 * Sequence of pre-tokenizers with Isolated behaviour). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TEMPER_MAX_PRE_STEPS 4

typedef enum {
  /* \p{N}: every digit on its own (HF Digits(individual_digits=true)). */
  TEMPER_PRE_DIGITS_ISOLATED,
  /* \p{N}+: runs of digits (HF Digits(individual_digits=false)). */
  TEMPER_PRE_DIGITS_GROUPED,
  /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
  TEMPER_PRE_GPT2,
  /* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
   *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
  TEMPER_PRE_LLAMA3,
  /* As Llama 3 with \p{N} instead of \p{N}{1,3}. */
  TEMPER_PRE_QWEN2,
} TemperPreStep;

/* One decoded character of the text being split. */
typedef struct {
  guint32 cp;
  guint32 offset;   /* byte offset in the text */
  guint8  uclass;   /* TemperUnicodeClass */
} TemperPreChar;

/* Decodes @len bytes of @text into @chars (a GArray of TemperPreChar); a final
 * sentinel element holds offset = @len. */
void temper_pre_decode (const char *text, gsize len, GArray *chars);

typedef void (*TemperPreEmit) (gsize byte_start, gsize byte_end, gpointer user_data);

/* Runs @steps over chars[0, n) and calls @emit for each final piece, in
 * order.  @chars must end with the sentinel from temper_pre_decode. */
void temper_pre_split (const TemperPreStep *steps, int n_steps,
                       const TemperPreChar *chars, gsize n,
                       TemperPreEmit emit, gpointer user_data);

/* Recognises a Hugging Face Split regex; FALSE if it is not one of ours. */
gboolean temper_pre_step_from_regex (const char *pattern, TemperPreStep *step);

G_END_DECLS
