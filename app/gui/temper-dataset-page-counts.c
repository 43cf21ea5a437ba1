/* SPDX-License-Identifier: MIT */
/* temper-dataset-page-counts.c — the Dataset page's summary rows, worked out
 * from what the run will train on (the mix, after drops): how many records
 * it learns from and holds back, and why none is held back when none is;
 * and the token lengths with the histogram and its cut-off at the Settings
 * max length. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/dataset.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page-private.h"
#include "temper-length-histogram.h"

/* What the run trains on when it is not the file as checked: the mix, or
 * the records not dropped.  FALSE when it is the file. */
gboolean
dataset_page_training_size (TemperDatasetPage *self, TemperDatasetMixSize *size)
{
  if (!temper_dataset_mix_has_sources (self->mix_group) && dataset_page_n_dropped (self) == 0)
    return FALSE;
  temper_dataset_mix_measure (self->mix_group, self->checked->dataset, self->drop, self->max_length, size, NULL);
  return TRUE;
}

/* The records the run learns from and holds back: the share the automatic
 * settings hold back for that many (none under 200), so that this page,
 * the Settings page's estimate and the run agree. */
guint
dataset_page_n_split (TemperDatasetPage *self)
{
  TemperDatasetMixSize size;

  g_return_val_if_fail (self->checked != NULL, 0);
  return dataset_page_training_size (self, &size) ? size.n_records : (guint) temper_dataset_get_n_records (self->checked->dataset);
}

void
dataset_page_training_split (TemperDatasetPage *self, guint *n_train, guint *n_validation)
{
  guint n = dataset_page_n_split (self);

  if (self->check != NULL)
    {
      /* A file of its own: every record is learned from. */
      *n_train = n;
      *n_validation = (guint) temper_dataset_get_n_records (self->check->dataset);
      return;
    }
  *n_validation = temper_dataset_split_count (n, dataset_page_fraction_for (self->split_fraction, n));
  *n_train = n - *n_validation;
}

/* The "Length in tokens" line for @lengths, the statistics of the very
 * records the histogram draws: shortest, longest, mean, and how many the
 * run's @max_length cuts short. */
static char *
describe_lengths (const TemperDatasetLengthStats *lengths, int max_length)
{
  if (lengths->n == 0)
    return g_strdup (_("No examples left to count"));
  if (lengths->n_cut > 0)
    /* Translators: token statistics; the last two are a count of examples and the training length */
    return g_strdup_printf (_("%d to %d, %.0f on average; %llu cut short at %d"), lengths->min, lengths->max,
                            lengths->mean, (unsigned long long) lengths->n_cut, max_length);
  /* Translators: token statistics: shortest, longest, mean */
  return g_strdup_printf (_("%d to %d, %.0f on average"), lengths->min, lengths->max, lengths->mean);
}

/* The histogram and the "Length in tokens" line describe the records the
 * run trains on: the mix, or the records left after drops, or the file's
 * kept records; the line's subtitle says which when it is not the file as
 * it is. */
void
dataset_page_show_lengths (TemperDatasetPage *self)
{
  TemperDatasetMixSize size = { 0 };
  g_autoptr(GArray) lengths = NULL;
  g_autofree char *text = NULL;
  gboolean mixed = temper_dataset_mix_has_sources (self->mix_group);
  gboolean dropped = dataset_page_n_dropped (self) > 0;

  adw_action_row_set_subtitle (self->tokens_row,
                               mixed ? _("Of what the run trains on: your examples with the mixed-in data")
                               : dropped ? _("Of the examples left after what you dropped") : "");
  temper_dataset_mix_measure (self->mix_group, self->checked->dataset, self->drop, self->max_length, &size,
                              &lengths);
  /* Without the model's template (or a mixed-in file read without it)
   * nothing was counted. */
  if (!temper_dataset_get_report (self->checked->dataset)->has_token_stats ||
      (!size.has_tokens && size.n_records > 0))
    {
      gtk_label_set_text (self->tokens_value, _("Choose a model first to count them"));
      return;
    }
  text = describe_lengths (&size.tokens, self->max_length);
  gtk_label_set_text (self->tokens_value, text);
  temper_length_histogram_set_lengths (self->histogram, (const guint *) (gpointer) lengths->data, lengths->len,
                                       (guint) self->max_length);
}

