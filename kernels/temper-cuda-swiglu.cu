/* SPDX-License-Identifier: MIT */
// temper-cuda-swiglu.cu — the gated feed-forward activation,
// out = silu(gate) ⊙ up, with silu(g) = g · sigmoid(g).
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

static __device__ __forceinline__ float
sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

// out, gate, up are (n).
__global__ static void
swiglu_forward_kernel (float *out, const float *gate, const float *up, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    out[i] = gate[i] * sigmoid (gate[i]) * up[i];
}

// d silu(g)/dg = s + g·s·(1 − s) with s = sigmoid(g).  Gradients add up.
__global__ static void
swiglu_backward_kernel (float *dgate, float *dup, const float *dout, const float *gate,
                        const float *up, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    {
      const float g = gate[i];
      const float s = sigmoid (g);

      dgate[i] += dout[i] * up[i] * (s + g * s * (1.0f - s));
      dup[i] += dout[i] * g * s;
    }
}

TemperCudaStatus
temper_cuda_swiglu_forward (float *d_out, const float *d_gate, const float *d_up, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "SwiGLU over %lld values",
                                      (long long) n);
  swiglu_forward_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_out, d_gate, d_up, n);
  return temper_cuda_launched ("computing the feed-forward activation");
}

TemperCudaStatus
temper_cuda_swiglu_backward (float *d_dgate, float *d_dup, const float *d_dout,
                             const float *d_gate, const float *d_up, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "SwiGLU over %lld values",
                                      (long long) n);
  swiglu_backward_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_dgate, d_dup, d_dout, d_gate, d_up, n);
  return temper_cuda_launched ("computing feed-forward gradients");
}
