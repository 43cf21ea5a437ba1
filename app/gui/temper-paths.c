/* temper-paths.c — installed vs. uninstalled locations. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "temper-paths.h"

/* An executable (the app or a test) living under the build root is running
 * uninstalled: its translations, schemas and bundled data are in the build
 * and source trees, not under the prefix it was configured for. */
gboolean
temper_paths_running_uninstalled (void)
{
  static gsize initialized;
  static gboolean uninstalled;

  if (g_once_init_enter (&initialized))
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *root = g_canonicalize_filename (TEMPER_BUILD_ROOT, NULL);

      uninstalled = exe != NULL &&
                    g_str_has_prefix (exe, root) &&
                    exe[strlen (root)] == G_DIR_SEPARATOR;
      g_once_init_leave (&initialized, 1);
    }
  return uninstalled;
}

const char *
temper_paths_locale_dir (void)
{
  return temper_paths_running_uninstalled () ? TEMPER_BUILD_ROOT "/po" : LOCALEDIR;
}

const char *
temper_paths_schema_dir (void)
{
  return temper_paths_running_uninstalled () ? TEMPER_BUILD_ROOT "/app/gui" : NULL;
}

char *
temper_paths_data_file (const char *relative)
{
  g_return_val_if_fail (relative != NULL, NULL);

  if (temper_paths_running_uninstalled ())
    return g_build_filename (TEMPER_SOURCE_DIR, "data", relative, NULL);
  return g_build_filename (PKGDATADIR, relative, NULL);
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
