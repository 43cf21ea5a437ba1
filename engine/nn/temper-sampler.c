/* SPDX-License-Identifier: MIT */
/* Sampling: repetition penalty, then greedy or temperature + top-k + top-p.
 * The random generator is our own splitmix64 so a seed gives the same answer
 * on every machine and GLib version. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "temper-sampler.h"

typedef struct {
  float logit;
  int   id;
} Candidate;

struct _TemperSampler {
  TemperSamplingParams params;
  int                  n_vocab;
  guint64              rng;
  Candidate           *cand;    /* n_vocab, allocated once */
};

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double
uniform01 (guint64 *state)
{
  return (double) (splitmix64 (state) >> 11) * (1.0 / 9007199254740992.0);
}

TemperSampler *
temper_sampler_new (int n_vocab, const TemperSamplingParams *params)
{
  TemperSampler *s = g_new0 (TemperSampler, 1);

  s->params = *params;
  s->n_vocab = n_vocab;
  s->rng = params->seed;
  s->cand = g_new (Candidate, n_vocab);
  return s;
}

void
temper_sampler_free (TemperSampler *sampler)
{
  if (sampler == NULL)
    return;
  g_free (sampler->cand);
  g_free (sampler);
}

static int
compare_desc (const void *a, const void *b)
{
  float x = ((const Candidate *) a)->logit, y = ((const Candidate *) b)->logit;

  if (x != y)
    return x > y ? -1 : 1;
  return ((const Candidate *) a)->id - ((const Candidate *) b)->id;
}

/* Moves the k largest candidates to the front (in any order). */
static void
select_top_k (Candidate *c, int n, int k)
{
  int lo = 0, hi = n - 1;

  while (lo < hi)
    {
      float pivot = c[(lo + hi) / 2].logit;
      int i = lo, j = hi;

      while (i <= j)
        {
          while (c[i].logit > pivot) i++;
          while (c[j].logit < pivot) j--;
          if (i <= j)
            {
              Candidate t = c[i];
              c[i] = c[j];
              c[j] = t;
              i++;
              j--;
            }
        }
      if (k - 1 <= j)
        hi = j;
      else if (k - 1 >= i)
        lo = i;
      else
        break;
    }
}

int
temper_sampler_sample (TemperSampler *s, float *logits, const gint32 *recent, int n_recent)
{
  const TemperSamplingParams *p = &s->params;
  int n = s->n_vocab, best = 0;
  double total = 0.0, r, acc = 0.0;
  float max;

  /* As in llama.cpp and transformers: shrink positive logits, grow negative
   * ones, once per distinct recent token. */
  if (p->repeat_penalty != 1.0f && p->repeat_penalty > 0.0f)
    {
      int first = MAX (0, n_recent - p->repeat_last_n);

      for (int i = first; i < n_recent; i++)
        {
          int id = recent[i];
          gboolean seen = FALSE;

          for (int j = first; j < i && !seen; j++)
            seen = recent[j] == id;
          if (seen || id < 0 || id >= n)
            continue;
          logits[id] = logits[id] > 0.0f ? logits[id] / p->repeat_penalty
                                         : logits[id] * p->repeat_penalty;
        }
    }

  if (p->temperature <= 0.0f)
    {
      for (int i = 1; i < n; i++)
        if (logits[i] > logits[best])
          best = i;
      return best;
    }

  for (int i = 0; i < n; i++)
    {
      s->cand[i].logit = logits[i] / p->temperature;
      s->cand[i].id = i;
    }
  if (p->top_k > 0 && p->top_k < n)
    {
      select_top_k (s->cand, n, p->top_k);
      n = p->top_k;
    }
  qsort (s->cand, (size_t) n, sizeof (Candidate), compare_desc);

  max = s->cand[0].logit;
  for (int i = 0; i < n; i++)
    {
      s->cand[i].logit = expf (s->cand[i].logit - max);
      total += s->cand[i].logit;
    }
  if (p->top_p > 0.0f && p->top_p < 1.0f)
    {
      double kept = 0.0;
      int keep = 0;

      while (keep < n && kept < p->top_p * total)
        kept += s->cand[keep++].logit;
      n = MAX (keep, 1);
      total = kept > 0.0 ? kept : s->cand[0].logit;
    }

  r = uniform01 (&s->rng) * total;
  for (int i = 0; i < n; i++)
    {
      acc += s->cand[i].logit;
      if (r < acc)
        return s->cand[i].id;
    }
  return s->cand[n - 1].id;
}
