/* SPDX-License-Identifier: MIT */
/* temper-fs.c — durable writes: temporary name, fsync, rename, fsync the folder. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/fs.h"

static gboolean
sync_one (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  int saved = 0;

  if (fd < 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not save “%s” to disk"), path);
      return FALSE;
    }
  /* Some file systems cannot flush a folder (EINVAL): nothing more to do there. */
  if (fsync (fd) != 0 && errno != EINVAL && errno != EROFS)
    saved = errno;
  close (fd);
  if (saved != 0)
    {
      temper_set_error_from_errno (error, saved, _("Could not save “%s” to disk"), path);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_fs_sync (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_REGULAR) && !sync_one (child, error))
            return FALSE;
        }
    }
  return sync_one (path, error);
}

gboolean
temper_fs_sync_parent (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return sync_one (dir, error);
}

gboolean
temper_fs_rename (const char *from, const char *to, GError **error)
{
  if (!temper_fs_sync (from, error))
    return FALSE;
  if (g_rename (from, to) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), to);
      return FALSE;
    }
  return temper_fs_sync_parent (to, error);
}

gboolean
temper_fs_replace_dir (const char *from, const char *to, const char *aside, gboolean *swapped,
                       GError **error)
{
  *swapped = FALSE;
  if (!g_file_test (to, G_FILE_TEST_EXISTS))
    return temper_fs_rename (from, to, error);
  if (!temper_fs_sync (from, error))
    return FALSE;
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0)
    {
      *swapped = TRUE;
      return temper_fs_sync_parent (to, error);
    }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    {
      temper_set_error_from_errno (error, errno, _("Could not replace “%s”"), to);
      return FALSE;
    }
  /* No exchange here: the old folder steps aside, and comes back if the new
   * one cannot take its place. */
  if (g_rename (to, aside) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not replace “%s”"), to);
      return FALSE;
    }
  if (g_rename (from, to) != 0)
    {
      int saved = errno;

      if (g_rename (aside, to) != 0)
        g_debug ("Could not move %s back to %s", aside, to);
      temper_set_error_from_errno (error, saved, _("Could not replace “%s”"), to);
      return FALSE;
    }
  return temper_fs_sync_parent (to, error);
}

gboolean
temper_fs_write_file (const char *path, const char *contents, gssize len, GError **error)
{
  g_autoptr(GError) local = NULL;

  /* DURABLE: the temporary file is fsync'ed before the rename, new or not. */
  if (!g_file_set_contents_full (path, contents, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0666, &local))
    {
      int code = local->code == G_FILE_ERROR_NOSPC ? ENOSPC
                 : local->code == G_FILE_ERROR_ACCES ? EACCES
                 : local->code == G_FILE_ERROR_NOENT ? ENOENT
                 : local->code == G_FILE_ERROR_ROFS ? EROFS : EIO;

      temper_set_error_from_errno (error, code, _("Could not write “%s”"), path);
      return FALSE;
    }
  return temper_fs_sync_parent (path, error);
}
