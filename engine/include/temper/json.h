/* SPDX-License-Identifier: MIT */
/* json.h — the one way Temper reads JSON.
 *
 * json-glib parses recursively, so a document of a few tens of thousands of
 * “[” overflows the stack.  Every JSON document Temper reads (datasets,
 * config.json, tokenizer files, run files, the GUI's files) goes through
 * these functions, which first scan the bytes — cheaply, without building
 * anything — and refuse a document nested deeper than TEMPER_JSON_MAX_DEPTH
 * or larger than the caller's size limit before json-glib sees it. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Far deeper than any real file (tokenizer.json, the deepest, is about 10). */
#define TEMPER_JSON_MAX_DEPTH 512

/* Size limits for the kinds of file Temper reads whole. */
#define TEMPER_JSON_MAX_SETTINGS_SIZE  ((gsize) 64 << 20)   /* config, settings, state, index … */
#define TEMPER_JSON_MAX_DOCUMENT_SIZE  ((gsize) 2 << 30)    /* tokenizer.json, datasets, ratings */

/* Parses @length bytes of @data (-1: up to its NUL).  @what names the
 * document in messages (“config.json”, “line 12”).  Returns the root node
 * (a new reference) or NULL with @error set: a syntax error keeps
 * json-glib's JSON_PARSER_ERROR; a document too deep or too large is
 * TEMPER_ERROR_INVALID_FILE.  Every string and member name of the tree is
 * valid UTF-8: a lone surrogate escape (“\udc00”) reads as U+FFFD. */
JsonNode *temper_json_parse_data (const char  *data,
                                  gssize       length,
                                  const char  *what,
                                  gsize        max_size,
                                  GError     **error);

/* Reads and parses the file at @path, which must be a regular file (a FIFO
 * or a device would block or never end) no larger than @max_size.  Errors
 * as temper_json_parse_data, plus G_FILE_ERROR when it cannot be read. */
JsonNode *temper_json_parse_file (const char  *path,
                                  gsize        max_size,
                                  GError     **error);

/* @root as JSON text (indented when @pretty), valid for every reader:
 * json-glib 1.6 leaves the byte 0x1f unescaped inside strings and member
 * names (a vocabulary holds such tokens), which strict parsers such as
 * Python's refuse; every control byte inside a string comes out as
 * \u00XX.  Sets *@length when not NULL. */
char     *temper_json_to_text (JsonNode *root, gboolean pretty, gsize *length);

/* Counts the nesting of @data without parsing it: TRUE when it never goes
 * deeper than @max_depth.  Exposed for tests. */
gboolean  temper_json_depth_within (const char *data,
                                    gsize       length,
                                    guint       max_depth);

G_END_DECLS
