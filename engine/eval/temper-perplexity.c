/* SPDX-License-Identifier: MIT */
/* temper-perplexity.c — answer-token likelihood, as training's loss. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>

#include "temper/error.h"
#include "temper/evaluate.h"

double
temper_nll_perplexity (const TemperNll *nll)
{
  g_return_val_if_fail (nll != NULL, NAN);
  if (nll->n_tokens == 0)
    return NAN;
  return exp (nll->nll_sum / (double) nll->n_tokens);
}

/* −log softmax(logits)[target], with the maximum subtracted first so that
 * exp() cannot overflow; summed in double like the training loss. */
static double
token_nll (const float *logits, int n_vocab, gint32 target)
{
  double max = logits[0], sum = 0.0;

  for (int v = 1; v < n_vocab; v++)
    max = MAX (max, (double) logits[v]);
  for (int v = 0; v < n_vocab; v++)
    sum += exp ((double) logits[v] - max);
  return max + log (sum) - (double) logits[target];
}

gboolean
temper_evaluate_nll (temper_generator_t *gen, int n_vocab, const gint32 *ids,
                     const guint8 *mask, gsize n, TemperNll *nll,
                     GCancellable *cancellable, GError **error)
{
  g_autofree float *logits = NULL;
  gsize first = 0, last = 0;

  g_return_val_if_fail (gen != NULL && nll != NULL && n_vocab > 0, FALSE);
  g_return_val_if_fail (n == 0 || (ids != NULL && mask != NULL), FALSE);

  /* The first token has nothing to predict it, so it is never a target. */
  for (gsize t = 1; t < n; t++)
    if (mask[t])
      {
        if (first == 0)
          first = t;
        last = t;
      }
  temper_generator_reset (gen);
  if (first == 0)
    return TRUE;
  if (n > (gsize) temper_generator_get_n_ctx (gen))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("A record of %zu tokens does not fit the %d tokens "
                   "the evaluation holds; shorten the record or lower the maximum length"),
                   n, temper_generator_get_n_ctx (gen));
      return FALSE;
    }
  for (gsize t = 0; t < first; t++)
    if (ids[t] < 0 || ids[t] >= n_vocab)
      goto bad_token;

  logits = g_new (float, n_vocab);
  /* Everything before the first target in one batch, then one token at a
   * time: the generator gives the logits of the last position only. */
  if (!temper_generator_eval (gen, ids, first, logits, cancellable, error))
    return FALSE;
  for (gsize t = first; t <= last; t++)
    {
      if (ids[t] < 0 || ids[t] >= n_vocab)
        goto bad_token;
      if (mask[t])
        {
          nll->nll_sum += token_nll (logits, n_vocab, ids[t]);
          nll->n_tokens++;
        }
      if (t < last && !temper_generator_eval (gen, ids + t, 1, logits, cancellable, error))
        return FALSE;
    }
  return TRUE;

bad_token:
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("A token id lies outside the model's vocabulary of %d; the record was "
               "tokenised for another model"), n_vocab);
  return FALSE;
}
