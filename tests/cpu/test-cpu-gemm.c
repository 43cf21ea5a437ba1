/* SPDX-License-Identifier: MIT */
/* The blocked GEMM behind gemm, matmul and matmul_backward_input, on the
 * SIMD and the portable register tiles, against double-precision sums.  The
 * shapes straddle every blocking edge: the 12×16 register tile, the MC/KC/NC
 * cache blocks (144/256/1024), the dequantised weight tile, and the thread
 * split, with tiny shapes as well; and attention, which uses the same GEMM
 * when a sequence has many queries. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"

static guint64 rng = 11;

/* The best tiles (AVX-512 where the processor has it), AVX2 alone, and the
 * portable C: each against the same double-precision sums. */
static const TemperCpuKernelChoice kernel_choices[] = {
  TEMPER_CPU_KERNELS_BEST, TEMPER_CPU_KERNELS_AVX2, TEMPER_CPU_KERNELS_SCALAR,
};

static float
frand (void)
{
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

typedef struct {
  TemperBackend *b;
  GPtrArray     *buffers;
} Ctx;

static void
ctx_init (Ctx *c, int n_threads, TemperCpuKernelChoice kernels)
{
  c->b = temper_cpu_backend_new (n_threads, kernels);
  c->buffers = g_ptr_array_new ();
}

static void
ctx_clear (Ctx *c)
{
  for (guint i = 0; i < c->buffers->len; i++)
    temper_backend_buffer_free (c->b, c->buffers->pdata[i]);
  g_ptr_array_unref (c->buffers);
  temper_backend_free (c->b);
}

static TemperBTensor
f32_tensor (Ctx *c, int64_t ne0, int64_t ne1)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (c->b, sizeof (float) * (size_t) (ne0 * ne1),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);
  float *f;

  g_assert_nonnull (buf);
  g_ptr_array_add (c->buffers, buf);
  f = (float *) buf->host;
  for (int64_t i = 0; i < ne0 * ne1; i++)
    f[i] = frand ();
  return temper_btensor (buf, 0, TEMPER_TYPE_F32, ne0, ne1);
}

static float *
F (const TemperBTensor *t)
{
  return (float *) (t->buffer->host + t->offset);
}

/* Relative to the size of the sum's terms, so long sums are judged fairly. */
static void
check_close (const char *what, const float *got, const double *want, const double *scale,
             int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    if (fabs (got[i] - want[i]) > 2e-6 * MAX (1.0, scale[i]))
      g_error ("%s: element %" G_GINT64_FORMAT " is %.8g, expected %.8g", what, i,
               got[i], want[i]);
}

static void
run_gemm (TemperCpuKernelChoice kernels, int n_threads, int M, int N, int K,
          gboolean ta, gboolean tb, float alpha, float beta)
{
  Ctx c;
  TemperBTensor a, bm, cm;
  g_autofree float *c0 = NULL;
  g_autofree double *want = g_new (double, (gsize) M * N);
  g_autofree double *scale = g_new (double, (gsize) M * N);
  g_autofree char *what = NULL;

  ctx_init (&c, n_threads, kernels);
  a = ta ? f32_tensor (&c, M, K) : f32_tensor (&c, K, M);
  bm = tb ? f32_tensor (&c, K, N) : f32_tensor (&c, N, K);
  cm = f32_tensor (&c, N, M);
  c0 = g_memdup2 (F (&cm), sizeof (float) * (gsize) M * N);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++)
      {
        double s = 0.0, abs_s = 0.0;

        for (int k = 0; k < K; k++)
          {
            double av = ta ? F (&a)[(gsize) k * M + m] : F (&a)[(gsize) m * K + k];
            double bv = tb ? F (&bm)[(gsize) n * K + k] : F (&bm)[(gsize) k * N + n];

            s += av * bv;
            abs_s += fabs (av * bv);
          }
        want[(gsize) m * N + n] = alpha * s + beta * c0[(gsize) m * N + n];
        scale[(gsize) m * N + n] = fabs (alpha) * abs_s + fabs (beta * c0[(gsize) m * N + n]);
      }
  c.b->ops->gemm (c.b, &cm, &a, ta, &bm, tb, alpha, beta);
  what = g_strdup_printf ("gemm %s %d threads M=%d N=%d K=%d ta=%d tb=%d",
                          temper_cpu_backend_get_kernels_name (c.b), n_threads, M, N, K, ta, tb);
  check_close (what, F (&cm), want, scale, (int64_t) M * N);
  ctx_clear (&c);
}

