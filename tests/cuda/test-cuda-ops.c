/* Every op of the CUDA backend against the CPU backend (the reference),
 * on the same random inputs, by normalised error ‖cuda − cpu‖ / ‖cpu‖.
 * Skips, saying why, where no CUDA device is present. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "cuda/temper-cuda-backend.h"

enum { CPU, CUDA, N_SIDES };

static TemperBackend *backends[N_SIDES];
static char *no_cuda_reason;

/* One tensor with the same contents on both backends. */
typedef struct {
  TemperBTensor t[N_SIDES];
} Pair;

static GPtrArray *buffers[N_SIDES];
static guint64 rng_state;

static float
frand (void)
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static gboolean
have_cuda (void)
{
  if (backends[CUDA] == NULL)
    {
      g_test_skip (no_cuda_reason);
      return FALSE;
    }
  rng_state = 1234;
  return TRUE;
}

static Pair
pair_new (int type, int64_t ne0, int64_t ne1, const void *host)
{
  size_t bytes = temper_btensor_bytes (type, ne0, ne1);
  g_autofree guint8 *zeros = host == NULL ? g_malloc0 (bytes) : NULL;
  Pair pair;

  for (int s = 0; s < N_SIDES; s++)
    {
      g_autoptr(GError) error = NULL;
      TemperBuffer *buffer = temper_backend_buffer_alloc (backends[s], bytes,
                                                          TEMPER_BUFFER_ACTIVATIONS, &error);

      g_assert_no_error (error);
      g_ptr_array_add (buffers[s], buffer);
      pair.t[s] = temper_btensor (buffer, 0, type, ne0, ne1);
      temper_backend_upload (backends[s], &pair.t[s], host != NULL ? host : zeros, &error);
      g_assert_no_error (error);
    }
  return pair;
}

static Pair
pair_random (int64_t ne0, int64_t ne1, float scale)
{
  g_autofree float *values = g_new (float, ne0 * ne1);

  for (int64_t i = 0; i < ne0 * ne1; i++)
    values[i] = scale * frand ();
  return pair_new (TEMPER_TYPE_F32, ne0, ne1, values);
}

/* The types Temper only reads (no quantizer): random bytes with each
 * block's fp16 scales set to small values where ggml keeps them.  FALSE for
 * the other types. */
static gboolean
random_blocks (int type, guint8 *data, size_t bytes)
{
  size_t block = temper_type_block_bytes (type);
  size_t d_at, dmin_at = 0;

  switch (type)
    {
    case TEMPER_TYPE_Q2_K: d_at = 80; dmin_at = 82; break;
    case TEMPER_TYPE_Q3_K: d_at = 108; break;
    case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS: d_at = 0; break;
    case TEMPER_TYPE_TQ2_0: d_at = 64; break;
    default: return FALSE;
    }
  for (size_t i = 0; i < bytes; i++)
    data[i] = (guint8) (frand () * 127.0f + 128.0f);
  for (size_t b = 0; b < bytes; b += block)
    {
      guint16 d = temper_f32_to_f16 (0.002f + 0.01f * fabsf (frand ()));

      memcpy (data + b + d_at, &d, 2);
      if (dmin_at != 0)
        memcpy (data + b + dmin_at, &d, 2);
    }
  return TRUE;
}

/* Random weights stored as @type: quantized from random floats with the
 * engine's reference quantizers (random blocks for the types it only
 * reads), so both sides read identical blocks. */
static Pair
pair_weights (int type, int64_t ne0, int64_t ne1)
{
  g_autofree float *values = g_new (float, ne0 * ne1);
  g_autofree guint8 *stored = g_malloc (temper_btensor_bytes (type, ne0, ne1));
  size_t row_bytes = temper_type_row_bytes (type, ne0);

  for (int64_t i = 0; i < ne0 * ne1; i++)
    values[i] = frand ();
  if (random_blocks (type, stored, temper_btensor_bytes (type, ne0, ne1)))
    return pair_new (type, ne0, ne1, stored);
  for (int64_t r = 0; r < ne1; r++)
    g_assert_true (temper_quantize_row (type, values + r * ne0, ne0, stored + r * row_bytes));
  return pair_new (type, ne0, ne1, stored);
}

static Pair
pair_tokens (int n, int n_vocab)
{
  g_autofree gint32 *ids = g_new (gint32, n);

  for (int i = 0; i < n; i++)
    ids[i] = (gint32) ((frand () + 1.0f) * 0.5f * (float) (n_vocab - 1));
  return pair_new (TEMPER_TYPE_I32, n, 1, ids);
}

