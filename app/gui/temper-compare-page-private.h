/* SPDX-License-Identifier: MIT */
/* temper-compare-page-private.h — what the two halves of the Compare page
 * share: temper-compare-page.c shows, judges and generates;
 * temper-compare-page-run.c reads the run, its checkpoints, and exports. */
#pragma once

#include "temper-compare-page.h"
#include "temper-compare-worker.h"
#include "temper-error-banner.h"
#include "temper-evaluation-group.h"

G_BEGIN_DECLS

struct _TemperComparePage
{
  AdwPreferencesPage     parent_instance;

  char                  *run_dir;
  TemperLoadedModel     *model;
  /* Where answers are generated: the device chosen for training. */
  TemperBackendKind      backend;
  int                    device;
  TemperCompareRunInfo  *info;
  TemperRatings         *ratings;
  guint                  prompt;          /* shown */
  gboolean              *checkpoint_shown; /* one per info->checkpoints */
  GPtrArray             *checkpoint_rows;

  GCancellable          *read_cancellable;
  GCancellable          *generate_cancellable;
  GStrv                  job_sources;     /* the sources of the job under way */
  guint                  save_source;
  gboolean               quiet;           /* the page, not the person, changes a control */

  TemperErrorBanner     *error_banner;
  AdwActionRow          *run_row;
  GtkWidget             *generate_button;
  GtkWidget             *stop_button;
  GtkSwitch             *blind_switch;
  GtkSpinButton         *max_tokens_spin;
  AdwExpanderRow        *checkpoints_row;
  AdwActionRow          *prompt_row;
  GtkLabel              *prompt_origin_label;
  AdwEntryRow           *own_prompt_row;
  GtkFlowBox            *columns_box;
  GtkToggleButton       *tie_button;
  AdwEntryRow           *note_row;
  AdwActionRow          *win_rate_row;
  AdwActionRow          *counts_row;
  AdwActionRow          *picks_row;
  TemperEvaluationGroup *evaluation_group;

  GtkWidget             *columns[TEMPER_RATINGS_MAX_SOURCES];
  guint                  column_source[TEMPER_RATINGS_MAX_SOURCES]; /* index into the sources */
  guint                  n_columns;
  GtkFileChooserNative  *chooser;
};

void     compare_page_show_current    (TemperComparePage *self);
void     compare_page_update_controls (TemperComparePage *self);
void     compare_page_schedule_save   (TemperComparePage *self);
void     compare_page_save_now        (TemperComparePage *self);
void     compare_page_apply_sources   (TemperComparePage *self);
void     compare_page_rebuild_columns (TemperComparePage *self);
void     compare_page_notify_busy     (TemperComparePage *self);
gboolean compare_page_is_busy         (TemperComparePage *self);
char    *compare_page_ratings_path    (TemperComparePage *self);
/* "Base Model", "Tuned Model", "Checkpoint at Step 40". */
char    *compare_page_source_title    (const char *source);
/* Where a prompt comes from, for the label beside it. */
const char *compare_page_origin_label (TemperPromptOrigin origin);
/* The export action's handler. */
void     compare_page_export_action   (GtkWidget *widget, const char *action_name, GVariant *parameter);

G_END_DECLS
