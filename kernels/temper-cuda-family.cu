/* SPDX-License-Identifier: MIT */
// temper-cuda-family.cu — the element-wise family ops: GeGLU (Gemma's
// feed-forward), the soft cap of Gemma 2's logits, and RoPE from a table of
// frequencies (Llama 3.1's factors, Gemma 3's scaled global RoPE, partial
// rotary, LongRoPE's attention factor).  The CPU's are the reference
// (engine/cpu/).
#include <math.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// √(2/π) and the cubic coefficient of the tanh approximation of GELU.
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

__global__ static void
geglu_forward_kernel (float *out, const float *gate, const float *up, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    {
      const float g = gate[i];

      out[i] = 0.5f * g * (1.0f + tanhf (GELU_K * (g + GELU_C * g * g * g))) * up[i];
    }
}

// d gelu(g)/dg through the tanh form.  Gradients add up.
__global__ static void
geglu_backward_kernel (float *dgate, float *dup, const float *dout, const float *gate,
                       const float *up, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    {
      const float g = gate[i];
      const float t = tanhf (GELU_K * (g + GELU_C * g * g * g));
      const float gelu = 0.5f * g * (1.0f + t);
      const float dgelu = 0.5f * (1.0f + t)
                          + 0.5f * g * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * g * g);

      dgate[i] += dout[i] * up[i] * dgelu;
      dup[i] += dout[i] * gelu;
    }
}

__global__ static void
softcap_kernel (float *x, int64_t n, float cap)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    x[i] = cap * tanhf (x[i] / cap);
}

// The table travels as a kernel argument (≤ 1 KiB), so nothing is uploaded
// and nothing has to outlive the launch.
struct RopeTableArgs {
  float inv_freq[TEMPER_CUDA_ROPE_TABLE_MAX_PAIRS];
};

__global__ static void
rope_table_kernel (float *x, int n_rows, int n_heads, int head_dim, int seq_len,
                   int pos_offset, int layout, int n_pairs, float mscale, float direction,
                   const RopeTableArgs table)
{
  const int64_t n = (int64_t) n_rows * n_heads * n_pairs;

  for (int64_t p = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; p < n;
       p += (int64_t) gridDim.x * blockDim.x)
    {
      const int i = (int) (p % n_pairs);
      const int64_t head = p / n_pairs;          // row · n_heads + h
      const int row = (int) (head / n_heads);
      // The angle in double and reduced there, as the CPU takes it.
      const float angle = (float) remainder ((double) (pos_offset + row % seq_len)
                                             * (double) table.inv_freq[i], 2.0 * M_PI);
      const int64_t base = head * head_dim;
      const int64_t a = base + (layout == TEMPER_CUDA_ROPE_INTERLEAVED ? 2 * i : i);
      const int64_t b = base + (layout == TEMPER_CUDA_ROPE_INTERLEAVED ? 2 * i + 1 : i + n_pairs);
      const float x0 = x[a];
      const float x1 = x[b];
      float s, c;

      sincosf (angle, &s, &c);
      c *= mscale;
      s *= mscale * direction;
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
}

TemperCudaStatus
temper_cuda_geglu_forward (float *d_out, const float *d_gate, const float *d_up, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "GeGLU over %lld values",
                                      (long long) n);
  geglu_forward_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_out, d_gate, d_up, n);
  return temper_cuda_launched ("computing the feed-forward activation");
}

TemperCudaStatus
temper_cuda_geglu_backward (float *d_dgate, float *d_dup, const float *d_dout,
                            const float *d_gate, const float *d_up, int64_t n)
{
  if (n <= 0)
    return n == 0 ? TEMPER_CUDA_OK
                  : temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "GeGLU over %lld values",
                                      (long long) n);
  geglu_backward_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_dgate, d_dup, d_dout, d_gate, d_up, n);
  return temper_cuda_launched ("computing feed-forward gradients");
}

TemperCudaStatus
temper_cuda_softcap (float *d_x, int64_t n, float cap)
{
  if (n < 0 || !(cap > 0.0f))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "a soft cap of %g over %lld values", (double) cap, (long long) n);
  if (n == 0)
    return TEMPER_CUDA_OK;
  softcap_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (d_x, n, cap);
  return temper_cuda_launched ("capping the logits");
}

TemperCudaStatus
temper_cuda_rope_table (float *d_x, int n_rows, int n_heads, int head_dim, int seq_len,
                        int pos_offset, int layout, int n_pairs, const float *h_inv_freq,
                        float mscale, int inverse)
{
  const int64_t n = (int64_t) n_rows * n_heads * n_pairs;
  RopeTableArgs table;

  if (n_pairs <= 0 || n_pairs > TEMPER_CUDA_ROPE_TABLE_MAX_PAIRS || 2 * n_pairs > head_dim
      || n_rows < 0 || n_heads < 0 || seq_len <= 0 || h_inv_freq == NULL)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "RoPE needs 1 to %d pairs within the head size (%d pairs, head %d)",
                             TEMPER_CUDA_ROPE_TABLE_MAX_PAIRS, n_pairs, head_dim);
  if (layout != TEMPER_CUDA_ROPE_INTERLEAVED && layout != TEMPER_CUDA_ROPE_HALVES)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "unknown RoPE layout %d", layout);
  if (n == 0)
    return TEMPER_CUDA_OK;
  memset (&table, 0, sizeof table);
  memcpy (table.inv_freq, h_inv_freq, sizeof (float) * (size_t) n_pairs);
  rope_table_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_x, n_rows, n_heads, head_dim, seq_len, pos_offset, layout, n_pairs, mscale,
    inverse ? -1.0f : 1.0f, table);
  return temper_cuda_launched (inverse ? "computing position-encoding gradients"
                                       : "applying position encoding");
}
