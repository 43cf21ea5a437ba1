/* SPDX-License-Identifier: MIT */
/* test-run-list.c — naming new runs and listing runs (temper/run.h), and the
 * figures every part shares (temper/train-figures.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/run.h"
#include "temper/train.h"
#include "temper/train-figures.h"
#include "../test-tree.h"

/* The demo model's GGUF says general.name "Smollm2 135M 8k Lc100K Mix1 Ep2",
 * which llama.cpp's converter made up from a folder name; people know it by
 * the name it is published under, which its file carries. */
static void
test_model_name (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                            "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *name = NULL;
  g_autofree char *missing = NULL;

  if (!g_file_test (demo, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the demo model is not there");
      return;
    }
  name = temper_run_dup_model_name (demo);
  g_assert_cmpstr (name, ==, "SmolLM2-135M-Instruct");
  /* A model that is gone still has a name: its file's. */
  missing = temper_run_dup_model_name ("/nowhere/Qwen2.5-0.5B-Instruct-Q8_0.gguf");
  g_assert_cmpstr (missing, ==, "Qwen2.5-0.5B-Instruct");
}

static void
test_make_name (void)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) when = g_date_time_new (utc, 2026, 12, 6, 21, 59, 7);
  g_autofree char *plain = temper_run_make_name (when, "SmolLM2-135M-Instruct", "/data/recipes.jsonl");
  g_autofree char *odd = temper_run_make_name (when, "qwen3:0.6b", "/data/My recipes (v2).csv");
  g_autofree char *no_data = temper_run_make_name (when, "Llama 3.2 1B", NULL);
  g_autofree char *hostile = temper_run_make_name (when, "../../etc/x", "/d/.hidden");

  g_assert_cmpstr (plain, ==, "2026-12-06-215907-SmolLM2-135M-Instruct-recipes");
  g_assert_cmpstr (odd, ==, "2026-12-06-215907-qwen3-0.6b-My-recipes-v2");
  g_assert_cmpstr (no_data, ==, "2026-12-06-215907-Llama-3.2-1B");
  /* No separator survives: the name is one folder inside the runs folder. */
  g_assert_null (strchr (hostile, '/'));
  g_assert_cmpstr (hostile, ==, "2026-12-06-215907-..-..-etc-x-.hidden");
}

static void
test_free_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("temper-runs-XXXXXX", &error);
  g_autofree char *first = NULL, *taken = NULL, *second = NULL, *third = NULL;

  g_assert_no_error (error);
  first = temper_run_find_free_dir (root, "run");
  taken = g_build_filename (root, "run", NULL);
  g_assert_cmpstr (first, ==, taken);
  g_assert_cmpint (g_mkdir (first, 0700), ==, 0);
  second = temper_run_find_free_dir (root, "run");
  g_assert_true (g_str_has_suffix (second, "/run-2"));
  g_assert_cmpint (g_mkdir (second, 0700), ==, 0);
  third = temper_run_find_free_dir (root, "run");
  g_assert_true (g_str_has_suffix (third, "/run-3"));
  test_remove_tree (root);
}

