/* SPDX-License-Identifier: MIT */
/* Whole forward passes on the Vulkan backend.
 *
 * tiny-qwen2 (q/k/v bias, GQA, split-halves RoPE, untied lm_head, F32):
 * against Hugging Face transformers' logits and greedy continuation, stored
 * by tests/nn/make-logits-fixtures.py — an independent reference.  The
 * continuation runs token by token through the KV cache.
 *
 * SmolLM2 (the demo model: Q4_1 and Q8_0 weights, interleaved RoPE): against
 * the CPU backend; the logits after a chat prompt must agree closely and
 * pick the same next token.  One pass of this 30-layer model is all lavapipe
 * can afford.  Skipped when the demo model is missing. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "nn/temper-forward.h"
#include "temper/tokenizer.h"
#include "vulkan/temper-vk-backend.h"

#define N_CTX 64

static int
argmax (const float *x, int n)
{
  int best = 0;

  for (int i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

static double
normalized_error (const float *a, const float *ref, int n)
{
  double diff = 0, norm = 0;

  for (int i = 0; i < n; i++)
    {
      g_assert_true (isfinite (a[i]));
      diff += ((double) a[i] - ref[i]) * ((double) a[i] - ref[i]);
      norm += (double) ref[i] * ref[i];
    }
  return sqrt (diff / norm);
}

static const char *
source_dir (void)
{
  return g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
}

static void
test_tiny_qwen2 (void)
{
  g_autofree char *dir = g_build_filename (source_dir (), "tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *json_path = g_build_filename (source_dir (), "tests", "fixtures", "nn", "tiny-qwen2.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (temper_model_t) model = NULL;
  g_autoptr (TemperForward) fwd = NULL;
  g_autofree float *logits = NULL, *ref = NULL;
  g_autofree gint32 *prompt = NULL;
  JsonObject *root;
  JsonArray *jprompt, *jlogits, *jgreedy;
  TemperBackend *vk;
  guint n_prompt, n_greedy;
  int n_vocab;
  double err;

  vk = temper_vk_backend_new (-1, &error);
  if (vk == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
      return;
    }
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  jprompt = json_object_get_array_member (root, "prompt");
  jlogits = json_object_get_array_member (root, "logits");
  jgreedy = json_object_get_array_member (root, "greedy");
  n_prompt = json_array_get_length (jprompt);
  n_greedy = MIN (json_array_get_length (jgreedy), 12);

  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  n_vocab = temper_model_get_config (model)->n_vocab;
  g_assert_cmpuint (json_array_get_length (jlogits), ==, (guint) n_vocab);
  fwd = temper_forward_new (model, vk, 64, (int) n_prompt, &error);
  g_assert_no_error (error);

  prompt = g_new (gint32, n_prompt);
  for (guint i = 0; i < n_prompt; i++)
    prompt[i] = (gint32) json_array_get_int_element (jprompt, i);
  logits = g_new (float, n_vocab);
  ref = g_new (float, n_vocab);
  for (int i = 0; i < n_vocab; i++)
    ref[i] = (float) json_array_get_double_element (jlogits, (guint) i);

  g_assert_true (temper_forward_eval (fwd, prompt, (int) n_prompt, 0, logits, &error));
  g_assert_no_error (error);
  err = normalized_error (logits, ref, n_vocab);
  g_test_message ("tiny-qwen2: logits against transformers, normalized error %.3g", err);
  g_assert_cmpfloat (err, <, 1e-4);

  /* Greedy decoding, one cached token at a time, must follow transformers. */
  for (guint i = 0; i < n_greedy; i++)
    {
      gint32 next = argmax (logits, n_vocab);

      g_assert_cmpint (next, ==, (gint32) json_array_get_int_element (jgreedy, i));
      g_assert_true (temper_forward_eval (fwd, &next, 1, (int) (n_prompt + i), logits, &error));
      g_assert_no_error (error);
    }
}

static void
test_forward (void)
{
  g_autofree char *path = g_build_filename (source_dir (), "data", "models",
                                            "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (temper_model_t) model = NULL;
  g_autoptr (TemperForward) on_cpu = NULL, on_vk = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree float *cpu_logits = NULL, *vk_logits = NULL;
  TemperBackend *vk;
  const char *prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
                       "<|im_start|>assistant\n";
  int n_vocab;
  double err;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not in data/models (run make demo)");
      return;
    }
  vk = temper_vk_backend_new (-1, &error);
  if (vk == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
      return;
    }
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  n_vocab = temper_model_get_config (model)->n_vocab;
  ids = temper_tokenizer_encode (temper_model_get_tokenizer (model), prompt, -1, TRUE);
  g_assert_cmpuint (ids->len, <, N_CTX - 1);

  on_cpu = temper_forward_new (model, temper_cpu_backend_new (0, TEMPER_CPU_KERNELS_BEST),
                               N_CTX, (int) ids->len, &error);
  g_assert_no_error (error);
  on_vk = temper_forward_new (model, vk, N_CTX, (int) ids->len, &error);
  g_assert_no_error (error);

  cpu_logits = g_new (float, n_vocab);
  vk_logits = g_new (float, n_vocab);
  g_assert_true (temper_forward_eval (on_cpu, (gint32 *) ids->data, (int) ids->len, 0, cpu_logits, &error));
  g_assert_no_error (error);
  g_assert_true (temper_forward_eval (on_vk, (gint32 *) ids->data, (int) ids->len, 0, vk_logits, &error));
  g_assert_no_error (error);
  err = normalized_error (vk_logits, cpu_logits, n_vocab);
  g_test_message ("prompt of %u tokens: logits normalized error %.3g, next token %d (CPU %d)",
                  ids->len, err, argmax (vk_logits, n_vocab), argmax (cpu_logits, n_vocab));
  g_assert_cmpfloat (err, <, 1e-3);
  g_assert_cmpint (argmax (vk_logits, n_vocab), ==, argmax (cpu_logits, n_vocab));
}

int
main (int argc, char **argv)
{
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  /* meson runs the test a second time with --matvec-subgroup: generation
   * on matvec-subgroup.comp, which GPUs run and lavapipe would not. */
  if (argc > 1 && strcmp (argv[argc - 1], "--matvec-subgroup") == 0)
    {
      g_setenv ("TEMPER_VK_MATVEC", "subgroup", TRUE);
      argv[--argc] = NULL;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/forward/tiny-qwen2", test_tiny_qwen2);
  g_test_add_func ("/vulkan/forward/smollm2", test_forward);
  return g_test_run ();
}
