/* SPDX-License-Identifier: MIT */
/* temper-cli export SOURCE — a run's adapter (or an adapter folder or GGUF
 * LoRA file) as a PEFT folder, a GGUF LoRA adapter, or merged into the base
 * model as a Hugging Face folder or a GGUF with an Ollama Modelfile. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "temper/export.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-cli.h"

static void
show_progress (double fraction, gpointer user_data)
{
  (void) user_data;
  fputc ('\r', stderr);
  fprintf (stderr, _("Exporting… %3d%%"), (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fputc ('\n', stderr);
}

/* The adapter at @path: a PEFT folder or a GGUF LoRA file. */
static temper_adapter_t *
open_adapter (const char *path, temper_model_t *model, float *dropout, GError **error)
{
  TemperLoraConfig config;
  temper_adapter_t *adapter;

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return temper_import_gguf_adapter (path, model, error);
  adapter = temper_lora_load_peft (path, temper_model_get_config (model), &config, error);
  if (adapter != NULL)
    *dropout = config.dropout;
  return adapter;
}

/* After a successful export: what was written, and for a merged GGUF its
 * Ollama Modelfile; for merged models, the chat template check. */
static int
report_export (temper_model_t *model, const char *format, const char *out, const char *name,
               gboolean no_check)
{
  g_autoptr(GError) error = NULL;

  printf (_("Wrote %s\n"), out);
  if (strcmp (format, "peft") == 0)
    {
      g_autofree char *needs = temper_export_describe_peft_base (model);
      printf ("%s\n", needs);
    }

  if (strcmp (format, "gguf") == 0)
    {
      /* Named after its GGUF, as the app names it, so several quantizations
       * exported into one folder each keep their own. */
      g_autofree char *stem = g_str_has_suffix (out, ".gguf")
                              ? g_strndup (out, strlen (out) - strlen (".gguf")) : g_strdup (out);
      g_autofree char *modelfile = g_strconcat (stem, ".Modelfile", NULL);
      g_autofree char *command = NULL;

      if (!temper_export_modelfile (model, out, modelfile, name, &command, &error))
        return temper_cli_error ("export", error);
      printf (_("Wrote %s\nTo use it in Ollama, run:\n  %s\n"), modelfile, command);
    }
  /* Merged models carry their own chat template: check it against training's. */
  if (!no_check && (strcmp (format, "gguf") == 0 || strcmp (format, "hf") == 0))
    {
      g_autofree char *problem = NULL;

      if (!temper_export_check_template (model, out, &problem, &error))
        return temper_cli_error ("export", error);
      if (problem != NULL)
        return temper_cli_fail ("export", TEMPER_CLI_EXIT_FAILED,
                                _("chat template check failed: %s"), problem);
      printf (_("Chat template check: the exported model formats conversations exactly as "
              "in training and stops at the end of each turn.\n"));
    }
  return TEMPER_CLI_EXIT_OK;
}

