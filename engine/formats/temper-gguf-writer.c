/* SPDX-License-Identifier: MIT */
/* temper-gguf-writer.c — writes GGUF v3 files.
 *
 * Values are serialised when they are set, so the writer holds the metadata
 * as ready-made bytes; tensor data is written in the order tensors were added,
 * each at the running offset rounded up to the alignment, which is exactly
 * what strict readers (ggml's and ours) recompute. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper-types-private.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NAME_LEN 63

typedef struct {
  char       *key;
  GByteArray *value;   /* value type (u32) followed by the value */
} WriterKv;

typedef struct {
  char        *name;
  int          type;
  int          n_dims;
  int64_t      ne[4];
  const void  *data;
  gsize        n_bytes;
  gpointer     owned;   /* the copy, when the bytes were copied */
} WriterTensor;

struct temper_gguf_writer {
  GPtrArray  *kvs;        /* WriterKv* in insertion order */
  GHashTable *kv_index;   /* key → WriterKv* */
  GArray     *tensors;    /* WriterTensor */
  GHashTable *names;      /* tensor names already added */
};

static void
writer_kv_free (gpointer p)
{
  WriterKv *kv = p;

  g_free (kv->key);
  g_byte_array_unref (kv->value);
  g_free (kv);
}

temper_gguf_writer_t *
temper_gguf_writer_new (void)
{
  temper_gguf_writer_t *w = g_new0 (temper_gguf_writer_t, 1);

  w->kvs = g_ptr_array_new_with_free_func (writer_kv_free);
  w->kv_index = g_hash_table_new (g_str_hash, g_str_equal);
  w->tensors = g_array_new (FALSE, TRUE, sizeof (WriterTensor));
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  return w;
}

void
temper_gguf_writer_free (temper_gguf_writer_t *w)
{
  if (w == NULL)
    return;
  for (guint i = 0; i < w->tensors->len; i++)
    {
      WriterTensor *t = &g_array_index (w->tensors, WriterTensor, i);
      g_free (t->name);
      g_free (t->owned);
    }
  g_array_unref (w->tensors);
  g_hash_table_unref (w->names);
  g_hash_table_unref (w->kv_index);
  g_ptr_array_unref (w->kvs);
  g_free (w);
}

static void
put_u32 (GByteArray *b, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, 4);
}

static void
put_u64 (GByteArray *b, guint64 v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, 8);
}

static void
put_string (GByteArray *b, const char *s)
{
  gsize len = strlen (s);

  put_u64 (b, len);
  g_byte_array_append (b, (const guint8 *) s, (guint) len);
}

/* Starts (or restarts, replacing an earlier value) the entry for @key. */
static GByteArray *
begin_value (temper_gguf_writer_t *w, const char *key, TemperGgufValueType type)
{
  WriterKv *kv = g_hash_table_lookup (w->kv_index, key);

  if (kv == NULL)
    {
      kv = g_new0 (WriterKv, 1);
      kv->key = g_strdup (key);
      kv->value = g_byte_array_new ();
      g_ptr_array_add (w->kvs, kv);
      g_hash_table_insert (w->kv_index, kv->key, kv);
    }
  g_byte_array_set_size (kv->value, 0);
  put_u32 (kv->value, type);
  return kv->value;
}

void
temper_gguf_writer_set_u32 (temper_gguf_writer_t *w, const char *key, guint32 v)
{
  put_u32 (begin_value (w, key, TEMPER_GGUF_UINT32), v);
}

void
temper_gguf_writer_set_i32 (temper_gguf_writer_t *w, const char *key, gint32 v)
{
  put_u32 (begin_value (w, key, TEMPER_GGUF_INT32), (guint32) v);
}

void
temper_gguf_writer_set_u64 (temper_gguf_writer_t *w, const char *key, guint64 v)
{
  put_u64 (begin_value (w, key, TEMPER_GGUF_UINT64), v);
}

void
temper_gguf_writer_set_f32 (temper_gguf_writer_t *w, const char *key, float v)
{
  guint32 bits;

  memcpy (&bits, &v, 4);
  put_u32 (begin_value (w, key, TEMPER_GGUF_FLOAT32), bits);
}

void
temper_gguf_writer_set_bool (temper_gguf_writer_t *w, const char *key, gboolean v)
{
  guint8 byte = v ? 1 : 0;

  g_byte_array_append (begin_value (w, key, TEMPER_GGUF_BOOL), &byte, 1);
}

void
temper_gguf_writer_set_string (temper_gguf_writer_t *w, const char *key, const char *v)
{
  g_return_if_fail (v != NULL);
  put_string (begin_value (w, key, TEMPER_GGUF_STRING), v);
}

void
temper_gguf_writer_set_string_array (temper_gguf_writer_t *w, const char *key,
                                     const char *const *v, gsize n)
{
  GByteArray *b = begin_value (w, key, TEMPER_GGUF_ARRAY);

  put_u32 (b, TEMPER_GGUF_STRING);
  put_u64 (b, n);
  for (gsize i = 0; i < n; i++)
    put_string (b, v[i]);
}

void
temper_gguf_writer_set_f32_array (temper_gguf_writer_t *w, const char *key,
                                  const float *v, gsize n)
{
  GByteArray *b = begin_value (w, key, TEMPER_GGUF_ARRAY);

  put_u32 (b, TEMPER_GGUF_FLOAT32);
  put_u64 (b, n);
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &v[i], 4);
      put_u32 (b, bits);
    }
}

