/* SPDX-License-Identifier: MIT */
/* test-model-limits.c — a model's settings in config.json or GGUF metadata
 * are checked against a range before anything is sized from them: a hostile
 * file gets a message naming the key, its value and the range, never a huge
 * allocation, a division by zero or a NaN in the forward pass. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/input.h"
#include "temper/json.h"
#include "temper/model.h"
#include "../test-tree.h"

static char *
source_path (const char *first)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "model", first, NULL);
}

static void
test_range_messages (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (temper_input_check_int ("--rank", 16, 1, 1024, &error));
  g_assert_false (temper_input_check_int ("--rank", -1, 1, 1024, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "--rank is -1, but it must be a whole number from 1 to 1024.");
  g_clear_error (&error);

  g_assert_true (temper_input_check_double ("--lr", 2e-4, 1e-12, 0.5, &error));
  g_assert_false (temper_input_check_double ("--lr", NAN, 1e-12, 0.5, &error));
  g_assert_cmpstr (error->message, ==, "--lr is nan, but it must be a number from 1e-12 to 0.5.");
  g_clear_error (&error);
  g_assert_false (temper_input_check_double ("--lr", INFINITY, -INFINITY, INFINITY, &error));
  g_clear_error (&error);
  g_assert_false (temper_input_check_double ("--lr", 0.6, 1e-12, 0.5, &error));
}

/* The tiny Llama folder with config.json's @key set to @json_value. */
static void
expect_config_refused (const char *key, const char *json_value, const char *needle)
{
  g_autofree char *from = source_path ("hf-tiny-llama");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("temper-limits-XXXXXX", &error);
  g_autoptr(GDir) d = g_dir_open (from, 0, NULL);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(JsonNode) config = NULL;
  g_autoptr(JsonNode) value = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(temper_model_t) model = NULL;
  const char *entry;

  g_assert_no_error (error);
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *a = g_build_filename (from, entry, NULL);
      g_autofree char *b = g_build_filename (dir, entry, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (a, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (b, contents, (gssize) len, NULL));
    }
  config = temper_json_parse_file (config_path, 0, &error);
  g_assert_no_error (error);
  value = temper_json_parse_data (json_value, -1, "value", 0, &error);
  g_assert_no_error (error);
  json_object_set_member (json_node_get_object (config), key, json_node_copy (value));
  json_generator_set_root (generator, config);
  g_assert_true (json_generator_to_file (generator, config_path, NULL));

  model = temper_model_load (dir, NULL, &error);
  g_test_message ("%s = %s: %s", key, json_value, error != NULL ? error->message : "(loaded)");
  g_assert_null (model);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, needle));
  test_remove_tree (dir);
}

static void
test_hf_config (void)
{
  expect_config_refused ("num_hidden_layers", "1000000000",
                         "num_hidden_layers is 1000000000, but it must be a whole number from 1 to 1024");
  expect_config_refused ("hidden_size", "1e300", "hidden_size is 1e+300, but it must be a number from 1 to");
  expect_config_refused ("num_attention_heads", "0", "num_attention_heads is 0, but");
  expect_config_refused ("num_key_value_heads", "-4", "num_key_value_heads is -4, but");
  expect_config_refused ("head_dim", "1000000", "head_dim is 1000000, but");
  expect_config_refused ("max_position_embeddings", "2.5", "max_position_embeddings is 2.5, but it must be a whole number");
  expect_config_refused ("intermediate_size", "4294967296", "intermediate_size is 4294967296, but");
  expect_config_refused ("rms_norm_eps", "-1", "rms_norm_eps is -1, but it must be a number from 1e-12 to 0.1");
  expect_config_refused ("rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": 0}",
                         "rope_theta is 0, but it must be a number from 1 to 1e+10");
}

/* A GGUF with only metadata: every setting valid but @key, so the loader
 * stops at it (or, with @key NULL, only later at the missing tensors). */
static void
expect_gguf_refused (const char *key, float f32_value, guint32 u32_value, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("temper-limits-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "hostile.gguf", NULL);
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(temper_model_t) model = NULL;
  static const char *const u32_keys[] = {
    "llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
    "llama.attention.head_count", "llama.attention.head_count_kv",
  };
  static const guint32 u32_values[] = { 256, 32, 2, 64, 4, 2 };

  temper_gguf_writer_set_string (w, "general.architecture", "llama");
  for (gsize i = 0; i < G_N_ELEMENTS (u32_keys); i++)
    temper_gguf_writer_set_u32 (w, u32_keys[i],
                                key != NULL && strcmp (key, u32_keys[i]) == 0 ? u32_value : u32_values[i]);
  temper_gguf_writer_set_f32 (w, "llama.attention.layer_norm_rms_epsilon",
                              key != NULL && strcmp (key, "llama.attention.layer_norm_rms_epsilon") == 0
                                ? f32_value : 1e-5f);
  temper_gguf_writer_set_f32 (w, "llama.rope.freq_base",
                              key != NULL && strcmp (key, "llama.rope.freq_base") == 0 ? f32_value : 10000.0f);
  g_assert_true (temper_gguf_writer_write (w, path, &error));

  model = temper_model_load (path, NULL, &error);
  g_test_message ("%s: %s", key != NULL ? key : "(all valid)", error != NULL ? error->message : "(loaded)");
  g_assert_null (model);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, needle));
  test_remove_tree (dir);
}

static void
test_gguf_metadata (void)
{
  expect_gguf_refused (NULL, 0, 0, "token_embd.weight");
  expect_gguf_refused ("llama.attention.layer_norm_rms_epsilon", NAN, 0,
                       "llama.attention.layer_norm_rms_epsilon is nan, but it must be a number from");
  expect_gguf_refused ("llama.rope.freq_base", -5.0f, 0, "llama.rope.freq_base is -5, but");
  expect_gguf_refused ("llama.block_count", 0, 2000000000u, "llama.block_count is 2000000000, but");
  expect_gguf_refused ("llama.embedding_length", 0, 4000000000u, "llama.embedding_length is 4000000000, but");
  expect_gguf_refused ("llama.context_length", 0, 0, "llama.context_length is 0, but");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-limits/range-messages", test_range_messages);
  g_test_add_func ("/model-limits/hf-config", test_hf_config);
  g_test_add_func ("/model-limits/gguf-metadata", test_gguf_metadata);
  return g_test_run ();
}
