/* SPDX-License-Identifier: MIT */
/* Frozen-weight products in bfloat16: dx += dy·W (training's fast mode:
 * the input gradients) and y = x·Wᵀ (the lm_head in training's fast mode,
 * generation's prompts), with x (dy) and W rounded to bfloat16 and fp32
 * sums, on AMX tiles or AVX512-BF16 (temper-cpu-bf16-gemm.h).  Training's
 * layer forward on AMX (k.bf16_forward_split) splits both operands into
 * bfloat16 and remainder and sums three products: as accurate as fp32 for
 * training's purpose (about 4e-6 off), at well under fp32's cost (the
 * tiles run three times plain rounding's products, the packing handles
 * twice the values).
 *
 * The activations are rounded once per product into a buffer every thread
 * shares; each thread then widens its own panel of weights (dequantised
 * sixteen rows, or 32 rows of its columns, at a time) straight into the
 * packed bf16 layout, and multiplies every token against it.  No bf16 copy
 * of the model is ever kept: the panel is all there is.  Both live in the
 * backend's scratch, which the fp32 path already holds (the rounded
 * activations first, then one panel per thread); split activations take
 * twice the room (T × 2·in bf16 values).
 *
 * Also here: asking the kernel for the AMX tile data, once per process. */
#include "config.h"

#include <string.h>
#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "temper-cpu-bf16-gemm.h"
#include "temper-cpu-private.h"

/* Bytes of packed weights per panel: with the dequantised rows it stays
 * within the scratch the fp32 path reserves, and in a core's L2. */
#define PANEL_BYTES (512 * 1024)
/* Rows of dy dequantised and packed at a time in the input gradient. */
#define ROW_CHUNK 32

#ifdef TEMPER_HAVE_BF16_GEMM
#if defined(__linux__) && defined(__x86_64__)
/* AMX's tile data needs the kernel's permission (Linux ≥ 5.16), and a VM may
 * still trap the instructions: ask, then run ldtilecfg/tilezero in a child
 * process so a trap kills only the child. */
static gboolean
amx_granted (void)
{
  unsigned int eax, ebx, ecx, edx;
  pid_t pid;
  int status = 0;

  /* CPUID 7.0 EDX: bit 22 AMX-BF16, bit 24 AMX-TILE. */
  if (!__get_cpuid_count (7, 0, &eax, &ebx, &ecx, &edx) ||
      (edx & (1u << 22)) == 0 || (edx & (1u << 24)) == 0)
    return FALSE;
  if (syscall (SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) != 0)
    return FALSE;
  pid = fork ();
  if (pid == 0)
    {
      /* Palette 1, tile 0 of 16 rows of 64 bytes. */
      unsigned char config[64] __attribute__ ((aligned (64))) = { 1 };

      config[16] = 64;
      config[48] = 16;
      __asm__ volatile ("ldtilecfg %0\n\ttilezero %%tmm0\n\ttilerelease" : : "m" (config) : "memory");
      _exit (0);
    }
  return pid > 0 && waitpid (pid, &status, 0) == pid && WIFEXITED (status) &&
         WEXITSTATUS (status) == 0;
}

static gboolean
avx512_bf16_present (void)
{
  unsigned int eax, ebx, ecx, edx;

  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx512f") || !__builtin_cpu_supports ("avx512bw") ||
      !__builtin_cpu_supports ("avx512vl"))
    return FALSE;
  /* CPUID 7.1 EAX bit 5: AVX512-BF16. */
  return __get_cpuid_count (7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)) != 0;
}
#endif
#endif

TemperBf16GemmKind
temper_cpu_bf16_gemm_best (void)
{
  static gsize best = 0;   /* kind + 1 */

  if (g_once_init_enter (&best))
    {
      TemperBf16GemmKind kind = TEMPER_BF16_GEMM_NONE;

#if defined(TEMPER_HAVE_BF16_GEMM) && defined(__linux__) && defined(__x86_64__)
      if (avx512_bf16_present ())
        kind = amx_granted () ? TEMPER_BF16_GEMM_AMX : TEMPER_BF16_GEMM_AVX512_BF16;
#endif
      g_once_init_leave (&best, (gsize) kind + 1);
    }
  return (TemperBf16GemmKind) (best - 1);
}

