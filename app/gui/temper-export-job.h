/* SPDX-License-Identifier: MIT */
/* temper-export-job.h — one export of a run's adapter, as the Export page
 * runs it on a worker thread: which files it writes, under which names, and
 * what the person is told afterwards.  No GTK here, so the naming and the
 * sequence (adapter, export, Modelfile, template check) stand on their own. */
#pragma once

#include <gio/gio.h>

#include "temper/export.h"
#include "temper/model.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_EXPORT_CHOICE_PEFT,
  TEMPER_EXPORT_CHOICE_GGUF_ADAPTER,
  TEMPER_EXPORT_CHOICE_MERGED_HF,
  TEMPER_EXPORT_CHOICE_MERGED_GGUF,
} TemperExportChoice;

#define TEMPER_EXPORT_N_CHOICES 4

/* What an export left behind. */
typedef struct {
  char     *output_path;      /* the file or folder written */
  char     *modelfile_path;   /* merged GGUF: the Ollama Modelfile beside it */
  char     *ollama_command;   /* merged GGUF: the line that imports it */
  gboolean  template_checked; /* the round-trip check ran */
  char     *template_problem; /* its finding, NULL when all agreed */
} TemperExportResult;

void temper_export_result_free (TemperExportResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperExportResult, temper_export_result_free)

/* FALSE, with the engine's reason in *@why (translated, to be freed; @why
 * may be NULL), when @choice cannot be made from @model: the check
 * temper_export_merge_supported() makes before a merge. */
gboolean temper_export_choice_available (const temper_model_t *model,
                                         TemperExportChoice    choice,
                                         char                **why);

/* The path @choice writes in @folder for @model: <name>-peft/,
 * <name>-lora.gguf, <name>-merged/ or <name>-<quant>.gguf (its Modelfile is
 * the same name ending in .Modelfile). */
char    *temper_export_output_path (const temper_model_t *model, TemperExportChoice choice,
                                    TemperExportQuant quant, const char *folder);

/* Loads RUN/adapter of @run_dir for @model and writes @choice into @folder
 * (created when missing), then, for a merged GGUF, the Modelfile and the
 * template check.  Runs on the calling thread; @options carries the
 * cancellable and the progress callback. */
TemperExportResult *temper_export_run (const temper_model_t      *model,
                                       const char                *run_dir,
                                       TemperExportChoice         choice,
                                       TemperExportQuant          quant,
                                       const char                *folder,
                                       const TemperExportOptions *options,
                                       GError                   **error);

G_END_DECLS
