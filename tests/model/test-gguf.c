/* SPDX-License-Identifier: MIT */
/* test-gguf.c — the GGUF reader and writer.
 *
 * The demo model is checked against what the gguf Python package's
 * GGUFReader read from it (tests/fixtures/model/demo-model.json); broken files
 * are made here by byte surgery on a file our writer produced. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "model-test-util.h"

/* ---- the demo model ---------------------------------------------------- */

static void
test_demo_model (void)
{
  g_autofree char *path = model_test_demo_path ();
  g_autoptr(GBytes) json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  JsonObject *facts, *obj;
  JsonArray *rows;
  GList *members;
  TemperTensorView embd;
  TemperGgufValueType elem_type;
  guint64 count;
  TemperGgufString token;

  if (path == NULL)
    return;
  json = model_test_fixture ("demo-model.json");
  json_parser_load_from_data (parser, g_bytes_get_data (json, NULL), (gssize) g_bytes_get_size (json), &error);
  g_assert_no_error (error);
  facts = json_node_get_object (json_parser_get_root (parser));

  gguf = temper_gguf_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_gguf_get_n_tensors (gguf), ==, json_object_get_int_member (facts, "n_tensors"));
  g_assert_cmpuint (temper_gguf_get_n_kv (gguf), ==, json_object_get_int_member (facts, "n_kv"));
  g_assert_cmpuint (temper_gguf_get_data_offset (gguf), ==, json_object_get_int_member (facts, "data_offset"));
  g_assert_cmpuint (temper_gguf_get_alignment (gguf), ==, json_object_get_int_member (facts, "alignment"));
  g_assert_cmpuint (temper_gguf_get_version (gguf), ==, 3);

  obj = json_object_get_object_member (facts, "strings");
  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree char *value = temper_gguf_dup_string (gguf, l->data);
      g_assert_cmpstr (value, ==, json_object_get_string_member (obj, l->data));
    }
  g_list_free (members);

  obj = json_object_get_object_member (facts, "u32");
  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      guint32 v = 0;
      gint64 v64 = 0;
      g_assert_true (temper_gguf_get_u32 (gguf, l->data, &v));
      g_assert_cmpuint (v, ==, json_object_get_int_member (obj, l->data));
      g_assert_true (temper_gguf_get_i64 (gguf, l->data, &v64));
      g_assert_cmpint (v64, ==, v);
    }
  g_list_free (members);

  obj = json_object_get_object_member (facts, "f32");
  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      float v = 0;
      g_assert_true (temper_gguf_get_f32 (gguf, l->data, &v));
      g_assert_cmpfloat (v, ==, (float) json_object_get_double_member (obj, l->data));
    }
  g_list_free (members);

  /* Types are exact: a string is not an integer. */
  g_assert_false (temper_gguf_get_u32 (gguf, "general.architecture", &(guint32){ 0 }));
  g_assert_null (temper_gguf_dup_string (gguf, "llama.block_count"));
  g_assert_false (temper_gguf_has_key (gguf, "no.such.key"));

  g_assert_true (temper_gguf_get_array_info (gguf, "tokenizer.ggml.tokens", &elem_type, &count));
  g_assert_cmpint (elem_type, ==, TEMPER_GGUF_STRING);
  g_assert_cmpuint (count, ==, json_object_get_int_member (facts, "n_vocab_tokens"));
  token = temper_gguf_get_array_string (gguf, "tokenizer.ggml.tokens", 2);
  g_assert_cmpmem (token.data, token.len, json_object_get_string_member (facts, "token_2"),
                   strlen (json_object_get_string_member (facts, "token_2")));

  g_assert_true (temper_gguf_find_tensor (gguf, "token_embd.weight", &embd));
  obj = json_object_get_object_member (facts, "tensors");
  members = json_object_get_members (obj);
  g_assert_cmpuint (g_list_length (members), ==, temper_gguf_get_n_tensors (gguf));
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *t = json_object_get_object_member (obj, l->data);
      JsonArray *ne = json_object_get_array_member (t, "ne");
      TemperTensorView view;
      int64_t rows_expected = 1;

      g_assert_true (temper_gguf_find_tensor (gguf, l->data, &view));
      g_assert_cmpint (view.type, ==, json_object_get_int_member (t, "type"));
      g_assert_cmpint (view.ne[0], ==, json_array_get_int_element (ne, 0));
      for (guint d = 1; d < json_array_get_length (ne); d++)
        rows_expected *= json_array_get_int_element (ne, d);
      g_assert_cmpint (view.ne[1], ==, rows_expected);
      g_assert_cmpint ((const guint8 *) view.data - (const guint8 *) embd.data, ==,
                       json_object_get_int_member (t, "offset"));
    }
  g_list_free (members);

  rows = json_object_get_array_member (facts, "rows");
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *r = json_array_get_object_element (rows, i);
      JsonArray *values = json_object_get_array_member (r, "values");
      TemperTensorView view;
      g_autofree float *out = NULL;

      g_assert_true (temper_gguf_find_tensor (gguf, json_object_get_string_member (r, "tensor"), &view));
      g_assert_cmpint (view.ne[0], ==, json_array_get_length (values));
      out = g_new (float, view.ne[0]);
      temper_tensor_row_to_f32 (&view, json_object_get_int_member (r, "row"), out);
      for (int64_t j = 0; j < view.ne[0]; j++)
        {
          double e = json_array_get_double_element (values, (guint) j);
          g_assert_cmpfloat_with_epsilon (out[j], e, 1e-6 + fabs (e) * 1e-6);
        }
    }
}

