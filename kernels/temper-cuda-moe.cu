/* SPDX-License-Identifier: MIT */
// temper-cuda-moe.cu — the mixture-of-experts feed-forward (Qwen3-MoE,
// Mixtral), held to engine/cpu/temper-cpu-moe.c and shaped as the Vulkan
// shaders are (shaders/moe-*.comp): the routing and each expert's list of
// the tokens that chose it stay in scratch memory on the GPU, and each
// expert's products read their rows and their count from there, launched
// for every token and returning at once past the list's end, so the host
// never waits.  Per expert: gate and up over its gathered rows, then down
// of silu(gate) ⊙ up added into each token's row, weighted.
//
// The backward recomputes the routing and gate and up from x (every weight
// is frozen), takes dout · down per gathered row, turns it into the
// gradients of gate and up and of each routing weight (g), adds their
// products by gate and up into dx, and last the router's path: dz from g
// through the renormalisation and the softmax, dx += dz · router.
#include "temper-cuda-common.cuh"
#include "temper-cuda-ops.h"
#include "temper-cuda-quant.cuh"

#define TILE_M 64
#define TILE_N 64
#define TILE_K 32
#define THREADS 256
#define ROUTE_THREADS 64
#define GRAD_THREADS 64

enum { A_TOKEN_ROWS, A_GATHERED, A_ACTIVATION };
enum { C_GATHERED, C_ADD_TO_TOKEN };

typedef struct {
  uint32_t *s;      // the scratch words
  TemperCudaMoeLayout at;
  int T, n_expert, n_used, n_ff, norm;
} MoeScratch;

static __device__ __forceinline__ float
word_float (const uint32_t *s, size_t at)
{
  return __uint_as_float (s[at]);
}

// One invocation per token: softmax of its router logits (in place), its
// n_used largest (the lower expert first on a tie), their weights (÷ their
// sum when norm) and that sum.
__global__ static void
route_kernel (MoeScratch m)
{
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t *s = m.s;
  size_t p, at;
  float top, sum = 0.0f, chosen_sum = 0.0f;

  if (t >= m.T)
    return;
  p = m.at.probs + (size_t) t * m.n_expert;
  at = (size_t) t * m.n_used;
  top = word_float (s, p);
  for (int e = 1; e < m.n_expert; e++)
    top = fmaxf (top, word_float (s, p + e));
  for (int e = 0; e < m.n_expert; e++)
    {
      float v = expf (word_float (s, p + e) - top);
      s[p + e] = __float_as_uint (v);
      sum += v;
    }
  for (int e = 0; e < m.n_expert; e++)
    s[p + e] = __float_as_uint (word_float (s, p + e) / sum);
  for (int j = 0; j < m.n_used; j++)
    {
      int best = -1;

      for (int e = 0; e < m.n_expert; e++)
        {
          bool taken = false;

          for (int i = 0; i < j; i++)
            taken = taken || (int) s[m.at.chosen + at + i] == e;
          if (!taken && (best < 0 || word_float (s, p + e) > word_float (s, p + best)))
            best = e;
        }
      s[m.at.chosen + at + j] = (uint32_t) best;
      s[m.at.weight + at + j] = s[p + best];
      chosen_sum += word_float (s, p + best);
    }
  s[m.at.chosen_sum + t] = __float_as_uint (chosen_sum);
  if (m.norm)
    for (int j = 0; j < m.n_used; j++)
      s[m.at.weight + at + j] = __float_as_uint (word_float (s, m.at.weight + at + j) / chosen_sum);
}

// One invocation per expert: the places (t·n_used + j) that chose it, in
// token order, and how many.
__global__ static void
lists_kernel (MoeScratch m)
{
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t count = 0;

  if (e >= m.n_expert)
    return;
  for (int t = 0; t < m.T; t++)
    for (int j = 0; j < m.n_used; j++)
      if ((int) m.s[m.at.chosen + (size_t) t * m.n_used + j] == e)
        m.s[m.at.lists + (size_t) e * m.T + count++] = (uint32_t) (t * m.n_used + j);
  m.s[m.at.counts + e] = count;
}

