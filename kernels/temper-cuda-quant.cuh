// temper-cuda-quant.cuh — reading one element of a ggml-typed tensor.
// Block layouts follow ggml exactly (see FORMATS.md §2): every block starts
// with its fp16 scale, so a block is 2-byte aligned whenever the tensor is.
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
         type == TEMPER_CUDA_TYPE_Q4_1 || type == TEMPER_CUDA_TYPE_Q8_0;
}

static inline int64_t
temper_cuda_type_block (int type)
{
  return type == TEMPER_CUDA_TYPE_Q4_0 || type == TEMPER_CUDA_TYPE_Q4_1 ||
         type == TEMPER_CUDA_TYPE_Q8_0 ? 32 : 1;
}

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
    case TEMPER_CUDA_TYPE_F32:
    default:
      return static_cast<const float *> (src)[i];
    }
}
