/* SPDX-License-Identifier: MIT */
// temper-cuda-dropout.cu — LoRA dropout.  The mask comes from the header the
// CPU and Vulkan backends use too, and the threshold and keep scale are
// formed on the host as they form them, so all three drop the same elements
// and produce the same products.
#include "backend/temper-dropout-mask.h"
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// out, x are (n); out may alias x.
__global__ static void
dropout_kernel (float *out, const float *x, uint32_t n, uint32_t key_lo, uint32_t key_hi,
                uint32_t threshold, float keep_scale)
{
  // 64-bit steps, so the last stride cannot wrap around past n.
  for (uint64_t i = blockIdx.x * (uint64_t) blockDim.x + threadIdx.x; i < n;
       i += (uint64_t) gridDim.x * blockDim.x)
    {
      float v = x[i];

      // __fmul_rn: a plain rounded product, never contracted into anything else.
      out[i] = temper_dropout_keeps (key_lo, key_hi, threshold, (uint32_t) i)
               ? __fmul_rn (v, keep_scale) : 0.0f;
    }
}

TemperCudaStatus
temper_cuda_dropout (float *d_out, const float *d_x, int64_t n, float p, uint64_t key)
{
  if (n < 0 || n > (int64_t) UINT32_MAX)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "dropping out %lld values",
                             (long long) n);
  if (!(p >= 0.0f && p < 1.0f))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "a dropout rate of %g (it must lie in [0, 1))", (double) p);
  if (n == 0)
    return TEMPER_CUDA_OK;
  dropout_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_out, d_x, (uint32_t) n, (uint32_t) key, (uint32_t) (key >> 32),
    temper_dropout_threshold (p), 1.0f / (1.0f - p));
  return temper_cuda_launched ("dropping out adapter inputs");
}
