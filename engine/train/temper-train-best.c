/* SPDX-License-Identifier: MIT */
/* temper-train-best.c — the adapter with the lowest validation loss is the
 * one a run keeps.
 *
 * Each time the validation loss improves, the adapter is written (as PEFT)
 * to RUN/best-adapter/ with best.json saying the step and the loss; being
 * on disk, it survives a stop and a resume.  When training ends — early or
 * not — and the best adapter is not the last one, it becomes RUN/adapter/,
 * and RUN/outcome.json records what was kept, for the sentence people see. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper-train-best.h"

static char *
best_dir (temper_run_t *run)
{
  return g_build_filename (temper_run_get_dir (run), "best-adapter", NULL);
}

static gboolean
write_json (const char *path, JsonBuilder *b, GError **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents (path, text, -1, error);
}

gboolean
temper_train_best_save (temper_run_t *run, temper_adapter_t *adapter, const TemperModelConfig *c,
                        float dropout, const char *base_id, gint64 step, double val_loss,
                        GError **error)
{
  g_autofree char *dir = best_dir (run);
  g_autofree char *json = g_build_filename (dir, "best.json", NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (!temper_lora_save_peft (adapter, c, dropout, dir, base_id, error))
    return FALSE;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, step);
  json_builder_set_member_name (b, "val_loss");
  json_builder_add_double_value (b, val_loss);
  json_builder_end_object (b);
  return write_json (json, b, error);
}

static gboolean
read_best (temper_run_t *run, gint64 *step, double *val_loss)
{
  g_autofree char *dir = best_dir (run);
  g_autofree char *json = g_build_filename (dir, "best.json", NULL);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;

  if (!g_file_test (json, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  root = temper_json_parse_file (json, TEMPER_JSON_MAX_SETTINGS_SIZE, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  o = json_node_get_object (root);
  *step = json_object_get_int_member_with_default (o, "step", -1);
  *val_loss = json_object_get_double_member_with_default (o, "val_loss", NAN);
  return *step > 0;
}

gboolean
temper_train_best_keep (temper_run_t *run, const TemperModelConfig *c, float dropout,
                        const char *base_id, gint64 last_step, gboolean stopped_early,
                        int patience, GError **error)
{
  g_autofree char *outcome = g_build_filename (temper_run_get_dir (run), "outcome.json", NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gint64 best_step = -1;
  double best_loss = NAN;
  gboolean have_best = read_best (run, &best_step, &best_loss);

  if (have_best && best_step != last_step)
    {
      g_autofree char *dir = best_dir (run);
      g_autofree char *adapter_dir = temper_run_dup_adapter_dir (run);
      g_autoptr(temper_adapter_t) best = temper_lora_load_peft (dir, c, NULL, error);

      if (best == NULL ||
          !temper_lora_save_peft (best, c, dropout, adapter_dir, base_id, error))
        return FALSE;
      temper_train_log (run, _("Kept the adapter from step %" PRId64 " (validation loss %.4f), "
                               "not the last one (step %" PRId64 ")."), best_step, best_loss, last_step);
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "last_step");
  json_builder_add_int_value (b, last_step);
  json_builder_set_member_name (b, "stopped_early");
  json_builder_add_boolean_value (b, stopped_early);
  json_builder_set_member_name (b, "patience");
  json_builder_add_int_value (b, patience);
  json_builder_set_member_name (b, "kept_step");
  json_builder_add_int_value (b, have_best ? best_step : last_step);
  if (have_best)
    {
      json_builder_set_member_name (b, "kept_val_loss");
      json_builder_add_double_value (b, best_loss);
    }
  json_builder_end_object (b);
  return write_json (outcome, b, error);
}

char *
temper_train_describe_outcome (temper_run_t *run)
{
  g_autofree char *path = g_build_filename (temper_run_get_dir (run), "outcome.json", NULL);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;
  gint64 last, kept;
  gboolean early;
  double loss;
  int patience;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  root = temper_json_parse_file (path, TEMPER_JSON_MAX_SETTINGS_SIZE, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  o = json_node_get_object (root);
  last = json_object_get_int_member_with_default (o, "last_step", 0);
  kept = json_object_get_int_member_with_default (o, "kept_step", last);
  early = json_object_get_boolean_member_with_default (o, "stopped_early", FALSE);
  patience = (int) json_object_get_int_member_with_default (o, "patience", 0);
  loss = json_object_get_double_member_with_default (o, "kept_val_loss", NAN);

  if (early)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "Stopped early at step %" PRId64 ": the validation loss had not improved "
                                         "for %d evaluation; kept the adapter from step %" PRId64
                                         " (validation loss %.2f).",
                                         "Stopped early at step %" PRId64 ": the validation loss had not improved "
                                         "for %d evaluations; kept the adapter from step %" PRId64
                                         " (validation loss %.2f).", patience),
                            last, patience, kept, loss);
  if (kept != last && !isnan (loss))
    return g_strdup_printf (_("Finished at step %" PRId64 "; kept the adapter from step %" PRId64
                              ", where the validation loss was lowest (%.2f)."), last, kept, loss);
  return NULL;
}
