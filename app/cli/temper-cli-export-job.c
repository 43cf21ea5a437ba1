/* SPDX-License-Identifier: MIT */
/* temper-cli export-job RUN — the run as a job for LLaMA-Factory or axolotl
 * on a cluster, when one machine is not enough. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include "temper/job.h"
#include "temper-cli.h"

int
temper_cli_export_job (int argc, char **argv)
{
  g_autofree char *engine_text = NULL, *out = NULL, *model_id = NULL;
  g_autoptr(GError) error = NULL;
  TemperJobOptions options;
  int gpus = 0, nodes = 0, code;
  const GOptionEntry entries[] = {
    { "engine", 'e', 0, G_OPTION_ARG_STRING, &engine_text, N_("llamafactory or axolotl"), "E" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("The job folder to write (new or empty)"), "DIR" },
    { "model-id", 0, 0, G_OPTION_ARG_STRING, &model_id,
      N_("The base model for the trainer: a Hugging Face id or a folder on the cluster "
      "(default: the run's model folder)"), "ID" },
    { "gpus", 0, 0, G_OPTION_ARG_INT, &gpus, N_("GPUs per node in the launch scripts (default 8)"), "N" },
    { "nodes", 0, 0, G_OPTION_ARG_INT, &nodes, N_("Nodes in the multi-node script and sbatch (default 2)"), "N" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "export-job", "RUN",
                         N_("Write a training run as a job for a distributed trainer (LLaMA-Factory or "
                         "axolotl): its data, settings, DeepSpeed and FSDP configurations, launch "
                         "scripts for one or several nodes and a README.  Bring the result back "
                         "with “temper-cli import”."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("export-job", TEMPER_CLI_EXIT_USAGE, "give one run folder (see --help)");
  if (engine_text == NULL || out == NULL)
    return temper_cli_fail ("export-job", TEMPER_CLI_EXIT_USAGE,
                            "--engine and --out are required (see --help)");
  if (gpus < 0 || nodes < 0)
    return temper_cli_fail ("export-job", TEMPER_CLI_EXIT_USAGE, "--gpus and --nodes must be positive");
  temper_job_options_init (&options);
  if (!temper_job_engine_parse (engine_text, &options.engine, &error))
    return temper_cli_fail ("export-job", TEMPER_CLI_EXIT_USAGE, "--engine: %s", error->message);
  options.model_id = model_id;
  options.gpus_per_node = gpus;
  options.nodes = nodes;
  if (!temper_job_export (argv[1], out, &options, &error))
    return temper_cli_error ("export-job", error);
  printf (_("Wrote the %s job to %s; its README.md says what to run on the cluster.\n"),
          temper_job_engine_name (options.engine), out);
  return TEMPER_CLI_EXIT_OK;
}
