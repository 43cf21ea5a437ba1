/* SPDX-License-Identifier: MIT */
/* temper-self-test.c — checking a GPU against the CPU before it trains.
 *
 * A driver bug, or GPU code that never ran on this kind of card, would
 * otherwise train an adapter on wrong numbers without anyone noticing.  So
 * before a GPU first trains (and again after its driver changes) a few small
 * ops of a training step run on it and on the CPU backend with the same
 * inputs: a matmul with a quantized weight, RMSNorm, attention (its softmax),
 * the fused cross-entropy, the LoRA GEMM and an AdamW step.  A result that
 * differs by more than rounding marks the device unusable for training, with
 * the reason in words, remembered by temper_device_self_test_store().
 *
 * TEMPER_SELF_TEST_PERTURB=<op> (matmul, rmsnorm, attention, cross-entropy,
 * gemm, adamw) spoils that op's GPU result on purpose: the tests use it to
 * show what happens with a broken device. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper-cpu-backend.h"
#include "temper-backend-open.h"

#define PERTURB_ENV "TEMPER_SELF_TEST_PERTURB"
/* ‖gpu − cpu‖ / ‖cpu‖ allowed: far above fp32 (and fp16-accumulation)
 * rounding, far below what a wrong kernel gives. */
#define TOLERANCE 1e-2

typedef struct {
  TemperBackend *backend;
  GPtrArray     *buffers;
  GRand         *rng;     /* seeded alike on both sides: the same inputs */
  GError        *error;   /* the first failure */
  GArray        *out;     /* float: every compared output, one after another */
} Side;

static TemperBTensor
tensor (Side *s, int type, int64_t ne0, int64_t ne1, const void *data)
{
  size_t bytes = temper_btensor_bytes (type, ne0, ne1);
  g_autofree guint8 *zeros = data == NULL ? g_malloc0 (bytes) : NULL;
  TemperBTensor t = { NULL, 0, type, { ne0, ne1 } };
  TemperBuffer *buffer;

  if (s->error != NULL)
    return t;
  buffer = temper_backend_buffer_alloc (s->backend, bytes, TEMPER_BUFFER_ACTIVATIONS, &s->error);
  if (buffer == NULL)
    return t;
  g_ptr_array_add (s->buffers, buffer);
  t.buffer = buffer;
  temper_backend_upload (s->backend, &t, data != NULL ? data : zeros, &s->error);
  return t;
}

static float *
random_f32 (Side *s, gsize n, double scale)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) (g_rand_double_range (s->rng, -1.0, 1.0) * scale);
  return x;
}

static TemperBTensor
random_tensor (Side *s, int64_t ne0, int64_t ne1, double scale)
{
  g_autofree float *x = random_f32 (s, (gsize) (ne0 * ne1), scale);
  return tensor (s, TEMPER_TYPE_F32, ne0, ne1, x);
}

/* Appends @t (F32) to the side's outputs. */
static void
keep (Side *s, const TemperBTensor *t)
{
  gsize n = (gsize) (t->ne[0] * t->ne[1]);
  g_autofree float *x = g_new (float, n);

  if (s->error == NULL && temper_backend_download (s->backend, t, x, &s->error))
    g_array_append_vals (s->out, x, (guint) n);
}

static gboolean
ready (Side *s)
{
  return s->error == NULL;
}

/* ---- The ops ------------------------------------------------------------ */

/* The first weight type, among those models come in, that has a reference
 * quantizer and that the device multiplies with. */
static int
quantized_type (TemperBackend *backend)
{
  static const int types[] = { TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q4_1 };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (temper_backend_supports_op (backend, TEMPER_OP_MATMUL, types[i]))
      return types[i];
  return -1;
}

static void
run_matmul (Side *s, int type)
{
  const int64_t n_in = 64, n_out = 24, T = 8;
  g_autofree float *wf = random_f32 (s, (gsize) (n_in * n_out), 1.0);
  g_autofree guint8 *wq = g_malloc (temper_btensor_bytes (type, n_in, n_out));
  TemperBTensor x, w, y;

  for (int64_t r = 0; r < n_out; r++)
    temper_quantize_row (type, wf + r * n_in, n_in, wq + r * temper_type_row_bytes (type, n_in));
  x = random_tensor (s, n_in, T, 1.0);
  w = tensor (s, type, n_in, n_out, wq);
  y = tensor (s, TEMPER_TYPE_F32, n_out, T, NULL);
  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->matmul (s->backend, &y, &x, &w, NULL, FALSE);
  if (temper_backend_flush (s->backend, &s->error))
    keep (s, &y);
}