/* Re-quantizing a row llama.cpp quantized gives back its bytes: both
 * quantizers put the block's extreme values on the end levels, so the scale
 * and levels are recovered exactly. */
static void
test_demo_requantize (void)
{
  g_autofree char *path = model_test_demo_path ();
  g_autoptr(temper_gguf_t) gguf = NULL;
  guint checked[2] = { 0, 0 };

  if (path == NULL)
    return;
  gguf = temper_gguf_open (path, NULL);
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (gguf); i++)
    {
      TemperTensorView v;
      g_autofree float *row = NULL;
      g_autofree guint8 *q = NULL;

      temper_gguf_get_tensor (gguf, i, &v);
      if (v.type != TEMPER_TYPE_Q8_0 && v.type != TEMPER_TYPE_Q4_1)
        continue;
      row = g_new (float, v.ne[0]);
      q = g_malloc (v.row_bytes);
      for (int64_t r = (int64_t) i % 89; r < v.ne[1]; r += 89)
        {
          temper_tensor_row_to_f32 (&v, r, row);
          g_assert_true (temper_quantize_row (v.type, row, v.ne[0], q));
          g_assert_cmpmem (q, v.row_bytes, (const guint8 *) v.data + (gsize) r * v.row_bytes, v.row_bytes);
          checked[v.type == TEMPER_TYPE_Q8_0 ? 0 : 1]++;
        }
    }
  g_test_message ("re-quantized %u Q8_0 rows and %u Q4_1 rows", checked[0], checked[1]);
  g_assert_cmpuint (checked[0], >, 100);
  g_assert_cmpuint (checked[1], >, 100);
}

/* ---- writer → reader --------------------------------------------------- */

typedef struct {
  const char *name;
  int         type;
  int64_t     ne[4];
  int         n_dims;
} TensorSpec;

static const TensorSpec small_tensors[] = {
  { "a.weight",  TEMPER_TYPE_Q8_0, { 64, 3 }, 2 },          /* 204 bytes: needs padding */
  { "b.weight",  TEMPER_TYPE_F32,  { 5 }, 1 },
  { "c.weight",  TEMPER_TYPE_Q4_K, { 256, 2, 2 }, 3 },      /* folded into 4 rows */
  { "d.weight",  TEMPER_TYPE_F16,  { 3, 1 }, 2 },
};

static gsize
spec_bytes (const TensorSpec *s)
{
  gsize n = temper_type_row_bytes (s->type, s->ne[0]);
  for (int d = 1; d < s->n_dims; d++)
    n *= (gsize) s->ne[d];
  return n;
}

