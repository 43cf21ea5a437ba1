/* SPDX-License-Identifier: MIT */
/* temper-export-job.c — a run's adapter, out through the engine's exports.
 *
 * The engine writes each export under a temporary name and renames it at
 * the end; this file only picks the names, makes the folder and chains the
 * steps a person expects from one click: for Ollama that is the merged GGUF,
 * its Modelfile and the chat template check. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-export-job.h"

void
temper_export_result_free (TemperExportResult *result)
{
  if (result == NULL)
    return;
  g_free (result->output_path);
  g_free (result->modelfile_path);
  g_free (result->ollama_command);
  g_free (result->template_problem);
  g_free (result);
}

gboolean
temper_export_choice_available (const temper_model_t *model,
                                TemperExportChoice    choice,
                                char                **why)
{
  g_autoptr(GError) error = NULL;
  gboolean available = TRUE;

  if (why != NULL)
    *why = NULL;
  if (model == NULL)
    return FALSE;
  /* Both merged forms can come from either kind of model, as far as the
   * engine's own check before merging says (the family, what the other
   * format cannot hold, the tokenizer). */
  if (choice == TEMPER_EXPORT_CHOICE_MERGED_HF)
    available = temper_export_merge_supported (model, TEMPER_EXPORT_MERGED_HF, &error);
  else if (choice == TEMPER_EXPORT_CHOICE_MERGED_GGUF)
    available = temper_export_merge_supported (model, TEMPER_EXPORT_MERGED_GGUF, &error);
  if (!available && why != NULL)
    *why = g_strdup (error->message);
  return available;
}

/* The model's name as a file name: the exports of several models can share
 * a folder and still tell themselves apart. */
static char *
file_stem (const temper_model_t *model)
{
  g_autofree char *name = g_strdup (temper_model_get_name (model));

  if (name == NULL || *name == '\0')
    {
      g_free (name);
      name = g_path_get_basename (temper_model_get_path (model));
      if (g_str_has_suffix (name, ".gguf"))
        name[strlen (name) - 5] = '\0';
    }
  g_strcanon (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", '-');
  return g_strconcat (name, "-tuned", NULL);
}

char *
temper_export_output_path (const temper_model_t *model,
                           TemperExportChoice    choice,
                           TemperExportQuant     quant,
                           const char           *folder)
{
  g_autofree char *stem = file_stem (model);
  g_autofree char *base = NULL;

  switch (choice)
    {
    case TEMPER_EXPORT_CHOICE_PEFT:
      base = g_strconcat (stem, "-peft", NULL);
      break;
    case TEMPER_EXPORT_CHOICE_GGUF_ADAPTER:
      base = g_strconcat (stem, "-lora.gguf", NULL);
      break;
    case TEMPER_EXPORT_CHOICE_MERGED_HF:
      base = g_strconcat (stem, "-merged", NULL);
      break;
    case TEMPER_EXPORT_CHOICE_MERGED_GGUF:
    default:
      base = g_strdup_printf ("%s-%s.gguf", stem, temper_export_quant_name (quant));
      break;
    }
  return g_build_filename (folder, base, NULL);
}

static char *
modelfile_path_for (const char *gguf_path)
{
  g_autofree char *stem = g_strndup (gguf_path, strlen (gguf_path) - strlen (".gguf"));

  return g_strconcat (stem, ".Modelfile", NULL);
}

TemperExportResult *
temper_export_run (const temper_model_t      *model,
                   const char                *run_dir,
                   TemperExportChoice         choice,
                   TemperExportQuant          quant,
                   const char                *folder,
                   const TemperExportOptions *options,
                   GError                   **error)
{
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(TemperExportResult) result = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autofree char *out = NULL;
  g_autofree char *why = NULL;
  TemperLoraConfig lora;
  gboolean ok = FALSE;

  g_return_val_if_fail (model != NULL && run_dir != NULL && folder != NULL, NULL);

  if (!temper_export_choice_available (model, choice, &why))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED, why);
      return NULL;
    }
  run = temper_run_open (run_dir, error);
  /* The Export page writes into the run's own exports folder by default. */
  if (run == NULL ||
      (temper_run_contains (run, folder) && !temper_run_lock (run, TEMPER_RUN_USE_EXPORTING, error)))
    return NULL;
  adapter_dir = temper_run_dup_adapter_dir (run);
  if (!g_file_test (adapter_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("This run has not finished, so it has no adapter to export yet. "
                             "Resume it on the Training page and let it run to the end."));
      return NULL;
    }
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), &lora, error);
  if (adapter == NULL)
    return NULL;
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), folder);
      return NULL;
    }

  out = temper_export_output_path (model, choice, quant, folder);
  switch (choice)
    {
    case TEMPER_EXPORT_CHOICE_PEFT:
      ok = temper_export_peft (model, adapter, lora.dropout, out, options, error);
      break;
    case TEMPER_EXPORT_CHOICE_GGUF_ADAPTER:
      ok = temper_export_gguf_adapter (model, adapter, out, options, error);
      break;
    case TEMPER_EXPORT_CHOICE_MERGED_HF:
      ok = temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_BF16, 0, out, options, error);
      break;
    case TEMPER_EXPORT_CHOICE_MERGED_GGUF:
      ok = temper_export_merged_gguf (model, adapter, quant, out, options, error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    return NULL;

  result = g_new0 (TemperExportResult, 1);
  result->output_path = g_steal_pointer (&out);
  if (choice == TEMPER_EXPORT_CHOICE_MERGED_GGUF)
    {
      g_autoptr(GError) check_error = NULL;

      result->modelfile_path = modelfile_path_for (result->output_path);
      if (!temper_export_modelfile (model, result->output_path, result->modelfile_path, NULL,
                                    &result->ollama_command, error))
        return NULL;
      /* The model file is good even when the check cannot run; say so
       * rather than throw the export away. */
      result->template_checked = temper_export_check_template (model, result->output_path,
                                                               &result->template_problem,
                                                               &check_error);
      if (!result->template_checked)
        result->template_problem = g_strdup_printf (_("The check could not run: %s"),
                                                    check_error->message);
    }
  return g_steal_pointer (&result);
}
