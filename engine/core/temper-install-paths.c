/* temper-install-paths.c — installed vs. uninstalled locations, found from
 * the running program's own path. */
#include "config.h"

#include <stdlib.h>
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

static const Locations *
locations (void)
{
  static gsize initialized;
  static Locations where;

  if (g_once_init_enter (&initialized))
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      /* /proc/self/exe has its links resolved: compare with the build
       * root's resolved path too. */
      char *resolved_root = realpath (TEMPER_BUILD_ROOT, NULL);
      g_autofree char *root = g_strdup (resolved_root != NULL ? resolved_root : TEMPER_BUILD_ROOT);
      g_autofree char *exe_dir = exe != NULL ? g_path_get_dirname (exe) : NULL;
      g_autofree char *prefix = exe_dir != NULL ? prefix_of (exe_dir, TEMPER_RELATIVE_BINDIR) : NULL;

      free (resolved_root);

      where.uninstalled = exe != NULL &&
                          g_str_has_prefix (exe, root) &&
                          exe[strlen (root)] == G_DIR_SEPARATOR;
      if (where.uninstalled)
        {
          where.data_dir = g_build_filename (TEMPER_SOURCE_DIR, "data", NULL);
          where.locale_dir = g_build_filename (TEMPER_BUILD_ROOT, "po", NULL);
          where.module_dir = g_build_filename (TEMPER_BUILD_ROOT, "kernels", NULL);
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
