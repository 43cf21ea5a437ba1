/* SPDX-License-Identifier: MIT */
/* test-evaluate.c — the forgetting and no-effect checks, the bundled general
 * questions, and a whole evaluation of a run on the tiny random Qwen2 model
 * with the PEFT adapter of tests/fixtures/eval: the files it writes and the
 * figures in them. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/evaluate.h"
#include "temper/metrics.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

#define source_path(...) g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), __VA_ARGS__)

static void
test_loss_fell (void)
{
  const double falling[] = { 2.0, 1.9, NAN, 1.5, 1.2, 1.0 };
  const double flat[] = { 2.0, 2.1, 1.95, 2.05, 2.0 };
  const double one[] = { 2.0 };

  g_assert_true (temper_evaluate_loss_fell (falling, G_N_ELEMENTS (falling)));
  /* The last fifth (2.0) is not below 95% of the first fifth (2.0). */
  g_assert_false (temper_evaluate_loss_fell (flat, G_N_ELEMENTS (flat)));
  g_assert_false (temper_evaluate_loss_fell (one, 1));
  g_assert_false (temper_evaluate_loss_fell (NULL, 0));
}

static void
test_expect (void)
{
  g_assert_true (temper_evaluate_expect_matches ("There are 7 days in a week.", "seven|7"));
  g_assert_true (temper_evaluate_expect_matches ("Seven.", "seven|7"));
  g_assert_false (temper_evaluate_expect_matches ("There are 17 of them.", "seven|7"));
  g_assert_true (temper_evaluate_expect_matches ("中国的首都是北京。", "北京"));
  g_assert_false (temper_evaluate_expect_matches ("中国的首都是哪里？", "北京"));
}

static void
test_bundled_questions (void)
{
  g_autofree char *path = source_path ("data", "eval", "general-knowledge.jsonl", NULL);
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GPtrArray) expects = NULL;
  g_autoptr(GError) error = NULL;
  guint chinese = 0;

  g_assert_true (temper_evaluate_load_general (path, &prompts, &expects, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (prompts->len, >=, 20);
  g_assert_cmpuint (prompts->len, <=, 30);
  for (guint i = 0; i < prompts->len; i++)
    {
      gunichar first = g_utf8_get_char (prompts->pdata[i]);
      chinese += g_unichar_get_script (first) == G_UNICODE_SCRIPT_HAN;
      g_assert_cmpstr (expects->pdata[i], !=, "");
    }
  /* Half English, half Chinese. */
  g_assert_cmpuint (2 * chinese, ==, prompts->len);
}

static void
test_bad_questions_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "q.jsonl", NULL);
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GPtrArray) expects = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "{\"prompt\": \"a\", \"expect\": \"b\"}\n{\"prompt\": 3}\n",
                                      -1, NULL));
  g_assert_false (temper_evaluate_load_general (path, &prompts, &expects, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, "line 2"));
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- A whole run on the tiny model ---- */

static const char data_jsonl[] =
  "{\"prompt\": \"Hello world! How are you today?\", \"response\": \"I am fine, thank you.\", "
  "\"expect\": \"fine|good\"}\n"
  "{\"prompt\": \"The quick <b>brown</b> fox & co\", \"response\": \"jumps over the lazy dog.\"}\n"
  "{\"prompt\": \"Temper teaches a local language model\", \"response\": \"a task with LoRA.\"}\n"
  "{\"prompt\": \"长城是中国古代的\", \"response\": \"军事防御工程。\"}\n";

static const char general_jsonl[] =
  "{\"prompt\": \"How are you today?\", \"expect\": \"fine\"}\n"
  "{\"prompt\": \"长城是什么？\", \"expect\": \"长城|工程\"}\n"
  "{\"prompt\": \"The quick brown fox\", \"expect\": \"dog\"}\n";

/* A run on the tiny model whose adapter is the PEFT fixture and whose loss
 * fell; with @untrained, a fresh adapter (B = 0, so it changes nothing) and
 * a loss that stayed flat. */
