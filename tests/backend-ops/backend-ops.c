/* SPDX-License-Identifier: MIT */
/* backend-ops.c — the harness of the op test (see backend-ops.h) and its
 * main: test-backend-ops cpu|vulkan|cuda [--shared-memory-reductions]. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "backend-ops.h"
#include "cuda/temper-cuda-backend.h"
#include "temper/op-support.h"
#if TEMPER_HAVE_VULKAN
#include "vulkan/temper-vk-backend.h"
#endif

TemperBackend *sides[N_SIDES];
GRand *rng;
double matmul_tolerance = 1e-5;
double lm_head_tolerance = 1e-5;

static TemperBackendKind dut_kind;
/* The backend under test is the CPU with generation's 8-bit decoding. */
static gboolean decode_dut;
/* cpu-train: training's fast kernels (bfloat16 frozen products). */
static gboolean train_fast_dut;
static char *no_device_reason;
static GPtrArray *case_pairs;   /* the running case's Pairs */
static guint n_pairs_made;

/* Sentinel bytes: what every byte outside a tensor holds, before and after. */
#define SENTINEL 0xA5
#define GUARD_BYTES 64

const int backend_ops_weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q8_1, TEMPER_TYPE_Q2_K,
  TEMPER_TYPE_Q3_K, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_IQ4_NL,
  TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_TQ2_0, TEMPER_TYPE_NF4, -1,
};

static void
upload (int s, TemperBuffer *buffer, size_t offset, const void *data, size_t size)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (sides[s]->ops->buffer_upload (sides[s], buffer, offset, data, size, &error));
  g_assert_no_error (error);
}

Pair *
pair_new (int type, int64_t ne0, int64_t ne1, const void *data)
{
  Pair *p = g_new0 (Pair, 1);
  g_autofree guint8 *pattern = NULL;

  /* Offsets of 256 and 512 bytes (every GPU's storage-buffer alignment
   * divides 256), and a guard that keeps the buffer a whole number of
   * words whatever the tensor's byte count. */
  p->offset = 256 * (1 + n_pairs_made++ % 2);
  p->bytes = temper_btensor_bytes (type, ne0, ne1);
  p->size = p->offset + p->bytes + GUARD_BYTES + (4 - p->bytes % 4) % 4;
  pattern = g_malloc (p->size);
  memset (pattern, SENTINEL, p->size);
  FOR_SIDES (s)
    {
      g_autoptr (GError) error = NULL;

      p->buffer[s] = temper_backend_buffer_alloc (sides[s], p->size, TEMPER_BUFFER_ACTIVATIONS, &error);
      g_assert_no_error (error);
      p->t[s] = temper_btensor (p->buffer[s], p->offset, type, ne0, ne1);
      upload (s, p->buffer[s], 0, pattern, p->size);
    }
  if (data != NULL)
    pair_set (p, data);
  else
    {
      g_autofree guint8 *zeros = g_malloc0 (p->bytes);
      pair_set (p, zeros);
    }
  g_ptr_array_add (case_pairs, p);
  return p;
}

void
pair_set (Pair *p, const void *data)
{
  FOR_SIDES (s)
    upload (s, p->buffer[s], p->offset, data, p->bytes);
}

static void
download (int s, const Pair *p, void *data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (temper_backend_download (sides[s], &p->t[s], data, &error));
  g_assert_no_error (error);
}

void
pair_sync (Pair *p)
{
  g_autofree guint8 *data = g_malloc (p->bytes);

  download (REF, p, data);
  upload (DUT, p->buffer[DUT], p->offset, data, p->bytes);
}

/* Every byte of both buffers outside the tensor must still be a sentinel:
 * an op that wrote past its output (or before it) is caught here. */
static void
check_sentinels (const Pair *p)
{
  FOR_SIDES (s)
    {
      g_autofree guint8 *all = g_malloc (p->size);
      g_autoptr (GError) error = NULL;

      g_assert_true (sides[s]->ops->buffer_download (sides[s], p->buffer[s], 0, all, p->size, &error));
      g_assert_no_error (error);
      for (size_t i = 0; i < p->size; i++)
        if ((i < p->offset || i >= p->offset + p->bytes) && all[i] != SENTINEL)
          g_error ("%s: byte %zd from the start of a %s tensor {%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                   "} was overwritten (0x%02x)", temper_backend_get_name (sides[s]),
                   (gssize) i - (gssize) p->offset, temper_type_name (p->t[s].type) ? temper_type_name (p->t[s].type) : "I32",
                   p->t[s].ne[0], p->t[s].ne[1], all[i]);
    }
}

