/* SPDX-License-Identifier: MIT */
/* temper-train-from.c — a run that starts from an adapter trained before:
 * another run's kept adapter, a PEFT folder or a GGUF LoRA file (an
 * imported adapter).
 *
 * The starting adapter is copied into RUN/start-adapter/ (with from.json
 * naming where it came from), so the run stays whole when the source is
 * moved or deleted; training reads it in place of a fresh adapter.  Its
 * rank, alpha and targets become the run's. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/train.h"
#include "temper-lora-private.h"
#include "temper-train-best.h"

/* A run folder's kept adapter, the PEFT folder itself, or a GGUF LoRA file. */
static char *
resolve (const char *source, GError **error)
{
  g_autofree char *config = g_build_filename (source, "adapter_config.json", NULL);
  g_autofree char *settings = g_build_filename (source, "settings.json", NULL);

  if (g_file_test (source, G_FILE_TEST_IS_REGULAR) && g_str_has_suffix (source, ".gguf"))
    return g_strdup (source);
  if (!temper_input_check_path (source, TEMPER_INPUT_FOLDER, _("The adapter to continue from"), error))
    return NULL;
  if (g_file_test (config, G_FILE_TEST_IS_REGULAR))
    return g_strdup (source);
  if (g_file_test (settings, G_FILE_TEST_IS_REGULAR))
    {
      char *adapter = g_build_filename (source, "adapter", NULL);
      g_autofree char *adapter_config = g_build_filename (adapter, "adapter_config.json", NULL);

      if (g_file_test (adapter_config, G_FILE_TEST_IS_REGULAR))
        return adapter;
      g_free (adapter);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The run “%s” has no finished adapter yet; finish it (temper-cli resume) first."),
                   source);
      return NULL;
    }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("“%s” is neither a run folder nor an adapter folder (one with adapter_config.json)."),
               source);
  return NULL;
}

/* The adapter in @dir (a PEFT folder) or @dir itself (a GGUF LoRA file). */
static temper_adapter_t *
load (const char *dir, const TemperModelConfig *model_config, TemperLoraConfig *lora, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_IS_REGULAR))
    return temper_lora_load_gguf (dir, model_config, NULL, lora, error);
  return temper_lora_load_peft (dir, model_config, lora, error);
}

gboolean
temper_train_read_start_adapter (const char *source, const TemperModelConfig *model_config,
                                 TemperLoraConfig *lora, GError **error)
{
  g_autofree char *dir = resolve (source, error);
  g_autoptr(temper_adapter_t) adapter = NULL;

  if (dir == NULL)
    return FALSE;
  adapter = load (dir, model_config, lora, error);
  return adapter != NULL;
}

gboolean
temper_train_set_start_adapter (temper_run_t *run, const char *source,
                                 const TemperModelConfig *model_config, GError **error)
{
  g_autofree char *dir = resolve (source, error);
  g_autofree char *target = g_build_filename (temper_run_get_dir (run), "start-adapter", NULL);
  g_autofree char *from = g_build_filename (target, "from.json", NULL);
  g_autofree char *absolute = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  TemperLoraConfig lora;

  if (dir == NULL)
    return FALSE;
  adapter = load (dir, model_config, &lora, error);
  if (adapter == NULL ||
      !temper_lora_save_peft (adapter, model_config, lora.dropout, target, NULL, error))
    return FALSE;
  absolute = g_canonicalize_filename (source, NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, absolute);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (!g_file_set_contents (from, text, -1, error))
    return FALSE;
  temper_train_log (run, _("Starts from the adapter in %s."), absolute);
  return TRUE;
}

temper_adapter_t *
temper_train_load_start_adapter (temper_run_t *run, const TemperModelConfig *model_config,
                                 gboolean *found, GError **error)
{
  g_autofree char *dir = g_build_filename (temper_run_get_dir (run), "start-adapter", NULL);
  g_autofree char *config = g_build_filename (dir, "adapter_config.json", NULL);

  *found = g_file_test (config, G_FILE_TEST_IS_REGULAR);
  if (!*found)
    return NULL;
  return temper_lora_load_peft (dir, model_config, NULL, error);
}
