/* SPDX-License-Identifier: MIT */
/* The byte-level pre-tokenizer regexes as hand-written matchers.
 *
 * Each matcher returns where the regex's leftmost match starting at @i ends,
 * reproducing Oniguruma's ordered alternation and backtracking (which the
 * Hugging Face tokenizers library uses).  Every one of these regexes matches
 * at every position, so a fragment is always cut into matches without gaps. */
#include "config.h"

#include <string.h>

#include "temper-pretokenizer-private.h"
#include "temper-unicode-private.h"

#define IS(c, k) ((c).uclass == TEMPER_UCLASS_##k)
#define IS_NEWLINE(c) ((c).cp == '\r' || (c).cp == '\n')

void
temper_pre_decode (const char *text, gsize len, GArray *chars)
{
  const guchar *s = (const guchar *) text;
  gsize i = 0;

  g_array_set_size (chars, 0);
  while (i < len)
    {
      TemperPreChar c;
      gsize n = temper_utf8_decode (s + i, len - i, &c.cp);

      c.offset = (guint32) i;
      c.uclass = (guint8) temper_unicode_class (c.cp);
      g_array_append_val (chars, c);
      i += n;
    }
  {
    TemperPreChar sentinel = { 0, (guint32) len, TEMPER_UCLASS_OTHER };
    g_array_append_val (chars, sentinel);
  }
}

static guint32
ascii_lower (guint32 cp)
{
  return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
}

/* 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive; returns the end or 0. */
static gsize
match_contraction (const TemperPreChar *c, gsize i, gsize e, gboolean ignore_case)
{
  guint32 a, b;

  if (c[i].cp != '\'' || i + 1 >= e)
    return 0;
  a = ignore_case ? ascii_lower (c[i + 1].cp) : c[i + 1].cp;
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return i + 2;
  if (i + 2 >= e)
    return 0;
  b = ignore_case ? ascii_lower (c[i + 2].cp) : c[i + 2].cp;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return i + 3;
  return 0;
}

static gsize
run_of (const TemperPreChar *c, gsize i, gsize e, guint8 uclass)
{
  while (i < e && c[i].uclass == uclass)
    i++;
  return i;
}

/* \s+(?!\S)|\s+ at a whitespace character: the whole run when it reaches the
 * end or is one character long, else all but its last character (which then
 * leads the next word). */
static gsize
match_space_run (const TemperPreChar *c, gsize i, gsize e)
{
  gsize j = run_of (c, i, e, TEMPER_UCLASS_SPACE);

  if (j == e || j - i == 1)
    return j;
  return j - 1;
}

static gsize
match_gpt2 (const TemperPreChar *c, gsize i, gsize e)
{
  gsize end = match_contraction (c, i, e, FALSE);
  gsize k = i;

  if (end > 0)
    return end;
  /* ' ?X+' for X in \p{L}, \p{N}, [^\s\p{L}\p{N}]: an optional leading space
   * is taken only when a run of X follows it. */
  if (c[i].cp == ' ' && i + 1 < e && !IS (c[i + 1], SPACE))
    k = i + 1;
  if (!IS (c[k], SPACE))
    return run_of (c, k, e, c[k].uclass);
  return match_space_run (c, i, e);
}

static gsize
match_llama3 (const TemperPreChar *c, gsize i, gsize e, gsize max_digits)
{
  gsize end = match_contraction (c, i, e, TRUE);

  if (end > 0)
    return end;

  /* [^\r\n\p{L}\p{N}]?\p{L}+ */
  if (IS (c[i], LETTER))
    return run_of (c, i, e, TEMPER_UCLASS_LETTER);
  if (!IS_NEWLINE (c[i]) && !IS (c[i], NUMBER) && i + 1 < e && IS (c[i + 1], LETTER))
    return run_of (c, i + 1, e, TEMPER_UCLASS_LETTER);

  /* \p{N}{1,max} */
  if (IS (c[i], NUMBER))
    {
      gsize j = i;
      while (j < e && j - i < max_digits && IS (c[j], NUMBER))
        j++;
      return j;
    }

  /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
  {
    gsize k = i;
    if (c[i].cp == ' ' && i + 1 < e && IS (c[i + 1], OTHER))
      k = i + 1;
    if (IS (c[k], OTHER))
      {
        k = run_of (c, k, e, TEMPER_UCLASS_OTHER);
        while (k < e && IS_NEWLINE (c[k]))
          k++;
        return k;
      }
  }

  /* \s*[\r\n]+ ends after the last newline of the whitespace run. */
  {
    gsize j = run_of (c, i, e, TEMPER_UCLASS_SPACE);
    for (gsize p = j; p > i; p--)
      if (IS_NEWLINE (c[p - 1]))
        return p;
  }
  return match_space_run (c, i, e);
}

static gsize
match_step (TemperPreStep step, const TemperPreChar *c, gsize i, gsize e)
{
  switch (step)
    {
    case TEMPER_PRE_DIGITS_ISOLATED:
      if (IS (c[i], NUMBER))
        return i + 1;
      break;
    case TEMPER_PRE_DIGITS_GROUPED:
      break;
    case TEMPER_PRE_GPT2:
      return match_gpt2 (c, i, e);
    case TEMPER_PRE_LLAMA3:
      return match_llama3 (c, i, e, 3);
    case TEMPER_PRE_QWEN2:
      return match_llama3 (c, i, e, 1);
    default:
      g_assert_not_reached ();
    }
  /* The digit splitters keep each run of numbers, and each run of anything
   * else, as one fragment. */
  if (IS (c[i], NUMBER))
    return run_of (c, i, e, TEMPER_UCLASS_NUMBER);
  while (i < e && !IS (c[i], NUMBER))
    i++;
  return i;
}

static void
split_range (const TemperPreStep *steps, int n_steps, const TemperPreChar *chars,
             gsize start, gsize end, TemperPreEmit emit, gpointer user_data)
{
  gsize i = start;

  if (n_steps == 0)
    {
      emit (chars[start].offset, chars[end].offset, user_data);
      return;
    }
  while (i < end)
    {
      gsize j = match_step (steps[0], chars, i, end);

      g_assert (j > i && j <= end);
      split_range (steps + 1, n_steps - 1, chars, i, j, emit, user_data);
      i = j;
    }
}

void
temper_pre_split (const TemperPreStep *steps, int n_steps,
                  const TemperPreChar *chars, gsize n,
                  TemperPreEmit emit, gpointer user_data)
{
  if (n > 0)
    split_range (steps, n_steps, chars, 0, n, emit, user_data);
}

static const struct {
  const char   *pattern;
  TemperPreStep step;
} known_regexes[] = {
  { "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    TEMPER_PRE_GPT2 },
  /* Without the final \s+ the lone whitespace it would take is left between
   * matches, and Split keeps such gaps as pieces: the same result. */
  { "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    TEMPER_PRE_GPT2 },
  { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    TEMPER_PRE_LLAMA3 },
  { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    TEMPER_PRE_QWEN2 },
  { "\\p{N}", TEMPER_PRE_DIGITS_ISOLATED },
  { "\\p{N}+", TEMPER_PRE_DIGITS_GROUPED },
};

gboolean
temper_pre_step_from_regex (const char *pattern, TemperPreStep *step)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known_regexes); i++)
    if (strcmp (pattern, known_regexes[i].pattern) == 0)
      {
        *step = known_regexes[i].step;
        return TRUE;
      }
  return FALSE;
}