static void
test_gemm_edges (void)
{
  /* Each triple is {M, N, K}. */
  static const int shapes[][3] = {
    { 1, 1, 1 }, { 5, 15, 3 }, { 6, 16, 7 }, { 7, 17, 1 }, { 11, 16, 9 }, { 12, 16, 5 },
    { 13, 33, 40 }, { 25, 48, 17 },
    { 16, 576, 64 }, { 64, 16, 200 }, { 145, 20, 257 }, { 150, 1030, 30 },
    /* LoRA's rank-wide products: C formed transposed (few rows, many
     * columns, ragged against the tile both ways), and a transposed A read
     * in place against one panel of B (M = out, N = rank). */
    { 16, 200, 300 }, { 48, 197, 33 }, { 37, 150, 9 }, { 200, 16, 300 }, { 157, 16, 40 },
  };

  for (int kernels = 0; kernels < (int) G_N_ELEMENTS (kernel_choices); kernels++)
    for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
      for (int t = 0; t < 4; t++)
        run_gemm (kernel_choices[kernels],
                  1 + (int) (s % 3), shapes[s][0], shapes[s][1], shapes[s][2],
                  t & 1, t >> 1, s % 2 ? 0.5f : 1.0f, s % 3 == 0 ? 0.0f : 0.75f);
}

/* matmul and its input gradient on a stored weight type, for token counts
 * past the decode path and shapes past one weight tile and one K block. */
static void
run_matmul (TemperCpuKernelChoice kernels, int n_threads, int type, int64_t in, int64_t out,
            int64_t T)
{
  Ctx c;
  TemperBTensor src, x, y, dy, dx, bias, wt;
  TemperBuffer *wb;
  size_t rb = temper_type_row_bytes (type, in);
  g_autofree guint8 *w = g_malloc0 (rb * (size_t) out);
  g_autofree float *dense = g_new (float, (gsize) (in * out));
  g_autofree float *dx0 = NULL;
  g_autofree double *want = g_new (double, (gsize) (MAX (in, out) * T));
  g_autofree double *scale = g_new (double, (gsize) (MAX (in, out) * T));
  g_autofree char *what = NULL;
  TemperTensorView view = { "w", type, { in, out }, rb, w };

  ctx_init (&c, n_threads, kernels);
  /* Weights: random floats quantised with the engine's reference, or kept. */
  src = f32_tensor (&c, in, out);
  for (int64_t o = 0; o < out; o++)
    if (type == TEMPER_TYPE_F32)
      memcpy (w + (size_t) o * rb, F (&src) + o * in, rb);
    else
      g_assert_true (temper_quantize_row (type, F (&src) + o * in, in, w + (size_t) o * rb));
  for (int64_t o = 0; o < out; o++)
    temper_tensor_row_to_f32 (&view, o, dense + o * in);
  wb = temper_backend_buffer_from_host (c.b, w, rb * (size_t) out, NULL);
  g_ptr_array_add (c.buffers, wb);
  wt = temper_btensor (wb, 0, type, in, out);
  x = f32_tensor (&c, in, T);
  y = f32_tensor (&c, out, T);
  bias = f32_tensor (&c, out, 1);
  dy = f32_tensor (&c, out, T);
  dx = f32_tensor (&c, in, T);
  dx0 = g_memdup2 (F (&dx), sizeof (float) * (gsize) (in * T));

  for (int64_t t = 0; t < T; t++)
    for (int64_t o = 0; o < out; o++)
      {
        double s = F (&bias)[o], abs_s = fabs (s);

        for (int64_t i = 0; i < in; i++)
          {
            s += (double) dense[o * in + i] * F (&x)[t * in + i];
            abs_s += fabs ((double) dense[o * in + i] * F (&x)[t * in + i]);
          }
        want[t * out + o] = s;
        scale[t * out + o] = abs_s;
      }
  c.b->ops->matmul (c.b, &y, &x, &wt, &bias, FALSE);
  what = g_strdup_printf ("matmul %s %s %d threads in=%" G_GINT64_FORMAT " out=%"
                          G_GINT64_FORMAT " T=%" G_GINT64_FORMAT,
                          temper_cpu_backend_get_kernels_name (c.b), temper_type_name (type),
                          n_threads, in, out, T);
  check_close (what, F (&y), want, scale, out * T);

  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < in; i++)
      {
        double s = dx0[t * in + i], abs_s = fabs (s);

        for (int64_t o = 0; o < out; o++)
          {
            s += (double) F (&dy)[t * out + o] * dense[o * in + i];
            abs_s += fabs ((double) F (&dy)[t * out + o] * dense[o * in + i]);
          }
        want[t * in + i] = s;
        scale[t * in + i] = abs_s;
      }
  c.b->ops->matmul_backward_input (c.b, &dx, &dy, &wt);
  g_free (what);
  what = g_strdup_printf ("matmul_backward_input %s %s %d threads in=%" G_GINT64_FORMAT
                          " out=%" G_GINT64_FORMAT " T=%" G_GINT64_FORMAT,
                          temper_cpu_backend_get_kernels_name (c.b), temper_type_name (type),
                          n_threads, in, out, T);
  check_close (what, F (&dx), want, scale, in * T);
  ctx_clear (&c);
}