const char *
temper_cpu_bf16_gemm_kind_name (TemperBf16GemmKind kind)
{
  switch (kind)
    {
    case TEMPER_BF16_GEMM_AMX: return "AMX-BF16";
    case TEMPER_BF16_GEMM_AVX512_BF16: return "AVX512-BF16";
    case TEMPER_BF16_GEMM_NONE: default: return "none";
    }
}

#ifdef TEMPER_HAVE_BF16_GEMM
typedef struct {
  TemperCpuBackend *cpu;
  float            *out;       /* y, or dx */
  const float      *in_acts;   /* x, or dy */
  int64_t           T, in, out_dim;
  const guint8     *w;
  size_t            row_bytes;
  int               type;
  const float      *bias;
  gboolean          accumulate;
  /* The rounded activations (their split segments: lda ≥ Ks), T rows of
   * lda; each thread's panel. */
  TemperBf16Split   split;
  uint16_t         *acts;
  int64_t           K, Ks, lda;
  float            *panels;
  size_t            panel_floats;
  /* The forward's LoRA path, y += s·h·Bᵀ with h kept transposed (hT: r
   * rows of T), added to each panel's part of y a few tokens at a time
   * while that part is still in the core's cache; NULL when none.  In the
   * input gradient dx += dh·A the same way: lora_hT is dhᵀ, lora_b A (r
   * rows of in). */
  const float      *lora_hT;
  const float      *lora_b;   /* out rows of r */
  int64_t           lora_r;
  float             lora_s;
} Bf16Work;

static void
round_task (void *data, int ith, int nth)
{
  Bf16Work *m = data;
  gint64 t0, t1;

  temper_cpu_split (m->T, ith, nth, &t0, &t1);
  if (t0 < t1)
    temper_cpu_bf16_gemm_convert_rows_split (m->acts + t0 * m->lda, m->lda, m->in_acts + t0 * m->K,
                                             m->K, t1 - t0, m->K, m->split);
}

/* Lays the scratch out as the rounded activations of @K-wide rows, then
 * @panel_floats per thread (growing it only where that needs more than it
 * has), and rounds @acts into it. */
static void
round_acts (Bf16Work *m, const float *acts, int64_t K, size_t panel_floats)
{
  TemperCpuBackend *cpu = m->cpu;
  size_t acts_floats;

  m->in_acts = acts;
  m->K = K;
  m->Ks = temper_cpu_bf16_split_k (m->split, K);
  m->lda = m->Ks;
  /* In whole cache lines, so the panels start on one. */
  acts_floats = ((size_t) (m->T * m->lda) / 2 + 15) / 16 * 16;
  panel_floats = (panel_floats + 15) / 16 * 16;
  temper_cpu_reserve_scratch (cpu, (acts_floats + (size_t) cpu->n_threads - 1) / (size_t) cpu->n_threads +
                                   panel_floats);
  m->acts = (uint16_t *) cpu->scratch;
  m->panels = cpu->scratch + acts_floats;
  m->panel_floats = panel_floats;
  temper_cpu_pool_run (cpu->pool, round_task, m);
}

/* Weight rows per forward panel, a multiple of 32; @Ks is the packed
 * depth (split_k). */
static int64_t
forward_panel_rows (int64_t Ks)
{
  int64_t rows = PANEL_BYTES / (2 * Ks);

  return MAX (32, rows / 32 * 32);
}

/* Tokens of y (dx) formed before their LoRA path is added: one panel's
 * columns of them stay in L2 (96 × 224 floats for the demo's 576-wide
 * inputs); a multiple of the AMX kernel's 32 rows and of the fp32 register
 * tile's 12 (64 left a third of a tile empty in every step). */
#define LORA_TOKENS 96

/* Floats of scratch per thread: the packed panel, then 16 (forward) or
 * ROW_CHUNK (input gradient) dequantised rows; with @lora the fp32 GEMM's
 * work memory for the LoRA path after them (its packed B holds at most KC
 * of the rank by one panel's columns). */
static size_t
forward_scratch_floats (int64_t in, int64_t Ks, gboolean lora)
{
  size_t floats = temper_cpu_bf16_gemm_packed_size (Ks, forward_panel_rows (Ks)) / 2 + 16 * (size_t) in + 16;
  int64_t cols = MIN (TEMPER_CPU_GEMM_NC, (forward_panel_rows (Ks) + TEMPER_CPU_GEMM_NR - 1) /
                                          TEMPER_CPU_GEMM_NR * TEMPER_CPU_GEMM_NR);

  if (!lora)
    return floats;
  return (floats + 15) / 16 * 16 + TEMPER_CPU_GEMM_MC * TEMPER_CPU_GEMM_KC + TEMPER_CPU_GEMM_KC * (size_t) cols;
}