static void
begin (void)
{
  for (int s = 0; s < N_SIDES; s++)
    temper_backend_begin (backends[s]);
}

static void
flush (void)
{
  for (int s = 0; s < N_SIDES; s++)
    {
      g_autoptr(GError) error = NULL;

      temper_backend_flush (backends[s], &error);
      g_assert_no_error (error);
    }
}

static void
assert_close (const Pair *pair, double tolerance, const char *what)
{
  int64_t n = pair->t[CPU].ne[0] * pair->t[CPU].ne[1];
  g_autofree float *values[N_SIDES] = { g_new (float, n), g_new (float, n) };
  double diff = 0, norm = 0, error;

  for (int s = 0; s < N_SIDES; s++)
    {
      g_autoptr(GError) download_error = NULL;

      temper_backend_download (backends[s], &pair->t[s], values[s], &download_error);
      g_assert_no_error (download_error);
    }
  for (int64_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (values[CUDA][i]));
      diff += ((double) values[CUDA][i] - values[CPU][i]) * ((double) values[CUDA][i] - values[CPU][i]);
      norm += (double) values[CPU][i] * values[CPU][i];
    }
  error = sqrt (diff) / MAX (sqrt (norm), 1e-30);
  g_test_message ("%s: normalised error %.3g over %" G_GINT64_FORMAT " values", what, error, n);
  g_assert_cmpfloat (norm, >, 0.0);   /* a comparison of zeros would prove nothing */
  g_assert_cmpfloat (error, <, tolerance);
}

static const int weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16,
  TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_NF4,
  TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_TQ2_0,
};

static void
test_dequantize (void)
{
  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (weight_types); i++)
    {
      Pair w = pair_weights (weight_types[i], 256, 7);
      Pair out = pair_new (TEMPER_TYPE_F32, 256, 7, NULL);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        backends[s]->ops->dequantize (backends[s], &out.t[s], &w.t[s]);
      flush ();
      /* The same blocks expanded the same way: equal up to fp32 rounding. */
      assert_close (&out, 1e-6, temper_type_name (weight_types[i]));
    }
}

static void
test_embedding (void)
{
  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (weight_types); i++)
    {
      const int64_t dim = temper_type_block_elems (weight_types[i]) > 64 ? 256 : 64;
      Pair table = pair_weights (weight_types[i], dim, 100);
      Pair tokens = pair_tokens (37, 100);
      Pair out = pair_new (TEMPER_TYPE_F32, dim, 37, NULL);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        backends[s]->ops->embedding (backends[s], &out.t[s], &table.t[s], &tokens.t[s]);
      flush ();
      assert_close (&out, 1e-6, temper_type_name (weight_types[i]));
    }
}

static void
test_rmsnorm (void)
{
  Pair x, w, out, rstd, dy, dx;

  if (!have_cuda ())
    return;
  x = pair_random (576, 19, 2.0f);
  w = pair_random (576, 1, 1.0f);
  out = pair_new (TEMPER_TYPE_F32, 576, 19, NULL);
  rstd = pair_new (TEMPER_TYPE_F32, 19, 1, NULL);
  dy = pair_random (576, 19, 1.0f);
  dx = pair_random (576, 19, 1.0f);   /* backward adds into what is there */

  begin ();
  for (int s = 0; s < N_SIDES; s++)
    {
      backends[s]->ops->rmsnorm (backends[s], &out.t[s], &rstd.t[s], &x.t[s], &w.t[s], 1e-5f);
      backends[s]->ops->rmsnorm_backward (backends[s], &dx.t[s], &dy.t[s], &x.t[s], &w.t[s],
                                          &rstd.t[s]);
    }
  flush ();
  assert_close (&out, 1e-5, "rmsnorm");
  assert_close (&rstd, 1e-5, "rmsnorm rstd");
  assert_close (&dx, 1e-5, "rmsnorm backward");
}

