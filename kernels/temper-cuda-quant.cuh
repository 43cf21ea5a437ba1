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
         type == TEMPER_CUDA_TYPE_NF4;
}

static inline int64_t
temper_cuda_type_block (int type)
{
  if (type == TEMPER_CUDA_TYPE_NF4)
    return 64;
  return type == TEMPER_CUDA_TYPE_Q4_0 || type == TEMPER_CUDA_TYPE_Q4_1 ||
         type == TEMPER_CUDA_TYPE_Q8_0 ? 32 : 1;
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
    case TEMPER_CUDA_TYPE_F32:
    default:
      return static_cast<const float *> (src)[i];
    }
}
