/* SPDX-License-Identifier: MIT */
// temper-cuda-rmsnorm.cu — RMSNorm, y = w · x / sqrt(mean(x²) + eps), one
// thread block per row.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// out, inp are (n_rows, dim); weight is (dim); rstd is (n_rows) or NULL.
__global__ static void
rmsnorm_forward_kernel (float *out, float *rstd, const float *inp, const float *weight,
                        int dim, float eps)
{
  __shared__ float scratch[32];
  const float *x = inp + (int64_t) blockIdx.x * dim;
  float *y = out + (int64_t) blockIdx.x * dim;
  float sum = 0.0f;
  float r;

  for (int c = threadIdx.x; c < dim; c += blockDim.x)
    sum += x[c] * x[c];
  sum = temper_cuda_block_sum (sum, scratch);
  r = rsqrtf (sum / dim + eps);
  for (int c = threadIdx.x; c < dim; c += blockDim.x)
    y[c] = weight[c] * (x[c] * r);
  if (threadIdx.x == 0 && rstd != NULL)
    rstd[blockIdx.x] = r;
}

// With g = dout ⊙ w and r = rstd: dx = r·g − r³·x·(Σ g·x)/dim, accumulated.
__global__ static void
rmsnorm_backward_input_kernel (float *dinp, const float *dout, const float *inp,
                               const float *weight, const float *rstd, int dim)
{
  __shared__ float scratch[32];
  const int64_t offset = (int64_t) blockIdx.x * dim;
  const float r = rstd[blockIdx.x];
  float dot = 0.0f;
  float scale;

  for (int c = threadIdx.x; c < dim; c += blockDim.x)
    dot += dout[offset + c] * weight[c] * inp[offset + c];
  dot = temper_cuda_block_sum (dot, scratch);
  scale = r * r * r * dot / dim;
  for (int c = threadIdx.x; c < dim; c += blockDim.x)
    dinp[offset + c] += r * dout[offset + c] * weight[c] - scale * inp[offset + c];
}

// dweight[c] += Σ_rows dout · x · r.  One thread per column walks the rows,
// so neighbouring threads read neighbouring floats and the sum is the same
// on every run (no atomics).
__global__ static void
rmsnorm_backward_weight_kernel (float *dweight, const float *dout, const float *inp,
                                const float *rstd, int n_rows, int dim)
{
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  float sum = 0.0f;

  if (c >= dim)
    return;
  for (int row = 0; row < n_rows; row++)
    sum += dout[(int64_t) row * dim + c] * inp[(int64_t) row * dim + c] * rstd[row];
  dweight[c] += sum;
}

TemperCudaStatus
temper_cuda_rmsnorm_forward (float *d_out, float *d_rstd, const float *d_inp,
                             const float *d_weight, int n_rows, int dim, float eps)
{
  if (dim <= 0 || n_rows < 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "RMSNorm over %d × %d values",
                             n_rows, dim);
  if (n_rows == 0)
    return TEMPER_CUDA_OK;
  rmsnorm_forward_kernel<<<n_rows, 256, 0, cudaStreamPerThread>>> (d_out, d_rstd, d_inp,
                                                                    d_weight, dim, eps);
  return temper_cuda_launched ("normalising activations");
}

TemperCudaStatus
temper_cuda_rmsnorm_backward (float *d_dinp, float *d_dweight, const float *d_dout,
                              const float *d_inp, const float *d_weight, const float *d_rstd,
                              int n_rows, int dim)
{
  TemperCudaStatus status;

  if (dim <= 0 || n_rows < 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "RMSNorm over %d × %d values",
                             n_rows, dim);
  if (n_rows == 0)
    return TEMPER_CUDA_OK;
  rmsnorm_backward_input_kernel<<<n_rows, 256, 0, cudaStreamPerThread>>> (
    d_dinp, d_dout, d_inp, d_weight, d_rstd, dim);
  status = temper_cuda_launched ("computing RMSNorm gradients");
  if (status != TEMPER_CUDA_OK || d_dweight == NULL)
    return status;
  rmsnorm_backward_weight_kernel<<<(dim + 127) / 128, 128, 0, cudaStreamPerThread>>> (
    d_dweight, d_dout, d_inp, d_rstd, n_rows, dim);
  return temper_cuda_launched ("computing RMSNorm weight gradients");
}
