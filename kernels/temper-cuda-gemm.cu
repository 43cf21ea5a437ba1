/* SPDX-License-Identifier: MIT */
// temper-cuda-gemm.cu — fp32 matrix products through cuBLAS.
#include <cublas_v2.h>

#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

// cuBLAS handles are not thread-safe and belong to one device: keep one per
// thread and device, created on first use.
#define MAX_DEVICES 64
static thread_local cublasHandle_t handles[MAX_DEVICES];

static TemperCudaStatus
get_handle (cublasHandle_t *handle)
{
  int device = 0;
  TemperCudaStatus status = temper_cuda_status (cudaGetDevice (&device), "selecting the GPU");

  if (status != TEMPER_CUDA_OK)
    return status;
  if (device >= MAX_DEVICES)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "GPU %d is beyond the first %d",
                             device, MAX_DEVICES);
  if (handles[device] == NULL)
    {
      cublasStatus_t created = cublasCreate (&handles[device]);

      if (created != CUBLAS_STATUS_SUCCESS)
        {
          handles[device] = NULL;
          return temper_cuda_fail (created == CUBLAS_STATUS_ALLOC_FAILED
                                   ? TEMPER_CUDA_OUT_OF_MEMORY : TEMPER_CUDA_FAILED,
                                   "cuBLAS could not start: %s", cublasGetStatusString (created));
        }
      cublasSetStream (handles[device], cudaStreamPerThread);
    }
  *handle = handles[device];
  return TEMPER_CUDA_OK;
}

// cuBLAS is column-major, and a row-major (r, c) matrix is its transpose
// seen column-major.  So the row-major C = op(A)·op(B) is computed as the
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep the flags.
TemperCudaStatus
temper_cuda_gemm (float *d_c, const float *d_a, const float *d_b, int m, int n, int k,
                    int transpose_a, int transpose_b, float alpha, float beta)
{
  cublasHandle_t handle = NULL;
  cublasStatus_t result;
  TemperCudaStatus status;

  if (m < 0 || n < 0 || k < 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT, "matrix product %d × %d × %d",
                             m, n, k);
  if (m == 0 || n == 0)
    return TEMPER_CUDA_OK;
  status = get_handle (&handle);
  if (status != TEMPER_CUDA_OK)
    return status;
  result = cublasSgemm (handle,
                        transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                        transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                        n, m, k, &alpha,
                        d_b, transpose_b ? k : n,
                        d_a, transpose_a ? m : k,
                        &beta, d_c, n);
  if (result != CUBLAS_STATUS_SUCCESS)
    return temper_cuda_fail (TEMPER_CUDA_FAILED, "cuBLAS matrix product %d × %d × %d: %s",
                             m, n, k, cublasGetStatusString (result));
  return temper_cuda_launched ("multiplying matrices");
}