static guint8 *
spec_data (const TensorSpec *s, gsize n_bytes)
{
  guint8 *data = g_malloc (n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    data[i] = (guint8) (i * 31 + (guint8) s->name[0]);
  /* Keep fp16 scales finite so the data dequantizes to numbers. */
  if (s->type == TEMPER_TYPE_F16 || s->type == TEMPER_TYPE_Q8_0 || s->type == TEMPER_TYPE_Q4_K)
    for (gsize i = 1; i < n_bytes; i += 2)
      data[i] &= 0x3b;
  return data;
}

static char *
write_small_gguf (const char *dir, guint32 alignment)
{
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "small.gguf", NULL);
  const char *strings[] = { "hello", "", "wörld" };
  const float floats[] = { 1.5f, -2.0f };
  const gint32 ints[] = { 7, -8, 9 };

  g_assert_true (alignment == 0 || alignment == 64);
  temper_gguf_writer_set_string (w, "general.architecture", "llama");
  temper_gguf_writer_set_u32 (w, "test.u32", 4000000000u);
  temper_gguf_writer_set_i32 (w, "test.i32", -5);
  temper_gguf_writer_set_u64 (w, "test.u64", G_GUINT64_CONSTANT (1) << 40);
  temper_gguf_writer_set_f32 (w, "test.f32", 0.25f);
  temper_gguf_writer_set_bool (w, "test.bool", TRUE);
  temper_gguf_writer_set_string (w, "test.replaced", "old");
  temper_gguf_writer_set_string (w, "test.replaced", "new");
  temper_gguf_writer_set_string_array (w, "test.strings", strings, 3);
  temper_gguf_writer_set_f32_array (w, "test.floats", floats, 2);
  temper_gguf_writer_set_i32_array (w, "test.ints", ints, 3);
  if (alignment != 0)
    temper_gguf_writer_set_u32 (w, "general.alignment", alignment);
  for (gsize i = 0; i < G_N_ELEMENTS (small_tensors); i++)
    {
      const TensorSpec *s = &small_tensors[i];
      gsize n = spec_bytes (s);
      g_autofree guint8 *data = spec_data (s, n);
      temper_gguf_writer_add_tensor (w, s->name, s->type, s->ne, s->n_dims, data, n);
    }
  g_assert_true (temper_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
check_small_gguf (const char *path, guint64 alignment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, &error);
  guint32 u32;
  gint64 i64;
  float f;
  gboolean b;
  g_autofree char *s = NULL;
  TemperGgufValueType type;
  guint64 count;
  TemperGgufString str;
  const guint8 *base = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (temper_gguf_get_alignment (gguf), ==, alignment);
  g_assert_cmpuint (temper_gguf_get_data_offset (gguf) % alignment, ==, 0);
  g_assert_cmpuint (temper_gguf_get_n_kv (gguf), ==, alignment == 32 ? 10 : 11);
  g_assert_cmpstr (temper_gguf_get_key (gguf, 0), ==, "general.architecture");

  g_assert_true (temper_gguf_get_u32 (gguf, "test.u32", &u32));
  g_assert_cmpuint (u32, ==, 4000000000u);
  g_assert_true (temper_gguf_get_value_type (gguf, "test.u32", &type));
  g_assert_cmpint (type, ==, TEMPER_GGUF_UINT32);
  g_assert_false (temper_gguf_get_u32 (gguf, "test.i32", &u32));   /* negative */
  g_assert_true (temper_gguf_get_i64 (gguf, "test.i32", &i64));
  g_assert_cmpint (i64, ==, -5);
  g_assert_false (temper_gguf_get_u32 (gguf, "test.u64", &u32));   /* too large */
  g_assert_true (temper_gguf_get_i64 (gguf, "test.u64", &i64));
  g_assert_cmpint (i64, ==, G_GINT64_CONSTANT (1) << 40);
  g_assert_true (temper_gguf_get_f32 (gguf, "test.f32", &f));
  g_assert_cmpfloat (f, ==, 0.25f);
  g_assert_true (temper_gguf_get_bool (gguf, "test.bool", &b));
  g_assert_true (b);
  s = temper_gguf_dup_string (gguf, "test.replaced");
  g_assert_cmpstr (s, ==, "new");

  g_assert_true (temper_gguf_get_array_info (gguf, "test.strings", &type, &count));
  g_assert_cmpint (type, ==, TEMPER_GGUF_STRING);
  g_assert_cmpuint (count, ==, 3);
  str = temper_gguf_get_array_string (gguf, "test.strings", 2);
  g_assert_cmpmem (str.data, str.len, "wörld", strlen ("wörld"));
  str = temper_gguf_get_array_string (gguf, "test.strings", 1);
  g_assert_cmpuint (str.len, ==, 0);
  g_assert_true (temper_gguf_get_array_info (gguf, "test.ints", &type, &count));
  g_assert_cmpint (type, ==, TEMPER_GGUF_INT32);
  {
    gint32 ints[3];
    float floats[2];
    memcpy (ints, temper_gguf_get_array_data (gguf, "test.ints"), sizeof ints);
    g_assert_cmpint (ints[1], ==, -8);
    memcpy (floats, temper_gguf_get_array_data (gguf, "test.floats"), sizeof floats);
    g_assert_cmpfloat (floats[0], ==, 1.5f);
  }
  g_assert_null (temper_gguf_get_array_data (gguf, "test.strings"));

  g_assert_cmpuint (temper_gguf_get_n_tensors (gguf), ==, G_N_ELEMENTS (small_tensors));
  for (gsize i = 0; i < G_N_ELEMENTS (small_tensors); i++)
    {
      const TensorSpec *spec = &small_tensors[i];
      gsize n = spec_bytes (spec);
      g_autofree guint8 *data = spec_data (spec, n);
      TemperTensorView view;
      int64_t ne[4];
      guint32 n_dims;
      guint64 n_bytes;

      temper_gguf_get_tensor (gguf, i, &view);
      g_assert_cmpstr (view.name, ==, spec->name);
      g_assert_cmpint (view.type, ==, spec->type);
      g_assert_cmpmem (view.data, n, data, n);
      if (base == NULL)
        base = view.data;
      g_assert_cmpuint ((guint64) ((const guint8 *) view.data - base) % alignment, ==, 0);
      temper_gguf_get_tensor_shape (gguf, i, ne, &n_dims, &n_bytes);
      g_assert_cmpuint (n_dims, ==, spec->n_dims);
      g_assert_cmpuint (n_bytes, ==, n);
      g_assert_cmpint (ne[0], ==, spec->ne[0]);
      g_assert_cmpint (ne[3], ==, 1);
    }
  {
    TemperTensorView c;
    g_assert_true (temper_gguf_find_tensor (gguf, "c.weight", &c));
    g_assert_cmpint (c.ne[1], ==, 4);
    g_assert_cmpuint (c.row_bytes, ==, 144);
    g_assert_false (temper_gguf_find_tensor (gguf, "e.weight", NULL));
  }
}

static void
test_write_read (void)
{
  g_autofree char *dir = model_test_tmpdir ();
  g_autofree char *path = write_small_gguf (dir, 0);
  g_autofree char *path64 = NULL;

  check_small_gguf (path, 32);
  g_unlink (path);
  path64 = write_small_gguf (dir, 64);
  check_small_gguf (path64, 64);
  test_remove_tree (dir);
}

/* ---- broken files ------------------------------------------------------ */

typedef struct {
  char   *dir;
  char   *path;      /* the valid file */
  guint8 *bytes;
  gsize   len;
  char   *broken;    /* where broken copies go */
} Broken;

static void
broken_setup (Broken *b, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  b->dir = model_test_tmpdir ();
  b->path = write_small_gguf (b->dir, 0);
  g_file_get_contents (b->path, (char **) &b->bytes, &b->len, &error);
  g_assert_no_error (error);
  b->broken = g_build_filename (b->dir, "broken.gguf", NULL);
}

static void
broken_teardown (Broken *b, gconstpointer data)
{
  test_remove_tree (b->dir);
  g_free (b->dir);
  g_free (b->path);
  g_free (b->bytes);
  g_free (b->broken);
}

/* Offset of the tensor description of @name (just past its name). */
static gsize
tensor_info_at (Broken *b, const char *name)
{
  const guint8 *hit = memmem (b->bytes, b->len, name, strlen (name));
  /* Key names contain no tensor names, so the first hit is the description. */
  g_assert_nonnull (hit);
  return (gsize) (hit - b->bytes) + strlen (name);
}

static void
expect_failure (Broken *b, const guint8 *bytes, gsize len, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;

  model_test_write (b->broken, bytes, len);
  gguf = temper_gguf_open (b->broken, &error);
  g_assert_null (gguf);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, TEMPER_ERROR, code);
  g_assert_nonnull (strstr (error->message, "broken.gguf"));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_message ("expected “%s” in that message", needle);
  g_assert_true (needle == NULL || strstr (error->message, needle) != NULL);
}