static void
test_matmul (void)
{
  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (weight_types); i++)
    {
      /* Sizes off the 64-wide tiles on purpose, to reach the edges (NF4
       * rows are whole 64-blocks, so 192 there, and 256-blocks 256). */
      const int64_t in = temper_type_block_elems (weight_types[i]) == 256 ? 256
                         : weight_types[i] == TEMPER_TYPE_NF4 ? 192 : 96;
      Pair w = pair_weights (weight_types[i], in, 70);
      Pair x = pair_random (in, 45, 1.0f);
      Pair bias = pair_random (70, 1, 1.0f);
      Pair y = pair_random (70, 45, 1.0f);
      Pair y_plain = pair_new (TEMPER_TYPE_F32, 70, 45, NULL);
      Pair dy = pair_random (70, 45, 1.0f);
      Pair dx = pair_random (in, 45, 1.0f);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        {
          backends[s]->ops->matmul (backends[s], &y.t[s], &x.t[s], &w.t[s], &bias.t[s], TRUE);
          backends[s]->ops->matmul (backends[s], &y_plain.t[s], &x.t[s], &w.t[s], NULL, FALSE);
          backends[s]->ops->matmul_backward_input (backends[s], &dx.t[s], &dy.t[s], &w.t[s]);
        }
      flush ();
      assert_close (&y, 1e-5, temper_type_name (weight_types[i]));
      assert_close (&y_plain, 1e-5, temper_type_name (weight_types[i]));
      assert_close (&dx, 1e-5, temper_type_name (weight_types[i]));
    }
}

static void
test_gemm (void)
{
  const int m = 33, n = 17, k = 40;

  if (!have_cuda ())
    return;
  for (int transpose_a = 0; transpose_a < 2; transpose_a++)
    for (int transpose_b = 0; transpose_b < 2; transpose_b++)
      {
        /* Shapes are {columns, rows}: op(A) is m × k, op(B) is k × n. */
        Pair a = transpose_a ? pair_random (m, k, 1.0f) : pair_random (k, m, 1.0f);
        Pair b = transpose_b ? pair_random (k, n, 1.0f) : pair_random (n, k, 1.0f);
        Pair c = pair_random (n, m, 1.0f);

        begin ();
        for (int s = 0; s < N_SIDES; s++)
          backends[s]->ops->gemm (backends[s], &c.t[s], &a.t[s], transpose_a, &b.t[s],
                                  transpose_b, 0.5f, 0.25f);
        flush ();
        assert_close (&c, 1e-5, transpose_a ? (transpose_b ? "AᵀBᵀ" : "AᵀB")
                                            : (transpose_b ? "ABᵀ" : "AB"));
      }
}

static void
test_rope (void)
{
  static const TemperRopeLayout layouts[] = { TEMPER_ROPE_INTERLEAVED, TEMPER_ROPE_HALVES };

  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (layouts); i++)
    {
      /* 3 heads of 64, 2 sequences of 10 rows starting at position 500. */
      Pair x = pair_random (192, 20, 1.0f);
      Pair dx = pair_random (192, 20, 1.0f);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        {
          backends[s]->ops->rope (backends[s], &x.t[s], 3, 64, 10, 500, 1e5f, layouts[i]);
          backends[s]->ops->rope_backward (backends[s], &dx.t[s], 3, 64, 10, 500, 1e5f,
                                           layouts[i]);
        }
      flush ();
      assert_close (&x, 1e-5, "rope");
      assert_close (&dx, 1e-5, "rope backward");
    }
}

static void
test_swiglu (void)
{
  Pair gate, up, out, dout, dgate, dup;

  if (!have_cuda ())
    return;
  gate = pair_random (1536, 9, 4.0f);
  up = pair_random (1536, 9, 1.0f);
  out = pair_new (TEMPER_TYPE_F32, 1536, 9, NULL);
  dout = pair_random (1536, 9, 1.0f);
  dgate = pair_random (1536, 9, 1.0f);
  dup = pair_random (1536, 9, 1.0f);

  begin ();
  for (int s = 0; s < N_SIDES; s++)
    {
      backends[s]->ops->swiglu (backends[s], &out.t[s], &gate.t[s], &up.t[s]);
      backends[s]->ops->swiglu_backward (backends[s], &dgate.t[s], &dup.t[s], &dout.t[s],
                                         &gate.t[s], &up.t[s]);
    }
  flush ();
  assert_close (&out, 1e-6, "swiglu");
  assert_close (&dgate, 1e-6, "swiglu backward gate");
  assert_close (&dup, 1e-6, "swiglu backward up");
}

/* Both sides of @pair equal bit for bit. */
static void
assert_identical (const Pair *pair, const char *what)
{
  size_t bytes = temper_btensor_bytes (pair->t[CPU].type, pair->t[CPU].ne[0], pair->t[CPU].ne[1]);
  g_autofree guint8 *values[N_SIDES] = { g_malloc (bytes), g_malloc (bytes) };

  for (int s = 0; s < N_SIDES; s++)
    g_assert_true (temper_backend_download (backends[s], &pair->t[s], values[s], NULL));
  g_test_message ("%s: %zu values identical", what, bytes / 4);
  g_assert_cmpmem (values[CUDA], bytes, values[CPU], bytes);
}