static char *
make_run_full (const char *tmp, gboolean untrained)
{
  g_autofree char *model = source_path ("tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *fixture_adapter = source_path ("tests", "fixtures", "eval", "tiny-qwen2-adapter", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *adapter_dir = NULL;
  char *run_dir = g_build_filename (tmp, "run", NULL);
  g_autoptr(temper_model_t) m = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings settings;
  TemperLoraConfig lora;

  g_assert_true (g_file_set_contents (data, data_jsonl, -1, NULL));
  temper_train_settings_init_default (&settings);
  settings.val_fraction = 0.5;
  settings.max_length = 64;
  run = temper_run_create (run_dir, &settings, model, data, NULL, &error);
  g_assert_no_error (error);

  m = temper_model_load (model, NULL, &error);
  g_assert_no_error (error);
  adapter = temper_lora_load_peft (fixture_adapter, temper_model_get_config (m), &lora, &error);
  g_assert_no_error (error);
  if (untrained)
    {
      temper_adapter_free (adapter);
      adapter = temper_lora_adapter_new (temper_model_get_config (m), &lora, 7, &error);
      g_assert_no_error (error);
    }
  adapter_dir = temper_run_dup_adapter_dir (run);
  g_assert_true (temper_lora_save_peft (adapter, temper_model_get_config (m), lora.dropout,
                                        adapter_dir, NULL, &error));
  g_assert_no_error (error);

  for (int step = 1; step <= 5; step++)
    {
      TemperRunMetrics metrics = { step, step / 5.0, untrained ? 3.0 : 3.0 - 0.5 * step, NAN,
                                   1e-4, 1.0, 100.0, step, 0 };
      g_assert_true (temper_run_append_metrics (run, &metrics, &error));
    }
  return run_dir;
}

static char *
make_run (const char *tmp)
{
  return make_run_full (tmp, FALSE);
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  return json_object_get_object_member (o, name);
}

/* The extra set's table in @html lists its records by chrF change, the
 * largest improvement first. */
static void
check_sorted_by_change (const char *html, JsonObject *set)
{
  JsonArray *records = json_object_get_array_member (set, "records");
  g_autofree char *heading = g_strdup_printf ("<h2>%s</h2>", json_object_get_string_member (set, "name"));
  const char *table = strstr (html, heading);
  const char *last_row = NULL;
  double last_change = INFINITY;

  g_assert_nonnull (table);
  /* Walk the records in the order the page shows them. */
  for (guint shown = 0; shown < json_array_get_length (records); shown++)
    {
      const char *next = NULL;
      double next_change = 0;

      for (guint r = 0; r < json_array_get_length (records); r++)
        {
          JsonObject *rec = json_array_get_object_element (records, r);
          g_autofree char *cell = g_markup_printf_escaped ("<td>%s</td>",
                                                           json_object_get_string_member (rec, "question"));
          const char *at = strstr (last_row != NULL ? last_row + 1 : table, cell);

          if (at != NULL && (next == NULL || at < next))
            {
              next = at;
              next_change = json_object_get_double_member (rec, "chrf_change");
            }
        }
      g_assert_nonnull (next);
      g_assert_cmpfloat (next_change, <=, last_change);
      last_row = next;
      last_change = next_change;
    }
}

static void
test_run (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run (tmp);
  g_autofree char *general = g_build_filename (tmp, "general.jsonl", NULL);
  g_autofree char *extra = g_build_filename (tmp, "data.jsonl", NULL);
  g_autofree char *html = NULL;
  g_autoptr(TemperEvaluation) ev = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  TemperEvaluateOptions options;
  JsonObject *root, *gen_obj;
  JsonArray *sets, *questions;
  guint forgotten = 0, gained = 0, base_right = 0;

  g_assert_true (g_file_set_contents (general, general_jsonl, -1, NULL));
  temper_evaluate_options_init (&options);
  options.n_threads = 1;
  options.max_tokens = 6;
  options.general_path = general;
  options.extra_path = extra;
  ev = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ev);

  /* Half of four records for validation, then the extra file's four. */
  g_assert_cmpuint (ev->sets->len, ==, 2);
  g_assert_cmpuint (g_array_index (ev->sets, TemperEvaluationSet, 0).n_records, ==, 2);
  g_assert_cmpuint (g_array_index (ev->sets, TemperEvaluationSet, 1).n_records, ==, 4);
  g_assert_cmpuint (ev->n_general, ==, 3);
  g_assert_true (ev->loss_fell);
  for (guint i = 0; i < ev->sets->len; i++)
    {
      const TemperEvaluationSet *s = &g_array_index (ev->sets, TemperEvaluationSet, i);
      g_assert_true (isfinite (s->perplexity[0]) && isfinite (s->perplexity[1]));
      /* The adapter's B matrices are not zero, so it changes every score. */
      g_assert_cmpfloat (fabs (s->perplexity[0] - s->perplexity[1]), >, 1e-3);
    }

  g_assert_true (json_parser_load_from_file (parser, ev->json_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  sets = json_object_get_array_member (root, "sets");
  g_assert_cmpuint (json_array_get_length (sets), ==, 2);
  for (guint i = 0; i < json_array_get_length (sets); i++)
    {
      JsonObject *set = json_array_get_object_element (sets, i);
      JsonArray *records = json_object_get_array_member (set, "records");
      double mean_rouge[2] = { 0, 0 };
      guint n = json_array_get_length (records);

      g_assert_cmpuint (n, ==, json_object_get_int_member (set, "n_records"));
      for (guint r = 0; r < n; r++)
        {
          JsonObject *rec = json_array_get_object_element (records, r);
          const char *reference = json_object_get_string_member (rec, "reference");
          const char *expect = json_object_get_string_member (rec, "expect");

          for (int m = 0; m < 2; m++)
            {
              JsonObject *side = member_object (rec, m == 0 ? "base" : "tuned");
              const char *answer = json_object_get_string_member (side, "answer");

              /* Every record's scores are those of its own answer. */
              g_assert_cmpfloat_with_epsilon (json_object_get_double_member (side, "chrf"),
                                              temper_chrf_sentence (answer, reference), 1e-12);
              g_assert_cmpfloat_with_epsilon (json_object_get_double_member (side, "rouge_l"),
                                              temper_rouge_l (answer, reference), 1e-12);
              mean_rouge[m] += temper_rouge_l (answer, reference) / n;
              /* "contains" looks for the record's expect phrases when it has them. */
              g_assert_cmpfloat (json_object_get_double_member (side, "contains"), ==,
                                 expect != NULL ? temper_evaluate_expect_matches (answer, expect)
                                                : temper_metrics_contains (answer, reference));
            }
        }
      /* The extra file is data.jsonl itself, whose first line has an expect member. */
      if (i == 1)
        g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (records, 0),
                                                        "expect"), ==, "fine|good");
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (member_object (set, "rouge_l"), "base"),
                                      mean_rouge[0], 1e-9);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (member_object (set, "rouge_l"), "tuned"),
                                      mean_rouge[1], 1e-9);
    }

  gen_obj = member_object (root, "general");
  questions = json_object_get_array_member (gen_obj, "questions");
  g_assert_cmpuint (json_array_get_length (questions), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *q = json_array_get_object_element (questions, i);
      const char *expect = json_object_get_string_member (q, "expect");
      gboolean right[2];

      for (int m = 0; m < 2; m++)
        {
          JsonObject *side = member_object (q, m == 0 ? "base" : "tuned");
          right[m] = json_object_get_boolean_member (side, "right");
          g_assert_cmpint (right[m], ==,
                           temper_evaluate_expect_matches (json_object_get_string_member (side, "answer"),
                                                           expect));
        }
      forgotten += right[0] && !right[1];
      gained += !right[0] && right[1];
      base_right += right[0];
    }
  g_assert_cmpuint (json_object_get_int_member (gen_obj, "forgotten"), ==, forgotten);
  g_assert_cmpuint (ev->general_forgotten, ==, forgotten);
  g_assert_cmpuint (json_object_get_int_member (gen_obj, "gained"), ==, gained);
  g_assert_cmpuint (ev->general_gained, ==, gained);
  /* Three questions: two lost more than gained is forgetting (the
   * threshold grows by one only from 24 questions on). */
  g_assert_cmpint (ev->forgetting, ==, forgotten >= gained + 2);
  g_assert_cmpuint (ev->general_right[0], ==, base_right);
  g_assert_nonnull (ev->findings[0]);

  g_assert_true (g_file_get_contents (ev->html_path, &html, NULL, NULL));
  g_assert_nonnull (strstr (html, "<meta charset=\"utf-8\">"));
  g_assert_nonnull (strstr (html, "<polyline class=\"loss\""));
  g_assert_nonnull (strstr (html, "长城是什么？"));
  g_assert_null (strstr (html, "<script"));
  /* Text from the dataset is escaped, never markup. */
  g_assert_nonnull (strstr (html, "The quick &lt;b&gt;brown&lt;/b&gt; fox &amp; co"));
  g_assert_null (strstr (html, "<b>brown"));
  check_sorted_by_change (html, json_array_get_object_element (sets, 1));
  test_remove_tree (tmp);
}