/* y[t][o + j] (+)= the split product, then += s·Σₖ h[t][k]·B[o + j][k], for
 * the panel of @rows weight rows from @o on, LORA_TOKENS tokens at a time:
 * the same sums as the frozen product and the gemm op one after the other
 * (each element's terms in the same order), without reading y back from
 * memory. */
static void
forward_panel_lora (Bf16Work *m, const uint16_t *packed, int64_t o, int64_t rows,
                    gboolean accumulate, float *gemm_work)
{
  const TemperCpuKernels *k = &m->cpu->k;

  for (int64_t t0 = 0; t0 < m->T; t0 += LORA_TOKENS)
    {
      int64_t n = MIN (LORA_TOKENS, m->T - t0);
      float *y = m->out + t0 * m->out_dim + o;

      temper_cpu_bf16_gemm_split (k->bf16_frozen, m->split, n, rows, m->in, m->acts + t0 * m->lda, m->lda,
                                  packed, y, m->out_dim, accumulate);
      /* op(A)[t][k] = hT[k][t0 + t], op(B)[k][j] = B[o + j][k]. */
      temper_cpu_sgemm (k, gemm_work, n, rows, m->lora_r, m->lora_s,
                        m->lora_hT + t0, 1, m->T, m->lora_b + o * m->lora_r, 1, m->lora_r,
                        y, m->out_dim);
    }
}

static void
forward_task (void *data, int ith, int nth)
{
  Bf16Work *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  float *work = m->panels + (size_t) ith * m->panel_floats;
  int64_t panel_rows = forward_panel_rows (m->Ks);
  uint16_t *packed = (uint16_t *) work;
  float *rows_f32 = work + temper_cpu_bf16_gemm_packed_size (m->Ks, panel_rows) / 2;
  gint64 o0, o1;

  temper_cpu_split_aligned (m->out_dim, 32, ith, nth, &o0, &o1);
  for (gint64 o = o0; o < o1; o += panel_rows)
    {
      int64_t rows = MIN (panel_rows, o1 - o);
      gboolean accumulate = m->accumulate;

      for (int64_t r = 0; r < rows; r += 16)
        {
          int64_t n = MIN (16, rows - r);
          const float *src = rows_f32;

          if (m->type == TEMPER_TYPE_F32)
            src = (const float *) (m->w + (size_t) (o + r) * m->row_bytes);
          else
            for (int64_t i = 0; i < n; i++)
              k->dequant_row (m->type, m->w + (size_t) (o + r + i) * m->row_bytes, m->in,
                              rows_f32 + i * m->in);
          temper_cpu_bf16_gemm_pack_b_cols_split (packed, m->in, rows, r, n, src, m->in, m->split);
        }
      if (m->bias != NULL)
        {
          for (int64_t t = 0; t < m->T; t++)
            {
              float *yt = m->out + t * m->out_dim + o;

              for (int64_t j = 0; j < rows; j++)
                yt[j] = accumulate ? yt[j] + m->bias[o + j] : m->bias[o + j];
            }
          accumulate = TRUE;
        }
      if (m->lora_hT != NULL)
        {
          size_t lora_at = (forward_scratch_floats (m->in, m->Ks, FALSE) + 15) / 16 * 16;

          forward_panel_lora (m, packed, o, rows, accumulate, work + lora_at);
          continue;
        }
      temper_cpu_bf16_gemm_split (k->bf16_frozen, m->split, m->T, rows, m->in, m->acts, m->lda,
                                  packed, m->out + o, m->out_dim, accumulate);
    }
}

gboolean
temper_cpu_matmul_bf16 (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                        const guint8 *w, int type, int64_t in, int64_t out,
                        const float *bias, gboolean accumulate, TemperBf16Split split)
{
  Bf16Work m = {
    .cpu = cpu, .out = y, .T = T, .in = in, .out_dim = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type, .bias = bias,
    .accumulate = accumulate, .split = split,
  };

  if (cpu->k.bf16_frozen == TEMPER_BF16_GEMM_NONE || T < TEMPER_CPU_BF16_MIN_TOKENS)
    return FALSE;
  round_acts (&m, x, in, forward_scratch_floats (in, temper_cpu_bf16_split_k (split, in), FALSE));
  temper_cpu_pool_run (cpu->pool, forward_task, &m);
  return TRUE;
}