static void
pair_free (gpointer data)
{
  Pair *p = data;

  FOR_SIDES (s)
    temper_backend_buffer_free (sides[s], p->buffer[s]);
  g_free (p);
}

float *
random_f32 (gsize n, double scale)
{
  float *x = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    x[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * scale);
  return x;
}

Pair *
pair_random (int64_t ne0, int64_t ne1, double scale)
{
  g_autofree float *x = random_f32 ((gsize) (ne0 * ne1), scale);
  return pair_new (TEMPER_TYPE_F32, ne0, ne1, x);
}

static void
put_f16 (guint8 *at, float v)
{
  guint16 h = temper_f32_to_f16 (v);
  memcpy (at, &h, 2);
}

static guint8 *
random_weight_bytes (int type, int64_t ne0, int64_t ne1)
{
  size_t bytes = temper_btensor_bytes (type, ne0, ne1);
  size_t block = temper_type_block_bytes (type);
  guint8 *w = g_malloc (bytes);

  for (size_t i = 0; i < bytes; i++)
    w[i] = (guint8) g_rand_int_range (rng, 0, 256);
  if (type == TEMPER_TYPE_F32)
    {
      for (size_t i = 0; i < bytes / 4; i++)
        ((float *) w)[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
      return w;
    }
  for (size_t b = 0; b < bytes; b += block)
    {
      float d = (float) g_rand_double_range (rng, 0.002, 0.05);
      float m = (float) g_rand_double_range (rng, -0.3, 0.3);

      switch (type)
        {
        case TEMPER_TYPE_F16:
          put_f16 (w + b, (float) g_rand_double_range (rng, -1.0, 1.0));
          break;
        case TEMPER_TYPE_BF16:
          {
            guint16 h = temper_f32_to_bf16 ((float) g_rand_double_range (rng, -1.0, 1.0));
            memcpy (w + b, &h, 2);
          }
          break;
        case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q5_0: case TEMPER_TYPE_Q8_0:
          put_f16 (w + b, d * 4);
          break;
        case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
        case TEMPER_TYPE_Q8_1:
          put_f16 (w + b, d);
          put_f16 (w + b + 2, m * 0.1f);
          break;
        case TEMPER_TYPE_Q6_K:
          put_f16 (w + b + 208, d * 0.1f);
          break;
        case TEMPER_TYPE_Q2_K:   /* d and dmin at the end of the block */
          put_f16 (w + b + 80, d * 0.5f);
          put_f16 (w + b + 82, d * 0.5f);
          break;
        case TEMPER_TYPE_Q3_K:
          put_f16 (w + b + 108, d * 0.1f);
          break;
        case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS:
          put_f16 (w + b, d * 0.05f);
          break;
        case TEMPER_TYPE_TQ2_0:
          put_f16 (w + b + 64, d * 4);
          break;
        case TEMPER_TYPE_NF4:
          {
            float absmax = d * 8;   /* NF4's scale is an fp32 absmax */
            memcpy (w + b, &absmax, 4);
          }
          break;
        default:
          break;
        }
    }
  return w;
}

Pair *
pair_weight (int type, int64_t ne0, int64_t ne1, gboolean quantized)
{
  g_autofree guint8 *w = random_weight_bytes (type, ne0, ne1);

  if (quantized && type != TEMPER_TYPE_F32)
    {
      g_autofree float *values = random_f32 ((gsize) (ne0 * ne1), 1.0);
      size_t row_bytes = temper_type_row_bytes (type, ne0);
      gboolean ok = TRUE;

      for (int64_t r = 0; r < ne1 && ok; r++)
        ok = temper_quantize_row (type, values + r * ne0, ne0, w + r * row_bytes);
      if (!ok)   /* a type Temper only reads: random blocks after all */
        {
          g_free (w);
          w = random_weight_bytes (type, ne0, ne1);
        }
    }
  return pair_new (type, ne0, ne1, w);
}

void
begin_both (void)
{
  FOR_SIDES (s)
    temper_backend_begin (sides[s]);
}

void
flush_both (void)
{
  FOR_SIDES (s)
    {
      g_autoptr (GError) error = NULL;

      g_assert_true (temper_backend_flush (sides[s], &error));
      g_assert_no_error (error);
    }
}

void
check_close (const char *what, Pair *p, double tol)
{
  size_t n = p->bytes / 4;
  g_autofree float *got = g_new (float, MAX (n, 1));
  g_autofree float *want = g_new (float, MAX (n, 1));
  double diff = 0, norm = 0, err;

  download (DUT, p, got);
  download (REF, p, want);
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (got[i]))
        g_error ("%s: value %zu is %g on %s", what, i, got[i], temper_backend_get_name (sides[DUT]));
      diff += ((double) got[i] - want[i]) * ((double) got[i] - want[i]);
      norm += (double) want[i] * want[i];
    }
  err = norm > 0 ? sqrt (diff / norm) : sqrt (diff);
  g_test_message ("%s: normalized error %.3g (tolerance %.1g, %zu values)", what, err, tol, n);
  if (!(err <= tol))
    g_error ("%s: normalized error %g exceeds %g on %s", what, err, tol,
             temper_backend_get_name (sides[DUT]));
}