static void
patch_u64 (guint8 *bytes, gsize at, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (bytes + at, &v, 8);
}

static void
patch_u32 (guint8 *bytes, gsize at, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (bytes + at, &v, 4);
}

static void
test_truncated (Broken *b, gconstpointer data)
{
  TemperTensorView last;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (b->path, NULL);
  gsize data_start = temper_gguf_get_data_offset (gguf);

  temper_gguf_get_tensor (gguf, G_N_ELEMENTS (small_tensors) - 1, &last);
  /* Inside the header, inside the key/value section, inside the data. */
  expect_failure (b, b->bytes, 3, TEMPER_ERROR_INVALID_FILE, "not a GGUF");
  expect_failure (b, b->bytes, 20, TEMPER_ERROR_INVALID_FILE, "cut short");
  expect_failure (b, b->bytes, 100, TEMPER_ERROR_INVALID_FILE, "cut short");
  expect_failure (b, b->bytes, data_start - 1, TEMPER_ERROR_INVALID_FILE, "cut short");
  expect_failure (b, b->bytes, data_start + 10, TEMPER_ERROR_INVALID_FILE, "needs 204 bytes");
  expect_failure (b, b->bytes, b->len - 30, TEMPER_ERROR_INVALID_FILE, "tensor d.weight needs 6 bytes");
  expect_failure (b, b->bytes, b->len - 40, TEMPER_ERROR_INVALID_FILE, "download may be incomplete");
}