void
temper_gguf_writer_set_i32_array (temper_gguf_writer_t *w, const char *key,
                                  const gint32 *v, gsize n)
{
  GByteArray *b = begin_value (w, key, TEMPER_GGUF_ARRAY);

  put_u32 (b, TEMPER_GGUF_INT32);
  put_u64 (b, n);
  for (gsize i = 0; i < n; i++)
    put_u32 (b, (guint32) v[i]);
}

static void
add_tensor (temper_gguf_writer_t *w, const char *name, int type,
            const int64_t *ne, int n_dims, const void *data, gsize n_bytes,
            gboolean copy)
{
  WriterTensor t = { 0 };
  size_t block_elems, block_bytes;
  guint64 expected;

  g_return_if_fail (name != NULL && strlen (name) > 0 && strlen (name) <= GGUF_MAX_NAME_LEN);
  g_return_if_fail (!g_hash_table_contains (w->names, name));
  g_return_if_fail (n_dims >= 1 && n_dims <= 4);
  g_return_if_fail (temper_ggml_type_geometry (type, NULL, &block_elems, &block_bytes));
  g_return_if_fail (ne[0] >= 0 && (guint64) ne[0] % block_elems == 0);

  expected = (guint64) ne[0] / block_elems * block_bytes;
  for (int d = 1; d < n_dims; d++)
    expected *= (guint64) ne[d];
  g_return_if_fail (expected == n_bytes);
  g_return_if_fail (data != NULL || n_bytes == 0);

  t.name = g_strdup (name);
  t.type = type;
  t.n_dims = n_dims;
  for (int d = 0; d < 4; d++)
    t.ne[d] = d < n_dims ? ne[d] : 1;
  t.n_bytes = n_bytes;
  if (copy)
    {
      t.owned = g_memdup2 (data, n_bytes);
      t.data = t.owned;
    }
  else
    t.data = data;
  g_array_append_val (w->tensors, t);
  g_hash_table_add (w->names, t.name);
}

void
temper_gguf_writer_add_tensor (temper_gguf_writer_t *w, const char *name,
                               int type, const int64_t *ne, int n_dims,
                               const void *data, gsize n_bytes)
{
  add_tensor (w, name, type, ne, n_dims, data, n_bytes, TRUE);
}

void
temper_gguf_writer_add_tensor_static (temper_gguf_writer_t *w, const char *name,
                                      int type, const int64_t *ne, int n_dims,
                                      const void *data, gsize n_bytes)
{
  add_tensor (w, name, type, ne, n_dims, data, n_bytes, FALSE);
}

static guint64
writer_alignment (temper_gguf_writer_t *w)
{
  WriterKv *kv = g_hash_table_lookup (w->kv_index, "general.alignment");
  guint32 type, a;

  if (kv == NULL || kv->value->len != 8)
    return GGUF_DEFAULT_ALIGNMENT;
  memcpy (&type, kv->value->data, 4);
  memcpy (&a, kv->value->data + 4, 4);
  a = GUINT32_FROM_LE (a);
  if (GUINT32_FROM_LE (type) != TEMPER_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0)
    return GGUF_DEFAULT_ALIGNMENT;
  return a;
}

static gboolean
write_all (FILE *f, const void *data, gsize n, const char *path, GError **error)
{
  if (n > 0 && fwrite (data, 1, n, f) != n)
    {
      temper_set_error_from_errno (error, errno, _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_zeros (FILE *f, gsize n, const char *path, GError **error)
{
  static const guint8 zeros[64];

  while (n > 0)
    {
      gsize chunk = MIN (n, sizeof zeros);
      if (!write_all (f, zeros, chunk, path, error))
        return FALSE;
      n -= chunk;
    }
  return TRUE;
}

gboolean
temper_gguf_writer_write (temper_gguf_writer_t *w, const char *path, GError **error)
{
  g_autoptr(GByteArray) header = g_byte_array_new ();
  guint64 alignment = writer_alignment (w);
  guint64 offset = 0;
  FILE *f;

  g_byte_array_append (header, (const guint8 *) "GGUF", 4);
  put_u32 (header, 3);
  put_u64 (header, w->tensors->len);
  put_u64 (header, w->kvs->len);
  for (guint i = 0; i < w->kvs->len; i++)
    {
      WriterKv *kv = g_ptr_array_index (w->kvs, i);
      put_string (header, kv->key);
      g_byte_array_append (header, kv->value->data, kv->value->len);
    }
  for (guint i = 0; i < w->tensors->len; i++)
    {
      WriterTensor *t = &g_array_index (w->tensors, WriterTensor, i);

      put_string (header, t->name);
      put_u32 (header, (guint32) t->n_dims);
      for (int d = 0; d < t->n_dims; d++)
        put_u64 (header, (guint64) t->ne[d]);
      put_u32 (header, (guint32) t->type);
      put_u64 (header, offset);
      offset += t->n_bytes;
      offset += (alignment - offset % alignment) % alignment;
    }

  f = fopen (path, "wb");
  if (f == NULL)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), path);
      return FALSE;
    }
  if (!write_all (f, header->data, header->len, path, error)
      || !write_zeros (f, (alignment - header->len % alignment) % alignment, path, error))
    goto fail;
  for (guint i = 0; i < w->tensors->len; i++)
    {
      WriterTensor *t = &g_array_index (w->tensors, WriterTensor, i);

      if (!write_all (f, t->data, t->n_bytes, path, error)
          || !write_zeros (f, (alignment - t->n_bytes % alignment) % alignment, path, error))
        goto fail;
    }
  if (fclose (f) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;

fail:
  fclose (f);
  return FALSE;
}
