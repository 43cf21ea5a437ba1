/* SPDX-License-Identifier: MIT */
/* temper-cli import SOURCE — a distributed trainer's result (LLaMA-Factory,
 * axolotl or any transformers Trainer with PEFT) as a Temper run. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include "temper/job.h"
#include "temper/run.h"
#include "temper-cli.h"

int
temper_cli_import (int argc, char **argv)
{
  g_autofree char *run_dir = NULL, *model = NULL, *data = NULL, *abs_source = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  int code;
  const GOptionEntry entries[] = {
    { "run", 'r', 0, G_OPTION_ARG_FILENAME, &run_dir,
      N_("The run folder to create (default: a new one among Temper's runs)"), "DIR" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      N_("The base model, when SOURCE is not a job Temper exported"), "M" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data,
      N_("The dataset it was trained on, when SOURCE is not a job Temper exported"), "FILE" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "import", "JOB_OR_OUTPUT",
                         N_("Turn a distributed trainer's output into a Temper run: its adapter, "
                         "settings and loss curve, ready for compare, evaluate and export.\n\n"
                         "JOB_OR_OUTPUT is a job folder from “temper-cli export-job” (after "
                         "training), the trainer's output folder, or one of its checkpoints."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("import", TEMPER_CLI_EXIT_USAGE, "give one folder (see --help)");
  {
    g_autoptr(GFile) f = g_file_new_for_commandline_arg (argv[1]);
    abs_source = g_file_get_path (f);
  }
  if (run_dir == NULL)
    {
      g_autofree char *base = g_path_get_basename (abs_source);
      g_autofree char *name = g_strconcat (base, "-imported", NULL);

      run_dir = temper_run_find_free_dir (NULL, name);
    }
  temper_cli_cancel_on_interrupt (cancellable);
  if (!temper_run_import (abs_source, run_dir, model, data, cancellable, &error))
    return temper_cli_error ("import", error);
  printf (_("Imported into %s\n"), run_dir);
  return TEMPER_CLI_EXIT_OK;
}
