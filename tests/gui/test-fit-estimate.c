/* test-fit-estimate.c — the training-memory estimate follows the formula
 * stated in temper-fit-estimate.c, worked out here by hand for SmolLM2-135M
 * (config from FORMATS.md §8), and the verdicts switch where they should. */
#include "config.h"

#include <string.h>

#include "temper-fit-estimate.h"

static void
test_smollm2 (void)
{
  TemperModelConfig config = {
    .arch = TEMPER_ARCH_LLAMA, .n_layer = 30, .n_embd = 576, .n_ff = 1536,
    .n_head = 9, .n_head_kv = 3, .head_dim = 64, .n_vocab = 49152,
    .n_ctx_train = 8192, .tied_embeddings = TRUE,
  };
  TemperFitEstimate estimate;
  /* per token and layer: 4·576 + 2·576 + 2·192 + 3·1536 + 9·512
   *                    = 2304 + 1152 + 384 + 4608 + 4608 = 13056 floats
   * tokens = 4 · 512 = 2048
   * activations = 4·2048·(30·13056 + 576) + 4·2048·13056 + 4·2048·4096
   *             = 8192·392256 + 8192·13056 + 8192·4096
   *             = 3213361152 + 106954752 + 33554432 = 3353870336
   * LoRA parameters per layer, r = 16:
   *   q (576+576) + k, v 2·(576+192) + o (576+576) + gate, up 2·(576+1536)
   *   + down (1536+576) = 1152 + 1536 + 1152 + 4224 + 2112 = 10176 → ×16 = 162816
   *   × 30 layers = 4884480 parameters × 16 bytes = 78151680
   * total = 1.1 · (100000000 + 3353870336 + 78151680) = 1.1 · 3532022016 */
  guint64 weights = 100000000;

  temper_fit_estimate_training (&config, weights, &estimate);
  g_assert_cmpuint (estimate.weights, ==, weights);
  g_assert_cmpuint (estimate.activations, ==, G_GUINT64_CONSTANT (3353870336));
  g_assert_cmpuint (estimate.adapter, ==, G_GUINT64_CONSTANT (78151680));
  g_assert_cmpuint (estimate.total, ==, G_GUINT64_CONSTANT (3532022016) * 11 / 10);
}

static void
test_verdicts (void)
{
  guint64 gib = G_GUINT64_CONSTANT (1) << 30;

  g_assert_cmpint (temper_fit_judge (4 * gib, 16 * gib), ==, TEMPER_FIT_COMFORTABLE);
  /* 80 % of the memory is the edge of comfortable. */
  g_assert_cmpint (temper_fit_judge (16 * gib / 5 * 4, 16 * gib), ==, TEMPER_FIT_COMFORTABLE);
  g_assert_cmpint (temper_fit_judge (16 * gib / 5 * 4 + 1, 16 * gib), ==, TEMPER_FIT_TIGHT);
  g_assert_cmpint (temper_fit_judge (16 * gib, 16 * gib), ==, TEMPER_FIT_TIGHT);
  g_assert_cmpint (temper_fit_judge (16 * gib + 1, 16 * gib), ==, TEMPER_FIT_TOO_BIG);
  /* A device that reports no memory cannot be promised anything. */
  g_assert_cmpint (temper_fit_judge (1, 0), ==, TEMPER_FIT_TOO_BIG);
}

static void
test_describe (void)
{
  TemperFitEstimate estimate = { .total = G_GUINT64_CONSTANT (3) << 30 };
  TemperDeviceInfo big = { .name = (char *) "big", .memory_total = G_GUINT64_CONSTANT (16) << 30 };
  TemperDeviceInfo small = { .name = (char *) "small", .memory_total = G_GUINT64_CONSTANT (1) << 30 };
  g_autofree char *fits = temper_fit_describe (&estimate, &big);
  g_autofree char *too_big = temper_fit_describe (&estimate, &small);

  /* g_format_size writes 3 GiB as "3.2 GB" and 16 GiB as "17.2 GB", with
   * a no-break space before the unit. */
  g_assert_true (g_str_has_prefix (fits, "Fits comfortably"));
  g_assert_nonnull (strstr (fits, "3.2\u00a0GB"));
  g_assert_nonnull (strstr (fits, "17.2\u00a0GB"));
  g_assert_true (g_str_has_prefix (too_big, "Too big"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/fit-estimate/smollm2", test_smollm2);
  g_test_add_func ("/fit-estimate/verdicts", test_verdicts);
  g_test_add_func ("/fit-estimate/describe", test_describe);

  return g_test_run ();
}
