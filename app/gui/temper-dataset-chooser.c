/* SPDX-License-Identifier: MIT */
/* temper-dataset-chooser.c — one file chooser for the Dataset page's
 * files, with the formats the engine reads as its first filter. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-dataset-chooser.h"

GtkFileChooserNative *
temper_dataset_chooser_new (GtkWidget  *widget,
                            const char *title,
                            const char *accept_label)
{
  static const char *const patterns[] = { "*.json", "*.jsonl", "*.csv", "*.tsv", "*.txt", "*.md" };
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                               GTK_FILE_CHOOSER_ACTION_OPEN, accept_label,
                                                               _("_Cancel"));
  g_autoptr(GtkFileFilter) datasets = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (datasets, _("Datasets (JSON, JSONL, CSV, TSV, text, Markdown)"));
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++)
    gtk_file_filter_add_pattern (datasets, patterns[i]);
  gtk_file_filter_add_mime_type (datasets, "application/json");
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), datasets);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  return chooser;
}
