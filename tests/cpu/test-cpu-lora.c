/* SPDX-License-Identifier: MIT */
/* The LoRA products fused with their neighbours.  The forward in one op (matmul_lora: y = x·Wᵀ + bias + s·h·Bᵀ, h
 * kept transposed) against a double-precision formula and against the two
 * ops it replaces (matmul, then gemm), on the exact kernels and on
 * training's fast kernels, where the bfloat16 forward adds the LoRA path to
 * each part of y while it is in cache.  Shapes are ragged: tokens not a
 * multiple of the 96 the fused path takes at a time, ranks not a multiple
 * of a register tile, outputs not a multiple of a panel.  And the backward
 * products that read a target's output gradient in one pass
 * (lora_b_backward) against the formula and the two gemm ops, and the
 * input gradient with LoRA's dh·A added as each part of dx is formed
 * (matmul_backward_input_lora). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "cpu/temper-cpu-bf16-gemm.h"

typedef struct {
  GPtrArray *buffers;
  TemperBackend *owner;
  guint64 rng;
} Ctx;

static float
frand (Ctx *c)
{
  c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (c->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *
F (const TemperBTensor *t)
{
  return (float *) (t->buffer->host + t->offset);
}

static TemperBTensor
random_tensor (Ctx *c, int64_t ne0, int64_t ne1, float scale)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (c->owner, sizeof (float) * (size_t) (ne0 * ne1),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);
  TemperBTensor t = temper_btensor (buf, 0, TEMPER_TYPE_F32, ne0, ne1);

  g_assert_nonnull (buf);
  g_ptr_array_add (c->buffers, buf);
  for (int64_t i = 0; i < ne0 * ne1; i++)
    F (&t)[i] = scale * frand (c);
  return t;
}

/* max |got − want| / max |want|. */
static double
max_error (const float *got, const double *want, int64_t n)
{
  double diff = 0, size = 0;

  for (int64_t i = 0; i < n; i++)
    {
      diff = MAX (diff, fabs ((double) got[i] - want[i]));
      size = MAX (size, fabs (want[i]));
    }
  return diff / size;
}

static double
max_error_f (const float *got, const float *want, int64_t n)
{
  double diff = 0, size = 0;

  for (int64_t i = 0; i < n; i++)
    {
      diff = MAX (diff, fabs ((double) got[i] - (double) want[i]));
      size = MAX (size, fabs ((double) want[i]));
    }
  return diff / size;
}

/* The fused op on @kernels against the formula (within @formula_tol),
 * against the same backend's matmul + gemm (within @ops_tol), and checks
 * that the LoRA path is large enough for a lost or misplaced term to show. */
