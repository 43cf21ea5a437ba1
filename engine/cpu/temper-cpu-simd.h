/* SPDX-License-Identifier: MIT */
/* temper-cpu-simd.h — the small helpers every x86 kernel file needs, for
 * files built with at least -mavx2 -mf16c (each such file is its own
 * library with its own instruction set, so these stay static inline and
 * are compiled into each with that file's flags). */
#pragma once

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define ALWAYS_INLINE inline __attribute__ ((always_inline))

/* One IEEE half at @p, which need not be aligned. */
static inline float
load_f16 (const uint8_t *p)
{
  uint16_t h;

  memcpy (&h, p, 2);
  return _cvtsh_ss (h);
}
