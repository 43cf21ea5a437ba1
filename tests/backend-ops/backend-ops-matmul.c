/* SPDX-License-Identifier: MIT */
/* backend-ops-matmul.c — the op cases that read a frozen weight, over every
 * weight type: dequantize, embedding, matmul (with bias, accumulating),
 * matmul_backward_input, the fused lm_head + cross-entropy, gemm (F32
 * LoRA products) and the mixture of experts.  Weights alternate between
 * random blocks (every bit pattern, sane scales) and random floats quantized
 * by Temper's quantizers, where it has one for the type. */
#include "config.h"

#include <math.h>

#include "backend-ops.h"

/* Products M (tokens) × N (outputs) × K (inputs): odd sizes, none a multiple
 * of the 16/32/64 tiles, one row (the matvec path on GPUs), and rows of x
 * scaled beyond float16's range (3e5) and under its normal range (1e-7,
 * like backward gradients), which a backend computing in float16 must bring
 * into range itself.  Outputs and biases share the scale so neither hides
 * the product's error.  The last shape is 45 × 70 with K = 96, 192 or 256. */
static const int64_t mm_tokens[] = { 1, 7, 70, 33, 130, 45 };
static const int64_t mm_outs[] = { 33, 129, 65, 7, 97, 70 };
static const double mm_scales[] = { 1.0, 1.0, 3e5, 1e-7, 1.0, 1.0 };

const int64_t tile_shapes[4][2] = { { 64, 64 }, { 65, 127 }, { 200, 65 }, { 17, 1 } };

static void
step (void)
{
  flush_both ();
  begin_both ();
}

static int64_t
mm_cols (int type, guint i)
{
  if (i == 5)
    return temper_type_block_elems (type) == 256 ? 256 : temper_type_block_elems (type) == 64 ? 192 : 96;
  return weight_cols (type, (int) i % 3);
}

static void
case_dequantize (int type)
{
  static const int64_t rows[] = { 1, 7, 33, 7 };

  for (int i = 0; i < 4; i++)
    {
      int64_t cols = i < 3 ? weight_cols (type, i) : 256;
      Pair *w = pair_weight (type, cols, rows[i], i % 2);
      Pair *out = pair_new (TEMPER_TYPE_F32, cols, rows[i], NULL);

      FOR_SIDES (s)
        OPS (s)->dequantize (sides[s], &out->t[s], &w->t[s]);
      step ();
      /* The same blocks expanded the same way: equal up to fp32 rounding. */
      check_close ("dequantize", out, 1e-6);
    }
}

static void
case_embedding (int type)
{
  gint32 fixed[9] = { 0, 32, 5, 5, 17, 1, 31, 8, 0 };
  g_autofree gint32 *drawn = g_new (gint32, 37);

  for (int i = 0; i < 37; i++)
    drawn[i] = g_rand_int_range (rng, 0, 100);
  for (int c = 0; c < 2; c++)
    {
      int64_t cols = c == 0 ? weight_cols (type, 1) : temper_type_block_elems (type) > 64 ? 256 : 64;
      int64_t vocab = c == 0 ? 33 : 100, n = c == 0 ? 9 : 37;
      Pair *table = pair_weight (type, cols, vocab, c == 1);
      Pair *tokens = pair_new (TEMPER_TYPE_I32, n, 1, c == 0 ? fixed : drawn);
      Pair *out = pair_new (TEMPER_TYPE_F32, cols, n, NULL);

      FOR_SIDES (s)
        OPS (s)->embedding (sides[s], &out->t[s], &table->t[s], &tokens->t[s]);
      step ();
      check_close ("embedding", out, 1e-6);
    }
}

/* cap > 0: the soft-capped loss (Gemma 2), whose cap bites on logits near
 * 10 (the cap's derivative is then far from 1). */
