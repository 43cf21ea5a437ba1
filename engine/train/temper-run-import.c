/* SPDX-License-Identifier: MIT */
/* temper-run-import.c — a distributed trainer's output as a Temper run.
 *
 * LLaMA-Factory and axolotl both end with a PEFT adapter and transformers'
 * trainer_state.json in their output folder; a job exported by Temper also
 * carries the run's own settings and dataset (JOB/temper/), so the imported
 * run is the exported one with the cluster's adapter and loss curve. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/job.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-run-private.h"

static gboolean
has_adapter (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "adapter_config.json", NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static gboolean
is_job (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "temper", "settings.json", NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

/* Finds the adapter folder and, when there is one, the Temper job around it:
 * JOB, JOB/output or JOB/output/checkpoint-N. */
static gboolean
locate (const char *source, char **adapter_dir, char **job_dir, GError **error)
{
  g_autofree char *output = g_build_filename (source, "output", NULL);
  g_autofree char *parent = g_path_get_dirname (source);
  g_autofree char *grandparent = g_path_get_dirname (parent);

  if (has_adapter (source))
    *adapter_dir = g_strdup (source);
  else if (has_adapter (output))
    *adapter_dir = g_steal_pointer (&output);
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s holds no adapter (adapter_config.json): give the job folder, or the "
                     "trainer’s output folder once training has finished"), source);
      return FALSE;
    }
  if (is_job (source))
    *job_dir = g_strdup (source);
  else if (is_job (parent))
    *job_dir = g_steal_pointer (&parent);
  else if (is_job (grandparent))
    *job_dir = g_steal_pointer (&grandparent);
  else
    *job_dir = NULL;
  return TRUE;
}

/* trainer_state.json of the output folder, or of its newest checkpoint. */
static char *
find_trainer_state (const char *adapter_dir)
{
  g_autofree char *direct = g_build_filename (adapter_dir, "trainer_state.json", NULL);
  g_autoptr(GDir) d = NULL;
  const char *name;
  gint64 best = -1;
  char *best_path = NULL;

  if (g_file_test (direct, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&direct);
  d = g_dir_open (adapter_dir, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      gint64 step;

      if (!g_str_has_prefix (name, "checkpoint-"))
        continue;
      step = g_ascii_strtoll (name + strlen ("checkpoint-"), NULL, 10);
      path = g_build_filename (adapter_dir, name, "trainer_state.json", NULL);
      if (step > best && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          best = step;
          g_free (best_path);
          best_path = g_steal_pointer (&path);
        }
    }
  return best_path;
}

static double
member_number (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

/* One metrics line per logged step of log_history: training entries carry
 * loss, learning_rate, grad_norm; evaluations eval_loss (merged into the
 * line of their step). */
static gboolean
import_metrics (temper_run_t *run, const char *state_path, GError **error)
{
  g_autoptr(JsonNode) root = temper_run_read_json (state_path, error);
  g_autoptr(GArray) lines = g_array_new (FALSE, TRUE, sizeof (TemperRunMetrics));
  JsonArray *history;

  if (root == NULL)
    return FALSE;
  if (!json_object_has_member (json_node_get_object (root), "log_history")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "log_history")))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s has no log_history, so there is no loss curve to bring back"),
                   state_path);
      return FALSE;
    }
  history = json_object_get_array_member (json_node_get_object (root), "log_history");
  for (guint i = 0; i < json_array_get_length (history); i++)
    {
      JsonNode *node = json_array_get_element (history, i);
      JsonObject *e;
      TemperRunMetrics *m = NULL;
      gint64 step;
      double loss, val_loss;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      e = json_node_get_object (node);
      step = json_object_get_int_member_with_default (e, "step", -1);
      loss = member_number (e, "loss");
      val_loss = member_number (e, "eval_loss");
      if (step < 0 || (isnan (loss) && isnan (val_loss)))
        continue;
      if (lines->len > 0 && g_array_index (lines, TemperRunMetrics, lines->len - 1).step == step)
        m = &g_array_index (lines, TemperRunMetrics, lines->len - 1);
      else
        {
          TemperRunMetrics fresh = {
            .step = step, .epoch = NAN, .loss = NAN, .val_loss = NAN, .lr = NAN,
            .grad_norm = NAN, .tokens_per_s = NAN, .elapsed_s = NAN, .memory_bytes = 0,
          };
          g_array_append_val (lines, fresh);
          m = &g_array_index (lines, TemperRunMetrics, lines->len - 1);
        }
      if (!isnan (member_number (e, "epoch")))
        m->epoch = member_number (e, "epoch");
      if (!isnan (loss))
        {
          m->loss = loss;
          m->lr = member_number (e, "learning_rate");
          m->grad_norm = member_number (e, "grad_norm");
        }
      if (!isnan (val_loss))
        m->val_loss = val_loss;
    }
  for (guint i = 0; i < lines->len; i++)
    if (!temper_run_append_metrics (run, &g_array_index (lines, TemperRunMetrics, i), error))
      return FALSE;
  return TRUE;
}

