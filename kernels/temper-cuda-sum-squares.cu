/* SPDX-License-Identifier: MIT */
// temper-cuda-sum-squares.cu — Σ x², for the global gradient norm.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// Each block sums its share in fp32 and adds it to out[0] with one atomic:
// gradients of a few million values keep plenty of precision this way.
__global__ static void
sum_squares_kernel (float *out, const float *x, int64_t n)
{
  __shared__ float scratch[32];
  float sum = 0.0f;

  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    sum += x[i] * x[i];
  sum = temper_cuda_block_sum (sum, scratch);
  if (threadIdx.x == 0)
    atomicAdd (out, sum);
}

TemperCudaStatus
temper_cuda_sum_squares (float *d_out, const float *d_x, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "norm of %lld values",
                                      (long long) n);
  // A few blocks per multiprocessor is enough for a memory-bound reduction.
  sum_squares_kernel<<<(unsigned int) (n < 256 * 1024 ? (n + 255) / 256 : 1024), 256, 0,
                       cudaStreamPerThread>>> (d_out, d_x, n);
  return temper_cuda_launched ("measuring the gradient norm");
}