/* Perplexity is e to training's own loss.  The run trains on the same three
 * records it validates on, all in one micro-batch, for two steps: the
 * first step's loss is the base model's mean answer-token loss on them
 * (its adapter starts at zero), and the validation loss after the last
 * step is the saved adapter's.  The evaluation must find exactly these,
 * through the dataset reader, the chat template and the loss mask (the
 * last record has two answers, both scored). */
static void
test_perplexity_is_training_loss (void)
{
  static const char records[] =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Hello world! How are you today?\"}, "
    "{\"role\": \"assistant\", \"content\": \"I am fine, thank you.\"}]}\n"
    "{\"messages\": [{\"role\": \"user\", \"content\": \"长城是中国古代的\"}, "
    "{\"role\": \"assistant\", \"content\": \"军事防御工程。\"}]}\n"
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Count to five\"}, "
    "{\"role\": \"assistant\", \"content\": \"one two three\"}, "
    "{\"role\": \"user\", \"content\": \"and on\"}, "
    "{\"role\": \"assistant\", \"content\": \"four five\"}]}\n";
  g_autofree char *model_path = source_path ("tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (tmp, "records.jsonl", NULL);
  g_autofree char *general = g_build_filename (tmp, "general.jsonl", NULL);
  g_autofree char *run_dir = g_build_filename (tmp, "run", NULL);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autoptr(TemperEvaluation) ev = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings settings;
  TemperTrainOptions train_options;
  TemperEvaluateOptions options;
  const TemperEvaluationSet *set;
  double base_loss, tuned_loss;

  g_assert_true (g_file_set_contents (data, records, -1, NULL));
  g_assert_true (g_file_set_contents (general, general_jsonl, -1, NULL));
  temper_train_settings_init_default (&settings);
  settings.micro_batch = 3;
  settings.max_steps = 2;
  settings.max_length = 64;
  settings.learning_rate = 1e-2;
  settings.warmup_steps = 0;
  settings.lora.dropout = 0.0f;
  settings.eval_every = 1;
  settings.checkpoint_every = 0;
  /* Evaluation computes the loss in fp32: training must too, for the two to
   * agree to 1e-5 (fast mode's bfloat16 products move it by about 3e-3). */
  settings.exact = TRUE;
  run = temper_run_create (run_dir, &settings, model_path, data, data, &error);
  g_assert_no_error (error);
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  temper_train_options_init (&train_options);
  train_options.n_threads = 1;
  g_assert_true (temper_train_run (run, model, &train_options, &error));
  g_assert_no_error (error);
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 2);
  base_loss = g_array_index (metrics, TemperRunMetrics, 0).loss;
  tuned_loss = g_array_index (metrics, TemperRunMetrics, 1).val_loss;
  /* The two steps moved the adapter far enough to tell the two apart. */
  g_assert_cmpfloat (fabs (base_loss - tuned_loss), >, 1e-2);
  /* Done with: its lock goes, as when the app's training ends. */
  g_clear_pointer (&run, temper_run_free);

  temper_evaluate_options_init (&options);
  options.n_threads = 1;
  options.max_tokens = 2;
  options.general_path = general;
  ev = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);
  set = &g_array_index (ev->sets, TemperEvaluationSet, 0);
  g_assert_cmpuint (set->n_records, ==, 3);
  g_test_message ("perplexity base %.6f, e^loss %.6f; tuned %.6f, e^val_loss %.6f",
                  set->perplexity[0], exp (base_loss), set->perplexity[1], exp (tuned_loss));
  /* fp32 sums in another order: 1e-5 nats. */
  g_assert_cmpfloat_with_epsilon (log (set->perplexity[TEMPER_EVAL_BASE]), base_loss, 1e-5);
  g_assert_cmpfloat_with_epsilon (log (set->perplexity[TEMPER_EVAL_TUNED]), tuned_loss, 1e-5);
  test_remove_tree (tmp);
}

