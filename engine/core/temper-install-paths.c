/* SPDX-License-Identifier: MIT */
/* temper-install-paths.c — installed vs. uninstalled locations, found from
 * the running program's own path. */
#include "config.h"

#include <string.h>

#include "temper/install-paths.h"

typedef struct {
  gboolean  uninstalled;
  char     *data_dir;
  char     *locale_dir;
  char     *module_dir;
} Locations;

/* @exe_dir with the trailing @relative_dir (e.g. "bin") taken off, or NULL
 * when the program does not sit in that folder of some prefix. */
static char *
prefix_of (const char *exe_dir, const char *relative_dir)
{
  g_autofree char *suffix = g_strconcat (G_DIR_SEPARATOR_S, relative_dir, NULL);

  if (g_path_is_absolute (relative_dir) || !g_str_has_suffix (exe_dir, suffix))
    return NULL;
  return g_strndup (exe_dir, strlen (exe_dir) - strlen (suffix));
}

/* <prefix>/@relative when it is a folder, else @configured. */
static char *
relocated (const char *prefix, const char *relative, const char *configured)
{
  g_autofree char *candidate = NULL;

  if (prefix == NULL || g_path_is_absolute (relative))
    return g_strdup (configured);
  candidate = g_build_filename (prefix, relative, NULL);
  if (g_file_test (candidate, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&candidate);
  return g_strdup (configured);
}

/* The build folder a program runs from: the nearest folder above @exe_dir
 * that holds the temper-uninstalled.ini meson writes into the build root,
 * with the source tree it names in *@source_dir; NULL for an installed
 * program.  (The library holds no path of either tree.) */
static char *
find_build_root (const char *exe_dir, char **source_dir)
{
  g_autofree char *dir = g_strdup (exe_dir);

  for (;;)
    {
      g_autofree char *marker = g_build_filename (dir, "temper-uninstalled.ini", NULL);
      g_autoptr(GKeyFile) keys = g_key_file_new ();
      char *parent;

      /* Asked before the locale is set: GLib would word (and keep for the
       * rest of the run) strerror (ENOENT) in English if the key file
       * loader were left to find out that the file is not there. */
      if (g_file_test (marker, G_FILE_TEST_IS_REGULAR) &&
          g_key_file_load_from_file (keys, marker, G_KEY_FILE_NONE, NULL))
        {
          *source_dir = g_key_file_get_string (keys, "Temper", "SourceDir", NULL);
          if (*source_dir != NULL)
            return g_steal_pointer (&dir);
        }
      parent = g_path_get_dirname (dir);
      if (strcmp (parent, dir) == 0)
        {
          g_free (parent);
          return NULL;
        }
      g_free (dir);
      dir = parent;
    }
}

static const Locations *
locations (void)
{
  static gsize initialized;
  static Locations where;

  if (g_once_init_enter (&initialized))
    {
      /* /proc/self/exe has its links resolved, as the folders above it. */
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *exe_dir = exe != NULL ? g_path_get_dirname (exe) : NULL;
      g_autofree char *prefix = exe_dir != NULL ? prefix_of (exe_dir, TEMPER_RELATIVE_BINDIR) : NULL;
      g_autofree char *source_dir = NULL;
      g_autofree char *build_root = exe_dir != NULL ? find_build_root (exe_dir, &source_dir) : NULL;

      where.uninstalled = build_root != NULL;
      if (where.uninstalled)
        {
          where.data_dir = g_build_filename (source_dir, "data", NULL);
          where.locale_dir = g_build_filename (build_root, "po", NULL);
          where.module_dir = g_build_filename (build_root, "kernels", NULL);
        }
      else
        {
          where.data_dir = relocated (prefix, TEMPER_RELATIVE_PKGDATADIR, PKGDATADIR);
          where.locale_dir = relocated (prefix, TEMPER_RELATIVE_LOCALEDIR, LOCALEDIR);
          where.module_dir = relocated (prefix, TEMPER_RELATIVE_MODULE_DIR, TEMPER_MODULE_DIR);
        }
      g_once_init_leave (&initialized, 1);
    }
  return &where;
}

gboolean
temper_running_uninstalled (void)
{
  return locations ()->uninstalled;
}

const char *
temper_data_dir (void)
{
  return locations ()->data_dir;
}

char *
temper_data_file (const char *relative)
{
  g_return_val_if_fail (relative != NULL, NULL);
  return g_build_filename (temper_data_dir (), relative, NULL);
}

const char *
temper_locale_dir (void)
{
  return locations ()->locale_dir;
}

const char *
temper_module_dir (void)
{
  return locations ()->module_dir;
}