static void
run_rmsnorm (Side *s, int unused)
{
  TemperBTensor x = random_tensor (s, 64, 8, 2.0), w = random_tensor (s, 64, 1, 1.0);
  TemperBTensor out = tensor (s, TEMPER_TYPE_F32, 64, 8, NULL);
  TemperBTensor rstd = tensor (s, TEMPER_TYPE_F32, 8, 1, NULL);

  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->rmsnorm (s->backend, &out, &rstd, &x, &w, 1e-5f);
  if (temper_backend_flush (s->backend, &s->error))
    {
      keep (s, &out);
      keep (s, &rstd);
    }
}

static void
run_attention (Side *s, int unused)
{
  TemperAttentionParams p = { .n_head = 2, .n_head_kv = 1, .head_dim = 16, .n_seq = 2,
                              .n_query = 4, .n_key = 4, .q_offset = 0, .scale = 0.25f };
  TemperBTensor q = random_tensor (s, 32, 8, 1.0), k = random_tensor (s, 16, 8, 1.0);
  TemperBTensor v = random_tensor (s, 16, 8, 1.0);
  TemperBTensor out = tensor (s, TEMPER_TYPE_F32, 32, 8, NULL);
  TemperBTensor lse = tensor (s, TEMPER_TYPE_F32, 2, 8, NULL);

  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->attention (s->backend, &out, &lse, &q, &k, &v, &p);
  if (temper_backend_flush (s->backend, &s->error))
    {
      keep (s, &out);
      keep (s, &lse);
    }
}

static void
run_cross_entropy (Side *s, int unused)
{
  const gint32 targets[6] = { 3, -1, 39, 0, 7, -1 };
  TemperBTensor x = random_tensor (s, 64, 6, 0.125), w = random_tensor (s, 64, 40, 1.0);
  TemperBTensor tg = tensor (s, TEMPER_TYPE_I32, 6, 1, targets);
  TemperBTensor loss = tensor (s, TEMPER_TYPE_F32, 2, 1, NULL);
  TemperBTensor dx = tensor (s, TEMPER_TYPE_F32, 64, 6, NULL);
  TemperBTensor scratch = tensor (s, TEMPER_TYPE_F32, 40, 3, NULL);

  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->lm_head_cross_entropy (s->backend, &loss, &dx, &x, &w, &tg, &scratch, 0.5f);
  if (temper_backend_flush (s->backend, &s->error))
    {
      keep (s, &loss);
      keep (s, &dx);
    }
}

static void
run_gemm (Side *s, int unused)
{
  /* C {12 cols, 8 rows} = 0.5 · A {16, 8} · B {16, 12}ᵀ, as LoRA's h·Bᵀ. */
  TemperBTensor a = random_tensor (s, 16, 8, 1.0), b = random_tensor (s, 16, 12, 1.0);
  TemperBTensor c = tensor (s, TEMPER_TYPE_F32, 12, 8, NULL);

  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->gemm (s->backend, &c, &a, FALSE, &b, TRUE, 0.5f, 0.0f);
  if (temper_backend_flush (s->backend, &s->error))
    keep (s, &c);
}

static void
run_adamw (Side *s, int unused)
{
  TemperAdamWParams p = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                          .weight_decay = 0.01f, .step = 3, .max_grad_norm = 0 };
  g_autofree float *v0 = random_f32 (s, 256, 0.01);
  TemperBTensor param = random_tensor (s, 256, 1, 1.0), grad = random_tensor (s, 256, 1, 1.0);
  TemperBTensor m = random_tensor (s, 256, 1, 0.1), v;

  for (int i = 0; i < 256; i++)
    v0[i] = fabsf (v0[i]);
  v = tensor (s, TEMPER_TYPE_F32, 256, 1, v0);
  if (!ready (s))
    return;
  temper_backend_begin (s->backend);
  s->backend->ops->adamw (s->backend, &param, &grad, &m, &v, NULL, &p);
  if (temper_backend_flush (s->backend, &s->error))
    {
      keep (s, &param);
      keep (s, &m);
      keep (s, &v);
    }
}

typedef struct {
  const char *key;     /* for TEMPER_SELF_TEST_PERTURB */
  TemperOp    op;
  void      (*run) (Side *s, int weight_type);
} Check;

static const Check checks[] = {
  { "matmul", TEMPER_OP_MATMUL, run_matmul },
  { "rmsnorm", TEMPER_OP_RMSNORM, run_rmsnorm },
  { "attention", TEMPER_OP_ATTENTION, run_attention },
  { "cross-entropy", TEMPER_OP_LM_HEAD_CROSS_ENTROPY, run_cross_entropy },
  { "gemm", TEMPER_OP_GEMM, run_gemm },
  { "adamw", TEMPER_OP_ADAMW, run_adamw },
};