void
check_identical (const char *what, Pair *p)
{
  g_autofree guint8 *got = g_malloc (p->bytes);
  g_autofree guint8 *want = g_malloc (p->bytes);

  download (DUT, p, got);
  download (REF, p, want);
  g_test_message ("%s: %zu values identical", what, p->bytes / 4);
  g_assert_cmpmem (got, p->bytes, want, p->bytes);
}

int64_t
weight_cols (int type, int i)
{
  size_t blk = temper_type_block_elems (type);
  static const int64_t odd[] = { 33, 129, 7 };

  if (blk == 1)
    return odd[i];
  if (blk == 256)
    return (int64_t) blk * (i == 1 ? 2 : 1);
  if (blk == 64)   /* NF4: one block, three, and the 512 of a 256-block type */
    return i == 2 ? 512 : (int64_t) blk * (1 + 2 * i);
  return (int64_t) blk * (1 + 2 * i);
}

/* ---- Running a case ------------------------------------------------------ */

typedef struct {
  const OpCase *op_case;
  int           type;
  gboolean      coopmat;   /* Vulkan: on the cooperative-matrix path */
  gboolean      fast;      /* CPU: against the FAST_DECODE kernels */
} Registered;

/* The CPU backend with generation's kernels (rounded activations), for the
 * cases registered with fast set. */
static TemperBackend *fast_cpu;

void
case_start (const char *path)
{
  rng = g_rand_new_with_seed (g_str_hash (path));
  case_pairs = g_ptr_array_new_with_free_func (pair_free);
}

void
case_end (void)
{
  for (guint i = 0; i < case_pairs->len; i++)
    check_sentinels (case_pairs->pdata[i]);
  g_clear_pointer (&case_pairs, g_ptr_array_unref);
  g_clear_pointer (&rng, g_rand_free);
}

/* FALSE (the case reported skipped, saying why) when the tested backend's
 * table declines an op or type ("not supported", said even where no device
 * is present) or there is no device.  A yes of the tested backend without a
 * CPU reference is a failure: nothing would check it. */
static gboolean
supported (const OpCase *c, int type)
{
  for (int i = 0; i < c->n_ops; i++)
    {
      int t = temper_op_reads_weight (c->ops[i]) ? type : TEMPER_TYPE_F32;

      if (!temper_backend_kind_supports_op (dut_kind, c->ops[i], t))
        {
          g_autofree char *msg = g_strdup_printf ("not supported: %s %s on %s", temper_op_name (c->ops[i]),
                                                  temper_type_name (t), temper_backend_kind_name (dut_kind));
          g_test_skip (msg);
          return FALSE;
        }
      if (!temper_backend_supports_op (sides[REF], c->ops[i], t))
        g_error ("%s runs %s on %s, which the CPU reference lacks", temper_backend_kind_name (dut_kind),
                 temper_op_name (c->ops[i]), temper_type_name (t));
    }
  if (sides[DUT] == NULL)
    {
      g_test_skip (no_device_reason);
      return FALSE;
    }
  /* The backend answers from the same table. */
  for (int i = 0; i < c->n_ops; i++)
    g_assert_true (temper_backend_supports_op (sides[DUT], c->ops[i],
                                               temper_op_reads_weight (c->ops[i]) ? type : TEMPER_TYPE_F32));
  return TRUE;
}

static void run_case_on_dut (const Registered *r);

static void
run_case (gconstpointer data)
{
  const Registered *r = data;
  TemperBackend *dut = sides[DUT];

  if (r->fast)
    {
      sides[DUT] = fast_cpu;
      run_case_on_dut (r);
      sides[DUT] = dut;
      return;
    }
  run_case_on_dut (r);
}

