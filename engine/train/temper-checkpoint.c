/* SPDX-License-Identifier: MIT */
/* temper-checkpoint.c — checkpoints of a run: everything needed to continue
 * training exactly where it stopped.
 *
 *   checkpoints/step-N/adapter_config.json, adapter_model.safetensors  (PEFT)
 *   checkpoints/step-N/optimizer.bin   "TMPRADAM", u64 n, n floats m, n floats v
 *   checkpoints/step-N/state.json      step, epoch, data position, RNG, …
 *
 * A checkpoint is written into a hidden folder and renamed into place, so the
 * newest step-N folder is always complete. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper/run.h"
#include "temper-run-private.h"

#define OPTIMIZER_MAGIC "TMPRADAM"
#define KEEP_CHECKPOINTS 2

/* The files a checkpoint folder holds, all written by Temper. */
static const char *const checkpoint_files[] = {
  "adapter_config.json", "adapter_model.safetensors", "optimizer.bin", "state.json",
};

/* Whether @name is one of checkpoint_files or a temporary name Temper
 * writes one of them under first ("state.json.XYZ123", "….partial"). */
static gboolean
is_checkpoint_file (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (checkpoint_files); i++)
    {
      gsize len = strlen (checkpoint_files[i]);

      if (strncmp (name, checkpoint_files[i], len) == 0 &&
          (name[len] == '\0' || name[len] == '.'))
        return TRUE;
    }
  return FALSE;
}

/* Removes a checkpoint folder Temper wrote: its own files, then the folder
 * if that emptied it.  Anything else found there is left alone, and so is
 * the folder. */
static gboolean
remove_checkpoint_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (is_checkpoint_file (name) && !g_file_test (path, G_FILE_TEST_IS_DIR))
        g_unlink (path);
    }
  return g_rmdir (dir) == 0;
}

/* For the crash-consistency test only (tests/train/test-crash-resume.py):
 * TEMPER_TEST_CHECKPOINT_PAUSE_MS makes each step of writing a checkpoint
 * last that long, so that a kill lands in the middle of one. */
static void
pause_for_tests (void)
{
  const char *ms = g_getenv ("TEMPER_TEST_CHECKPOINT_PAUSE_MS");

  if (ms != NULL)
    g_usleep ((gulong) CLAMP (g_ascii_strtoll (ms, NULL, 10), 0, 10000) * 1000);
}

static gboolean
write_optimizer (const char *path, const float *m, const float *v, guint64 n, GError **error)
{
  g_autofree char *blob = NULL;
  gsize bytes = 16 + 2 * n * sizeof (float);
  guint64 n_le = GUINT64_TO_LE (n);

  blob = g_try_malloc (bytes);
  if (blob == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to write the checkpoint %s"), path);
      return FALSE;
    }
  memcpy (blob, OPTIMIZER_MAGIC, 8);
  memcpy (blob + 8, &n_le, 8);
  memcpy (blob + 16, m, n * sizeof (float));
  memcpy (blob + 16 + n * sizeof (float), v, n * sizeof (float));
  return temper_fs_write_file (path, blob, (gssize) bytes, error);
}

static JsonNode *
state_to_json (const TemperTrainState *s)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, s->step);
  json_builder_set_member_name (b, "epoch");
  json_builder_add_int_value (b, s->epoch);
  json_builder_set_member_name (b, "position");
  json_builder_add_int_value (b, s->position);
  /* JSON numbers are doubles to most readers: 64-bit words go as hex text. */
  json_builder_set_member_name (b, "rng");
  json_builder_begin_array (b);
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *hex = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", s->rng[i]);

      json_builder_add_string_value (b, hex);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "best_val_loss");
  if (isfinite (s->best_val_loss))
    json_builder_add_double_value (b, s->best_val_loss);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "evals_without_improvement");
  json_builder_add_int_value (b, s->evals_without_improvement);
  json_builder_set_member_name (b, "tokens_seen");
  json_builder_add_int_value (b, s->tokens_seen);
  json_builder_set_member_name (b, "elapsed_s");
  json_builder_add_double_value (b, s->elapsed_s);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static char *
