/* SPDX-License-Identifier: MIT */
/* test-compare.c — the Compare page on a real run of the tiny random Qwen2
 * model, trained here for a few steps on the CPU.
 *
 * Expectations come from elsewhere than the page: the answers from the
 * engine's own generator run greedily with the run's adapter (and a
 * checkpoint's), the prompts from the dataset split of the run's seed, the
 * blind order from a second TemperRatings with the same seed, the win rate
 * from Wilson's formula written out below, the exported files by parsing
 * them back, and the evaluation figures from the evaluation.json the engine
 * wrote. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/generate.h"
#include "temper/run.h"
#include "temper/train.h"
#include "gui-test-util.h"
#include "temper-answer-column.h"
#include "temper-compare-page.h"
#include "temper-evaluation-group.h"
#include "temper-loaded-model.h"
#include "temper/ratings.h"
#include "../test-tree.h"

#define MAX_TOKENS 10
#define TRAIN_STEPS 3

typedef struct {
  char              *tmp;
  char              *run_dir;
  TemperLoadedModel *model;
} Fixture;

static char *
source_path (const char *first, ...)
{
  const char *root = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (parts, (gpointer) root);
  va_start (args, first);
  for (const char *p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

/* Eight questions and answers; half go to validation. */
static const char data_jsonl[] =
  "{\"prompt\": \"What is the capital of France?\", \"response\": \"Paris.\"}\n"
  "{\"prompt\": \"What is the capital of Spain?\", \"response\": \"Madrid.\"}\n"
  "{\"prompt\": \"The quick brown fox\", \"response\": \"jumps over the lazy dog.\"}\n"
  "{\"prompt\": \"Temper teaches a local language model\", \"response\": \"a task, with LoRA.\"}\n"
  "{\"prompt\": \"长城是中国古代的\", \"response\": \"军事防御工程。\"}\n"
  "{\"prompt\": \"How are you today?\", \"response\": \"I am fine, \\\"thank you\\\".\"}\n"
  "{\"prompt\": \"Name a colour, please\", \"response\": \"Blue, green, or red.\"}\n"
  "{\"prompt\": \"Count to three\", \"response\": \"One, two, three.\"}\n";

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *model_path = source_path ("tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *data_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainSettings settings;
  TemperTrainOptions options;

  fixture->tmp = g_dir_make_tmp ("temper-compare-XXXXXX", &error);
  g_assert_no_error (error);
  data_path = g_build_filename (fixture->tmp, "data.jsonl", NULL);
  g_assert_true (g_file_set_contents (data_path, data_jsonl, -1, NULL));
  fixture->run_dir = g_build_filename (fixture->tmp, "run", NULL);

  /* A real run: a few steps with a large learning rate, so the adapter
   * moves the answers, and a checkpoint after every step. */
  temper_train_settings_init_default (&settings);
  settings.val_fraction = 0.5;
  settings.max_length = 64;
  settings.max_steps = TRAIN_STEPS;
  settings.micro_batch = 2;
  settings.grad_accum = 1;
  settings.learning_rate = 0.05;
  settings.warmup_steps = 0;
  settings.checkpoint_every = 1;
  settings.lora.dropout = 0;
  run = temper_run_create (fixture->run_dir, &settings, model_path, data_path, NULL, &error);
  g_assert_no_error (error);
  fixture->model = temper_loaded_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_true (temper_train_run_shared (run, temper_loaded_model_get_model (fixture->model),
                                   &options, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->model);
  test_remove_tree (fixture->tmp);
  g_free (fixture->tmp);
  g_free (fixture->run_dir);
}

static gboolean
page_idle (gpointer data)
{
  return !temper_compare_page_is_busy (data);
}

/* Where the second answer column is, seen from the first. */
static void
second_column_offset (TemperComparePage *page,
                      double            *dx,
                      double            *dy)
{
  graphene_point_t a = { 0, 0 }, b = { 0, 0 };

  if (!gtk_widget_compute_point (temper_compare_page_get_column (page, 0), GTK_WIDGET (page),
                                 &GRAPHENE_POINT_INIT (0, 0), &a) ||
      !gtk_widget_compute_point (temper_compare_page_get_column (page, 1), GTK_WIDGET (page),
                                 &GRAPHENE_POINT_INIT (0, 0), &b))
    a = b;
  *dx = b.x - a.x;
  *dy = b.y - a.y;
}

static gboolean
columns_stacked (gpointer data)
{
  double dx, dy;

  second_column_offset (data, &dx, &dy);
  return dy > 0;
}

static gboolean
columns_side_by_side (gpointer data)
{
  double dx, dy;

  second_column_offset (data, &dx, &dy);
  return dx > 0 && dy < 1 && dy > -1;
}

static gboolean
evaluation_idle (gpointer data)
{
  return !temper_evaluation_group_is_busy (data);
}

static void
count_insert (GtkTextBuffer *buffer,
              GtkTextIter   *where,
              const char    *text,
              int            len,
              gpointer       user_data)
{
  guint *n = user_data;

  (*n)++;
}

static gboolean
collect (const char *text, gsize len, gpointer user_data)
{
  g_string_append_len (user_data, text, (gssize) len);
  return TRUE;
}

/* The engine's own greedy answer to @prompt, with the adapter in
 * @adapter_dir (NULL: the base model); @cut_at (may be NULL) receives the
 * tokens generated when the length limit stopped it, else 0. */
static char *
engine_answer_full (TemperLoadedModel *loaded,
                    const char        *adapter_dir,
                    const char        *prompt,
                    guint             *cut_at)
{
  const temper_model_t *model = temper_loaded_model_get_model (loaded);
  g_autoptr(temper_chat_template_t) tmpl = temper_chat_template_new (temper_model_get_chat_template (model),
                                                                      temper_model_get_tokenizer (model));
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  TemperGeneratorOptions options = { 0 };
  TemperChatMessage message = { TEMPER_CHAT_ROLE_USER, prompt };
  TemperChatTokens tokens = { 0 };
  TemperSamplingParams params;
  GString *text = g_string_new (NULL);
  TemperGenerateResult result = { 0 };

  gen = temper_generator_new (model, &options, &error);
  g_assert_no_error (error);
  if (adapter_dir != NULL)
    {
      adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, &error);
      g_assert_no_error (error);
      g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
    }
  temper_sampling_params_init (&params);
  params.temperature = 0.0f;
  params.repeat_penalty = 1.0f;
  params.max_tokens = MAX_TOKENS;
  g_assert_true (temper_chat_template_tokenize (tmpl, &message, 1, TRUE, &tokens, &error));
  g_assert_true (temper_generator_generate (gen, (const gint32 *) tokens.ids->data, tokens.ids->len, &params,
                                            collect, text, NULL, &result, &error));
  g_assert_no_error (error);
  if (cut_at != NULL)
    *cut_at = result.stop_reason == TEMPER_STOP_MAX_TOKENS ? result.tokens->len : 0;
  temper_generate_result_clear (&result);
  temper_chat_tokens_clear (&tokens);
  return g_string_free (text, FALSE);
}

