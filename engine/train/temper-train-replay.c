/* SPDX-License-Identifier: MIT */
/* temper-train-replay.c — the base model's own answers to general prompts,
 * mixed into training against forgetting (see replay_records in
 * temper/train.h and data/train/README.md).
 *
 * A model taught one narrow kind of answer (a ticket code, a greeting)
 * learns it as the answer to everything: the classification set of the
 * learning benchmark made the demo model answer "What is the capital of
 * France?" with a code.  Training on a few general questions whose answers
 * are the base model's own greedy answers keeps those answers where they
 * were (replay, or self-distillation) at the cost of a few more records a
 * pass.  The answers are written to RUN/dataset/replay.jsonl, so the run
 * says what it was trained on and a resumed run reads the same records. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/answer.h"
#include "temper/error.h"
#include "temper/fs.h"
#include "temper/install-paths.h"
#include "temper/json.h"
#include "temper-answer-cache.h"
#include "temper-train-replay.h"

/* Long enough for the short answers the prompts ask for; an answer the
 * base model has not finished by then is left out (a record cut short
 * would teach the model to stop mid-sentence). */
#define REPLAY_MAX_TOKENS 96

static GPtrArray *
read_prompts (GError **error)
{
  g_autofree char *path = temper_data_file ("train/replay-prompts.jsonl");
  g_autoptr(GPtrArray) prompts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GError *local = NULL;

  if (path == NULL || !g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("The general prompts mixed into training against forgetting could not be read "
                     "(is Temper installed completely?): %s"),
                   local != NULL ? local->message : "train/replay-prompts.jsonl");
      g_clear_error (&local);
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      const char *prompt;

      if (g_strstrip (lines[i])[0] == '\0')
        continue;
      root = temper_json_parse_data (lines[i], -1, "replay prompts", 0, NULL);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
          || (prompt = json_object_get_string_member_with_default (json_node_get_object (root), "prompt",
                                                                   NULL)) == NULL)
        continue;
      g_ptr_array_add (prompts, g_strdup (prompt));
    }
  return g_steal_pointer (&prompts);
}

static void
add_record (GString *out, const char *prompt, const char *answer)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *line = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, prompt);
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "assistant");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, answer);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  line = temper_json_to_text (root, FALSE, NULL);
  g_string_append (out, line);
  g_string_append_c (out, '\n');
}

static gboolean
collect (const char *text, gsize len, gpointer user_data)
{
  g_string_append_len (user_data, text, (gssize) len);
  return TRUE;
}

/* Asks the base model the prompts in order until it has finished @wanted
 * answers (or the prompts run out) and writes those to @path.  Answers
 * already given to the same model file and settings come from the answer
 * cache. */
static gboolean
write_replay (const char *path, const temper_model_t *model, int wanted,
              const TemperTrainReplayOptions *o, GError **error)
{
  g_autoptr(GPtrArray) prompts = read_prompts (error);
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(TemperAnswerCache) cache = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *settings = NULL;
  temper_generator_t *gen = NULL;
  TemperGeneratorOptions gopts = { 0 };
  gboolean ok = FALSE;
  int kept_records = 0;

  if (prompts == NULL)
    return FALSE;
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  gopts.n_threads = o->n_threads;
  gen = temper_generator_new_on (model, &gopts, o->backend, o->device, error);
  if (gen == NULL)
    return FALSE;
  settings = g_strdup_printf ("replay answers|at most %d tokens, finished only|%s|%d threads|8-bit activations|"
                              "base weights %s", REPLAY_MAX_TOKENS, temper_generator_get_device (gen),
                              o->n_threads > 0 ? o->n_threads : (int) g_get_num_processors (),
                              temper_base_weights_name (temper_model_get_base_weights (model)));
  cache = temper_answer_cache_open (temper_model_get_path (model), settings);
  for (guint i = 0; i < prompts->len && kept_records < wanted; i++)
    {
      TemperChatMessage question = { TEMPER_CHAT_ROLE_USER, prompts->pdata[i] };
      const char *kept = temper_answer_cache_lookup (cache, &question, 1);
      g_autoptr(GString) answer = NULL;
      guint cut_at = 0;

      if (o->stage != NULL)
        o->stage (_("Asking the base model general questions to keep its answers"),
                  (double) kept_records / wanted, o->stage_data);
      if (kept == NULL)
        {
          answer = g_string_new (NULL);
          if (!temper_answer_stream (gen, tmpl, &question, 1, REPLAY_MAX_TOKENS, collect, answer,
                                     o->cancellable, &cut_at, error))
            goto out;
          g_strstrip (answer->str);
          /* Cut or empty: nothing to keep; remembered as empty. */
          if (cut_at > 0)
            g_string_truncate (answer, 0);
          temper_answer_cache_store (cache, &question, 1, answer->str);
          kept = answer->str;
        }
      if (kept[0] != '\0')
        {
          add_record (out, prompts->pdata[i], kept);
          kept_records++;
        }
    }
  temper_answer_cache_save (cache);
  ok = temper_fs_write_file (path, out->str, (gssize) out->len, error);

out:
  temper_generator_free (gen);
  return ok;
}

gboolean
temper_train_replay_load (temper_run_t *run, const temper_model_t *model, const TemperTrainSettings *s,
                          const TemperDatasetOptions *dataset_options, const TemperTrainReplayOptions *o,
                          temper_dataset_t **replay, GError **error)
{
  g_autofree char *path = g_build_filename (temper_run_get_dir (run), "dataset", "replay.jsonl", NULL);
  g_autofree char *text = NULL;
  gsize length = 0;

  *replay = NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) && !write_replay (path, model, s->replay_records, o, error))
    return FALSE;
  if (g_file_get_contents (path, &text, &length, NULL) && length == 0)
    return TRUE;
  *replay = temper_dataset_load (path, dataset_options, error);
  if (*replay == NULL)
    {
      g_prefix_error (error, _("The base model's answers mixed into training could not be read: "));
      return FALSE;
    }
  return TRUE;
}