/* @n rounded up to whole blocks of @type (NF4 blocks are 64 wide). */
static int64_t
fit_width (int type, int64_t n)
{
  int64_t block = (int64_t) temper_type_block_elems (type);

  return (n + block - 1) / block * block;
}

static void
test_matmul_edges (void)
{
  static const int types[] = { TEMPER_TYPE_F32, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_NF4 };

  for (int kernels = 0; kernels < (int) G_N_ELEMENTS (kernel_choices); kernels++)
    for (gsize ti = 0; ti < G_N_ELEMENTS (types); ti++)
      {
        TemperCpuKernelChoice kc = kernel_choices[kernels];

        run_matmul (kc, 2, types[ti], 64, 13, 5);
        run_matmul (kc, 3, types[ti], fit_width (types[ti], 96), 37, 23);
        /* 2048-wide rows: a weight tile is 128 rows, so 300 outputs take
         * several tiles and a 300-row backward takes two K blocks. */
        run_matmul (kc, 2, types[ti], 2048, 300, 7);
        run_matmul (kc, 1, types[ti], fit_width (types[ti], 160), 47, 150);
      }
}

/* Attention with enough queries to take the matrix form, forward and
 * backward, against double-precision formulas (softmax of scaled scores,
 * then dV = Pᵀ·dO, dS = P⊙(dP − rowsum(dO⊙O)), dQ = s·dS·K, dK = s·dSᵀ·Q). */
