/* SPDX-License-Identifier: MIT */
/* test-safetensors.c — the safetensors reader, writer and sharded index.
 *
 * Broken files are written byte by byte here, each breaking one rule of
 * the format (FORMATS.md §4.1). */
#include "config.h"

#include "temper/error.h"
#include "temper/model.h"
#include "temper/safetensors.h"
#include "model-test-util.h"

typedef struct {
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = model_test_tmpdir ();
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  test_remove_tree (t->dir);
  g_free (t->dir);
}

static void
test_round_trip (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "x.safetensors", NULL);
  g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  guint64 header_len;
  const float f32[6] = { 1, 2, 3, 4, 5, 6 };
  const guint16 bf16[4] = { 0x3f80, 0x4000, 0xbf80, 0x0000 };
  guint16 f16[12];
  const gint64 i64[1] = { -42 };
  const guint8 u8[3] = { 7, 8, 9 };
  const int64_t shape_f32[] = { 2, 3 }, shape_bf16[] = { 4 }, shape_f16[] = { 3, 2, 2 };
  const int64_t shape_empty[] = { 0, 5 }, shape_u8[] = { 3 };
  TemperSafetensorsInfo info;
  TemperTensorView view;

  for (int i = 0; i < 12; i++)
    f16[i] = temper_f32_to_f16 ((float) i * 0.5f);
  temper_safetensors_writer_add_tensor (w, "b.weight", "BF16", shape_bf16, 1, bf16, sizeof bf16);
  temper_safetensors_writer_add_tensor (w, "a.weight", "F32", shape_f32, 2, f32, sizeof f32);
  temper_safetensors_writer_add_tensor (w, "c.weight", "F16", shape_f16, 3, f16, sizeof f16);
  temper_safetensors_writer_add_tensor (w, "scalar", "I64", NULL, 0, i64, sizeof i64);
  temper_safetensors_writer_add_tensor (w, "empty", "F32", shape_empty, 2, NULL, 0);
  temper_safetensors_writer_add_tensor (w, "bytes", "U8", shape_u8, 1, u8, sizeof u8);
  temper_safetensors_writer_set_metadata (w, "note", "first");
  temper_safetensors_writer_set_metadata (w, "note", "second");
  g_assert_true (temper_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);

  /* Layout rules of the reference writer. */
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint ((8 + header_len) % 8, ==, 0);
  g_assert_cmpint (contents[8], ==, '{');
  g_assert_nonnull (g_strstr_len (contents + 8, (gssize) header_len, "\"__metadata__\""));
  g_assert_nonnull (g_strstr_len (contents + 8, (gssize) header_len, "\"format\":\"pt\""));
  g_assert_cmpuint (len, ==, 8 + header_len + sizeof f32 + sizeof i64 + sizeof bf16 + sizeof f16 + sizeof u8);
  /* Widest dtype first: the I64 scalar, then the F32 data, then 16 bits. */
  g_assert_cmpmem (contents + 8 + header_len, sizeof i64, i64, sizeof i64);
  g_assert_cmpmem (contents + 8 + header_len + 8, sizeof f32, f32, sizeof f32);

  st = temper_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_safetensors_get_n_tensors (st), ==, 6);
  g_assert_cmpstr (temper_safetensors_get_name (st, 0), ==, "a.weight");
  g_assert_cmpstr (temper_safetensors_get_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (temper_safetensors_get_metadata (st, "note"), ==, "second");
  g_assert_cmpuint (temper_safetensors_get_total_size (st), ==, len);

  g_assert_true (temper_safetensors_get_info (st, "c.weight", &info));
  g_assert_cmpstr (info.dtype, ==, "F16");
  g_assert_cmpint (info.n_dims, ==, 3);
  g_assert_cmpint (info.shape[0], ==, 3);
  g_assert_cmpint (info.shape[2], ==, 2);
  g_assert_cmpmem (info.data, info.n_bytes, f16, sizeof f16);
  g_assert_true (temper_safetensors_get_info (st, "scalar", &info));
  g_assert_cmpint (info.n_dims, ==, 0);
  g_assert_cmpmem (info.data, info.n_bytes, i64, sizeof i64);
  g_assert_true (temper_safetensors_get_info (st, "empty", &info));
  g_assert_cmpuint (info.n_bytes, ==, 0);
  g_assert_false (temper_safetensors_get_info (st, "nope", NULL));

  /* Views: [rows, cols] → ne = {cols, rows}; 3-D folds leading dims. */
  g_assert_true (temper_safetensors_get_view (st, "a.weight", &view, &error));
  g_assert_cmpint (view.type, ==, TEMPER_TYPE_F32);
  g_assert_cmpint (view.ne[0], ==, 3);
  g_assert_cmpint (view.ne[1], ==, 2);
  g_assert_cmpuint (view.row_bytes, ==, 12);
  {
    float row[3];
    temper_tensor_row_to_f32 (&view, 1, row);
    g_assert_cmpfloat (row[0], ==, 4.0f);
  }
  g_assert_true (temper_safetensors_get_view (st, "b.weight", &view, &error));
  g_assert_cmpint (view.ne[0], ==, 4);
  g_assert_cmpint (view.ne[1], ==, 1);
  {
    float row[4];
    temper_tensor_row_to_f32 (&view, 0, row);
    g_assert_cmpfloat (row[2], ==, -1.0f);
  }
  g_assert_true (temper_safetensors_get_view (st, "c.weight", &view, &error));
  g_assert_cmpint (view.type, ==, TEMPER_TYPE_F16);
  g_assert_cmpint (view.ne[0], ==, 2);
  g_assert_cmpint (view.ne[1], ==, 6);
  g_assert_no_error (error);

  g_assert_false (temper_safetensors_get_view (st, "scalar", &view, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "I64"));
  g_assert_nonnull (strstr (error->message, "x.safetensors"));
  g_clear_error (&error);
  g_assert_false (temper_safetensors_get_view (st, "nope", &view, &error));
  g_assert_nonnull (strstr (error->message, "nope"));
}

