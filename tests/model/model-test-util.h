/* SPDX-License-Identifier: MIT */
/* model-test-util.h — helpers shared by the tests in tests/model. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include "../test-tree.h"

/* The bytes of tests/fixtures/model/@name; fails the test when missing. */
static inline GBytes *
model_test_fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  if (src == NULL)
    src = TEMPER_SOURCE_DIR;
  path = g_build_filename (src, "tests", "fixtures", "model", name, NULL);
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* The demo model's path, or NULL (and the test is skipped) when absent. */
static inline char *
model_test_demo_path (void)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  char *path;

  if (src == NULL)
    src = TEMPER_SOURCE_DIR;
  path = g_build_filename (src, "data", "models", "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the demo model is not in data/models (run the demo setup first)");
      g_free (path);
      return NULL;
    }
  return path;
}

/* A fresh temporary folder, removed by test_remove_tree (../test-tree.h). */
static inline char *
model_test_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("temper-model-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* Plain stdio rather than g_file_set_contents: no fsync, as the fuzz loops
 * write thousands of files. */
static inline void
model_test_write (const char *path, const void *data, gsize len)
{
  FILE *f = fopen (path, "wb");

  g_assert_nonnull (f);
  g_assert_cmpuint (len == 0 ? 0 : fwrite (data, 1, len, f), ==, len);
  g_assert_cmpint (fclose (f), ==, 0);
}
