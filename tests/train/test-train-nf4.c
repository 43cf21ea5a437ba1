/* SPDX-License-Identifier: MIT */
/* test-train-nf4.c — training with NF4 base weights (QLoRA) on the tiny
 * Hugging Face Llama.
 *
 * The reference is the same model written again as a safetensors folder whose
 * linear weights were replaced by their NF4-dequantized fp32 values: loading
 * that folder as stored must give the same loss and LoRA gradients as loading
 * the original with NF4 base weights (the NF4 path computes with exactly those
 * values), and both must differ from the unquantized model.  The quantizer
 * itself is checked against bitsandbytes in tests/model/test-nf4.c. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/safetensors.h"
#include "temper/train.h"
#include "cpu/temper-cpu-backend.h"
#include "train/temper-train-step.h"

#include "peft-parity-fixture.h"
#include "../test-tree.h"

static const char *const linear_suffixes[] = {
  ".q_proj.weight", ".k_proj.weight", ".v_proj.weight", ".o_proj.weight",
  ".gate_proj.weight", ".up_proj.weight", ".down_proj.weight",
};

static gboolean
is_linear (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (linear_suffixes); i++)
    if (g_str_has_suffix (name, linear_suffixes[i]))
      return TRUE;
  return FALSE;
}

/* @dst/: the tiny model's files, its linear weights (rows of whole 64-blocks)
 * replaced by dequant(quant_nf4(w)) in fp32.  Returns how many it replaced. */
static int
write_dequantized_model (const char *dst)
{
  g_autofree char *src = fixture_path ("tiny-llama");
  g_autofree char *st_path = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *out_path = g_build_filename (dst, "model.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_safetensors_t) st = temper_safetensors_open (st_path, &error);
  g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
  g_autoptr(GDir) dir = g_dir_open (src, 0, NULL);
  const char *name;
  int replaced = 0;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0700), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src, name, NULL);
      g_autofree char *to = g_build_filename (dst, name, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      if (g_str_has_suffix (name, ".safetensors"))
        continue;
      g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (to, contents, (gssize) len, NULL));
    }

  for (guint i = 0; i < temper_safetensors_get_n_tensors (st); i++)
    {
      const char *tensor = temper_safetensors_get_name (st, i);
      TemperSafetensorsInfo info;

      g_assert_true (temper_safetensors_get_info (st, tensor, &info));
      g_assert_cmpstr (info.dtype, ==, "F32");
      if (is_linear (tensor) && info.n_dims == 2 && info.shape[1] % 64 == 0)
        {
          int64_t rows = info.shape[0], cols = info.shape[1];
          g_autofree float *values = g_new (float, rows * cols);
          g_autofree guint8 *blocks = g_malloc (temper_type_row_bytes (TEMPER_TYPE_NF4, cols));

          for (int64_t r = 0; r < rows; r++)
            {
              const float *row = (const float *) info.data + r * cols;

              g_assert_true (temper_quantize_row (TEMPER_TYPE_NF4, row, cols, blocks));
              g_assert_true (temper_dequantize_row (TEMPER_TYPE_NF4, blocks, cols, values + r * cols));
            }
          temper_safetensors_writer_add_tensor (w, tensor, "F32", info.shape, 2, values,
                                                (gsize) (rows * cols) * sizeof (float));
          replaced++;
        }
      else
        temper_safetensors_writer_add_tensor (w, tensor, info.dtype, info.shape, info.n_dims,
                                              info.data, info.n_bytes);
    }
  g_assert_true (temper_safetensors_writer_write (w, out_path, &error));
  g_assert_no_error (error);
  return replaced;
}

/* Fills the adapter with seeded values of order 0.1, so that A and B both
 * get gradients (a fresh adapter's B is zero). */
static void
randomise_adapter (temper_adapter_t *adapter, const TemperModelConfig *c)
{
  guint64 n = temper_lora_count_params (adapter, c);
  g_autofree float *flat = g_new (float, n);
  GRand *rand = g_rand_new_with_seed (2026);

  for (guint64 i = 0; i < n; i++)
    flat[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  temper_lora_scatter (adapter, c, flat);
  g_rand_free (rand);
}

/* Mean loss over every row of the fixture batch and its LoRA gradient. */
static double
loss_and_grads (Fixture *f, temper_model_t *model, float *grads)
{
  TemperBackend *backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperTrainStep) step = temper_train_step_new (model, backend, f->adapter, 0.0f,
                                                           f->n_rows, f->seq, FALSE, &error);
  int count = 0;
  double sum = 0, n = 0;

  g_assert_no_error (error);
  for (int i = 0; i < f->n_rows * f->seq; i++)
    count += f->targets[i] >= 0;
  g_assert_true (temper_train_step_run (step, f->ids, f->targets, f->n_rows, f->seq, TRUE,
                                        1.0f / (float) count, NULL, &sum, &n, &error));
  g_assert_no_error (error);
  g_assert_true (temper_train_step_get_grads (step, grads, &error));
  g_clear_pointer (&step, temper_train_step_free);
  temper_backend_free (backend);
  return sum / n;
}