/* What a check computes, in words a person can follow. */
static const char *
check_label (const Check *check)
{
  switch (check->op)
    {
    case TEMPER_OP_MATMUL:
      return _("Multiplying by quantized weights");
    case TEMPER_OP_RMSNORM:
      return _("Normalization (RMSNorm)");
    case TEMPER_OP_ATTENTION:
      return _("Attention");
    case TEMPER_OP_LM_HEAD_CROSS_ENTROPY:
      return _("The loss (cross-entropy)");
    case TEMPER_OP_GEMM:
      return _("The adapter’s matrix products");
    case TEMPER_OP_ADAMW:
    default:
      return _("The optimizer step (AdamW)");
    }
}

static void
side_init (Side *s, TemperBackend *backend)
{
  s->backend = backend;
  s->buffers = g_ptr_array_new ();
  s->rng = g_rand_new_with_seed (20240611);
  s->error = NULL;
  s->out = g_array_new (FALSE, FALSE, sizeof (float));
}

static void
side_clear (Side *s)
{
  for (guint i = 0; i < s->buffers->len; i++)
    temper_backend_buffer_free (s->backend, s->buffers->pdata[i]);
  g_ptr_array_unref (s->buffers);
  g_rand_free (s->rng);
  g_clear_error (&s->error);
  g_array_unref (s->out);
}

gboolean
temper_backend_self_test (TemperBackend *backend, char **reason)
{
  g_autoptr(TemperBackend) cpu = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  const char *perturb = g_getenv (PERTURB_ENV);
  int weight_type = quantized_type (backend);

  *reason = NULL;
  for (guint c = 0; c < G_N_ELEMENTS (checks) && *reason == NULL; c++)
    {
      const Check *check = &checks[c];
      int type = check->op == TEMPER_OP_MATMUL ? weight_type : TEMPER_TYPE_F32;
      Side gpu, ref;
      double diff = 0, norm = 0;
      gboolean finite = TRUE;

      /* An op the device lacks is refused when training is set up. */
      if (type < 0 || !temper_backend_supports_op (backend, check->op, type))
        continue;
      side_init (&gpu, backend);
      side_init (&ref, cpu);
      check->run (&gpu, type);
      check->run (&ref, type);
      if (gpu.error != NULL)
        *reason = g_strdup_printf (_("%s failed on it: %s"), check_label (check), gpu.error->message);
      else if (ref.error == NULL && gpu.out->len == ref.out->len && gpu.out->len > 0)
        {
          float *g = (float *) gpu.out->data, *r = (float *) ref.out->data;

          if (perturb != NULL && g_str_equal (perturb, check->key))
            g[0] += 1.0f + 10.0f * fabsf (r[0]);
          for (guint i = 0; i < gpu.out->len; i++)
            {
              finite &= isfinite (g[i]) || !isfinite (r[i]);
              diff += ((double) g[i] - r[i]) * ((double) g[i] - r[i]);
              norm += (double) r[i] * r[i];
            }
          diff = sqrt (diff) / MAX (sqrt (norm), 1e-6);
          if (!finite)
            *reason = g_strdup_printf (_("%s gave invalid numbers (NaN or infinity) where the processor gave ordinary ones"),
                                       check_label (check));
          else if (diff > TOLERANCE)
            *reason = g_strdup_printf (_("%s gave results %.1f%% away from the processor’s"),
                                       check_label (check), 100.0 * diff);
        }
      side_clear (&gpu);
      side_clear (&ref);
    }
  return *reason == NULL;
}

gboolean
temper_backend_check_device (TemperBackend *backend, TemperDeviceInfo *info, char **reason)
{
  *reason = NULL;
  if (backend->kind == TEMPER_BACKEND_CPU)
    return TRUE;
  if (info != NULL)
    {
      temper_device_self_test_lookup (info);
      if (info->self_test == TEMPER_SELF_TEST_PASSED)
        return TRUE;
      if (info->self_test == TEMPER_SELF_TEST_FAILED)
        {
          *reason = g_strdup (info->self_test_reason != NULL ? info->self_test_reason : "");
          return FALSE;
        }
    }
  if (temper_backend_self_test (backend, reason))
    {
      if (info != NULL)
        temper_device_self_test_store (info, TEMPER_SELF_TEST_PASSED, NULL);
      return TRUE;
    }
  if (info != NULL)
    temper_device_self_test_store (info, TEMPER_SELF_TEST_FAILED, *reason);
  return FALSE;
}