int
temper_cli_export (int argc, char **argv)
{
  g_autofree char *format = NULL, *quant_text = NULL, *dtype_text = NULL, *out = NULL;
  g_autofree char *model_path = NULL, *name = NULL, *adapter_path = NULL;
  g_autofree char *settings = NULL;
  int shard_mb = 0, code;
  gboolean no_check = FALSE;
  float dropout = 0.0f;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TemperExportOptions options;
  TemperExportQuant quant = TEMPER_EXPORT_Q8_0;
  TemperExportHfDtype dtype = TEMPER_EXPORT_HF_BF16;
  gboolean ok;
  const GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("peft, gguf-adapter, hf or gguf"), "F" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Where to write: a folder (peft, hf) or a .gguf file"), "PATH" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("The base model (needed unless SOURCE is a run)"), "M" },
    { "quant", 0, 0, G_OPTION_ARG_STRING, &quant_text, N_("gguf: f16, q8_0 or q4_k_m (default q8_0)"), "Q" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype_text, N_("hf: bf16 or f32 (default bf16)"), "T" },
    { "shard-size", 0, 0, G_OPTION_ARG_INT, &shard_mb, N_("hf: largest safetensors file in MB (default 5000)"), "MB" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("gguf: the name for “ollama create” (default: from the file name)"), "NAME" },
    { "no-check", 0, 0, G_OPTION_ARG_NONE, &no_check, N_("gguf, hf: skip the chat template round-trip check"), NULL },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "export", "RUN_OR_ADAPTER",
                         N_("Export a trained adapter, or merge it into the base model.\n\n"
                         "RUN_OR_ADAPTER is a run folder, a PEFT adapter folder or a GGUF LoRA file."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, _("give one run or adapter (see --help)"));
  if (format == NULL || out == NULL)
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, _("--format and --out are required (see --help)"));
  if (strcmp (format, "peft") != 0 && strcmp (format, "gguf-adapter") != 0 &&
      strcmp (format, "hf") != 0 && strcmp (format, "gguf") != 0)
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE,
                            _("unknown --format “%s”: use peft, gguf-adapter, hf or gguf"), format);
  if (quant_text != NULL && !temper_export_quant_parse (quant_text, &quant, &error))
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, _("--quant: %s"), error->message);
  if (dtype_text != NULL)
    {
      if (g_ascii_strcasecmp (dtype_text, "f32") == 0)
        dtype = TEMPER_EXPORT_HF_F32;
      else if (g_ascii_strcasecmp (dtype_text, "bf16") != 0)
        return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, _("--dtype: use bf16 or f32"));
    }
  if (shard_mb < 0)
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, _("--shard-size must be positive"));
  /* Before the long merge, not after it. */
  if (name != NULL && !temper_export_check_ollama_name (name, &error))
    return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE, "--name: %s", error->message);

  settings = g_build_filename (argv[1], "settings.json", NULL);
  if (g_file_test (settings, G_FILE_TEST_IS_REGULAR))
    {
      run = temper_run_open (argv[1], &error);
      if (run == NULL ||
          (temper_run_contains (run, out) && !temper_run_lock (run, TEMPER_RUN_USE_EXPORTING, &error)))
        return temper_cli_error ("export", error);
      if (model_path == NULL)
        model_path = g_strdup (temper_run_get_model_path (run));
      adapter_path = temper_run_dup_adapter_dir (run);
    }
  else
    {
      if (model_path == NULL)
        return temper_cli_fail ("export", TEMPER_CLI_EXIT_USAGE,
                                _("“%s” is not a run folder: say which base model it belongs to with --model"),
                                argv[1]);
      adapter_path = g_strdup (argv[1]);
    }

  model = temper_model_load (model_path, NULL, &error);
  if (model == NULL)
    return temper_cli_error ("export", error);
  adapter = open_adapter (adapter_path, model, &dropout, &error);
  if (adapter == NULL)
    {
      if (run != NULL)
        return temper_cli_fail ("export", TEMPER_CLI_EXIT_FAILED,
                                _("%s (has the run finished? “temper-cli resume %s” completes it)"),
                                error->message, argv[1]);
      return temper_cli_error ("export", error);
    }

  temper_export_options_init (&options);
  options.cancellable = cancellable;
  if (isatty (STDERR_FILENO))
    options.progress = show_progress;
  temper_cli_cancel_on_interrupt (cancellable);

  if (strcmp (format, "peft") == 0)
    ok = temper_export_peft (model, adapter, dropout, out, &options, &error);
  else if (strcmp (format, "gguf-adapter") == 0)
    ok = temper_export_gguf_adapter (model, adapter, out, &options, &error);
  else if (strcmp (format, "hf") == 0)
    ok = temper_export_merged_hf (model, adapter, dtype, (guint64) shard_mb * 1000 * 1000, out,
                                  &options, &error);
  else
    ok = temper_export_merged_gguf (model, adapter, quant, out, &options, &error);
  if (!ok)
    return temper_cli_error ("export", error);
  return report_export (model, format, out, name, no_check);
}
