/* SPDX-License-Identifier: MIT */
/* install-paths.h — where Temper's own files are, installed or not.
 *
 * A program run from the build folder it was compiled in reads the source
 * tree's data/ and the build folder's modules and translations.  An
 * installed one finds its files from its own location (<prefix>/bin/ →
 * <prefix>/share/temper/, …), so a tree installed with `meson install
 * --destdir` or moved elsewhere still works; when that fails it falls back
 * to the prefix it was configured for. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when the running program lives inside the build folder. */
gboolean    temper_running_uninstalled (void);
/* The folder of the bundled data: samples/, eval/, models/. */
const char *temper_data_dir            (void);
/* @relative (e.g. "samples/product-faq.jsonl") inside temper_data_dir(); the
 * file may not exist. */
char       *temper_data_file           (const char *relative);
/* The folder bindtextdomain() should use. */
const char *temper_locale_dir          (void);
/* The folder that holds the CUDA module, when it was built. */
const char *temper_module_dir          (void);

G_END_DECLS