static void
test_bad_header (Broken *b, gconstpointer data)
{
  g_autofree guint8 *c = g_memdup2 (b->bytes, b->len);

  /* More tensors or keys than the file has room for. */
  patch_u64 (c, 8, G_GUINT64_CONSTANT (1) << 60);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "lists");
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 16, 1000000);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "metadata entries");
  /* One more key than written: the tensor table is read as a key. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 16, 11);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, NULL);
  /* One more tensor than written. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 8, G_N_ELEMENTS (small_tensors) + 1);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, NULL);

  /* A key whose string length runs past the end. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 24, b->len);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "cut short");
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 24, G_MAXUINT64 - 3);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "metadata entry 0");

  /* The value of the first key (a string) claims to be huge. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, 24 + 8 + strlen ("general.architecture") + 4, G_MAXUINT64);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "general.architecture");

  /* An unknown value type. */
  memcpy (c, b->bytes, b->len);
  patch_u32 (c, 24 + 8 + strlen ("general.architecture"), 77);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "unknown value type");

  /* Wrong magic and versions. */
  memcpy (c, b->bytes, b->len);
  c[0] = 'X';
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "not a GGUF");
  memcpy (c, b->bytes, b->len);
  patch_u32 (c, 4, 1);
  expect_failure (b, c, b->len, TEMPER_ERROR_UNSUPPORTED, "version 1");
  patch_u32 (c, 4, 4);
  expect_failure (b, c, b->len, TEMPER_ERROR_UNSUPPORTED, "version 4");

  /* A duplicate key: rename test.i32 to test.u32. */
  memcpy (c, b->bytes, b->len);
  memcpy (memmem (c, b->len, "test.i32", 8), "test.u32", 8);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "appears twice");

  expect_failure (b, (const guint8 *) "", 0, TEMPER_ERROR_INVALID_FILE, "empty");
}

static void
test_bad_tensors (Broken *b, gconstpointer data)
{
  g_autofree guint8 *c = g_memdup2 (b->bytes, b->len);
  gsize a_info = tensor_info_at (b, "a.weight");    /* n_dims, ne0, ne1, type, offset */
  gsize b_info = tensor_info_at (b, "b.weight");    /* n_dims, ne0, type, offset */
  gsize b_offset_at = b_info + 4 + 8 + 4;

  patch_u32 (c, a_info + 4 + 16, 99);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "tensor a.weight has an unknown type (99)");

  /* NF4 is Temper's in-memory type, not a ggml one: no file may claim it. */
  memcpy (c, b->bytes, b->len);
  patch_u32 (c, a_info + 4 + 16, TEMPER_TYPE_NF4);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "tensor a.weight has an unknown type (64)");

  memcpy (c, b->bytes, b->len);
  patch_u32 (c, a_info, 5);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "5 dimensions");

  memcpy (c, b->bytes, b->len);
  patch_u64 (c, a_info + 4, 48);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "not a multiple");

  /* Misaligned, overlapping and out-of-file offsets. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, b_offset_at, 1);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "not a multiple of the file's alignment");
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, b_offset_at, 0);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "overlap");
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, b_offset_at, G_GUINT64_CONSTANT (1) << 40);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "b.weight");

  /* A shape so large its size overflows. */
  memcpy (c, b->bytes, b->len);
  patch_u64 (c, a_info + 4 + 8, G_GUINT64_CONSTANT (1) << 62);
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "a.weight");

  /* Duplicate tensor names. */
  memcpy (c, b->bytes, b->len);
  c[b_info - strlen ("b.weight")] = 'a';
  expect_failure (b, c, b->len, TEMPER_ERROR_INVALID_FILE, "appears twice");
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null (temper_gguf_open ("/nonexistent/model.gguf", &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.gguf"));
}

/* Reads everything an opened file offers, so that a reader that accepted a
 * damaged header would touch the bad bytes (and ASan would see it). */
static void
touch_everything (temper_gguf_t *gguf)
{
  volatile float sink = 0;

  for (guint64 i = 0; i < temper_gguf_get_n_kv (gguf); i++)
    {
      const char *key = temper_gguf_get_key (gguf, i);
      TemperGgufValueType type;
      guint64 count;
      g_autofree char *s = temper_gguf_dup_string (gguf, key);

      if (s != NULL && s[0] != '\0')
        sink += (float) s[strlen (s) - 1];
      if (temper_gguf_get_array_info (gguf, key, &type, &count) && type == TEMPER_GGUF_STRING)
        for (guint64 j = 0; j < count; j++)
          {
            TemperGgufString str = temper_gguf_get_array_string (gguf, key, j);
            if (str.len > 0)
              sink += (float) str.data[str.len - 1];
          }
    }
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (gguf); i++)
    {
      TemperTensorView view;
      temper_gguf_get_tensor (gguf, i, &view);
      if (temper_type_name (view.type) != NULL && view.ne[1] > 0)
        {
          g_autofree float *row = g_new (float, MAX (view.ne[0], 1));
          temper_tensor_row_to_f32 (&view, view.ne[1] - 1, row);
          sink += row[0];
        }
    }
  (void) sink;
}