static char *
engine_answer (TemperLoadedModel *loaded,
               const char        *adapter_dir,
               const char        *prompt)
{
  return engine_answer_full (loaded, adapter_dir, prompt, NULL);
}

/* The validation questions, as the run's split picks them; @training
 * (may be NULL) receives the first five questions of the training part. */
static GPtrArray *
split_questions (const char  *run_dir,
                 GPtrArray  **training)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);
  g_autoptr(temper_dataset_t) data = NULL;
  g_autoptr(GArray) train = NULL;
  g_autoptr(GArray) validation = NULL;
  GPtrArray *questions = g_ptr_array_new_with_free_func (g_free);
  TemperDatasetOptions options;

  g_assert_no_error (error);
  temper_dataset_options_init (&options);
  data = temper_dataset_load (temper_run_get_data_path (run), &options, &error);
  g_assert_no_error (error);
  temper_dataset_split (data, temper_run_get_settings (run)->val_fraction, temper_run_get_settings (run)->seed,
                        &train, &validation);
  for (guint i = 0; i < validation->len; i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (data, g_array_index (validation, guint, i));

      g_assert_cmpint (r->messages[0].role, ==, TEMPER_CHAT_ROLE_USER);
      g_ptr_array_add (questions, g_strdup (r->messages[0].content));
    }
  if (training != NULL)
    {
      *training = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < train->len && i < 5; i++)
        {
          const TemperDatasetRecord *r = temper_dataset_get_record (data, g_array_index (train, guint, i));

          g_ptr_array_add (*training, g_strdup (r->messages[0].content));
        }
    }
  return questions;
}

static const char *
origin_shown (TemperComparePage *page)
{
  GtkWidget *label = gui_test_find_named (GTK_WIDGET (page), "prompt-origin");

  g_assert_nonnull (label);
  return gtk_widget_get_visible (label) ? gtk_label_get_text (GTK_LABEL (label)) : NULL;
}

static char *
adapter_of (const char *run_dir,
            const char *source,
            TemperComparePage *page)
{
  if (g_str_equal (source, TEMPER_RATINGS_BASE))
    return NULL;
  if (g_str_equal (source, TEMPER_RATINGS_FINAL))
    return g_build_filename (run_dir, "adapter", NULL);
  for (guint i = 0; i < temper_compare_page_get_n_checkpoints (page); i++)
    {
      gint64 step = temper_compare_page_get_checkpoint_step (page, i);
      g_autofree char *id = g_strdup_printf ("step-%" G_GINT64_FORMAT, step);
      g_autofree char *leaf = g_strdup_printf ("step-%08" G_GINT64_FORMAT, step);

      if (g_str_equal (id, source))
        return g_build_filename (run_dir, "checkpoints", leaf, NULL);
    }
  g_assert_not_reached ();
}

static char *
column_text (TemperComparePage *page,
             guint              i)
{
  return temper_answer_column_dup_text (TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (page, i)));
}

/* Every column of the shown prompt holds the engine's answer of its model. */
static void
check_columns_match_engine (TemperComparePage *page,
                            Fixture           *fixture)
{
  TemperRatings *ratings = temper_compare_page_get_ratings (page);
  const char *prompt = temper_ratings_get_prompt (ratings, temper_compare_page_get_prompt (page));

  for (guint c = 0; c < temper_compare_page_get_n_columns (page); c++)
    {
      const char *source = temper_compare_page_get_column_source (page, c);
      g_autofree char *dir = adapter_of (fixture->run_dir, source, page);
      g_autofree char *expected = engine_answer (fixture->model, dir, prompt);
      g_autofree char *shown = column_text (page, c);

      g_assert_cmpstr (shown, ==, expected);
    }
}

