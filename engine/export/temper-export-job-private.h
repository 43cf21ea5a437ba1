/* SPDX-License-Identifier: MIT */
/* temper-export-job-private.h — what the job writer's files share. */
#pragma once

#include "temper/chat.h"
#include "temper/job.h"
#include "temper/model.h"
#include "temper/train.h"

typedef struct {
  TemperJobEngine            engine;
  const TemperTrainSettings *settings;
  const char                *run_name;
  char                      *model_id;        /* model_name_or_path / base_model */
  const char                *template_name;   /* LLaMA-Factory's name for the chat template */
  const char                *default_system;  /* what Temper's template inserts, or NULL */
  const char                *end_of_turn;     /* the token that ends an answer ("<|im_end|>"), or NULL;
                                               * the model's tokenizer owns it */
  gboolean                   eos_ends_turn;   /* that token is the tokenizer's EOS */
  TemperChatFamily           family;
  TemperArch                 arch;
  gboolean                   has_validation;
  guint                      n_train;
  guint                      n_validation;
  int                        gpus_per_node;
  int                        nodes;
} TemperJob;

/* @text as a YAML scalar: a double-quoted JSON string, which YAML reads back
 * exactly whatever the text holds. */
char    *temper_job_yaml_string (const char *text);
/* "q_proj,v_proj" for the run's targets. */
char    *temper_job_peft_targets (guint targets);

/* Each writes one file of the job into @dir. */
gboolean temper_job_write_llamafactory_yaml (const TemperJob *job, const char *dir, GError **error);
gboolean temper_job_write_axolotl_yaml      (const TemperJob *job, const char *dir, GError **error);
gboolean temper_job_write_parallel_configs  (const TemperJob *job, const char *dir, GError **error);
gboolean temper_job_write_launch_scripts    (const TemperJob *job, const char *dir, GError **error);
gboolean temper_job_write_readme            (const TemperJob *job, const char *dir, GError **error);
