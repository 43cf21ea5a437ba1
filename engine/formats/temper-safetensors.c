/* SPDX-License-Identifier: MIT */
/* temper-safetensors.c — safetensors files and sharded checkpoints.
 *
 * Each file is memory-mapped; its JSON header is validated the way the
 * reference reader does it, so that every tensor handed out lies inside the
 * file and has exactly the bytes its shape and dtype call for. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/json.h"
#include "temper/safetensors.h"

#define MAX_HEADER_LEN 100000000u   /* the reference implementation's limit */

typedef struct {
  char         *path;
  char         *display;
  const guint8 *map;
  guint64       size;
  GHashTable   *metadata;   /* string → string */
} StFile;

typedef struct {
  TemperSafetensorsInfo info;
  char                 *name;
  char                 *dtype;
  guint64               begin;
} StTensor;

struct temper_safetensors {
  GPtrArray  *files;     /* StFile* */
  GHashTable *tensors;   /* name → StTensor* */
  GPtrArray  *names;     /* sorted */
};

typedef struct {
  const char *name;
  guint       bits;
} DtypeInfo;

static const DtypeInfo dtypes[] = {
  { "BOOL", 8 }, { "U8", 8 }, { "I8", 8 }, { "I16", 16 }, { "U16", 16 },
  { "F16", 16 }, { "BF16", 16 }, { "I32", 32 }, { "U32", 32 }, { "F32", 32 },
  { "F64", 64 }, { "I64", 64 }, { "U64", 64 }, { "C64", 64 },
  { "F8_E5M2", 8 }, { "F8_E4M3", 8 }, { "F8_E8M0", 8 }, { "F8_E4M3FNUZ", 8 },
  { "F8_E5M2FNUZ", 8 }, { "F4", 4 }, { "F6_E2M3", 6 }, { "F6_E3M2", 6 },
};

static guint
dtype_bits (const char *dtype)
{
  for (gsize i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dtypes[i].name, dtype) == 0)
      return dtypes[i].bits;
  return 0;
}

gsize
temper_safetensors_dtype_size (const char *dtype)
{
  guint bits = dtype_bits (dtype);
  return bits % 8 == 0 ? bits / 8 : 0;
}

static void
st_file_free (gpointer p)
{
  StFile *f = p;

  if (f->map != NULL)
    munmap ((void *) f->map, f->size);
  g_clear_pointer (&f->metadata, g_hash_table_unref);
  g_free (f->path);
  g_free (f->display);
  g_free (f);
}

static void
st_tensor_free (gpointer p)
{
  StTensor *t = p;

  g_free (t->name);
  g_free (t->dtype);
  g_free (t);
}

void
temper_safetensors_close (temper_safetensors_t *st)
{
  if (st == NULL)
    return;
  g_clear_pointer (&st->names, g_ptr_array_unref);
  g_clear_pointer (&st->tensors, g_hash_table_unref);
  g_clear_pointer (&st->files, g_ptr_array_unref);
  g_free (st);
}

static gboolean
damaged (GError **error, const StFile *f, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
damaged (GError **error, const StFile *f, const char *format, ...)
{
  va_list args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("“%s” is not a valid safetensors file: %s"), f->display, detail);
  return FALSE;
}

