/* SPDX-License-Identifier: MIT */
/* temper-metrics-text.c — normalisation, exact match and "contains". */
#include "config.h"

#include <string.h>

#include "temper/metrics.h"
#include "temper-metrics-private.h"

gboolean
temper_metrics_is_python_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0
         || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029
         || c == 0x202f || c == 0x205f || c == 0x3000;
}

gboolean
temper_metrics_is_cjk (gunichar c)
{
  switch (g_unichar_get_script (c))
    {
    case G_UNICODE_SCRIPT_HAN:
    case G_UNICODE_SCRIPT_HIRAGANA:
    case G_UNICODE_SCRIPT_KATAKANA:
    case G_UNICODE_SCRIPT_HANGUL:
      return g_unichar_isalnum (c) || g_unichar_type (c) == G_UNICODE_OTHER_LETTER;
    default:
      return FALSE;
    }
}

void
temper_metrics_count (GHashTable *counts, char *key)
{
  gpointer old = NULL;

  if (g_hash_table_lookup_extended (counts, key, NULL, &old))
    {
      g_hash_table_insert (counts, key, GSIZE_TO_POINTER (GPOINTER_TO_SIZE (old) + 1));
      return;
    }
  g_hash_table_insert (counts, key, GSIZE_TO_POINTER (1));
}

guint64
temper_metrics_clipped_matches (GHashTable *answer, GHashTable *reference)
{
  GHashTableIter iter;
  gpointer key, value;
  guint64 matches = 0;

  g_hash_table_iter_init (&iter, answer);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gsize ref_count = GPOINTER_TO_SIZE (g_hash_table_lookup (reference, key));
      matches += MIN (GPOINTER_TO_SIZE (value), ref_count);
    }
  return matches;
}

static gboolean
is_punctuation (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
      return TRUE;
    default:
      return FALSE;
    }
}

char *
temper_metrics_normalize (const char *text)
{
  g_autofree char *composed = NULL;
  g_autofree char *folded = NULL;
  g_autofree gunichar *chars = NULL;
  glong n = 0, start = 0, end;
  GString *out;
  gboolean changed;

  g_return_val_if_fail (text != NULL, NULL);

  /* Invalid UTF-8 cannot equal a reference meaningfully; score it as
   * nothing rather than guess at its characters. */
  if (!g_utf8_validate (text, -1, NULL))
    return g_strdup ("");
  composed = g_utf8_normalize (text, -1, G_NORMALIZE_NFKC);
  folded = g_utf8_casefold (composed, -1);
  chars = g_utf8_to_ucs4_fast (folded, -1, &n);

  end = n;
  do
    {
      changed = FALSE;
      while (start < end && (g_unichar_isspace (chars[start]) || is_punctuation (chars[start])))
        start++, changed = TRUE;
      while (end > start && (g_unichar_isspace (chars[end - 1]) || is_punctuation (chars[end - 1])))
        end--, changed = TRUE;
    }
  while (changed);

  out = g_string_sized_new (strlen (folded));
  for (glong i = start; i < end; i++)
    {
      if (g_unichar_isspace (chars[i]))
        {
          if (out->len > 0 && out->str[out->len - 1] != ' ')
            g_string_append_c (out, ' ');
          continue;
        }
      g_string_append_unichar (out, chars[i]);
    }
  return g_string_free (out, FALSE);
}

gboolean
temper_metrics_exact_match (const char *answer, const char *reference)
{
  g_autofree char *a = temper_metrics_normalize (answer);
  g_autofree char *r = temper_metrics_normalize (reference);

  return strcmp (a, r) == 0;
}

static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) && !temper_metrics_is_cjk (c);
}

gboolean
temper_metrics_contains (const char *answer, const char *reference)
{
  g_autofree char *a = temper_metrics_normalize (answer);
  g_autofree char *r = temper_metrics_normalize (reference);
  gsize r_len = strlen (r);
  gunichar first, last;

  if (r_len == 0)
    return a[0] == '\0';
  first = g_utf8_get_char (r);
  last = g_utf8_get_char (g_utf8_find_prev_char (r, r + r_len));
  for (const char *hit = strstr (a, r); hit != NULL; hit = strstr (hit + 1, r))
    {
      const char *after = hit + r_len;
      gboolean cuts_before = hit > a && is_word_char (first)
                             && is_word_char (g_utf8_get_char (g_utf8_find_prev_char (a, hit)));
      gboolean cuts_after = *after != '\0' && is_word_char (last)
                            && is_word_char (g_utf8_get_char (after));

      if (!cuts_before && !cuts_after)
        return TRUE;
    }
  return FALSE;
}
