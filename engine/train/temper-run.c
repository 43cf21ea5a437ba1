/* SPDX-License-Identifier: MIT */
/* temper-run.c — a training run's folder: settings, dataset snapshot, metrics. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper/json.h"
#include "temper/run.h"
#include "temper-run-private.h"
#include "temper-train-json.h"

struct temper_run {
  char               *dir;
  TemperTrainSettings settings;
  char               *model_path;
  char               *data_path;
  char               *val_path;
  TemperRunLock      *lock;
};

char *
temper_run_default_dir (const char *name)
{
  g_autofree char *root = temper_runs_default_root ();

  return g_build_filename (root, name, NULL);
}

gboolean
temper_run_write_json (const char *path, JsonNode *root, GError **error)
{
  gsize len = 0;
  g_autofree char *text = temper_train_json_to_data (root, TRUE, &len);

  return temper_fs_write_file (path, text, (gssize) len, error);
}

JsonNode *
temper_run_read_json (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = NULL;

  root = temper_json_parse_file (path, TEMPER_JSON_MAX_SETTINGS_SIZE, &local);
  if (root == NULL)
    {
      g_set_error (error, TEMPER_ERROR,
                   local->domain == JSON_PARSER_ERROR ? TEMPER_ERROR_INVALID_FILE
                   : local->domain == TEMPER_ERROR ? (TemperErrorCode) local->code : TEMPER_ERROR_IO,
                   _("Could not read %s: %s"), path, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s should hold a JSON object"), path);
      return NULL;
    }
  return g_steal_pointer (&root);
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

/* A new run goes into a folder that does not exist yet or holds nothing:
 * never among a person's files, which a run folder's cleanup could one day
 * remove.  What an attempt killed before it wrote settings.json leaves (the
 * lock file, and the dataset folder next to it) is Temper's and may stay. */
static gboolean
check_new_run_dir (const char *dir, const char *settings_path, GError **error)
{
  g_autoptr(GDir) d = NULL;
  g_autofree char *lock = g_build_filename (dir, TEMPER_RUN_LOCK_NAME, NULL);
  g_autofree char *dataset = g_build_filename (dir, "dataset", NULL);
  gboolean interrupted;
  const char *entry;

  if (g_file_test (settings_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s already holds a training run: continue it with “resume”, or "
                   "choose another folder"), dir);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("Could not make a run in “%s”: it is a file. Choose a new folder."), dir);
      return FALSE;
    }
  d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return FALSE;
  interrupted = g_file_test (lock, G_FILE_TEST_IS_REGULAR) &&
                !g_file_test (dataset, G_FILE_TEST_IS_SYMLINK);
  while ((entry = g_dir_read_name (d)) != NULL)
    if (strcmp (entry, TEMPER_RUN_LOCK_NAME) != 0 &&
        !(interrupted && strcmp (entry, "dataset") == 0 && g_file_test (dataset, G_FILE_TEST_IS_DIR)))
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                     _("Could not make a run in “%s”: the folder already holds other files "
                       "(such as “%s”). Choose a new or an empty folder; nothing was changed."),
                     dir, entry);
        return FALSE;
      }
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
  if (*dir == '\0')
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("The run folder is empty: give the name of a new folder for the run."));
      return NULL;
    }
  if (!check_new_run_dir (dir, settings_path, error))
    return NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the run folder “%s”"), dir);
      return NULL;
    }

  run = g_new0 (temper_run_t, 1);
  run->dir = g_strdup (dir);
  run->settings = *settings;
  /* Checked again under the lock: another process may have just made a run here. */
  if (!temper_run_lock (run, TEMPER_RUN_USE_TRAINING, error) ||
      !check_new_run_dir (dir, settings_path, error))
    return NULL;
  if (g_mkdir_with_parents (dataset_dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the run folder “%s”"), dataset_dir);
      return NULL;
    }
  {
    g_autoptr(GFile) model = g_file_new_for_commandline_arg (model_path);

    run->model_path = g_file_get_path (model);
  }
  if (!snapshot_file (data_path, dataset_dir, "", &run->data_path, error))
    return NULL;
  /* A prefix keeps two files of the same name apart. */
  if (val_path != NULL && !snapshot_file (val_path, dataset_dir, "validation-", &run->val_path, error))
    return NULL;
  if (!temper_fs_sync (dataset_dir, error) || !temper_fs_sync_parent (dataset_dir, error))
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

/* A run trains on its own copy of the data, RUN/dataset/@name: a name that
 * leads anywhere else (a path, "..") is refused rather than followed. */
static gboolean
check_snapshot_name (const char *settings_path, const char *key, const char *name,
                     GError **error)
{
  if (*name == '\0' || strchr (name, '/') != NULL || strchr (name, G_DIR_SEPARATOR) != NULL ||
      strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s: “%s” is “%s”, but it must be the name of a file in the run’s own "
                     "“dataset” folder (no folder names): a run only trains on its own copy "
                     "of the data."), settings_path, key, name);
      return FALSE;
    }
  return TRUE;
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

  if (!check_snapshot_name (settings_path, "dataset", dataset, error) ||
      (val != NULL && !check_snapshot_name (settings_path, "validation_dataset", val, error)))
    return NULL;

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
  temper_run_lock_release (run->lock);
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

