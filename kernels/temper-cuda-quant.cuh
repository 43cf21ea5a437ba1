/* SPDX-License-Identifier: MIT */
// temper-cuda-quant.cuh — reading one element of a ggml-typed tensor.
// Block layouts follow ggml exactly (see FORMATS.md §2): every block starts
// with its fp16 scale, so a block is 2-byte aligned whenever the tensor is.
// NF4 (Temper's own, engine/model/temper-nf4.c) starts each 36-byte block of
// 64 weights with an fp32 absmax, read byte by byte so no alignment is assumed.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "cuda/temper-cuda-module.h"

static inline bool
temper_cuda_type_supported (int type)
{
  return type == TEMPER_CUDA_TYPE_F32 || type == TEMPER_CUDA_TYPE_F16 ||
         type == TEMPER_CUDA_TYPE_BF16 || type == TEMPER_CUDA_TYPE_Q4_0 ||
         type == TEMPER_CUDA_TYPE_Q4_1 || type == TEMPER_CUDA_TYPE_Q8_0 ||
         type == TEMPER_CUDA_TYPE_NF4 || type == TEMPER_CUDA_TYPE_Q2_K ||
         type == TEMPER_CUDA_TYPE_Q3_K || type == TEMPER_CUDA_TYPE_IQ4_NL ||
         type == TEMPER_CUDA_TYPE_IQ4_XS || type == TEMPER_CUDA_TYPE_TQ2_0;
}

static inline int64_t
temper_cuda_type_block (int type)
{
  if (type == TEMPER_CUDA_TYPE_NF4)
    return 64;
  if (type == TEMPER_CUDA_TYPE_Q2_K || type == TEMPER_CUDA_TYPE_Q3_K ||
      type == TEMPER_CUDA_TYPE_IQ4_XS || type == TEMPER_CUDA_TYPE_TQ2_0)
    return 256;
  return type == TEMPER_CUDA_TYPE_Q4_0 || type == TEMPER_CUDA_TYPE_Q4_1 ||
         type == TEMPER_CUDA_TYPE_Q8_0 || type == TEMPER_CUDA_TYPE_IQ4_NL ? 32 : 1;
}

// IQ4_NL / IQ4_XS: what each 4-bit code stands for before scaling (ggml's
// kvalues_iq4nl; temper_iq4_values on the CPU).
static __constant__ float temper_cuda_iq4_values[16] = {
  -127.0f, -104.0f, -83.0f, -65.0f, -49.0f, -35.0f, -22.0f, -10.0f,
  1.0f, 13.0f, 25.0f, 38.0f, 53.0f, 69.0f, 89.0f, 113.0f,
};