static gboolean
map_file (StFile *f, GError **error)
{
  gsize size = 0;
  /* Refuses a FIFO or device, which would block or never end. */
  int fd = temper_input_open_file (f->path, _("The weights file"), 0, &size, error);

  if (fd < 0)
    return FALSE;
  f->size = (guint64) size;
  if (f->size < 8)
    {
      close (fd);
      return damaged (error, f, _("it is only %" PRIu64 " bytes long. The download may be incomplete."),
                      f->size);
    }
  f->map = mmap (NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (f->map == MAP_FAILED)
    {
      f->map = NULL;
      temper_set_error_from_errno (error, errno, _("Could not map into memory “%s”"), f->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_u64_member (JsonArray *array, guint i, guint64 *out)
{
  JsonNode *node = json_array_get_element (array, i);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static gint
compare_begin (gconstpointer a, gconstpointer b)
{
  const StTensor *ta = *(StTensor *const *) a;
  const StTensor *tb = *(StTensor *const *) b;

  if (ta->begin != tb->begin)
    return ta->begin < tb->begin ? -1 : 1;
  /* Zero-sized tensors share an offset with their neighbour: order by end. */
  if (ta->info.n_bytes != tb->info.n_bytes)
    return ta->info.n_bytes < tb->info.n_bytes ? -1 : 1;
  return 0;
}

static gboolean
parse_entry (StFile *f, const char *name, JsonNode *node, const guint8 *buffer,
             guint64 buffer_len, StTensor **out, GError **error)
{
  JsonObject *obj;
  JsonArray *shape, *offsets;
  const char *dtype;
  guint64 numel = 1, begin, end, bits;
  StTensor *t;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return damaged (error, f, _("the entry for %s is not an object."), name);
  obj = json_node_get_object (node);
  if (!json_object_has_member (obj, "dtype") || !json_object_has_member (obj, "shape")
      || !json_object_has_member (obj, "data_offsets")
      || !JSON_NODE_HOLDS_VALUE (json_object_get_member (obj, "dtype"))
      || json_node_get_value_type (json_object_get_member (obj, "dtype")) != G_TYPE_STRING
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "shape"))
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "data_offsets")))
    return damaged (error, f, _("the entry for %s needs “dtype”, “shape” and “data_offsets”."), name);

  dtype = json_object_get_string_member (obj, "dtype");
  bits = dtype_bits (dtype);
  if (bits == 0)
    return damaged (error, f, _("tensor %s has an unknown dtype “%s”."), name, dtype);

  shape = json_object_get_array_member (obj, "shape");
  if (json_array_get_length (shape) > TEMPER_SAFETENSORS_MAX_DIMS)
    return damaged (error, f, _("tensor %s has %u dimensions (at most %d are supported)."),
                    name, json_array_get_length (shape), TEMPER_SAFETENSORS_MAX_DIMS);

  t = g_new0 (StTensor, 1);
  *out = t;
  t->name = g_strdup (name);
  t->dtype = g_strdup (dtype);
  t->info.name = t->name;
  t->info.dtype = t->dtype;
  t->info.file = f->path;
  t->info.n_dims = (int) json_array_get_length (shape);
  for (guint d = 0; d < json_array_get_length (shape); d++)
    {
      guint64 dim;

      if (!read_u64_member (shape, d, &dim))
        return damaged (error, f, _("tensor %s has a shape that is not a list of sizes."), name);
      if (dim != 0 && numel > (G_MAXUINT64 / 64) / dim)
        return damaged (error, f, _("tensor %s has an impossibly large shape."), name);
      numel *= dim;
      t->info.shape[d] = (int64_t) dim;
    }

  offsets = json_object_get_array_member (obj, "data_offsets");
  if (json_array_get_length (offsets) != 2 || !read_u64_member (offsets, 0, &begin)
      || !read_u64_member (offsets, 1, &end) || end < begin)
    return damaged (error, f, _("tensor %s has invalid data_offsets."), name);
  if ((numel * bits) % 8 != 0 || end - begin != numel * bits / 8)
    return damaged (error, f, _("tensor %s should take %" PRIu64
                    " bytes for its shape and dtype, but its data_offsets span %" PRIu64 "."),
                    name, numel * bits / 8, end - begin);
  if (end > buffer_len)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is cut short: tensor %s needs bytes up to %" PRIu64
                   " of the data, but the data ends at %" PRIu64 ". The download may be incomplete."),
                   f->display, name, end, buffer_len);
      return FALSE;
    }
  t->begin = begin;
  t->info.n_bytes = end - begin;
  t->info.data = buffer + begin;
  return TRUE;
}

