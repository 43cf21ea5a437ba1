/* temper-run.c — a training run's folder: settings, dataset snapshot, metrics. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/run.h"
#include "temper-run-private.h"
#include "temper-train-json.h"

struct temper_run {
  char               *dir;
  TemperTrainSettings settings;
  char               *model_path;
  char               *data_path;
  char               *val_path;
};

char *
temper_run_default_dir (const char *name)
{
  return g_build_filename (g_get_user_data_dir (), "temper", "runs", name, NULL);
}

gboolean
temper_run_write_json (const char *path, JsonNode *root, GError **error)
{
  gsize len = 0;
  g_autofree char *text = temper_train_json_to_data (root, TRUE, &len);

  if (!g_file_set_contents (path, text, (gssize) len, error))
    {
      g_prefix_error (error, _("Could not write %s: "), path);
      return FALSE;
    }
  return TRUE;
}

JsonNode *
temper_run_read_json (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, TEMPER_ERROR,
                   local->domain == G_FILE_ERROR ? TEMPER_ERROR_IO : TEMPER_ERROR_INVALID_FILE,
                   _("Could not read %s: %s"), path, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s should hold a JSON object"), path);
      return NULL;
    }
  return json_node_copy (root);
}

static gboolean
snapshot_file (const char *src, const char *dataset_dir, const char *prefix, char **out_path,
               GError **error)
{
  g_autofree char *base = g_path_get_basename (src);
  g_autofree char *name = g_strconcat (prefix, base, NULL);
  g_autofree char *dst = g_build_filename (dataset_dir, name, NULL);
  g_autoptr(GFile) from = g_file_new_for_path (src);
  g_autoptr(GFile) to = g_file_new_for_path (dst);
  g_autoptr(GError) local = NULL;

  if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &local))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("Could not copy the dataset %s into the run folder: %s"), src, local->message);
      return FALSE;
    }
  *out_path = g_steal_pointer (&dst);
  return TRUE;
}

temper_run_t *
temper_run_create (const char                *dir,
                   const TemperTrainSettings *settings,
                   const char                *model_path,
                   const char                *data_path,
                   const char                *val_path,
                   GError                   **error)
{
  g_autoptr(temper_run_t) run = NULL;
  g_autofree char *settings_path = g_build_filename (dir, "settings.json", NULL);
  g_autofree char *dataset_dir = g_build_filename (dir, "dataset", NULL);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;

  g_return_val_if_fail (dir != NULL && settings != NULL && model_path != NULL &&
                        data_path != NULL, NULL);

  if (!temper_train_settings_validate (settings, error))
    return NULL;
  if (g_file_test (settings_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s already holds a training run: continue it with “resume”, or "
                   "choose another folder"), dir);
      return NULL;
    }
  if (g_mkdir_with_parents (dataset_dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, dir, _("create the run folder"));
      return NULL;
    }

  run = g_new0 (temper_run_t, 1);
  run->dir = g_strdup (dir);
  run->settings = *settings;
  {
    g_autoptr(GFile) model = g_file_new_for_commandline_arg (model_path);

    run->model_path = g_file_get_path (model);
  }
  if (!snapshot_file (data_path, dataset_dir, "", &run->data_path, error))
    return NULL;
  /* A prefix keeps two files of the same name apart. */
  if (val_path != NULL && !snapshot_file (val_path, dataset_dir, "validation-", &run->val_path, error))
    return NULL;

  root = json_node_new (JSON_NODE_OBJECT);
  obj = json_object_new ();
  json_node_take_object (root, obj);
  json_object_set_string_member (obj, "model", run->model_path);
  {
    g_autofree char *base = g_path_get_basename (run->data_path);

    json_object_set_string_member (obj, "dataset", base);
  }
  if (run->val_path != NULL)
    {
      g_autofree char *base = g_path_get_basename (run->val_path);

      json_object_set_string_member (obj, "validation_dataset", base);
    }
  json_object_set_member (obj, "training", temper_train_settings_to_json (settings));
  if (!temper_run_write_json (settings_path, root, error))
    return NULL;
  return g_steal_pointer (&run);
}

static const char *const path_members[] = { "model", "dataset", "validation_dataset" };

temper_run_t *
temper_run_open (const char *dir, GError **error)
{
  g_autoptr(temper_run_t) run = NULL;
  g_autofree char *settings_path = g_build_filename (dir, "settings.json", NULL);
  g_autoptr(JsonNode) root = temper_run_read_json (settings_path, error);
  JsonObject *obj;
  const char *model, *dataset, *val;

  if (root == NULL)
    return NULL;
  obj = json_node_get_object (root);
  /* Paths are strings: a list or an object there is damage (and json-glib's
   * getters must not be called on it). */
  for (guint i = 0; i < G_N_ELEMENTS (path_members); i++)
    {
      JsonNode *member = json_object_get_member (obj, path_members[i]);

      if (member != NULL && !JSON_NODE_HOLDS_VALUE (member) && !JSON_NODE_HOLDS_NULL (member))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("%s is damaged: “%s” holds a list or an object instead of a value"),
                       settings_path, path_members[i]);
          return NULL;
        }
    }
  model = json_object_get_string_member_with_default (obj, "model", NULL);
  dataset = json_object_get_string_member_with_default (obj, "dataset", NULL);
  val = json_object_get_string_member_with_default (obj, "validation_dataset", NULL);
  if (model == NULL || dataset == NULL || !json_object_has_member (obj, "training"))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s lacks the model, the dataset or the training settings"), settings_path);
      return NULL;
    }

  run = g_new0 (temper_run_t, 1);
  run->dir = g_strdup (dir);
  run->model_path = g_strdup (model);
  run->data_path = g_build_filename (dir, "dataset", dataset, NULL);
  run->val_path = val != NULL ? g_build_filename (dir, "dataset", val, NULL) : NULL;
  temper_train_settings_init_default (&run->settings);
  if (!temper_train_settings_from_json (&run->settings, json_object_get_member (obj, "training"),
                                        error))
    {
      g_prefix_error (error, "%s: ", settings_path);
      return NULL;
    }
  return g_steal_pointer (&run);
}

