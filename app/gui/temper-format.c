/* SPDX-License-Identifier: MIT */
/* temper-format.c — durations rounded the way a person says them: an
 * estimate is never exact, so minutes below two hours, then hours. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "temper-format.h"

char *
temper_format_duration (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup (_("unknown"));
  if (seconds < 60)
    return g_strdup (_("less than a minute"));
  if (seconds < 2 * 3600)
    {
      gulong minutes = (gulong) MAX (1.0, round (seconds / 60));

      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "about %lu minute", "about %lu minutes", minutes),
                              minutes);
    }
  else
    {
      gulong hours = (gulong) round (seconds / 3600);

      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "about %lu hour", "about %lu hours", hours),
                              hours);
    }
}