/* Parses and validates the header of @f, adding its tensors to @st. */
static gboolean
load_file (temper_safetensors_t *st, StFile *f, GHashTable *only, GError **error)
{
  g_autoptr(JsonNode) header = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  guint64 header_len, buffer_len, expected = 0;
  const guint8 *buffer;
  JsonObject *root;
  GList *members;
  gboolean ok = TRUE;

  if (!map_file (f, error))
    return FALSE;
  memcpy (&header_len, f->map, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > MAX_HEADER_LEN)
    return damaged (error, f, _("its header claims to be %" PRIu64 " bytes long."), header_len);
  if (header_len > f->size - 8)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is cut short: its header needs %" PRIu64
                   " bytes but the file is only %" PRIu64 " bytes long. The download may be incomplete."),
                   f->display, header_len, f->size);
      return FALSE;
    }
  if (header_len == 0 || f->map[8] != '{'
      || !g_utf8_validate ((const char *) f->map + 8, (gssize) header_len, NULL))
    return damaged (error, f, _("its header is not a UTF-8 JSON object."));
  header = temper_json_parse_data ((const char *) f->map + 8, (gssize) header_len, _("Its header"),
                                   MAX_HEADER_LEN, &local);
  if (header == NULL)
    return damaged (error, f, _("its header is not valid JSON (%s)."), local->message);
  if (!JSON_NODE_HOLDS_OBJECT (header))
    return damaged (error, f, _("its header is not a JSON object."));

  buffer = f->map + 8 + header_len;
  buffer_len = f->size - 8 - header_len;
  root = json_node_get_object (header);
  f->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  members = json_object_get_members (root);
  for (GList *l = members; l != NULL && ok; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (root, name);
      StTensor *t = NULL;

      if (strcmp (name, "__metadata__") == 0)
        {
          JsonObject *meta;
          GList *keys;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              ok = damaged (error, f, _("__metadata__ is not an object."));
              break;
            }
          meta = json_node_get_object (node);
          keys = json_object_get_members (meta);
          for (GList *k = keys; k != NULL; k = k->next)
            {
              JsonNode *v = json_object_get_member (meta, k->data);
              if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
                {
                  ok = damaged (error, f, _("__metadata__ may only hold strings."));
                  break;
                }
              g_hash_table_insert (f->metadata, g_strdup (k->data), g_strdup (json_node_get_string (v)));
            }
          g_list_free (keys);
          continue;
        }

      ok = parse_entry (f, name, node, buffer, buffer_len, &t, error);
      if (!ok)
        {
          if (t != NULL)
            st_tensor_free (t);
          break;
        }
      g_ptr_array_add (order, t);
    }
  g_list_free (members);

  if (ok)
    {
      /* Offsets must tile the data buffer: no holes, no overlap. */
      g_ptr_array_sort (order, compare_begin);
      for (guint i = 0; i < order->len && ok; i++)
        {
          StTensor *t = g_ptr_array_index (order, i);
          if (t->begin != expected)
            ok = damaged (error, f, _("tensor %s starts at data offset %" PRIu64
                          " but the tensor before it ends at %" PRIu64
                          ", so tensors overlap or leave a gap."), t->name, t->begin, expected);
          expected = t->begin + t->info.n_bytes;
        }
      if (ok && expected != buffer_len)
        ok = damaged (error, f, _("its tensors end at data offset %" PRIu64
                      " but the file has %" PRIu64 " bytes of data after the header."),
                      expected, buffer_len);
    }

  for (guint i = 0; i < order->len; i++)
    {
      StTensor *t = g_ptr_array_index (order, i);

      if (!ok || (only != NULL && !g_hash_table_contains (only, t->name)))
        {
          st_tensor_free (t);
          continue;
        }
      if (g_hash_table_contains (st->tensors, t->name))
        {
          ok = damaged (error, f, _("tensor %s is also in another file of this checkpoint."), t->name);
          st_tensor_free (t);
          continue;
        }
      g_hash_table_insert (st->tensors, t->name, t);
    }
  return ok;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static StFile *
add_file (temper_safetensors_t *st, const char *path)
{
  StFile *f = g_new0 (StFile, 1);

  f->path = g_strdup (path);
  f->display = g_path_get_basename (path);
  g_ptr_array_add (st->files, f);
  return f;
}