/* Writes 8-byte length + @header + @data_len bytes of data. */
static void
write_raw (const char *path, guint64 claimed_len, const char *header, gsize data_len)
{
  gsize header_len = strlen (header);
  g_autofree guint8 *bytes = g_malloc0 (8 + header_len + data_len);
  guint64 le = GUINT64_TO_LE (claimed_len);

  memcpy (bytes, &le, 8);
  memcpy (bytes + 8, header, header_len);
  model_test_write (path, bytes, 8 + header_len + data_len);
}

static void
expect_broken (const char *path, guint64 claimed_len, const char *header, gsize data_len,
               const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;

  write_raw (path, claimed_len == 0 ? strlen (header) : claimed_len, header, data_len);
  st = temper_safetensors_open (path, &error);
  g_assert_null (st);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, "broken.safetensors"));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_message ("expected “%s” in that message", needle);
  g_assert_true (needle == NULL || strstr (error->message, needle) != NULL);
}

static void
test_broken_headers (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "broken.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_safetensors_t) ok = NULL;
  const char *valid = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ";

  /* The valid starting point, padded with spaces as allowed. */
  write_raw (path, strlen (valid), valid, 8);
  ok = temper_safetensors_open (path, &error);
  g_assert_no_error (error);

  expect_broken (path, 1000, valid, 8, "cut short");
  expect_broken (path, G_GUINT64_CONSTANT (1) << 40, valid, 8, "header claims");
  expect_broken (path, 0, "[1, 2]", 0, "JSON object");
  expect_broken (path, 0, "{\"a\": ", 0, "not valid JSON");
  expect_broken (path, 0, "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "should take 12 bytes");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "data_offsets");
  /* Past the end of the data. */
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "cut short");
  /* Overlap, gap, and trailing bytes nobody owns. */
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "a gap");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16, "16 bytes of data");
  expect_broken (path, 0, "{\"__metadata__\":{\"format\":1}}", 0, "__metadata__");
  expect_broken (path, 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "large");
  model_test_write (path, "abc", 3);
  {
    g_autoptr(GError) e = NULL;
    g_assert_null (temper_safetensors_open (path, &e));
    g_assert_error (e, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  }
}

