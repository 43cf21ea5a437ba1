/* SPDX-License-Identifier: MIT */
/* temper-run-private.h — JSON helpers the run folder and its checkpoints share. */
#pragma once

#include <json-glib/json-glib.h>

#include "temper/run.h"

G_BEGIN_DECLS

/* Pretty-printed, written atomically (temporary file + rename). */
gboolean  temper_run_write_json (const char *path, JsonNode *root, GError **error);
/* A copy of the root object of @path, or NULL with an error naming the file. */
JsonNode *temper_run_read_json  (const char *path, GError **error);

/* The lock on a run folder (temper-run-lock.c): RUN/.temper-lock held with
 * flock() for as long as the lock lives.  Fails with TEMPER_ERROR_IN_USE and
 * a message naming the holder when another process holds it. */
typedef struct _TemperRunLock TemperRunLock;

#define TEMPER_RUN_LOCK_NAME ".temper-lock"

TemperRunLock *temper_run_lock_acquire (const char *dir, TemperRunUse use, GError **error);
void           temper_run_lock_release (TemperRunLock *lock);

G_END_DECLS