// One invocation per token: dz, the gradient of its router logits, from g.
__global__ static void
router_backward_kernel (MoeScratch m)
{
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t *s = m.s;
  size_t p, dz, at;
  float weighted_g = 0.0f, p_dp = 0.0f, chosen_sum;

  if (t >= m.T)
    return;
  p = m.at.probs + (size_t) t * m.n_expert;
  dz = m.at.dz + (size_t) t * m.n_expert;
  at = (size_t) t * m.n_used;
  chosen_sum = word_float (s, m.at.chosen_sum + t);
  for (int e = 0; e < m.n_expert; e++)
    s[dz + e] = __float_as_uint (0.0f);
  if (m.norm)
    for (int j = 0; j < m.n_used; j++)
      weighted_g += word_float (s, m.at.weight + at + j) * word_float (s, m.at.g + at + j);
  for (int j = 0; j < m.n_used; j++)
    {
      float gj = word_float (s, m.at.g + at + j);

      s[dz + s[m.at.chosen + at + j]] = __float_as_uint (m.norm ? (gj - weighted_g) / chosen_sum : gj);
    }
  for (int e = 0; e < m.n_expert; e++)
    p_dp += word_float (s, p + e) * word_float (s, dz + e);
  for (int e = 0; e < m.n_expert; e++)
    s[dz + e] = __float_as_uint (word_float (s, p + e) * (word_float (s, dz + e) - p_dp));
}

// One block per gathered row m of expert @e: in place, gate ← w·da ⊙ up ⊙
// silu'(gate) and up ← w·da ⊙ silu(gate); g[place] = da · silu(gate) ⊙ up.
__global__ static void
expert_grad_kernel (MoeScratch m, int e)
{
  __shared__ float scratch[32];
  const int row = blockIdx.x;
  uint32_t *s = m.s;
  uint32_t place;
  float w, partial = 0.0f, total;

  if ((uint32_t) row >= s[m.at.counts + e])
    return;   // the whole block
  place = s[m.at.lists + (size_t) e * m.T + row];
  w = word_float (s, m.at.weight + place);
  for (int f = threadIdx.x; f < m.n_ff; f += blockDim.x)
    {
      size_t at = (size_t) row * m.n_ff + f;
      float g = word_float (s, m.at.gate + at), u = word_float (s, m.at.up + at);
      float da = word_float (s, m.at.da + at);
      float sig = 1.0f / (1.0f + expf (-g));

      partial += da * g * sig * u;
      s[m.at.gate + at] = __float_as_uint (w * da * u * sig * (1.0f + g * (1.0f - sig)));
      s[m.at.up + at] = __float_as_uint (w * da * g * sig);
    }
  total = temper_cuda_block_sum (partial, scratch);
  if (threadIdx.x == 0)
    s[m.at.g + place] = __float_as_uint (total);
}

typedef struct {
  const float *a;        // A_TOKEN_ROWS: a full (T, K) tensor; else scratch rows
  const float *a2;       // A_ACTIVATION: the up rows (a holds gate)
  int a_mode;
  const void *w;
  int type;
  int w_row_length;      // elements per stored row of w
  int n_out, n_in;
  float *c;
  int c_mode;
  bool weighted;
} ExpertProduct;