static void
check_matmul_lora (TemperCpuKernelChoice kernels, int threads, int64_t T, int64_t in, int64_t out,
                   int64_t r, gboolean with_bias, double formula_tol, double ops_tol)
{
  TemperBackend *b = temper_cpu_backend_new (threads, kernels);
  Ctx c = { g_ptr_array_new (), b, 7 + (guint64) (T * 31 + r) };
  TemperBTensor x = random_tensor (&c, in, T, 1.0f), w = random_tensor (&c, in, out, 0.05f);
  TemperBTensor bias = random_tensor (&c, out, 1, 0.5f);
  TemperBTensor hT = random_tensor (&c, T, r, 1.0f), B = random_tensor (&c, r, out, 0.2f);
  TemperBTensor y_fused = random_tensor (&c, out, T, 3.0f), y_ops = random_tensor (&c, out, T, 3.0f);
  g_autofree double *want = g_new (double, out * T);
  g_autofree double *frozen = g_new (double, out * T);
  const float s = 1.75f;
  double err_formula, err_ops, lora_share;

  for (int64_t t = 0; t < T; t++)
    for (int64_t o = 0; o < out; o++)
      {
        double acc = with_bias ? F (&bias)[o] : 0.0, lora = 0.0;

        for (int64_t i = 0; i < in; i++)
          acc += (double) F (&x)[t * in + i] * F (&w)[o * in + i];
        for (int64_t k = 0; k < r; k++)
          lora += (double) F (&hT)[k * T + t] * F (&B)[o * r + k];
        frozen[t * out + o] = acc;
        want[t * out + o] = acc + s * lora;
      }
  b->ops->matmul_lora (b, &y_fused, &x, &w, with_bias ? &bias : NULL, &hT, &B, s);
  b->ops->matmul (b, &y_ops, &x, &w, with_bias ? &bias : NULL, FALSE);
  b->ops->gemm (b, &y_ops, &hT, TRUE, &B, TRUE, s, 1.0f);
  err_formula = max_error (F (&y_fused), want, out * T);
  err_ops = max_error_f (F (&y_fused), F (&y_ops), out * T);
  lora_share = max_error (F (&y_fused), frozen, out * T);
  g_test_message ("%s, %d threads, T %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                  ", rank %" G_GINT64_FORMAT "%s: %.2e off the formula, %.2e off matmul + gemm "
                  "(the LoRA path moves y by %.2e)",
                  temper_cpu_backend_get_kernels_name (b), threads, T, in, out, r,
                  with_bias ? ", bias" : "", err_formula, err_ops, lora_share);
  g_assert_cmpfloat (err_formula, <, formula_tol);
  g_assert_cmpfloat (err_ops, <=, ops_tol);
  g_assert_cmpfloat (lora_share, >, 0.1);
  for (guint i = 0; i < c.buffers->len; i++)
    temper_backend_buffer_free (b, c.buffers->pdata[i]);
  g_ptr_array_unref (c.buffers);
  temper_backend_free (b);
}

/* The exact kernels run the two ops themselves: bit for bit theirs. */
static void
test_matmul_lora_exact (void)
{
  check_matmul_lora (TEMPER_CPU_KERNELS_BEST, 2, 70, 96, 80, 16, TRUE, 1e-6, 0.0);
  check_matmul_lora (TEMPER_CPU_KERNELS_BEST, 3, 9, 40, 33, 5, FALSE, 1e-6, 0.0);
}

/* Training's fast kernels: the split bfloat16 forward (about 4e-6 of fp32
 * where it runs) plus the LoRA path in fp32, as the two ops give it (only
 * the last bit of an addition may differ: the register tiles fall on other
 * rows). */
static void
test_matmul_lora_fast (void)
{
  if (temper_cpu_bf16_gemm_best () != TEMPER_BF16_GEMM_AMX)
    {
      /* Elsewhere the fast forward stays fp32 and the op is the two ops. */
      check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 70, 96, 80, 16, TRUE, 1e-6, 0.0);
      g_test_skip ("this processor lacks AMX-BF16: the fused path does not run");
      return;
    }
  check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 70, 96, 80, 16, TRUE, 2e-5, 1e-6);
  check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 1, 200, 576, 150, 16, FALSE, 2e-5, 1e-6);
  check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 3, 129, 64, 40, 7, TRUE, 2e-5, 1e-6);
  /* A rank deeper than one block of the fp32 GEMM (KC = 256), and below
   * the bfloat16 path's least tokens (the two ops). */
  check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 33, 48, 70, 300, FALSE, 2e-5, 1e-6);
  check_matmul_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 12, 48, 70, 16, FALSE, 1e-6, 0.0);
}

/* lora_b_backward against the formula and against its two gemm ops: dB
 * adds into what it held, dhᵀ is overwritten; tokens split over threads
 * that do not divide them (and threads left without any). */