static void
test_list (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("temper-runs-XXXXXX", &error);
  g_autofree char *data = g_build_filename (root, "faq.jsonl", NULL);
  g_autofree char *older = g_build_filename (root, "2026-01-01-000000-a", NULL);
  g_autofree char *newer = g_build_filename (root, "2026-02-01-000000-b", NULL);
  g_autofree char *damaged = g_build_filename (root, "2026-03-01-000000-c", NULL);
  g_autofree char *damaged_settings = g_build_filename (damaged, "settings.json", NULL);
  g_autofree char *not_a_run = g_build_filename (root, "photos", NULL);
  g_autofree char *nowhere = g_build_filename (root, "no-such-folder", NULL);
  g_autoptr(GPtrArray) runs = NULL, none = NULL;
  TemperTrainSettings s;
  const TemperRunSummary *r;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (data, "{\"messages\":[]}\n", -1, NULL));
  temper_train_settings_init_default (&s);
  {
    g_autoptr(temper_run_t) run = temper_run_create (older, &s, "/models/Tiny-Model.Q8_0.gguf", data, NULL, &error);
    TemperRunMetrics m = { .step = 3, .epoch = 0.5, .loss = 1.5, .val_loss = NAN, .lr = 1e-4,
                           .grad_norm = 1, .tokens_per_s = 10, .elapsed_s = 1 };

    g_assert_no_error (error);
    g_assert_true (temper_run_append_metrics (run, &m, &error));
    m.step = 4;
    m.loss = 1.25;
    m.val_loss = 1.75;
    g_assert_true (temper_run_append_metrics (run, &m, &error));
    m.step = 5;
    m.loss = 1.0;
    m.val_loss = NAN;
    g_assert_true (temper_run_append_metrics (run, &m, &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr(temper_run_t) run = temper_run_create (newer, &s, "/models/Tiny-Model.Q8_0.gguf", data, NULL, &error);

    g_assert_nonnull (run);
    g_assert_no_error (error);
    /* Still held (by this process): the list says who holds it. */
    runs = temper_runs_list (root, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (runs->len, ==, 2);
    r = runs->pdata[0];
    g_assert_cmpstr (r->dir, ==, newer);
    g_assert_nonnull (r->lock_holder);
    g_clear_pointer (&runs, g_ptr_array_unref);
  }
  g_assert_cmpint (g_mkdir (damaged, 0700), ==, 0);
  g_assert_true (g_file_set_contents (damaged_settings, "{ not json", -1, NULL));
  g_assert_cmpint (g_mkdir (not_a_run, 0700), ==, 0);

  runs = temper_runs_list (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 3);

  r = runs->pdata[0];
  g_assert_cmpstr (r->dir, ==, damaged);
  g_assert_cmpint (r->state, ==, TEMPER_RUN_STATE_UNREADABLE);
  g_assert_nonnull (strstr (r->problem, "settings.json"));
  g_assert_cmpstr (temper_run_state_to_string (r->state), ==, "unreadable");

  r = runs->pdata[1];
  g_assert_cmpstr (r->name, ==, "2026-02-01-000000-b");
  g_assert_cmpint (r->state, ==, TEMPER_RUN_STATE_NOT_STARTED);
  g_assert_null (r->lock_holder);
  g_assert_cmpint (r->last_step, ==, 0);
  g_assert_true (isnan (r->last_loss));

  r = runs->pdata[2];
  g_assert_cmpstr (r->dir, ==, older);
  g_assert_cmpint (r->state, ==, TEMPER_RUN_STATE_STOPPED);
  g_assert_cmpstr (r->model_path, ==, "/models/Tiny-Model.Q8_0.gguf");
  g_assert_cmpstr (r->model_name, ==, "Tiny-Model");
  g_assert_cmpstr (r->dataset_name, ==, "faq.jsonl");
  g_assert_cmpint (r->last_step, ==, 5);
  g_assert_cmpfloat (r->last_loss, ==, 1.0);
  /* The last evaluation, not the last step's missing one. */
  g_assert_cmpfloat (r->last_val_loss, ==, 1.75);
  g_assert_cmpint (ABS (r->created - g_get_real_time () / G_USEC_PER_SEC), <, 600);
  g_assert_null (r->problem);

  /* No runs folder yet: no runs, no error. */
  none = temper_runs_list (nowhere, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
  test_remove_tree (root);
}

/* tiny-llama: hidden 64, feed-forward 96, 2 layers, 4 heads and 2 kv heads
 * of 16, vocabulary 320, tied embeddings. */
static void
test_figures (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  g_autoptr(temper_adapter_t) adapter = NULL;
  const TemperModelConfig *c;
  TemperLoraConfig lora;
  TemperTrainSettings a, b;

  g_assert_no_error (error);
  c = temper_model_get_config (model);
  temper_lora_config_init_default (&lora);
  lora.rank = 4;
  lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  /* Per layer q (64+64)·4 + k, v (64+32)·4 each + o (64+64)·4 + gate, up,
   * down (64+96)·4 each = 3712; 2 layers. */
  g_assert_cmpuint (temper_lora_config_count_params (c, &lora), ==, 7424);
  adapter = temper_lora_adapter_new (c, &lora, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_lora_config_count_params (c, &lora), ==, temper_lora_count_params (adapter, c));
  lora.targets = TEMPER_LORA_TARGETS_ATTENTION;
  /* q (64+64)·4 + v (64+32)·4 = 896 per layer. */
  g_assert_cmpuint (temper_lora_config_count_params (c, &lora), ==, 1792);

  /* Frozen matmul weights: 2 layers × 30720 + lm_head 64·320 = 81920.
   * 4·81920 + 6·7424 + 6·2·64·16 = 384512 (the benchmark's figure). */
  g_assert_cmpfloat (temper_train_flops_per_token (c, 7424, 16, FALSE), ==, 384512.0);
  /* Recomputing adds one forward: 2·81920 + 2·7424 + 2·2·64·16. */
  g_assert_cmpfloat (temper_train_flops_per_token (c, 7424, 16, TRUE), ==, 384512.0 + 163840 + 14848 + 4096);

  temper_train_settings_init_default (&a);
  temper_train_settings_init_default (&b);
  g_assert_true (temper_train_settings_equal (&a, &b));
  b.learning_rate *= 2;
  g_assert_false (temper_train_settings_equal (&a, &b));
  b = a;
  b.lora.rank += 1;
  g_assert_false (temper_train_settings_equal (&a, &b));
  b = a;
  b.recompute = !a.recompute;
  g_assert_false (temper_train_settings_equal (&a, &b));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run-list/model-name", test_model_name);
  g_test_add_func ("/run-list/make-name", test_make_name);
  g_test_add_func ("/run-list/free-dir", test_free_dir);
  g_test_add_func ("/run-list/list", test_list);
  g_test_add_func ("/run-list/figures", test_figures);
  return g_test_run ();
}