static gboolean
load_index (temper_safetensors_t *st, const char *index_path, GError **error)
{
  g_autoptr(JsonNode) index = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GHashTable) shards = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) g_hash_table_unref);
  g_autoptr(GPtrArray) shard_order = g_ptr_array_new ();
  g_autofree char *dir = g_path_get_dirname (index_path);
  g_autofree char *display = g_path_get_basename (index_path);
  JsonObject *root, *map;
  g_autoptr(GList) names = NULL;

  index = temper_json_parse_file (index_path, TEMPER_JSON_MAX_SETTINGS_SIZE, &local);
  if (index == NULL)
    {
      g_set_error (error, TEMPER_ERROR,
                   g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_IO) ? TEMPER_ERROR_IO : TEMPER_ERROR_INVALID_FILE,
                   _("Could not read “%s”: %s"), display, local->message);
      return FALSE;
    }
  root = JSON_NODE_HOLDS_OBJECT (index) ? json_node_get_object (index) : NULL;
  if (root == NULL || !json_object_has_member (root, "weight_map")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "weight_map")))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has no “weight_map” object listing which file holds each tensor."), display);
      return FALSE;
    }
  map = json_object_get_object_member (root, "weight_map");

  /* Group the tensor names by shard, keeping the shards in first-seen order. */
  names = json_object_get_members (map);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *v = json_object_get_member (map, l->data);
      const char *file;
      GHashTable *set;

      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING
          || strchr (json_node_get_string (v), '/') != NULL)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” lists tensor %s with an invalid file name."), display, (const char *) l->data);
          return FALSE;
        }
      file = json_node_get_string (v);
      set = g_hash_table_lookup (shards, file);
      if (set == NULL)
        {
          set = g_hash_table_new (g_str_hash, g_str_equal);
          g_hash_table_insert (shards, (gpointer) file, set);
          g_ptr_array_add (shard_order, (gpointer) file);
        }
      g_hash_table_add (set, l->data);
    }

  for (guint i = 0; i < shard_order->len; i++)
    {
      const char *file = g_ptr_array_index (shard_order, i);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      GHashTable *set = g_hash_table_lookup (shards, file);
      GHashTableIter iter;
      gpointer name;

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                       _("The model is incomplete: “%s” lists the file “%s”, which is missing. "
                       "Download the whole model folder again."), display, file);
          return FALSE;
        }
      if (!load_file (st, add_file (st, path), set, error))
        {
          return FALSE;
        }
      g_hash_table_iter_init (&iter, set);
      while (g_hash_table_iter_next (&iter, &name, NULL))
        if (!g_hash_table_contains (st->tensors, name))
          {
            g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                         _("“%s” says tensor %s is in “%s”, but it is not there."),
                         display, (const char *) name, file);
              return FALSE;
          }
    }
  return TRUE;
}

temper_safetensors_t *
temper_safetensors_open (const char *path, GError **error)
{
  g_autoptr(temper_safetensors_t) st = g_new0 (temper_safetensors_t, 1);
  GHashTableIter iter;
  gpointer name;

  g_return_val_if_fail (path != NULL, NULL);

  st->files = g_ptr_array_new_with_free_func (st_file_free);
  st->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, st_tensor_free);
  st->names = g_ptr_array_new ();

  if (g_str_has_suffix (path, ".json"))
    {
      if (!load_index (st, path, error))
        return NULL;
    }
  else if (!load_file (st, add_file (st, path), NULL, error))
    return NULL;

  g_hash_table_iter_init (&iter, st->tensors);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    g_ptr_array_add (st->names, name);
  g_ptr_array_sort (st->names, compare_names);
  return g_steal_pointer (&st);
}

guint
temper_safetensors_get_n_tensors (const temper_safetensors_t *st)
{
  return st->names->len;
}

const char *
temper_safetensors_get_name (const temper_safetensors_t *st, guint i)
{
  g_return_val_if_fail (i < st->names->len, NULL);
  return g_ptr_array_index (st->names, i);
}

gboolean
temper_safetensors_get_info (const temper_safetensors_t *st, const char *name,
                             TemperSafetensorsInfo *info)
{
  const StTensor *t = g_hash_table_lookup (st->tensors, name);

  if (t == NULL)
    return FALSE;
  if (info != NULL)
    *info = t->info;
  return TRUE;
}

