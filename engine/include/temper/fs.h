/* SPDX-License-Identifier: MIT */
/* fs.h — writing files so that a crash or a power cut never leaves half of
 * one behind.
 *
 * Every file the engine writes goes to a temporary name in the same folder,
 * is flushed to the disk, renamed over its final name, and then the folder is
 * flushed too, so the new name itself survives a power cut.  After a crash a
 * file holds either its old contents or all of the new ones. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Replaces (or creates) @path with @len bytes of @contents (@len -1: a
 * string) durably, as above.  The file is made with mode 0666 less the umask. */
gboolean temper_fs_write_file  (const char *path, const char *contents, gssize len,
                                GError **error);

/* Flushes @path to the disk: a file, or a folder together with the files
 * directly inside it (and the folder's own entries). */
gboolean temper_fs_sync        (const char *path, GError **error);

/* Flushes the folder that holds @path, so that a name just created or
 * renamed there survives a power cut. */
gboolean temper_fs_sync_parent (const char *path, GError **error);

/* Renames @from (a file or a flat folder) to @to after flushing it, then
 * flushes the folder of @to: the last step of writing under a temporary
 * name.  @to must not be a folder that holds anything. */
gboolean temper_fs_rename      (const char *from, const char *to, GError **error);

/* Puts the flat folder @from (flushed first) in place of the folder @to in
 * one step, so that no crash finds neither: where the file system can swap
 * two names (Linux's RENAME_EXCHANGE), @from then holds what @to held, for
 * the caller to remove by its own rules, and *@swapped is TRUE; elsewhere
 * @to is moved to @aside first and back on failure, and *@swapped is FALSE
 * (the old folder is then at @aside).  When @to does not exist it is a plain
 * temper_fs_rename() (*@swapped FALSE, nothing at @aside). */
gboolean temper_fs_replace_dir (const char *from, const char *to, const char *aside,
                                gboolean *swapped, GError **error);

G_END_DECLS
