/* SPDX-License-Identifier: MIT */
/* cpu-test-random.h — the CPU kernel tests' reproducible random numbers and
 * fp16 writer, shared so every test draws the same way. */
#pragma once

#include <string.h>

#include <glib.h>

#include "temper/tensor.h"

/* Each test picks its own seed (CPU_TEST_SEED) before including this. */
static guint64 rng = CPU_TEST_SEED;

static guint32
next_u32 (void)
{
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (guint32) (rng >> 33);
}

static float
frand (void)
{
  return (float) next_u32 () / 2147483648.0f - 1.0f;
}

static void
put_f16 (guint8 *p, float v)
{
  guint16 h = temper_f32_to_f16 (v);

  memcpy (p, &h, 2);
}
