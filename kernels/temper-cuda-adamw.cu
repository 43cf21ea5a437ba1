/* SPDX-License-Identifier: MIT */
// temper-cuda-adamw.cu — the AdamW update of the adapter weights, with
// decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW does,
// and gradient clipping by global norm folded in.
#include <math.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// param, grad, m, v are (n); grad_sumsq is (1), the squared global norm.
// The bias corrections 1 − β^t are computed once on the host.  The clip
// factor is read on the device so the step never waits for a download.
__global__ static void
adamw_kernel (float *param, const float *grad, float *m, float *v, int64_t n,
              const float *grad_sumsq, float max_grad_norm, float lr, float beta1, float beta2,
              float eps, float weight_decay, float correction1, float correction2)
{
  float clip = 1.0f;

  if (max_grad_norm > 0.0f)
    {
      const float norm = sqrtf (*grad_sumsq);

      if (norm > max_grad_norm)
        clip = max_grad_norm / norm;
    }
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    {
      const float g = grad[i] * clip;
      const float m_i = beta1 * m[i] + (1.0f - beta1) * g;
      const float v_i = beta2 * v[i] + (1.0f - beta2) * g * g;
      const float m_hat = m_i / correction1;
      const float v_hat = v_i / correction2;

      m[i] = m_i;
      v[i] = v_i;
      param[i] -= lr * (m_hat / (sqrtf (v_hat) + eps) + weight_decay * param[i]);
    }
}

TemperCudaStatus
temper_cuda_adamw (float *d_param, const float *d_grad, float *d_m, float *d_v, int64_t n,
                   const float *d_grad_sumsq, float max_grad_norm, float lr, float beta1,
                   float beta2, float eps, float weight_decay, int64_t step)
{
  if (step < 1 || n < 0 || (max_grad_norm > 0.0f && d_grad_sumsq == NULL))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "AdamW step %lld over %lld values", (long long) step, (long long) n);
  if (n == 0)
    return TEMPER_CUDA_OK;
  adamw_kernel<<<temper_cuda_blocks (n, 256), 256, 0, cudaStreamPerThread>>> (
    d_param, d_grad, d_m, d_v, n, d_grad_sumsq, max_grad_norm, lr, beta1, beta2, eps,
    weight_decay, (float) (1.0 - pow (beta1, (double) step)),
    (float) (1.0 - pow (beta2, (double) step)));
  return temper_cuda_launched ("updating the adapter weights");
}
