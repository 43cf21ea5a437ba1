/* SPDX-License-Identifier: MIT */
/* test-json-depth.c — every JSON reader refuses a document nested far too
 * deeply with an error, instead of overflowing the stack.
 *
 * The documents are tens of thousands of “[” deep: json-glib parses
 * recursively, so before the readers went through temper_json_parse_* this
 * crashed each of them (SIGSEGV).  This file uses only the readers' public
 * API, so it builds against an engine from before that change too. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/adapter.h"
#include "temper/dataset.h"
#include "temper/discovery.h"
#include "temper/error.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/safetensors.h"
#include "temper/tokenizer.h"
#include "temper/train.h"
#include "../test-tree.h"

#define DEEP 200000

typedef struct {
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  t->dir = g_dir_make_tmp ("temper-json-depth-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  test_remove_tree (t->dir);
  g_free (t->dir);
}

/* @prefix, then DEEP “[”, then @suffix. */
static char *
deep_text (const char *prefix, const char *suffix)
{
  GString *s = g_string_new (prefix);

  for (int i = 0; i < DEEP; i++)
    g_string_append_c (s, '[');
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

static void
write_file (const char *path, const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* A copy of the tiny Llama fixture folder in @dir/@name. */
static char *
copy_tiny_model (const char *dir, const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *from = NULL;
  char *to = g_build_filename (dir, name, NULL);
  g_autoptr(GDir) d = NULL;
  const char *entry;

  if (src == NULL)
    src = TEMPER_SOURCE_DIR;
  from = g_build_filename (src, "tests", "fixtures", "model", "hf-tiny-llama", NULL);
  d = g_dir_open (from, 0, NULL);
  g_assert_nonnull (d);
  g_assert_cmpint (g_mkdir (to, 0755), ==, 0);
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *a = g_build_filename (from, entry, NULL);
      g_autofree char *b = g_build_filename (to, entry, NULL);
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (a, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (b, contents, (gssize) len, NULL));
    }
  return to;
}

/* config.json, tokenizer.json, tokenizer_config.json and the safetensors
 * index of a model folder, one at a time, and discovery of that folder. */
static void
test_model_folder (Tmp *t, gconstpointer data)
{
  static const char *const files[] = {
    "config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json",
  };
  g_autofree char *deep = deep_text ("", "");

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *name = g_strdup_printf ("model-%" G_GSIZE_FORMAT, i);
      g_autofree char *dir = copy_tiny_model (t->dir, name);
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_autoptr(temper_model_t) model = NULL;
      g_autoptr(GError) error = NULL;

      write_file (path, deep);
      model = temper_model_load (dir, NULL, &error);
      g_test_message ("%s: %s", files[i], error != NULL ? error->message : "(loaded)");
      if (strcmp (files[i], "tokenizer_config.json") != 0)
        {
          /* A broken tokenizer_config.json only costs the chat template;
           * the others leave no model to load. */
          g_assert_null (model);
          g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
        }
      if (i == 0)
        {
          g_autoptr(TemperDiscoveredModel) found =
            temper_discovery_inspect (dir, TEMPER_MODEL_SOURCE_HF_CACHE, "deep");
          g_assert_nonnull (found->problem);
        }
    }
}

static void
test_tokenizer_files (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = copy_tiny_model (t->dir, "tok");
  g_autofree char *tokenizer = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *config = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autofree char *deep = deep_text ("{\"x\": ", "");
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GError) error = NULL;

  write_file (config, deep);
  tok = temper_tokenizer_new_from_hf (tokenizer, config, &error);
  g_assert_null (tok);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_clear_error (&error);

  write_file (tokenizer, deep);
  tok = temper_tokenizer_new_from_hf (tokenizer, NULL, &error);
  g_assert_null (tok);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
}

static void
test_safetensors_header (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "deep.safetensors", NULL);
  g_autofree char *header = deep_text ("{\"a\": ", "");
  guint64 len = GUINT64_TO_LE ((guint64) strlen (header));
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(GError) error = NULL;

  g_byte_array_append (bytes, (const guint8 *) &len, 8);
  g_byte_array_append (bytes, (const guint8 *) header, (guint) strlen (header));
  g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));
  st = temper_safetensors_open (path, &error);
  g_assert_null (st);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
}

/* A JSONL dataset with one deep line among good ones, and a JSON array
 * dataset that is deep itself. */
static void
test_datasets (Tmp *t, gconstpointer data)
{
  g_autofree char *jsonl = g_build_filename (t->dir, "deep.jsonl", NULL);
  g_autofree char *array = g_build_filename (t->dir, "deep.json", NULL);
  /* Closed with “}” and balanced, so that no cheaper check of the
   * dataset reader stops them before a JSON parser sees them. */
  g_autofree char *deep_line = deep_text ("{\"text\": ", "}");
  g_autofree char *lines = g_strdup_printf ("{\"text\": \"one\"}\n%s\n{\"text\": \"two\"}\n", deep_line);
  g_autofree char *closers = g_strnfill (DEEP, ']');
  g_autofree char *deep_item = deep_text ("[{\"text\": \"one\"}, {\"text\": ", closers);
  g_autofree char *deep_array = g_strconcat (deep_item, "}]", NULL);
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;

  write_file (jsonl, lines);
  ds = temper_dataset_load (jsonl, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_valid, ==, 2);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_dropped, ==, 1);
  g_clear_pointer (&ds, temper_dataset_free);

  write_file (array, deep_array);
  ds = temper_dataset_load (array, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_valid, ==, 1);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_dropped, ==, 1);
}

/* A run folder's settings.json, and a PEFT adapter's adapter_config.json. */
static void
test_run_and_adapter (Tmp *t, gconstpointer data)
{
  g_autofree char *settings = g_build_filename (t->dir, "settings.json", NULL);
  g_autofree char *adapter_config = g_build_filename (t->dir, "adapter_config.json", NULL);
  g_autofree char *deep = deep_text ("{\"a\": ", "");
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GError) error = NULL;

  write_file (settings, deep);
  run = temper_run_open (t->dir, &error);
  g_assert_null (run);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_clear_error (&error);

  {
    g_autofree char *model_dir = copy_tiny_model (t->dir, "model");
    g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);

    g_assert_no_error (error);
    write_file (adapter_config, deep);
    adapter = temper_lora_load_peft (t->dir, temper_model_get_config (model), NULL, &error);
  }
  g_assert_null (adapter);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/json-depth/model-folder", Tmp, NULL, tmp_setup, test_model_folder, tmp_teardown);
  g_test_add ("/json-depth/tokenizer-files", Tmp, NULL, tmp_setup, test_tokenizer_files, tmp_teardown);
  g_test_add ("/json-depth/safetensors-header", Tmp, NULL, tmp_setup, test_safetensors_header, tmp_teardown);
  g_test_add ("/json-depth/datasets", Tmp, NULL, tmp_setup, test_datasets, tmp_teardown);
  g_test_add ("/json-depth/run-and-adapter", Tmp, NULL, tmp_setup, test_run_and_adapter, tmp_teardown);
  return g_test_run ();
}