void
temper_run_free (temper_run_t *run)
{
  if (run == NULL)
    return;
  g_free (run->dir);
  g_free (run->model_path);
  g_free (run->data_path);
  g_free (run->val_path);
  g_free (run);
}

const char *
temper_run_get_dir (const temper_run_t *run)
{
  return run->dir;
}

const TemperTrainSettings *
temper_run_get_settings (const temper_run_t *run)
{
  return &run->settings;
}

const char *
temper_run_get_model_path (const temper_run_t *run)
{
  return run->model_path;
}

temper_model_t *
temper_run_load_model (const temper_run_t *run, GCancellable *cancellable, GError **error)
{
  g_autoptr(temper_model_t) model = temper_model_load (run->model_path, cancellable, error);

  if (model == NULL
      || !temper_model_set_base_weights (model, run->settings.base_weights, cancellable, error))
    return NULL;
  return g_steal_pointer (&model);
}

const char *
temper_run_get_data_path (const temper_run_t *run)
{
  return run->data_path;
}

const char *
temper_run_get_val_path (const temper_run_t *run)
{
  return run->val_path;
}

char *
temper_run_dup_adapter_dir (const temper_run_t *run)
{
  return g_build_filename (run->dir, "adapter", NULL);
}

/* ---- metrics.jsonl --------------------------------------------------------- */

static void
add_number (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static char *
metrics_line (const TemperRunMetrics *m)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, m->step);
  add_number (b, "epoch", m->epoch);
  add_number (b, "loss", m->loss);
  add_number (b, "val_loss", m->val_loss);
  add_number (b, "val_perplexity", isfinite (m->val_loss) ? exp (m->val_loss) : NAN);
  add_number (b, "lr", m->lr);
  add_number (b, "grad_norm", m->grad_norm);
  add_number (b, "tokens_per_s", m->tokens_per_s);
  add_number (b, "elapsed_s", m->elapsed_s);
  json_builder_set_member_name (b, "memory_bytes");
  json_builder_add_int_value (b, (gint64) m->memory_bytes);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return temper_train_json_to_data (root, FALSE, NULL);
}

gboolean
temper_run_append_metrics (temper_run_t *run, const TemperRunMetrics *m, GError **error)
{
  g_autofree char *path = g_build_filename (run->dir, "metrics.jsonl", NULL);
  g_autofree char *line = metrics_line (m);
  FILE *f = fopen (path, "a");
  int saved;

  if (f == NULL)
    {
      temper_set_error_from_errno (error, errno, path, _("open the metrics file"));
      return FALSE;
    }
  fprintf (f, "%s\n", line);
  saved = ferror (f) ? errno : 0;
  if (fclose (f) != 0 && saved == 0)
    saved = errno;
  if (saved != 0)
    {
      temper_set_error_from_errno (error, saved, path, _("write the metrics file"));
      return FALSE;
    }
  return TRUE;
}

static double
get_number (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

GArray *
temper_run_read_metrics (const temper_run_t *run, GError **error)
{
  g_autofree char *path = g_build_filename (run->dir, "metrics.jsonl", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GArray) out = g_array_new (FALSE, TRUE, sizeof (TemperRunMetrics));
  g_auto(GStrv) lines = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&out);
  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      TemperRunMetrics m = { 0 };
      JsonNode *root;
      JsonObject *obj;

      if (lines[i][0] == '\0')
        continue;
      /* A line cut short by a crash is the last one: stop there. */
      if (!json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        break;
      obj = json_node_get_object (root);
      m.step = json_object_get_int_member_with_default (obj, "step", 0);
      m.epoch = get_number (obj, "epoch");
      m.loss = get_number (obj, "loss");
      m.val_loss = get_number (obj, "val_loss");
      m.lr = get_number (obj, "lr");
      m.grad_norm = get_number (obj, "grad_norm");
      m.tokens_per_s = get_number (obj, "tokens_per_s");
      m.elapsed_s = get_number (obj, "elapsed_s");
      m.memory_bytes = (guint64) json_object_get_int_member_with_default (obj, "memory_bytes", 0);
      g_array_append_val (out, m);
    }
  return g_steal_pointer (&out);
}

gboolean
temper_run_truncate_metrics (temper_run_t *run, gint64 step, GError **error)
{
  g_autofree char *path = g_build_filename (run->dir, "metrics.jsonl", NULL);
  g_autoptr(GArray) all = temper_run_read_metrics (run, error);
  GString *text;
  gboolean ok;

  if (all == NULL)
    return FALSE;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  text = g_string_new (NULL);
  for (guint i = 0; i < all->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (all, TemperRunMetrics, i);
      g_autofree char *line = NULL;

      if (m->step > step)
        break;
      line = metrics_line (m);
      g_string_append_printf (text, "%s\n", line);
    }
  ok = g_file_set_contents (path, text->str, (gssize) text->len, error);
  g_string_free (text, TRUE);
  return ok;
}
