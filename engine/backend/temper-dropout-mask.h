/* SPDX-License-Identifier: MIT */
/* temper-dropout-mask.h — which elements LoRA dropout keeps (private).
 *
 * Every backend must drop exactly the same elements for the same key, so a
 * step on a GPU matches the CPU bit for bit and the backward pass can
 * regenerate the forward's mask instead of storing it.  The mask is a pure
 * function of (key, element index) made only of 32-bit unsigned additions,
 * multiplications, xors and shifts: GLSL without 64-bit integers computes it
 * the same way as C and CUDA.  This header is shared by the C backends and
 * the CUDA kernels (plain C, no GLib); shaders/dropout.comp repeats the same
 * arithmetic and tests/vulkan checks that the masks are identical. */
#pragma once

#include <stdint.h>

#ifdef __CUDACC__
#define TEMPER_DROPOUT_INLINE static __host__ __device__ __forceinline__
#else
#define TEMPER_DROPOUT_INLINE static inline
#endif

/* A bijective 32-bit mixer: xorshift-multiply rounds whose constants were
 * chosen (by others, through search) for strong avalanche. */
TEMPER_DROPOUT_INLINE uint32_t
temper_dropout_mix (uint32_t z)
{
  z ^= z >> 16;
  z *= 0x7feb352du;
  z ^= z >> 15;
  z *= 0x846ca68bu;
  z ^= z >> 16;
  return z;
}

/* The Weyl step's increment: 2³² divided by the golden ratio, odd. */
#define TEMPER_DROPOUT_WEYL 0x9e3779b9u

/* 32 random bits for element @index under the key (@key_lo, @key_hi).  For a
 * fixed key every step is a bijection of the index (a Weyl step, then
 * mixing), so no two elements of a tensor share their bits. */
TEMPER_DROPOUT_INLINE uint32_t
temper_dropout_bits (uint32_t key_lo, uint32_t key_hi, uint32_t index)
{
  uint32_t h = temper_dropout_mix (index * TEMPER_DROPOUT_WEYL + key_lo);

  return temper_dropout_mix (h ^ key_hi);
}

/* The key whose mask at index i is @key's at @first + i.  The index enters
 * the bits only as index · WEYL + key_lo, so an offset folds into key_lo
 * (mod 2³²): a tensor run in parts, each part with the key of its first
 * element, drops exactly what it drops when run whole. */
TEMPER_DROPOUT_INLINE uint64_t
temper_dropout_key_at (uint64_t key, uint32_t first)
{
  uint32_t key_lo = (uint32_t) key + first * TEMPER_DROPOUT_WEYL;

  return (key & 0xffffffff00000000ull) | key_lo;
}

/* The threshold on the top 24 bits: an element is kept when
 * (bits >> 8) >= threshold, which happens with probability 1 − @p. */
TEMPER_DROPOUT_INLINE uint32_t
temper_dropout_threshold (float p)
{
  return (uint32_t) ((double) p * 16777216.0);
}

TEMPER_DROPOUT_INLINE int
temper_dropout_keeps (uint32_t key_lo, uint32_t key_hi, uint32_t threshold, uint32_t index)
{
  return (temper_dropout_bits (key_lo, key_hi, index) >> 8) >= threshold;
}
