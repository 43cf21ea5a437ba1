/* SPDX-License-Identifier: MIT */
/* test-tree.h — removing a folder the test made, with everything in it.
 * Header-only so every suite's tests can use it without a library. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* Removes @path: a file, or a folder and all it holds.  A link is removed,
 * never followed.  Missing is fine. */
static inline void
test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      test_remove_tree (child);
    }
  g_rmdir (path);
}