gboolean
temper_safetensors_get_view (const temper_safetensors_t *st, const char *name,
                             TemperTensorView *view, GError **error)
{
  const StTensor *t = g_hash_table_lookup (st->tensors, name);
  int type;
  int64_t rows = 1;

  if (t == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The model is missing tensor %s."), name);
      return FALSE;
    }
  if (strcmp (t->dtype, "F32") == 0)
    type = TEMPER_TYPE_F32;
  else if (strcmp (t->dtype, "F16") == 0)
    type = TEMPER_TYPE_F16;
  else if (strcmp (t->dtype, "BF16") == 0)
    type = TEMPER_TYPE_BF16;
  else
    {
      g_autofree char *file = g_path_get_basename (t->info.file);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("Tensor %s in “%s” is stored as %s; Temper reads F32, F16 and BF16 weights. "
                   "Use a model saved in one of those types, or a GGUF file."),
                   name, file, t->dtype);
      return FALSE;
    }

  for (int d = 0; d + 1 < t->info.n_dims; d++)
    rows *= t->info.shape[d];
  view->name = t->name;
  view->type = type;
  view->ne[0] = t->info.n_dims > 0 ? t->info.shape[t->info.n_dims - 1] : 1;
  view->ne[1] = rows;
  view->row_bytes = (size_t) view->ne[0] * temper_safetensors_dtype_size (t->dtype);
  view->data = t->info.data;
  return TRUE;
}

const char *
temper_safetensors_get_metadata (const temper_safetensors_t *st, const char *key)
{
  const StFile *f;

  if (st->files->len == 0)
    return NULL;
  f = g_ptr_array_index (st->files, 0);
  return f->metadata != NULL ? g_hash_table_lookup (f->metadata, key) : NULL;
}

guint64
temper_safetensors_get_total_size (const temper_safetensors_t *st)
{
  guint64 total = 0;

  for (guint i = 0; i < st->files->len; i++)
    total += ((const StFile *) g_ptr_array_index (st->files, i))->size;
  return total;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct {
  char       *name;
  char       *dtype;
  int         n_dims;
  int64_t     shape[TEMPER_SAFETENSORS_MAX_DIMS];
  const void *data;
  gsize       n_bytes;
  gpointer    owned;
} WriterTensor;

struct temper_safetensors_writer {
  GPtrArray  *tensors;     /* WriterTensor* */
  GHashTable *names;
  GPtrArray  *meta_keys;   /* insertion order */
  GHashTable *metadata;
};

static void
writer_tensor_free (gpointer p)
{
  WriterTensor *t = p;

  g_free (t->name);
  g_free (t->dtype);
  g_free (t->owned);
  g_free (t);
}

temper_safetensors_writer_t *
temper_safetensors_writer_new (void)
{
  temper_safetensors_writer_t *w = g_new0 (temper_safetensors_writer_t, 1);

  w->tensors = g_ptr_array_new_with_free_func (writer_tensor_free);
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->meta_keys = g_ptr_array_new_with_free_func (g_free);
  w->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  temper_safetensors_writer_set_metadata (w, "format", "pt");
  return w;
}

void
temper_safetensors_writer_free (temper_safetensors_writer_t *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->names);
  g_ptr_array_unref (w->tensors);
  g_hash_table_unref (w->metadata);
  g_ptr_array_unref (w->meta_keys);
  g_free (w);
}

void
temper_safetensors_writer_set_metadata (temper_safetensors_writer_t *w,
                                        const char *key, const char *value)
{
  if (!g_hash_table_contains (w->metadata, key))
    {
      char *k = g_strdup (key);
      g_ptr_array_add (w->meta_keys, k);
      g_hash_table_insert (w->metadata, k, g_strdup (value));
    }
  else
    /* An existing key keeps its stored string; only the value is replaced. */
    g_hash_table_insert (w->metadata, (gpointer) key, g_strdup (value));
}

