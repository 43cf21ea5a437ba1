/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "temper/error.h"

G_DEFINE_QUARK (temper-error-quark, temper_error)

void
temper_set_file_error (GError **error, int saved_errno, const char *format, ...)
{
  TemperErrorCode code = TEMPER_ERROR_IO;
  g_autofree char *failed = NULL;
  va_list args;

  va_start (args, format);
  failed = g_strdup_vprintf (format, args);
  va_end (args);

  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    {
      /* Translators: %s is a sentence such as “Could not write “a.gguf””. */
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE,
                   _("%s: the disk is full. Free some space and try again."), failed);
      return;
    }
  if (saved_errno == ENOMEM)
    code = TEMPER_ERROR_OUT_OF_MEMORY;
  /* Translators: the first %s says what failed (“Could not write “a.gguf””),
   * the second is the system's reason (“Permission denied”). */
  g_set_error (error, TEMPER_ERROR, code, _("%s: %s"), failed, g_strerror (saved_errno));
}
