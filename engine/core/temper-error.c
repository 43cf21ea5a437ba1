#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>

#include "temper/error.h"

G_DEFINE_QUARK (temper-error-quark, temper_error)

void
temper_set_error_from_errno (GError **error, int saved_errno,
                             const char *path, const char *what)
{
  TemperErrorCode code = TEMPER_ERROR_IO;

  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE,
                   _("Could not %s “%s”: the disk is full. Free some space and try again."),
                   what, path);
      return;
    }
  if (saved_errno == ENOMEM)
    code = TEMPER_ERROR_OUT_OF_MEMORY;
  g_set_error (error, TEMPER_ERROR, code, _("Could not %s “%s”: %s"),
               what, path, g_strerror (saved_errno));
}