/* The exported run's settings.json inside the job. */
static gboolean
read_job_settings (const char *job_dir, TemperTrainSettings *settings, char **model,
                   char **data, char **val, GError **error)
{
  g_autofree char *path = g_build_filename (job_dir, "temper", "settings.json", NULL);
  g_autoptr(JsonNode) root = temper_run_read_json (path, error);
  JsonObject *obj;
  const char *dataset, *validation;

  if (root == NULL)
    return FALSE;
  obj = json_node_get_object (root);
  dataset = json_object_get_string_member_with_default (obj, "dataset", NULL);
  validation = json_object_get_string_member_with_default (obj, "validation_dataset", NULL);
  if (dataset == NULL || !json_object_has_member (obj, "training"))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s lacks the dataset or the training settings"), path);
      return FALSE;
    }
  if (!temper_train_settings_from_json (settings, json_object_get_member (obj, "training"), error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (*model == NULL)
    *model = g_strdup (json_object_get_string_member_with_default (obj, "model", ""));
  *data = g_build_filename (job_dir, "temper", dataset, NULL);
  if (validation != NULL)
    *val = g_build_filename (job_dir, "temper", validation, NULL);
  return TRUE;
}

static char *
base_model_name (const char *adapter_dir)
{
  g_autofree char *path = g_build_filename (adapter_dir, "adapter_config.json", NULL);
  g_autoptr(JsonNode) root = temper_run_read_json (path, NULL);

  if (root == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (root),
                                                               "base_model_name_or_path", NULL));
}

static gboolean
dir_is_new_or_empty (const char *dir, GError **error)
{
  g_autoptr(GDir) d = NULL;

  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    return TRUE;
  d = g_dir_open (dir, 0, NULL);
  if (d == NULL || g_dir_read_name (d) != NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s already exists and is not empty; choose a new name for the imported run"),
                   dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_run_import (const char *source, const char *run_dir, const char *model_path,
                   const char *data_path, GCancellable *cancellable, GError **error)
{
  g_autofree char *adapter_dir = NULL, *job_dir = NULL, *model = g_strdup (model_path);
  g_autofree char *data = NULL, *val = NULL, *state_path = NULL, *base_name = NULL;
  g_autofree char *run_adapter = NULL;
  g_autoptr(temper_model_t) loaded = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainSettings settings;
  TemperLoraConfig lora;

  g_return_val_if_fail (source != NULL && run_dir != NULL, FALSE);

  if (!locate (source, &adapter_dir, &job_dir, error) || !dir_is_new_or_empty (run_dir, error))
    return FALSE;
  temper_train_settings_init_default (&settings);
  if (job_dir != NULL)
    {
      if (!read_job_settings (job_dir, &settings, &model, &data, &val, error))
        return FALSE;
    }
  if (data_path != NULL)
    {
      g_free (data);
      data = g_strdup (data_path);
      g_clear_pointer (&val, g_free);
    }
  if (model == NULL || *model == '\0' || data == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s did not come from a job Temper exported: name the base model and the "
                     "dataset it was trained on"), source);
      return FALSE;
    }

  state_path = find_trainer_state (adapter_dir);
  if (state_path == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s has no trainer_state.json, so there is no loss curve to bring back; "
                     "copy the whole output folder"), adapter_dir);
      return FALSE;
    }

  /* The adapter must fit the model before a run is made of it. */
  loaded = temper_model_load (model, cancellable, error);
  if (loaded == NULL)
    return FALSE;
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (loaded), &lora, error);
  if (adapter == NULL)
    return FALSE;
  settings.lora = lora;

  run = temper_run_create (run_dir, &settings, model, data, val, error);
  if (run == NULL)
    return FALSE;
  base_name = base_model_name (adapter_dir);
  run_adapter = temper_run_dup_adapter_dir (run);
  if (!temper_lora_save_peft (adapter, temper_model_get_config (loaded), lora.dropout, run_adapter,
                              base_name != NULL ? base_name : temper_model_get_name (loaded),
                              error))
    return FALSE;
  return import_metrics (run, state_path, error);
}