/* Wilson's 95% interval, written out independently of the engine's. */
static void
wilson (double wins, double n, double *p, double *low, double *high)
{
  const double z = 1.959963984540054;
  double centre, half;

  *p = wins / n;
  centre = (*p + z * z / (2 * n)) / (1 + z * z / n);
  half = z / (1 + z * z / n) * sqrt (*p * (1 - *p) / n + z * z / (4 * n * n));
  *low = fmax (0, centre - half);
  *high = fmin (1, centre + half);
}

/* RFC 4180 rows: quoted fields may hold commas, quotes and line breaks. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE;

  for (const char *c = text; *c != '\0'; c++)
    {
      if (quoted)
        {
          if (*c == '"' && c[1] == '"')
            g_string_append_c (field, *c++);
          else if (*c == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *c);
        }
      else if (*c == '"')
        quoted = TRUE;
      else if (*c == ',')
        {
          g_ptr_array_add (row, g_string_free (g_steal_pointer (&field), FALSE));
          field = g_string_new (NULL);
        }
      else if (*c == '\r' && c[1] == '\n')
        {
          c++;
          g_ptr_array_add (row, g_string_free (g_steal_pointer (&field), FALSE));
          field = g_string_new (NULL);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
        }
      else
        g_string_append_c (field, *c);
    }
  g_assert_cmpuint (field->len, ==, 0);
  g_assert_cmpuint (row->len, ==, 0);
  g_string_free (field, TRUE);
  g_ptr_array_unref (row);
  return rows;
}

static GtkWidget *
column_of (TemperComparePage *page,
           const char        *source)
{
  for (guint c = 0; c < temper_compare_page_get_n_columns (page); c++)
    if (g_str_equal (temper_compare_page_get_column_source (page, c), source))
      return temper_compare_page_get_column (page, c);
  g_assert_not_reached ();
}

static void
test_compare (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) training = NULL;
  g_autoptr(GPtrArray) questions = split_questions (fixture->run_dir, &training);
  g_autoptr(GError) error = NULL;
  g_autofree char *csv_path = g_build_filename (fixture->tmp, "ratings export.csv", NULL);
  g_autofree char *json_path = g_build_filename (fixture->tmp, "ratings.json.export", NULL);
  g_autofree char *saved_path = g_build_filename (fixture->run_dir, "ratings.json", NULL);
  const char *own = "Write one word, \"hello\", in French";
  GtkWidget *window = gtk_window_new ();
  TemperComparePage *page = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);
  g_autoptr(TemperRatings) ratings = NULL;
  TemperRatingsSummary summary;
  guint n_prompts, n_differ = 0, n_cut = 0;
  char *verdicts[3];
  /* "PROMPT:SOURCE" → where the engine's own generation cut that answer */
  g_autoptr(GHashTable) engine_cuts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));

  temper_compare_page_set_max_tokens (page, MAX_TOKENS);
  temper_compare_page_set_run (page, fixture->run_dir, fixture->model);
  g_assert_true (gui_test_wait_for (page_idle, page, 30000));
  /* Kept past the page, to compare with what a new page reads back. */
  ratings = g_object_ref (temper_compare_page_get_ratings (page));

  /* The validation questions, in the split's order, then the first
   * training questions, each labelled; then one of our own. */
  g_assert_cmpuint (questions->len, ==, 4);
  g_assert_cmpuint (training->len, ==, 4);
  g_assert_cmpuint (temper_ratings_get_n_prompts (ratings), ==, questions->len + training->len);
  for (guint i = 0; i < questions->len; i++)
    {
      g_assert_cmpstr (temper_ratings_get_prompt (ratings, i), ==, questions->pdata[i]);
      g_assert_cmpint (temper_ratings_get_origin (ratings, i), ==, TEMPER_PROMPT_FROM_VALIDATION);
    }
  for (guint i = 0; i < training->len; i++)
    {
      g_assert_cmpstr (temper_ratings_get_prompt (ratings, questions->len + i), ==, training->pdata[i]);
      g_assert_cmpint (temper_ratings_get_origin (ratings, questions->len + i), ==, TEMPER_PROMPT_FROM_TRAINING);
    }
  g_assert_cmpstr (origin_shown (page), ==, "Not seen in training");
  temper_compare_page_show_prompt (page, questions->len);
  g_assert_cmpstr (origin_shown (page), ==, "From your training data");
  temper_compare_page_add_prompt (page, own);
  n_prompts = temper_ratings_get_n_prompts (ratings);
  g_assert_cmpuint (n_prompts, ==, questions->len + training->len + 1);
  g_assert_cmpuint (temper_compare_page_get_prompt (page), ==, n_prompts - 1);
  g_assert_cmpint (temper_ratings_get_origin (ratings, n_prompts - 1), ==, TEMPER_PROMPT_FROM_PERSON);
  g_assert_cmpstr (origin_shown (page), ==, "Your own question");

  /* Base and tuned, labelled, before blind mode. */
  g_assert_cmpuint (temper_compare_page_get_n_columns (page), ==, 2);
  g_assert_cmpstr (temper_compare_page_get_column_source (page, 0), ==, TEMPER_RATINGS_BASE);
  g_assert_cmpstr (temper_compare_page_get_column_source (page, 1), ==, TEMPER_RATINGS_FINAL);
  g_assert_cmpstr (temper_answer_column_get_title (TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (page, 0))),
                   ==, "Base Model");
  g_assert_cmpstr (temper_answer_column_get_title (TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (page, 1))),
                   ==, "Tuned Model");
  g_assert_cmpuint (temper_compare_page_get_n_checkpoints (page), >=, 2);

  /* Generate: the worker streams while the main loop keeps running; the
   * shown prompt's tuned answer arrives in pieces, not all at once. */
  {
    GtkWidget *view = gui_test_find_named (temper_compare_page_get_column (page, 1), "answer-text");
    guint n_inserts = 0;
    gulong handler = g_signal_connect (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), "insert-text",
                                               G_CALLBACK (count_insert), &n_inserts);

    gtk_widget_activate_action (GTK_WIDGET (page), "page.generate", NULL);
    g_assert_true (temper_compare_page_is_generating (page));
    g_assert_true (gui_test_wait_for (page_idle, page, 120000));
    g_signal_handler_disconnect (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), handler);
    g_assert_cmpuint (n_inserts, >=, 2);
  }
  for (guint p = 0; p < n_prompts; p++)
    {
      g_autofree char *adapter = g_build_filename (fixture->run_dir, "adapter", NULL);
      g_autofree char *base = engine_answer (fixture->model, NULL, temper_ratings_get_prompt (ratings, p));
      g_autofree char *tuned = engine_answer (fixture->model, adapter, temper_ratings_get_prompt (ratings, p));

      g_assert_true (temper_ratings_has_answers (ratings, p));
      g_assert_cmpstr (temper_ratings_get_answer (ratings, p, TEMPER_RATINGS_BASE), ==, base);
      g_assert_cmpstr (temper_ratings_get_answer (ratings, p, TEMPER_RATINGS_FINAL), ==, tuned);
      n_differ += strcmp (base, tuned) != 0;
      temper_compare_page_show_prompt (page, p);
      check_columns_match_engine (page, fixture);
      /* An answer the length limit stopped says where; one the model
       * ended does not. */
      for (guint c = 0; c < temper_compare_page_get_n_columns (page); c++)
        {
          const char *source = temper_compare_page_get_column_source (page, c);
          g_autofree char *dir = adapter_of (fixture->run_dir, source, page);
          guint cut_at = 0;
          g_autofree char *answer = engine_answer_full (fixture->model, dir, temper_ratings_get_prompt (ratings, p),
                                                        &cut_at);
          GtkWidget *label = gui_test_find_named (temper_compare_page_get_column (page, c), "answer-cut");

          g_assert_nonnull (answer);
          g_assert_cmpint (gtk_widget_get_child_visible (label), ==, cut_at > 0);
          g_hash_table_insert (engine_cuts, g_strdup_printf ("%u:%s", p, source), GUINT_TO_POINTER (cut_at));
          if (cut_at > 0)
            {
              g_autofree char *expected = g_strdup_printf ("Cut at %u tokens: the answer goes on", cut_at);

              g_assert_cmpuint (cut_at, ==, MAX_TOKENS);
              g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, expected);
              n_cut++;
            }
        }
    }
  /* The training moved the answers, so a mixed-up column would show. */
  g_assert_cmpuint (n_differ, >, 0);
  /* Ten tokens cut the random model's answers. */
  g_assert_cmpuint (n_cut, >, 0);

  /* A narrow window stacks the answers instead of squeezing them (a second
   * page on the same run, which reads the answers just saved); the
   * picture is kept with the other screenshots. */
  g_assert_true (gui_test_wait_for (columns_side_by_side, page, 10000));
  {
    const char *build_dir = g_getenv ("TEMPER_BUILD_DIR");
    g_autofree char *folder = g_build_filename (build_dir != NULL ? build_dir : ".", "tests", "gui", "screenshots", "en", NULL);
    g_autofree char *png = g_build_filename (folder, "12f-compare-narrow.png", NULL);
    GtkWidget *narrow_window = gtk_window_new ();
    TemperComparePage *narrow = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);

    gtk_window_set_default_size (GTK_WINDOW (narrow_window), 420, 800);
    gtk_window_set_child (GTK_WINDOW (narrow_window), GTK_WIDGET (narrow));
    gtk_window_present (GTK_WINDOW (narrow_window));
    temper_compare_page_set_run (narrow, fixture->run_dir, fixture->model);
    g_assert_true (gui_test_wait_for (page_idle, narrow, 30000));
    /* Reopened, the run says again where the length limit cut an answer
     * (ratings.json keeps it). */
    for (guint p = 0; p < n_prompts; p++)
      {
        temper_compare_page_show_prompt (narrow, p);
        for (guint c = 0; c < temper_compare_page_get_n_columns (narrow); c++)
          {
            g_autofree char *key = g_strdup_printf ("%u:%s", p, temper_compare_page_get_column_source (narrow, c));
            guint cut_at = GPOINTER_TO_UINT (g_hash_table_lookup (engine_cuts, key));
            GtkWidget *label = gui_test_find_named (temper_compare_page_get_column (narrow, c), "answer-cut");

            g_assert_true (g_hash_table_contains (engine_cuts, key));
            g_assert_cmpint (gtk_widget_get_child_visible (label), ==, cut_at > 0);
            if (cut_at > 0)
              {
                g_autofree char *expected = g_strdup_printf ("Cut at %u tokens: the answer goes on", cut_at);

                g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, expected);
              }
          }
      }
    temper_compare_page_show_prompt (narrow, 0);
    g_assert_true (gui_test_wait_for (columns_stacked, narrow, 10000));
    gui_test_settle (100);
    g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
    gui_test_save_png (narrow_window, png, NULL, NULL, &error);
    g_assert_no_error (error);
    gtk_window_destroy (GTK_WINDOW (narrow_window));
  }

  /* Blind mode: letters for titles, and the ratings' seeded order. */
  temper_compare_page_set_blind (page, TRUE);
  {
    g_autoptr(TemperRatings) twin = temper_ratings_new (temper_ratings_get_seed (ratings));

    for (guint p = 0; p < n_prompts; p++)
      {
        guint order[TEMPER_RATINGS_MAX_SOURCES];

        temper_ratings_add_prompt (twin, temper_ratings_get_prompt (ratings, p), TEMPER_PROMPT_FROM_PERSON);
        temper_ratings_get_order (twin, p, order);
        temper_compare_page_show_prompt (page, p);
        for (guint c = 0; c < 2; c++)
          {
            const char *title = temper_answer_column_get_title (TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (page, c)));
            g_autofree char *expected_title = g_strdup_printf ("Answer %c", 'A' + c);

            g_assert_cmpstr (title, ==, expected_title);
            g_assert_cmpstr (temper_compare_page_get_column_source (page, c), ==,
                             temper_ratings_get_source (twin, order[c]));
          }
        check_columns_match_engine (page, fixture);
      }
  }
  /* Over many prompts of a fixed seed, both orders come up, in roughly
   * equal numbers. */
  {
    g_autoptr(TemperRatings) fixed = temper_ratings_new (20261123);
    guint swapped = 0;

    for (guint p = 0; p < 200; p++)
      {
        guint order[TEMPER_RATINGS_MAX_SOURCES];

        temper_ratings_get_order (fixed, p, order);
        g_assert_true ((order[0] == 0 && order[1] == 1) || (order[0] == 1 && order[1] == 0));
        swapped += order[0] == 1;
      }
    g_assert_cmpuint (swapped, >, 70);
    g_assert_cmpuint (swapped, <, 130);
  }

  /* Judge three prompts through the controls: tuned better, base better,
   * a tie; scores and a note on the first. */
  temper_compare_page_show_prompt (page, 0);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gui_test_find_named (column_of (page, TEMPER_RATINGS_FINAL), "better-button")), TRUE);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (gui_test_find_named (column_of (page, TEMPER_RATINGS_FINAL), "relevance-score")), 4);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (gui_test_find_named (column_of (page, TEMPER_RATINGS_BASE), "style-score")), 2);
  gtk_editable_set_text (GTK_EDITABLE (gui_test_find_named (GTK_WIDGET (page), "note-row")), "Shorter, \"better\",\nclearer");
  temper_compare_page_show_prompt (page, 1);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gui_test_find_named (column_of (page, TEMPER_RATINGS_BASE), "better-button")), TRUE);
  temper_compare_page_show_prompt (page, 2);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gui_test_find_named (GTK_WIDGET (page), "tie-button")), TRUE);
  verdicts[0] = TEMPER_RATINGS_FINAL;
  verdicts[1] = TEMPER_RATINGS_BASE;
  verdicts[2] = TEMPER_RATINGS_TIE;
  for (guint p = 0; p < 3; p++)
    g_assert_cmpstr (temper_ratings_get_verdict (ratings, p), ==, verdicts[p]);
  g_assert_cmpint (temper_ratings_get_score (ratings, 0, TEMPER_RATINGS_FINAL, TEMPER_ASPECT_RELEVANCE), ==, 4);
  g_assert_cmpint (temper_ratings_get_score (ratings, 0, TEMPER_RATINGS_BASE, TEMPER_ASPECT_STYLE), ==, 2);
  g_assert_cmpstr (temper_ratings_get_note (ratings, 0), ==, "Shorter, \"better\",\nclearer");

  /* The summary: one win, one loss, one tie of five prompts. */
  temper_ratings_get_summary (ratings, &summary);
  g_assert_cmpuint (summary.wins, ==, 1);
  g_assert_cmpuint (summary.losses, ==, 1);
  g_assert_cmpuint (summary.ties, ==, 1);
  g_assert_cmpuint (summary.n_judged, ==, 3);
  {
    double p, low, high;
    g_autofree char *shown = NULL;

    wilson (1 + 0.5, 3, &p, &low, &high);
    g_assert_cmpfloat_with_epsilon (summary.rate, p, 1e-12);
    g_assert_cmpfloat_with_epsilon (summary.low, low, 1e-12);
    g_assert_cmpfloat_with_epsilon (summary.high, high, 1e-12);
    shown = g_strdup_printf ("%.0f%% (95%% confidence: %.0f–%.0f%%)", 100 * p, 100 * low, 100 * high);
    g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (GTK_WIDGET (page), "win-rate"))),
                     ==, shown);
    g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (GTK_WIDGET (page), "judgement-counts"))),
                     ==, "1 tuned better · 1 base better · 1 tie · 6 not judged");
  }

  /* Export: CSV, one row per answer; JSON with the summary. */
  g_assert_true (temper_compare_page_export (page, csv_path, "csv", &error));
  g_assert_no_error (error);
  g_assert_true (temper_compare_page_export (page, json_path, "json", &error));
  g_assert_no_error (error);
  {
    g_autofree char *text = NULL;
    g_autoptr(GPtrArray) rows = NULL;

    g_assert_true (g_file_get_contents (csv_path, &text, NULL, NULL));
    rows = parse_csv (text);
    g_assert_cmpuint (rows->len, ==, 1 + 2 * n_prompts);
    g_assert_cmpstr (((GPtrArray *) rows->pdata[0])->pdata[0], ==, "prompt_number");
    for (guint r = 1; r < rows->len; r++)
      {
        GPtrArray *row = rows->pdata[r];
        guint p = (r - 1) / 2;
        const char *source = row->pdata[3];
        guint order[TEMPER_RATINGS_MAX_SOURCES];
        guint s = g_str_equal (source, TEMPER_RATINGS_BASE) ? 0 : 1;
        char position[2] = { 0, 0 };

        g_assert_cmpuint (row->len, ==, 11);
        g_assert_cmpuint (g_ascii_strtoull (row->pdata[0], NULL, 10), ==, p + 1);
        g_assert_cmpstr (row->pdata[1], ==, temper_ratings_get_prompt (ratings, p));
        g_assert_cmpstr (row->pdata[2], ==, p < questions->len ? "validation"
                                            : p < questions->len + training->len ? "training" : "own");
        g_assert_cmpstr (source, ==, temper_ratings_get_source (ratings, (r - 1) % 2));
        temper_ratings_get_order (ratings, p, order);
        position[0] = order[0] == s ? 'A' : 'B';
        g_assert_cmpstr (row->pdata[4], ==, position);
        g_assert_cmpstr (row->pdata[5], ==, temper_ratings_get_answer (ratings, p, source));
        g_assert_cmpstr (row->pdata[9], ==, p < 3 ? verdicts[p] : "");
        if (p == 0)
          {
            g_assert_cmpstr (row->pdata[6], ==, s == 1 ? "4" : "");
            g_assert_cmpstr (row->pdata[8], ==, s == 0 ? "2" : "");
            g_assert_cmpstr (row->pdata[10], ==, "Shorter, \"better\",\nclearer");
          }
      }
  }
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *root, *s;
    JsonArray *prompts;
    double p, low, high;

    g_assert_true (json_parser_load_from_file (parser, json_path, &error));
    g_assert_no_error (error);
    root = json_node_get_object (json_parser_get_root (parser));
    s = json_object_get_object_member (root, "summary");
    wilson (1.5, 3, &p, &low, &high);
    g_assert_cmpint (json_object_get_int_member (s, "tuned_better"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (s, "base_better"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (s, "ties"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (s, "prompts"), ==, n_prompts);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (s, "win_rate"), p, 1e-12);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (json_object_get_array_member (s, "win_rate_95"), 0), low, 1e-12);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (json_object_get_array_member (s, "win_rate_95"), 1), high, 1e-12);
    prompts = json_object_get_array_member (root, "prompts");
    g_assert_cmpuint (json_array_get_length (prompts), ==, n_prompts);
    for (guint i = 0; i < n_prompts; i++)
      {
        JsonObject *o = json_array_get_object_element (prompts, i);
        JsonArray *order = json_object_get_array_member (o, "blind_order");
        guint drawn[TEMPER_RATINGS_MAX_SOURCES];

        /* The order shown is written with each prompt. */
        temper_ratings_get_order (ratings, i, drawn);
        for (guint k = 0; k < 2; k++)
          g_assert_cmpstr (json_array_get_string_element (order, k), ==, temper_ratings_get_source (ratings, drawn[k]));
        g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_object_get_object_member (o, "answers"), "final"), "text"),
                         ==, temper_ratings_get_answer (ratings, i, TEMPER_RATINGS_FINAL));
      }
  }

  /* A third column: a checkpoint's answers, also the engine's. */
  temper_compare_page_set_blind (page, FALSE);
  temper_compare_page_set_checkpoint_shown (page, 0, TRUE);
  g_assert_cmpuint (temper_compare_page_get_n_columns (page), ==, 3);
  g_assert_true (g_str_has_prefix (temper_compare_page_get_column_source (page, 1), "step-"));
  g_assert_true (g_str_has_prefix (temper_answer_column_get_title (TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (page, 1))),
                                   "Checkpoint at Step "));
  temper_compare_page_generate (page);
  g_assert_true (gui_test_wait_for (page_idle, page, 120000));
  for (guint p = 0; p < n_prompts; p++)
    {
      g_assert_true (temper_ratings_has_answers (ratings, p));
      temper_compare_page_show_prompt (page, p);
      check_columns_match_engine (page, fixture);
    }
  /* Judgements made before stay. */
  g_assert_cmpstr (temper_ratings_get_verdict (ratings, 0), ==, TEMPER_RATINGS_FINAL);

  /* Stopping leaves the page free at once, and what the worker still
   * sends is dropped (stopped before the main loop ran, so that the tiny
   * model cannot finish first). */
  temper_compare_page_set_max_tokens (page, 200);
  temper_compare_page_add_prompt (page, "Tell a long story about a fox");
  temper_compare_page_generate (page);
  g_assert_true (temper_compare_page_is_generating (page));
  temper_compare_page_stop (page);
  g_assert_false (temper_compare_page_is_generating (page));
  gui_test_settle (500);
  g_assert_null (temper_ratings_get_answer (ratings, n_prompts, TEMPER_RATINGS_BASE));
  g_assert_false (temper_ratings_has_answers (ratings, n_prompts));

  /* Everything is in RUN/ratings.json: a new page for the same run shows it. */
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_assert_true (g_file_test (saved_path, G_FILE_TEST_IS_REGULAR));
  {
    GtkWidget *again_window = gtk_window_new ();
    TemperComparePage *again = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);
    TemperRatings *restored;

    gtk_window_set_child (GTK_WINDOW (again_window), GTK_WIDGET (again));
    gtk_window_present (GTK_WINDOW (again_window));
    temper_compare_page_set_run (again, fixture->run_dir, fixture->model);
    g_assert_true (gui_test_wait_for (page_idle, again, 30000));
    restored = temper_compare_page_get_ratings (again);
    g_assert_cmpuint (temper_ratings_get_seed (restored), ==, temper_ratings_get_seed (ratings));
    g_assert_cmpuint (temper_ratings_get_n_prompts (restored), ==, n_prompts + 1);
    g_assert_cmpuint (temper_compare_page_get_n_columns (again), ==, 3);
    for (guint p = 0; p < n_prompts; p++)
      {
        g_assert_true (temper_ratings_has_answers (restored, p));
        g_assert_cmpstr (temper_ratings_get_verdict (restored, p), ==, p < 3 ? verdicts[p] : NULL);
        g_assert_cmpstr (temper_ratings_get_answer (restored, p, TEMPER_RATINGS_BASE), ==,
                         temper_ratings_get_answer (ratings, p, TEMPER_RATINGS_BASE));
      }
    g_assert_false (temper_ratings_has_answers (restored, n_prompts));
    g_assert_cmpstr (temper_ratings_get_note (restored, 0), ==, "Shorter, \"better\",\nclearer");
    g_assert_cmpint (temper_ratings_get_score (restored, 0, TEMPER_RATINGS_FINAL, TEMPER_ASPECT_RELEVANCE), ==, 4);
    temper_compare_page_show_prompt (again, 0);
    g_assert_cmpint (temper_answer_column_get_score (TEMPER_ANSWER_COLUMN (column_of (again, TEMPER_RATINGS_FINAL)),
                                                     TEMPER_ASPECT_RELEVANCE), ==, 4);
    g_assert_true (temper_answer_column_get_better (TEMPER_ANSWER_COLUMN (column_of (again, TEMPER_RATINGS_FINAL))));
    gtk_window_destroy (GTK_WINDOW (again_window));
    gui_test_settle (50);
  }
}

