/* SPDX-License-Identifier: MIT */
/* temper-input.c — checks on the paths and numbers a person gives. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper/input.h"

/* What a non-regular file is, in words; NULL for a regular file or folder. */
static const char *
special_kind (mode_t mode)
{
  if (S_ISFIFO (mode))
    return _("a named pipe (FIFO)");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  if (S_ISSOCK (mode))
    return _("a socket");
  if (S_ISREG (mode) || S_ISDIR (mode))
    return NULL;
  return _("a special file");
}

static gboolean
check_mode (const char *path, mode_t mode, TemperInputKind kind, const char *what, GError **error)
{
  const char *special = special_kind (mode);

  if (special != NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s “%s” is %s, not a file Temper can read. Give the path of a regular file."),
                   what, path, special);
      return FALSE;
    }
  if (kind == TEMPER_INPUT_FILE && S_ISDIR (mode))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s “%s” is a folder; a file is expected here."), what, path);
      return FALSE;
    }
  if (kind == TEMPER_INPUT_FOLDER && !S_ISDIR (mode))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s “%s” is a file; a folder is expected here."), what, path);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_input_check_path (const char *path, TemperInputKind kind, const char *what, GError **error)
{
  struct stat st;

  g_return_val_if_fail (path != NULL && what != NULL, FALSE);

  if (*path == '\0')
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("%s is an empty path."), what);
      return FALSE;
    }
  /* stat follows links: a link to a model file is a model file. */
  if (stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("%s “%s” cannot be opened: %s"),
                   what, path, g_strerror (saved));
      return FALSE;
    }
  return check_mode (path, st.st_mode, kind, what, error);
}

int
temper_input_open_file (const char *path, const char *what, gsize max_size, gsize *size,
                        GError **error)
{
  struct stat st;
  int fd, flags;

  g_return_val_if_fail (path != NULL && what != NULL, -1);

  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("%s “%s” cannot be opened: %s"),
                   what, path, g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !check_mode (path, st.st_mode, TEMPER_INPUT_FILE, what, error))
    {
      if (error != NULL && *error == NULL)
        temper_set_error_from_errno (error, errno, _("Could not read “%s”"), path);
      close (fd);
      return -1;
    }
  if (max_size > 0 && (guint64) st.st_size > max_size)
    {
      g_autofree char *have = g_format_size ((guint64) st.st_size);
      g_autofree char *limit = g_format_size (max_size);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s “%s” is %s, more than the %s such a file can be; it is not a file Temper can use."),
                   what, path, have, limit);
      close (fd);
      return -1;
    }
  flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size != NULL)
    *size = (gsize) st.st_size;
  return fd;
}

gboolean
temper_input_check_int (const char *name, gint64 value, gint64 min, gint64 max, GError **error)
{
  g_autofree char *given = NULL, *low = NULL, *high = NULL;

  if (value >= min && value <= max)
    return TRUE;
  /* As strings: a G_GINT64_FORMAT inside _() would hide the message from xgettext. */
  given = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  low = g_strdup_printf ("%" G_GINT64_FORMAT, min);
  high = g_strdup_printf ("%" G_GINT64_FORMAT, max);
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("%s is %s, but it must be a whole number from %s to %s."), name, given, low, high);
  return FALSE;
}

gboolean
temper_input_check_double (const char *name, double value, double min, double max, GError **error)
{
  if (isfinite (value) && value >= min && value <= max)
    return TRUE;
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("%s is %g, but it must be a number from %g to %g."), name, value, min, max);
  return FALSE;
}
