/* SPDX-License-Identifier: MIT */
// temper-cuda-attention.cu — causal grouped-query attention, forward and
// backward.  One warp per (query row, head) — or per (key row, kv head) for
// the key and value gradients — with each lane holding head_dim/32 of the
// dimensions.  Scores are never stored: the forward uses an online softmax
// and saves the log-sum-exp; the backward rebuilds the probabilities from
// it, as the CPU reference does.  Every gradient is summed by the one warp
// that owns it, so there are no atomics and results repeat exactly.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"

#define MAX_DIMS_PER_LANE 8   // head_dim ≤ 256
#define WARPS_PER_BLOCK 4

typedef struct {
  int64_t q_stride;    // floats from one query row to the next
  int64_t kv_stride;   // floats from one key row to the next
  int     group;       // query heads per kv head
} Strides;

static Strides
strides_of (const TemperCudaAttention *p)
{
  Strides s = { (int64_t) p->n_head * p->head_dim, (int64_t) p->n_head_kv * p->head_dim,
                p->n_head / p->n_head_kv };
  return s;
}

static __device__ __forceinline__ void
load_lane (float *dst, const float *src, int head_dim, int lane)
{
  for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
    {
      const int d = lane + 32 * t;
      dst[t] = d < head_dim ? src[d] : 0.0f;
    }
}

// Dot product of a lane-held vector with a row in memory, over the warp.
static __device__ __forceinline__ float
warp_dot (const float *held, const float *row, int head_dim, int lane)
{
  float sum = 0.0f;

  for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
    {
      const int d = lane + 32 * t;
      if (d < head_dim)
        sum += held[t] * row[d];
    }
  return temper_cuda_warp_sum (sum);
}

// Dot product of two rows in memory, over the warp.
static __device__ __forceinline__ float
warp_dot_rows (const float *a, const float *b, int head_dim, int lane)
{
  float sum = 0.0f;

  for (int d = lane; d < head_dim; d += 32)
    sum += a[d] * b[d];
  return temper_cuda_warp_sum (sum);
}

// The scaled score, soft-capped (Gemma 2) when p.softcap > 0.
static __device__ __forceinline__ float
capped_score (float raw, const TemperCudaAttention &p)
{
  const float s = p.scale * raw;

  return p.softcap > 0.0f ? p.softcap * tanhf (s / p.softcap) : s;
}

// ∂capped/∂s: 1 − (capped/cap)², or 1 without a cap.
static __device__ __forceinline__ float
cap_slope (float capped, const TemperCudaAttention &p)
{
  const float t = p.softcap > 0.0f ? capped / p.softcap : 0.0f;

  return 1.0f - t * t;
}

// The first key query position @pos sees: pos − window + 1 with a window.
static __device__ __forceinline__ int
first_key (int pos, const TemperCudaAttention &p)
{
  return p.window > 0 && pos - p.window + 1 > 0 ? pos - p.window + 1 : 0;
}

