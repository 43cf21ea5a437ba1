/* SPDX-License-Identifier: MIT */
// temper-cuda-linear.cu — linear layers over frozen base weights kept in
// their stored type (F32, F16, BF16, Q4_0, Q4_1, Q8_0): each tile of W is
// expanded to fp32 in shared memory as it is loaded, QLoRA style, so the
// quantized model never has to exist in fp32 on the GPU.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"
#include "temper-cuda-quant.cuh"

#define TILE_M 64     // rows of x (tokens) per block
#define TILE_N 64     // output columns per block
#define TILE_K 32     // one quantization block of W per step
#define THREADS 256   // 16 × 16 threads, 4 × 4 outputs each

// C (n_rows, n_cols) from A (n_rows, k) and the weights W, fp32 accumulation.
// Forward:  C = A · Wᵀ (+ bias) (+ C when accumulate); W is (n_cols, k).
// Backward: C += A · W; W is (k, n_cols).
template <bool BACKWARD>
__global__ static void
linear_kernel (float *c, const float *a, const void *w, int type, const float *bias,
               int n_rows, int n_cols, int k, int w_row_length, int accumulate)
{
  // +1 keeps the transposed stores free of shared-memory bank conflicts.
  __shared__ float a_tile[TILE_K][TILE_M + 1];
  __shared__ float w_tile[TILE_K][TILE_N + 1];
  const int tid = threadIdx.x;
  const int tx = tid % 16;
  const int ty = tid / 16;
  const int row0 = blockIdx.y * TILE_M;
  const int col0 = blockIdx.x * TILE_N;
  float acc[4][4] = { { 0 } };

  for (int k0 = 0; k0 < k; k0 += TILE_K)
    {
      for (int idx = tid; idx < TILE_M * TILE_K; idx += THREADS)
        {
          const int m = idx / TILE_K;
          const int kk = idx % TILE_K;
          const int row = row0 + m;
          const int kg = k0 + kk;

          a_tile[kk][m] = row < n_rows && kg < k ? a[(int64_t) row * k + kg] : 0.0f;
        }
      for (int idx = tid; idx < TILE_N * TILE_K; idx += THREADS)
        {
          // Walk W along its contiguous dimension so reads coalesce.
          const int n = BACKWARD ? idx % TILE_N : idx / TILE_K;
          const int kk = BACKWARD ? idx / TILE_N : idx % TILE_K;
          const int col = col0 + n;
          const int kg = k0 + kk;
          const int64_t element = BACKWARD ? (int64_t) kg * w_row_length + col
                                           : (int64_t) col * w_row_length + kg;

          w_tile[kk][n] = col < n_cols && kg < k ? temper_cuda_load_element (w, type, element)
                                                 : 0.0f;
        }
      __syncthreads ();
      for (int kk = 0; kk < TILE_K; kk++)
        {
          float av[4], wv[4];

          for (int i = 0; i < 4; i++)
            av[i] = a_tile[kk][ty * 4 + i];
          for (int j = 0; j < 4; j++)
            wv[j] = w_tile[kk][tx * 4 + j];
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
              acc[i][j] += av[i] * wv[j];
        }
      __syncthreads ();
    }

  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      {
        const int row = row0 + ty * 4 + i;
        const int col = col0 + tx * 4 + j;
        float *out;

        if (row >= n_rows || col >= n_cols)
          continue;
        out = &c[(int64_t) row * n_cols + col];
        if (BACKWARD)
          *out += acc[i][j];
        else
          *out = acc[i][j] + (bias != NULL ? bias[col] : 0.0f) + (accumulate ? *out : 0.0f);
      }
}

static TemperCudaStatus
check_shape (int type, int n_rows, int n_in, int n_out)
{
  if (!temper_cuda_type_supported (type))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "weights of ggml type %d are not supported by the CUDA backend", type);
  if (n_rows < 0 || n_in <= 0 || n_out <= 0 || n_in % temper_cuda_type_block (type) != 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "a linear layer of %d inputs and %d outputs over %d rows", n_in,
                             n_out, n_rows);
  return TEMPER_CUDA_OK;
}

TemperCudaStatus
temper_cuda_linear_forward (float *d_y, const float *d_x, const void *d_w, int type,
                            const float *d_bias, int n_rows, int n_in, int n_out,
                            int accumulate)
{
  TemperCudaStatus status = check_shape (type, n_rows, n_in, n_out);
  dim3 grid ((n_out + TILE_N - 1) / TILE_N, (n_rows + TILE_M - 1) / TILE_M);

  if (status != TEMPER_CUDA_OK || n_rows == 0)
    return status;
  if (grid.y > 65535)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "%d rows in one linear layer",
                             n_rows);
  linear_kernel<false><<<grid, THREADS, 0, cudaStreamPerThread>>> (
    d_y, d_x, d_w, type, d_bias, n_rows, n_out, n_in, n_in, accumulate);
  return temper_cuda_launched ("running a linear layer");
}

TemperCudaStatus
temper_cuda_linear_backward_input (float *d_dx, const float *d_dy, const void *d_w, int type,
                                   int n_rows, int n_in, int n_out)
{
  TemperCudaStatus status = check_shape (type, n_rows, n_in, n_out);
  dim3 grid ((n_in + TILE_N - 1) / TILE_N, (n_rows + TILE_M - 1) / TILE_M);

  if (status != TEMPER_CUDA_OK || n_rows == 0)
    return status;
  if (grid.y > 65535)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "%d rows in one linear layer",
                             n_rows);
  linear_kernel<true><<<grid, THREADS, 0, cudaStreamPerThread>>> (
    d_dx, d_dy, d_w, type, NULL, n_rows, n_in, n_out, n_in, 0);
  return temper_cuda_launched ("computing linear-layer gradients");
}