checkpoint_name (gint64 step)
{
  return g_strdup_printf ("step-%08" G_GINT64_FORMAT, step);
}

static int
compare_steps (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Step numbers of the complete checkpoints, ascending.  Hidden folders (a
 * checkpoint still being written) are not listed. */
static GArray *
list_checkpoints (const char *checkpoints_dir)
{
  g_autoptr(GDir) d = g_dir_open (checkpoints_dir, 0, NULL);
  GArray *steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  const char *name;

  if (d == NULL)
    return steps;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      gint64 step;
      char *end = NULL;

      if (!g_str_has_prefix (name, "step-"))
        continue;
      step = g_ascii_strtoll (name + 5, &end, 10);
      if (end == name + 5 || *end != '\0' || step < 0)
        continue;
      g_array_append_val (steps, step);
    }
  g_array_sort (steps, compare_steps);
  return steps;
}

gboolean
temper_run_save_checkpoint (temper_run_t *run, temper_adapter_t *adapter,
                            const TemperModelConfig *model_config,
                            const float *m, const float *v,
                            const TemperTrainState *state, GError **error)
{
  g_autofree char *checkpoints = g_build_filename (temper_run_get_dir (run), "checkpoints", NULL);
  g_autofree char *name = checkpoint_name (state->step);
  g_autofree char *partial_name = g_strconcat (".", name, ".partial", NULL);
  g_autofree char *old_name = g_strconcat (".", name, ".old", NULL);
  g_autofree char *final = g_build_filename (checkpoints, name, NULL);
  g_autofree char *partial = g_build_filename (checkpoints, partial_name, NULL);
  g_autofree char *old = g_build_filename (checkpoints, old_name, NULL);
  g_autofree char *opt_path = g_build_filename (partial, "optimizer.bin", NULL);
  g_autofree char *state_path = g_build_filename (partial, "state.json", NULL);
  g_autofree char *metrics_path = g_build_filename (temper_run_get_dir (run), "metrics.jsonl", NULL);
  g_autoptr(JsonNode) state_json = NULL;
  g_autoptr(GArray) steps = NULL;
  gboolean swapped = FALSE;

  remove_checkpoint_dir (partial);
  if (g_mkdir_with_parents (partial, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the checkpoint folder “%s”"), partial);
      return FALSE;
    }
  if (!temper_lora_save_peft (adapter, model_config, temper_run_get_settings (run)->lora.dropout,
                              partial, temper_run_get_model_path (run), error))
    goto fail;
  pause_for_tests ();
  if (!write_optimizer (opt_path, m, v, temper_lora_count_params (adapter, model_config), error))
    goto fail;
  pause_for_tests ();
  state_json = state_to_json (state);
  if (!temper_run_write_json (state_path, state_json, error))
    goto fail;
  pause_for_tests ();
  /* The metrics up to this step are part of what the checkpoint keeps. */
  if (g_file_test (metrics_path, G_FILE_TEST_EXISTS) && !temper_fs_sync (metrics_path, error))
    goto fail;

  /* The same step saved again (a resumed, finished run; a stop right after a
   * checkpoint) replaces it in one step where the file system can. */
  remove_checkpoint_dir (old);
  if (!temper_fs_replace_dir (partial, final, old, &swapped, error) ||
      !temper_fs_sync_parent (checkpoints, error))
    goto fail;
  pause_for_tests ();
  remove_checkpoint_dir (swapped ? partial : old);

  steps = list_checkpoints (checkpoints);
  for (guint i = 0; i + KEEP_CHECKPOINTS < steps->len; i++)
    {
      g_autofree char *n = checkpoint_name (g_array_index (steps, gint64, i));
      g_autofree char *path = g_build_filename (checkpoints, n, NULL);

      remove_checkpoint_dir (path);
    }
  return TRUE;

fail:
  g_prefix_error (error, _("Could not save a checkpoint: "));
  remove_checkpoint_dir (partial);
  return FALSE;
}

gboolean
temper_run_save_adapter (temper_run_t *run, temper_adapter_t *adapter,
                         const TemperModelConfig *model_config, const char *base_model_name,
                         GError **error)
{
  g_autofree char *final = temper_run_dup_adapter_dir (run);
  g_autofree char *partial = g_build_filename (temper_run_get_dir (run), ".adapter.partial", NULL);
  g_autofree char *old = g_build_filename (temper_run_get_dir (run), ".adapter.old", NULL);
  gboolean swapped = FALSE;

  /* Written whole under a hidden name first, as a checkpoint is: RUN/adapter
   * appears complete or not at all. */
  remove_checkpoint_dir (partial);
  if (!temper_lora_save_peft (adapter, model_config, temper_run_get_settings (run)->lora.dropout,
                              partial, base_model_name, error))
    goto fail;
  remove_checkpoint_dir (old);
  if (!temper_fs_replace_dir (partial, final, old, &swapped, error))
    goto fail;
  remove_checkpoint_dir (swapped ? partial : old);
  return TRUE;

fail:
  remove_checkpoint_dir (partial);
  return FALSE;
}

char *
temper_run_find_latest_checkpoint (const temper_run_t *run)
{
  g_autofree char *checkpoints = g_build_filename (temper_run_get_dir (run), "checkpoints", NULL);
  g_autoptr(GArray) steps = list_checkpoints (checkpoints);

  for (guint i = steps->len; i > 0; i--)
    {
      g_autofree char *name = checkpoint_name (g_array_index (steps, gint64, i - 1));
      g_autofree char *dir = g_build_filename (checkpoints, name, NULL);
      g_autofree char *state = g_build_filename (dir, "state.json", NULL);

      if (g_file_test (state, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&dir);
    }
  return NULL;
}

static void
set_range_error (GError **error, const char *path, const char *key, const char *value,
                 const char *low, const char *high)
{
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("%s is damaged: “%s” is %s, but it must be between %s and %s."),
               path, key, value, low, high);
}

/* @key of @obj as a whole number in [@low, @high] (@fallback when absent). */
static gboolean
get_int_in_range (JsonObject *obj, const char *key, gint64 fallback, gint64 low, gint64 high,
                  const char *path, gint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  char value[G_ASCII_DTOSTR_BUF_SIZE], lo[32], hi[32];
  double d;

  if (node == NULL)
    {
      *out = fallback;
      if (fallback >= low && fallback <= high)
        return TRUE;
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s is damaged: “%s” is missing."), path, key);
      return FALSE;
    }
  g_snprintf (lo, sizeof lo, "%" G_GINT64_FORMAT, low);
  g_snprintf (hi, sizeof hi, "%" G_GINT64_FORMAT, high);
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_INT64 &&
       json_node_get_value_type (node) != G_TYPE_DOUBLE))
    {
      set_range_error (error, path, key, _("not a number"), lo, hi);
      return FALSE;
    }
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      g_snprintf (value, sizeof value, "%" G_GINT64_FORMAT, *out);
      if (*out >= low && *out <= high)
        return TRUE;
    }
  else
    {
      d = json_node_get_double (node);
      g_ascii_dtostr (value, sizeof value, d);
      if (d == floor (d) && d >= (double) low && d <= (double) high)
        {
          *out = (gint64) d;
          return TRUE;
        }
    }
  set_range_error (error, path, key, value, lo, hi);
  return FALSE;
}