static void
cross_entropy_cases (int type, float cap)
{
  /* vocab, rows, rows a chunk, gradient scale; the third: more rows than
   * the chunk and a vocabulary wide enough that the CPU takes it in slices
   * of words (384, 384, 232) rather than chunks of rows.  Training's fast
   * mode on the CPU (cpu-train, 3 threads) takes all but the first (under
   * 16 rows) with the vocabulary outermost in panels of 256 words, shared
   * out between the threads: 1000 words are four panels,
   * the last of 232; the fourth shape has rows past one block of 512 and
   * a vocabulary that is no multiple of 32, two panels for three threads;
   * the fifth gives the CPU's fast mode a scratch large enough to work in
   * (as training's is); the sixth is one whole panel (two threads take
   * none); the seventh eleven panels, the last of 40 words, which three
   * threads cannot share evenly (and the cpu-train-one-thread run has one
   * thread take them all). */
  static const struct { int64_t vocab, T, chunk; float scale; } shapes[] = {
    { 129, 7, 3, 0.2f }, { 500, 23, 8, 0.05f }, { 1000, 20, 8, 0.1f }, { 301, 530, 8, 0.02f },
    { 301, 40, 400, 0.1f }, { 256, 24, 8, 0.1f }, { 2600, 33, 8, 0.05f },
  };

  for (guint c = 0; c < G_N_ELEMENTS (shapes); c++)
    {
      int64_t n_embd = c == 0 ? weight_cols (type, 1) : temper_type_block_elems (type) == 256 ? 256 : 64;
      int64_t T = shapes[c].T, vocab = shapes[c].vocab;
      g_autofree gint32 *targets = g_new (gint32, T);
      static const gint32 first_targets[7] = { 3, -1, 128, 0, 64, -1, 7 };
      float zeros[2] = { 0, 0 };
      Pair *w = pair_weight (type, n_embd, vocab, c != 0);
      /* x of norm about 1, so the logits stay near 10 even with the K-quant
       * test weights (up to ~100): larger logits saturate the softmax, whose
       * gradient then amplifies fp32 rounding of the logits past 1e-5. */
      Pair *x = pair_random (n_embd, T, 1.0 / sqrt ((double) n_embd));
      Pair *loss = pair_new (TEMPER_TYPE_F32, 2, 1, zeros);
      Pair *dx = pair_random (n_embd, T, 1.0);
      Pair *scratch = pair_new (TEMPER_TYPE_F32, vocab, shapes[c].chunk, NULL);
      Pair *tg;

      /* Some rows masked, the last target of the vocabulary, a short last chunk. */
      for (int64_t r = 0; r < T; r++)
        targets[r] = c == 0 ? first_targets[r] : r % 5 == 0 ? -1 : (gint32) ((r * 37) % vocab);
      tg = pair_new (TEMPER_TYPE_I32, T, 1, targets);
      FOR_SIDES (s)
        if (cap > 0.0f)
          OPS (s)->lm_head_cross_entropy_softcap (sides[s], &loss->t[s], &dx->t[s], &x->t[s], &w->t[s],
                                                  &tg->t[s], &scratch->t[s], shapes[c].scale, cap);
        else
          OPS (s)->lm_head_cross_entropy (sides[s], &loss->t[s], &dx->t[s], &x->t[s], &w->t[s], &tg->t[s],
                                          &scratch->t[s], shapes[c].scale);
      step ();
      check_close (cap > 0.0f ? "lm_head_cross_entropy_softcap loss and target count"
                              : "lm_head_cross_entropy loss and target count", loss, lm_head_tolerance);
      check_close (cap > 0.0f ? "lm_head_cross_entropy_softcap dx" : "lm_head_cross_entropy dx", dx,
                   lm_head_tolerance);
    }
}

/* The vocabulary's panels shared out as in cross_entropy_cases (), on
 * weights whose rows share one direction m (each row m plus a part of its
 * own a quarter as long).  With independent rows, the softmax-weighted sum
 * of rows in dx nearly cancels, dx is mostly −W[target], and a thread's
 * share counted twice moved dx by under 1 % (Q4_0); here that sum is about
 * m, four times what dx keeps: a share counted twice moved dx by 3.7 times
 * its size, a part's sum overwritten by each panel by 2.1 times, a sum not
 * rescaled when its row's maximum rose by 2.4e-2 to 5.3e-2.  fp32 weights:
 * how panels are shared out does not depend on the type.  The bfloat16 products come
 * within 5e-3 here (6.2e-4 measured with the same rounding), so the fast
 * mode's 3e-2 is tightened. */
