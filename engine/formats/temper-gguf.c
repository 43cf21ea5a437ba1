/* SPDX-License-Identifier: MIT */
/* temper-gguf.c — a bounds-checked GGUF v2/v3 reader over a memory map.
 *
 * The whole header is parsed and checked when the file is opened: after that
 * every getter reads from positions already known to lie inside the file, so
 * a truncated or hostile file fails once, at open, with a message that says
 * what is wrong, and never later with a crash. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/gguf.h"
#include "temper-types-private.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY_LEN 65535
#define GGUF_MAX_NAME_LEN 63    /* ggml's GGML_MAX_NAME is 64 with the NUL */
#define GGUF_MAX_DIMS 4

typedef struct {
  char               *key;
  TemperGgufValueType type;
  guint64             value_at;   /* file offset of the value (after the type) */
  /* Arrays only. */
  TemperGgufValueType elem_type;
  guint64             count;
  guint64             elems_at;   /* file offset of the first element */
  guint64            *string_at;  /* string arrays: offset of each string's length */
} GgufKv;

typedef struct {
  char    *name;
  int      type;
  guint32  n_dims;
  int64_t  ne[GGUF_MAX_DIMS];
  guint64  offset;    /* relative to the data section */
  guint64  n_bytes;
  size_t   row_bytes;
} GgufTensor;

struct temper_gguf {
  char          *path;
  char          *display;   /* the file name, for messages */
  const guint8  *data;
  guint64        size;
  guint32        version;
  guint64        alignment;
  guint64        data_start;
  GgufKv        *kvs;
  guint64        n_kv;
  GHashTable    *kv_index;       /* key → GgufKv* */
  GgufTensor    *tensors;
  guint64        n_tensors;
  GHashTable    *tensor_index;   /* name → GgufTensor* */
};

typedef struct {
  temper_gguf_t *gguf;
  guint64        pos;
} Cursor;

static gsize
value_type_size (TemperGgufValueType type)
{
  switch (type)
    {
    case TEMPER_GGUF_UINT8: case TEMPER_GGUF_INT8: case TEMPER_GGUF_BOOL: return 1;
    case TEMPER_GGUF_UINT16: case TEMPER_GGUF_INT16: return 2;
    case TEMPER_GGUF_UINT32: case TEMPER_GGUF_INT32: case TEMPER_GGUF_FLOAT32: return 4;
    case TEMPER_GGUF_UINT64: case TEMPER_GGUF_INT64: case TEMPER_GGUF_FLOAT64: return 8;
    case TEMPER_GGUF_STRING: case TEMPER_GGUF_ARRAY: default: return 0;
    }
}

static gboolean
cut_short (Cursor *c, guint64 need, const char *what, GError **error)
{
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("“%s” is cut short: %s needs %" PRIu64 " bytes at offset %"
               PRIu64 ", but the file ends at %" PRIu64
               ". The download may be incomplete."),
               c->gguf->display, what, need, c->pos, c->gguf->size);
  return FALSE;
}

static gboolean
cursor_need (Cursor *c, guint64 n, const char *what, GError **error)
{
  if (c->pos > c->gguf->size || n > c->gguf->size - c->pos)
    return cut_short (c, n, what, error);
  return TRUE;
}

static gboolean
read_u32 (Cursor *c, guint32 *out, const char *what, GError **error)
{
  if (!cursor_need (c, 4, what, error))
    return FALSE;
  memcpy (out, c->gguf->data + c->pos, 4);
  *out = GUINT32_FROM_LE (*out);
  c->pos += 4;
  return TRUE;
}

static gboolean
read_u64 (Cursor *c, guint64 *out, const char *what, GError **error)
{
  if (!cursor_need (c, 8, what, error))
    return FALSE;
  memcpy (out, c->gguf->data + c->pos, 8);
  *out = GUINT64_FROM_LE (*out);
  c->pos += 8;
  return TRUE;
}

