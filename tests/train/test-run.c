/* SPDX-License-Identifier: MIT */
/* test-run.c — learning-rate schedules (against transformers' schedulers),
 * training settings, run folders, metrics and checkpoints. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", name, NULL);
}

static guint
test_count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_schedules (void)
{
  g_autofree char *path = fixture ("schedules.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *cases;
  guint checked = 0;

  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), ==, 9);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      JsonArray *lrs = json_object_get_array_member (c, "lrs");
      TemperLrSchedule schedule;

      g_assert_true (temper_lr_schedule_parse (json_object_get_string_member (c, "schedule"),
                                               &schedule, NULL));
      for (guint s = 0; s < json_array_get_length (lrs); s++)
        {
          double expected = json_array_get_double_element (lrs, s);
          double got = temper_lr_at (schedule, json_object_get_double_member (c, "base_lr"), s,
                                     json_object_get_int_member (c, "warmup"),
                                     json_object_get_int_member (c, "total"));

          g_assert_cmpfloat_with_epsilon (got, expected, 1e-12);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >, 100);
  {
    g_autoptr(GError) error = NULL;
    TemperLrSchedule s;

    g_assert_false (temper_lr_schedule_parse ("exponential", &s, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  }
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_settings (void)
{
  TemperTrainSettings s, t;
  g_autoptr(JsonNode) json = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad[] = {
    "{\"rnak\": 8}",                /* misspelt */
    "{\"rank\": \"eight\"}",        /* wrong type */
    "{\"rank\": 0}",                /* out of range */
    "{\"learning_rate\": 3}",
    "{\"targets\": \"q,x\"}",
    "{\"schedule\": \"step\"}",
    "{\"dropout\": 1.5}",
    "[1, 2]",
  };

  temper_train_settings_init_default (&s);
  g_assert_true (temper_train_settings_validate (&s, NULL));

  s.lora.rank = 8;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.use_rslora = TRUE;
  s.learning_rate = 3e-4;
  s.schedule = TEMPER_LR_LINEAR;
  s.max_steps = 77;
  s.seed = 123456789;
  s.recompute = TRUE;
  json = temper_train_settings_to_json (&s);
  temper_train_settings_init_default (&t);
  g_assert_true (temper_train_settings_from_json (&t, json, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&s, sizeof s, &t, sizeof t);

  /* A partial file changes only what it names; integers are fine for reals. */
  {
    g_autoptr(JsonNode) partial = parse ("{\"rank\": 32, \"alpha\": 64, \"learning_rate\": 1}");

    g_assert_false (temper_train_settings_from_json (&t, partial, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "learning_rate"));
    g_clear_error (&error);
    g_assert_cmpint (t.lora.rank, ==, 8);   /* untouched on failure */
  }
  {
    g_autoptr(JsonNode) partial = parse ("{\"rank\": 32, \"alpha\": 64, \"targets\": \"attention\"}");

    g_assert_true (temper_train_settings_from_json (&t, partial, &error));
    g_assert_cmpint (t.lora.rank, ==, 32);
    g_assert_cmpfloat (t.lora.alpha, ==, 64.0f);
    g_assert_cmpuint (t.lora.targets, ==, TEMPER_LORA_TARGETS_ATTENTION);
    g_assert_cmpint (t.max_steps, ==, 77);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = parse (bad[i]);

      g_assert_false (temper_train_settings_from_json (&t, node, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
}

static TemperModelConfig
tiny_config (void)
{
  TemperModelConfig c = { 0 };

  c.rope_layout = TEMPER_ROPE_INTERLEAVED;
  c.n_layer = 2;
  c.n_embd = 64;
  c.n_ff = 96;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 16;
  c.n_vocab = 320;
  return c;
}

static void
test_run_folder (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "my-run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_run_t) again = NULL;
  g_autoptr(temper_run_t) opened = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *snapshot = NULL;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.lora.rank = 4;
  s.max_steps = 9;
  g_assert_true (g_file_set_contents (data, "{\"prompt\":\"a\",\"response\":\"b\"}\n", -1, NULL));

  run = temper_run_create (dir, &s, "/models/x.gguf", data, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (temper_run_get_model_path (run), ==, "/models/x.gguf");

  /* The snapshot is a copy: changing the original does not change the run. */
  g_assert_true (g_file_set_contents (data, "changed", -1, NULL));
  g_assert_true (g_file_get_contents (temper_run_get_data_path (run), &snapshot, NULL, NULL));
  g_assert_cmpstr (snapshot, ==, "{\"prompt\":\"a\",\"response\":\"b\"}\n");

  again = temper_run_create (dir, &s, "/models/x.gguf", data, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  opened = temper_run_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (temper_run_get_settings (opened), sizeof s, &s, sizeof s);
  g_assert_cmpstr (temper_run_get_data_path (opened), ==, temper_run_get_data_path (run));

  for (int step = 1; step <= 5; step++)
    {
      TemperRunMetrics m = { step, step / 5.0, 3.0 - step * 0.25, step == 4 ? 2.5 : NAN,
                             1e-4, 0.5, 100.0, step * 1.5, 1000 };

      g_assert_true (temper_run_append_metrics (run, &m, &error));
    }
  metrics = temper_run_read_metrics (opened, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 5);
  g_assert_cmpint (g_array_index (metrics, TemperRunMetrics, 2).step, ==, 3);
  g_assert_cmpfloat (g_array_index (metrics, TemperRunMetrics, 2).loss, ==, 2.25);
  g_assert_true (isnan (g_array_index (metrics, TemperRunMetrics, 2).val_loss));
  g_assert_cmpfloat (g_array_index (metrics, TemperRunMetrics, 3).val_loss, ==, 2.5);
  g_assert_cmpuint (g_array_index (metrics, TemperRunMetrics, 4).memory_bytes, ==, 1000);
  g_array_unref (g_steal_pointer (&metrics));

  g_assert_true (temper_run_truncate_metrics (run, 3, &error));
  metrics = temper_run_read_metrics (run, &error);
  g_assert_cmpuint (metrics->len, ==, 3);
  g_assert_cmpfloat (g_array_index (metrics, TemperRunMetrics, 2).loss, ==, 2.25);

  /* A settings.json that is not JSON is reported with its path. */
  {
    g_autofree char *settings = g_build_filename (dir, "settings.json", NULL);
    g_autoptr(temper_run_t) broken = NULL;

    g_assert_true (g_file_set_contents (settings, "{ not json", -1, NULL));
    broken = temper_run_open (dir, &error);
    g_assert_null (broken);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
    g_assert_nonnull (strstr (error->message, "settings.json"));
  }
  test_remove_tree (tmp);
}


/* A line cut short by a crash or a full disk: the reader skips it, and the
 * next append starts a line of its own instead of gluing onto it. */
static void
test_metrics_torn_line (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings s;
  FILE *f;

  temper_train_settings_init_default (&s);
  g_assert_true (g_file_set_contents (data, "{\"prompt\":\"a\",\"response\":\"b\"}\n", -1, NULL));
  run = temper_run_create (dir, &s, "/models/x.gguf", data, NULL, &error);
  g_assert_no_error (error);
  for (int step = 1; step <= 3; step++)
    {
      TemperRunMetrics m = { step, 0.1, 2.0, NAN, 1e-4, 0.5, 100.0, 1.0, 1000 };

      g_assert_true (temper_run_append_metrics (run, &m, &error));
    }
  f = g_fopen (path, "a");
  fputs ("{\"step\":4,\"epoch\":0.4,\"lo", f);
  fclose (f);
  {
    TemperRunMetrics m = { 4, 0.4, 1.5, NAN, 1e-4, 0.5, 100.0, 1.0, 1000 };

    g_assert_true (temper_run_append_metrics (run, &m, &error));
  }
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 4);
  g_assert_cmpint (g_array_index (metrics, TemperRunMetrics, 3).step, ==, 4);
  g_assert_cmpfloat (g_array_index (metrics, TemperRunMetrics, 3).loss, ==, 1.5);
  /* Every line of the file is whole. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  g_assert_cmpstr (lines[4], ==, "");
  for (int i = 0; i < 4; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    }
  g_array_unref (g_steal_pointer (&metrics));

  /* A damaged line in the middle (a file from before this rule) costs that
   * line only. */
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("%s\n{\"step\":2,\"lo{\"step\":3}\n%s\n", lines[0], lines[3]);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 2);
  g_assert_cmpint (g_array_index (metrics, TemperRunMetrics, 1).step, ==, 4);
  test_remove_tree (tmp);
}

/* A run goes only into a new or empty folder: never among the user's files,
 * never into the current folder by an empty name. */
static void
test_run_folder_refused (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *mine = g_build_filename (tmp, "mine", NULL);
  g_autofree char *notes = g_build_filename (mine, "notes.txt", NULL);
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_autofree char *back = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  g_assert_true (g_file_set_contents (data, "{\"prompt\":\"a\",\"response\":\"b\"}\n", -1, NULL));
  g_assert_cmpint (g_mkdir (mine, 0755), ==, 0);
  g_assert_true (g_file_set_contents (notes, "precious", -1, NULL));

  run = temper_run_create (mine, &s, "/models/x.gguf", data, NULL, &error);
  g_assert_null (run);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "notes.txt"));
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (notes, &back, NULL, NULL));
  g_assert_cmpstr (back, ==, "precious");
  g_assert_cmpuint (test_count_entries (mine), ==, 1);

  run = temper_run_create ("", &s, "/models/x.gguf", data, NULL, &error);
  g_assert_null (run);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  run = temper_run_create (empty, &s, "/models/x.gguf", data, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run);
  g_clear_pointer (&run, temper_run_free);

  /* What a train killed before it wrote settings.json leaves (its lock file
   * and dataset folder) is Temper's: the same train can start again there. */
  {
    g_autofree char *again = g_build_filename (tmp, "again", NULL);
    g_autofree char *dataset = g_build_filename (again, "dataset", NULL);
    g_autofree char *lock = g_build_filename (again, ".temper-lock", NULL);
    g_autofree char *copy = g_build_filename (dataset, "data.jsonl", NULL);

    g_assert_cmpint (g_mkdir_with_parents (dataset, 0755), ==, 0);
    g_assert_true (g_file_set_contents (lock, "", 0, NULL));
    g_assert_true (g_file_set_contents (copy, "{\"prompt\":", -1, NULL));
    run = temper_run_create (again, &s, "/models/x.gguf", data, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (run);
    g_clear_pointer (&run, temper_run_free);
    /* A dataset folder without the lock file is someone else's. */
    g_assert_cmpint (g_unlink (lock), ==, 0);
    {
      g_autofree char *settings = g_build_filename (again, "settings.json", NULL);
      g_assert_cmpint (g_unlink (settings), ==, 0);
    }
    run = temper_run_create (again, &s, "/models/x.gguf", data, NULL, &error);
    g_assert_null (run);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  }
  test_remove_tree (tmp);
}

/* A run trains on its own copy of the data: settings.json cannot send it
 * elsewhere. */
static void
test_settings_dataset_outside (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *settings = g_build_filename (dir, "settings.json", NULL);
  const char *const keys[] = { "dataset", "validation_dataset" };
  const char *const names[] = { "../../data.jsonl", "/etc/passwd", "..", "" };
  g_autofree char *good = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  g_assert_true (g_file_set_contents (data, "{\"prompt\":\"a\",\"response\":\"b\"}\n", -1, NULL));
  {
    g_autoptr(temper_run_t) run = temper_run_create (dir, &s, "/models/x.gguf", data, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (run);
  }
  g_assert_true (g_file_get_contents (settings, &good, NULL, NULL));
  g_assert_nonnull (strstr (good, "\"dataset\" : \"data.jsonl\""));
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autoptr(temper_run_t) opened = NULL;
        g_autofree char *text = NULL;

        /* The key goes first; the parser keeps the last of two members. */
        text = g_strdup_printf ("{\"%s\" : \"%s\",%s", keys[k], names[i],
                                k == 0 ? strstr (good, "\"model\"") : good + 1);
        if (k == 0)
          {
            /* Drop the original "dataset" member. */
            char *orig = strstr (text, "\"dataset\" : \"data.jsonl\",");
            g_assert_nonnull (orig);
            memset (orig, ' ', strlen ("\"dataset\" : \"data.jsonl\","));
          }
        g_assert_true (g_file_set_contents (settings, text, -1, NULL));
        opened = temper_run_open (dir, &error);
        g_assert_null (opened);
        g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
        g_assert_nonnull (strstr (error->message, "settings.json"));
        g_assert_nonnull (strstr (error->message, keys[k]));
        g_clear_error (&error);
      }
  test_remove_tree (tmp);
}

static void
test_checkpoints (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.json", NULL);
  g_autofree char *checkpoints = g_build_filename (dir, "checkpoints", NULL);
  TemperModelConfig mc = tiny_config ();
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) lora = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *m = NULL, *v = NULL, *p = NULL;
  g_autofree char *latest = NULL;
  TemperTrainSettings s;
  guint64 n;

  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  g_assert_true (g_file_set_contents (data, "[]", -1, NULL));
  run = temper_run_create (dir, &s, "/m.gguf", data, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (temper_run_find_latest_checkpoint (run));

  lora = temper_lora_adapter_new (&mc, &s.lora, 5, NULL);
  n = temper_lora_count_params (lora, &mc);
  m = g_new (float, n);
  v = g_new (float, n);
  p = g_new (float, n);
  for (gint64 step = 5; step <= 15; step += 5)
    {
      TemperTrainState st = { step, 1, step * 2, { 1, 2, G_MAXUINT64, step }, 1.25, 2, 4096, 9.5 };
      /* Distinct contents per step, q/k B rows included. */
      for (guint64 i = 0; i < n; i++)
        {
          p[i] = (float) (i % 97) * 0.01f + (float) step;
          m[i] = (float) i * 1e-3f + (float) step;
          v[i] = (float) step / (1.0f + (float) i);
        }
      temper_lora_scatter (lora, &mc, p);
      g_assert_true (temper_run_save_checkpoint (run, lora, &mc, m, v, &st, &error));
      g_assert_no_error (error);
    }

  /* Only the newest two remain; a half-written one is never picked. */
  {
    g_autofree char *c5 = g_build_filename (checkpoints, "step-00000005", NULL);
    g_autofree char *c10 = g_build_filename (checkpoints, "step-00000010", NULL);
    g_autofree char *partial = g_build_filename (checkpoints, ".step-00000020.partial", NULL);

    g_assert_false (g_file_test (c5, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (c10, G_FILE_TEST_IS_DIR));
    g_assert_cmpint (g_mkdir (partial, 0755), ==, 0);
  }
  latest = temper_run_find_latest_checkpoint (run);
  g_assert_nonnull (latest);
  g_assert_true (g_str_has_suffix (latest, "step-00000015"));

  {
    g_autoptr(temper_adapter_t) back = NULL;
    g_autofree float *m2 = NULL, *v2 = NULL, *p2 = g_new (float, n);
    TemperTrainState st;

    g_assert_true (temper_run_load_checkpoint (latest, &mc, &back, &m2, &v2, &st, &error));
    g_assert_no_error (error);
    temper_lora_gather (back, &mc, p2);
    g_assert_cmpmem (p2, n * 4, p, n * 4);
    g_assert_cmpmem (m2, n * 4, m, n * 4);
    g_assert_cmpmem (v2, n * 4, v, n * 4);
    g_assert_cmpint (st.step, ==, 15);
    g_assert_cmpint (st.epoch, ==, 1);
    g_assert_cmpint (st.position, ==, 30);
    g_assert_cmpuint (st.rng[2], ==, G_MAXUINT64);
    g_assert_cmpuint (st.rng[3], ==, 15);
    g_assert_cmpfloat (st.best_val_loss, ==, 1.25);
    g_assert_cmpint (st.evals_without_improvement, ==, 2);
    g_assert_cmpint (st.tokens_seen, ==, 4096);
  }

  /* A damaged optimizer file is reported, not trusted. */
  {
    g_autofree char *opt = g_build_filename (latest, "optimizer.bin", NULL);
    g_autoptr(temper_adapter_t) back = NULL;
    float *m2 = NULL, *v2 = NULL;
    TemperTrainState st;

    g_assert_true (g_file_set_contents (opt, "TMPRADAM", 8, NULL));
    g_assert_false (temper_run_load_checkpoint (latest, &mc, &back, &m2, &v2, &st, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
    g_assert_nonnull (strstr (error->message, "optimizer.bin"));
    g_assert_null (back);
  }
  test_remove_tree (tmp);
}

/* A run with one checkpoint of a tiny adapter, for the tests below. */
static temper_run_t *
run_with_checkpoint (const char *dir, const char *data, gint64 step, char **checkpoint)
{
  TemperModelConfig mc = tiny_config ();
  g_autoptr(temper_adapter_t) lora = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *m = NULL, *v = NULL;
  TemperTrainSettings s;
  TemperTrainState st = { step, 1, 3, { 1, 2, 3, 4 }, 1.25, 0, 100, 1.0 };
  temper_run_t *run;
  guint64 n;

  temper_train_settings_init_default (&s);
  s.lora.rank = 2;
  g_assert_true (g_file_set_contents (data, "[]", -1, NULL));
  run = temper_run_create (dir, &s, "/m.gguf", data, NULL, &error);
  g_assert_no_error (error);
  lora = temper_lora_adapter_new (&mc, &s.lora, 5, NULL);
  n = temper_lora_count_params (lora, &mc);
  m = g_new0 (float, n);
  v = g_new0 (float, n);
  g_assert_true (temper_run_save_checkpoint (run, lora, &mc, m, v, &st, &error));
  g_assert_no_error (error);
  if (checkpoint != NULL)
    *checkpoint = temper_run_find_latest_checkpoint (run);
  return run;
}

/* Every number of state.json is checked against its range, and the message
 * names the file, the key, the value and the range. */
static void
test_state_ranges (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.json", NULL);
  g_autofree char *latest = NULL, *state = NULL, *good = NULL;
  g_autoptr(temper_run_t) run = run_with_checkpoint (dir, data, 7, &latest);
  TemperModelConfig mc = tiny_config ();
  const struct { const char *key, *value, *shown; } bad[] = {
    { "epoch", "2147483647", "2147483647" },
    { "epoch", "-1", "-1" },
    { "epoch", "1.5", "1.5" },
    { "step", "-3", "-3" },
    { "step", "1e300", "1e+300" },
    { "position", "9223372036854775807", "9223372036854775807" },
    { "evals_without_improvement", "4294967296", "4294967296" },
    { "tokens_seen", "-1", "-1" },
    { "epoch", "\"2\"", NULL },
    { "elapsed_s", "-5", "-5" },
  };

  /* The run stays open (and locked) while its state.json is spoilt. */
  g_assert_nonnull (run);
  state = g_build_filename (latest, "state.json", NULL);
  g_assert_true (g_file_get_contents (state, &good, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_adapter_t) back = NULL;
      g_autofree float *m = NULL, *v = NULL;
      g_autofree char *text = NULL, *with = NULL;
      TemperTrainState st;

      /* The value is spliced in as text: some cannot be made by json-glib. */
      with = g_strdup_printf ("\"%s\" : %s,", bad[i].key, bad[i].value);
      g_assert_true (json_parser_load_from_data (parser, good, -1, NULL));
      json_object_remove_member (json_node_get_object (json_parser_get_root (parser)), bad[i].key);
      json_generator_set_root (gen, json_parser_get_root (parser));
      text = json_generator_to_data (gen, NULL);
      g_assert_cmpint (text[0], ==, '{');
      g_clear_pointer (&with, g_free);
      with = g_strdup_printf ("{\"%s\" : %s,%s", bad[i].key, bad[i].value, text + 1);
      g_assert_true (g_file_set_contents (state, with, -1, NULL));

      g_assert_false (temper_run_load_checkpoint (latest, &mc, &back, &m, &v, &st, &error));
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
      g_assert_nonnull (strstr (error->message, "state.json"));
      g_assert_nonnull (strstr (error->message, bad[i].key));
      if (bad[i].shown != NULL)
        g_assert_nonnull (strstr (error->message, bad[i].shown));
      g_assert_nonnull (strstr (error->message, "between 0 and"));
    }
  test_remove_tree (tmp);
}

/* Old checkpoints are removed file by file, Temper's files only: something
 * the user put into a checkpoint folder stays, and so does the folder. */
static void
test_checkpoint_cleanup_spares_other_files (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.json", NULL);
  g_autofree char *first = NULL;
  g_autoptr(temper_run_t) run = run_with_checkpoint (dir, data, 5, &first);
  g_autofree char *notes = g_build_filename (first, "notes.txt", NULL);
  g_autofree char *state = g_build_filename (first, "state.json", NULL);
  TemperModelConfig mc = tiny_config ();
  g_autoptr(temper_adapter_t) lora = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *m = NULL, *v = NULL;
  g_autofree char *latest = NULL;
  guint64 n;

  g_assert_true (g_file_set_contents (notes, "mine", -1, NULL));
  lora = temper_lora_adapter_new (&mc, &temper_run_get_settings (run)->lora, 5, NULL);
  n = temper_lora_count_params (lora, &mc);
  m = g_new0 (float, n);
  v = g_new0 (float, n);
  for (gint64 step = 10; step <= 20; step += 5)
    {
      TemperTrainState st = { step, 1, 3, { 1, 2, 3, 4 }, 1.25, 0, 100, 1.0 };

      g_assert_true (temper_run_save_checkpoint (run, lora, &mc, m, v, &st, &error));
      g_assert_no_error (error);
    }
  g_assert_true (g_file_test (notes, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  latest = temper_run_find_latest_checkpoint (run);
  g_assert_true (g_str_has_suffix (latest, "step-00000020"));

  /* The same step saved again, and the adapter twice: the new contents
   * replace the old ones, and nothing is left under a temporary name. */
  {
    g_autofree char *checkpoints = g_build_filename (dir, "checkpoints", NULL);
    g_autofree float *p = g_new (float, n);
    g_autofree float *m2 = NULL, *v2 = NULL, *back_p = g_new (float, n);
    g_autoptr(temper_adapter_t) back = NULL;
    TemperTrainState st = { 20, 2, 1, { 5, 6, 7, 8 }, 1.0, 0, 200, 2.0 };
    TemperTrainState got;
    guint before = test_count_entries (dir);

    for (guint64 i = 0; i < n; i++)
      p[i] = 0.25f + (float) i * 1e-3f;
    temper_lora_scatter (lora, &mc, p);
    g_assert_true (temper_run_save_checkpoint (run, lora, &mc, m, v, &st, &error));
    g_assert_no_error (error);
    g_assert_true (temper_run_load_checkpoint (latest, &mc, &back, &m2, &v2, &got, &error));
    g_assert_no_error (error);
    g_assert_cmpint (got.epoch, ==, 2);
    temper_lora_gather (back, &mc, back_p);
    g_assert_cmpmem (back_p, n * 4, p, n * 4);
    g_assert_cmpuint (test_count_entries (checkpoints), ==, 3);   /* step 5 (notes.txt), 15, 20 */

    g_assert_true (temper_run_save_adapter (run, lora, &mc, "tiny", &error));
    g_assert_no_error (error);
    g_assert_true (temper_run_save_adapter (run, lora, &mc, "tiny", &error));
    g_assert_no_error (error);
    g_assert_cmpuint (test_count_entries (dir), ==, before + 1);
  }
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run/schedules", test_schedules);
  g_test_add_func ("/run/settings", test_settings);
  g_test_add_func ("/run/folder", test_run_folder);
  g_test_add_func ("/run/checkpoints", test_checkpoints);
  g_test_add_func ("/run/metrics-torn-line", test_metrics_torn_line);
  g_test_add_func ("/run/folder-refused", test_run_folder_refused);
  g_test_add_func ("/run/settings-dataset-outside", test_settings_dataset_outside);
  g_test_add_func ("/run/state-ranges", test_state_ranges);
  g_test_add_func ("/run/checkpoint-cleanup", test_checkpoint_cleanup_spares_other_files);
  return g_test_run ();
}
