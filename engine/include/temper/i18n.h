/* SPDX-License-Identifier: MIT */
/* temper/i18n.h — the language Temper speaks.  The engine's messages share
 * the application's gettext domain (GETTEXT_PACKAGE, "temper"), so one
 * catalogue translates the engine, the command line and the GUI. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets the locale from the environment and binds the "temper" translations
 * found under @locale_dir (…/share/locale once installed, the build tree's
 * po/ folder when running uninstalled).  Call it first thing in main().
 *
 * When the environment's locale comes out as plain "C" or "POSIX" (LC_ALL=C,
 * or a LANG naming a locale that is not generated, as in containers that
 * have only C.UTF-8) but LANGUAGE or LANG asks for a language, gettext would
 * ignore that request; the locale then becomes C.UTF-8, which gettext does
 * not ignore LANGUAGE for and which prints UTF-8.  (LC_ALL=C alone, the
 * usual way to ask for untranslated output, still gives English.) */
void temper_i18n_init (const char *locale_dir);

G_END_DECLS
