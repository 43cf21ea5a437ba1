/* SPDX-License-Identifier: MIT */
/* write-family-exports — Temper's exports of every family's tiny model, for
 * make-family-export-fixtures.py to load in PEFT, transformers and
 * llama.cpp.  Usage: write-family-exports OUT_DIR */
#include "family-export-util.h"

#include <glib/gstdio.h>

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: %s OUT_DIR [FAMILY…]\n", argv[0]);
      return 2;
    }
  /* Every family, or the ones named. */
  for (gsize i = 0; i < (argc > 2 ? (gsize) argc - 2 : G_N_ELEMENTS (export_families)); i++)
    {
      const char *family = argc > 2 ? argv[i + 2] : export_families[i];
      g_autofree char *dir = g_build_filename (argv[1], family, NULL);

      g_mkdir_with_parents (dir, 0755);
      family_write_exports (family, dir);
      g_print ("%s\n", dir);
    }
  return 0;
}
