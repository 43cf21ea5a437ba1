/* SPDX-License-Identifier: MIT */
/* safetensors.h — reading and writing Hugging Face safetensors files.
 *
 * A reader opens one .safetensors file or a sharded checkpoint through its
 * model.safetensors.index.json; either way it answers for every tensor by
 * name.  Files are memory-mapped and their headers checked as the reference
 * implementation does (offsets contiguous from 0, sizes matching shapes, the
 * last tensor ending at the end of the file) before anything is used. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>
#include "temper/tensor.h"

G_BEGIN_DECLS

typedef struct temper_safetensors        temper_safetensors_t;
typedef struct temper_safetensors_writer temper_safetensors_writer_t;

#define TEMPER_SAFETENSORS_MAX_DIMS 8

typedef struct {
  const char *name;
  const char *dtype;       /* "F32", "BF16", "I64", … as in the header */
  int         n_dims;
  int64_t     shape[TEMPER_SAFETENSORS_MAX_DIMS];  /* row-major, slowest first */
  const void *data;
  guint64     n_bytes;
  const char *file;        /* the file holding it */
} TemperSafetensorsInfo;

/* @path is a .safetensors file or a model.safetensors.index.json. */
temper_safetensors_t *temper_safetensors_open  (const char *path, GError **error);
void                  temper_safetensors_close (temper_safetensors_t *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_safetensors_t, temper_safetensors_close)

guint       temper_safetensors_get_n_tensors (const temper_safetensors_t *st);
/* Tensor names in a stable (sorted) order. */
const char *temper_safetensors_get_name      (const temper_safetensors_t *st, guint i);
gboolean    temper_safetensors_get_info      (const temper_safetensors_t *st, const char *name,
                                              TemperSafetensorsInfo *info);
/* A weight view for F32, F16 or BF16 tensors: shape [out, in] gives
 * ne = {in, out}; leading dimensions of 3-D and larger tensors fold into
 * ne[1].  Fails with a message for a missing tensor or another dtype. */
gboolean    temper_safetensors_get_view      (const temper_safetensors_t *st, const char *name,
                                              TemperTensorView *view, GError **error);
/* A value of the "__metadata__" map (of the first file for shards), or NULL. */
const char *temper_safetensors_get_metadata  (const temper_safetensors_t *st, const char *key);
/* Sum of the files' sizes. */
guint64     temper_safetensors_get_total_size(const temper_safetensors_t *st);
/* Bytes per element for a dtype name, 0 for an unknown or sub-byte one. */
gsize       temper_safetensors_dtype_size    (const char *dtype);

/* Writer: tensors are written sorted by dtype width then name, the header is
 * padded with spaces to a multiple of 8 bytes, and "__metadata__" holds
 * {"format": "pt"} plus anything set here. */
temper_safetensors_writer_t *temper_safetensors_writer_new (void);
void     temper_safetensors_writer_free (temper_safetensors_writer_t *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_safetensors_writer_t, temper_safetensors_writer_free)
void     temper_safetensors_writer_set_metadata (temper_safetensors_writer_t *w,
                                                 const char *key, const char *value);
/* @shape is row-major (slowest first), as PyTorch prints it.  The bytes are
 * copied; _static keeps a pointer that must stay valid until write(). */
void     temper_safetensors_writer_add_tensor   (temper_safetensors_writer_t *w, const char *name,
                                                 const char *dtype, const int64_t *shape,
                                                 int n_dims, const void *data, gsize n_bytes);
void     temper_safetensors_writer_add_tensor_static (temper_safetensors_writer_t *w,
                                                      const char *name, const char *dtype,
                                                      const int64_t *shape, int n_dims,
                                                      const void *data, gsize n_bytes);
gboolean temper_safetensors_writer_write        (temper_safetensors_writer_t *w,
                                                 const char *path, GError **error);

G_END_DECLS