static void
test_fuzz (Broken *b, gconstpointer data)
{
  static const guint8 replacements[] = { 0x00, 0xff, 0x7f, 0x20, 0x01 };
  g_autoptr(temper_gguf_t) valid = temper_gguf_open (b->path, NULL);
  gsize header_len = temper_gguf_get_data_offset (valid);
  guint opened = 0, refused = 0;
  int fd;

  model_test_write (b->broken, b->bytes, b->len);
  fd = open (b->broken, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);

  for (gsize pos = 0; pos < header_len; pos++)
    for (gsize r = 0; r < G_N_ELEMENTS (replacements) + 1; r++)
      {
        guint8 v = r < G_N_ELEMENTS (replacements) ? replacements[r] : (guint8) (b->bytes[pos] ^ 0x80);
        g_autoptr(GError) error = NULL;
        g_autoptr(temper_gguf_t) gguf = NULL;

        if (v == b->bytes[pos])
          continue;
        g_assert_cmpint (pwrite (fd, &v, 1, (off_t) pos), ==, 1);
        gguf = temper_gguf_open (b->broken, &error);
        if (gguf != NULL)
          {
            touch_everything (gguf);
            opened++;
          }
        else
          {
            g_assert_nonnull (error);
            g_assert_true (g_utf8_validate (error->message, -1, NULL));
            refused++;
          }
        g_assert_cmpint (pwrite (fd, &b->bytes[pos], 1, (off_t) pos), ==, 1);
      }
  /* Truncation at every length short of the last tensor's end (the zero
   * padding after it is not needed). */
  for (gsize len = 0; len < b->len - 26; len += 7)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_gguf_t) gguf = NULL;

      model_test_write (b->broken, b->bytes, len);
      gguf = temper_gguf_open (b->broken, &error);
      g_assert_null (gguf);
      g_assert_nonnull (error);
      refused++;
    }
  close (fd);
  g_test_message ("fuzz: %u mutated files opened, %u refused", opened, refused);
  g_assert_cmpuint (refused, >, opened / 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model/gguf/demo-model", test_demo_model);
  g_test_add_func ("/model/gguf/demo-requantize", test_demo_requantize);
  g_test_add_func ("/model/gguf/write-read", test_write_read);
  g_test_add_func ("/model/gguf/missing-file", test_missing_file);
  g_test_add ("/model/gguf/broken/truncated", Broken, NULL, broken_setup, test_truncated, broken_teardown);
  g_test_add ("/model/gguf/broken/header", Broken, NULL, broken_setup, test_bad_header, broken_teardown);
  g_test_add ("/model/gguf/broken/tensors", Broken, NULL, broken_setup, test_bad_tensors, broken_teardown);
  g_test_add ("/model/gguf/broken/fuzz", Broken, NULL, broken_setup, test_fuzz, broken_teardown);
  return g_test_run ();
}
