/* SPDX-License-Identifier: MIT */
// temper-cuda-dequantize.cu — stored weights (F16, BF16, Q4_0, Q4_1, Q8_0)
// to fp32.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"
#include "temper-cuda-quant.cuh"

// out is (n), src holds n elements as @type.
__global__ static void
dequantize_kernel (float *out, const void *src, int type, int64_t n)
{
  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    out[i] = temper_cuda_load_element (src, type, i);
}

TemperCudaStatus
temper_cuda_dequantize (float *d_out, const void *d_src, int type, int64_t n_elements)
{
  const int threads = 256;

  if (!temper_cuda_type_supported (type))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "weights of ggml type %d are not supported by the CUDA backend", type);
  if (n_elements % temper_cuda_type_block (type) != 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "%lld elements do not fill whole blocks of ggml type %d",
                             (long long) n_elements, type);
  if (n_elements == 0)
    return TEMPER_CUDA_OK;
  dequantize_kernel<<<temper_cuda_blocks (n_elements, threads), threads, 0, cudaStreamPerThread>>> (
    d_out, d_src, type, n_elements);
  return temper_cuda_launched ("expanding quantized weights");
}