static void
test_sharded (Tmp *t, gconstpointer data)
{
  g_autofree char *shard1 = g_build_filename (t->dir, "model-00001-of-00002.safetensors", NULL);
  g_autofree char *shard2 = g_build_filename (t->dir, "model-00002-of-00002.safetensors", NULL);
  g_autofree char *index = g_build_filename (t->dir, "model.safetensors.index.json", NULL);
  g_autoptr(temper_safetensors_writer_t) w1 = temper_safetensors_writer_new ();
  g_autoptr(temper_safetensors_writer_t) w2 = temper_safetensors_writer_new ();
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(GError) error = NULL;
  const float a[2] = { 1, 2 }, b[3] = { 3, 4, 5 };
  const int64_t sa[] = { 2 }, sb[] = { 3 };
  const char *good = "{\"metadata\":{\"total_size\":20},\"weight_map\":{"
                     "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}";
  TemperSafetensorsInfo info;

  temper_safetensors_writer_add_tensor (w1, "a", "F32", sa, 1, a, sizeof a);
  temper_safetensors_writer_add_tensor (w2, "b", "F32", sb, 1, b, sizeof b);
  g_assert_true (temper_safetensors_writer_write (w1, shard1, NULL));
  g_assert_true (temper_safetensors_writer_write (w2, shard2, NULL));
  model_test_write (index, good, strlen (good));

  st = temper_safetensors_open (index, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_safetensors_get_n_tensors (st), ==, 2);
  g_assert_true (temper_safetensors_get_info (st, "b", &info));
  g_assert_cmpmem (info.data, info.n_bytes, b, sizeof b);
  g_assert_true (g_str_has_suffix (info.file, "model-00002-of-00002.safetensors"));
  g_clear_pointer (&st, temper_safetensors_close);

  /* The index names a tensor its shard does not hold. */
  {
    const char *wrong = "{\"weight_map\":{\"a\":\"model-00002-of-00002.safetensors\"}}";
    model_test_write (index, wrong, strlen (wrong));
    g_assert_null (temper_safetensors_open (index, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
    g_assert_nonnull (strstr (error->message, "tensor a"));
    g_clear_error (&error);
  }
  /* No weight_map, a path escaping the folder, a missing shard. */
  model_test_write (index, "{}", 2);
  g_assert_null (temper_safetensors_open (index, &error));
  g_assert_nonnull (strstr (error->message, "weight_map"));
  g_clear_error (&error);
  {
    const char *escape = "{\"weight_map\":{\"a\":\"../x.safetensors\"}}";
    model_test_write (index, escape, strlen (escape));
    g_assert_null (temper_safetensors_open (index, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
    g_clear_error (&error);
  }
  model_test_write (index, good, strlen (good));
  g_unlink (shard2);
  g_assert_null (temper_safetensors_open (index, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "model-00002-of-00002.safetensors"));
}

/* A Hugging Face folder whose model.safetensors.index.json is hostile: it
 * names a shard that is not there, or file names that are not plain names.
 * Loading it gives a message; building that message once read freed
 * memory (seen under AddressSanitizer with G_SLICE=always-malloc, which
 * tests/meson.build sets for every test). */
static void
test_hostile_index (Tmp *t, gconstpointer data)
{
  static const char *const copied[] = { "config.json", "tokenizer.json", "tokenizer_config.json" };
  static const struct { const char *index; int code; const char *needle; } cases[] = {
    { "{\"weight_map\":{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
      "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}}",
      TEMPER_ERROR_IO, "model-00001-of-00002.safetensors" },
    { "{\"weight_map\":{\"a\":\"gone.safetensors\"}}", TEMPER_ERROR_IO, "gone.safetensors" },
    { "{\"weight_map\":{\"a\":\"../x.safetensors\",\"b\":\"y.safetensors\"}}",
      TEMPER_ERROR_INVALID_FILE, "tensor a" },
    { "{\"weight_map\":{\"a\":\"y.safetensors\",\"tensor-b\":7}}",
      TEMPER_ERROR_INVALID_FILE, "tensor tensor-b" },
  };
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *from = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures",
                                            "model", "hf-tiny-llama", NULL);
  g_autofree char *index = g_build_filename (t->dir, "model.safetensors.index.json", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (copied); i++)
    {
      g_autofree char *a = g_build_filename (from, copied[i], NULL);
      g_autofree char *b = g_build_filename (t->dir, copied[i], NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (a, &contents, &len, NULL));
      model_test_write (b, contents, len);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(temper_model_t) model = NULL;
      g_autoptr(GError) error = NULL;

      model_test_write (index, cases[i].index, strlen (cases[i].index));
      model = temper_model_load (t->dir, NULL, &error);
      g_assert_null (model);
      g_assert_error (error, TEMPER_ERROR, cases[i].code);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/model/safetensors/round-trip", Tmp, NULL, tmp_setup, test_round_trip, tmp_teardown);
  g_test_add ("/model/safetensors/broken-headers", Tmp, NULL, tmp_setup, test_broken_headers, tmp_teardown);
  g_test_add ("/model/safetensors/sharded", Tmp, NULL, tmp_setup, test_sharded, tmp_teardown);
  g_test_add ("/model/safetensors/hostile-index", Tmp, NULL, tmp_setup, test_hostile_index, tmp_teardown);
  return g_test_run ();
}
