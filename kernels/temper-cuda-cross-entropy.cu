/* SPDX-License-Identifier: MIT */
// temper-cuda-cross-entropy.cu — the output layer fused with cross-entropy.
// Logits exist for one chunk of rows at a time, are turned into their own
// gradient in place, and go back through the output layer into dx before
// the next chunk: a 49k-word vocabulary never needs (tokens × vocab) floats.
#include <math.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// logits (rows, n_vocab) becomes grad_scale · (softmax − one-hot); masked
// rows (target −1) become zeros.  One block per row.  cap > 0 (Gemma 2):
// the logits y are first capped in place, z = cap·tanh(y/cap), and the
// gradient goes back through the cap, ∂z/∂y = 1 − (z/cap)².
__global__ static void
cross_entropy_kernel (float *logits, float *loss, const int32_t *targets, int n_vocab,
                      float grad_scale, float cap)
{
  __shared__ float scratch[32];
  float *row = logits + (int64_t) blockIdx.x * n_vocab;
  const int target = targets[blockIdx.x];
  float max = -INFINITY, sum = 0.0f, target_logit;

  if (target < 0 || target >= n_vocab)
    {
      for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
        row[v] = 0.0f;
      return;
    }
  if (cap > 0.0f)
    {
      for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
        row[v] = cap * tanhf (row[v] / cap);
      __syncthreads ();
    }
  target_logit = row[target];
  for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
    max = fmaxf (max, row[v]);
  max = temper_cuda_block_max (max, scratch);
  for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
    sum += expf (row[v] - max);
  sum = temper_cuda_block_sum (sum, scratch);
  if (threadIdx.x == 0)
    {
      atomicAdd (&loss[0], max + logf (sum) - target_logit);
      atomicAdd (&loss[1], 1.0f);
    }
  if (cap > 0.0f)
    {
      for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
        {
          const float z = row[v];
          const float t = z / cap;

          row[v] = grad_scale * (expf (z - max) / sum - (v == target ? 1.0f : 0.0f))
                   * (1.0f - t * t);
        }
      return;
    }
  for (int v = threadIdx.x; v < n_vocab; v += blockDim.x)
    row[v] = grad_scale * (expf (row[v] - max) / sum);
  __syncthreads ();
  if (threadIdx.x == 0)
    row[target] -= grad_scale;
}

static TemperCudaStatus
cross_entropy (float *d_loss, float *d_dx, const float *d_x, const void *d_w, int type,
               const int32_t *d_targets, float *d_scratch, int n_rows, int n_embd, int n_vocab,
               int chunk_rows, float grad_scale, float cap)
{
  if (chunk_rows <= 0 || n_rows < 0 || n_vocab <= 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "cross-entropy over %d rows of %d words in chunks of %d", n_rows,
                             n_vocab, chunk_rows);
  for (int first = 0; first < n_rows; first += chunk_rows)
    {
      const int rows = n_rows - first < chunk_rows ? n_rows - first : chunk_rows;
      TemperCudaStatus status;

      status = temper_cuda_linear_forward (d_scratch, d_x + (int64_t) first * n_embd, d_w, type,
                                           NULL, rows, n_embd, n_vocab, 0);
      if (status != TEMPER_CUDA_OK)
        return status;
      cross_entropy_kernel<<<rows, 256, 0, cudaStreamPerThread>>> (
        d_scratch, d_loss, d_targets + first, n_vocab, grad_scale, cap);
      status = temper_cuda_launched ("computing the loss");
      if (status != TEMPER_CUDA_OK)
        return status;
      if (d_dx != NULL)
        {
          status = temper_cuda_linear_backward_input (d_dx + (int64_t) first * n_embd, d_scratch,
                                                      d_w, type, rows, n_embd, n_vocab);
          if (status != TEMPER_CUDA_OK)
            return status;
        }
    }
  return TEMPER_CUDA_OK;
}

TemperCudaStatus
temper_cuda_lm_head_cross_entropy (float *d_loss, float *d_dx, const float *d_x, const void *d_w,
                                   int type, const int32_t *d_targets, float *d_scratch,
                                   int n_rows, int n_embd, int n_vocab, int chunk_rows,
                                   float grad_scale)
{
  return cross_entropy (d_loss, d_dx, d_x, d_w, type, d_targets, d_scratch, n_rows, n_embd,
                        n_vocab, chunk_rows, grad_scale, 0.0f);
}

TemperCudaStatus
temper_cuda_lm_head_cross_entropy_softcap (float *d_loss, float *d_dx, const float *d_x,
                                           const void *d_w, int type,
                                           const int32_t *d_targets, float *d_scratch,
                                           int n_rows, int n_embd, int n_vocab, int chunk_rows,
                                           float grad_scale, float cap)
{
  if (!(cap > 0.0f))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "a soft cap of %g", (double) cap);
  return cross_entropy (d_loss, d_dx, d_x, d_w, type, d_targets, d_scratch, n_rows, n_embd,
                        n_vocab, chunk_rows, grad_scale, cap);
}
