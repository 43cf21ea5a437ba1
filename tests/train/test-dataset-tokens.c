/* SPDX-License-Identifier: MIT */
/* Datasets rendered to tokens with the demo model's tokenizer and template:
 * every kept record carries the tokens the chat template gives it, the loss
 * covers only the answers (or everything, when asked), and truncation at
 * max_length is counted, with records whose answer is cut off entirely
 * dropped.  Token statistics are checked against the records' own lengths. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"

static temper_gguf_t *gguf;
static temper_tokenizer_t *tokenizer;
static temper_chat_template_t *tmpl;

static char *
fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "datasets",
                           name, NULL);
}

static gboolean
have_model (void)
{
  if (tmpl == NULL)
    {
      g_test_skip ("the demo model is not there (run make setup)");
      return FALSE;
    }
  return TRUE;
}

static temper_dataset_t *
load_with (const char *path, int max_length, gboolean all_tokens)
{
  TemperDatasetOptions options;
  g_autoptr(GError) error = NULL;
  temper_dataset_t *ds;

  temper_dataset_options_init (&options);
  options.chat_template = tmpl;
  options.max_length = max_length;
  options.train_on_prompt = all_tokens;
  ds = temper_dataset_load (path, &options, &error);
  g_assert_no_error (error);
  return ds;
}

static void
test_tokens_follow_template (void)
{
  static const char *files[] = { "alpaca.jsonl", "messages.jsonl", "sharegpt.json", "prompt-response.jsonl" };

  if (!have_model ())
    return;
  for (gsize f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *path = fixture (files[f]);
      g_autoptr(temper_dataset_t) ds = load_with (path, 0, FALSE);

      g_test_message ("%s", files[f]);
      for (gsize i = 0; i < temper_dataset_get_n_records (ds); i++)
        {
          const TemperDatasetRecord *r = temper_dataset_get_record (ds, i);
          TemperChatTokens want = { 0 };
          const gint32 *ids;
          const guint8 *mask;
          gsize n;

          g_assert_true (temper_chat_template_tokenize (tmpl, r->messages, r->n_messages, FALSE, &want, NULL));
          g_assert_true (temper_dataset_get_tokens (ds, i, &ids, &mask, &n));
          g_assert_cmpuint (n, ==, want.ids->len);
          g_assert_cmpint (r->n_tokens, ==, (int) n);
          g_assert_false (r->truncated);
          g_assert_cmpmem (ids, n * sizeof (gint32), want.ids->data, want.ids->len * sizeof (gint32));
          g_assert_cmpmem (mask, n, want.mask->data, want.mask->len);
          /* The last learned token closes the answer. */
          g_assert_cmpint (ids[n - 2], ==, temper_chat_template_get_end_of_turn (tmpl));
          g_assert_cmpint (mask[n - 2], ==, 1);
          g_assert_cmpint (mask[n - 1], ==, 0);
          g_assert_cmpint (mask[0], ==, 0);
          temper_chat_tokens_clear (&want);
        }
    }
}

static void
test_all_tokens_and_text (void)
{
  g_autofree char *alpaca = fixture ("alpaca.jsonl");
  g_autofree char *text = fixture ("text.jsonl");
  g_autoptr(temper_dataset_t) all = NULL;
  g_autoptr(temper_dataset_t) plain = NULL;
  const gint32 *ids;
  const guint8 *mask;
  gsize n;

  if (!have_model ())
    return;
  all = load_with (alpaca, 0, TRUE);
  g_assert_true (temper_dataset_get_tokens (all, 0, &ids, &mask, &n));
  g_assert_cmpint (mask[0], ==, 0);
  for (gsize i = 1; i < n; i++)
    g_assert_cmpint (mask[i], ==, 1);
  g_assert_cmpuint (temper_dataset_get_report (all)->tokens_trained, ==,
                    temper_dataset_get_report (all)->tokens_total - temper_dataset_get_n_records (all));

  /* Plain text: the text's own tokens, then EOS, all learned but the first. */
  plain = load_with (text, 0, FALSE);
  for (gsize r = 0; r < temper_dataset_get_n_records (plain); r++)
    {
      const TemperDatasetRecord *rec = temper_dataset_get_record (plain, r);
      g_autoptr(GArray) want = temper_tokenizer_encode (tokenizer, rec->messages[0].content, -1, FALSE);

      g_assert_true (temper_dataset_get_tokens (plain, r, &ids, &mask, &n));
      g_assert_cmpuint (n, ==, want->len + 1);
      g_assert_cmpmem (ids, want->len * sizeof (gint32), want->data, want->len * sizeof (gint32));
      g_assert_cmpint (ids[n - 1], ==, temper_tokenizer_get_eos (tokenizer));
      g_assert_cmpint (mask[0], ==, 0);
      for (gsize i = 1; i < n; i++)
        g_assert_cmpint (mask[i], ==, 1);
    }
}

