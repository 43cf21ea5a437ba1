/* SPDX-License-Identifier: MIT */
/* gguf.h — reading and writing GGUF v3 files.
 *
 * The reader memory-maps the file and checks every length, count and offset
 * against the file size before it is used, so a truncated or hostile file
 * gives an error, never a crash.  The writer is used by the exporters and by
 * tests that build small model files. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>
#include "temper/tensor.h"

G_BEGIN_DECLS

typedef struct temper_gguf        temper_gguf_t;
typedef struct temper_gguf_writer temper_gguf_writer_t;

typedef enum {
  TEMPER_GGUF_UINT8 = 0, TEMPER_GGUF_INT8 = 1, TEMPER_GGUF_UINT16 = 2,
  TEMPER_GGUF_INT16 = 3, TEMPER_GGUF_UINT32 = 4, TEMPER_GGUF_INT32 = 5,
  TEMPER_GGUF_FLOAT32 = 6, TEMPER_GGUF_BOOL = 7, TEMPER_GGUF_STRING = 8,
  TEMPER_GGUF_ARRAY = 9, TEMPER_GGUF_UINT64 = 10, TEMPER_GGUF_INT64 = 11,
  TEMPER_GGUF_FLOAT64 = 12,
} TemperGgufValueType;

/* A string inside the mapped file: not NUL-terminated. */
typedef struct {
  const char *data;
  guint64     len;
} TemperGgufString;

temper_gguf_t *temper_gguf_open  (const char *path, GError **error);
void           temper_gguf_close (temper_gguf_t *gguf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_gguf_t, temper_gguf_close)

const char *temper_gguf_get_path      (const temper_gguf_t *gguf);
guint64     temper_gguf_get_file_size (const temper_gguf_t *gguf);
guint32     temper_gguf_get_version   (const temper_gguf_t *gguf);
guint64     temper_gguf_get_alignment (const temper_gguf_t *gguf);
/* File offset of the data section (tensor offsets are relative to it). */
guint64     temper_gguf_get_data_offset (const temper_gguf_t *gguf);

/* Metadata keys in file order, e.g. to copy them into an export. */
guint64     temper_gguf_get_n_kv      (const temper_gguf_t *gguf);
const char *temper_gguf_get_key       (const temper_gguf_t *gguf, guint64 i);
gboolean    temper_gguf_get_value_type(const temper_gguf_t *gguf, const char *key,
                                       TemperGgufValueType *type);

/* Metadata.  Each getter returns FALSE when the key is absent or has another
 * type; integer getters accept any integer type whose value fits. */
gboolean temper_gguf_has_key    (const temper_gguf_t *gguf, const char *key);
gboolean temper_gguf_get_u32    (const temper_gguf_t *gguf, const char *key, guint32 *out);
gboolean temper_gguf_get_i64    (const temper_gguf_t *gguf, const char *key, gint64 *out);
gboolean temper_gguf_get_f32    (const temper_gguf_t *gguf, const char *key, float *out);
gboolean temper_gguf_get_bool   (const temper_gguf_t *gguf, const char *key, gboolean *out);
/* Returns a newly allocated NUL-terminated UTF-8 copy (bytes that are not
 * UTF-8, in a damaged file, become U+FFFD), or NULL. */
char    *temper_gguf_dup_string (const temper_gguf_t *gguf, const char *key);
/* Arrays: element type and count; FALSE if absent or not an array. */
gboolean temper_gguf_get_array_info (const temper_gguf_t *gguf, const char *key,
                                     TemperGgufValueType *elem_type, guint64 *count);
/* The i-th string of a string array (i < count). */
TemperGgufString temper_gguf_get_array_string (const temper_gguf_t *gguf,
                                               const char *key, guint64 i);
/* Pointer to the packed elements of a numeric array (may be unaligned:
 * copy with memcpy). */
const void *temper_gguf_get_array_data (const temper_gguf_t *gguf, const char *key);

/* Tensors. */
guint64  temper_gguf_get_n_tensors (const temper_gguf_t *gguf);
/* Fills @view for tensor @name (2-D or less; rows beyond ne[1] of 3-D/4-D
 * tensors are folded into ne[1]).  FALSE if absent. */
gboolean temper_gguf_find_tensor   (const temper_gguf_t *gguf, const char *name,
                                    TemperTensorView *view);
/* The i-th tensor in file order. */
void     temper_gguf_get_tensor    (const temper_gguf_t *gguf, guint64 i,
                                    TemperTensorView *view);
/* The stored shape of the i-th tensor (ne[n_dims..3] are 1) and its size. */
void     temper_gguf_get_tensor_shape (const temper_gguf_t *gguf, guint64 i,
                                       int64_t ne[4], guint32 *n_dims,
                                       guint64 *n_bytes);

/* Writer: keys and tensors are collected in memory-light form, then written
 * in one pass to @path (the caller handles temporary names). */
temper_gguf_writer_t *temper_gguf_writer_new (void);
void temper_gguf_writer_free (temper_gguf_writer_t *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_gguf_writer_t, temper_gguf_writer_free)
void temper_gguf_writer_set_u32    (temper_gguf_writer_t *w, const char *key, guint32 v);
void temper_gguf_writer_set_i32    (temper_gguf_writer_t *w, const char *key, gint32 v);
void temper_gguf_writer_set_u64    (temper_gguf_writer_t *w, const char *key, guint64 v);
void temper_gguf_writer_set_f32    (temper_gguf_writer_t *w, const char *key, float v);
void temper_gguf_writer_set_bool   (temper_gguf_writer_t *w, const char *key, gboolean v);
void temper_gguf_writer_set_string (temper_gguf_writer_t *w, const char *key, const char *v);
void temper_gguf_writer_set_string_array (temper_gguf_writer_t *w, const char *key,
                                          const char *const *v, gsize n);
void temper_gguf_writer_set_f32_array (temper_gguf_writer_t *w, const char *key,
                                       const float *v, gsize n);
void temper_gguf_writer_set_i32_array (temper_gguf_writer_t *w, const char *key,
                                       const gint32 *v, gsize n);
/* The bytes are copied.  ne[0] is the contiguous dimension. */
void temper_gguf_writer_add_tensor (temper_gguf_writer_t *w, const char *name,
                                    int type, const int64_t *ne, int n_dims,
                                    const void *data, gsize n_bytes);
/* As add_tensor, but the bytes are not copied: they must stay valid until
 * temper_gguf_writer_write() returns (exports of whole models use this to
 * stream from the memory-mapped source). */
void temper_gguf_writer_add_tensor_static (temper_gguf_writer_t *w, const char *name,
                                           int type, const int64_t *ne, int n_dims,
                                           const void *data, gsize n_bytes);
gboolean temper_gguf_writer_write  (temper_gguf_writer_t *w, const char *path,
                                    GError **error);

G_END_DECLS
