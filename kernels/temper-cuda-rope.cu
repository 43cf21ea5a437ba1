/* SPDX-License-Identifier: MIT */
// temper-cuda-rope.cu — rotary position embedding, forward and backward
// (the backward pass is the inverse rotation).  One thread per pair.
#include <math.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// x is (n_rows, n_heads, head_dim), rotated in place; row r is at position
// pos_offset + r % seq_len, and pair i turns by pos · theta^(−2i/d).
__global__ static void
rope_kernel (float *x, int n_rows, int n_heads, int head_dim, int seq_len, int pos_offset,
             float theta, int layout, float direction)
{
  const int half = head_dim / 2;
  const int64_t n_pairs = (int64_t) n_rows * n_heads * half;

  for (int64_t p = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; p < n_pairs;
       p += (int64_t) gridDim.x * blockDim.x)
    {
      const int i = (int) (p % half);
      const int64_t head = p / half;             // row · n_heads + h
      const int row = (int) (head / n_heads);
      const double inv_freq = pow ((double) theta, -2.0 * i / head_dim);
      // Reduced in double, so the fp32 sine is as exact at position 30 000
      // as at position 3.
      const float angle = (float) remainder ((double) (pos_offset + row % seq_len) * inv_freq,
                                             2.0 * M_PI);
      const int64_t base = head * head_dim;
      const int64_t a = base + (layout == TEMPER_CUDA_ROPE_INTERLEAVED ? 2 * i : i);
      const int64_t b = base + (layout == TEMPER_CUDA_ROPE_INTERLEAVED ? 2 * i + 1 : i + half);
      const float x0 = x[a];
      const float x1 = x[b];
      float s, c;

      sincosf (angle, &s, &c);
      s *= direction;
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
}

TemperCudaStatus
temper_cuda_rope (float *d_x, int n_rows, int n_heads, int head_dim, int seq_len,
                  int pos_offset, float theta, int layout, int inverse)
{
  const int64_t n_pairs = (int64_t) n_rows * n_heads * (head_dim / 2);

  if (head_dim <= 0 || head_dim % 2 != 0 || n_rows < 0 || n_heads < 0 || seq_len <= 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "RoPE needs an even head size and a sequence length, not %d and %d",
                             head_dim, seq_len);
  if (layout != TEMPER_CUDA_ROPE_INTERLEAVED && layout != TEMPER_CUDA_ROPE_HALVES)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "unknown RoPE layout %d", layout);
  if (n_pairs == 0)
    return TEMPER_CUDA_OK;
  rope_kernel<<<temper_cuda_blocks (n_pairs, 256), 256, 0, cudaStreamPerThread>>> (
    d_x, n_rows, n_heads, head_dim, seq_len, pos_offset, theta, layout,
    inverse ? -1.0f : 1.0f);
  return temper_cuda_launched (inverse ? "computing position-encoding gradients"
                                       : "applying position encoding");
}