static void
check_lora_b_backward (TemperCpuKernelChoice kernels, int threads, int64_t T, int64_t out, int64_t r)
{
  TemperBackend *b = temper_cpu_backend_new (threads, kernels);
  Ctx c = { g_ptr_array_new (), b, 11 + (guint64) (T * 17 + out) };
  TemperBTensor dy = random_tensor (&c, out, T, 1.0f), hT = random_tensor (&c, T, r, 1.0f);
  TemperBTensor B = random_tensor (&c, r, out, 0.3f);
  TemperBTensor gb = random_tensor (&c, r, out, 2.0f), gb_ops = random_tensor (&c, r, out, 1.0f);
  TemperBTensor dhT = random_tensor (&c, T, r, 5.0f), dhT_ops = random_tensor (&c, T, r, 1.0f);
  g_autofree double *want_gb = g_new (double, r * out);
  g_autofree double *want_dh = g_new (double, r * T);
  const float s = 0.6f;
  double err_gb, err_dh, err_gb_ops, err_dh_ops;

  memcpy (F (&gb_ops), F (&gb), sizeof (float) * (size_t) (r * out));
  for (int64_t o = 0; o < out; o++)
    for (int64_t k = 0; k < r; k++)
      {
        double acc = 0;

        for (int64_t t = 0; t < T; t++)
          acc += (double) F (&dy)[t * out + o] * F (&hT)[k * T + t];
        want_gb[o * r + k] = F (&gb)[o * r + k] + s * acc;
      }
  for (int64_t k = 0; k < r; k++)
    for (int64_t t = 0; t < T; t++)
      {
        double acc = 0;

        for (int64_t o = 0; o < out; o++)
          acc += (double) F (&B)[o * r + k] * F (&dy)[t * out + o];
        want_dh[k * T + t] = s * acc;
      }
  b->ops->lora_b_backward (b, &gb, &dhT, &dy, &hT, &B, s);
  b->ops->gemm (b, &gb_ops, &dy, TRUE, &hT, TRUE, s, 1.0f);
  b->ops->gemm (b, &dhT_ops, &B, TRUE, &dy, TRUE, s, 0.0f);
  err_gb = max_error (F (&gb), want_gb, r * out);
  err_dh = max_error (F (&dhT), want_dh, r * T);
  err_gb_ops = max_error_f (F (&gb), F (&gb_ops), r * out);
  err_dh_ops = max_error_f (F (&dhT), F (&dhT_ops), r * T);
  g_test_message ("%s, %d threads, T %" G_GINT64_FORMAT ", out %" G_GINT64_FORMAT ", rank %" G_GINT64_FORMAT
                  ": dB %.2e, dh %.2e off the formula; %.2e, %.2e off the two gemm ops",
                  temper_cpu_backend_get_kernels_name (b), threads, T, out, r, err_gb, err_dh,
                  err_gb_ops, err_dh_ops);
  g_assert_cmpfloat (err_gb, <, 1e-5);
  g_assert_cmpfloat (err_dh, <, 1e-5);
  g_assert_cmpfloat (err_gb_ops, <, 1e-5);
  g_assert_cmpfloat (err_dh_ops, <, 1e-5);
  for (guint i = 0; i < c.buffers->len; i++)
    temper_backend_buffer_free (b, c.buffers->pdata[i]);
  g_ptr_array_unref (c.buffers);
  temper_backend_free (b);
}

static void
test_lora_b_backward (void)
{
  check_lora_b_backward (TEMPER_CPU_KERNELS_BEST, 2, 200, 96, 16);
  check_lora_b_backward (TEMPER_CPU_KERNELS_BEST, 3, 70, 33, 5);
  check_lora_b_backward (TEMPER_CPU_KERNELS_BEST, 1, 129, 300, 16);
  check_lora_b_backward (TEMPER_CPU_KERNELS_BEST, 4, 13, 40, 20);
  check_lora_b_backward (TEMPER_CPU_KERNELS_SCALAR, 2, 77, 50, 16);
  check_lora_b_backward (TEMPER_CPU_KERNELS_BEST, 2, 90, 20, 300);
}

/* matmul_backward_input_lora: dx += dy·W + dh·A (dh transposed, A of R
 * rows: one target's rank or a stacked group's) against the formula and
 * against matmul_backward_input + gemm.  On the fast kernels the frozen
 * part is bfloat16 (about 1e-3 of the formula); the LoRA part must match
 * the gemm op's. */