static gboolean
has_finding (const TemperEvaluation *ev, const char *words)
{
  for (guint i = 0; ev->findings[i] != NULL; i++)
    if (strstr (ev->findings[i], words) != NULL)
      return TRUE;
  return FALSE;
}

/* An adapter that changes nothing and a loss that never fell: every answer
 * is the base model's, and the findings say so and suggest changes. */
static void
test_no_effect (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run_full (tmp, TRUE);
  g_autofree char *general = g_build_filename (tmp, "general.jsonl", NULL);
  g_autoptr(TemperEvaluation) ev = NULL;
  g_autoptr(GError) error = NULL;
  TemperEvaluateOptions options;

  g_assert_true (g_file_set_contents (general, general_jsonl, -1, NULL));
  temper_evaluate_options_init (&options);
  options.n_threads = 1;
  options.max_tokens = 6;
  options.general_path = general;
  ev = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ev->n_asked, ==, 3 + 2);
  g_assert_cmpuint (ev->n_identical, ==, ev->n_asked);
  g_assert_false (ev->loss_fell);
  g_assert_true (ev->no_effect);
  g_assert_false (ev->forgetting);
  g_assert_true (has_finding (ev, "gave the same answer as the base model to 5 of 5 questions"));
  g_assert_true (has_finding (ev, "The training loss never fell"));
  g_assert_true (has_finding (ev, "more epochs"));
  g_assert_true (has_finding (ev, "learning rate"));
  g_assert_true (has_finding (ev, "target modules"));
  test_remove_tree (tmp);
}

