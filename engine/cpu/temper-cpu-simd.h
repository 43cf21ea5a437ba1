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

/* The sums of the eight lanes of each of @a, @b, @c and @d, in that order:
 * four rows' accumulators reduced together, each added in the order the
 * one-row kernels' reduction adds (the halves, then lanes two apart, then
 * neighbours), so a row's result does not depend on which kernel took it. */
static inline __m128
hsum4_ps (__m256 a, __m256 b, __m256 c, __m256 d)
{
  /* [a0+a4 … a3+a7 | b0+b4 … b3+b7], the same of c and d */
  __m256 ab = _mm256_add_ps (_mm256_permute2f128_ps (a, b, 0x20), _mm256_permute2f128_ps (a, b, 0x31));
  __m256 cd = _mm256_add_ps (_mm256_permute2f128_ps (c, d, 0x20), _mm256_permute2f128_ps (c, d, 0x31));
  /* [ab0+ab2, ab1+ab3, cd0+cd2, cd1+cd3] in each lane */
  __m256 s = _mm256_add_ps (_mm256_shuffle_ps (ab, cd, _MM_SHUFFLE (1, 0, 1, 0)),
                            _mm256_shuffle_ps (ab, cd, _MM_SHUFFLE (3, 2, 3, 2)));
  /* [a, c, a, c | b, d, b, d] */
  __m256 t = _mm256_add_ps (_mm256_shuffle_ps (s, s, _MM_SHUFFLE (2, 0, 2, 0)),
                            _mm256_shuffle_ps (s, s, _MM_SHUFFLE (3, 1, 3, 1)));

  return _mm_unpacklo_ps (_mm256_castps256_ps128 (t), _mm256_extractf128_ps (t, 1));
}

/* The 32 4-bit codes of a Q4_0/IQ4_NL group (16 bytes at @qs, element i in
 * the low nibble of byte i, element 16 + i in its high nibble) as bytes in
 * element order. */
static inline __m256i
nibbles_32 (const uint8_t *qs)
{
  __m256i v = _mm256_broadcastsi128_si256 (_mm_loadu_si128 ((const __m128i *) qs));

  return _mm256_and_si256 (_mm256_blend_epi32 (v, _mm256_srli_epi16 (v, 4), 0xf0), _mm256_set1_epi8 (0x0f));
}