static void
case_cross_entropy_shared_direction (int type)
{
  static const struct { int64_t vocab, T; } shapes[] = {
    { 256, 24 }, { 1000, 20 }, { 2600, 33 }, { 301, 530 },
  };
  const int64_t n_embd = 64;

  for (guint c = 0; c < G_N_ELEMENTS (shapes); c++)
    {
      int64_t T = shapes[c].T, vocab = shapes[c].vocab;
      g_autofree float *m = random_f32 ((gsize) n_embd, 1.0);
      g_autofree float *rows = random_f32 ((gsize) (n_embd * vocab), 0.25);
      g_autofree gint32 *targets = g_new (gint32, T);
      float zeros[2] = { 0, 0 };
      double tolerance = MIN (lm_head_tolerance, 5e-3);
      Pair *w, *x, *loss, *dx, *scratch, *tg;

      for (int64_t v = 0; v < vocab; v++)
        for (int64_t e = 0; e < n_embd; e++)
          rows[v * n_embd + e] += m[e];
      for (int64_t r = 0; r < T; r++)
        targets[r] = r % 5 == 0 ? -1 : (gint32) ((r * 37) % vocab);
      w = pair_new (TEMPER_TYPE_F32, n_embd, vocab, rows);
      x = pair_random (n_embd, T, 1.0 / sqrt ((double) n_embd));
      loss = pair_new (TEMPER_TYPE_F32, 2, 1, zeros);
      dx = pair_random (n_embd, T, 0.01);
      scratch = pair_new (TEMPER_TYPE_F32, vocab, 8, NULL);
      tg = pair_new (TEMPER_TYPE_I32, T, 1, targets);
      FOR_SIDES (s)
        OPS (s)->lm_head_cross_entropy (sides[s], &loss->t[s], &dx->t[s], &x->t[s], &w->t[s], &tg->t[s],
                                        &scratch->t[s], 0.1f);
      step ();
      check_close ("lm_head_cross_entropy loss and target count, rows sharing a direction", loss, tolerance);
      check_close ("lm_head_cross_entropy dx, rows sharing a direction", dx, tolerance);
    }
}

static void
case_cross_entropy (int type)
{
  cross_entropy_cases (type, 0.0f);
}

static void
case_cross_entropy_softcap (int type)
{
  cross_entropy_cases (type, 4.0f);
}

static void
case_matmul (int type)
{
  for (guint i = 0; i < G_N_ELEMENTS (mm_tokens); i++)
    {
      int64_t in = mm_cols (type, i), M = mm_tokens[i], N = mm_outs[i];
      double scale = mm_scales[i];
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *x = pair_random (in, M, scale), *bias = pair_random (N, 1, scale);
      Pair *y = pair_random (N, M, scale), *plain = pair_new (TEMPER_TYPE_F32, N, M, NULL);
      gboolean with_bias = i % 2 == 1 || i == 5, accumulate = i % 3 == 2 || i == 5;
      g_autofree char *what = g_strdup_printf ("matmul%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT ", x scale %g",
                                               with_bias ? " + bias" : "", accumulate ? ", accumulate" : "",
                                               M, N, in, scale);

      FOR_SIDES (s)
        {
          OPS (s)->matmul (sides[s], &y->t[s], &x->t[s], &w->t[s], with_bias ? &bias->t[s] : NULL, accumulate);
          OPS (s)->matmul (sides[s], &plain->t[s], &x->t[s], &w->t[s], NULL, FALSE);
        }
      step ();
      check_close (what, y, matmul_tolerance);
      check_close ("matmul without bias", plain, matmul_tolerance);
    }
}

