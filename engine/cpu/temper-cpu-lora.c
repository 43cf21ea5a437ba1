/* SPDX-License-Identifier: MIT */
/* lora_b_backward: LoRA's two products that read a target's output
 * gradient dy, dB += s·dyᵀ·h and dhᵀ = s·Bᵀ·dyᵀ, in one pass over dy.
 *
 * As two gemm ops each streams dy (T × out floats, 2.4–6 MB on the demo
 * model) from memory, where it no longer fits a core's cache.  Here each
 * thread takes its own tokens, LORA_TOKENS at a time: dh of those tokens
 * reads their rows of dy where they lie (dh[t][k] = s·Σₒ dy[t][o]·B[o][k],
 * one register tile wide at rank 16), and their share of dB reads the same
 * rows again from L2.  dB sums over all tokens: the first thread adds into
 * dB itself, the others into their own copy, which a second pass adds in. */
#include "config.h"

#include <string.h>

#include "temper-cpu-private.h"

/* Tokens of dy per step: 96 rows of the demo's widest output (1536) are
 * 576 KiB, at home in L2 between the two products; a multiple of the
 * register tile's 12 rows. */
#define LORA_TOKENS 96

typedef struct {
  TemperCpuBackend *cpu;
  float *gb, *dhT;
  const float *dy, *hT, *b;
  int64_t T, r, out;
  float s;
  int nth;
  size_t gemm_floats;   /* the GEMM's work memory, then a thread's dB copy */
} LoraBWork;

static void
lora_b_task (void *data, int ith, int nth)
{
  LoraBWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  float *work = temper_cpu_scratch_for (m->cpu, ith);
  float *gb = ith == 0 ? m->gb : work + m->gemm_floats;
  gint64 t0, t1;

  if (ith != 0)
    memset (gb, 0, sizeof (float) * (size_t) (m->r * m->out));
  temper_cpu_split_aligned (m->T, TEMPER_CPU_GEMM_MR, ith, nth, &t0, &t1);
  for (gint64 t = t0; t < t1; t += LORA_TOKENS)
    {
      int64_t n = MIN (LORA_TOKENS, t1 - t);
      const float *dy = m->dy + t * m->out;

      /* dh[t][k] into dhᵀ[k][t]: op(A) = dy rows in place, op(B)[o][k] = B[o][k]. */
      for (int64_t kk = 0; kk < m->r; kk++)
        memset (m->dhT + kk * m->T + t, 0, sizeof (float) * (size_t) n);
      temper_cpu_sgemm_strided (k, work, n, m->r, m->out, m->s, dy, m->out, 1, m->b, m->r, 1,
                                m->dhT + t, 1, m->T);
      /* dB[o][k] += s·Σₜ dy[t][o]·hᵀ[k][t]. */
      temper_cpu_sgemm (k, work, m->out, m->r, n, m->s, dy, 1, m->out, m->hT + t, 1, m->T,
                        gb, m->r);
    }
}

/* dB += the other threads' copies, each thread its own rows of dB. */
static void
lora_b_sum_task (void *data, int ith, int nth)
{
  LoraBWork *m = data;
  gint64 i0, i1;

  temper_cpu_split_aligned (m->r * m->out, 16, ith, nth, &i0, &i1);
  for (int j = 1; j < m->nth; j++)
    {
      const float *part = temper_cpu_scratch_for (m->cpu, j) + m->gemm_floats;

      for (gint64 i = i0; i < i1; i++)
        m->gb[i] += part[i];
    }
}

void
temper_cpu_lora_b_backward (TemperBackend *b, const TemperBTensor *gb, const TemperBTensor *dhT,
                            const TemperBTensor *dy, const TemperBTensor *hT,
                            const TemperBTensor *lora_b, float s)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  LoraBWork m = {
    .cpu = cpu, .gb = cpu_f32 (gb), .dhT = cpu_f32 (dhT), .dy = cpu_f32 (dy), .hT = cpu_f32 (hT),
    .b = cpu_f32 (lora_b), .T = dy->ne[1], .r = lora_b->ne[0], .out = lora_b->ne[1], .s = s,
    .nth = temper_cpu_pool_get_n_threads (cpu->pool), .gemm_floats = TEMPER_CPU_GEMM_WORK,
  };

  g_assert (dy->ne[0] == m.out && hT->ne[0] == m.T && hT->ne[1] == m.r);
  g_assert (dhT->ne[0] == m.T && dhT->ne[1] == m.r && gb->ne[0] == m.r && gb->ne[1] == m.out);
  temper_cpu_reserve_scratch (cpu, m.gemm_floats + (size_t) (m.r * m.out));
  temper_cpu_pool_run (cpu->pool, lora_b_task, &m);
  if (m.nth > 1)
    temper_cpu_pool_run (cpu->pool, lora_b_sum_task, &m);
}