static void
add_tensor (temper_safetensors_writer_t *w, const char *name, const char *dtype,
            const int64_t *shape, int n_dims, const void *data, gsize n_bytes, gboolean copy)
{
  WriterTensor *t;
  guint64 numel = 1;
  guint bits = dtype_bits (dtype);

  g_return_if_fail (name != NULL && strcmp (name, "__metadata__") != 0);
  g_return_if_fail (!g_hash_table_contains (w->names, name));
  g_return_if_fail (bits != 0);
  g_return_if_fail (n_dims >= 0 && n_dims <= TEMPER_SAFETENSORS_MAX_DIMS);
  for (int d = 0; d < n_dims; d++)
    numel *= (guint64) shape[d];
  g_return_if_fail (numel * bits / 8 == n_bytes && (numel * bits) % 8 == 0);

  t = g_new0 (WriterTensor, 1);
  t->name = g_strdup (name);
  t->dtype = g_strdup (dtype);
  t->n_dims = n_dims;
  if (n_dims > 0)
    memcpy (t->shape, shape, sizeof (int64_t) * (gsize) n_dims);
  t->n_bytes = n_bytes;
  t->owned = copy ? g_memdup2 (data, n_bytes) : NULL;
  t->data = copy ? t->owned : data;
  g_ptr_array_add (w->tensors, t);
  g_hash_table_add (w->names, t->name);
}

void
temper_safetensors_writer_add_tensor (temper_safetensors_writer_t *w, const char *name,
                                      const char *dtype, const int64_t *shape, int n_dims,
                                      const void *data, gsize n_bytes)
{
  add_tensor (w, name, dtype, shape, n_dims, data, n_bytes, TRUE);
}

void
temper_safetensors_writer_add_tensor_static (temper_safetensors_writer_t *w, const char *name,
                                             const char *dtype, const int64_t *shape, int n_dims,
                                             const void *data, gsize n_bytes)
{
  add_tensor (w, name, dtype, shape, n_dims, data, n_bytes, FALSE);
}

/* Widest dtype first, then by name, as the reference writer orders them, so
 * that every tensor starts at a multiple of its element size. */
static gint
compare_for_layout (gconstpointer a, gconstpointer b)
{
  const WriterTensor *ta = *(WriterTensor *const *) a;
  const WriterTensor *tb = *(WriterTensor *const *) b;
  guint ba = dtype_bits (ta->dtype), bb = dtype_bits (tb->dtype);

  if (ba != bb)
    return ba > bb ? -1 : 1;
  return strcmp (ta->name, tb->name);
}

gboolean
temper_safetensors_writer_write (temper_safetensors_writer_t *w, const char *path, GError **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(GString) header = NULL;
  guint64 offset = 0, len_le;
  gsize padded;
  FILE *f;

  for (guint i = 0; i < w->tensors->len; i++)
    g_ptr_array_add (order, g_ptr_array_index (w->tensors, i));
  g_ptr_array_sort (order, compare_for_layout);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "__metadata__");
  json_builder_begin_object (builder);
  for (guint i = 0; i < w->meta_keys->len; i++)
    {
      const char *key = g_ptr_array_index (w->meta_keys, i);
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, g_hash_table_lookup (w->metadata, key));
    }
  json_builder_end_object (builder);
  for (guint i = 0; i < order->len; i++)
    {
      const WriterTensor *t = g_ptr_array_index (order, i);

      json_builder_set_member_name (builder, t->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, t->dtype);
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < t->n_dims; d++)
        json_builder_add_int_value (builder, t->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + t->n_bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += t->n_bytes;
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  header = g_string_new (NULL);
  {
    g_autofree char *text = json_generator_to_data (generator, NULL);
    g_string_append (header, text);
  }
  /* Pad with spaces so the data starts 8-byte aligned. */
  padded = (header->len + 7) / 8 * 8;
  while (header->len < padded)
    g_string_append_c (header, ' ');

  f = fopen (path, "wb");
  if (f == NULL)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), path);
      return FALSE;
    }
  len_le = GUINT64_TO_LE ((guint64) header->len);
  if (fwrite (&len_le, 1, 8, f) != 8 || fwrite (header->str, 1, header->len, f) != header->len)
    goto fail;
  for (guint i = 0; i < order->len; i++)
    {
      const WriterTensor *t = g_ptr_array_index (order, i);
      if (t->n_bytes > 0 && fwrite (t->data, 1, t->n_bytes, f) != t->n_bytes)
        goto fail;
    }
  if (fclose (f) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;

fail:
  {
    int saved = errno;
    fclose (f);
    temper_set_error_from_errno (error, saved, _("Could not write “%s”"), path);
    return FALSE;
  }
}
