/* SPDX-License-Identifier: MIT */
/* temper-cli.h — what every subcommand of temper-cli shares. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "temper/adapter.h"
#include "temper/model.h"
#include "temper/op-profile.h"
#include "temper/train.h"

/* Exit codes: 0 success, 1 the work failed (bad model, bad dataset, …),
 * 2 the command line itself was wrong. */
enum {
  TEMPER_CLI_EXIT_OK = 0,
  TEMPER_CLI_EXIT_FAILED = 1,
  TEMPER_CLI_EXIT_USAGE = 2,
};

typedef struct {
  const char *name;     /* "info", or "bench generate" for a nested command */
  const char *summary;  /* one line for the command list */
  int (*run) (int argc, char **argv);  /* argv[0] is the command name */
} TemperCliCommand;

/* Parses @argv with @entries.  Handles --help (prints usage, exits 0 through
 * *exit_code) and bad arguments (one line on stderr, exit code 2).  Returns
 * FALSE when the caller should return *exit_code right away. */
gboolean temper_cli_parse (int *argc, char ***argv, const char *command,
                           const char *parameter_string, const char *description,
                           const GOptionEntry *entries, int *exit_code);

/* Prints "temper-cli COMMAND: MESSAGE" on stderr; returns @code. */
int temper_cli_fail  (const char *command, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);
/* Reports @error from the engine; returns TEMPER_CLI_EXIT_FAILED. */
int temper_cli_error (const char *command, const GError *error);

/* Prints the processor (flags, cores, the CPUs this process may use), load,
 * system, build and the @threads a benchmark ran with, so that figures
 * from two sittings can be told apart; English (scripts read it). */
void temper_cli_print_bench_environment (int threads);
/* The same facts as members of the object @builder is in. */
void temper_cli_add_bench_environment   (JsonBuilder *builder, int threads);

/* `train`'s line "Time on this processor: …" for a run of @s over @records
 * usable records holding @tokens tokens in all (the rates measured first
 * if this machine has none for the model). */
void temper_cli_print_time_estimate (const temper_model_t *model, const TemperTrainSettings *s,
                                     guint64 records, guint64 tokens, gboolean separate_validation,
                                     int threads);
/* `bench train`'s estimate of a step of @s against the @measured_seconds_per_step,
 * per kind against @profile (of @n_steps steps) when given. */
/* The same estimate's seconds per step, or -1 when none could be made. */
double temper_cli_bench_estimate_seconds (const temper_model_t *model, const TemperTrainSettings *s,
                                          int threads);
void temper_cli_print_bench_estimate (const temper_model_t *model, const TemperTrainSettings *s,
                                      int threads, double measured_seconds_per_step,
                                      const TemperOpProfile *profile, int n_steps);
/* The table of `bench … --profile`: time per kind of op over @n_steps steps
 * that took @wall_seconds, and the FLOP/s against the measured GEMM rate
 * (skipped when 0). */
void temper_cli_print_op_profile (const TemperOpProfile *profile, double wall_seconds, int n_steps,
                                  double step_flops_per_s, double gemm_gflops);

/* Progress of a long phase on stderr: on a terminal one line per phase
 * rewritten in place with its percentage, else one line when a phase starts
 * (so logs stay short). */
typedef struct {
  gboolean  tty;
  char     *stage;       /* the phase temper_cli_show_fraction reports */
  char     *last_stage;
} TemperCliProgress;

void temper_cli_progress_init  (TemperCliProgress *progress, const char *stage);
void temper_cli_progress_clear (TemperCliProgress *progress);
/* A TemperTrainStageFunc / TemperEvaluateStageProgress; @user_data is a TemperCliProgress. */
void temper_cli_show_stage     (const char *stage, double fraction, gpointer user_data);
/* A TemperDatasetProgress, for the phase named at init. */
void temper_cli_show_fraction  (double fraction, gpointer user_data);

/* @text made safe to print on a terminal: control characters (ESC and the
 * rest of C0 and C1, DEL, and line breaks unless @keep_newlines), the
 * bidirectional overrides and bytes that are not UTF-8 are shown as \xNN or
 * \uNNNN instead of acting on the terminal.  Data and model output go
 * through it before they are printed. */
char *temper_cli_printable (const char *text, gboolean keep_newlines);

/* Installs a SIGINT handler that cancels @cancellable instead of killing the
 * process, so long work can stop cleanly and keep its checkpoint. */
void temper_cli_cancel_on_interrupt (GCancellable *cancellable);

/* The adapter @run_or_dir names for @model: a training run folder (its
 * final adapter) or a PEFT adapter folder from any tool. */
temper_adapter_t *temper_cli_load_adapter (const char *run_or_dir, const temper_model_t *model,
                                           GError **error);
/* When @run_or_dir is a training run and @model its model, holds the
 * model's base weights as the run trained on them (NF4 for a run made with
 * --base-weights nf4); anything else leaves the model as stored. */
gboolean          temper_cli_hold_base_for_adapter (const char *run_or_dir, temper_model_t *model,
                                                    GError **error);

/* Subcommands. */
int temper_cli_info (int argc, char **argv);
int temper_cli_dataset_check (int argc, char **argv);
int temper_cli_tokenize (int argc, char **argv);
int temper_cli_devices (int argc, char **argv);
int temper_cli_bench_train (int argc, char **argv);
int temper_cli_chat (int argc, char **argv);
int temper_cli_bench_generate (int argc, char **argv);
int temper_cli_train (int argc, char **argv);
int temper_cli_resume (int argc, char **argv);
int temper_cli_compare (int argc, char **argv);
int temper_cli_evaluate (int argc, char **argv);
int temper_cli_export (int argc, char **argv);
int temper_cli_export_job (int argc, char **argv);
int temper_cli_import (int argc, char **argv);
int temper_cli_runs (int argc, char **argv);
int temper_cli_ratings (int argc, char **argv);