gboolean
temper_cpu_matmul_bf16_lora (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                             const guint8 *w, int type, int64_t in, int64_t out,
                             const float *bias, TemperBf16Split split,
                             const float *hT, const float *lora_b, int64_t r, float s)
{
  Bf16Work m = {
    .cpu = cpu, .out = y, .T = T, .in = in, .out_dim = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type, .bias = bias,
    .accumulate = FALSE, .split = split,
    .lora_hT = hT, .lora_b = lora_b, .lora_r = r, .lora_s = s,
  };

  if (cpu->k.bf16_frozen == TEMPER_BF16_GEMM_NONE || T < TEMPER_CPU_BF16_MIN_TOKENS)
    return FALSE;
  round_acts (&m, x, in, forward_scratch_floats (in, temper_cpu_bf16_split_k (split, in), TRUE));
  temper_cpu_pool_run (cpu->pool, forward_task, &m);
  return TRUE;
}

/* Columns per input-gradient panel: a multiple of @unit (the weight's
 * block) and of 32. */
static int64_t
backward_panel_cols (int64_t out, int64_t unit)
{
  int64_t step = unit % 32 == 0 ? unit : unit * 32;
  int64_t cols = PANEL_BYTES / (2 * temper_cpu_bf16_gemm_padded_k (out));

  return MAX (step, cols / step * step);
}

/* With @lora, the fp32 GEMM's work memory for dx += dh·A after the rest
 * (as forward_scratch_floats ()). */
static size_t
backward_scratch_floats (int64_t out, int64_t unit, gboolean lora)
{
  int64_t cols = backward_panel_cols (out, unit);
  size_t floats = temper_cpu_bf16_gemm_packed_size (out, cols) / 2 + ROW_CHUNK * (size_t) cols + 16;
  int64_t gemm_cols = MIN (TEMPER_CPU_GEMM_NC, (cols + TEMPER_CPU_GEMM_NR - 1) / TEMPER_CPU_GEMM_NR *
                                               TEMPER_CPU_GEMM_NR);

  if (!lora)
    return floats;
  return (floats + 15) / 16 * 16 + TEMPER_CPU_GEMM_MC * TEMPER_CPU_GEMM_KC + TEMPER_CPU_GEMM_KC * (size_t) gemm_cols;
}

/* dx[t][c + j] += Σ dy·W, then += Σₖ dh[t][k]·A[k][c + j], for the panel of
 * @cols columns from @c on, LORA_TOKENS tokens at a time (as
 * forward_panel_lora (): the gemm op's sums, dx still in cache). */
static void
backward_panel_lora (Bf16Work *m, const uint16_t *packed, int64_t c, int64_t cols, float *gemm_work)
{
  const TemperCpuKernels *k = &m->cpu->k;

  for (int64_t t0 = 0; t0 < m->T; t0 += LORA_TOKENS)
    {
      int64_t n = MIN (LORA_TOKENS, m->T - t0);
      float *dx = m->out + t0 * m->in + c;

      temper_cpu_bf16_gemm (k->bf16_frozen, n, cols, m->out_dim, m->acts + t0 * m->lda, m->lda, packed,
                            dx, m->in, TRUE);
      /* op(A)[t][k] = dhᵀ[k][t0 + t], op(B)[k][j] = A[k][c + j]. */
      temper_cpu_sgemm (k, gemm_work, n, cols, m->lora_r, 1.0f, m->lora_hT + t0, 1, m->T,
                        m->lora_b + c, m->in, 1, dx, m->in);
    }
}