static void
check_backward_input_lora (TemperCpuKernelChoice kernels, int threads, int64_t T, int64_t in, int64_t out,
                           int64_t R, double formula_tol, double ops_tol)
{
  TemperBackend *b = temper_cpu_backend_new (threads, kernels);
  Ctx c = { g_ptr_array_new (), b, 5 + (guint64) (T * 13 + R) };
  TemperBTensor dy = random_tensor (&c, out, T, 1.0f), w = random_tensor (&c, in, out, 0.05f);
  TemperBTensor dhT = random_tensor (&c, T, R, 1.0f), A = random_tensor (&c, in, R, 0.3f);
  TemperBTensor dx = random_tensor (&c, in, T, 1.0f), dx_ops = random_tensor (&c, in, T, 1.0f);
  g_autofree double *want = g_new (double, in * T);
  g_autofree double *frozen = g_new (double, in * T);
  double err_formula, err_ops, lora_share;

  memcpy (F (&dx_ops), F (&dx), sizeof (float) * (size_t) (in * T));
  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < in; i++)
      {
        double acc = F (&dx)[t * in + i], lora = 0;

        for (int64_t o = 0; o < out; o++)
          acc += (double) F (&dy)[t * out + o] * F (&w)[o * in + i];
        for (int64_t k = 0; k < R; k++)
          lora += (double) F (&dhT)[k * T + t] * F (&A)[k * in + i];
        frozen[t * in + i] = acc;
        want[t * in + i] = acc + lora;
      }
  b->ops->matmul_backward_input_lora (b, &dx, &dy, &w, &dhT, &A);
  b->ops->matmul_backward_input (b, &dx_ops, &dy, &w);
  b->ops->gemm (b, &dx_ops, &dhT, TRUE, &A, FALSE, 1.0f, 1.0f);
  err_formula = max_error (F (&dx), want, in * T);
  err_ops = max_error_f (F (&dx), F (&dx_ops), in * T);
  lora_share = max_error (F (&dx), frozen, in * T);
  g_test_message ("%s, %d threads, T %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " <- %" G_GINT64_FORMAT
                  ", R %" G_GINT64_FORMAT ": input gradient %.2e off the formula, %.2e off the two ops "
                  "(the LoRA path moves it by %.2e)", temper_cpu_backend_get_kernels_name (b), threads,
                  T, in, out, R, err_formula, err_ops, lora_share);
  g_assert_cmpfloat (err_formula, <, formula_tol);
  g_assert_cmpfloat (err_ops, <=, ops_tol);
  g_assert_cmpfloat (lora_share, >, 0.1);
  for (guint i = 0; i < c.buffers->len; i++)
    temper_backend_buffer_free (b, c.buffers->pdata[i]);
  g_ptr_array_unref (c.buffers);
  temper_backend_free (b);
}

static void
test_backward_input_lora (void)
{
  check_backward_input_lora (TEMPER_CPU_KERNELS_BEST, 2, 70, 96, 80, 48, 1e-6, 0.0);
  check_backward_input_lora (TEMPER_CPU_KERNELS_BEST, 3, 9, 40, 33, 5, 1e-6, 0.0);
  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_NONE)
    {
      g_test_skip ("this processor lacks the bfloat16 kernels: the fused path does not run");
      return;
    }
  /* The frozen part is the bf16 op's own (identical here), the LoRA part the gemm op's. */
  check_backward_input_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 130, 96, 80, 48, 1e-2, 1e-6);
  check_backward_input_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 1, 200, 576, 192, 16, 1e-2, 1e-6);
  check_backward_input_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 3, 77, 64, 40, 7, 1e-2, 1e-6);
  check_backward_input_lora (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, 2, 100, 160, 64, 32, 1e-2, 1e-6);
  check_backward_input_lora (TEMPER_CPU_KERNELS_FAST_TRAIN, 2, 40, 48, 70, 300, 1e-2, 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/matmul-lora/exact", test_matmul_lora_exact);
  g_test_add_func ("/cpu/matmul-lora/fast", test_matmul_lora_fast);
  g_test_add_func ("/cpu/lora-b-backward", test_lora_b_backward);
  g_test_add_func ("/cpu/backward-input-lora", test_backward_input_lora);
  return g_test_run ();
}
