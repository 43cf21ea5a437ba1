/* SPDX-License-Identifier: MIT */
/* temper-train-rng.h — the random numbers of training (private).
 *
 * xoshiro256** seeded through splitmix64: fast, with a 32-byte state that a
 * checkpoint stores as it is, so a resumed run draws exactly the numbers the
 * uninterrupted run would have drawn (LoRA init, dropout masks, data order). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  guint64 s[4];
} TemperRng;

void    temper_rng_seed (TemperRng *rng, guint64 seed);

static inline guint64
temper_rng_rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline guint64
temper_rng_next (TemperRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = temper_rng_rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = temper_rng_rotl (s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 24 random bits: every value is an exact float. */
static inline float
temper_rng_uniform (TemperRng *rng)
{
  return (float) (temper_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform integer in [0, n), n > 0, without modulo bias. */
guint64 temper_rng_below (TemperRng *rng, guint64 n);

/* Fisher–Yates shuffle of @n indices. */
void    temper_rng_shuffle (TemperRng *rng, guint32 *items, gsize n);

G_END_DECLS
