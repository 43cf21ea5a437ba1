/* SPDX-License-Identifier: MIT */
/* temper-memory-limit.c — TEMPER_MEMORY_LIMIT, the cap a person puts on the
 * memory a job may use on its device.  In core because the backends (Vulkan
 * refuses buffers beyond it) and the registry (which checks a job's plan
 * against it) both read it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper-memory-limit.h"

guint64
temper_memory_limit (void)
{
  const char *text = g_getenv (TEMPER_MEMORY_LIMIT_ENV);
  char *end = NULL;
  double value;

  if (text == NULL || *text == '\0')
    return 0;
  value = g_ascii_strtod (text, &end);
  switch (*end)
    {
    case 'k': case 'K': value *= 1e3; end++; break;
    case 'm': case 'M': value *= 1e6; end++; break;
    case 'g': case 'G': value *= 1e9; end++; break;
    default: break;
    }
  if (*end == 'B' || *end == 'b')
    end++;
  if (end == text || *end != '\0' || !(value >= 1.0) || value > 1e18)
    {
      static gint warned;

      /* Every allocation asks: say it once. */
      if (g_atomic_int_compare_and_exchange (&warned, 0, 1))
        g_warning (_("%s=%s is not a size such as 6G or 512M; it is ignored"),
                   TEMPER_MEMORY_LIMIT_ENV, text);
      return 0;
    }
  return (guint64) value;
}
