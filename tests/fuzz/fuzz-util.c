/* SPDX-License-Identifier: MIT */
/* Shared helpers of the libFuzzer harnesses (see fuzz-util.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fuzz-util.h"

static char *scratch;

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
remove_scratch (void)
{
  if (scratch != NULL)
    remove_tree (scratch);
}

/* A critical (a GLib or json-glib function called wrongly) or a warning is
 * a bug the input revealed, as in the tests (G_DEBUG=fatal-warnings).
 * abort() rather than GLib's fatal mask, whose breakpoint trap libFuzzer
 * does not catch: so the input is saved as a reproducer. */
static void
abort_on_warning (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_log_default_handler (domain, level, message, data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
}

void
fuzz_init (gboolean keep_slice)
{
  if (!keep_slice)
    g_setenv ("G_SLICE", "always-malloc", TRUE);
  g_setenv ("G_DEBUG", "gc-friendly", TRUE);
  g_log_set_default_handler (abort_on_warning, NULL);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  /* Messages of the engine are not what is tested; keep stderr readable. */
  g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
  fuzz_scratch_dir ();
}

const char *
fuzz_scratch_dir (void)
{
  if (scratch == NULL)
    {
      g_autofree char *tmpl = NULL;
      const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0
                           ? "/dev/shm" : g_get_tmp_dir ();

      tmpl = g_build_filename (base, "temper-fuzz-XXXXXX", NULL);
      scratch = g_mkdtemp (g_steal_pointer (&tmpl));
      if (scratch == NULL)
        g_error ("cannot make a scratch folder: %s", g_strerror (errno));
      atexit (remove_scratch);
    }
  return scratch;
}

char *
fuzz_write (const char *dir, const char *name, const void *data, size_t size)
{
  char *path = g_build_filename (dir != NULL ? dir : fuzz_scratch_dir (), name, NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const char *p = data;

  if (fd < 0)
    g_error ("cannot write %s: %s", path, g_strerror (errno));
  while (size > 0)
    {
      ssize_t n = write (fd, p, size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("cannot write %s: %s", path, g_strerror (errno));
      p += n;
      size -= (size_t) n;
    }
  close (fd);
  return path;
}

char *
fuzz_fixture (const char *relative)
{
  return g_build_filename (TEMPER_SOURCE_DIR, "tests", "fixtures", relative, NULL);
}

gboolean
fuzz_json_too_deep (const uint8_t *data, size_t size, guint limit)
{
  guint depth = 0;
  size_t first = 0;

  /* No value at all (empty, blank, or a comment first): json-glib gives no
   * root node, which the engine's JSON entry point refuses; until every
   * reader goes through it such documents are left out too. */
  while (first < size && g_ascii_isspace (data[first]))
    first++;
  if (first == size || data[first] == '/')
    return TRUE;
  gboolean in_string = FALSE, escaped = FALSE;

  for (size_t i = 0; i < size; i++)
    {
      uint8_t c = data[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > limit)
            return TRUE;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return FALSE;
}

void
fuzz_copy_dir (const char *src, const char *dst)
{
  GDir *dir = g_dir_open (src, 0, NULL);
  const char *name;

  g_mkdir_with_parents (dst, 0700);
  if (dir == NULL)
    g_error ("cannot read the fixture folder %s", src);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src, name, NULL);
      g_autofree char *contents = NULL;
      g_autofree char *to = NULL;
      gsize len;

      if (!g_file_test (from, G_FILE_TEST_IS_REGULAR)
          || !g_file_get_contents (from, &contents, &len, NULL))
        continue;
      to = fuzz_write (dst, name, contents, len);
    }
  g_dir_close (dir);
}
