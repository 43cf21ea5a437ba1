/* SPDX-License-Identifier: MIT */
// temper-cuda-common.cuh — what every kernel file of the module shares:
// turning CUDA errors into a status plus a sentence, and launch sizes.
#pragma once

#include <cuda_runtime.h>

#include "cuda/temper-cuda-module.h"

// Records a sentence for last_error() and returns @status.
TemperCudaStatus temper_cuda_fail (TemperCudaStatus status, const char *format, ...)
  __attribute__ ((format (printf, 2, 3)));

// TEMPER_CUDA_OK for cudaSuccess; otherwise a status that says what kind of
// failure it was, with a message naming @what was being done.
TemperCudaStatus temper_cuda_status (cudaError_t error, const char *what);

// The status of the kernel launch just made (bad configuration, no kernel
// image for this GPU).  Execution errors surface at synchronize().
static inline TemperCudaStatus
temper_cuda_launched (const char *what)
{
  return temper_cuda_status (cudaGetLastError (), what);
}

// Enough blocks of @threads to cover @n elements, capped so grid-stride
// loops take over on huge tensors instead of overflowing gridDim.x.
static inline unsigned int
temper_cuda_blocks (int64_t n, int threads)
{
  int64_t blocks = (n + threads - 1) / threads;

  return (unsigned int) (blocks < 65535 * 32 ? blocks : 65535 * 32);
}

// Sum of @value over the block; every thread gets the result.  @scratch
// holds one float per warp (32 suffices for any block size).
static __device__ __forceinline__ float
temper_cuda_block_sum (float value, float *scratch)
{
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int n_warps = (blockDim.x + 31) / 32;

  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_xor_sync (0xffffffffu, value, offset);
  if (lane == 0)
    scratch[warp] = value;
  __syncthreads ();
  value = lane < n_warps ? scratch[lane] : 0.0f;
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_xor_sync (0xffffffffu, value, offset);
  __syncthreads ();   // scratch may be reused right after
  return value;
}

// Maximum of @value over the block; every thread gets the result.
static __device__ __forceinline__ float
temper_cuda_block_max (float value, float *scratch)
{
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int n_warps = (blockDim.x + 31) / 32;

  for (int offset = 16; offset > 0; offset /= 2)
    value = fmaxf (value, __shfl_xor_sync (0xffffffffu, value, offset));
  if (lane == 0)
    scratch[warp] = value;
  __syncthreads ();
  value = lane < n_warps ? scratch[lane] : -INFINITY;
  for (int offset = 16; offset > 0; offset /= 2)
    value = fmaxf (value, __shfl_xor_sync (0xffffffffu, value, offset));
  __syncthreads ();
  return value;
}

// Sum of @value over the warp; every lane gets the result.
static __device__ __forceinline__ float
temper_cuda_warp_sum (float value)
{
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_xor_sync (0xffffffffu, value, offset);
  return value;
}