/* Forgetting, made certain: the general questions are asked once, then
 * again with each "expect" set to the base model's own first answer.  The
 * base model is then right on all of them, and the tuned model wrong
 * wherever its answer does not hold the base model's. */
static void
test_forgetting (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run (tmp);
  g_autofree char *general = g_build_filename (tmp, "general.jsonl", NULL);
  g_autofree char *expected = NULL;
  g_autofree char *html = NULL;
  g_autoptr(GString) rigged = g_string_new (NULL);
  g_autoptr(TemperEvaluation) first = NULL;
  g_autoptr(TemperEvaluation) second = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  TemperEvaluateOptions options;
  JsonArray *questions;
  guint lost = 0;

  g_assert_true (g_file_set_contents (general, general_jsonl, -1, NULL));
  temper_evaluate_options_init (&options);
  options.n_threads = 1;
  options.max_tokens = 6;
  options.general_path = general;
  first = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, first->json_path, &error));
  questions = json_object_get_array_member (member_object (json_node_get_object (json_parser_get_root (parser)),
                                                           "general"), "questions");
  for (guint i = 0; i < json_array_get_length (questions); i++)
    {
      JsonObject *q = json_array_get_object_element (questions, i);
      const char *base = json_object_get_string_member (member_object (q, "base"), "answer");
      const char *tuned = json_object_get_string_member (member_object (q, "tuned"), "answer");
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *line = NULL;

      g_assert_cmpstr (base, !=, "");
      lost += !temper_evaluate_expect_matches (tuned, base);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "prompt");
      json_builder_add_string_value (b, json_object_get_string_member (q, "question"));
      json_builder_set_member_name (b, "expect");
      json_builder_add_string_value (b, base);
      json_builder_end_object (b);
      node = json_builder_get_root (b);
      line = json_to_string (node, FALSE);
      g_string_append_printf (rigged, "%s\n", line);
    }
  /* The fixture adapter changes the random model's answers. */
  g_assert_cmpuint (lost, >=, 2);
  g_assert_true (g_file_set_contents (general, rigged->str, -1, NULL));

  second = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (second->general_right[TEMPER_EVAL_BASE], ==, 3);
  g_assert_cmpuint (second->general_forgotten, ==, lost);
  g_assert_cmpuint (second->general_gained, ==, 0);
  g_assert_true (second->forgetting);
  expected = g_strdup_printf ("The tuned model got %u of 3 general questions wrong that the base "
                              "model answered right", lost);
  g_assert_cmpstr (strstr (second->findings[0], expected), ==, second->findings[0]);
  g_assert_true (g_file_get_contents (second->html_path, &html, NULL, NULL));
  g_assert_nonnull (strstr (html, "<p class=\"flag\">Warning: the tuned model forgot general knowledge."));
  test_remove_tree (tmp);
}