/* Largest step, position or token count a state.json may hold: far beyond
 * any real run, and small enough that sums of them cannot overflow. */
#define STATE_MAX_COUNT ((gint64) 1 << 50)

static gboolean
read_state (const char *path, TemperTrainState *s, GError **error)
{
  g_autoptr(JsonNode) root = temper_run_read_json (path, error);
  JsonObject *obj;
  JsonArray *rng;
  JsonNode *best, *elapsed;
  gint64 epoch, evals;

  if (root == NULL)
    return FALSE;
  obj = json_node_get_object (root);
  memset (s, 0, sizeof *s);
  /* Counted up by one as training goes on, so kept below G_MAXINT. */
  if (!get_int_in_range (obj, "step", -1, 0, STATE_MAX_COUNT, path, &s->step, error) ||
      !get_int_in_range (obj, "epoch", -1, 0, G_MAXINT / 2, path, &epoch, error) ||
      !get_int_in_range (obj, "position", -1, 0, STATE_MAX_COUNT, path, &s->position, error) ||
      !get_int_in_range (obj, "evals_without_improvement", 0, 0, G_MAXINT / 2, path, &evals, error) ||
      !get_int_in_range (obj, "tokens_seen", 0, 0, STATE_MAX_COUNT, path, &s->tokens_seen, error))
    return FALSE;
  s->epoch = (int) epoch;
  s->evals_without_improvement = (int) evals;
  elapsed = json_object_get_member (obj, "elapsed_s");
  s->elapsed_s = elapsed != NULL && JSON_NODE_HOLDS_VALUE (elapsed) &&
                 json_node_get_value_type (elapsed) != G_TYPE_STRING
                 ? json_node_get_double (elapsed) : 0.0;
  if (!(s->elapsed_s >= 0.0 && s->elapsed_s < 1e12))
    {
      char value[G_ASCII_DTOSTR_BUF_SIZE];

      set_range_error (error, path, "elapsed_s", g_ascii_dtostr (value, sizeof value, s->elapsed_s),
                       "0", "1e12");
      return FALSE;
    }
  best = json_object_get_member (obj, "best_val_loss");
  s->best_val_loss = best != NULL && JSON_NODE_HOLDS_VALUE (best)
                     ? json_node_get_double (best) : INFINITY;
  if (isnan (s->best_val_loss) || s->best_val_loss < 0.0)
    {
      char value[G_ASCII_DTOSTR_BUF_SIZE];

      set_range_error (error, path, "best_val_loss",
                       g_ascii_dtostr (value, sizeof value, s->best_val_loss), "0", "∞");
      return FALSE;
    }
  rng = json_object_has_member (obj, "rng") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "rng"))
        ? json_object_get_array_member (obj, "rng") : NULL;
  if (rng == NULL || json_array_get_length (rng) != 4)
    goto bad;
  for (guint i = 0; i < 4; i++)
    {
      JsonNode *el = json_array_get_element (rng, i);
      const char *hex;
      char *end = NULL;

      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        goto bad;
      hex = json_node_get_string (el);
      s->rng[i] = g_ascii_strtoull (hex, &end, 16);
      if (end == hex || *end != '\0')
        goto bad;
    }
  return TRUE;

