/* SPDX-License-Identifier: MIT */
/* test-train-families.c — the LoRA training step of every family Temper
 * trains, against Hugging Face PEFT over 20 AdamW steps on 40-token
 * sequences (past the sliding windows, Llama 3.1's original context and
 * phi35-long's, so that LongRoPE's long factors train; qwen3-yarn with YaRN;
 * gemma3-vlm, the text part of Gemma 3 4B's Gemma3ForConditionalGeneration),
 * from tests/train/make-family-peft-fixtures.py (Gemma 2 with its
 * soft-capped logits in the loss); and the refusal, by a backend that lacks
 * an op a family's training needs, naming the family.  Qwen3-MoE and Mixtral
 * adapt their attention only, so their parity holds only if the gradient
 * passes correctly through the frozen experts and router of the later
 * layers. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/train.h"
#include "cpu/temper-cpu-backend.h"
#include "train/temper-train-step.h"

static char *
source_path (const char *first, ...)
{
  va_list args;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *p;

  g_ptr_array_add (parts, (gpointer) g_getenv ("TEMPER_SOURCE_DIR"));
  g_ptr_array_add (parts, (gpointer) "tests");
  g_ptr_array_add (parts, (gpointer) "fixtures");
  va_start (args, first);
  for (p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

static void
test_parity (gconstpointer data)
{
  const char *family = data;
  g_autofree char *adapter_name = g_strdup_printf ("%s-adapter", family);
  g_autofree char *json_name = g_strdup_printf ("%s-parity.json", family);
  g_autofree char *model_dir = source_path ("families", family, NULL);
  g_autofree char *adapter_dir = source_path ("train", "families", adapter_name, NULL);
  g_autofree char *json = source_path ("train", "families", json_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  temper_adapter_t *adapter;
  TemperBackend *backend;
  TemperTrainStep *step;
  JsonObject *fixture, *settings;
  JsonArray *ids, *mask, *losses, *norms;
  int n_rows, seq, micro_batch;
  g_autofree gint32 *tok = NULL, *tgt = NULL;
  TemperAdamWParams p = { 0 };
  double worst = 0.0;

  model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  fixture = json_node_get_object (json_parser_get_root (parser));
  settings = json_object_get_object_member (fixture, "settings");
  ids = json_object_get_array_member (fixture, "ids");
  mask = json_object_get_array_member (fixture, "mask");
  losses = json_object_get_array_member (fixture, "losses");
  norms = json_object_get_array_member (fixture, "grad_norms");
  n_rows = (int) json_array_get_length (ids);
  seq = (int) json_array_get_length (json_array_get_array_element (ids, 0));
  micro_batch = (int) json_object_get_int_member (settings, "micro_batch");
  tok = g_new (gint32, n_rows * seq);
  tgt = g_new (gint32, n_rows * seq);
  /* mask[t] = 1 makes token t a target, predicted from row t − 1. */
  for (int r = 0; r < n_rows; r++)
    for (int t = 0; t < seq; t++)
      {
        JsonArray *ri = json_array_get_array_element (ids, r), *rm = json_array_get_array_element (mask, r);

        tok[r * seq + t] = (gint32) json_array_get_int_element (ri, t);
        tgt[r * seq + t] = t + 1 < seq && json_array_get_int_element (rm, t + 1)
                           ? (gint32) json_array_get_int_element (ri, t + 1) : -1;
      }

  backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  step = temper_train_step_new (model, backend, adapter, 0.0f, micro_batch, seq, FALSE, &error);
  g_assert_no_error (error);
  p.lr = (float) json_object_get_double_member (settings, "learning_rate");
  p.beta1 = (float) json_object_get_double_member (settings, "beta1");
  p.beta2 = (float) json_object_get_double_member (settings, "beta2");
  p.eps = (float) json_object_get_double_member (settings, "eps");
  p.weight_decay = (float) json_object_get_double_member (settings, "weight_decay");
  p.max_grad_norm = (float) json_object_get_double_member (settings, "max_grad_norm");
  for (guint i = 0; i < json_array_get_length (losses); i++)
    {
      int batch = (int) i % (n_rows / micro_batch), count = 0;
      const gint32 *bt = tgt + batch * micro_batch * seq;
      double expected = json_array_get_double_element (losses, i), sum = 0, n = 0, norm;

      for (int j = 0; j < micro_batch * seq; j++)
        count += bt[j] >= 0;
      g_assert_true (temper_train_step_run (step, tok + batch * micro_batch * seq, bt, micro_batch, seq,
                                            TRUE, 1.0f / (float) count, NULL, &sum, &n, &error));
      g_assert_no_error (error);
      g_assert_true (temper_train_step_grad_norm (step, &norm, &error));
      g_test_message ("%s step %u: loss %.7f (PEFT %.7f), grad norm %.6f (PEFT %.6f)", family, i + 1,
                      sum / n, expected, norm, json_array_get_double_element (norms, i));
      worst = MAX (worst, fabs (sum / n - expected) / expected);
      g_assert_cmpfloat (fabs (sum / n - expected), <=, 1e-4 * expected);
      g_assert_cmpfloat (fabs (norm - json_array_get_double_element (norms, i)), <=,
                         1e-3 * json_array_get_double_element (norms, i));
      p.step = i + 1;
      g_assert_true (temper_train_step_optimize (step, &p, &error));
    }
  g_test_message ("%s: largest relative loss difference from PEFT %.2e", family, worst);
  temper_train_step_free (step);
  temper_backend_free (backend);
  temper_adapter_free (adapter);
}

static gboolean (*cpu_supports_op) (TemperBackend *b, TemperOp op, int weight_type);

static gboolean
supports_all_but_softcap_loss (TemperBackend *b, TemperOp op, int weight_type)
{
  return op != TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP && cpu_supports_op (b, op, weight_type);
}

/* A backend without the soft-capped loss refuses to train Gemma 2, by name. */
static void
test_gemma2_refused (void)
{
  g_autofree char *model_dir = source_path ("families", "gemma2", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  temper_adapter_t *adapter;
  TemperBackend *backend;
  TemperTrainStep *step;

  g_assert_no_error (error);
  adapter = temper_adapter_new (temper_model_get_config (model), 4, 8.0f, FALSE,
                                TEMPER_LORA_TARGETS_ATTENTION, &error);
  g_assert_no_error (error);
  backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  {
    const TemperBackendOps *cpu_ops = backend->ops;
    TemperBackendOps ops = *cpu_ops;

    cpu_supports_op = ops.supports_op;
    ops.supports_op = supports_all_but_softcap_loss;
    backend->ops = &ops;
    step = temper_train_step_new (model, backend, adapter, 0.0f, 1, 8, FALSE, &error);
    backend->ops = cpu_ops;
  }
  g_assert_null (step);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Gemma 2"));
  temper_backend_free (backend);
  temper_adapter_free (adapter);
}

int
main (int argc, char **argv)
{
  static const char *const families[] = {
    "llama31", "qwen3", "mistral", "gemma3", "gemma2", "phi3", "glm4", "qwen3moe", "mixtral", "qwen3moe-mixed",
    "qwen3-yarn", "phi35-long", "gemma3-vlm",
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autofree char *name = g_strdup_printf ("/train/families/%s", families[i]);
      g_test_add_data_func (name, families[i], test_parity);
    }
  g_test_add_func ("/train/families/gemma2-refused", test_gemma2_refused);
  return g_test_run ();
}