// out, q (n_seq·n_query, n_head·hd); k, v (n_seq·n_key, n_head_kv·hd);
// lse (n_seq·n_query, n_head) or NULL.
__global__ static void
attention_forward_kernel (float *out, float *lse, const float *q, const float *k, const float *v,
                          TemperCudaAttention p, Strides st)
{
  const int64_t item = (blockIdx.x * (int64_t) blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int hd = p.head_dim;
  float qr[MAX_DIMS_PER_LANE], acc[MAX_DIMS_PER_LANE] = { 0 };
  float m = -INFINITY, l = 0.0f;

  if (item >= (int64_t) p.n_seq * p.n_query * p.n_head)
    return;   // the whole warp leaves together
  const int h = (int) (item % p.n_head);
  const int64_t row = item / p.n_head;
  const int seq = (int) (row / p.n_query);
  const int i = (int) (row % p.n_query);
  const int n_visible = p.q_offset + i + 1;
  const float *kbase = k + (int64_t) seq * p.n_key * st.kv_stride + (int64_t) (h / st.group) * hd;
  const float *vbase = v + (int64_t) seq * p.n_key * st.kv_stride + (int64_t) (h / st.group) * hd;

  load_lane (qr, q + row * st.q_stride + (int64_t) h * hd, hd, lane);
  for (int j = first_key (n_visible - 1, p); j < n_visible; j++)
    {
      const float score = capped_score (warp_dot (qr, kbase + j * st.kv_stride, hd, lane), p);
      const float new_m = fmaxf (m, score);
      const float correction = expf (m - new_m);
      const float weight = expf (score - new_m);
      const float *vj = vbase + j * st.kv_stride;

      l = l * correction + weight;
      for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
        {
          const int d = lane + 32 * t;
          acc[t] = acc[t] * correction + (d < hd ? weight * vj[d] : 0.0f);
        }
      m = new_m;
    }
  for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
    {
      const int d = lane + 32 * t;
      if (d < hd)
        out[row * st.q_stride + (int64_t) h * hd + d] = acc[t] / l;
    }
  if (lse != NULL && lane == 0)
    lse[row * p.n_head + h] = m + logf (l);
}

// dq += Σ_j ds_ij k_j, with p_ij = exp(s_ij − lse_i), s_ij the (capped)
// score, ds_ij = p_ij (dout_i·v_j − dout_i·out_i) · ∂s_ij/∂(q_i·k_j).
__global__ static void
attention_backward_query_kernel (float *dq, const float *dout, const float *out, const float *lse,
                                 const float *q, const float *k, const float *v,
                                 TemperCudaAttention p, Strides st)
{
  const int64_t item = (blockIdx.x * (int64_t) blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int hd = p.head_dim;
  float qr[MAX_DIMS_PER_LANE], dor[MAX_DIMS_PER_LANE], acc[MAX_DIMS_PER_LANE] = { 0 };

  if (item >= (int64_t) p.n_seq * p.n_query * p.n_head)
    return;
  const int h = (int) (item % p.n_head);
  const int64_t row = item / p.n_head;
  const int seq = (int) (row / p.n_query);
  const int i = (int) (row % p.n_query);
  const int n_visible = p.q_offset + i + 1;
  const int64_t q_off = row * st.q_stride + (int64_t) h * hd;
  const float *kbase = k + (int64_t) seq * p.n_key * st.kv_stride + (int64_t) (h / st.group) * hd;
  const float *vbase = v + (int64_t) seq * p.n_key * st.kv_stride + (int64_t) (h / st.group) * hd;
  const float row_lse = lse[row * p.n_head + h];

  load_lane (qr, q + q_off, hd, lane);
  load_lane (dor, dout + q_off, hd, lane);
  const float D = warp_dot (dor, out + q_off, hd, lane);
  for (int j = first_key (n_visible - 1, p); j < n_visible; j++)
    {
      const float *kj = kbase + j * st.kv_stride;
      const float score = capped_score (warp_dot (qr, kj, hd, lane), p);
      const float prob = expf (score - row_lse);
      const float ds = prob * (warp_dot (dor, vbase + j * st.kv_stride, hd, lane) - D) * p.scale
                       * cap_slope (score, p);

      for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
        {
          const int d = lane + 32 * t;
          if (d < hd)
            acc[t] += ds * kj[d];
        }
    }
  for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
    {
      const int d = lane + 32 * t;
      if (d < hd)
        dq[q_off + d] += acc[t];
    }
}

// dk_j += Σ ds_ij q_i and dv_j += Σ p_ij dout_i over every query head of
// the group and every query row that sees key j (with a window, the rows
// up to position j + window − 1).
__global__ static void
attention_backward_key_kernel (float *dk, float *dv, const float *dout, const float *out,
                               const float *lse, const float *q, const float *k, const float *v,
                               TemperCudaAttention p, Strides st)
{
  const int64_t item = (blockIdx.x * (int64_t) blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int hd = p.head_dim;
  float kr[MAX_DIMS_PER_LANE], vr[MAX_DIMS_PER_LANE];
  float dk_acc[MAX_DIMS_PER_LANE] = { 0 }, dv_acc[MAX_DIMS_PER_LANE] = { 0 };

  if (item >= (int64_t) p.n_seq * p.n_key * p.n_head_kv)
    return;
  const int kvh = (int) (item % p.n_head_kv);
  const int64_t key_row = item / p.n_head_kv;       // seq · n_key + j
  const int seq = (int) (key_row / p.n_key);
  const int j = (int) (key_row % p.n_key);
  const int64_t kv_off = key_row * st.kv_stride + (int64_t) kvh * hd;
  const int first_query = j > p.q_offset ? j - p.q_offset : 0;
  const int end_query = p.window > 0 && j - p.q_offset + p.window < p.n_query
                        ? j - p.q_offset + p.window : p.n_query;

  load_lane (kr, k + kv_off, hd, lane);
  load_lane (vr, v + kv_off, hd, lane);
  for (int h = kvh * st.group; h < (kvh + 1) * st.group; h++)
    for (int i = first_query; i < end_query; i++)
      {
        const int64_t row = (int64_t) seq * p.n_query + i;
        const int64_t q_off = row * st.q_stride + (int64_t) h * hd;
        const float *qi = q + q_off;
        const float *doi = dout + q_off;
        const float D = warp_dot_rows (doi, out + q_off, hd, lane);
        const float score = capped_score (warp_dot (kr, qi, hd, lane), p);
        const float prob = expf (score - lse[row * p.n_head + h]);
        const float ds = prob * (warp_dot (vr, doi, hd, lane) - D) * p.scale * cap_slope (score, p);

        for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
          {
            const int d = lane + 32 * t;
            if (d < hd)
              {
                dk_acc[t] += ds * qi[d];
                dv_acc[t] += prob * doi[d];
              }
          }
      }
  for (int t = 0; t < MAX_DIMS_PER_LANE; t++)
    {
      const int d = lane + 32 * t;
      if (d < hd)
        {
          dk[kv_off + d] += dk_acc[t];
          dv[kv_off + d] += dv_acc[t];
        }
    }
}

static TemperCudaStatus
check_shape (const TemperCudaAttention *p)
{
  if (p->head_dim <= 0 || p->head_dim > 32 * MAX_DIMS_PER_LANE || p->n_head <= 0 ||
      p->n_head_kv <= 0 || p->n_head % p->n_head_kv != 0 || p->n_seq < 0 || p->n_query < 0 ||
      p->q_offset < 0 || p->q_offset + p->n_query > p->n_key)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "attention over %d heads (%d key/value heads) of %d values, "
                             "%d queries after %d of %d keys",
                             p->n_head, p->n_head_kv, p->head_dim, p->n_query, p->q_offset,
                             p->n_key);
  return TEMPER_CUDA_OK;
}

static unsigned int
warp_blocks (int64_t n_items)
{
  return (unsigned int) ((n_items + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
}

TemperCudaStatus
temper_cuda_attention_forward (float *d_out, float *d_lse, const float *d_q, const float *d_k,
                               const float *d_v, const TemperCudaAttention *shape)
{
  TemperCudaStatus status = check_shape (shape);
  const int64_t n_items = (int64_t) shape->n_seq * shape->n_query * shape->n_head;

  if (status != TEMPER_CUDA_OK || n_items == 0)
    return status;
  attention_forward_kernel<<<warp_blocks (n_items), 32 * WARPS_PER_BLOCK, 0,
                             cudaStreamPerThread>>> (d_out, d_lse, d_q, d_k, d_v, *shape,
                                                     strides_of (shape));
  return temper_cuda_launched ("computing attention");
}

TemperCudaStatus
temper_cuda_attention_backward (float *d_dq, float *d_dk, float *d_dv, const float *d_dout,
                                const float *d_out, const float *d_lse, const float *d_q,
                                const float *d_k, const float *d_v,
                                const TemperCudaAttention *shape)
{
  TemperCudaStatus status = check_shape (shape);
  const int64_t n_queries = (int64_t) shape->n_seq * shape->n_query * shape->n_head;
  const int64_t n_keys = (int64_t) shape->n_seq * shape->n_key * shape->n_head_kv;

  if (status != TEMPER_CUDA_OK || n_queries == 0)
    return status;
  attention_backward_query_kernel<<<warp_blocks (n_queries), 32 * WARPS_PER_BLOCK, 0,
                                    cudaStreamPerThread>>> (d_dq, d_dout, d_out, d_lse, d_q, d_k,
                                                            d_v, *shape, strides_of (shape));
  status = temper_cuda_launched ("computing attention gradients");
  if (status != TEMPER_CUDA_OK)
    return status;
  attention_backward_key_kernel<<<warp_blocks (n_keys), 32 * WARPS_PER_BLOCK, 0,
                                  cudaStreamPerThread>>> (d_dk, d_dv, d_dout, d_out, d_lse, d_q,
                                                          d_k, d_v, *shape, strides_of (shape));
  return temper_cuda_launched ("computing attention gradients");
}
