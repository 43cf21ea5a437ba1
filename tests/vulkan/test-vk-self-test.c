/* SPDX-License-Identifier: MIT */
/* test-vk-self-test.c — the GPU self-test on the Vulkan device there is
 * (lavapipe in CI): it passes on a working device; each op it checks, spoilt
 * on purpose through TEMPER_SELF_TEST_PERTURB, makes it fail naming that op;
 * the outcome is remembered per device and driver (a new driver runs it
 * again); and a device that failed is not trained on: training goes to the
 * CPU and says why, and "temper-cli devices" shows the failure.  The tests
 * use a cache folder of their own (XDG_CACHE_HOME, read once per process by
 * GLib), emptied before each. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/devices.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "registry/temper-backend-open.h"

#include "../test-tree.h"

static const char *const ops[] = { "matmul", "rmsnorm", "attention", "cross-entropy", "gemm", "adamw" };
/* Words of each op's label in the failure reason, in the same order. */
static const char *const op_words[] = { "quantized weights", "RMSNorm", "Attention", "cross-entropy",
                                        "matrix products", "AdamW" };

static char *cache;    /* XDG_CACHE_HOME of this process */

typedef struct {
  TemperBackend *gpu;   /* NULL: skipped */
  TemperDeviceInfo *info;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *remembered = g_build_filename (cache, "temper", "device-self-test.ini", NULL);

  g_remove (remembered);
  g_unsetenv ("TEMPER_SELF_TEST_PERTURB");
  f->gpu = temper_backend_open (TEMPER_BACKEND_VULKAN, -1, NULL, &f->info, &error);
  if (f->gpu == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
    }
  else
    g_assert_nonnull (f->info);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_unsetenv ("TEMPER_SELF_TEST_PERTURB");
  g_clear_pointer (&f->gpu, temper_backend_free);
  g_clear_pointer (&f->info, temper_device_info_free);
}

static char *
cache_file (Fixture *f)
{
  return g_build_filename (cache, "temper", "device-self-test.ini", NULL);
}

static void
test_passes (Fixture *f, gconstpointer data)
{
  g_autofree char *reason = NULL;

  if (f->gpu == NULL)
    return;
  g_assert_true (temper_backend_self_test (f->gpu, &reason));
  g_assert_null (reason);
}

/* Every op the test covers is really compared: spoiling one fails the test
 * with a reason that names it. */
static void
test_each_op (Fixture *f, gconstpointer data)
{
  if (f->gpu == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      g_autofree char *reason = NULL;

      g_setenv ("TEMPER_SELF_TEST_PERTURB", ops[i], TRUE);
      g_assert_false (temper_backend_self_test (f->gpu, &reason));
      g_assert_nonnull (reason);
      g_test_message ("%s: %s", ops[i], reason);
      g_assert_nonnull (strstr (reason, op_words[i]));
      g_assert_nonnull (strstr (reason, "away from the processor"));
    }
}

static TemperDeviceInfo *
listed_vulkan_device (const char *name)
{
  g_autoptr(GPtrArray) devices = temper_devices_list (NULL);

  for (guint i = 0; i < devices->len; i++)
    {
      TemperDeviceInfo *d = devices->pdata[i];
      if (d->backend == TEMPER_BACKEND_VULKAN && g_strcmp0 (d->name, name) == 0)
        return g_steal_pointer (&devices->pdata[i]);
    }
  g_assert_not_reached ();
}

/* Run once per device and driver: remembered in the cache folder, read back
 * by the device list, run again when the driver is another. */
static void
test_remembered (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL, *group = NULL, *reason = NULL;
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperDeviceInfo) listed = NULL;

  if (f->gpu == NULL)
    return;
  path = cache_file (f);
  group = g_strdup_printf ("vulkan/%s", f->info->name);
  listed = listed_vulkan_device (f->info->name);
  g_assert_cmpint (listed->self_test, ==, TEMPER_SELF_TEST_NOT_RUN);
  g_clear_pointer (&listed, temper_device_info_free);

  g_assert_true (temper_backend_check_device (f->gpu, f->info, &reason));
  g_assert_cmpint (f->info->self_test, ==, TEMPER_SELF_TEST_PASSED);
  g_assert_true (g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  {
    g_autofree char *result = g_key_file_get_string (file, group, "result", NULL);
    g_autofree char *driver = g_key_file_get_string (file, group, "driver", NULL);

    g_assert_cmpstr (result, ==, "passed");
    g_assert_cmpstr (driver, ==, f->info->driver);
  }
  listed = listed_vulkan_device (f->info->name);
  g_assert_cmpint (listed->self_test, ==, TEMPER_SELF_TEST_PASSED);
  g_clear_pointer (&listed, temper_device_info_free);

  /* What is remembered is believed without running again: a failure
   * written for this driver is reported as it is. */
  g_key_file_set_string (file, group, "result", "failed");
  g_key_file_set_string (file, group, "reason", "written by the test");
  g_assert_true (g_key_file_save_to_file (file, path, &error));
  g_assert_false (temper_backend_check_device (f->gpu, f->info, &reason));
  g_assert_cmpstr (reason, ==, "written by the test");
  g_clear_pointer (&reason, g_free);
  listed = listed_vulkan_device (f->info->name);
  g_assert_cmpint (listed->self_test, ==, TEMPER_SELF_TEST_FAILED);
  g_assert_cmpstr (listed->self_test_reason, ==, "written by the test");
  g_clear_pointer (&listed, temper_device_info_free);

  /* Another driver: the test runs again (and passes). */
  g_key_file_set_string (file, group, "driver", "an older driver");
  g_assert_true (g_key_file_save_to_file (file, path, &error));
  g_assert_true (temper_backend_check_device (f->gpu, f->info, &reason));
  g_assert_cmpint (f->info->self_test, ==, TEMPER_SELF_TEST_PASSED);
}