/* Checks a gguf string at the cursor and skips it; *at receives the offset
 * of its length field. */
static gboolean
skip_string (Cursor *c, guint64 max_len, guint64 *at, const char *what, GError **error)
{
  guint64 len;

  if (at != NULL)
    *at = c->pos;
  if (!read_u64 (c, &len, what, error))
    return FALSE;
  if (len > max_len)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: %s claims to be %" PRIu64
                   " bytes long (at offset %" PRIu64 "), more than is allowed."),
                   c->gguf->display, what, len, c->pos - 8);
      return FALSE;
    }
  if (!cursor_need (c, len, what, error))
    return FALSE;
  c->pos += len;
  return TRUE;
}

static char *
dup_string_at (const temper_gguf_t *gguf, guint64 at)
{
  guint64 len;

  memcpy (&len, gguf->data + at, 8);
  len = GUINT64_FROM_LE (len);
  return g_strndup ((const char *) gguf->data + at + 8, len);
}

static gboolean
valid_value_type (guint32 type)
{
  return type <= TEMPER_GGUF_FLOAT64;
}

static gboolean
parse_kv (Cursor *c, GgufKv *kv, guint64 index, GError **error)
{
  temper_gguf_t *gguf = c->gguf;
  guint64 key_at;
  guint32 type;
  g_autofree char *what = g_strdup_printf (_("the key of metadata entry %" PRIu64), index);

  if (!skip_string (c, GGUF_MAX_KEY_LEN, &key_at, what, error))
    return FALSE;
  kv->key = dup_string_at (gguf, key_at);
  /* Keys and tensor names go into messages: they must be text. */
  if (!g_utf8_validate (kv->key, -1, NULL))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: the key of metadata entry %llu is not UTF-8 text."),
                   gguf->display, (unsigned long long) index);
      return FALSE;
    }

  g_free (what);
  what = g_strdup_printf (_("the value of “%s”"), kv->key);
  if (!read_u32 (c, &type, what, error))
    return FALSE;
  if (!valid_value_type (type))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: metadata “%s” has an unknown value type (%u)."),
                   gguf->display, kv->key, type);
      return FALSE;
    }
  kv->type = type;
  kv->value_at = c->pos;

  if (type == TEMPER_GGUF_STRING)
    return skip_string (c, G_MAXUINT64, NULL, what, error);

  if (type != TEMPER_GGUF_ARRAY)
    {
      if (!cursor_need (c, value_type_size (type), what, error))
        return FALSE;
      c->pos += value_type_size (type);
      return TRUE;
    }

  if (!read_u32 (c, &type, what, error) || !read_u64 (c, &kv->count, what, error))
    return FALSE;
  if (!valid_value_type (type) || type == TEMPER_GGUF_ARRAY)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: the array “%s” has an element type (%u) that GGUF does not allow."),
                   gguf->display, kv->key, type);
      return FALSE;
    }
  kv->elem_type = type;
  kv->elems_at = c->pos;

  if (type == TEMPER_GGUF_STRING)
    {
      /* Every string needs at least its 8-byte length: refuse an impossible
       * count before allocating for it. */
      if (kv->count > (gguf->size - c->pos) / 8)
        return cut_short (c, kv->count * 8, what, error);
      kv->string_at = g_new (guint64, MAX (kv->count, 1));
      for (guint64 i = 0; i < kv->count; i++)
        if (!skip_string (c, G_MAXUINT64, &kv->string_at[i], what, error))
          return FALSE;
      return TRUE;
    }

  if (kv->count > G_MAXUINT64 / value_type_size (type))
    return cut_short (c, G_MAXUINT64, what, error);
  if (!cursor_need (c, kv->count * value_type_size (type), what, error))
    return FALSE;
  c->pos += kv->count * value_type_size (type);
  return TRUE;
}

