/* SPDX-License-Identifier: MIT */
/* temper-train-rng.c — xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "temper-train-rng.h"

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
temper_rng_seed (TemperRng *rng, guint64 seed)
{
  guint64 x = seed;

  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

guint64
temper_rng_below (TemperRng *rng, guint64 n)
{
  /* Reject the top sliver of the 64-bit range that does not divide evenly. */
  guint64 limit = G_MAXUINT64 - (G_MAXUINT64 % n);
  guint64 x;

  g_assert (n > 0);
  do
    x = temper_rng_next (rng);
  while (x >= limit);
  return x % n;
}

void
temper_rng_shuffle (TemperRng *rng, guint32 *items, gsize n)
{
  for (gsize i = n; i > 1; i--)
    {
      gsize j = (gsize) temper_rng_below (rng, i);
      guint32 tmp = items[i - 1];

      items[i - 1] = items[j];
      items[j] = tmp;
    }
}
