/* SPDX-License-Identifier: MIT */
/* Replays files (or every file of folders) through a harness without
 * libFuzzer, so the regression inputs under tests/fuzz/regressions run in the
 * GCC and AddressSanitizer builds too.  TAP output: one line per input. */
#include "config.h"

#include <glib.h>

#include "fuzz-util.h"

static guint n_run;

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
replay_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
  g_print ("ok %u - %s\n", ++n_run, path);
}

static void
replay (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;

      if (dir == NULL)
        return;
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
      g_dir_close (dir);
      g_ptr_array_sort (names, compare_paths);
      for (guint i = 0; i < names->len; i++)
        replay (g_ptr_array_index (names, i));
    }
  else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    replay_file (path);
}

int
main (int argc, char **argv)
{
  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    replay (argv[i]);
  g_print ("1..%u\n", n_run);
  return 0;
}