// The 2-bit code of element @e (0-255) of a Q2_K, Q3_K or TQ2_0 block whose
// codes start at @qs: bits 2·((e / 32) mod 4) of byte 32·(e / 128) + e mod 32.
static __device__ __forceinline__ int
temper_cuda_code2 (const uint8_t *qs, int e)
{
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

// The NF4 code book of bitsandbytes (functional.get_4bit_type("nf4")), the
// same values as temper_nf4_values on the CPU.
static __constant__ float temper_cuda_nf4_values[16] = {
  -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
  -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
  0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
  0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
};

static __device__ __forceinline__ float
temper_cuda_half_at (const uint8_t *p)
{
  return __half2float (*reinterpret_cast<const __half *> (p));
}

// Element @i (in row-major order) of the tensor at @src stored as @type.
static __device__ __forceinline__ float
temper_cuda_load_element (const void *src, int type, int64_t i)
{
  const uint8_t *bytes = static_cast<const uint8_t *> (src);
  const int j = (int) (i % 32);

  switch (type)
    {
    case TEMPER_CUDA_TYPE_F16:
      return __half2float (static_cast<const __half *> (src)[i]);
    case TEMPER_CUDA_TYPE_BF16:
      return __bfloat162float (static_cast<const __nv_bfloat16 *> (src)[i]);
    case TEMPER_CUDA_TYPE_Q8_0:
      {
        const uint8_t *block = bytes + (i / 32) * 34;
        return temper_cuda_half_at (block) * (float) (int8_t) block[2 + j];
      }
    case TEMPER_CUDA_TYPE_Q4_0:
      {
        // Low nibbles hold the block's first 16 values, high nibbles the rest.
        const uint8_t *block = bytes + (i / 32) * 18;
        const uint8_t q = block[2 + j % 16];
        const int nibble = j < 16 ? q & 0x0F : q >> 4;
        return temper_cuda_half_at (block) * (float) (nibble - 8);
      }
    case TEMPER_CUDA_TYPE_Q4_1:
      {
        const uint8_t *block = bytes + (i / 32) * 20;
        const uint8_t q = block[4 + j % 16];
        const int nibble = j < 16 ? q & 0x0F : q >> 4;
        return temper_cuda_half_at (block) * (float) nibble + temper_cuda_half_at (block + 2);
      }
    case TEMPER_CUDA_TYPE_NF4:
      {
        // Pairs share a byte, the first weight in the high nibble (as bitsandbytes packs).
        const uint8_t *block = bytes + (i / 64) * 36;
        const int k = (int) (i % 64);
        const uint32_t bits = (uint32_t) block[0] | ((uint32_t) block[1] << 8) |
                              ((uint32_t) block[2] << 16) | ((uint32_t) block[3] << 24);
        const uint8_t q = block[4 + k / 2];
        const int code = (k & 1) ? q & 0x0F : q >> 4;
        return temper_cuda_nf4_values[code] * __uint_as_float (bits);
      }
    case TEMPER_CUDA_TYPE_Q2_K:
      {
        // scales[16] (4-bit scale, 4-bit min per 16), qs[64], d, dmin.
        const uint8_t *block = bytes + (i / 256) * 84;
        const int e = (int) (i % 256);
        const int sc = block[e / 16];
        return temper_cuda_half_at (block + 80) * (float) (sc & 0x0F) * (float) temper_cuda_code2 (block + 16, e)
               - temper_cuda_half_at (block + 82) * (float) (sc >> 4);
      }
    case TEMPER_CUDA_TYPE_Q3_K:
      {
        // hmask[32], qs[64], 12 bytes of 6-bit scales, d; a clear hmask bit
        // subtracts 4.
        const uint8_t *block = bytes + (i / 256) * 110;
        const int e = (int) (i % 256), sub = e / 16;
        const uint8_t *scales = block + 96;
        const int low = sub < 8 ? scales[sub] & 0x0F : scales[sub - 8] >> 4;
        const int high = (scales[8 + sub % 4] >> (2 * (sub / 4))) & 3;
        const int hbit = (block[e % 32] >> (e / 32)) & 1;
        const int q = temper_cuda_code2 (block + 32, e) - (hbit ? 0 : 4);
        return temper_cuda_half_at (block + 108) * (float) ((low | (high << 4)) - 32) * (float) q;
      }
    case TEMPER_CUDA_TYPE_IQ4_NL:
      {
        const uint8_t *block = bytes + (i / 32) * 18;
        const uint8_t q = block[2 + j % 16];
        return temper_cuda_half_at (block) * temper_cuda_iq4_values[j < 16 ? q & 0x0F : q >> 4];
      }
    case TEMPER_CUDA_TYPE_IQ4_XS:
      {
        // d, a u16 of high scale bits, 4 bytes of low scale nibbles, qs[128].
        const uint8_t *block = bytes + (i / 256) * 136;
        const int e = (int) (i % 256), ib = e / 32;
        const int scales_h = block[2] | (block[3] << 8);
        const int ls = ((block[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((scales_h >> (2 * ib)) & 3) << 4);
        const uint8_t q = block[8 + 16 * ib + j % 16];
        return temper_cuda_half_at (block) * (float) (ls - 32) *
               temper_cuda_iq4_values[j < 16 ? q & 0x0F : q >> 4];
      }
    case TEMPER_CUDA_TYPE_TQ2_0:
      {
        // Ternary: 2-bit codes meaning code - 1, then d.
        const uint8_t *block = bytes + (i / 256) * 66;
        return temper_cuda_half_at (block + 64) * (float) (temper_cuda_code2 (block, (int) (i % 256)) - 1);
      }
    case TEMPER_CUDA_TYPE_F32:
    default:
      return static_cast<const float *> (src)[i];
    }
}