static void
run_case_on_dut (const Registered *r)
{
  if (!supported (r->op_case, r->type))
    return;
#if TEMPER_HAVE_VULKAN
  if (dut_kind == TEMPER_BACKEND_VULKAN && r->op_case->matmul_paths
      && !backend_ops_vulkan_use_path (r->coopmat))
    return;
#endif
  /* cpu-decode rounds x to 8 bits per 32 (max|x|/254 each): normalized
   * errors of 2e-3 to 1.3e-2 (Q5_1, whose minimum term cancels); a wrong
   * code bit or scale gives more (checked by breaking the kernels). */
  /* cpu-train rounds dy and W to bfloat16 in the input gradient (its
   * forward stays fp32): normalized errors of about 2e-3. */
  matmul_tolerance = decode_dut ? 3e-2 : train_fast_dut ? 1e-2 : r->coopmat ? 2e-3 : 1e-5;
  /* cpu-train also takes the fused lm_head's products in bfloat16 (rows
   * past one chunk, the sliced vocabulary): logits near 10 from K-quant test
   * weights of up to ~100 move by a few hundredths, and the softmax's
   * gradient by up to 1.1e-2 (Q4_K, soft-capped); a slice off by one
   * block, or a lost factor, gives tens of percent. */
  lm_head_tolerance = train_fast_dut ? 3e-2 : 1e-5;
#if TEMPER_HAVE_VULKAN
  /* Vulkan forms the lm_head with its matmul ops: past a few rows (the
   * 40-row, one-chunk case) they take the cooperative-matrix path where the
   * device has one, whose rounding the matmul cases allow (2.0e-5 measured
   * on llvmpipe; a lost factor or a chunk off by one gives tens of percent). */
  if (dut_kind == TEMPER_BACKEND_VULKAN && temper_vk_backend_has_coopmat (sides[DUT], NULL))
    lm_head_tolerance = 2e-3;
#endif
  case_start (g_test_get_path ());
  begin_both ();
  r->op_case->func (r->type);
  flush_both ();
  case_end ();
#if TEMPER_HAVE_VULKAN
  if (dut_kind == TEMPER_BACKEND_VULKAN && r->op_case->matmul_paths)
    backend_ops_vulkan_reset_path ();
#endif
}

static void
register_case_full (const char *prefix, const OpCase *c, gboolean coopmat, gboolean fast)
{
  for (int i = 0; c->per_weight_type ? backend_ops_weight_types[i] >= 0 : i < 1; i++)
    {
      Registered *r = g_new0 (Registered, 1);
      g_autofree char *type = c->per_weight_type ? g_ascii_strdown (temper_type_name (backend_ops_weight_types[i]), -1)
                                                 : NULL;
      g_autofree char *path = g_strdup_printf ("/%s/%s%s%s%s", prefix, c->name, coopmat ? "-coopmat" : "",
                                               type ? "/" : "", type ? type : "");

      r->op_case = c;
      r->type = c->per_weight_type ? backend_ops_weight_types[i] : TEMPER_TYPE_F32;
      r->coopmat = coopmat;
      r->fast = fast;
      g_test_add_data_func_full (path, r, run_case, g_free);
    }
}

static void
register_case (const char *prefix, const OpCase *c, gboolean coopmat)
{
  register_case_full (prefix, c, coopmat, FALSE);
}

static void
run_golden (gconstpointer data)
{
  static const OpCase golden = { "golden", { TEMPER_OP_DEQUANTIZE, TEMPER_OP_EMBEDDING, TEMPER_OP_MATMUL },
                                 3, TRUE, 0, NULL };

  if (!supported (&golden, GPOINTER_TO_INT (data)))
    return;
  case_start (g_test_get_path ());
  backend_ops_golden (GPOINTER_TO_INT (data));
  case_end ();
}

/* The tables themselves: the CPU is the reference, so every op and weight
 * type another backend claims must have a CPU answer; and CUDA's known gap
 * (no K-quant decoders but Q2_K and Q3_K) shows in its table, so the
 * backend choice refuses such models with a reason. */