static gboolean
parse_tensor_info (Cursor *c, GgufTensor *t, guint64 index, GError **error)
{
  temper_gguf_t *gguf = c->gguf;
  guint64 name_at, n_rows = 1;
  guint32 type;
  const char *type_name;
  size_t block_elems, block_bytes;
  g_autofree char *what = g_strdup_printf (_("the name of tensor %" PRIu64), index);

  if (!skip_string (c, G_MAXUINT64, &name_at, what, error))
    return FALSE;
  t->name = dup_string_at (gguf, name_at);
  if (strlen (t->name) > GGUF_MAX_NAME_LEN || strlen (t->name) == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: tensor %" PRIu64 " has a name that is empty or longer than %d bytes."),
                   gguf->display, index, GGUF_MAX_NAME_LEN);
      return FALSE;
    }
  if (!g_utf8_validate (t->name, -1, NULL))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: the name of tensor %llu is not UTF-8 text."),
                   gguf->display, (unsigned long long) index);
      return FALSE;
    }

  g_free (what);
  what = g_strdup_printf (_("the description of tensor %s"), t->name);
  if (!read_u32 (c, &t->n_dims, what, error))
    return FALSE;
  if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: tensor %s has %u dimensions (1 to %d are allowed)."),
                   gguf->display, t->name, t->n_dims, GGUF_MAX_DIMS);
      return FALSE;
    }
  for (guint32 d = 0; d < GGUF_MAX_DIMS; d++)
    {
      guint64 ne = 1;

      if (d < t->n_dims && !read_u64 (c, &ne, what, error))
        return FALSE;
      /* Keep every product below 2^63 so sizes stay representable. */
      if (ne > G_MAXINT64 || (ne != 0 && n_rows > (guint64) G_MAXINT64 / ne))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: tensor %s has an impossibly large shape."),
                       gguf->display, t->name);
          return FALSE;
        }
      t->ne[d] = (int64_t) ne;
      n_rows *= ne;
    }

  if (!read_u32 (c, &type, what, error) || !read_u64 (c, &t->offset, what, error))
    return FALSE;
  t->type = (int) type;
  if (type >= TEMPER_TYPE_COUNT
      || !temper_ggml_type_geometry ((int) type, &type_name, &block_elems, &block_bytes))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged or too new: tensor %s has an unknown type (%u)."),
                   gguf->display, t->name, type);
      return FALSE;
    }
  if (t->ne[0] % (int64_t) block_elems != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: tensor %s has rows of %" PRId64
                   " values, which is not a multiple of the %s block size (%zu)."),
                   gguf->display, t->name, t->ne[0], type_name, block_elems);
      return FALSE;
    }

  t->row_bytes = (size_t) ((guint64) t->ne[0] / block_elems * block_bytes);
  n_rows = (guint64) t->ne[1] * (guint64) t->ne[2] * (guint64) t->ne[3];
  if (n_rows != 0 && t->row_bytes > G_MAXINT64 / n_rows)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is damaged: tensor %s has an impossibly large shape."),
                   gguf->display, t->name);
      return FALSE;
    }
  t->n_bytes = t->row_bytes * n_rows;
  return TRUE;
}

/* 331776 → "331,776": byte counts in messages are read by people. */
static char *
format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

static guint64
align_up (guint64 x, guint64 alignment)
{
  return x + (alignment - x % alignment) % alignment;
}

