/* SPDX-License-Identifier: MIT */
/* main.c — starts Temper. */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "temper/i18n.h"
#include "temper-application.h"
#include "temper-paths.h"
#include "temper-settings.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TemperApplication) app = NULL;
  g_autoptr(TemperSettings) settings = NULL;
  g_autoptr(GError) error = NULL;

  /* The engine's messages are in the same "temper" domain. */
  temper_i18n_init (temper_paths_locale_dir ());
  textdomain (GETTEXT_PACKAGE);

  settings = temper_settings_new (&error);
  if (settings == NULL)
    {
      fprintf (stderr, "temper: %s\n", error->message);
      return 1;
    }

  app = temper_application_new (settings);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