static void
backward_task (void *data, int ith, int nth)
{
  Bf16Work *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  float *work = m->panels + (size_t) ith * m->panel_floats;
  gint64 unit = m->type == TEMPER_TYPE_F32 ? 32 : (gint64) temper_type_block_elems (m->type);
  int64_t panel_cols = backward_panel_cols (m->out_dim, unit);
  uint16_t *packed = (uint16_t *) work;
  float *rows_f32 = work + temper_cpu_bf16_gemm_packed_size (m->out_dim, panel_cols) / 2;
  gint64 c0, c1;

  temper_cpu_split_aligned (m->in, unit, ith, nth, &c0, &c1);
  for (gint64 c = c0; c < c1; c += panel_cols)
    {
      int64_t cols = MIN (panel_cols, c1 - c);
      size_t skip = temper_type_row_bytes (m->type, c);

      for (int64_t r = 0; r < m->out_dim; r += ROW_CHUNK)
        {
          int64_t n = MIN (ROW_CHUNK, m->out_dim - r);

          if (m->type == TEMPER_TYPE_F32)
            temper_cpu_bf16_gemm_pack_b_rows (packed, m->out_dim, cols, r, n,
                                              (const float *) (m->w + (size_t) r * m->row_bytes) + c,
                                              m->in);
          else
            {
              for (int64_t i = 0; i < n; i++)
                k->dequant_row (m->type, m->w + (size_t) (r + i) * m->row_bytes + skip, cols,
                                rows_f32 + i * cols);
              temper_cpu_bf16_gemm_pack_b_rows (packed, m->out_dim, cols, r, n, rows_f32, cols);
            }
        }
      if (m->lora_hT != NULL)
        {
          size_t lora_at = (backward_scratch_floats (m->out_dim, unit, FALSE) + 15) / 16 * 16;

          backward_panel_lora (m, packed, c, cols, work + lora_at);
          continue;
        }
      temper_cpu_bf16_gemm (k->bf16_frozen, m->T, cols, m->out_dim, m->acts, m->lda, packed,
                            m->out + c, m->in, TRUE);
    }
}

gboolean
temper_cpu_matmul_backward_bf16 (TemperCpuBackend *cpu, float *dx, const float *dy, int64_t T,
                                 const guint8 *w, int type, int64_t in, int64_t out)
{
  Bf16Work m = {
    .cpu = cpu, .out = dx, .T = T, .in = in, .out_dim = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type,
  };
  gint64 unit = type == TEMPER_TYPE_F32 ? 32 : (gint64) temper_type_block_elems (type);

  if (cpu->k.bf16_frozen == TEMPER_BF16_GEMM_NONE || T < TEMPER_CPU_BF16_MIN_TOKENS)
    return FALSE;
  round_acts (&m, dy, out, backward_scratch_floats (out, unit, FALSE));
  temper_cpu_pool_run (cpu->pool, backward_task, &m);
  return TRUE;
}

gboolean
temper_cpu_matmul_backward_bf16_lora (TemperCpuBackend *cpu, float *dx, const float *dy, int64_t T,
                                      const guint8 *w, int type, int64_t in, int64_t out,
                                      const float *dhT, const float *lora_a, int64_t r)
{
  Bf16Work m = {
    .cpu = cpu, .out = dx, .T = T, .in = in, .out_dim = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type,
    .lora_hT = dhT, .lora_b = lora_a, .lora_r = r, .lora_s = 1.0f,
  };
  gint64 unit = type == TEMPER_TYPE_F32 ? 32 : (gint64) temper_type_block_elems (type);

  if (cpu->k.bf16_frozen == TEMPER_BF16_GEMM_NONE || T < TEMPER_CPU_BF16_MIN_TOKENS)
    return FALSE;
  round_acts (&m, dy, out, backward_scratch_floats (out, unit, TRUE));
  temper_cpu_pool_run (cpu->pool, backward_task, &m);
  return TRUE;
}
#else
gboolean
temper_cpu_matmul_bf16 (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                        const guint8 *w, int type, int64_t in, int64_t out,
                        const float *bias, gboolean accumulate, TemperBf16Split split)
{
  return FALSE;
}

gboolean
temper_cpu_matmul_backward_bf16 (TemperCpuBackend *cpu, float *dx, const float *dy, int64_t T,
                                 const guint8 *w, int type, int64_t in, int64_t out)
{
  return FALSE;
}

gboolean
temper_cpu_matmul_bf16_lora (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                             const guint8 *w, int type, int64_t in, int64_t out,
                             const float *bias, TemperBf16Split split,
                             const float *hT, const float *lora_b, int64_t r, float s)
{
  return FALSE;
}

gboolean
temper_cpu_matmul_backward_bf16_lora (TemperCpuBackend *cpu, float *dx, const float *dy, int64_t T,
                                      const guint8 *w, int type, int64_t in, int64_t out,
                                      const float *dhT, const float *lora_a, int64_t r)
{
  return FALSE;
}
#endif
