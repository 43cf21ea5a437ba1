/* SPDX-License-Identifier: MIT */
/* fuzz-util.h — what the libFuzzer harnesses share: a private scratch
 * folder, writing an input to a file there, fixture paths, and a guard
 * against nesting deep enough to exhaust json-glib's recursive parser and
 * against documents with no value (both are the business of the engine's
 * JSON entry point of issue 16, not of these harnesses). */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* Sets the environment every harness wants (G_SLICE=always-malloc unless
 * @keep_slice, so use-after-free on GLib lists is visible to ASan), makes
 * criticals and warnings fatal, and makes the scratch folder. */
void        fuzz_init (gboolean keep_slice);
/* The scratch folder, made once per process and removed at exit. */
const char *fuzz_scratch_dir (void);
/* Writes @size bytes to @name inside the scratch folder (or inside @dir when
 * not NULL) and returns the full path, owned by the caller. */
char       *fuzz_write (const char *dir, const char *name, const void *data, size_t size);
/* A file or folder of the source tree's tests/fixtures. */
char       *fuzz_fixture (const char *relative);
/* TRUE when brackets nest deeper than @limit outside JSON strings, or when
 * the document holds no value (see fuzz-util.c). */
gboolean    fuzz_json_too_deep (const uint8_t *data, size_t size, guint limit);
/* Copies every regular file of @src into @dst (made when missing). */
void        fuzz_copy_dir (const char *src, const char *dst);

/* Nesting the harnesses give to json-glib at most. */
#define FUZZ_JSON_DEPTH 256

G_END_DECLS
