/* SPDX-License-Identifier: MIT */
/* temper-model-list.h — the models the Model page offers: the bundled demo
 * model first, then what the engine's discovery finds on this computer. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char    *name;
  char    *path;
  char    *source;        /* translated: "Bundled with Temper", "Hugging Face cache", … */
  char    *architecture;  /* "llama", "qwen2", or NULL when unknown */
  char    *quantization;  /* "Q4_1", "BF16", or NULL */
  guint64  size;          /* bytes on disk */
  guint64  n_params;      /* 0 when unknown */
  char    *problem;       /* why it cannot be used, or NULL */
  gboolean bundled;
} TemperModelListEntry;

void temper_model_list_entry_free (TemperModelListEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperModelListEntry, temper_model_list_entry_free)

/* One line for people: "Bundled with Temper · llama · 134.5 million
 * parameters · Q4_1 · 105 MB", or the source and the problem. */
char      *temper_model_list_entry_describe (const TemperModelListEntry *entry);

/* Scans on a worker thread.  @extra_folders are searched besides the usual
 * places (may be NULL). */
void       temper_model_list_scan_async  (GObject             *source_object,
                                          const char *const   *extra_folders,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
/* Returns a GPtrArray of TemperModelListEntry. */
GPtrArray *temper_model_list_scan_finish (GAsyncResult        *result,
                                          GError             **error);

G_END_DECLS