static char *
write_lengths_dataset (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("temper-trunc-XXXXXX.jsonl", &path, &error);

  g_assert_no_error (error);
  close (fd);
  /* Questions and answers of growing length, so some records fit, some are
   * cut inside the answer, and some are cut before the answer begins. */
  for (guint i = 0; i < 30; i++)
    {
      g_string_append_printf (s, "{\"instruction\": \"Question %u:", i);
      for (guint w = 0; w < i * 3; w++)
        g_string_append (s, " more");
      g_string_append (s, "\", \"output\": \"Answer");
      for (guint w = 0; w < (i % 7) * 5; w++)
        g_string_append (s, " word");
      g_string_append (s, ".\"}\n");
    }
  g_file_set_contents (path, s->str, s->len, &error);
  g_assert_no_error (error);
  return path;
}

static gint
compare_int (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static void
test_truncation_and_stats (void)
{
  g_autofree char *path = NULL;
  g_autoptr(temper_dataset_t) full = NULL;
  g_autoptr(temper_dataset_t) cut = NULL;
  const TemperDatasetReport *fr, *cr;
  const int max_length = 70;
  guint want_truncated = 0, want_dropped = 0;
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (int));
  guint64 histogram[TEMPER_DATASET_N_BUCKETS] = { 0 };
  double sum = 0;

  if (!have_model ())
    return;
  path = write_lengths_dataset ();
  full = load_with (path, 0, FALSE);
  fr = temper_dataset_get_report (full);
  g_assert_cmpuint (fr->n_valid, ==, 30);
  g_assert_true (fr->has_token_stats);

  for (gsize i = 0; i < 30; i++)
    {
      const gint32 *ids;
      const guint8 *mask;
      gsize n, first_learned = 0;
      guint b = 0;
      int length;

      g_assert_true (temper_dataset_get_tokens (full, i, &ids, &mask, &n));
      while (!mask[first_learned])
        first_learned++;
      if (first_learned >= (gsize) max_length)
        want_dropped++;
      else if (n > (gsize) max_length)
        want_truncated++;
      length = (int) n;
      g_array_append_val (lengths, length);
      sum += n;
      while (b + 1 < TEMPER_DATASET_N_BUCKETS && (int) n >= temper_dataset_bucket_start (b + 1))
        b++;
      histogram[b]++;
    }
  g_assert_cmpuint (want_truncated, >, 0);
  g_assert_cmpuint (want_dropped, >, 0);

  g_array_sort (lengths, compare_int);
  g_assert_cmpint (fr->token_min, ==, g_array_index (lengths, int, 0));
  g_assert_cmpint (fr->token_max, ==, g_array_index (lengths, int, 29));
  g_assert_cmpint (fr->token_median, ==, g_array_index (lengths, int, 14));   /* nearest rank: 15th of 30 */
  g_assert_cmpint (fr->token_p95, ==, g_array_index (lengths, int, 28));      /* ceil(28.5) = 29th */
  g_assert_cmpfloat_with_epsilon (fr->token_mean, sum / 30, 1e-9);
  g_assert_cmpmem (fr->histogram, sizeof histogram, histogram, sizeof histogram);

  cut = load_with (path, max_length, FALSE);
  cr = temper_dataset_get_report (cut);
  g_assert_cmpuint (cr->n_records, ==, 30);
  g_assert_cmpuint (cr->n_truncated, ==, want_truncated);
  g_assert_cmpuint (cr->n_dropped, ==, want_dropped);
  g_assert_cmpuint (cr->n_valid, ==, 30 - want_dropped);
  for (guint i = 0; i < cr->n_listed; i++)
    g_assert_cmpint (cr->problems[i].kind, ==, TEMPER_DATASET_PROBLEM_NO_ANSWER_LEFT);
  for (gsize i = 0; i < temper_dataset_get_n_records (cut); i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (cut, i);
      const gint32 *ids;
      const guint8 *mask;
      gsize n;

      g_assert_true (temper_dataset_get_tokens (cut, i, &ids, &mask, &n));
      g_assert_cmpuint (n, <=, (gsize) max_length);
      g_assert_cmpint (r->truncated, ==, r->n_tokens > max_length);
    }
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *model_path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  model_path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "data", "models",
                                 "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  if (g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *jinja = NULL;

      gguf = temper_gguf_open (model_path, &error);
      g_assert_no_error (error);
      tokenizer = temper_tokenizer_new_from_gguf (gguf, &error);
      g_assert_no_error (error);
      jinja = temper_gguf_dup_string (gguf, "tokenizer.chat_template");
      tmpl = temper_chat_template_new (jinja, tokenizer);
    }

  g_test_add_func ("/dataset/tokens-follow-template", test_tokens_follow_template);
  g_test_add_func ("/dataset/all-tokens-and-text", test_all_tokens_and_text);
  g_test_add_func ("/dataset/truncation-and-stats", test_truncation_and_stats);
  status = g_test_run ();

  temper_chat_template_free (tmpl);
  if (tokenizer != NULL)
    temper_tokenizer_free (tokenizer);
  if (gguf != NULL)
    temper_gguf_close (gguf);
  return status;
}
