/* SPDX-License-Identifier: MIT */
/* The mixture-of-experts feed-forward (Qwen3-MoE, Mixtral) on the CPU, the
 * reference every other backend is held to: routing per token (softmax of
 * the router logits, the n_used largest, renormalised or not), then expert
 * by expert the tokens routed to it are gathered into one small batch and
 * run through the expert's SwiGLU with the threaded matmul, and their
 * outputs added back, weighted, into each token's row.
 *
 * The backward recomputes the routing and the experts' activations from x
 * (the weights are frozen, so nothing else is needed) and adds into dx both
 * paths: through each chosen expert, and through the router's weights
 * (softmax and renormalisation), the choice of experts held fixed. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

typedef struct {
  int64_t T;
  float  *probs;   /* {n_expert, T}: router logits, then their softmax */
  float  *weight;  /* {n_used, T}: the chosen experts' weights */
  float  *chosen_sum; /* {T}: Σ p of the chosen (the renormaliser) */
  int    *chosen;  /* {n_used, T}: expert ids */
  int    *tokens;  /* {T}: the tokens routed to the expert at hand */
  int    *slots;   /* {T}: and which of their n_used places it holds */
  /* Per-expert batch, up to T rows each. */
  float  *xg, *gate, *up, *act, *oe;
  /* Backward only. */
  float  *g;       /* {n_used, T}: dout · expert output */
  float  *dyg, *dact, *dgate, *dup, *dxg, *dz;
} MoeWork;

static void
reserve (TemperCpuBackend *cpu, const TemperMoe *moe, int64_t T, int64_t E, gboolean backward, MoeWork *w)
{
  int64_t n = moe->n_expert, k = moe->n_used, F = moe->n_ff;
  size_t floats = (size_t) (n * T + 2 * k * T + T + 2 * E * T + 3 * F * T);
  size_t ints = (size_t) (k * T + 2 * T);
  float *p;

  if (backward)
    floats += (size_t) (k * T + 2 * E * T + 3 * F * T + n * T);
  if (floats > cpu->moe_work_len)
    {
      g_free (cpu->moe_work);
      cpu->moe_work = g_new (float, floats);
      cpu->moe_work_len = floats;
    }
  if (ints > cpu->moe_slots_len)
    {
      g_free (cpu->moe_slots);
      cpu->moe_slots = g_new (int, ints);
      cpu->moe_slots_len = ints;
    }
  p = cpu->moe_work;
  w->T = T;
  w->probs = p, p += n * T;
  w->weight = p, p += k * T;
  w->chosen_sum = p, p += T;
  w->xg = p, p += E * T;
  w->oe = p, p += E * T;
  w->gate = p, p += F * T;
  w->up = p, p += F * T;
  w->act = p, p += F * T;
  w->g = p, p += k * T;
  if (backward)
    {
      w->dyg = p, p += E * T;
      w->dxg = p, p += E * T;
      w->dact = p, p += F * T;
      w->dgate = p, p += F * T;
      w->dup = p, p += F * T;
      w->dz = p, p += n * T;
    }
  w->chosen = cpu->moe_slots;
  w->tokens = w->chosen + k * T;
  w->slots = w->tokens + T;
}

/* Router logits, softmax, and the n_used experts of each token. */
static void
route (TemperCpuBackend *cpu, const TemperMoe *moe, const float *x, int64_t E, MoeWork *w)
{
  int n = moe->n_expert, k = moe->n_used;

  temper_cpu_matmul_raw (cpu, w->probs, x, w->T, cpu_data (&moe->router), moe->router.type,
                         E, n, NULL, FALSE);
  for (int64_t t = 0; t < w->T; t++)
    {
      float *p = w->probs + t * n, max = p[0], sum = 0.0f;
      int *chosen = w->chosen + t * k;
      float *weight = w->weight + t * k;
      float chosen_sum = 0.0f;

      for (int e = 1; e < n; e++)
        max = MAX (max, p[e]);
      for (int e = 0; e < n; e++)
        {
          p[e] = expf (p[e] - max);
          sum += p[e];
        }
      for (int e = 0; e < n; e++)
        p[e] /= sum;
      /* The k largest, in order, the lower expert first on a tie. */
      for (int j = 0; j < k; j++)
        {
          int best = -1;

          for (int e = 0; e < n; e++)
            {
              gboolean taken = FALSE;

              for (int i = 0; i < j; i++)
                taken = taken || chosen[i] == e;
              if (!taken && (best < 0 || p[e] > p[best]))
                best = e;
            }
          chosen[j] = best;
          weight[j] = p[best];
          chosen_sum += p[best];
        }
      w->chosen_sum[t] = chosen_sum;
      if (moe->norm)
        for (int j = 0; j < k; j++)
          weight[j] /= chosen_sum;
    }
}

/* The tokens routed to expert @e: their ids in w->tokens and their places
 * among the chosen in w->slots.  Returns how many. */
static int64_t
gather_tokens (const TemperMoe *moe, int e, MoeWork *w)
{
  int64_t m = 0;

  for (int64_t t = 0; t < w->T; t++)
    for (int j = 0; j < moe->n_used; j++)
      if (w->chosen[t * moe->n_used + j] == e)
        {
          w->tokens[m] = (int) t;
          w->slots[m] = (int) (t * moe->n_used + j);
          m++;
        }
  return m;
}

/* Expert @e's SwiGLU on the @m gathered rows of w->xg: w->gate, w->up,
 * w->act, and its output w->oe. */