bad:
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("%s is damaged: the random state “rng” is missing or unreadable"), path);
  return FALSE;
}

gboolean
temper_run_load_checkpoint (const char *checkpoint_dir,
                            const TemperModelConfig *model_config,
                            temper_adapter_t **adapter_out, float **m_out, float **v_out,
                            TemperTrainState *state, GError **error)
{
  g_autofree char *opt_path = g_build_filename (checkpoint_dir, "optimizer.bin", NULL);
  g_autofree char *state_path = g_build_filename (checkpoint_dir, "state.json", NULL);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autofree char *blob = NULL;
  gsize len = 0;
  guint64 n;

  if (!read_state (state_path, state, error))
    return FALSE;
  adapter = temper_lora_load_peft (checkpoint_dir, model_config, NULL, error);
  if (adapter == NULL)
    return FALSE;
  if (!g_file_get_contents (opt_path, &blob, &len, error))
    return FALSE;
  n = temper_lora_count_params (adapter, model_config);
  if (len != 16 + 2 * n * sizeof (float) || memcmp (blob, OPTIMIZER_MAGIC, 8) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s is damaged or belongs to another adapter"), opt_path);
      return FALSE;
    }
  *m_out = g_memdup2 (blob + 16, n * sizeof (float));
  *v_out = g_memdup2 (blob + 16 + n * sizeof (float), n * sizeof (float));
  *adapter_out = g_steal_pointer (&adapter);
  return TRUE;
}