static void
note_progress (const TemperTrainProgress *p, gpointer user_data)
{
  GPtrArray *seen = user_data;

  if (seen->len == 0)
    {
      g_ptr_array_add (seen, g_strdup (p->device));
      g_ptr_array_add (seen, g_strdup (p->device_note));
    }
}

/* A device whose results are wrong: training asked for on it runs on the
 * CPU, saying why; the device list and temper-cli devices show it. */
static void
test_training_falls_back (Fixture *f, gconstpointer data)
{
  g_autofree char *model_dir = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                                 "train", "tiny-llama", NULL);
  g_autofree char *tmp = NULL, *dataset = NULL, *run_dir = NULL, *out = NULL, *cli = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(TemperDeviceInfo) listed = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings s;
  TemperTrainOptions options;
  GString *text = g_string_new (NULL);
  int status;

  if (f->gpu == NULL)
    {
      g_string_free (text, TRUE);
      return;
    }
  model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  tmp = g_dir_make_tmp ("temper-self-test-run-XXXXXX", &error);
  g_assert_no_error (error);
  for (int i = 0; i < 4; i++)
    g_string_append_printf (text, "{\"prompt\": \"Fact %d?\", \"response\": \"Answer %d.\"}\n", i, i);
  dataset = g_build_filename (tmp, "facts.jsonl", NULL);
  g_assert_true (g_file_set_contents (dataset, text->str, -1, NULL));
  g_string_free (text, TRUE);

  temper_train_settings_init_default (&s);
  s.lora.rank = 4;
  s.max_steps = 2;
  s.micro_batch = 2;
  s.grad_accum = 1;
  s.max_length = 32;
  s.val_fraction = 0;
  temper_train_options_init (&options);
  options.n_threads = 1;
  options.backend = TEMPER_BACKEND_VULKAN;
  options.progress = note_progress;
  options.progress_data = seen;
  run_dir = g_build_filename (tmp, "run", NULL);
  run = temper_run_create (run_dir, &s, temper_model_get_path (model), dataset, NULL, &error);
  g_assert_no_error (error);

  g_setenv ("TEMPER_SELF_TEST_PERTURB", "attention", TRUE);
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen->len, ==, 2);
  g_test_message ("trained on %s; note: %s", (char *) seen->pdata[0], (char *) seen->pdata[1]);
  g_assert_true (g_str_has_prefix (seen->pdata[0], "cpu"));
  g_assert_nonnull (seen->pdata[1]);
  g_assert_nonnull (strstr (seen->pdata[1], f->info->name));
  g_assert_nonnull (strstr (seen->pdata[1], "is not used for training"));
  g_assert_nonnull (strstr (seen->pdata[1], "Attention"));

  /* Remembered: listed as failed without the perturbation now. */
  g_unsetenv ("TEMPER_SELF_TEST_PERTURB");
  listed = listed_vulkan_device (f->info->name);
  g_assert_cmpint (listed->self_test, ==, TEMPER_SELF_TEST_FAILED);
  g_assert_nonnull (strstr (listed->self_test_reason, "Attention"));

  cli = g_build_filename (g_getenv ("TEMPER_BUILD_DIR"), "app", "cli", "temper-cli", NULL);
  if (g_file_test (cli, G_FILE_TEST_IS_EXECUTABLE))
    {
      const char *argv[] = { cli, "devices", NULL };

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                   &out, NULL, &status, &error));
      g_assert_no_error (error);
      g_test_message ("%s", out);
      g_assert_nonnull (strstr (out, "FAILED"));
      g_assert_nonnull (strstr (out, "Not used for training"));
      g_assert_nonnull (strstr (out, "Attention"));
    }
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  cache = g_dir_make_tmp ("temper-self-test-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_test_add ("/vulkan/self-test/passes", Fixture, NULL, fixture_setup, test_passes, fixture_teardown);
  g_test_add ("/vulkan/self-test/each-op", Fixture, NULL, fixture_setup, test_each_op, fixture_teardown);
  g_test_add ("/vulkan/self-test/remembered", Fixture, NULL, fixture_setup, test_remembered,
              fixture_teardown);
  g_test_add ("/vulkan/self-test/training-falls-back", Fixture, NULL, fixture_setup,
              test_training_falls_back, fixture_teardown);
  status = g_test_run ();
  test_remove_tree (cache);
  g_free (cache);
  return status;
}