static void
test_support_tables (void)
{
  static const TemperBackendKind kinds[] = { TEMPER_BACKEND_VULKAN, TEMPER_BACKEND_CUDA };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (guint op = 0; op < temper_backend_n_ops (); op++)
      for (int i = 0; backend_ops_weight_types[i] >= 0; i++)
        if (temper_backend_kind_supports_op (kinds[k], op, backend_ops_weight_types[i]))
          g_assert_true (temper_backend_kind_supports_op (TEMPER_BACKEND_CPU, op, backend_ops_weight_types[i]));
  g_assert_false (temper_backend_kind_supports_op (TEMPER_BACKEND_CUDA, TEMPER_OP_MATMUL, TEMPER_TYPE_Q6_K));
  g_assert_true (temper_backend_kind_supports_op (TEMPER_BACKEND_CUDA, TEMPER_OP_MATMUL, TEMPER_TYPE_Q4_1));
  /* Activations are F32 only; the ops that read no weight take no other type. */
  g_assert_false (temper_backend_kind_supports_op (TEMPER_BACKEND_CPU, TEMPER_OP_ADD, TEMPER_TYPE_Q4_0));
  g_assert_false (temper_backend_kind_supports_op (TEMPER_BACKEND_CPU, TEMPER_OP_MATMUL, TEMPER_TYPE_Q8_1));
  if (sides[DUT] != NULL)
    for (guint op = 0; op < temper_backend_n_ops (); op++)
      for (int i = 0; backend_ops_weight_types[i] >= 0; i++)
        g_assert_cmpint (temper_backend_supports_op (sides[DUT], op, backend_ops_weight_types[i]), ==,
                         temper_backend_kind_supports_op (dut_kind, op, backend_ops_weight_types[i]));
}

