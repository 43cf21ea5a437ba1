/* SPDX-License-Identifier: MIT */
/* temper-dataset-page-private.h — what the parts of the Dataset page share:
 * temper-dataset-page.c opens, checks and shows a dataset;
 * temper-dataset-page-findings.c lists its findings and writes the cleaned
 * copy; temper-dataset-page-check.c holds the file to check the training
 * on and looks for leakage in what the run will split. */
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
  GArray                 *findings;      /* TemperDatasetFinding, all but leakage */
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
  AdwActionRow          *split_row;
  GtkLabel              *split_value;
  AdwActionRow          *tokens_row;
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
  /* What the run checks its training on: a file of its own, or records
   * held back from what it trains on (by the run's seed and share). */
  char                  *check_path;       /* chosen; NULL: records held back */
  CheckedDataset        *check;            /* check_path once read */
  GCancellable          *check_cancellable;
  GtkFileChooserNative  *check_chooser;
  AdwPreferencesGroup   *check_group;
  AdwActionRow          *check_row;
  GtkWidget             *check_forget_button;
  guint64                split_seed;
  double                 split_fraction;   /* < 0: chosen for the number of records */
  int                    max_length;       /* the run's, in tokens: longer examples are cut */
  GArray                *leakage;          /* TemperDatasetFinding: leaks in what the run will split */
  GCancellable          *leak_cancellable;
  GPtrArray             *shown_findings;   /* const TemperDatasetFinding *, listed in this order */
  AdwPreferencesGroup   *problems_group;
  GtkListBox            *problems_list;
  /* The file read again at max_length for its problems (answers wholly
   * past the limit), when that is not the length it was checked at. */
  CheckedDataset        *problems_check;
  GCancellable          *problems_cancellable;
  AdwPreferencesGroup   *preview_group;
  GtkListBox            *preview_list;
};

CheckedDataset *dataset_page_checked_ref   (CheckedDataset *checked);
void            dataset_page_checked_unref (gpointer checked);
/* Reads and checks @path as the page does (the model's template), cut at
 * @max_length tokens; on a worker thread. */
CheckedDataset *dataset_page_load          (const char *path, TemperLoadedModel *model,
                                            const char *question_column, const char *answer_column,
                                            int max_length, GCancellable *cancellable, GError **error);
/* The share of @n records the run holds back: @fraction, or when it is
 * below 0 the automatic settings' share for that many. */
double          dataset_page_fraction_for  (double fraction, guint n);
/* Whether the run holds back any of @n records at @fraction (as above),
 * and when it holds back none, why.  The window hands the automatic
 * share on as a number, so "automatic" and "set to 0" are told apart by
 * what the automatic share would do with as many records. */
typedef enum {
  DATASET_PAGE_HOLDS_SOME,
  DATASET_PAGE_NONE_SMALL,      /* the automatic settings hold none back from so few */
  DATASET_PAGE_NONE_BY_SHARE,   /* the share set in Settings holds back none */
} DatasetPageHeldBack;
DatasetPageHeldBack dataset_page_held_back (double fraction, guint n);

/* temper-dataset-page-counts.c */
/* What the run trains on when it is not the file as checked (the mix, or
 * the records not dropped); FALSE when it is the file. */
gboolean dataset_page_training_size     (TemperDatasetPage *self, TemperDatasetMixSize *size);
/* How many records the run splits into learned and held back: the
 * mix, or the records not dropped. */
guint    dataset_page_n_split           (TemperDatasetPage *self);
/* How many of them it learns from and holds back. */
void     dataset_page_training_split    (TemperDatasetPage *self, guint *n_train, guint *n_validation);
/* The records, split and length rows (and the held-back row with them). */
void     dataset_page_show_counts       (TemperDatasetPage *self);
/* The length row and the histogram, at the Settings max length. */
void     dataset_page_show_lengths      (TemperDatasetPage *self);

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
/* Lists them again with the leakage found since, keeping what is dropped. */
void     dataset_page_list_findings     (TemperDatasetPage *self);
/* What a kind of finding is called on this page: leakage says whether it
 * is into the check file or the records held back. */
const char *dataset_page_finding_label  (TemperDatasetPage *self, TemperDatasetFindingKind kind);

/* temper-dataset-page-check.c */
void     dataset_page_check_class_init  (GtkWidgetClass *widget_class);
void     dataset_page_check_dispose     (TemperDatasetPage *self);
/* The row about what the run checks on, for the current share and
 * records. */
void     dataset_page_show_check_row    (TemperDatasetPage *self);
/* Back to records held back, without telling anyone: another file is being
 * opened, and its check tells. */
void     dataset_page_forget_check_file (TemperDatasetPage *self);
/* Looks (again) on a worker thread for leakage between the records the run
 * will train on and those it will check with. */
void     dataset_page_update_leakage    (TemperDatasetPage *self);

G_END_DECLS
