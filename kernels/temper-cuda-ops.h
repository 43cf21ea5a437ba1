/* SPDX-License-Identifier: MIT */
// temper-cuda-ops.h — the host launchers, one per kernel file, that the
// module's function table points to.  Their contracts are documented on the
// matching members of TemperCudaModule.
#pragma once

#include "cuda/temper-cuda-module.h"

TemperCudaStatus temper_cuda_dequantize (float *d_out, const void *d_src, int type,
                                         int64_t n_elements);
TemperCudaStatus temper_cuda_embedding_forward (float *d_out, const void *d_table, int type,
                                                int64_t n_rows, const int32_t *d_tokens,
                                                int n_tokens, int dim);
TemperCudaStatus temper_cuda_rmsnorm_forward (float *d_out, float *d_rstd, const float *d_inp,
                                              const float *d_weight, int n_rows, int dim,
                                              float eps);
TemperCudaStatus temper_cuda_rmsnorm_backward (float *d_dinp, float *d_dweight,
                                               const float *d_dout, const float *d_inp,
                                               const float *d_weight, const float *d_rstd,
                                               int n_rows, int dim);
TemperCudaStatus temper_cuda_swiglu_forward (float *d_out, const float *d_gate,
                                             const float *d_up, int64_t n);
TemperCudaStatus temper_cuda_swiglu_backward (float *d_dgate, float *d_dup, const float *d_dout,
                                              const float *d_gate, const float *d_up, int64_t n);
TemperCudaStatus temper_cuda_rope (float *d_x, int n_rows, int n_heads, int head_dim,
                                   int seq_len, int pos_offset, float theta, int layout,
                                   int inverse);
TemperCudaStatus temper_cuda_adamw (float *d_param, const float *d_grad, float *d_m, float *d_v,
                                    int64_t n, const float *d_grad_sumsq, float max_grad_norm,
                                    float lr, float beta1, float beta2, float eps,
                                    float weight_decay, int64_t step);
TemperCudaStatus temper_cuda_add (float *d_out, const float *d_a, const float *d_b, int64_t n);
TemperCudaStatus temper_cuda_scale (float *d_x, int64_t n, float s);
TemperCudaStatus temper_cuda_sum_squares (float *d_out, const float *d_x, int64_t n);
TemperCudaStatus temper_cuda_gemm (float *d_c, const float *d_a, const float *d_b,
                                   int m, int n, int k, int transpose_a, int transpose_b,
                                   float alpha, float beta);
TemperCudaStatus temper_cuda_linear_forward (float *d_y, const float *d_x, const void *d_w,
                                             int type, const float *d_bias, int n_rows,
                                             int n_in, int n_out, int accumulate);
TemperCudaStatus temper_cuda_linear_backward_input (float *d_dx, const float *d_dy,
                                                    const void *d_w, int type, int n_rows,
                                                    int n_in, int n_out);
TemperCudaStatus temper_cuda_attention_forward (float *d_out, float *d_lse, const float *d_q,
                                                const float *d_k, const float *d_v,
                                                const TemperCudaAttention *shape);
TemperCudaStatus temper_cuda_attention_backward (float *d_dq, float *d_dk, float *d_dv,
                                                 const float *d_dout, const float *d_out,
                                                 const float *d_lse, const float *d_q,
                                                 const float *d_k, const float *d_v,
                                                 const TemperCudaAttention *shape);
TemperCudaStatus temper_cuda_lm_head_cross_entropy (float *d_loss, float *d_dx, const float *d_x,
                                                    const void *d_w, int type,
                                                    const int32_t *d_targets, float *d_scratch,
                                                    int n_rows, int n_embd, int n_vocab,
                                                    int chunk_rows, float grad_scale);
TemperCudaStatus temper_cuda_dropout (float *d_out, const float *d_x, int64_t n, float p,
                                      uint64_t key);
/* temper-cuda-family.cu */
TemperCudaStatus temper_cuda_geglu_forward (float *d_out, const float *d_gate,
                                            const float *d_up, int64_t n);
TemperCudaStatus temper_cuda_geglu_backward (float *d_dgate, float *d_dup, const float *d_dout,
                                             const float *d_gate, const float *d_up, int64_t n);
TemperCudaStatus temper_cuda_softcap (float *d_x, int64_t n, float cap);
TemperCudaStatus temper_cuda_rope_table (float *d_x, int n_rows, int n_heads, int head_dim,
                                         int seq_len, int pos_offset, int layout, int n_pairs,
                                         const float *h_inv_freq, float mscale, int inverse);
/* temper-cuda-cross-entropy.cu, Gemma 2's soft-capped form */
TemperCudaStatus temper_cuda_lm_head_cross_entropy_softcap (float *d_loss, float *d_dx,
                                                            const float *d_x, const void *d_w,
                                                            int type, const int32_t *d_targets,
                                                            float *d_scratch, int n_rows,
                                                            int n_embd, int n_vocab,
                                                            int chunk_rows, float grad_scale,
                                                            float cap);
/* temper-cuda-moe.cu */
TemperCudaStatus temper_cuda_moe_forward (float *d_out, const float *d_x, int n_tokens, int n_embd,
                                          const TemperCudaMoe *moe, void *d_scratch);
TemperCudaStatus temper_cuda_moe_backward (float *d_dx, const float *d_dout, const float *d_x,
                                           int n_tokens, int n_embd, const TemperCudaMoe *moe,
                                           void *d_scratch);