static void
run_attention (TemperCpuKernelChoice kernels, int n_threads, int n_query, int q_offset)
{
  const int nh = 4, nkv = 2, hd = 24, n_seq = 2, group = nh / nkv;
  int n_key = q_offset + n_query + 3;
  TemperAttentionParams p = { nh, nkv, hd, n_seq, n_query, n_key, q_offset, 0.2f };
  int64_t qs = (int64_t) nh * hd, ks = (int64_t) nkv * hd;
  Ctx c;
  TemperBTensor q, k, v, out, lse, dout, dq, dk, dv;
  g_autofree double *P = g_new (double, n_key);
  g_autofree double *want_o = NULL, *want_lse = NULL, *want_dq = NULL, *want_dk = NULL, *want_dv = NULL;
  g_autofree double *ones = NULL;
  g_autofree float *dq0 = NULL, *dk0 = NULL, *dv0 = NULL;
  g_autofree char *what = g_strdup_printf ("attention %d threads n_query=%d q_offset=%d",
                                           n_threads, n_query, q_offset);
  int64_t nq_rows = (int64_t) n_seq * n_query, nk_rows = (int64_t) n_seq * n_key;

  ctx_init (&c, n_threads, kernels);
  q = f32_tensor (&c, qs, nq_rows);
  k = f32_tensor (&c, ks, nk_rows);
  v = f32_tensor (&c, ks, nk_rows);
  out = f32_tensor (&c, qs, nq_rows);
  lse = f32_tensor (&c, nh, nq_rows);
  dout = f32_tensor (&c, qs, nq_rows);
  dq = f32_tensor (&c, qs, nq_rows);
  dk = f32_tensor (&c, ks, nk_rows);
  dv = f32_tensor (&c, ks, nk_rows);
  dq0 = g_memdup2 (F (&dq), sizeof (float) * (gsize) (qs * nq_rows));
  dk0 = g_memdup2 (F (&dk), sizeof (float) * (gsize) (ks * nk_rows));
  dv0 = g_memdup2 (F (&dv), sizeof (float) * (gsize) (ks * nk_rows));
  want_o = g_new0 (double, qs * nq_rows);
  want_lse = g_new0 (double, nh * nq_rows);
  want_dq = g_new0 (double, qs * nq_rows);
  want_dk = g_new0 (double, ks * nk_rows);
  want_dv = g_new0 (double, ks * nk_rows);
  ones = g_new (double, MAX (qs * nq_rows, ks * nk_rows));
  for (int64_t i = 0; i < MAX (qs * nq_rows, ks * nk_rows); i++)
    ones[i] = 1.0;
  for (int64_t i = 0; i < qs * nq_rows; i++)
    want_dq[i] = dq0[i];
  for (int64_t i = 0; i < ks * nk_rows; i++)
    {
      want_dk[i] = dk0[i];
      want_dv[i] = dv0[i];
    }

  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < nh; h++)
      for (int i = 0; i < n_query; i++)
        {
          int64_t row = (int64_t) s * n_query + i;
          const float *qv = F (&q) + row * qs + h * hd, *dov = F (&dout) + row * qs + h * hd;
          int64_t kv0 = (int64_t) s * n_key * ks + (h / group) * hd;
          int n_vis = q_offset + i + 1;
          double max = -INFINITY, sum = 0.0, D = 0.0;

          for (int j = 0; j < n_vis; j++)
            {
              double d = 0.0;

              for (int e = 0; e < hd; e++)
                d += (double) qv[e] * F (&k)[kv0 + j * ks + e];
              P[j] = p.scale * d;
              max = MAX (max, P[j]);
            }
          for (int j = 0; j < n_vis; j++)
            sum += exp (P[j] - max);
          want_lse[row * nh + h] = max + log (sum);
          for (int j = 0; j < n_vis; j++)
            {
              P[j] = exp (P[j] - max) / sum;
              for (int e = 0; e < hd; e++)
                want_o[row * qs + h * hd + e] += P[j] * F (&v)[kv0 + j * ks + e];
            }
          for (int e = 0; e < hd; e++)
            D += (double) dov[e] * want_o[row * qs + h * hd + e];
          for (int j = 0; j < n_vis; j++)
            {
              double dp = 0.0, ds;

              for (int e = 0; e < hd; e++)
                dp += (double) dov[e] * F (&v)[kv0 + j * ks + e];
              ds = P[j] * (dp - D) * p.scale;
              for (int e = 0; e < hd; e++)
                {
                  want_dv[kv0 + j * ks + e] += P[j] * dov[e];
                  want_dq[row * qs + h * hd + e] += ds * F (&k)[kv0 + j * ks + e];
                  want_dk[kv0 + j * ks + e] += ds * qv[e];
                }
            }
        }

  c.b->ops->attention (c.b, &out, &lse, &q, &k, &v, &p);
  check_close (what, F (&out), want_o, ones, qs * nq_rows);
  check_close (what, F (&lse), want_lse, ones, nh * nq_rows);
  c.b->ops->attention_backward (c.b, &dq, &dk, &dv, &dout, &out, &lse, &q, &k, &v, &p);
  /* The backward starts from the fp32 forward's out, so allow its rounding. */
  for (int64_t i = 0; i < qs * nq_rows; i++)
    g_assert_cmpfloat (fabs (F (&dq)[i] - want_dq[i]), <, 1e-4 * MAX (1.0, fabs (want_dq[i])));
  for (int64_t i = 0; i < ks * nk_rows; i++)
    {
      g_assert_cmpfloat (fabs (F (&dk)[i] - want_dk[i]), <, 1e-4 * MAX (1.0, fabs (want_dk[i])));
      g_assert_cmpfloat (fabs (F (&dv)[i] - want_dv[i]), <, 1e-4 * MAX (1.0, fabs (want_dv[i])));
    }
  ctx_clear (&c);
}

static void
test_attention_blocked (void)
{
  for (int kernels = 0; kernels < (int) G_N_ELEMENTS (kernel_choices); kernels++)
    {
      TemperCpuKernelChoice kc = kernel_choices[kernels];

      run_attention (kc, 2, 37, 0);
      run_attention (kc, 3, 16, 5);
      /* Below the matrix form's threshold: the row-wise path, same checks. */
      run_attention (kc, 2, 9, 2);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/gemm/edges", test_gemm_edges);
  g_test_add_func ("/cpu/gemm/matmul-edges", test_matmul_edges);
  g_test_add_func ("/cpu/gemm/attention", test_attention_blocked);
  return g_test_run ();
}