static gboolean
parse (temper_gguf_t *gguf, GError **error)
{
  Cursor c = { gguf, 0 };
  guint64 expected = 0;
  const GgufKv *alignment_kv;

  if (gguf->size < 4 || memcmp (gguf->data, GGUF_MAGIC, 4) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is not a GGUF model file (it does not start with “GGUF”)."),
                   gguf->display);
      return FALSE;
    }
  c.pos = 4;
  if (!read_u32 (&c, &gguf->version, _("the version number"), error))
    return FALSE;
  if (gguf->version < 2 || gguf->version > 3)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” uses GGUF version %u; Temper reads versions 2 and 3. %s"),
                   gguf->display, gguf->version,
                   gguf->version < 2 ? _("Convert the model again with a current llama.cpp.")
                                     : _("Update Temper to read it."));
      return FALSE;
    }
  if (!read_u64 (&c, &gguf->n_tensors, _("the tensor count"), error)
      || !read_u64 (&c, &gguf->n_kv, _("the metadata count"), error))
    return FALSE;

  /* A metadata entry takes at least 13 bytes and a tensor description 32, so
   * counts the file cannot hold are refused before anything is allocated. */
  if (gguf->n_kv > (gguf->size - c.pos) / 13
      || gguf->n_tensors > (gguf->size - c.pos) / 32)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is cut short or damaged: its header lists %" PRIu64
                   " tensors and %" PRIu64 " metadata entries, but the file is only %"
                   PRIu64 " bytes long. The download may be incomplete."),
                   gguf->display, gguf->n_tensors, gguf->n_kv, gguf->size);
      return FALSE;
    }

  gguf->kvs = g_new0 (GgufKv, MAX (gguf->n_kv, 1));
  for (guint64 i = 0; i < gguf->n_kv; i++)
    {
      GgufKv *kv = &gguf->kvs[i];

      if (!parse_kv (&c, kv, i, error))
        return FALSE;
      if (g_hash_table_contains (gguf->kv_index, kv->key))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: the metadata key “%s” appears twice."),
                       gguf->display, kv->key);
          return FALSE;
        }
      g_hash_table_insert (gguf->kv_index, kv->key, kv);
    }

  gguf->alignment = GGUF_DEFAULT_ALIGNMENT;
  alignment_kv = g_hash_table_lookup (gguf->kv_index, "general.alignment");
  if (alignment_kv != NULL)
    {
      guint32 a = 0;

      if (alignment_kv->type == TEMPER_GGUF_UINT32)
        {
          memcpy (&a, gguf->data + alignment_kv->value_at, 4);
          a = GUINT32_FROM_LE (a);
        }
      if (a == 0 || (a & (a - 1)) != 0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: general.alignment must be a power of two stored as UINT32."),
                       gguf->display);
          return FALSE;
        }
      gguf->alignment = a;
    }

  gguf->tensors = g_new0 (GgufTensor, MAX (gguf->n_tensors, 1));
  for (guint64 i = 0; i < gguf->n_tensors; i++)
    {
      GgufTensor *t = &gguf->tensors[i];

      if (!parse_tensor_info (&c, t, i, error))
        return FALSE;
      if (g_hash_table_contains (gguf->tensor_index, t->name))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: the tensor name %s appears twice."),
                       gguf->display, t->name);
          return FALSE;
        }
      g_hash_table_insert (gguf->tensor_index, t->name, t);
    }

  gguf->data_start = align_up (c.pos, gguf->alignment);

  /* Offsets are strict, as in ggml: each tensor starts where the previous one
   * ended, rounded up to the alignment.  Anything else means overlapping or
   * misplaced data. */
  for (guint64 i = 0; i < gguf->n_tensors; i++)
    {
      GgufTensor *t = &gguf->tensors[i];

      if (t->offset % gguf->alignment != 0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: tensor %s starts at offset %" PRIu64
                       ", which is not a multiple of the file's alignment (%" PRIu64 ")."),
                       gguf->display, t->name, t->offset, gguf->alignment);
          return FALSE;
        }
      if (t->offset != expected)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is damaged: tensor %s should start at data offset %" PRIu64
                       " (right after the tensor before it) but the file says %" PRIu64
                       ", so tensors would overlap or leave gaps."),
                       gguf->display, t->name, expected, t->offset);
          return FALSE;
        }
      if (gguf->data_start > gguf->size
          || t->offset > gguf->size - gguf->data_start
          || t->n_bytes > gguf->size - gguf->data_start - t->offset)
        {
          g_autofree char *need = format_count (t->n_bytes);
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” is cut short: tensor %s needs %s bytes at offset %" PRIu64
                       ", but the file ends at %" PRIu64 ". The download may be incomplete."),
                       gguf->display, t->name, need, gguf->data_start + t->offset, gguf->size);
          return FALSE;
        }
      expected = align_up (t->offset + t->n_bytes, gguf->alignment);
    }
  return TRUE;
}