static double
relative_difference (const float *a, const float *b, guint64 n)
{
  double diff = 0, norm = 0;

  for (guint64 i = 0; i < n; i++)
    {
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      norm += (double) b[i] * b[i];
    }
  g_assert_cmpfloat (norm, >, 0.0);
  return sqrt (diff / norm);
}

static void
test_step_matches_dequantized (Fixture *f, gconstpointer data)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *tmp = g_dir_make_tmp ("temper-nf4-XXXXXX", NULL);
  g_autofree char *ref_dir = g_build_filename (tmp, "dequantized", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) nf4 = temper_model_load (model_dir, NULL, &error);
  g_autoptr(temper_model_t) ref = NULL;
  const TemperModelConfig *c = temper_model_get_config (f->model);
  const TemperLayerWeights *lw;
  guint64 n = temper_lora_count_params (f->adapter, c);
  g_autofree float *g_nf4 = g_new (float, n), *g_ref = g_new (float, n), *g_plain = g_new (float, n);
  double l_nf4, l_ref, l_plain, grad_gap, grad_change;

  g_assert_no_error (error);
  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  /* q, k, v, o, gate and up (64 wide) are NF4; down (96 wide) stays as stored. */
  lw = temper_model_get_layer (nf4, 0);
  g_assert_cmpint (lw->wq.type, ==, TEMPER_TYPE_NF4);
  g_assert_cmpint (lw->w_up.type, ==, TEMPER_TYPE_NF4);
  g_assert_cmpint (lw->w_down.type, ==, TEMPER_TYPE_F32);
  g_assert_cmpint (temper_model_get_token_embd (nf4)->type, ==, TEMPER_TYPE_F32);
  g_assert_cmpint (temper_model_get_base_weights (nf4), ==, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_cmpstr (temper_model_get_quantization (nf4), ==, "NF4");
  g_assert_cmpuint (temper_model_get_linear_bytes (nf4), <, temper_model_get_stored_linear_bytes (nf4));
  g_assert_cmpuint (temper_model_get_stored_weight_bytes (nf4), ==,
                    temper_model_get_weight_bytes (f->model));

  g_assert_cmpint (write_dequantized_model (ref_dir), ==, 6 * c->n_layer);
  ref = temper_model_load (ref_dir, NULL, &error);
  g_assert_no_error (error);

  randomise_adapter (f->adapter, c);
  l_nf4 = loss_and_grads (f, nf4, g_nf4);
  l_ref = loss_and_grads (f, ref, g_ref);
  l_plain = loss_and_grads (f, f->model, g_plain);
  grad_gap = relative_difference (g_nf4, g_ref, n);
  grad_change = relative_difference (g_plain, g_ref, n);
  g_test_message ("loss: NF4 %.9g, dequantized fp32 %.9g, unquantized %.9g", l_nf4, l_ref, l_plain);
  g_test_message ("gradients: NF4 vs dequantized %.3g, unquantized vs dequantized %.3g",
                  grad_gap, grad_change);

  g_assert_cmpfloat (fabs (l_nf4 - l_ref), <=, 1e-6 * fabs (l_ref));
  g_assert_cmpfloat (grad_gap, <=, 1e-5);
  /* Quantizing really changed what the model computes. */
  g_assert_cmpfloat (fabs (l_plain - l_ref), >, 1e-4 * fabs (l_ref));
  g_assert_cmpfloat (grad_change, >, 1e-3);
  test_remove_tree (tmp);
}

static char *
write_dataset (const char *dir)
{
  GString *text = g_string_new (NULL);
  char *path = g_build_filename (dir, "facts.jsonl", NULL);

  for (int i = 0; i < 8; i++)
    g_string_append_printf (text, "{\"prompt\": \"Say %d.\", \"response\": \"%d, said twice: %d %d.\"}\n",
                            i, i, i, i);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  g_string_free (text, TRUE);
  return path;
}

static GArray *
train_steps (const char *run_dir, const char *model_dir, const char *data, TemperBaseWeights base)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  TemperTrainOptions options;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  s.lora.alpha = 8;
  s.lora.dropout = 0.0f;
  s.learning_rate = 5e-3;
  s.warmup_steps = 0;
  s.max_steps = 3;
  s.micro_batch = 2;
  s.max_length = 32;
  s.eval_every = 0;
  s.checkpoint_every = 0;
  s.val_fraction = 0.0;
  s.base_weights = base;
  run = temper_run_create (run_dir, &s, model_dir, data, NULL, &error);
  g_assert_no_error (error);
  /* The run holds the base as its settings say, whatever the caller loaded. */
  model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_base_weights (model), ==, base);
  return temper_run_read_metrics (run, NULL);
}

/* A model other code holds (the app's pages share one) is only read:
 * training with NF4 base weights on it trains on a model of its own, with
 * the same losses as training that converts the caller's model. */
