/* SPDX-License-Identifier: MIT */
/* temper-paths.c — installed vs. uninstalled locations. */
#include "config.h"

#include <gio/gio.h>

#include "temper/install-paths.h"
#include "temper-paths.h"

/* The engine knows whether this program runs from the build folder and,
 * if not, where its installed files are (temper/install-paths.h). */
gboolean
temper_paths_running_uninstalled (void)
{
  return temper_running_uninstalled ();
}

const char *
temper_paths_locale_dir (void)
{
  return temper_locale_dir ();
}

const char *
temper_paths_schema_dir (void)
{
  return temper_running_uninstalled () ? TEMPER_BUILD_ROOT "/app/gui" : NULL;
}

char *
temper_paths_data_file (const char *relative)
{
  return temper_data_file (relative);
}

void
temper_paths_add_icon_path (GdkDisplay *display)
{
  g_return_if_fail (GDK_IS_DISPLAY (display));

  if (temper_paths_running_uninstalled ())
    gtk_icon_theme_add_search_path (gtk_icon_theme_get_for_display (display),
                                    TEMPER_SOURCE_DIR "/data/icons");
}

char *
temper_paths_from_chooser (GtkFileChooserNative *chooser,
                           int                   response)
{
  g_autoptr(GFile) file = NULL;

  if (response != GTK_RESPONSE_ACCEPT)
    return NULL;
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  return file != NULL ? g_file_get_path (file) : NULL;
}
