/* SPDX-License-Identifier: MIT */
/* temper-export-page.h — step 6: the tuned model, out to other tools.
 *
 * Offers every export the engine writes (export.h), each with the tool it
 * is for: a PEFT adapter (Hugging Face), a GGUF adapter (llama.cpp), a
 * merged Hugging Face folder, a merged GGUF with an Ollama Modelfile.  The
 * export runs on a worker thread with progress and Cancel; the result is
 * shown with "Show in Files", the chat template round-trip check's outcome
 * and, for Ollama, the command to run.  What is already in the run's
 * exports folder is listed, so a reopened run shows its earlier exports. */
#pragma once

#include <adwaita.h>

#include "temper/export.h"
#include "temper-export-job.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_EXPORT_STATE_READY,
  TEMPER_EXPORT_STATE_RUNNING,
  TEMPER_EXPORT_STATE_DONE,
  TEMPER_EXPORT_STATE_CANCELLED,
  TEMPER_EXPORT_STATE_FAILED,
} TemperExportState;

#define TEMPER_TYPE_EXPORT_PAGE (temper_export_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperExportPage, temper_export_page, TEMPER, EXPORT_PAGE, AdwPreferencesPage)

/* The run whose adapter is exported, and its base model, loaded.  The
 * destination goes back to the run's exports folder when the run changes.
 * Ignored while an export is under way. */
void               temper_export_page_set_source      (TemperExportPage   *self,
                                                       TemperLoadedModel  *model,
                                                       const char         *run_dir);
/* RUN/exports, where exports go unless the person picks another folder. */
char              *temper_export_page_default_folder  (const char         *run_dir);

/* FALSE when @choice cannot be made from this model (a merged GGUF needs a
 * GGUF base, a merged Hugging Face folder a Hugging Face one). */
gboolean           temper_export_page_set_choice      (TemperExportPage   *self,
                                                       TemperExportChoice  choice);
TemperExportChoice temper_export_page_get_choice      (TemperExportPage   *self);
gboolean           temper_export_page_choice_available (TemperExportPage  *self,
                                                       TemperExportChoice  choice);
/* The merged GGUF's quantization. */
void               temper_export_page_set_quant       (TemperExportPage   *self,
                                                       TemperExportQuant   quant);
void               temper_export_page_set_folder      (TemperExportPage   *self,
                                                       const char         *folder);
const char        *temper_export_page_get_folder      (TemperExportPage   *self);

void               temper_export_page_start           (TemperExportPage   *self);
void               temper_export_page_cancel          (TemperExportPage   *self);
TemperExportState  temper_export_page_get_state       (TemperExportPage   *self);
gboolean           temper_export_page_is_busy         (TemperExportPage   *self);

/* After a successful export: the file or folder written, the command that
 * imports it into Ollama (merged GGUF only, else NULL) and the template
 * check's finding (NULL when it agreed or did not apply). */
const char        *temper_export_page_get_output_path    (TemperExportPage *self);
const char        *temper_export_page_get_ollama_command (TemperExportPage *self);
const char        *temper_export_page_get_template_problem (TemperExportPage *self);
/* Rows in "Earlier exports" (the run's exports folder, read when the run is
 * set and after each export). */
guint              temper_export_page_get_n_earlier      (TemperExportPage *self);

G_END_DECLS