static void
test_no_adapter (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run (tmp);
  g_autofree char *adapter_dir = g_build_filename (run_dir, "adapter", NULL);
  g_autofree char *config = g_build_filename (adapter_dir, "adapter_config.json", NULL);
  g_autoptr(GError) error = NULL;

  g_unlink (config);
  g_assert_null (temper_evaluate_run (run_dir, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no finished adapter"));
  test_remove_tree (tmp);
}

static void
test_cancelled (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run (tmp);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *json = g_build_filename (run_dir, "evaluation.json", NULL);
  TemperEvaluateOptions options;

  temper_evaluate_options_init (&options);
  options.cancellable = cancellable;
  g_cancellable_cancel (cancellable);
  g_assert_null (temper_evaluate_run (run_dir, &options, &error));
  g_assert_nonnull (error);
  g_assert_false (g_file_test (json, G_FILE_TEST_EXISTS));
  test_remove_tree (tmp);
}

typedef struct {
  GCancellable *cancellable;
  guint         calls;
} CancelOnProgress;

static void
cancel_on_progress (const char *stage, double fraction, gpointer user_data)
{
  CancelOnProgress *c = user_data;

  c->calls++;
  g_cancellable_cancel (c->cancellable);
}

/* Cancelled from the first progress report, in the middle of the work: the
 * evaluation stops before the next record and writes nothing. */
static void
test_cancelled_while_running (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-eval-XXXXXX", NULL);
  g_autofree char *run_dir = make_run (tmp);
  g_autofree char *general = g_build_filename (tmp, "general.jsonl", NULL);
  g_autofree char *json = g_build_filename (run_dir, "evaluation.json", NULL);
  g_autofree char *html = g_build_filename (run_dir, "evaluation.html", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CancelOnProgress c = { cancellable, 0 };
  TemperEvaluateOptions options;

  g_assert_true (g_file_set_contents (general, general_jsonl, -1, NULL));
  temper_evaluate_options_init (&options);
  options.n_threads = 1;
  options.general_path = general;
  options.cancellable = cancellable;
  options.progress = cancel_on_progress;
  options.progress_data = &c;
  g_assert_null (temper_evaluate_run (run_dir, &options, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_assert_cmpuint (c.calls, ==, 1);
  g_assert_false (g_file_test (json, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (html, G_FILE_TEST_EXISTS));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/evaluate/loss-fell", test_loss_fell);
  g_test_add_func ("/evaluate/expect", test_expect);
  g_test_add_func ("/evaluate/bundled-questions", test_bundled_questions);
  g_test_add_func ("/evaluate/bad-questions-file", test_bad_questions_file);
  g_test_add_func ("/evaluate/run", test_run);
  g_test_add_func ("/evaluate/perplexity-is-training-loss", test_perplexity_is_training_loss);
  g_test_add_func ("/evaluate/no-effect", test_no_effect);
  g_test_add_func ("/evaluate/forgetting", test_forgetting);
  g_test_add_func ("/evaluate/no-adapter", test_no_adapter);
  g_test_add_func ("/evaluate/cancelled", test_cancelled);
  g_test_add_func ("/evaluate/cancelled-while-running", test_cancelled_while_running);
  return g_test_run ();
}
