/* SPDX-License-Identifier: MIT */
/* Temper's token ids and loss masks for every record of the sample datasets
 * against LLaMA-Factory's own preprocessing of the job `temper-cli
 * export-job` wrote for them (tests/fixtures/interop/llamafactory-*.json,
 * made by tests/interop/llamafactory-interop.py in the interop virtualenv).
 *
 * The ids must be equal.  The masks must be equal except in one documented
 * place: after each <|im_end|> that closes an answer, LLaMA-Factory's ChatML
 * templates ("{{content}}<|im_end|>\n") also train the line break, which
 * Temper leaves out. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"

static const char *source_dir;

static temper_tokenizer_t *
open_tokenizer (const char *where, temper_gguf_t **gguf)
{
  g_autofree char *path = g_build_filename (source_dir, where, NULL);
  g_autoptr(GError) error = NULL;
  temper_tokenizer_t *tok;

  if (g_str_has_suffix (where, ".gguf"))
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return NULL;
      *gguf = temper_gguf_open (path, &error);
      g_assert_no_error (error);
      tok = temper_tokenizer_new_from_gguf (*gguf, &error);
    }
  else
    {
      g_autofree char *json = g_build_filename (path, "tokenizer.json", NULL);
      g_autofree char *config = g_build_filename (path, "tokenizer_config.json", NULL);

      tok = temper_tokenizer_new_from_hf (json, g_file_test (config, G_FILE_TEST_EXISTS)
                                                ? config : NULL, &error);
    }
  g_assert_no_error (error);
  return tok;
}

static void
test_family (gconstpointer data)
{
  const char *family = data;
  g_autofree char *name = g_strdup_printf ("llamafactory-%s.json", family);
  g_autofree char *path = g_build_filename (source_dir, "tests", "fixtures", "interop", name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  JsonObject *root;
  JsonArray *datasets;
  guint n_records = 0, n_newlines = 0;
  int end_of_turn, newline;
  gboolean chatml;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  tok = open_tokenizer (json_object_get_string_member (root, "tokenizer"), &gguf);
  if (tok == NULL)
    {
      g_test_skip ("the demo model is not there (run make setup)");
      return;
    }
  tmpl = temper_chat_template_new (json_object_get_string_member (root, "jinja"), tok);
  chatml = temper_chat_template_get_family (tmpl) == TEMPER_CHAT_FAMILY_CHATML;
  end_of_turn = temper_chat_template_get_end_of_turn (tmpl);
  {
    g_autoptr(GArray) nl = temper_tokenizer_encode (tok, "\n", 1, FALSE);
    newline = nl->len == 1 ? g_array_index (nl, gint32, 0) : -1;
  }

  datasets = json_object_get_array_member (root, "datasets");
  for (guint d = 0; d < json_array_get_length (datasets); d++)
    {
      JsonObject *entry = json_array_get_object_element (datasets, d);
      const char *file = json_object_get_string_member (entry, "file");
      JsonArray *records = json_object_get_array_member (entry, "records");
      g_autofree char *data_path = g_build_filename (source_dir, "data", "samples", file, NULL);
      g_autoptr(temper_dataset_t) dataset = NULL;
      TemperDatasetOptions options;

      temper_dataset_options_init (&options);
      options.chat_template = tmpl;
      options.max_length = (int) json_object_get_int_member (root, "max_length");
      dataset = temper_dataset_load (data_path, &options, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (temper_dataset_get_n_records (dataset), ==, json_array_get_length (records));

      for (guint r = 0; r < json_array_get_length (records); r++)
        {
          JsonObject *rec = json_array_get_object_element (records, r);
          JsonArray *ids = json_object_get_array_member (rec, "ids");
          JsonArray *mask = json_object_get_array_member (rec, "mask");
          const gint32 *t_ids;
          const guint8 *t_mask;
          gsize n;

          g_assert_true (temper_dataset_get_tokens (dataset, r, &t_ids, &t_mask, &n));
          if (n != json_array_get_length (ids))
            g_error ("%s, %s record %u: Temper has %zu tokens, LLaMA-Factory %u", family, file,
                     r, n, json_array_get_length (ids));
          for (gsize i = 0; i < n; i++)
            {
              int lf_id = (int) json_array_get_int_element (ids, i);
              int lf_mask = (int) json_array_get_int_element (mask, i);

              if (t_ids[i] != lf_id)
                g_error ("%s, %s record %u, token %zu: Temper id %d, LLaMA-Factory %d", family,
                         file, r, i, t_ids[i], lf_id);
              if (t_mask[i] == lf_mask)
                continue;
              /* The one documented difference. */
              if (chatml && lf_mask == 1 && i > 0 && t_ids[i] == newline
                  && t_ids[i - 1] == end_of_turn && t_mask[i - 1] == 1)
                {
                  n_newlines++;
                  continue;
                }
              g_error ("%s, %s record %u, token %zu (id %d): Temper %s it, LLaMA-Factory %s",
                       family, file, r, i, t_ids[i], t_mask[i] ? "trains on" : "does not train on",
                       lf_mask ? "does" : "does not");
            }
          n_records++;
        }
    }
  g_test_message ("%s: ids and masks equal for %u records (LLaMA-Factory also trains %u line "
                  "breaks after <|im_end|>)", family, n_records, n_newlines);
  g_assert_cmpuint (n_records, >, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  source_dir = g_getenv ("TEMPER_SOURCE_DIR");
  if (source_dir == NULL)
    source_dir = ".";
  /* One test per committed fixture: llamafactory-FAMILY.json. */
  {
    g_autofree char *dir = g_build_filename (source_dir, "tests", "fixtures", "interop", NULL);
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    g_autoptr(GPtrArray) families = g_ptr_array_new_with_free_func (g_free);
    const char *name;

    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      if (g_str_has_prefix (name, "llamafactory-") && g_str_has_suffix (name, ".json"))
        g_ptr_array_add (families, g_strndup (name + strlen ("llamafactory-"),
                                              strlen (name) - strlen ("llamafactory-.json")));
    g_assert_cmpuint (families->len, >=, 3);
    for (guint i = 0; i < families->len; i++)
      {
        g_autofree char *path = g_strconcat ("/interop/llamafactory/",
                                             (char *) g_ptr_array_index (families, i), NULL);

        g_test_add_data_func (path, g_ptr_array_index (families, i), test_family);
      }
    return g_test_run ();
  }
}
