/* SPDX-License-Identifier: MIT */
/* Finding the adapter a command line names: a run folder made by
 * `temper-cli train`, an adapter folder in PEFT's format made by Temper's
 * export or by another tool (LLaMA-Factory, Unsloth, PEFT itself), or a GGUF
 * LoRA file (Temper's export, llama.cpp's convert_lora_to_gguf.py). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper/export.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-cli.h"

temper_adapter_t *
temper_cli_load_adapter (const char *run_or_dir, const temper_model_t *model, GError **error)
{
  g_autofree char *peft_config = g_build_filename (run_or_dir, "adapter_config.json", NULL);
  g_autoptr(temper_run_t) run = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autoptr(GError) run_error = NULL;

  if (g_file_test (peft_config, G_FILE_TEST_IS_REGULAR))
    return temper_lora_load_peft (run_or_dir, temper_model_get_config (model), NULL, error);
  if (g_file_test (run_or_dir, G_FILE_TEST_IS_REGULAR))
    return temper_import_gguf_adapter (run_or_dir, model, error);

  run = temper_run_open (run_or_dir, &run_error);
  if (run == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is neither a training run folder nor an adapter folder "
                   "(an adapter folder holds adapter_config.json and adapter_model.safetensors): %s"),
                   run_or_dir, run_error->message);
      return NULL;
    }
  adapter_dir = temper_run_dup_adapter_dir (run);
  if (!g_file_test (adapter_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_FAILED,
                   _("the run “%s” has no adapter yet: it has not finished "
                   "(“temper-cli resume %s” completes it)"), run_or_dir, run_or_dir);
      return NULL;
    }
  return temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, error);
}

gboolean
temper_cli_hold_base_for_adapter (const char *run_or_dir, temper_model_t *model, GError **error)
{
  g_autofree char *settings = g_build_filename (run_or_dir, "settings.json", NULL);
  g_autoptr(temper_run_t) run = NULL;

  if (!g_file_test (settings, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  run = temper_run_open (run_or_dir, error);
  if (run == NULL)
    return FALSE;
  /* Another model file (say a Q4 GGUF of the same model) is used as it is. */
  {
    g_autoptr(GFile) own = g_file_new_for_path (temper_run_get_model_path (run));
    g_autoptr(GFile) given = g_file_new_for_path (temper_model_get_path (model));

    if (!g_file_equal (own, given))
      return TRUE;
  }
  return temper_model_set_base_weights (model, temper_run_get_settings (run)->base_weights,
                                        NULL, error);
}