static void
test_shared_model_untouched (void)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *tmp = g_dir_make_tmp ("temper-nf4-XXXXXX", NULL);
  g_autofree char *data = write_dataset (tmp);
  g_autofree char *run_owned = g_build_filename (tmp, "run-owned", NULL);
  g_autofree char *run_shared = g_build_filename (tmp, "run-shared", NULL);
  g_autoptr(GArray) owned = NULL, shared_metrics = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) shared = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainOptions options;
  TemperTrainSettings s;
  TemperTensorView before;

  owned = train_steps (run_owned, model_dir, data, TEMPER_BASE_WEIGHTS_NF4);

  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  s.lora.alpha = 8;
  s.lora.dropout = 0.0f;
  s.learning_rate = 5e-3;
  s.warmup_steps = 0;
  s.max_steps = 3;
  s.micro_batch = 2;
  s.max_length = 32;
  s.eval_every = 0;
  s.checkpoint_every = 0;
  s.val_fraction = 0.0;
  s.base_weights = TEMPER_BASE_WEIGHTS_NF4;
  run = temper_run_create (run_shared, &s, model_dir, data, NULL, &error);
  g_assert_no_error (error);
  shared = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  before = temper_model_get_layer (shared, 1)->wk;
  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_true (temper_train_run_shared (run, shared, &options, &error));
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_base_weights (shared), ==, TEMPER_BASE_WEIGHTS_STORED);
  g_assert_cmpint (temper_model_get_layer (shared, 1)->wk.type, ==, before.type);
  g_assert_true (temper_model_get_layer (shared, 1)->wk.data == before.data);

  shared_metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (shared_metrics->len, ==, owned->len);
  for (guint i = 0; i < owned->len; i++)
    g_assert_cmpfloat (g_array_index (shared_metrics, TemperRunMetrics, i).loss, ==,
                       g_array_index (owned, TemperRunMetrics, i).loss);
  test_remove_tree (tmp);
}

static void
test_run_matches_dequantized (void)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *tmp = g_dir_make_tmp ("temper-nf4-XXXXXX", NULL);
  g_autofree char *ref_dir = g_build_filename (tmp, "dequantized", NULL);
  g_autofree char *data = write_dataset (tmp);
  g_autofree char *run_nf4 = g_build_filename (tmp, "run-nf4", NULL);
  g_autofree char *run_ref = g_build_filename (tmp, "run-ref", NULL);
  g_autofree char *log_path = g_build_filename (run_nf4, "train.log", NULL);
  g_autofree char *log = NULL;
  g_autoptr(GArray) a = NULL, b = NULL;
  g_autoptr(temper_run_t) reopened = NULL;
  g_autoptr(temper_model_t) again = NULL;
  g_autoptr(GError) error = NULL;

  write_dequantized_model (ref_dir);
  a = train_steps (run_nf4, model_dir, data, TEMPER_BASE_WEIGHTS_NF4);
  b = train_steps (run_ref, ref_dir, data, TEMPER_BASE_WEIGHTS_STORED);
  g_assert_cmpuint (a->len, ==, 3);
  g_assert_cmpuint (b->len, ==, 3);
  for (guint i = 0; i < a->len; i++)
    {
      double la = g_array_index (a, TemperRunMetrics, i).loss;
      double lb = g_array_index (b, TemperRunMetrics, i).loss;

      g_test_message ("step %u: loss NF4 %.9g, dequantized fp32 %.9g", i + 1, la, lb);
      g_assert_cmpfloat (fabs (la - lb), <=, 1e-5 * fabs (lb));
    }

  /* The log reports the memory before and after; the setting is kept, so
   * the run's model loads the same way again (resume, evaluate, compare). */
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "Base weights NF4: linear layers"));
  g_assert_nonnull (strstr (log, "as stored"));
  reopened = temper_run_open (run_nf4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_run_get_settings (reopened)->base_weights, ==, TEMPER_BASE_WEIGHTS_NF4);
  again = temper_run_load_model (reopened, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_layer (again, 1)->wk.type, ==, TEMPER_TYPE_NF4);
  test_remove_tree (tmp);
}

static void
test_settings_json (void)
{
  TemperTrainSettings s, back;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  temper_train_settings_init_default (&s);
  g_assert_cmpint (s.base_weights, ==, TEMPER_BASE_WEIGHTS_STORED);
  s.base_weights = TEMPER_BASE_WEIGHTS_NF4;
  node = temper_train_settings_to_json (&s);
  temper_train_settings_init_default (&back);
  g_assert_true (temper_train_settings_from_json (&back, node, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.base_weights, ==, TEMPER_BASE_WEIGHTS_NF4);

  g_assert_true (json_parser_load_from_data (parser, "{\"base_weights\": \"nf8\"}", -1, NULL));
  g_assert_false (temper_train_settings_from_json (&back, json_parser_get_root (parser), &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“nf4”"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/train/nf4/step-matches-dequantized", Fixture, NULL, fixture_setup,
              test_step_matches_dequantized, fixture_teardown);
  g_test_add_func ("/train/nf4/run-matches-dequantized", test_run_matches_dequantized);
  g_test_add_func ("/train/nf4/settings-json", test_settings_json);
  g_test_add_func ("/train/nf4/shared-model-untouched", test_shared_model_untouched);
  return g_test_run ();
}