// C[m, n] = Σ_k A[m, k] · B[n, k] over expert @e's gathered rows: B is w
// (n_out, n_in), or read transposed (TRANSPOSED: w is (n_in, n_out)).  The
// tiling is temper-cuda-linear.cu's.
template <bool TRANSPOSED>
__global__ static void
expert_product_kernel (MoeScratch m, int e, ExpertProduct p)
{
  __shared__ float a_tile[TILE_K][TILE_M + 1];
  __shared__ float w_tile[TILE_K][TILE_N + 1];
  const int tid = threadIdx.x;
  const int tx = tid % 16;
  const int ty = tid / 16;
  const int row0 = blockIdx.y * TILE_M;
  const int col0 = blockIdx.x * TILE_N;
  const uint32_t *list = m.s + m.at.lists + (size_t) e * m.T;
  const int count = (int) m.s[m.at.counts + e];
  float acc[4][4] = { { 0 } };

  if (row0 >= count)
    return;   // the whole block
  for (int k0 = 0; k0 < p.n_in; k0 += TILE_K)
    {
      for (int idx = tid; idx < TILE_M * TILE_K; idx += THREADS)
        {
          const int i = idx / TILE_K, kk = idx % TILE_K;
          const int row = row0 + i, kg = k0 + kk;
          float v = 0.0f;

          if (row < count && kg < p.n_in)
            {
              if (p.a_mode == A_TOKEN_ROWS)
                v = p.a[(int64_t) (list[row] / m.n_used) * p.n_in + kg];
              else if (p.a_mode == A_GATHERED)
                v = p.a[(int64_t) row * p.n_in + kg];
              else
                {
                  float g = p.a[(int64_t) row * p.n_in + kg];

                  v = g / (1.0f + expf (-g)) * p.a2[(int64_t) row * p.n_in + kg];
                }
            }
          a_tile[kk][i] = v;
        }
      for (int idx = tid; idx < TILE_N * TILE_K; idx += THREADS)
        {
          const int n = TRANSPOSED ? idx % TILE_N : idx / TILE_K;
          const int kk = TRANSPOSED ? idx / TILE_N : idx % TILE_K;
          const int col = col0 + n, kg = k0 + kk;
          const int64_t element = TRANSPOSED ? (int64_t) kg * p.w_row_length + col
                                             : (int64_t) col * p.w_row_length + kg;

          w_tile[kk][n] = col < p.n_out && kg < p.n_in ? temper_cuda_load_element (p.w, p.type, element)
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
    {
      const int row = row0 + ty * 4 + i;
      uint32_t place;
      float scale = 1.0f;

      if (row >= count)
        break;
      place = list[row];
      if (p.c_mode == C_ADD_TO_TOKEN && p.weighted)
        scale = word_float (m.s, m.at.weight + place);
      for (int j = 0; j < 4; j++)
        {
          const int col = col0 + tx * 4 + j;

          if (col >= p.n_out)
            continue;
          if (p.c_mode == C_GATHERED)
            p.c[(int64_t) row * p.n_out + col] = acc[i][j];
          else
            p.c[(int64_t) (place / m.n_used) * p.n_out + col] += scale * acc[i][j];
        }
    }
}

static TemperCudaStatus
expert_product (const MoeScratch *m, int e, const ExpertProduct *p, bool transposed)
{
  dim3 grid ((p->n_out + TILE_N - 1) / TILE_N, (m->T + TILE_M - 1) / TILE_M);

  if (transposed)
    expert_product_kernel<true><<<grid, THREADS, 0, cudaStreamPerThread>>> (*m, e, *p);
  else
    expert_product_kernel<false><<<grid, THREADS, 0, cudaStreamPerThread>>> (*m, e, *p);
  return temper_cuda_launched ("running an expert of a mixture of experts");
}

static TemperCudaStatus
check (const TemperCudaMoe *moe, int n_tokens, int n_embd)
{
  const int types[4] = { moe->router_type, moe->gate_type, moe->up_type, moe->down_type };

  for (int i = 0; i < 4; i++)
    if (!temper_cuda_type_supported (types[i]))
      return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                               "experts of ggml type %d are not supported by the CUDA backend", types[i]);
  if (n_tokens < 0 || n_embd <= 0 || moe->n_expert <= 0 || moe->n_used <= 0
      || moe->n_used > moe->n_expert || moe->n_ff <= 0
      || n_embd % temper_cuda_type_block (moe->gate_type) != 0
      || n_embd % temper_cuda_type_block (moe->up_type) != 0
      || moe->n_ff % temper_cuda_type_block (moe->down_type) != 0
      || (n_tokens + TILE_M - 1) / TILE_M > 65535)
    return temper_cuda_fail (TEMPER_CUDA_INVALID_ARGUMENT,
                             "a mixture of %d experts (%d used, %d wide) over %d tokens of %d",
                             moe->n_expert, moe->n_used, moe->n_ff, n_tokens, n_embd);
  return TEMPER_CUDA_OK;
}

// The router's logits, the routing, and each expert's list.
static TemperCudaStatus
route (MoeScratch *m, const float *d_x, int n_tokens, int n_embd, const TemperCudaMoe *moe,
       void *d_scratch)
{
  TemperCudaStatus status = check (moe, n_tokens, n_embd);

  m->s = (uint32_t *) d_scratch;
  m->at = temper_cuda_moe_layout (n_tokens, moe);
  m->T = n_tokens;
  m->n_expert = moe->n_expert;
  m->n_used = moe->n_used;
  m->n_ff = moe->n_ff;
  m->norm = moe->norm;
  if (status != TEMPER_CUDA_OK || n_tokens == 0)
    return status;
  status = temper_cuda_linear_forward ((float *) (m->s + m->at.probs), d_x, moe->d_router,
                                       moe->router_type, NULL, n_tokens, n_embd, moe->n_expert, 0);
  if (status != TEMPER_CUDA_OK)
    return status;
  route_kernel<<<(n_tokens + ROUTE_THREADS - 1) / ROUTE_THREADS, ROUTE_THREADS, 0, cudaStreamPerThread>>> (*m);
  lists_kernel<<<(moe->n_expert + ROUTE_THREADS - 1) / ROUTE_THREADS, ROUTE_THREADS, 0,
                 cudaStreamPerThread>>> (*m);
  return temper_cuda_launched ("routing tokens to experts");
}

// gate·x and up·x of expert @e's rows, into the gate and up regions.
static TemperCudaStatus
gate_up (const MoeScratch *m, int e, const float *d_x, int n_embd, const TemperCudaMoe *moe)
{
  ExpertProduct p = { d_x, NULL, A_TOKEN_ROWS, moe->h_gate[e], moe->gate_type, n_embd,
                      moe->n_ff, n_embd, (float *) (m->s + m->at.gate), C_GATHERED, false };
  TemperCudaStatus status = expert_product (m, e, &p, false);

  if (status != TEMPER_CUDA_OK)
    return status;
  p.w = moe->h_up[e];
  p.type = moe->up_type;
  p.c = (float *) (m->s + m->at.up);
  return expert_product (m, e, &p, false);
}

TemperCudaStatus
temper_cuda_moe_forward (float *d_out, const float *d_x, int n_tokens, int n_embd,
                         const TemperCudaMoe *moe, void *d_scratch)
{
  MoeScratch m;
  TemperCudaStatus status = route (&m, d_x, n_tokens, n_embd, moe, d_scratch);

  if (status != TEMPER_CUDA_OK || n_tokens == 0)
    return status;
  status = temper_cuda_status (cudaMemsetAsync (d_out, 0, (size_t) n_tokens * n_embd * sizeof (float),
                                                cudaStreamPerThread),
                               "clearing GPU memory");
  for (int e = 0; e < moe->n_expert && status == TEMPER_CUDA_OK; e++)
    {
      ExpertProduct down = { (const float *) (m.s + m.at.gate), (const float *) (m.s + m.at.up),
                             A_ACTIVATION, moe->h_down[e], moe->down_type, moe->n_ff,
                             n_embd, moe->n_ff, d_out, C_ADD_TO_TOKEN, true };

      status = gate_up (&m, e, d_x, n_embd, moe);
      if (status == TEMPER_CUDA_OK)
        status = expert_product (&m, e, &down, false);
    }
  return status;
}

TemperCudaStatus
temper_cuda_moe_backward (float *d_dx, const float *d_dout, const float *d_x, int n_tokens,
                          int n_embd, const TemperCudaMoe *moe, void *d_scratch)
{
  MoeScratch m;
  TemperCudaStatus status = route (&m, d_x, n_tokens, n_embd, moe, d_scratch);

  if (status != TEMPER_CUDA_OK || n_tokens == 0)
    return status;
  for (int e = 0; e < moe->n_expert && status == TEMPER_CUDA_OK; e++)
    {
      // da = dout · down over the expert's rows (down (n_embd, n_ff) read transposed).
      ExpertProduct da = { d_dout, NULL, A_TOKEN_ROWS, moe->h_down[e], moe->down_type, moe->n_ff,
                           moe->n_ff, n_embd, (float *) (m.s + m.at.da), C_GATHERED, false };
      // dx += dgate · gate + dup · up (both (n_ff, n_embd) read transposed).
      ExpertProduct back = { (const float *) (m.s + m.at.gate), NULL, A_GATHERED, moe->h_gate[e],
                             moe->gate_type, n_embd, n_embd, moe->n_ff, d_dx, C_ADD_TO_TOKEN, false };

      status = gate_up (&m, e, d_x, n_embd, moe);
      if (status == TEMPER_CUDA_OK)
        status = expert_product (&m, e, &da, true);
      if (status == TEMPER_CUDA_OK)
        {
          expert_grad_kernel<<<n_tokens, GRAD_THREADS, 0, cudaStreamPerThread>>> (m, e);
          status = temper_cuda_launched ("computing an expert's gradients");
        }
      if (status == TEMPER_CUDA_OK)
        status = expert_product (&m, e, &back, true);
      if (status == TEMPER_CUDA_OK)
        {
          back.a = (const float *) (m.s + m.at.up);
          back.w = moe->h_up[e];
          back.type = moe->up_type;
          status = expert_product (&m, e, &back, true);
        }
    }
  if (status != TEMPER_CUDA_OK)
    return status;
  router_backward_kernel<<<(n_tokens + ROUTE_THREADS - 1) / ROUTE_THREADS, ROUTE_THREADS, 0,
                           cudaStreamPerThread>>> (m);
  status = temper_cuda_launched ("computing the router's gradients");
  if (status != TEMPER_CUDA_OK)
    return status;
  return temper_cuda_linear_backward_input (d_dx, (const float *) (m.s + m.at.dz), moe->d_router,
                                            moe->router_type, n_tokens, n_embd, moe->n_expert);
}
