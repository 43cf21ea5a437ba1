/* SPDX-License-Identifier: MIT */
/* temper-chrf.c — chrF as sacrebleu 2.x computes it by default. */
#include "config.h"

#include <string.h>

#include "temper/metrics.h"
#include "temper-metrics-private.h"

#define CHRF_BETA 2.0

/* The text without white space, as UTF-8, with the byte offset of every
 * character (and one past the end) so that n-grams are slices. */
static char *
strip_spaces (const char *text, GArray *offsets)
{
  GString *out = g_string_new (NULL);

  if (g_utf8_validate (text, -1, NULL))
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);

        if (temper_metrics_is_python_space (c))
          continue;
        g_array_append_val (offsets, out->len);
        g_string_append_unichar (out, c);
      }
  g_array_append_val (offsets, out->len);
  return g_string_free (out, FALSE);
}

static GHashTable *
count_char_ngrams (const char *text, GArray *offsets, guint order)
{
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_chars = offsets->len - 1;

  for (guint i = 0; i + order <= n_chars; i++)
    {
      gsize from = g_array_index (offsets, gsize, i);
      gsize to = g_array_index (offsets, gsize, i + order);
      temper_metrics_count (counts, g_strndup (text + from, to - from));
    }
  return counts;
}

void
temper_chrf_stats_add (TemperChrfStats *stats, const char *answer, const char *reference)
{
  g_autoptr(GArray) hyp_offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) ref_offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autofree char *hyp = NULL;
  g_autofree char *ref = NULL;
  guint hyp_chars, ref_chars;

  g_return_if_fail (stats != NULL && answer != NULL && reference != NULL);

  hyp = strip_spaces (answer, hyp_offsets);
  ref = strip_spaces (reference, ref_offsets);
  hyp_chars = hyp_offsets->len - 1;
  ref_chars = ref_offsets->len - 1;
  for (guint n = 1; n <= TEMPER_CHRF_ORDER; n++)
    {
      g_autoptr(GHashTable) h = count_char_ngrams (hyp, hyp_offsets, n);
      g_autoptr(GHashTable) r = count_char_ngrams (ref, ref_offsets, n);

      /* As sacrebleu does, an answer's n-grams of an order the reference
       * is too short to have do not count against the corpus precision. */
      if (ref_chars >= n)
        {
          stats->answer[n - 1] += hyp_chars >= n ? hyp_chars - n + 1 : 0;
          stats->reference[n - 1] += ref_chars - n + 1;
        }
      stats->match[n - 1] += temper_metrics_clipped_matches (h, r);
    }
}

double
temper_chrf_corpus (const TemperChrfStats *stats)
{
  double precision = 0.0, recall = 0.0, factor = CHRF_BETA * CHRF_BETA;
  guint orders = 0;

  g_return_val_if_fail (stats != NULL, 0.0);

  /* Orders that one side lacks (texts shorter than n characters) are left
   * out of the average instead of counting as zero. */
  for (guint n = 0; n < TEMPER_CHRF_ORDER; n++)
    {
      if (stats->answer[n] == 0 || stats->reference[n] == 0)
        continue;
      precision += (double) stats->match[n] / (double) stats->answer[n];
      recall += (double) stats->match[n] / (double) stats->reference[n];
      orders++;
    }
  if (orders == 0)
    return 0.0;
  precision /= orders;
  recall /= orders;
  if (precision + recall == 0.0)
    return 0.0;
  return (1.0 + factor) * precision * recall / (factor * precision + recall);
}

double
temper_chrf_sentence (const char *answer, const char *reference)
{
  TemperChrfStats stats = { 0 };

  temper_chrf_stats_add (&stats, answer, reference);
  return temper_chrf_corpus (&stats);
}
