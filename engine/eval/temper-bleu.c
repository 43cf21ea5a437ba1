/* SPDX-License-Identifier: MIT */
/* temper-bleu.c — BLEU-4 as sacrebleu 2.x computes it by default. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/metrics.h"
#include "temper-metrics-private.h"

/* The characters 13a puts spaces around: ASCII punctuation except the
 * apostrophe, hyphen, period and comma (those get the rules below). */
static gboolean
is_13a_symbol (gunichar c)
{
  return (c >= 0x7b && c <= 0x7e) || (c >= 0x5b && c <= 0x60) || (c >= 0x20 && c <= 0x26)
         || (c >= 0x28 && c <= 0x2b) || (c >= 0x3a && c <= 0x40) || c == 0x2f;
}

static gboolean
is_ascii_digit (gunichar c)
{
  return c >= '0' && c <= '9';
}

static void
replace_all (GString *s, const char *from, const char *to)
{
  g_string_replace (s, from, to, 0);
}

/* One pass of a two-character rule, scanning left to right without
 * overlapping matches, as Python's re.sub does. */
typedef gboolean (*PairRule) (gunichar a, gunichar b);

static gboolean
period_after_non_digit (gunichar a, gunichar b)
{
  return !is_ascii_digit (a) && (b == '.' || b == ',');
}

static gboolean
period_before_non_digit (gunichar a, gunichar b)
{
  return (a == '.' || a == ',') && !is_ascii_digit (b);
}

static gboolean
dash_after_digit (gunichar a, gunichar b)
{
  return is_ascii_digit (a) && b == '-';
}

static GArray *
apply_pair_rule (GArray *in, PairRule rule, gboolean space_before)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), in->len * 2 + 4);
  const gunichar space = ' ';
  guint i = 0;

  while (i < in->len)
    {
      gunichar a = g_array_index (in, gunichar, i);

      if (i + 1 < in->len && rule (a, g_array_index (in, gunichar, i + 1)))
        {
          gunichar b = g_array_index (in, gunichar, i + 1);
          /* r' \1 \2' for the second rule, r'\1 \2 ' for the others. */
          if (space_before)
            g_array_append_val (out, space);
          g_array_append_val (out, a);
          g_array_append_val (out, space);
          g_array_append_val (out, b);
          if (!space_before)
            g_array_append_val (out, space);
          i += 2;
          continue;
        }
      g_array_append_val (out, a);
      i++;
    }
  g_array_unref (in);
  return out;
}

char **
temper_metrics_tokenize_13a (const char *text)
{
  g_autoptr(GString) line = g_string_new (text);
  g_autofree gunichar *chars = NULL;
  GArray *seq;
  GPtrArray *tokens = g_ptr_array_new ();
  GString *token = g_string_new (NULL);
  glong n = 0;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_string_free (token, TRUE);
      g_ptr_array_add (tokens, NULL);
      return (char **) g_ptr_array_free (tokens, FALSE);
    }
  chars = g_utf8_to_ucs4_fast (line->str, -1, &n);
  while (n > 0 && temper_metrics_is_python_space (chars[n - 1]))
    n--;
  g_string_truncate (line, g_utf8_offset_to_pointer (line->str, n) - line->str);

  replace_all (line, "<skipped>", "");
  replace_all (line, "-\n", "");
  replace_all (line, "\n", " ");
  if (strchr (line->str, '&') != NULL)
    {
      replace_all (line, "&quot;", "\"");
      replace_all (line, "&amp;", "&");
      replace_all (line, "&lt;", "<");
      replace_all (line, "&gt;", ">");
    }
  /* 13a pads the line with a space at each end, which the period and
   * comma rules can match against. */
  g_string_prepend_c (line, ' ');
  g_string_append_c (line, ' ');
  g_free (chars);
  chars = g_utf8_to_ucs4_fast (line->str, -1, &n);

  seq = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), 3 * n + 4);
  for (glong i = 0; i < n; i++)
    {
      const gunichar space = ' ';
      if (is_13a_symbol (chars[i]))
        {
          g_array_append_val (seq, space);
          g_array_append_val (seq, chars[i]);
          g_array_append_val (seq, space);
        }
      else
        g_array_append_val (seq, chars[i]);
    }
  seq = apply_pair_rule (seq, period_after_non_digit, FALSE);
  seq = apply_pair_rule (seq, period_before_non_digit, TRUE);
  seq = apply_pair_rule (seq, dash_after_digit, FALSE);

  for (guint i = 0; i <= seq->len; i++)
    {
      if (i == seq->len || temper_metrics_is_python_space (g_array_index (seq, gunichar, i)))
        {
          if (token->len > 0)
            {
              g_ptr_array_add (tokens, g_strdup (token->str));
              g_string_truncate (token, 0);
            }
          continue;
        }
      g_string_append_unichar (token, g_array_index (seq, gunichar, i));
    }
  g_array_unref (seq);
  g_string_free (token, TRUE);
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}