static void
run_expert (TemperCpuBackend *cpu, const TemperMoe *moe, int e, int64_t m, int64_t E, MoeWork *w)
{
  int64_t F = moe->n_ff;

  temper_cpu_matmul_raw (cpu, w->gate, w->xg, m, cpu_data (&moe->gate[e]), moe->gate[e].type, E, F, NULL, FALSE);
  temper_cpu_matmul_raw (cpu, w->up, w->xg, m, cpu_data (&moe->up[e]), moe->up[e].type, E, F, NULL, FALSE);
  for (int64_t i = 0; i < m * F; i++)
    w->act[i] = w->gate[i] / (1.0f + expf (-w->gate[i])) * w->up[i];
  temper_cpu_matmul_raw (cpu, w->oe, w->act, m, cpu_data (&moe->down[e]), moe->down[e].type, F, E, NULL, FALSE);
}

static void
gather_rows (float *dst, const float *src, const int *tokens, int64_t m, int64_t E)
{
  for (int64_t i = 0; i < m; i++)
    memcpy (dst + i * E, src + (int64_t) tokens[i] * E, (size_t) E * sizeof (float));
}

void
temper_cpu_moe (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x, const TemperMoe *moe)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t E = x->ne[0], T = x->ne[1];
  float *y = cpu_f32 (out);
  const float *xs = cpu_f32 (x);
  MoeWork w;

  reserve (cpu, moe, T, E, FALSE, &w);
  route (cpu, moe, xs, E, &w);
  memset (y, 0, (size_t) (E * T) * sizeof (float));
  for (int e = 0; e < moe->n_expert; e++)
    {
      int64_t m = gather_tokens (moe, e, &w);

      if (m == 0)
        continue;
      gather_rows (w.xg, xs, w.tokens, m, E);
      run_expert (cpu, moe, e, m, E, &w);
      for (int64_t i = 0; i < m; i++)
        cpu->k.axpy (w.weight[w.slots[i]], w.oe + i * E, y + (int64_t) w.tokens[i] * E, E);
    }
}

void
temper_cpu_moe_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                         const TemperBTensor *x, const TemperMoe *moe)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t E = x->ne[0], T = x->ne[1], F = moe->n_ff;
  int n = moe->n_expert, k = moe->n_used;
  const float *xs = cpu_f32 (x), *dy = cpu_f32 (dout);
  float *dxs = cpu_f32 (dx);
  MoeWork w;

  reserve (cpu, moe, T, E, TRUE, &w);
  route (cpu, moe, xs, E, &w);

  /* Through each expert: its input gradient, weighted; and g, the gradient
   * of each chosen expert's weight. */
  for (int e = 0; e < n; e++)
    {
      int64_t m = gather_tokens (moe, e, &w);

      if (m == 0)
        continue;
      gather_rows (w.xg, xs, w.tokens, m, E);
      run_expert (cpu, moe, e, m, E, &w);
      for (int64_t i = 0; i < m; i++)
        {
          const float *dy_t = dy + (int64_t) w.tokens[i] * E;
          float weight = w.weight[w.slots[i]];

          w.g[w.slots[i]] = cpu->k.dot_f32 (dy_t, w.oe + i * E, E);
          for (int64_t j = 0; j < E; j++)
            w.dyg[i * E + j] = weight * dy_t[j];
        }
      memset (w.dact, 0, (size_t) (m * F) * sizeof (float));
      temper_cpu_matmul_backward_raw (cpu, w.dact, w.dyg, m, cpu_data (&moe->down[e]), moe->down[e].type, F, E);
      for (int64_t i = 0; i < m * F; i++)
        {
          float g = w.gate[i], s = 1.0f / (1.0f + expf (-g));

          /* silu'(g) = s·(1 + g·(1 − s)) */
          w.dgate[i] = w.dact[i] * w.up[i] * s * (1.0f + g * (1.0f - s));
          w.dup[i] = w.dact[i] * g * s;
        }
      memset (w.dxg, 0, (size_t) (m * E) * sizeof (float));
      temper_cpu_matmul_backward_raw (cpu, w.dxg, w.dgate, m, cpu_data (&moe->gate[e]), moe->gate[e].type, E, F);
      temper_cpu_matmul_backward_raw (cpu, w.dxg, w.dup, m, cpu_data (&moe->up[e]), moe->up[e].type, E, F);
      for (int64_t i = 0; i < m; i++)
        cpu->k.axpy (1.0f, w.dxg + i * E, dxs + (int64_t) w.tokens[i] * E, E);
    }

  /* Through the router: weight_j = p_j (÷ P = Σ chosen p when norm), then
   * the softmax: dz = p ⊙ (dp − Σ p·dp). */
  for (int64_t t = 0; t < T; t++)
    {
      const float *p = w.probs + t * n, *g = w.g + t * k, *weight = w.weight + t * k;
      const int *chosen = w.chosen + t * k;
      float *dz = w.dz + t * n, weighted_g = 0.0f, p_dp = 0.0f;

      memset (dz, 0, (size_t) n * sizeof (float));
      if (moe->norm)
        for (int j = 0; j < k; j++)
          weighted_g += weight[j] * g[j];
      for (int j = 0; j < k; j++)
        dz[chosen[j]] = moe->norm ? (g[j] - weighted_g) / w.chosen_sum[t] : g[j];
      for (int e = 0; e < n; e++)
        p_dp += p[e] * dz[e];
      for (int e = 0; e < n; e++)
        dz[e] = p[e] * (dz[e] - p_dp);
    }
  temper_cpu_matmul_backward_raw (cpu, dxs, w.dz, T, cpu_data (&moe->router), moe->router.type, E, n);
}
