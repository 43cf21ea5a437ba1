/* The families on the Vulkan backend.  Qwen3 (per-head q/k norms, built
 * from the RMSNorm every backend has) runs, and its logits after the prompt
 * and 64 greedy tokens must match transformers (tests/nn's family fixtures)
 * to 1e-4; Mistral runs while its context stays inside the window.  A
 * family that needs an op Vulkan lacks yet (RoPE tables, GeGLU, windowed or
 * soft-capped attention) is refused at set-up with the family's name,
 * never run wrongly. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "nn/temper-forward.h"
#include "temper/error.h"
#include "vulkan/temper-vk-backend.h"

static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;

  return g_build_filename (src, "tests", "fixtures", "families", name, NULL);
}

static TemperBackend *
open_vulkan (void)
{
  g_autoptr(GError) error = NULL;
  TemperBackend *vk = temper_vk_backend_new (-1, &error);

  if (vk == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
    }
  return vk;
}

/* Runs @family for @n_ctx positions and compares as many rows as fit. */
static void
run_matching (const char *family, int n_ctx)
{
  g_autofree char *dir = fixture_path (family);
  g_autofree char *json_name = g_strdup_printf ("%s.json", family);
  g_autofree char *logits_name = g_strdup_printf ("%s.logits", family);
  g_autofree char *json_path = fixture_path (json_name);
  g_autofree char *logits_path = fixture_path (logits_name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(TemperForward) fwd = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *logits = NULL;
  g_autofree gint32 *prompt = NULL;
  TemperBackend *vk = open_vulkan ();
  JsonObject *obj;
  JsonArray *jprompt, *jgreedy;
  int n_vocab, n_prompt, n_rows;
  gsize len;
  double worst = 0.0;

  if (vk == NULL)
    return;
  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  jprompt = json_object_get_array_member (obj, "prompt");
  jgreedy = json_object_get_array_member (obj, "greedy");
  n_vocab = (int) json_object_get_int_member (obj, "n_vocab");
  n_prompt = (int) json_array_get_length (jprompt);
  g_assert_true (g_file_get_contents (logits_path, &bytes, &len, NULL));
  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  fwd = temper_forward_new (model, vk, n_ctx, n_prompt, &error);
  g_assert_no_error (error);

  prompt = g_new (gint32, n_prompt);
  for (int i = 0; i < n_prompt; i++)
    prompt[i] = (gint32) json_array_get_int_element (jprompt, (guint) i);
  logits = g_new (float, n_vocab);
  g_assert_true (temper_forward_eval (fwd, prompt, n_prompt, 0, logits, &error));
  g_assert_no_error (error);
  n_rows = MIN ((int) json_array_get_length (jgreedy) + 1, n_ctx - n_prompt + 1);
  for (int row = 0; row < n_rows; row++)
    {
      const float *expected = (const float *) bytes + (gsize) row * n_vocab;
      double diff = 0.0, scale = 0.0;

      for (int i = 0; i < n_vocab; i++)
        {
          diff = MAX (diff, fabs ((double) logits[i] - expected[i]));
          scale = MAX (scale, fabs ((double) expected[i]));
        }
      g_assert_cmpfloat (diff / scale, <=, 1e-4);
      worst = MAX (worst, diff / scale);
      if (row + 1 < n_rows)
        {
          gint32 next = (gint32) json_array_get_int_element (jgreedy, (guint) row);
          g_assert_true (temper_forward_eval (fwd, &next, 1, n_prompt + row, logits, &error));
          g_assert_no_error (error);
        }
    }
  g_test_message ("%s on Vulkan: %d rows, worst relative error %.2e", family, n_rows, worst);
}

static void
test_qwen3 (void)
{
  run_matching ("qwen3", 128);
}

/* Inside its window, Mistral is a Llama block: Vulkan runs it. */
static void
test_mistral_inside_window (void)
{
  run_matching ("mistral", 24);
}

static void
test_refused (gconstpointer data)
{
  const char *const *pair = data;
  g_autofree char *dir = fixture_path (pair[0]);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  TemperForward *fwd;
  TemperBackend *vk = open_vulkan ();

  if (vk == NULL)
    return;
  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  fwd = temper_forward_new (model, vk, 128, 16, &error);
  g_assert_null (fwd);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, pair[1]));
}

int
main (int argc, char **argv)
{
  static const char *const refused[][2] = {
    { "llama31", "Llama 3.1" }, { "mistral", "Mistral" }, { "gemma2", "Gemma 2" },
    { "gemma3", "Gemma 3" }, { "phi3", "Phi-3" }, { "glm4", "GLM-4" },
  };

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/families/qwen3", test_qwen3);
  g_test_add_func ("/vulkan/families/mistral-inside-window", test_mistral_inside_window);
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *name = g_strdup_printf ("/vulkan/families/refused/%s", refused[i][0]);
      g_test_add_data_func (name, refused[i], test_refused);
    }
  return g_test_run ();
}
