/* SPDX-License-Identifier: MIT */
// temper-cuda-elementwise.cu — residual additions and in-place scaling.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// out, a, b are (n); out may alias a or b.
__global__ static void
add_kernel (float *out, const float *a, const float *b, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    out[i] = a[i] + b[i];
}

__global__ static void
scale_kernel (float *x, int64_t n, float s)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    x[i] *= s;
}

TemperCudaStatus
temper_cuda_add (float *d_out, const float *d_a, const float *d_b, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "adding %lld values",
                                      (long long) n);
  add_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (d_out, d_a, d_b, n);
  return temper_cuda_launched ("adding activations");
}

TemperCudaStatus
temper_cuda_scale (float *d_x, int64_t n, float s)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "scaling %lld values",
                                      (long long) n);
  scale_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (d_x, n, s);
  return temper_cuda_launched ("scaling values");
}
