/* SPDX-License-Identifier: MIT */
/* temper-train-json.h — JSON text for the files training writes (private). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json_generator_to_data(), with the numbers json-glib 1.6 spoils fixed:
 * it writes 1e-08 as "1e-08.0", which no JSON reader accepts. */
char   *temper_train_json_to_data (JsonNode *root, gboolean pretty, gsize *length);

/* The double nearest the shortest decimal that reads back as @f, so a float
 * setting of 0.05 is written as 0.05, not 0.05000000074505806. */
double  temper_train_json_float (float f);

G_END_DECLS