static GHashTable *
count_ngrams (char **tokens, guint len, guint order)
{
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i + order <= len; i++)
    {
      g_autofree char *saved = tokens[i + order];
      char *key;

      /* Joining with spaces is safe: 13a tokens never hold white space. */
      tokens[i + order] = NULL;
      key = g_strjoinv (" ", tokens + i);
      tokens[i + order] = g_steal_pointer (&saved);
      temper_metrics_count (counts, key);
    }
  return counts;
}

void
temper_bleu_stats_add (TemperBleuStats *stats, const char *answer, const char *reference)
{
  g_auto(GStrv) hyp = temper_metrics_tokenize_13a (answer);
  g_auto(GStrv) ref = temper_metrics_tokenize_13a (reference);
  guint hyp_len = g_strv_length (hyp), ref_len = g_strv_length (ref);

  g_return_if_fail (stats != NULL);

  stats->answer_len += hyp_len;
  stats->reference_len += ref_len;
  for (guint n = 1; n <= TEMPER_BLEU_ORDER; n++)
    {
      g_autoptr(GHashTable) h = count_ngrams (hyp, hyp_len, n);
      g_autoptr(GHashTable) r = count_ngrams (ref, ref_len, n);

      stats->total[n - 1] += hyp_len >= n ? hyp_len - n + 1 : 0;
      stats->correct[n - 1] += temper_metrics_clipped_matches (h, r);
    }
}

static double
bleu_from_stats (const TemperBleuStats *stats, gboolean effective_order)
{
  double precisions[TEMPER_BLEU_ORDER] = { 0 };
  double brevity = 1.0, smooth = 1.0, log_sum = 0.0;
  gboolean any_correct = FALSE;
  guint order = TEMPER_BLEU_ORDER;

  if (stats->answer_len < stats->reference_len)
    brevity = stats->answer_len > 0
              ? exp (1.0 - (double) stats->reference_len / (double) stats->answer_len)
              : 0.0;
  for (guint n = 0; n < TEMPER_BLEU_ORDER; n++)
    any_correct |= stats->correct[n] > 0;
  if (!any_correct)
    return 0.0;

  for (guint n = 0; n < TEMPER_BLEU_ORDER; n++)
    {
      if (stats->total[n] == 0)
        break;
      if (effective_order)
        order = n + 1;
      if (stats->correct[n] == 0)
        {
          /* NIST smoothing: each further empty order counts half the last. */
          smooth *= 2.0;
          precisions[n] = 1.0 / (smooth * (double) stats->total[n]);
        }
      else
        precisions[n] = (double) stats->correct[n] / (double) stats->total[n];
    }
  for (guint n = 0; n < order; n++)
    {
      if (precisions[n] == 0.0)
        return 0.0;
      log_sum += log (precisions[n]);
    }
  return brevity * exp (log_sum / order);
}

double
temper_bleu_corpus (const TemperBleuStats *stats)
{
  g_return_val_if_fail (stats != NULL, 0.0);
  return bleu_from_stats (stats, FALSE);
}

double
temper_bleu_sentence (const char *answer, const char *reference)
{
  TemperBleuStats stats = { 0 };

  temper_bleu_stats_add (&stats, answer, reference);
  return bleu_from_stats (&stats, TRUE);
}
