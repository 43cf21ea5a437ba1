/* SPDX-License-Identifier: MIT */
// temper-cuda-embedding.cu — token ids to rows of the embedding table, read
// straight from its stored type (SmolLM2 keeps it as Q8_0).  The table is
// frozen in LoRA training, so there is no backward pass.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"
#include "temper-cuda-quant.cuh"

// out is (n_tokens, dim); table is (n_rows, dim) as @type; tokens is (n_tokens).
__global__ static void
embedding_forward_kernel (float *out, const void *table, int type, int64_t n_rows,
                          const int32_t *tokens, int n_tokens, int dim)
{
  const int64_t n = (int64_t) n_tokens * dim;

  for (int64_t i = blockIdx.x * (int64_t) blockDim.x + threadIdx.x; i < n;
       i += (int64_t) gridDim.x * blockDim.x)
    {
      const int32_t token = tokens[i / dim];
      const int64_t column = i % dim;

      out[i] = token >= 0 && token < n_rows
               ? temper_cuda_load_element (table, type, (int64_t) token * dim + column)
               : 0.0f;
    }
}

TemperCudaStatus
temper_cuda_embedding_forward (float *d_out, const void *d_table, int type, int64_t n_rows,
                               const int32_t *d_tokens, int n_tokens, int dim)
{
  const int threads = 256;
  const int64_t n = (int64_t) n_tokens * dim;

  if (!temper_cuda_type_supported (type))
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "embeddings of ggml type %d are not supported by the CUDA backend", type);
  if (dim <= 0 || dim % temper_cuda_type_block (type) != 0)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "embedding rows of %d values do not fill whole blocks", dim);
  if (n == 0)
    return TEMPER_CUDA_OK;
  embedding_forward_kernel<<<temper_cuda_blocks (n, threads), threads, 0, cudaStreamPerThread>>> (
    d_out, d_table, type, n_rows, d_tokens, n_tokens, dim);
  return temper_cuda_launched ("looking up token embeddings");
}