/* The records line, the split line and the histogram. */
void
dataset_page_show_counts (TemperDatasetPage *self)
{
  const TemperDatasetReport *report = temper_dataset_get_report (self->checked->dataset);
  g_autofree char *records = NULL;
  g_autofree char *split = NULL;
  const char *subtitle;
  DatasetPageHeldBack held_back;
  guint n_train, n_validation;

  /* Translators: "96 of 100" usable examples */
  records = g_strdup_printf (_("%llu of %llu"),
                             (unsigned long long) report->n_valid, (unsigned long long) report->n_records);
  if (temper_dataset_mix_has_sources (self->mix_group))
    {
      TemperDatasetMixSize size;
      /* Translators: the usable examples of the file ("96 of 100"), then how many the run trains on
       * once other datasets are mixed in */
      g_autofree char *with_mix = NULL;

      temper_dataset_mix_measure (self->mix_group, self->checked->dataset, self->drop, self->max_length, &size,
                                  NULL);
      with_mix = g_strdup_printf (_("%s; %u with the mixed-in data"), records, size.n_records);
      g_free (records);
      records = g_steal_pointer (&with_mix);
    }
  gtk_label_set_text (self->records_value, records);

  dataset_page_training_split (self, &n_train, &n_validation);
  held_back = dataset_page_held_back (self->split_fraction, n_train + n_validation);
  /* The run checks on the file instead of splitting this one
   * (temper-train.c): nothing is held back, whatever the share. */
  if (self->check != NULL)
    subtitle = _("Your check file is used to check progress, so no examples are held back "
                 "from this file: the run learns from all of them.");
  else if (n_validation > 0)
    subtitle = _("Validation examples are held back to check the model learns the task rather "
                 "than the exact words.");
  else if (held_back == DATASET_PAGE_NONE_BY_SHARE)
    subtitle = _("The validation share set in Settings holds back no example: every one is learned from, "
                 "and the run cannot tell whether the model learns the task or only the exact words.");
  else
    subtitle = _("A small dataset needs every example to learn from, so none is held back; ask the "
                 "tuned model new questions on the Compare page to see what it learned.");
  adw_action_row_set_subtitle (self->split_row, subtitle);
  if (self->check != NULL && n_validation > TEMPER_TRAIN_MAX_VALIDATION_RECORDS)
    /* The run checks on an evenly spaced sample of a long check file
     * (temper-train.c), not on all of it. */
    /* Translators: how many examples are learned from; then how many of a separate file's records progress is
     * checked on, e.g. "checked on 200 of the 1500 records in your check file" */
    split = g_strdup_printf (_("All %u to learn from; checked on %u of the %u records in your check file"),
                             n_train, TEMPER_TRAIN_MAX_VALIDATION_RECORDS, n_validation);
  else if (self->check != NULL)
    /* Translators: how many examples are learned from, and how many a separate file holds to check with */
    split = g_strdup_printf (_("All %u to learn from; %u in your check file"), n_train, n_validation);
  else if (n_validation > 0)
    /* Translators: how the examples are divided, e.g. "86 to learn from, 10 to check with" */
    split = g_strdup_printf (_("%u to learn from, %u to check with"), n_train, n_validation);
  else if (held_back == DATASET_PAGE_NONE_BY_SHARE)
    /* Translators: %u is a number of examples; the validation share set holds back none */
    split = g_strdup_printf (_("All %u to learn from; none held back"), n_train);
  else
    /* Translators: %u is a number of examples */
    split = g_strdup_printf (_("All %u to learn from; none held back under 200"), n_train);
  gtk_label_set_text (self->split_value, split);
  /* The row about records held back says why none is, as this one does. */
  dataset_page_show_check_row (self);
  dataset_page_show_lengths (self);
}
