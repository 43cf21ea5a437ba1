/* SPDX-License-Identifier: MIT */
/* temper-dataset-private.h — the parts of a dataset its files share. */
#pragma once

#include <json-glib/json-glib.h>
#include "temper/dataset.h"

G_BEGIN_DECLS

struct temper_dataset {
  char                *path;
  TemperDatasetOptions options;
  TemperDatasetReport  report;
  GArray              *problems;     /* TemperDatasetProblem, the listed ones */

  GStringChunk        *strings;      /* message text of kept records */
  GArray              *messages;     /* TemperChatMessage of all kept records */
  GArray              *records;      /* TemperDatasetRecord */
  GArray              *first_message;/* guint64 per record: index into messages */

  gboolean             has_tokens;
  GArray              *token_ids;    /* gint32, all kept records back to back */
  GArray              *token_mask;   /* guint8 */
  GArray              *token_start;  /* guint64 per record */
  GArray              *token_count;  /* guint32 per record, after truncation */
  GArray              *lengths;      /* guint32 per record, before truncation (for statistics) */

  GHashTable          *seen;         /* content hash → first record index + 1 */
};

/* The state of one load, shared by the readers of each layout. */
typedef struct {
  temper_dataset_t   *ds;
  TemperDatasetFormat format;        /* the file's, once known */
  gboolean            format_fixed;  /* set by the caller: no "other format" problems */
  guint64             format_line;
  gint64              format_item;
  GArray             *scratch;       /* TemperChatMessage of the record being read */
  GPtrArray          *owned;         /* strings the scratch messages point to */
  const temper_tokenizer_t *tokenizer;
  const char         *base;          /* the mapped file, for progress */
  gsize               size;
  guint64             since_progress;
  gboolean            cancelled;
} TemperDatasetLoader;

void     temper_dataset_loader_add_problem (TemperDatasetLoader *l, TemperDatasetProblemKind kind,
                                            guint64 line, gint64 item, gint64 duplicate_of,
                                            char *message);
/* Checks the record in l->scratch (duplicates, tokens) and keeps it or
 * lists its problem.  Sets @error only when loading must stop. */
void     temper_dataset_loader_accept      (TemperDatasetLoader *l, guint64 line, gint64 item,
                                            GError **error);
/* Between records: progress and cancellation. */
gboolean temper_dataset_loader_tick        (TemperDatasetLoader *l, const char *at, GError **error);

/* The readers of CSV/TSV (temper-dataset-table.c) and of plain text. */
gboolean temper_dataset_read_table (TemperDatasetLoader *l, const char *data, gsize size,
                                    char separator, GError **error);
gboolean temper_dataset_read_text  (TemperDatasetLoader *l, const char *data, gsize size,
                                    GError **error);

/* Recognises a record's format from its fields; AUTO when none fits. */
TemperDatasetFormat temper_dataset_detect_format (JsonObject *object);

/* Turns @object into messages in @format.  Message text points into the
 * JSON tree, or into strings added to @owned.  On a problem, returns FALSE
 * with *kind and *message set (message newly allocated). */
gboolean temper_dataset_parse_record (JsonObject               *object,
                                      TemperDatasetFormat       format,
                                      GArray                   *messages,
                                      GPtrArray                *owned,
                                      TemperDatasetProblemKind *kind,
                                      char                    **message);

/* Fills the token statistics of the report from ds->lengths. */
void temper_dataset_compute_stats (temper_dataset_t *ds);

G_END_DECLS