static TemperBackend *
open_dut (const char *name)
{
  g_autoptr (GError) error = NULL;
  TemperBackend *b = NULL;

  if (g_str_equal (name, "cpu"))
    {
      dut_kind = TEMPER_BACKEND_CPU;
      /* The SIMD kernels and three threads against the portable one-thread
       * reference: rows split unevenly between threads. */
      return temper_cpu_backend_new (3, TEMPER_CPU_KERNELS_BEST);
    }
  if (g_str_equal (name, "cpu-decode"))
    {
      dut_kind = TEMPER_BACKEND_CPU;
      decode_dut = TRUE;
      /* Generation's kernels: products of up to four tokens with x rounded
       * to 8 bits (VNNI/AVX2 integer dot products). */
      return temper_cpu_backend_new (3, TEMPER_CPU_KERNELS_FAST_DECODE);
    }
  if (g_str_equal (name, "cpu-train") || g_str_equal (name, "cpu-train-avx512-bf16"))
    {
      gboolean amx = g_str_equal (name, "cpu-train");

      dut_kind = TEMPER_BACKEND_CPU;
      train_fast_dut = TRUE;
      /* Training's fast mode: the frozen products of many tokens in
       * bfloat16, on AMX tiles (cpu-train) or AVX512-BF16. */
      b = temper_cpu_backend_new (3, amx ? TEMPER_CPU_KERNELS_FAST_TRAIN
                                         : TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16);
      g_test_message ("training's fast kernels: %s", temper_cpu_backend_get_kernels_name (b));
      if (strstr (temper_cpu_backend_get_kernels_name (b), amx ? "AMX-BF16" : "AVX512-BF16") == NULL)
        {
          no_device_reason = g_strdup_printf ("no %s here", amx ? "AMX-BF16" : "AVX512-BF16");
          g_clear_pointer (&b, temper_backend_free);
        }
      return b;
    }
  if (g_str_equal (name, "vulkan"))
    {
      dut_kind = TEMPER_BACKEND_VULKAN;
#if TEMPER_HAVE_VULKAN
      b = temper_vk_backend_new (-1, &error);
      if (b == NULL)
        no_device_reason = g_strdup_printf ("no Vulkan device: %s", error->message);
      else
        g_test_message ("Vulkan device: %s", temper_vk_backend_get_device_name (b));
#else
      no_device_reason = g_strdup ("this build has no Vulkan backend");
#endif
      return b;
    }
  if (g_str_equal (name, "cuda"))
    {
      dut_kind = TEMPER_BACKEND_CUDA;
      b = temper_cuda_backend_new (0, &error);
      if (b == NULL)
        no_device_reason = g_strdup_printf ("no CUDA device: %s", error->message);
      return b;
    }
  g_printerr ("usage: test-backend-ops cpu|cpu-decode|cpu-train|cpu-train-avx512-bf16|vulkan|cuda [--shared-memory-reductions] [GTest options]\n");
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *name = NULL;
  int status;

  /* The backend is the first argument that is not an option. */
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-')
      {
        name = argv[i];
        memmove (argv + i, argv + i + 1, (size_t) (argc - i) * sizeof (char *));
        argc--;
        break;
      }
  if (name == NULL)
    name = "cpu";
#if TEMPER_HAVE_VULKAN
  if (g_str_equal (name, "vulkan"))
    backend_ops_vulkan_setup (&argc, argv);
#endif
  g_test_init (&argc, &argv, NULL);

  sides[REF] = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  sides[DUT] = open_dut (name);

  if (decode_dut)
    {
      /* Only the products generation runs; the rest is the cpu run's. */
      for (guint i = 0; i < backend_ops_n_matmul_cases; i++)
        if (g_str_equal (backend_ops_matmul_cases[i].name, "matmul") ||
            g_str_equal (backend_ops_matmul_cases[i].name, "matvec"))
          register_case (name, &backend_ops_matmul_cases[i], FALSE);
      status = g_test_run ();
      FOR_SIDES (s)
        g_clear_pointer (&sides[s], temper_backend_free);
      return status;
    }
  if (train_fast_dut)
    {
      /* Only the products training's fast mode changes (the lm_head's
       * inside the fused cross-entropy included). */
      g_autofree char *one_thread = g_strconcat (name, "-one-thread", NULL);

      for (guint i = 0; i < backend_ops_n_matmul_cases; i++)
        if (g_str_has_prefix (backend_ops_matmul_cases[i].name, "matmul") ||
            g_str_has_prefix (backend_ops_matmul_cases[i].name, "lm_head_cross_entropy"))
          register_case (name, &backend_ops_matmul_cases[i], FALSE);
      /* The fused lm_head again on one thread, which takes every panel of
       * the vocabulary in turn where three threads share them out. */
      if (sides[DUT] != NULL)
        fast_cpu = temper_cpu_backend_new (1, g_str_equal (name, "cpu-train")
                                              ? TEMPER_CPU_KERNELS_FAST_TRAIN
                                              : TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16);
      for (guint i = 0; i < backend_ops_n_matmul_cases; i++)
        if (g_str_has_prefix (backend_ops_matmul_cases[i].name, "lm_head_cross_entropy"))
          register_case_full (one_thread, &backend_ops_matmul_cases[i], FALSE, TRUE);
      status = g_test_run ();
      FOR_SIDES (s)
        g_clear_pointer (&sides[s], temper_backend_free);
      g_clear_pointer (&fast_cpu, temper_backend_free);
      g_free (no_device_reason);
      return status;
    }
  g_test_add_func ("/support/tables", test_support_tables);
  backend_ops_add_model_tests ();
  for (guint i = 0; i < backend_ops_n_cases; i++)
    register_case (name, &backend_ops_cases[i], FALSE);
  for (guint i = 0; i < backend_ops_n_matmul_cases; i++)
    {
      register_case (name, &backend_ops_matmul_cases[i], FALSE);
      if (dut_kind == TEMPER_BACKEND_VULKAN && backend_ops_matmul_cases[i].matmul_paths == 2)
        register_case (name, &backend_ops_matmul_cases[i], TRUE);
    }
  if (dut_kind == TEMPER_BACKEND_CPU)
    {
      fast_cpu = temper_cpu_backend_new (3, TEMPER_CPU_KERNELS_FAST_DECODE);
      g_test_message ("generation's kernels: %s", temper_cpu_backend_get_kernels_name (fast_cpu));
      register_case_full (name, &backend_ops_matmul_fast_case, FALSE, TRUE);
    }
  for (int i = 0; backend_ops_weight_types[i] >= 0; i++)
    {
      g_autofree char *type = g_ascii_strdown (temper_type_name (backend_ops_weight_types[i]), -1);
      g_autofree char *path = g_strdup_printf ("/%s/golden/%s", name, type);

      g_test_add_data_func (path, GINT_TO_POINTER (backend_ops_weight_types[i]), run_golden);
    }
#if TEMPER_HAVE_VULKAN
  if (dut_kind == TEMPER_BACKEND_VULKAN && sides[DUT] != NULL)
    backend_ops_vulkan_add_tests (name);
#endif

  status = g_test_run ();
  FOR_SIDES (s)
    g_clear_pointer (&sides[s], temper_backend_free);
  g_clear_pointer (&fast_cpu, temper_backend_free);
  g_free (no_device_reason);
  return status;
}
