/* SPDX-License-Identifier: MIT */
/* temper-show-in-files.h — "Show in Files" for a file or folder Temper wrote. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Opens the file manager at @path's folder with @path selected, without
 * blocking; @widget gives the window a fallback opens the folder for. */
void temper_show_in_files (GtkWidget *widget, const char *path);

G_END_DECLS