/* LoRA dropout: forward out of place, and in place as the backward uses it.
 * The masks and products must equal the CPU's exactly, not merely closely. */
static void
test_dropout (void)
{
  static const int64_t shapes[][2] = { { 33, 7 }, { 1536, 61 }, { 4096, 700 } };
  static const float rates[] = { 0.05f, 0.3f, 0.9f };

  if (!have_cuda ())
    return;
  g_assert_true (temper_backend_supports_op (backends[CUDA], TEMPER_OP_DROPOUT, TEMPER_TYPE_F32));
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      Pair x = pair_random (shapes[i][0], shapes[i][1], 1.0f);
      Pair y = pair_new (TEMPER_TYPE_F32, shapes[i][0], shapes[i][1], NULL);
      Pair inplace = pair_random (shapes[i][0], shapes[i][1], 1.0f);
      guint64 key = 0x9d3c5a7e12345678ull * (i + 1);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        {
          backends[s]->ops->dropout (backends[s], &y.t[s], &x.t[s], rates[i], key);
          backends[s]->ops->dropout (backends[s], &inplace.t[s], &inplace.t[s], rates[i], key);
        }
      flush ();
      assert_identical (&y, "dropout");
      assert_identical (&inplace, "dropout in place");
    }
}

static void
test_adamw_and_vectors (void)
{
  static const float max_norms[] = { 0.0f, 0.5f };

  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (max_norms); i++)
    {
      Pair param = pair_random (1000, 3, 1.0f);
      Pair grad = pair_random (1000, 3, 0.1f);
      Pair m = pair_random (1000, 3, 0.01f);
      Pair v = pair_new (TEMPER_TYPE_F32, 1000, 3, NULL);
      Pair sumsq = pair_new (TEMPER_TYPE_F32, 1, 1, NULL);
      Pair a = pair_random (1000, 3, 1.0f);
      Pair sum = pair_new (TEMPER_TYPE_F32, 1000, 3, NULL);
      Pair cleared = pair_random (1000, 3, 1.0f);
      TemperAdamWParams params = {
        .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0.01f, .step = 3, .max_grad_norm = max_norms[i],
      };

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        {
          TemperBackend *b = backends[s];

          b->ops->sum_squares (b, &sumsq.t[s], &grad.t[s]);
          b->ops->adamw (b, &param.t[s], &grad.t[s], &m.t[s], &v.t[s], &sumsq.t[s], &params);
          b->ops->add (b, &sum.t[s], &a.t[s], &param.t[s]);
          b->ops->scale (b, &a.t[s], -3.0f);
          b->ops->zero (b, &cleared.t[s]);
        }
      flush ();
      assert_close (&sumsq, 1e-5, "sum of squares");
      assert_close (&param, 1e-6, "adamw parameters");
      assert_close (&m, 1e-6, "adamw first moment");
      assert_close (&v, 1e-6, "adamw second moment");
      assert_close (&sum, 1e-6, "add");
      assert_close (&a, 1e-6, "scale");
      {
        float zeros[4] = { 1, 1, 1, 1 };
        TemperBTensor head = temper_btensor_rows (&cleared.t[CUDA], 0, 1);

        head.ne[0] = 4;
        g_assert_true (temper_backend_download (backends[CUDA], &head, zeros, NULL));
        g_assert_cmpfloat (zeros[0] + zeros[1] + zeros[2] + zeros[3], ==, 0.0f);
      }
    }
}

static void
test_attention (void)
{
  /* 6 query heads over 2 kv heads of 64, 2 sequences; the second case
   * continues after 5 cached positions, as generation does. */
  static const int offsets[] = { 0, 5 };

  if (!have_cuda ())
    return;
  for (gsize c = 0; c < G_N_ELEMENTS (offsets); c++)
    {
      TemperAttentionParams params = {
        .n_head = 6, .n_head_kv = 2, .head_dim = 64, .n_seq = 2, .n_query = 11,
        .n_key = 11 + offsets[c], .q_offset = offsets[c], .scale = 0.125f,
      };
      int q_rows = params.n_seq * params.n_query, k_rows = params.n_seq * params.n_key;
      Pair q = pair_random (6 * 64, q_rows, 1.0f);
      Pair k = pair_random (2 * 64, k_rows, 1.0f);
      Pair v = pair_random (2 * 64, k_rows, 1.0f);
      Pair out = pair_new (TEMPER_TYPE_F32, 6 * 64, q_rows, NULL);
      Pair lse = pair_new (TEMPER_TYPE_F32, 6, q_rows, NULL);
      Pair dout = pair_random (6 * 64, q_rows, 1.0f);
      Pair dq = pair_random (6 * 64, q_rows, 1.0f);
      Pair dk = pair_random (2 * 64, k_rows, 1.0f);
      Pair dv = pair_random (2 * 64, k_rows, 1.0f);

      begin ();
      for (int s = 0; s < N_SIDES; s++)
        {
          TemperBackend *b = backends[s];

          b->ops->attention (b, &out.t[s], &lse.t[s], &q.t[s], &k.t[s], &v.t[s], &params);
          b->ops->attention_backward (b, &dq.t[s], &dk.t[s], &dv.t[s], &dout.t[s], &out.t[s],
                                      &lse.t[s], &q.t[s], &k.t[s], &v.t[s], &params);
        }
      flush ();
      assert_close (&out, 1e-5, "attention");
      assert_close (&lse, 1e-5, "attention log-sum-exp");
      assert_close (&dq, 1e-5, "attention backward q");
      assert_close (&dk, 1e-5, "attention backward k");
      assert_close (&dv, 1e-5, "attention backward v");
    }
}

