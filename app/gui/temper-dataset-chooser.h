/* SPDX-License-Identifier: MIT */
/* temper-dataset-chooser.h — the file chooser for every dataset the
 * Dataset page takes: the file to train on, one to mix in, one to check
 * progress on.  They are read the same way, so they are chosen the same
 * way. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A modal chooser over @widget's window, titled @title with @accept_label
 * on its button, that shows the formats Temper reads (JSON, JSONL, CSV,
 * TSV, text, Markdown) and, on request, all files.  Show it with
 * gtk_native_dialog_show(); temper_paths_from_chooser() reads the pick. */
GtkFileChooserNative *temper_dataset_chooser_new (GtkWidget  *widget,
                                                  const char *title,
                                                  const char *accept_label);

G_END_DECLS
