/* SPDX-License-Identifier: MIT */
/* temper-train-json.c — JSON text for the files training writes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "temper-train-json.h"

char *
temper_train_json_to_data (JsonNode *root, gboolean pretty, gsize *length)
{
  static GRegex *spoiled_exponent;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  char *fixed;

  if (g_once_init_enter (&spoiled_exponent))
    g_once_init_leave (&spoiled_exponent,
                       g_regex_new ("([0-9][eE][+-]?[0-9]+)\\.0(?![0-9])", G_REGEX_OPTIMIZE, 0, NULL));

  json_generator_set_pretty (gen, pretty);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  fixed = g_regex_replace (spoiled_exponent, text, -1, 0, "\\1", 0, NULL);
  if (length != NULL)
    *length = strlen (fixed);
  return fixed;
}

double
temper_train_json_float (float f)
{
  char buf[32];

  for (int digits = 6; digits <= 9; digits++)
    {
      double d;

      snprintf (buf, sizeof buf, "%.*g", digits, (double) f);
      d = g_ascii_strtod (buf, NULL);
      if ((float) d == f)
        return d;
    }
  return (double) f;
}