static void
free_kvs (temper_gguf_t *gguf)
{
  for (guint64 i = 0; gguf->kvs != NULL && i < gguf->n_kv; i++)
    {
      g_free (gguf->kvs[i].key);
      g_free (gguf->kvs[i].string_at);
    }
  g_free (gguf->kvs);
}

void
temper_gguf_close (temper_gguf_t *gguf)
{
  if (gguf == NULL)
    return;
  g_clear_pointer (&gguf->kv_index, g_hash_table_unref);
  g_clear_pointer (&gguf->tensor_index, g_hash_table_unref);
  free_kvs (gguf);
  for (guint64 i = 0; gguf->tensors != NULL && i < gguf->n_tensors; i++)
    g_free (gguf->tensors[i].name);
  g_free (gguf->tensors);
  if (gguf->data != NULL)
    munmap ((void *) gguf->data, gguf->size);
  g_free (gguf->path);
  g_free (gguf->display);
  g_free (gguf);
}

temper_gguf_t *
temper_gguf_open (const char *path, GError **error)
{
  g_autoptr(temper_gguf_t) gguf = g_new0 (temper_gguf_t, 1);
  gsize size = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  gguf->path = g_strdup (path);
  gguf->display = g_path_get_basename (path);
  gguf->kv_index = g_hash_table_new (g_str_hash, g_str_equal);
  gguf->tensor_index = g_hash_table_new (g_str_hash, g_str_equal);

  /* Refuses a FIFO or device, which would block or never end. */
  fd = temper_input_open_file (path, _("The model file"), 0, &size, error);
  if (fd < 0)
    return NULL;
  if (size == 0)
    {
      close (fd);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is empty. The download may have failed."), gguf->display);
      return NULL;
    }
  gguf->size = (guint64) size;
  gguf->data = mmap (NULL, gguf->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (gguf->data == MAP_FAILED)
    {
      gguf->data = NULL;
      temper_set_error_from_errno (error, errno, _("Could not map into memory “%s”"), path);
      return NULL;
    }

  if (!parse (gguf, error))
    return NULL;
  return g_steal_pointer (&gguf);
}

const char *
temper_gguf_get_path (const temper_gguf_t *gguf)
{
  return gguf->path;
}

guint64
temper_gguf_get_file_size (const temper_gguf_t *gguf)
{
  return gguf->size;
}

guint32
temper_gguf_get_version (const temper_gguf_t *gguf)
{
  return gguf->version;
}

guint64
temper_gguf_get_alignment (const temper_gguf_t *gguf)
{
  return gguf->alignment;
}

guint64
temper_gguf_get_data_offset (const temper_gguf_t *gguf)
{
  return gguf->data_start;
}

guint64
temper_gguf_get_n_kv (const temper_gguf_t *gguf)
{
  return gguf->n_kv;
}

const char *
temper_gguf_get_key (const temper_gguf_t *gguf, guint64 i)
{
  g_return_val_if_fail (i < gguf->n_kv, NULL);
  return gguf->kvs[i].key;
}

static const GgufKv *
lookup (const temper_gguf_t *gguf, const char *key)
{
  return g_hash_table_lookup (gguf->kv_index, key);
}

gboolean
temper_gguf_get_value_type (const temper_gguf_t *gguf, const char *key,
                            TemperGgufValueType *type)
{
  const GgufKv *kv = lookup (gguf, key);

  if (kv == NULL)
    return FALSE;
  *type = kv->type;
  return TRUE;
}

gboolean
temper_gguf_has_key (const temper_gguf_t *gguf, const char *key)
{
  return lookup (gguf, key) != NULL;
}

/* Reads an integer value of any width as signed 128-bit-safe parts: returns
 * FALSE when the value is not an integer. */
static gboolean
read_integer (const temper_gguf_t *gguf, const GgufKv *kv, gboolean *negative,
              guint64 *magnitude)
{
  const guint8 *p = gguf->data + kv->value_at;
  guint64 u = 0;
  gint64 s = 0;

  switch (kv->type)
    {
    case TEMPER_GGUF_UINT8:  u = p[0]; break;
    case TEMPER_GGUF_UINT16: { guint16 v; memcpy (&v, p, 2); u = GUINT16_FROM_LE (v); } break;
    case TEMPER_GGUF_UINT32: { guint32 v; memcpy (&v, p, 4); u = GUINT32_FROM_LE (v); } break;
    case TEMPER_GGUF_UINT64: { guint64 v; memcpy (&v, p, 8); u = GUINT64_FROM_LE (v); } break;
    case TEMPER_GGUF_INT8:   s = (gint8) p[0]; goto is_signed;
    case TEMPER_GGUF_INT16:  { guint16 v; memcpy (&v, p, 2); s = (gint16) GUINT16_FROM_LE (v); } goto is_signed;
    case TEMPER_GGUF_INT32:  { guint32 v; memcpy (&v, p, 4); s = (gint32) GUINT32_FROM_LE (v); } goto is_signed;
    case TEMPER_GGUF_INT64:  { guint64 v; memcpy (&v, p, 8); s = (gint64) GUINT64_FROM_LE (v); } goto is_signed;
    default:
      return FALSE;
    }
  *negative = FALSE;
  *magnitude = u;
  return TRUE;

is_signed:
  *negative = s < 0;
  *magnitude = s < 0 ? (guint64) 0 - (guint64) s : (guint64) s;
  return TRUE;
}

gboolean
temper_gguf_get_u32 (const temper_gguf_t *gguf, const char *key, guint32 *out)
{
  const GgufKv *kv = lookup (gguf, key);
  gboolean negative;
  guint64 magnitude;

  if (kv == NULL || !read_integer (gguf, kv, &negative, &magnitude)
      || negative || magnitude > G_MAXUINT32)
    return FALSE;
  *out = (guint32) magnitude;
  return TRUE;
}

gboolean
temper_gguf_get_i64 (const temper_gguf_t *gguf, const char *key, gint64 *out)
{
  const GgufKv *kv = lookup (gguf, key);
  gboolean negative;
  guint64 magnitude;

  if (kv == NULL || !read_integer (gguf, kv, &negative, &magnitude))
    return FALSE;
  if (!negative && magnitude > (guint64) G_MAXINT64)
    return FALSE;
  if (negative && magnitude > (guint64) G_MAXINT64 + 1)
    return FALSE;
  *out = negative ? (gint64) (0 - magnitude) : (gint64) magnitude;
  return TRUE;
}

gboolean
temper_gguf_get_f32 (const temper_gguf_t *gguf, const char *key, float *out)
{
  const GgufKv *kv = lookup (gguf, key);

  if (kv == NULL)
    return FALSE;
  if (kv->type == TEMPER_GGUF_FLOAT32)
    {
      guint32 bits;
      memcpy (&bits, gguf->data + kv->value_at, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (out, &bits, 4);
      return TRUE;
    }
  if (kv->type == TEMPER_GGUF_FLOAT64)
    {
      guint64 bits;
      double d;
      memcpy (&bits, gguf->data + kv->value_at, 8);
      bits = GUINT64_FROM_LE (bits);
      memcpy (&d, &bits, 8);
      *out = (float) d;
      return TRUE;
    }
  return FALSE;
}

gboolean
temper_gguf_get_bool (const temper_gguf_t *gguf, const char *key, gboolean *out)
{
  const GgufKv *kv = lookup (gguf, key);

  if (kv == NULL || kv->type != TEMPER_GGUF_BOOL)
    return FALSE;
  *out = gguf->data[kv->value_at] != 0;
  return TRUE;
}

char *
temper_gguf_dup_string (const temper_gguf_t *gguf, const char *key)
{
  const GgufKv *kv = lookup (gguf, key);
  g_autofree char *raw = NULL;

  if (kv == NULL || kv->type != TEMPER_GGUF_STRING)
    return NULL;
  raw = dup_string_at (gguf, kv->value_at);
  /* GGUF strings are UTF-8 by the format; a damaged one must not carry
   * stray bytes into names and messages. */
  if (g_utf8_validate (raw, -1, NULL))
    return g_steal_pointer (&raw);
  return g_utf8_make_valid (raw, -1);
}

gboolean
temper_gguf_get_array_info (const temper_gguf_t *gguf, const char *key,
                            TemperGgufValueType *elem_type, guint64 *count)
{
  const GgufKv *kv = lookup (gguf, key);

  if (kv == NULL || kv->type != TEMPER_GGUF_ARRAY)
    return FALSE;
  if (elem_type != NULL)
    *elem_type = kv->elem_type;
  if (count != NULL)
    *count = kv->count;
  return TRUE;
}

TemperGgufString
temper_gguf_get_array_string (const temper_gguf_t *gguf, const char *key, guint64 i)
{
  TemperGgufString s = { NULL, 0 };
  const GgufKv *kv = lookup (gguf, key);
  guint64 at;

  g_return_val_if_fail (kv != NULL && kv->type == TEMPER_GGUF_ARRAY
                        && kv->elem_type == TEMPER_GGUF_STRING && i < kv->count, s);
  at = kv->string_at[i];
  memcpy (&s.len, gguf->data + at, 8);
  s.len = GUINT64_FROM_LE (s.len);
  s.data = (const char *) gguf->data + at + 8;
  return s;
}

const void *
temper_gguf_get_array_data (const temper_gguf_t *gguf, const char *key)
{
  const GgufKv *kv = lookup (gguf, key);

  if (kv == NULL || kv->type != TEMPER_GGUF_ARRAY || kv->elem_type == TEMPER_GGUF_STRING)
    return NULL;
  return gguf->data + kv->elems_at;
}

guint64
temper_gguf_get_n_tensors (const temper_gguf_t *gguf)
{
  return gguf->n_tensors;
}

static void
fill_view (const temper_gguf_t *gguf, const GgufTensor *t, TemperTensorView *view)
{
  view->name = t->name;
  view->type = t->type;
  view->ne[0] = t->ne[0];
  view->ne[1] = t->ne[1] * t->ne[2] * t->ne[3];
  view->row_bytes = t->row_bytes;
  view->data = gguf->data + gguf->data_start + t->offset;
}

gboolean
temper_gguf_find_tensor (const temper_gguf_t *gguf, const char *name,
                         TemperTensorView *view)
{
  const GgufTensor *t = g_hash_table_lookup (gguf->tensor_index, name);

  if (t == NULL)
    return FALSE;
  if (view != NULL)
    fill_view (gguf, t, view);
  return TRUE;
}

void
temper_gguf_get_tensor (const temper_gguf_t *gguf, guint64 i, TemperTensorView *view)
{
  g_return_if_fail (i < gguf->n_tensors);
  fill_view (gguf, &gguf->tensors[i], view);
}

void
temper_gguf_get_tensor_shape (const temper_gguf_t *gguf, guint64 i,
                              int64_t ne[4], guint32 *n_dims, guint64 *n_bytes)
{
  const GgufTensor *t;

  g_return_if_fail (i < gguf->n_tensors);
  t = &gguf->tensors[i];
  memcpy (ne, t->ne, sizeof t->ne);
  if (n_dims != NULL)
    *n_dims = t->n_dims;
  if (n_bytes != NULL)
    *n_bytes = t->n_bytes;
}
