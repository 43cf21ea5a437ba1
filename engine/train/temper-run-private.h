/* temper-run-private.h — JSON helpers the run folder and its checkpoints share. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Pretty-printed, written atomically (temporary file + rename). */
gboolean  temper_run_write_json (const char *path, JsonNode *root, GError **error);
/* A copy of the root object of @path, or NULL with an error naming the file. */
JsonNode *temper_run_read_json  (const char *path, GError **error);

G_END_DECLS
