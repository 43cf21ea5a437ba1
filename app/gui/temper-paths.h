/* SPDX-License-Identifier: MIT */
/* temper-paths.h — where the app finds its data, schemas and translations,
 * both installed and when run straight from the build folder. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

gboolean    temper_paths_running_uninstalled (void);
/* The folder bindtextdomain() should use. */
const char *temper_paths_locale_dir          (void);
/* A folder holding gschemas.compiled for an uninstalled run, or NULL when the
 * system's schema folders are to be used. */
const char *temper_paths_schema_dir          (void);
/* The absolute path of @relative (e.g. "samples/product-faq.jsonl") inside
 * the app's data: PKGDATADIR when installed, the source tree's data/ in a
 * build.  The file may not exist. */
char       *temper_paths_data_file           (const char *relative);
/* Uninstalled, lets @display's icon theme find the app icon in the source
 * tree; installed, the hicolor theme has it already. */
void        temper_paths_add_icon_path       (GdkDisplay *display);

/* The local path the person picked in @chooser, or NULL when @response is
 * not "accept" or the pick is not a local file. */
char       *temper_paths_from_chooser        (GtkFileChooserNative *chooser,
                                              int                   response);

G_END_DECLS
