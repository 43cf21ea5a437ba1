/* SPDX-License-Identifier: MIT */
/* job.h — handing a training run to a distributed trainer (LLaMA-Factory or
 * axolotl) when one machine is not enough, and bringing the result back.
 *
 * A job folder holds everything a cluster needs and nothing of Temper's:
 *
 *   JOB/README.md              what to run where, and how to bring the adapter back
 *   JOB/data/                  the run's training and validation records (the
 *                              split Temper made), dataset_info.json for LLaMA-Factory
 *   JOB/llamafactory.yaml      or JOB/axolotl.yaml: the run's settings
 *   JOB/ds_z2.json, ds_z3.json DeepSpeed ZeRO-2 / ZeRO-3
 *   JOB/fsdp.yaml              FSDP (accelerate for LLaMA-Factory, axolotl's own keys)
 *   JOB/train-1node.sh, train-multinode.sh, train.sbatch
 *   JOB/temper/                the run's settings.json and dataset files, so that
 *                              an import can rebuild the run exactly
 *
 * The trainer writes its output into JOB/output/ (a PEFT adapter and
 * trainer_state.json), which temper_run_import() turns into a run. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_JOB_LLAMAFACTORY,
  TEMPER_JOB_AXOLOTL,
} TemperJobEngine;

/* "llamafactory", "axolotl". */
const char *temper_job_engine_name  (TemperJobEngine engine);
gboolean    temper_job_engine_parse (const char *text, TemperJobEngine *engine, GError **error);

typedef struct {
  TemperJobEngine engine;
  /* What the trainer loads as the base model: a Hugging Face id or a folder
   * on the cluster.  NULL: the run's model folder, or for a GGUF model the
   * Hugging Face repository its metadata names. */
  const char     *model_id;
  int             gpus_per_node;  /* for the launch scripts; 0: 8 */
  int             nodes;          /* for the multi-node script and sbatch; 0: 2 */
} TemperJobOptions;

void     temper_job_options_init (TemperJobOptions *options);

/* Writes the job for the run in @run_dir into @out_dir, which must not exist
 * or be an empty folder (nothing of the user's is overwritten).  Fails, saying
 * why, for datasets of plain text, for models whose chat template neither
 * trainer knows, and for GGUF models with no Hugging Face id (give
 * options->model_id). */
gboolean temper_job_export (const char *run_dir, const char *out_dir,
                            const TemperJobOptions *options, GError **error);

/* Turns a trainer's output into a new run in @run_dir (which must not exist
 * or be empty): @source is a job folder (its output/ is used), the output
 * folder itself, or a checkpoint folder inside it.  The run gets the
 * exported run's settings (LoRA rank, alpha, dropout, targets and rsLoRA as
 * adapter_config.json says), its model and dataset (from JOB/temper), the
 * adapter as RUN/adapter and the loss curve from trainer_state.json's
 * log_history as RUN/metrics.jsonl.  @model_path, when non-NULL, replaces
 * the model (needed when the output did not come from a Temper job: then
 * @data_path names the dataset too).  The adapter is checked against the
 * model before anything is written. */
gboolean temper_run_import (const char *source, const char *run_dir, const char *model_path,
                            const char *data_path, GCancellable *cancellable, GError **error);

G_END_DECLS
