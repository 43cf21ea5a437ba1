/* SPDX-License-Identifier: MIT */
/* temper-rouge.c — ROUGE-L F1 as rouge-score computes it. */
#include "config.h"

#include <string.h>

#include "temper/metrics.h"
#include "temper-metrics-private.h"

static void
flush_word (GPtrArray *tokens, GString *word)
{
  if (word->len == 0)
    return;
  g_ptr_array_add (tokens, g_strdup (word->str));
  g_string_truncate (word, 0);
}

char **
temper_metrics_tokenize_rouge (const char *text)
{
  GPtrArray *tokens = g_ptr_array_new ();
  g_autoptr(GString) word = g_string_new (NULL);

  g_return_val_if_fail (text != NULL, NULL);

  if (g_utf8_validate (text, -1, NULL))
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);

        if (c < 0x80 && g_ascii_isalnum ((char) c))
          {
            g_string_append_c (word, g_ascii_tolower ((char) c));
            continue;
          }
        flush_word (tokens, word);
        if (temper_metrics_is_cjk (c))
          {
            char buf[8];
            int len = g_unichar_to_utf8 (c, buf);
            g_ptr_array_add (tokens, g_strndup (buf, len));
          }
      }
  flush_word (tokens, word);
  g_ptr_array_add (tokens, NULL);
  return (char **) g_ptr_array_free (tokens, FALSE);
}

/* Length of the longest common subsequence, one row of the table at a time. */
static guint
lcs_length (char **a, guint n_a, char **b, guint n_b)
{
  g_autofree guint *prev = g_new0 (guint, n_b + 1);
  g_autofree guint *row = g_new0 (guint, n_b + 1);

  for (guint i = 1; i <= n_a; i++)
    {
      guint *swap;

      for (guint j = 1; j <= n_b; j++)
        row[j] = strcmp (a[i - 1], b[j - 1]) == 0 ? prev[j - 1] + 1 : MAX (prev[j], row[j - 1]);
      swap = prev;
      prev = row;
      row = swap;
    }
  return prev[n_b];
}

double
temper_rouge_l (const char *answer, const char *reference)
{
  g_auto(GStrv) hyp = temper_metrics_tokenize_rouge (answer);
  g_auto(GStrv) ref = temper_metrics_tokenize_rouge (reference);
  guint n_hyp = g_strv_length (hyp), n_ref = g_strv_length (ref), lcs;
  double precision, recall;

  if (n_hyp == 0 || n_ref == 0)
    return 0.0;
  lcs = lcs_length (ref, n_ref, hyp, n_hyp);
  precision = (double) lcs / n_hyp;
  recall = (double) lcs / n_ref;
  if (precision + recall == 0.0)
    return 0.0;
  return 2.0 * precision * recall / (precision + recall);
}
