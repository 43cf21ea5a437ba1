/* SPDX-License-Identifier: MIT */
/* temper-dataset-page-private.h — what the parts of the Dataset page share:
 * temper-dataset-page.c opens, checks and shows a dataset;
 * temper-dataset-page-findings.c lists its findings and writes the cleaned
 * copy. */
#pragma once

#include "temper/dataset.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page.h"
#include "temper-error-banner.h"
#include "temper-length-histogram.h"

G_BEGIN_DECLS

/* Enough to see what is wrong; thousands of rows would only slow the page. */
#define MAX_PROBLEM_ROWS  200

/* What a worker thread produced; everything in it is read-only afterwards.
 * The template and the model outlive the dataset that was rendered with
 * them. */
typedef struct {
  TemperLoadedModel      *model;
  temper_chat_template_t *tmpl;
  temper_dataset_t       *dataset;
  GArray                 *lengths;       /* guint, token counts of kept records */
  GArray                 *findings;      /* TemperDatasetFinding */
  guint                   n_train;
  guint                   n_validation;
} CheckedDataset;

struct _TemperDatasetPage
{
  AdwPreferencesPage     parent_instance;

  TemperLoadedModel     *model;
  CheckedDataset        *checked;
  char                  *path;
  GCancellable          *cancellable;
  GtkFileChooserNative  *chooser;

  TemperErrorBanner     *error_banner;
  AdwActionRow          *file_row;
  GtkSpinner            *spinner;
  AdwPreferencesGroup   *summary_group;
  GtkLabel              *format_value;
  GtkLabel              *records_value;
  GtkLabel              *split_value;
  GtkLabel              *tokens_value;
  AdwPreferencesGroup   *lengths_group;
  TemperLengthHistogram *histogram;
  AdwPreferencesGroup   *columns_group;
  AdwComboRow           *question_combo;
  AdwComboRow           *answer_combo;
  gboolean               filling_columns;
  char                  *question_column;  /* chosen by the person, as a number from 1; NULL: recognised */
  char                  *answer_column;
  AdwPreferencesGroup   *findings_group;
  GtkListBox            *findings_list;
  gboolean              *drop;             /* per kept record: left out of the cleaned copy */
  char                  *clean_path;       /* the cleaned copy for the current choices, once written */
  GArray                *undo_records;     /* guint: what the last "Drop All Like This" dropped */
  AdwToast              *undo_toast;       /* offers to keep them again */
  TemperDatasetMix      *mix_group;
  AdwPreferencesGroup   *problems_group;
  GtkListBox            *problems_list;
  AdwPreferencesGroup   *preview_group;
  GtkListBox            *preview_list;
};

void     dataset_page_remove_all_rows   (GtkListBox *list);
/* How many records the person dropped. */
gsize    dataset_page_n_dropped         (TemperDatasetPage *self);
/* Writes the cleaned copy for the current choices unless it is written;
 * FALSE (and the error shown) when it cannot be. */
gboolean dataset_page_ensure_clean_copy (TemperDatasetPage *self);
/* The records the run trains on changed (a drop, a keep, the mix): the
 * counts are shown again and the window told. */
void     dataset_page_training_changed  (TemperDatasetPage *self);
/* Withdraws the offer to undo the last "Drop All Like This". */
void     dataset_page_forget_undo       (TemperDatasetPage *self);
/* Lists the checked dataset's findings, none dropped. */
void     dataset_page_show_findings     (TemperDatasetPage *self);

G_END_DECLS
