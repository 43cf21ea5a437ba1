// SPDX-License-Identifier: MIT
/* Replay against forgetting: the records training mixes in are the bundled
 * general prompts, in their order, each with the base model's own answer
 * (here taken from the answer cache, which the first run filled, so that
 * the test knows what the answers are); unfinished answers are left out;
 * a second load reads the run's replay.jsonl again without asking. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/dataset.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "train/temper-train-replay.h"
#include "../test-tree.h"

static char *cache_home;

/* A path under the source tree. */
static char *
source_path (const char *a, const char *b, const char *c)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), a, b, c, NULL);
}

static char *
only_cache_file (void)
{
  g_autofree char *dir = g_build_filename (cache_home, "temper", "base-answers", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *found = NULL;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_free (found);
      found = g_build_filename (dir, name, NULL);
      n++;
    }
  g_assert_cmpuint (n, ==, 1);
  return found;
}

/* The cache files an answer under a SHA-256 of the conversation: for one
 * user turn, the role's digit, 0x1f, the text, 0x1e
 * (engine/train/temper-answer-cache.c). */
static char *
digest_of_prompt (const char *prompt)
{
  g_autoptr(GString) bytes = g_string_new (NULL);

  g_string_append_printf (bytes, "%d\x1f%s\x1e", (int) TEMPER_CHAT_ROLE_USER, prompt);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) bytes->str, bytes->len);
}

/* Replaces the kept answers by known texts: "Answer to prompt N." for the
 * Nth bundled prompt, except the second, left empty (not finished). */
static void
rewrite_cache (const char *path, char **prompts)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  JsonObject *answers;

  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  answers = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "answers");
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *digest = digest_of_prompt (prompts[i]);
      g_autofree char *text = i == 1 ? g_strdup ("") : g_strdup_printf ("Answer to prompt %u.", i);

      /* The first run asked at least these (it asks until 3 are finished). */
      if (i < 3)
        g_assert_true (json_object_has_member (answers, digest));
      json_object_set_string_member (answers, digest, text);
    }
  json_generator_set_root (gen, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (gen, path, NULL));
}

static void
test_replay_records (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-replay-XXXXXX", NULL);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", "tiny-llama", NULL);
  g_autofree char *prompts_path = source_path ("data", "train", "replay-prompts.jsonl");
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *run_dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *replay_path = g_build_filename (run_dir, "dataset", "replay.jsonl", NULL);
  g_autofree char *cache_file = NULL;
  g_autofree char *prompts_text = NULL;
  g_auto(GStrv) prompts = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(GError) error = NULL;
  temper_dataset_t *replay = NULL;
  TemperTrainReplayOptions ro = { TEMPER_BACKEND_CPU, -1, 1, NULL, NULL, NULL };
  TemperDatasetOptions dopts;
  TemperTrainSettings s;
  gint64 changed_before;
  GStatBuf st;

  g_assert_true (g_file_set_contents (data, "{\"prompt\": \"hello\", \"response\": \"there\"}\n", -1, NULL));
  temper_train_settings_init_default (&s);
  s.replay_records = 3;
  s.max_length = 256;
  run = temper_run_create (run_dir, &s, model_path, data, NULL, &error);
  g_assert_no_error (error);
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  temper_dataset_options_init (&dopts);
  dopts.chat_template = tmpl;
  dopts.max_length = s.max_length;

  /* First load: the base model is asked (whatever the random model says),
   * and its answers are kept. */
  g_assert_true (temper_train_replay_load (run, model, &s, &dopts, &ro, &replay, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (replay_path, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&replay, temper_dataset_free);
  cache_file = only_cache_file ();

  /* Known answers in the cache, and the run's file removed: the records
   * are the first prompts with finished answers, in the prompts' order:
   * 0, 2 and 3 (1 was not finished). */
  g_assert_true (g_file_get_contents (prompts_path, &prompts_text, NULL, NULL));
  prompts = g_strsplit (prompts_text, "\n", -1);
  for (guint i = 0; i < 6; i++)
    {
      g_autoptr(JsonNode) line = json_from_string (prompts[i], NULL);
      char *prompt = g_strdup (json_object_get_string_member (json_node_get_object (line), "prompt"));

      g_free (prompts[i]);
      prompts[i] = prompt;
    }
  rewrite_cache (cache_file, prompts);
  g_assert_cmpint (g_unlink (replay_path), ==, 0);
  g_assert_true (temper_train_replay_load (run, model, &s, &dopts, &ro, &replay, &error));
  g_assert_no_error (error);
  g_assert_nonnull (replay);
  g_assert_cmpuint (temper_dataset_get_n_records (replay), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const TemperDatasetRecord *rec = temper_dataset_get_record (replay, i);
      guint asked = (const guint[]) { 0, 2, 3 }[i];
      g_autofree char *expected = g_strdup_printf ("Answer to prompt %u.", asked);
      const char *prompt = prompts[asked];

      g_assert_cmpuint (rec->n_messages, ==, 2);
      g_assert_cmpint (rec->messages[0].role, ==, TEMPER_CHAT_ROLE_USER);
      g_assert_cmpstr (rec->messages[0].content, ==, prompt);
      g_assert_cmpint (rec->messages[1].role, ==, TEMPER_CHAT_ROLE_ASSISTANT);
      g_assert_cmpstr (rec->messages[1].content, ==, expected);
      /* Every answer was trained on: the mask covers the answer. */
      {
        const gint32 *ids;
        const guint8 *mask;
        gsize n;
        guint trained = 0;

        g_assert_true (temper_dataset_get_tokens (replay, i, &ids, &mask, &n));
        for (gsize t = 0; t < n; t++)
          trained += mask[t];
        g_assert_cmpuint (trained, >, 0);
      }
    }
  g_clear_pointer (&replay, temper_dataset_free);

  /* A resumed run reads the same file; nothing is asked or written again. */
  g_assert_cmpint (g_stat (replay_path, &st), ==, 0);
  changed_before = (gint64) st.st_mtime;
  g_assert_true (g_file_set_contents (cache_file, "{}", -1, NULL));
  g_assert_true (temper_train_replay_load (run, model, &s, &dopts, &ro, &replay, &error));
  g_assert_cmpuint (temper_dataset_get_n_records (replay), ==, 3);
  g_assert_cmpint (g_stat (replay_path, &st), ==, 0);
  g_assert_cmpint ((gint64) st.st_mtime, ==, changed_before);
  g_clear_pointer (&replay, temper_dataset_free);

  /* Nothing was written beside the data. */
  {
    g_autoptr(GDir) d = g_dir_open (tmp, 0, NULL);
    guint n = 0;

    while (g_dir_read_name (d) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 2);   /* data.jsonl and run/ */
  }
  g_clear_pointer (&run, temper_run_free);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  int rc;

  cache_home = g_dir_make_tmp ("temper-cache-home-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_unsetenv ("TEMPER_NO_ANSWER_CACHE");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-replay/records", test_replay_records);
  rc = g_test_run ();
  test_remove_tree (cache_home);
  return rc;
}