/* The evaluation runs on a worker and its figures are those of the file it
 * writes. */
static void
test_evaluation (Fixture       *fixture,
                 gconstpointer  data)
{
  GtkWidget *window = gtk_window_new ();
  TemperComparePage *page = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);
  TemperEvaluationGroup *group = TEMPER_EVALUATION_GROUP (temper_compare_page_get_evaluation_group (page));
  g_autofree char *json = g_build_filename (fixture->run_dir, "evaluation.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *set, *ppl;
  g_autofree char *expected = NULL;

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  temper_compare_page_set_max_tokens (page, MAX_TOKENS);
  temper_compare_page_set_run (page, fixture->run_dir, fixture->model);
  g_assert_true (gui_test_wait_for (page_idle, page, 30000));
  g_assert_false (temper_evaluation_group_has_figures (group));
  g_assert_true (gtk_widget_get_visible (gui_test_find_named (GTK_WIDGET (group), "evaluation-empty")));

  g_signal_emit_by_name (gui_test_find_named (GTK_WIDGET (group), "evaluate-button"), "clicked");
  g_assert_true (temper_evaluation_group_is_busy (group));
  g_assert_true (gui_test_wait_for (evaluation_idle, group, 240000));
  g_assert_true (temper_evaluation_group_has_figures (group));

  g_assert_true (json_parser_load_from_file (parser, json, &error));
  g_assert_no_error (error);
  set = json_array_get_object_element (json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "sets"), 0);
  ppl = json_object_get_object_member (set, "perplexity");
  expected = temper_evaluation_format_pair (json_object_get_double_member (ppl, "base"),
                                            json_object_get_double_member (ppl, "tuned"), FALSE);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (GTK_WIDGET (group), "eval-perplexity"))),
                   ==, expected);
  {
    JsonObject *chrf = json_object_get_object_member (set, "chrf");
    g_autofree char *shown = g_strdup_printf ("%.1f%% → %.1f%%", 100 * json_object_get_double_member (chrf, "base"),
                                              100 * json_object_get_double_member (chrf, "tuned"));

    g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (GTK_WIDGET (group), "eval-chrf"))),
                     ==, shown);
  }
  g_assert_nonnull (gui_test_find_named (GTK_WIDGET (group), "eval-general"));
  g_assert_false (gtk_widget_get_visible (gui_test_find_named (GTK_WIDGET (group), "evaluation-empty")));

  /* The summary leads with one plain verdict, counted here from the
   * records and general questions of the file. */
  {
    JsonObject *root = json_node_get_object (json_parser_get_root (parser));
    JsonObject *general = json_object_get_object_member (root, "general");
    JsonArray *records = json_object_get_array_member (set, "records");
    guint n = 0, base_right = 0, tuned_right = 0;
    g_autofree char *expected_verdict = NULL;
    GtkWidget *verdict_row = gui_test_find_named (GTK_WIDGET (group), "eval-verdict");
    GtkWidget *quick_row = gtk_widget_get_ancestor (gui_test_find_named (GTK_WIDGET (group), "quick-evaluation"),
                                                    GTK_TYPE_LIST_BOX_ROW);

    for (guint i = 0; i < json_array_get_length (records); i++)
      {
        JsonObject *r = json_array_get_object_element (records, i);
        JsonObject *base = json_object_get_object_member (r, "base");
        JsonObject *tuned = json_object_get_object_member (r, "tuned");

        if (!json_object_has_member (tuned, "contains"))
          continue;
        n++;
        base_right += json_object_get_double_member (base, "contains") == 1.0;
        tuned_right += json_object_get_double_member (tuned, "contains") == 1.0;
      }
    g_assert_cmpuint (n, ==, 4);
    g_assert_true (json_object_get_int_member (general, "n_questions") > 0);
    expected_verdict = g_strdup_printf ("The tuned model answers %u of your 4 questions right; before: %u of 4. %s",
                                        tuned_right, base_right,
                                        json_object_get_boolean_member (general, "forgetting")
                                        ? "General knowledge suffered" : "General knowledge unchanged.");
    g_assert_nonnull (verdict_row);
    if (json_object_get_boolean_member (general, "forgetting"))
      g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (verdict_row)), expected_verdict));
    else
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (verdict_row)), ==, expected_verdict);
    /* First the verdict, then the figures, then the switch for next time. */
    g_assert_cmpint (gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (verdict_row)), <,
                     gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (gui_test_find_named (GTK_WIDGET (group), "eval-perplexity"))));
    g_assert_cmpint (gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (gui_test_find_named (GTK_WIDGET (group), "eval-general"))), <,
                     gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (quick_row)));
  }
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