static void
case_matmul_backward_input (int type)
{
  for (guint i = 0; i < G_N_ELEMENTS (mm_tokens); i++)
    {
      int64_t in = mm_cols (type, i), M = mm_tokens[i], N = mm_outs[i];
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *dy = pair_random (N, M, mm_scales[i]);
      Pair *dx = pair_random (in, M, mm_scales[i]);   /* += into existing values */
      g_autofree char *what = g_strdup_printf ("matmul_backward_input %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT ", dy scale %g", M, in, N, mm_scales[i]);

      FOR_SIDES (s)
        OPS (s)->matmul_backward_input (sides[s], &dx->t[s], &dy->t[s], &w->t[s]);
      step ();
      check_close (what, dx, matmul_tolerance);
    }
}

/* Generation's shapes: every number of rows from 1 to 16 (GPU matvec
 * shaders keep one accumulator per row), outputs not a multiple of the
 * columns a workgroup covers, inputs long enough that every lane takes
 * several chunks; the forward product and the transposed one. */
static void
case_matvec (int type)
{
  for (int64_t M = 1; M <= MATVEC_MAX_ROWS; M++)
    {
      int64_t K = matvec_cols (type, M), N = matvec_outs (M);
      Pair *w = pair_weight (type, K, N, M % 2);
      Pair *x = pair_random (K, M, 1.0), *bias = pair_random (N, 1, 1.0), *y = pair_random (N, M, 1.0);
      Pair *dy = pair_random (N, M, 1.0), *dx = pair_random (K, M, 1.0);
      gboolean with_bias = M % 2 == 1, accumulate = M % 3 == 0;
      g_autofree char *what = g_strdup_printf ("matvec%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT, with_bias ? " + bias" : "",
                                               accumulate ? ", accumulate" : "", M, N, K);

      FOR_SIDES (s)
        {
          OPS (s)->matmul (sides[s], &y->t[s], &x->t[s], &w->t[s], with_bias ? &bias->t[s] : NULL, accumulate);
          OPS (s)->matmul_backward_input (sides[s], &dx->t[s], &dy->t[s], &w->t[s]);
        }
      step ();
      /* The forward product is generation's (cpu-decode: x rounded); the
       * transposed one is training's, exact everywhere. */
      check_close (what, y, MAX (matmul_tolerance, 1e-5));
      check_close ("matvec transposed", dx, 1e-5);
    }
}

/* Training's shapes: exactly one 64×64 tile, one row or column past it,
 * several tiles with ragged edges, and the smallest M past the matvec
 * shaders; inputs that are and are not a multiple of a 16-wide k step. */
static void
case_matmul_tiles (int type)
{
  for (guint s = 0; s < G_N_ELEMENTS (tile_shapes); s++)
    {
      int64_t M = tile_shapes[s][0], N = tile_shapes[s][1], K = weight_cols (type, (int) s % 3);
      Pair *w = pair_weight (type, K, N, s % 2);
      Pair *x = pair_random (K, M, 1.0), *y = pair_random (N, M, 1.0);
      Pair *dy = pair_random (N, M, 1.0), *dx = pair_random (K, M, 1.0);
      g_autofree char *what = g_strdup_printf ("tiled matmul %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT, M, N, K);

      FOR_SIDES (i)
        {
          OPS (i)->matmul (sides[i], &y->t[i], &x->t[i], &w->t[i], NULL, s % 2 == 1);
          OPS (i)->matmul_backward_input (sides[i], &dx->t[i], &dy->t[i], &w->t[i]);
        }
      step ();
      check_close (what, y, matmul_tolerance);
      check_close ("tiled matmul transposed", dx, matmul_tolerance);
    }
}

static void
case_gemm (int type)
{
  /* M, N, K, beta: the fourth spans several 64×64 tiles with ragged edges. */
  static const struct { int64_t M, N, K; float beta; } shapes[] = {
    { 7, 33, 129, -1 }, { 1, 16, 5, -1 }, { 33, 7, 64, -1 }, { 130, 67, 33, -1 }, { 33, 17, 40, 0.25f },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        {
          int64_t M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
          Pair *a = ta ? pair_random (M, K, 1.0) : pair_random (K, M, 1.0);
          Pair *b = tb ? pair_random (K, N, 1.0) : pair_random (N, K, 1.0);
          Pair *c = pair_random (N, M, 1.0);
          float beta = shapes[s].beta >= 0 ? shapes[s].beta : (ta + tb + s) % 2 ? 1.0f : 0.0f;
          g_autofree char *what = g_strdup_printf ("gemm %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%"
                                                   G_GINT64_FORMAT " ta=%d tb=%d beta=%g", M, N, K, ta, tb, beta);

          FOR_SIDES (i)
            OPS (i)->gemm (sides[i], &c->t[i], &a->t[i], ta, &b->t[i], tb, 0.5f, beta);
          step ();
          check_close (what, c, 1e-5);
        }
}

/* The mixture of experts (Qwen3-MoE, Mixtral): experts of the weight type,
 * the router F32 (llama.cpp never quantizes it) or, in the last shape, F16.
 * (A quantized router would do on Vulkan, but the CPU's fast kernels
 * round its logits enough that the softmax's gradient leaves 1e-5 on the
 * way back.)  Shapes: a few tokens; more tokens than one 64-row tile routed
 * to one expert; a single token (generation); one expert per token, not
 * renormalised.  The backward adds into a random dx, from the reference's
 * routing on both sides (same x), through experts and router. */
static void
case_moe (int type)
{
  /* experts, used, tokens, renormalise, F16 router */
  static const struct { int n, k, T; gboolean norm, f16_router; } shapes[] = {
    { 4, 2, 7, TRUE, FALSE }, { 3, 2, 130, FALSE, FALSE }, { 8, 3, 1, TRUE, FALSE },
    { 5, 1, 33, FALSE, FALSE }, { 4, 2, 19, TRUE, TRUE },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int n = shapes[s].n, k = shapes[s].k, T = shapes[s].T;
      int64_t E = weight_cols (type, (int) s % 2), F = weight_cols (type, 2 - (int) s % 3);
      TemperBTensor experts[N_SIDES][3 * 8];
      TemperMoe moe[N_SIDES];
      /* Router logits of order one, so that no two experts come near a tie
       * that rounding could break differently on the two sides. */
      Pair *router = shapes[s].f16_router ? pair_weight (TEMPER_TYPE_F16, E, n, TRUE)
                                          : pair_random (E, n, 1.5 / sqrt ((double) E));
      Pair *x = pair_random (E, T, 1.0), *dout = pair_random (E, T, 1.0), *dx = pair_random (E, T, 1.0);
      Pair *out = pair_new (TEMPER_TYPE_F32, E, T, NULL);
      Pair *w[3 * 8];
      g_autofree char *what = g_strdup_printf ("moe %d experts, %d used, %d tokens, %" G_GINT64_FORMAT
                                               " x %" G_GINT64_FORMAT ", %s", n, k, T, E, F,
                                               shapes[s].norm ? "renormalised" : "not renormalised");

      for (int e = 0; e < n; e++)
        {
          w[e] = pair_weight (type, E, F, (e + (int) s) % 2);
          w[8 + e] = pair_weight (type, E, F, (e + (int) s + 1) % 2);
          w[16 + e] = pair_weight (type, F, E, (e + (int) s) % 2);
        }
      FOR_SIDES (i)
        {
          for (int e = 0; e < n; e++)
            {
              experts[i][e] = w[e]->t[i];
              experts[i][8 + e] = w[8 + e]->t[i];
              experts[i][16 + e] = w[16 + e]->t[i];
            }
          moe[i] = (TemperMoe) { n, k, (int) F, shapes[s].norm, router->t[i],
                                 experts[i], experts[i] + 8, experts[i] + 16 };
          OPS (i)->moe (sides[i], &out->t[i], &x->t[i], &moe[i]);
        }
      step ();
      check_close (what, out, matmul_tolerance);
      FOR_SIDES (i)
        OPS (i)->moe_backward (sides[i], &dx->t[i], &dout->t[i], &x->t[i], &moe[i]);
      step ();
      check_close ("moe_backward", dx, matmul_tolerance);
    }
}

/* Generation's many-token products with rounded activations (the CPU's
 * FAST_DECODE kernels: 8 bits per block of 32 for the integer-quantised
 * types, bfloat16 for F16 and BF16): prompt chunks of tokens that are not a
 * multiple of any register tile, from just past the decode path (5) up,
 * outputs past one and several 32-row panels with ragged ends, one to many
 * blocks per row (for F16/BF16/F32 also widths no kernel takes, 33, 129,
 * 7), with bias and accumulating, x at scales where rounding must be
 * relative.  Each x is rounded by at most half a step of max|x|/127 per
 * block of 32, a normalized error of about 0.4 % (bfloat16: 0.2 %); a wrong
 * quant, scale or offset gives tens of percent. */
static void
case_matmul_fast (int type)
{
  static const int64_t tokens[] = { 5, 7, 70, 33, 130, 64 };
  static const int64_t outs[] = { 33, 129, 65, 7, 97, 70 };
  static const double scales[] = { 1.0, 3e5, 1.0, 1e-7, 1.0, 1.0 };

  for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
    {
      gboolean whole_blocks = temper_type_block_elems (type) == 1 && i % 2 == 0;
      int64_t in = i == 5 ? 1024 : whole_blocks ? 32 * (1 + (int64_t) i) : weight_cols (type, (int) i % 3);
      int64_t M = tokens[i], N = outs[i];
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *x = pair_random (in, M, scales[i]), *bias = pair_random (N, 1, scales[i]);
      Pair *y = pair_random (N, M, scales[i]);
      gboolean with_bias = i % 2 == 1, accumulate = i % 3 == 2;
      g_autofree char *what = g_strdup_printf ("fast matmul%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT ", x scale %g",
                                               with_bias ? " + bias" : "", accumulate ? ", accumulate" : "",
                                               M, N, in, scales[i]);

      FOR_SIDES (s)
        OPS (s)->matmul (sides[s], &y->t[s], &x->t[s], &w->t[s], with_bias ? &bias->t[s] : NULL, accumulate);
      step ();
      check_close (what, y, 1e-2);
    }
}

/* Training's frozen products at its own widths (576 and 1536 features as in
 * the demo model; 512 for 256-wide blocks), tokens past one and several
 * 32-row tile blocks with ragged ends, outputs past one and several 32-wide
 * panels, forward with bias and accumulating, and the input gradient adding
 * into dx.  On cpu-train (bfloat16 inputs, fp32 sums; the forward stays
 * fp32 since training's fast mode keeps it exact) each product moves by
 * at most 2⁻⁸ of |x|·|W|, a normalized error of about 2e-3; a misplaced
 * pair or tile gives tens of percent. */
static void
case_matmul_train (int type)
{
  static const struct { int64_t T, out; gboolean wide, bias, accumulate; } shapes[] = {
    { 130, 97, FALSE, TRUE, FALSE }, { 40, 65, TRUE, FALSE, TRUE }, { 17, 200, FALSE, TRUE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int64_t in = shapes[i].wide ? 1536 : temper_type_block_elems (type) == 256 ? 512 : 576;
      int64_t M = shapes[i].T, N = shapes[i].out;
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *x = pair_random (in, M, 1.0), *bias = pair_random (N, 1, 1.0), *y = pair_random (N, M, 1.0);
      Pair *dy = pair_random (N, M, 1e-3), *dx = pair_random (in, M, 1e-3);
      g_autofree char *what = g_strdup_printf ("training matmul%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT, shapes[i].bias ? " + bias" : "",
                                               shapes[i].accumulate ? ", accumulate" : "", M, N, in);

      FOR_SIDES (s)
        {
          OPS (s)->matmul (sides[s], &y->t[s], &x->t[s], &w->t[s], shapes[i].bias ? &bias->t[s] : NULL,
                           shapes[i].accumulate);
          OPS (s)->matmul_backward_input (sides[s], &dx->t[s], &dy->t[s], &w->t[s]);
        }
      step ();
      check_close (what, y, matmul_tolerance);
      check_close ("training matmul input gradient", dx, matmul_tolerance);
    }
}

/* The LoRA forward in one op (y = x·Wᵀ + bias + s·h·Bᵀ, h transposed),
 * tokens past one 96-token step of the CPU's fused path. */
static void
case_matmul_lora (int type)
{
  static const struct { int64_t T, out, r; gboolean bias; } shapes[] = {
    { 130, 97, 16, TRUE }, { 40, 65, 5, FALSE }, { 9, 33, 16, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int64_t in = temper_type_block_elems (type) == 256 ? 512 : 576;
      int64_t T = shapes[i].T, N = shapes[i].out, r = shapes[i].r;
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *x = pair_random (in, T, 1.0), *bias = pair_random (N, 1, 1.0), *y = pair_random (N, T, 1.0);
      Pair *hT = pair_random (T, r, 1.0), *b = pair_random (r, N, 0.5);
      g_autofree char *what = g_strdup_printf ("matmul_lora%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT " rank %" G_GINT64_FORMAT,
                                               shapes[i].bias ? " + bias" : "", T, N, in, r);

      FOR_SIDES (s)
        OPS (s)->matmul_lora (sides[s], &y->t[s], &x->t[s], &w->t[s], shapes[i].bias ? &bias->t[s] : NULL,
                              &hT->t[s], &b->t[s], 1.5f);
      step ();
      check_close (what, y, matmul_tolerance);
    }
}

/* dx += dy·W + dh·A in one op (dh transposed; A one target's or a stacked
 * group's). */
static void
case_matmul_backward_input_lora (int type)
{
  static const struct { int64_t T, out, R; } shapes[] = { { 130, 97, 48 }, { 40, 65, 5 }, { 9, 33, 16 } };

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int64_t in = temper_type_block_elems (type) == 256 ? 512 : 576;
      int64_t T = shapes[i].T, N = shapes[i].out, R = shapes[i].R;
      Pair *w = pair_weight (type, in, N, i % 2);
      Pair *dy = pair_random (N, T, 1e-3), *dx = pair_random (in, T, 1e-3);
      Pair *dhT = pair_random (T, R, 1e-3), *A = pair_random (in, R, 0.5);
      g_autofree char *what = g_strdup_printf ("matmul_backward_input_lora %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT " R %" G_GINT64_FORMAT, T, N, in, R);

      FOR_SIDES (s)
        OPS (s)->matmul_backward_input_lora (sides[s], &dx->t[s], &dy->t[s], &w->t[s], &dhT->t[s], &A->t[s]);
      step ();
      check_close (what, dx, matmul_tolerance);
    }
}

/* dB += s·dyᵀ·h and dhᵀ = s·Bᵀ·dyᵀ in one op. */
static void
case_lora_b_backward (int type)
{
  static const struct { int64_t T, out, r; } shapes[] = { { 130, 97, 16 }, { 7, 40, 5 }, { 200, 33, 17 } };

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      int64_t T = shapes[i].T, N = shapes[i].out, r = shapes[i].r;
      Pair *dy = pair_random (N, T, 1.0), *hT = pair_random (T, r, 1.0), *b = pair_random (r, N, 0.5);
      Pair *gb = pair_random (r, N, 1.0), *dhT = pair_random (T, r, 1.0);
      g_autofree char *what = g_strdup_printf ("lora_b_backward %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               " rank %" G_GINT64_FORMAT, T, N, r);

      FOR_SIDES (s)
        OPS (s)->lora_b_backward (sides[s], &gb->t[s], &dhT->t[s], &dy->t[s], &hT->t[s], &b->t[s], 0.75f);
      step ();
      check_close (what, gb, 1e-5);
      check_close (what, dhT, 1e-5);
    }
}

const OpCase backend_ops_matmul_fast_case = {
  "matmul-fast", { TEMPER_OP_MATMUL }, 1, TRUE, 0, case_matmul_fast,
};

const OpCase backend_ops_matmul_cases[] = {
  { "dequantize", { TEMPER_OP_DEQUANTIZE }, 1, TRUE, 0, case_dequantize },
  { "embedding", { TEMPER_OP_EMBEDDING }, 1, TRUE, 0, case_embedding },
  { "lm_head_cross_entropy", { TEMPER_OP_LM_HEAD_CROSS_ENTROPY }, 1, TRUE, 0, case_cross_entropy },
  { "lm_head_cross_entropy_softcap", { TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP }, 1, TRUE, 0,
    case_cross_entropy_softcap },
  { "lm_head_cross_entropy_shared_direction", { TEMPER_OP_LM_HEAD_CROSS_ENTROPY }, 1, FALSE, 0,
    case_cross_entropy_shared_direction },
  { "matmul", { TEMPER_OP_MATMUL }, 1, TRUE, 2, case_matmul },
  { "matmul_backward_input", { TEMPER_OP_MATMUL_BACKWARD_INPUT }, 1, TRUE, 2, case_matmul_backward_input },
  { "matvec", { TEMPER_OP_MATMUL, TEMPER_OP_MATMUL_BACKWARD_INPUT }, 2, TRUE, 1, case_matvec },
  { "matmul-tiles", { TEMPER_OP_MATMUL, TEMPER_OP_MATMUL_BACKWARD_INPUT }, 2, TRUE, 1, case_matmul_tiles },
  { "matmul-train", { TEMPER_OP_MATMUL, TEMPER_OP_MATMUL_BACKWARD_INPUT }, 2, TRUE, 2, case_matmul_train },
  { "gemm", { TEMPER_OP_GEMM }, 1, FALSE, 0, case_gemm },
  { "moe", { TEMPER_OP_MOE }, 1, TRUE, 0, case_moe },
  { "matmul_lora", { TEMPER_OP_MATMUL_LORA }, 1, TRUE, 0, case_matmul_lora },
  { "lora_b_backward", { TEMPER_OP_LORA_B_BACKWARD }, 1, FALSE, 0, case_lora_b_backward },
  { "matmul_backward_input_lora", { TEMPER_OP_MATMUL_BACKWARD_INPUT_LORA }, 1, TRUE, 0,
    case_matmul_backward_input_lora },
};
const guint backend_ops_n_matmul_cases = G_N_ELEMENTS (backend_ops_matmul_cases);
