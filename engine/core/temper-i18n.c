/* SPDX-License-Identifier: MIT */
/* temper-i18n.c — locale set-up shared by temper-cli and the GUI. */
#include "config.h"

#include <libintl.h>
#include <locale.h>
#include <string.h>

#include "temper/i18n.h"

static gboolean
is_plain_c (const char *locale)
{
  return locale == NULL || strcmp (locale, "C") == 0 || strcmp (locale, "POSIX") == 0;
}

/* "zh_CN.UTF-8@variant" → "zh_CN"; NULL for an empty value or one that asks
 * for no translation (C, POSIX, C.UTF-8). */
static char *
language_of (const char *locale_name)
{
  if (locale_name == NULL || locale_name[0] == '\0')
    return NULL;
  if (strcmp (locale_name, "C") == 0 || strcmp (locale_name, "POSIX") == 0 ||
      g_str_has_prefix (locale_name, "C."))
    return NULL;
  return g_strndup (locale_name, strcspn (locale_name, ".@"));
}

/* The first of LC_ALL, LC_MESSAGES and LANG that is set: what the
 * environment asks messages to be in, by POSIX's order. */
static const char *
requested_messages_locale (void)
{
  const char *names[] = { "LC_ALL", "LC_MESSAGES", "LANG" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *value = g_getenv (names[i]);

      if (value != NULL && value[0] != '\0')
        return value;
    }
  return NULL;
}

void
temper_i18n_init (const char *locale_dir)
{
  const char *language = g_getenv ("LANGUAGE");

  setlocale (LC_ALL, "");
  if (is_plain_c (setlocale (LC_MESSAGES, NULL)))
    {
      g_autofree char *from_locale = language_of (requested_messages_locale ());

      if (language == NULL || language[0] == '\0')
        {
          /* LANG=zh_CN.UTF-8 without that locale generated: setlocale()
           * fell back to C.  LANGUAGE carries the request past that. */
          if (from_locale != NULL)
            g_setenv ("LANGUAGE", from_locale, TRUE);
          language = from_locale != NULL ? g_getenv ("LANGUAGE") : NULL;
        }
      if (language != NULL && language[0] != '\0')
        setlocale (LC_ALL, "C.UTF-8");
    }
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}