gboolean
temper_run_contains (const temper_run_t *run, const char *path)
{
  g_autofree char *dir = g_canonicalize_filename (run->dir, NULL);
  g_autofree char *full = g_canonicalize_filename (path, NULL);
  gsize len = strlen (dir);

  return strncmp (full, dir, len) == 0 && (full[len] == '\0' || G_IS_DIR_SEPARATOR (full[len]));
}

gboolean
temper_run_lock (temper_run_t *run, TemperRunUse use, GError **error)
{
  if (run->lock == NULL)
    run->lock = temper_run_lock_acquire (run->dir, use, error);
  return run->lock != NULL;
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

/* A crash or a full disk can leave the last line of @path cut short: it is
 * cut off before appending, so that the next line starts on a line of its
 * own instead of being glued onto half of one. */
static gboolean
drop_torn_tail (int fd, const char *path, GError **error)
{
  char buf[4096];
  off_t end = lseek (fd, 0, SEEK_END), pos = end;

  if (end <= 0)
    return TRUE;
  if (pread (fd, buf, 1, end - 1) == 1 && buf[0] == '\n')
    return TRUE;
  /* Back to just after the last newline (the start of the file if none). */
  while (pos > 0)
    {
      off_t from = MAX (0, pos - (off_t) sizeof buf);
      ssize_t n = pread (fd, buf, (size_t) (pos - from), from);

      if (n != pos - from)
        break;
      for (ssize_t i = n - 1; i >= 0; i--)
        if (buf[i] == '\n')
          {
            pos = from + i + 1;
            goto found;
          }
      pos = from;
    }
found:
  if (ftruncate (fd, pos) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not repair the metrics file “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_run_append_metrics (temper_run_t *run, const TemperRunMetrics *m, GError **error)
{
  g_autofree char *path = g_build_filename (run->dir, "metrics.jsonl", NULL);
  g_autofree char *line = metrics_line (m);
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  gsize len = strlen (text);
  int fd = g_open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int saved = 0;

  if (fd < 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not open the metrics file “%s”"), path);
      return FALSE;
    }
  if (!drop_torn_tail (fd, path, error))
    {
      close (fd);
      return FALSE;
    }
  if (write (fd, text, len) != (ssize_t) len)
    {
      saved = errno != 0 ? errno : ENOSPC;
      /* Leave no half line behind for the next append to find. */
      if (!drop_torn_tail (fd, path, NULL))
        g_debug ("Could not cut a short line off %s", path);
    }
  if (close (fd) != 0 && saved == 0)
    saved = errno;
  if (saved != 0)
    {
      temper_set_error_from_errno (error, saved, _("Could not write the metrics file “%s”"), path);
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
      g_autoptr(JsonNode) root = NULL;
      TemperRunMetrics m = { 0 };
      JsonObject *obj;

      if (lines[i][0] == '\0')
        continue;
      /* A line cut short by a crash or a full disk is skipped, not the rest. */
      if ((root = temper_json_parse_data (lines[i], -1, "metrics.jsonl", 0, NULL)) == NULL ||
          !JSON_NODE_HOLDS_OBJECT (root))
        continue;
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
  g_autofree char *contents = NULL;
  g_autoptr(GString) kept = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  /* The lines are kept as they were written; only a torn or unreadable
   * line and those after @step go. */
  for (int i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;

      if (lines[i][0] == '\0' || !json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        continue;
      if (json_object_get_int_member_with_default (json_node_get_object (root), "step", 0) > step)
        break;
      g_string_append_printf (kept, "%s\n", lines[i]);
    }
  return temper_fs_write_file (path, kept->str, (gssize) kept->len, error);
}