/* A damaged ratings file is reported, not a crash, and not overwritten
 * until the person rates again. */
static void
test_bad_ratings (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *bad[] = {
    "not json at all",
    "[1, 2]",
    "{\"version\": 1, \"seed\": \"7\", \"sources\": [\"base\"], \"prompts\": []}",
    ("{\"version\": 1, \"seed\": \"7\", \"sources\": [\"base\", \"final\"], \"prompts\": [{\"prompt\": \"q\", "
     "\"answers\": {\"base\": {\"text\": \"a\", \"relevance\": 9}}}]}"),
    "{\"version\": 1, \"seed\": -1, \"sources\": [\"base\", \"final\"], \"prompts\": []}",
  };
  g_autofree char *path = g_build_filename (fixture->run_dir, "ratings.json", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TemperRatings) ratings = NULL;

      g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
      ratings = temper_ratings_load (path, &error);
      g_assert_null (ratings);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
    }
  {
    GtkWidget *window = gtk_window_new ();
    TemperComparePage *page = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);
    g_autofree char *left = NULL;

    gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
    gtk_window_present (GTK_WINDOW (window));
    temper_compare_page_set_run (page, fixture->run_dir, fixture->model);
    g_assert_true (gui_test_wait_for (page_idle, page, 30000));
    g_assert_true (gtk_widget_get_visible (gui_test_find_named (GTK_WIDGET (page), "compare-error")));
    /* The validation and training prompts are there to rate afresh. */
    g_assert_cmpuint (temper_ratings_get_n_prompts (temper_compare_page_get_ratings (page)), ==, 8);
    g_assert_true (g_file_get_contents (path, &left, NULL, NULL));
    g_assert_cmpstr (left, ==, bad[G_N_ELEMENTS (bad) - 1]);
    gtk_window_destroy (GTK_WINDOW (window));
    gui_test_settle (50);
  }
}