static void
test_lm_head_cross_entropy (void)
{
  static const int types[] = { TEMPER_TYPE_F32, TEMPER_TYPE_Q8_0 };

  if (!have_cuda ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      /* 23 rows in chunks of 8 (a short last chunk), some rows masked. */
      gint32 ids[23];
      Pair w = pair_weights (types[i], 64, 500);
      Pair x = pair_random (64, 23, 1.0f);
      Pair loss = pair_new (TEMPER_TYPE_F32, 2, 1, NULL);
      Pair dx = pair_random (64, 23, 1.0f);
      Pair scratch = pair_new (TEMPER_TYPE_F32, 500, 8, NULL);
      Pair targets;

      for (int r = 0; r < 23; r++)
        ids[r] = r % 5 == 0 ? -1 : (r * 37) % 500;
      targets = pair_new (TEMPER_TYPE_I32, 23, 1, ids);
      begin ();
      for (int s = 0; s < N_SIDES; s++)
        backends[s]->ops->lm_head_cross_entropy (backends[s], &loss.t[s], &dx.t[s], &x.t[s],
                                                 &w.t[s], &targets.t[s], &scratch.t[s], 0.05f);
      flush ();
      assert_close (&loss, 1e-5, "loss and target count");
      assert_close (&dx, 1e-5, "lm_head backward");
    }
}

static void
test_unsupported_ops_said (void)
{
  if (!have_cuda ())
    return;
  /* Types without kernels must be declined, so callers refuse with a reason. */
  g_assert_false (temper_backend_supports_op (backends[CUDA], TEMPER_OP_MATMUL, TEMPER_TYPE_Q6_K));
  g_assert_true (temper_backend_supports_op (backends[CUDA], TEMPER_OP_MATMUL, TEMPER_TYPE_Q4_1));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  backends[CPU] = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  backends[CUDA] = temper_cuda_backend_new (0, &error);
  if (backends[CUDA] == NULL)
    no_cuda_reason = g_strdup_printf ("no CUDA device: %s", error->message);
  for (int s = 0; s < N_SIDES; s++)
    buffers[s] = g_ptr_array_new ();

  g_test_add_func ("/cuda/dequantize", test_dequantize);
  g_test_add_func ("/cuda/embedding", test_embedding);
  g_test_add_func ("/cuda/rmsnorm", test_rmsnorm);
  g_test_add_func ("/cuda/matmul", test_matmul);
  g_test_add_func ("/cuda/gemm", test_gemm);
  g_test_add_func ("/cuda/rope", test_rope);
  g_test_add_func ("/cuda/swiglu", test_swiglu);
  g_test_add_func ("/cuda/dropout", test_dropout);
  g_test_add_func ("/cuda/adamw-and-vectors", test_adamw_and_vectors);
  g_test_add_func ("/cuda/attention", test_attention);
  g_test_add_func ("/cuda/lm-head-cross-entropy", test_lm_head_cross_entropy);
  g_test_add_func ("/cuda/unsupported-ops-said", test_unsupported_ops_said);
  status = g_test_run ();

  for (int s = 0; s < N_SIDES; s++)
    {
      if (backends[s] != NULL)
        for (guint i = 0; i < buffers[s]->len; i++)
          temper_backend_buffer_free (backends[s], buffers[s]->pdata[i]);
      g_ptr_array_unref (buffers[s]);
      if (backends[s] != NULL)
        temper_backend_free (backends[s]);
    }
  g_free (no_cuda_reason);
  return status;
}