/* A run without a validation split (too few records to spare) still has
 * prompts: those it trained on, labelled as such. */
static void
test_no_validation (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *model_path = source_path ("tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *data_path = g_build_filename (fixture->tmp, "data.jsonl", NULL);
  g_autofree char *run_dir = g_build_filename (fixture->tmp, "run-without-validation", NULL);
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) dataset = NULL;
  GtkWidget *window = gtk_window_new ();
  TemperComparePage *page = g_object_new (TEMPER_TYPE_COMPARE_PAGE, NULL);
  TemperRatings *ratings;
  TemperTrainSettings settings;
  TemperDatasetOptions options;

  temper_train_settings_init_default (&settings);
  settings.val_fraction = 0;
  run = temper_run_create (run_dir, &settings, model_path, data_path, NULL, &error);
  g_assert_no_error (error);
  temper_dataset_options_init (&options);
  dataset = temper_dataset_load (data_path, &options, &error);
  g_assert_no_error (error);

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  temper_compare_page_set_run (page, run_dir, fixture->model);
  g_assert_true (gui_test_wait_for (page_idle, page, 30000));
  ratings = temper_compare_page_get_ratings (page);
  g_assert_cmpuint (temper_ratings_get_n_prompts (ratings), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (dataset, i);

      g_assert_cmpstr (temper_ratings_get_prompt (ratings, i), ==, r->messages[0].content);
      g_assert_cmpint (temper_ratings_get_origin (ratings, i), ==, TEMPER_PROMPT_FROM_TRAINING);
    }
  g_assert_cmpstr (origin_shown (page), ==, "From your training data");
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add ("/compare/generate-blind-rate-export", Fixture, NULL, fixture_set_up, test_compare, fixture_tear_down);
  g_test_add ("/compare/evaluation", Fixture, NULL, fixture_set_up, test_evaluation, fixture_tear_down);
  g_test_add ("/compare/bad-ratings", Fixture, NULL, fixture_set_up, test_bad_ratings, fixture_tear_down);
  g_test_add ("/compare/no-validation-split", Fixture, NULL, fixture_set_up, test_no_validation, fixture_tear_down);
  return g_test_run ();
}
