/* SPDX-License-Identifier: MIT */
/* Sampling and the generation session: determinism, each sampling rule,
 * stop tokens and strings, streaming, cache reuse and cancelling. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "nn/temper-sampler.h"
#include "temper/error.h"
#include "temper/generate.h"
#include "temper/tokenizer.h"

static TemperSamplingParams
params_with (float temperature, int top_k, float top_p, float penalty, guint64 seed)
{
  TemperSamplingParams p;

  temper_sampling_params_init (&p);
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.repeat_penalty = penalty;
  p.seed = seed;
  return p;
}

static int
draw (const TemperSamplingParams *p, const float *logits, int n, int times, int *counts)
{
  g_autoptr(TemperSampler) s = temper_sampler_new (n, p);
  g_autofree float *work = g_new (float, n);
  int last = -1;

  for (int i = 0; i < times; i++)
    {
      memcpy (work, logits, sizeof (float) * n);
      last = temper_sampler_sample (s, work, NULL, 0);
      g_assert_cmpint (last, >=, 0);
      g_assert_cmpint (last, <, n);
      if (counts != NULL)
        counts[last]++;
    }
  return last;
}

static void
test_sampler_rules (void)
{
  /* Softmax of these logits at temperature 1: 0.5, 0.25, 0.125, 0.0625, … */
  float logits[6] = { logf (8), logf (4), logf (2), logf (1), logf (0.5f), logf (0.5f) };
  int counts[6] = { 0 };
  TemperSamplingParams p;

  p = params_with (0.0f, 0, 1.0f, 1.0f, 0);
  g_assert_cmpint (draw (&p, logits, 6, 1, NULL), ==, 0);

  /* Temperature 1, no truncation: frequencies follow the softmax. */
  p = params_with (1.0f, 0, 1.0f, 1.0f, 1);
  draw (&p, logits, 6, 16000, counts);
  g_assert_cmpfloat (fabs (counts[0] / 16000.0 - 0.5), <, 0.02);
  g_assert_cmpfloat (fabs (counts[1] / 16000.0 - 0.25), <, 0.02);
  g_assert_cmpint (counts[5], >, 0);

  /* top-k 2: only the two most likely, in ratio 2:1. */
  memset (counts, 0, sizeof counts);
  p = params_with (1.0f, 2, 1.0f, 1.0f, 2);
  draw (&p, logits, 6, 9000, counts);
  g_assert_cmpint (counts[0] + counts[1], ==, 9000);
  g_assert_cmpfloat (fabs (counts[0] / 9000.0 - 2.0 / 3.0), <, 0.03);

  /* top-p 0.7: {0.5, 0.25} reach it; nothing else may appear. */
  memset (counts, 0, sizeof counts);
  p = params_with (1.0f, 0, 0.7f, 1.0f, 3);
  draw (&p, logits, 6, 4000, counts);
  g_assert_cmpint (counts[0] + counts[1], ==, 4000);
  g_assert_cmpint (counts[1], >, 0);

  /* Same seed, same sequence; another seed, another sequence. */
  {
    g_autoptr(TemperSampler) a = temper_sampler_new (6, &p);
    g_autoptr(TemperSampler) b = temper_sampler_new (6, &p);
    TemperSamplingParams q = params_with (1.0f, 0, 1.0f, 1.0f, 4);
    g_autoptr(TemperSampler) c = temper_sampler_new (6, &q);
    g_autoptr(TemperSampler) d = temper_sampler_new (6, &q);
    gboolean differs = FALSE;
    float w[6];

    for (int i = 0; i < 50; i++)
      {
        int x, y;

        memcpy (w, logits, sizeof w);
        x = temper_sampler_sample (a, w, NULL, 0);
        memcpy (w, logits, sizeof w);
        y = temper_sampler_sample (b, w, NULL, 0);
        g_assert_cmpint (x, ==, y);
        memcpy (w, logits, sizeof w);
        x = temper_sampler_sample (c, w, NULL, 0);
        memcpy (w, logits, sizeof w);
        y = temper_sampler_sample (d, w, NULL, 0);
        g_assert_cmpint (x, ==, y);
      }
    /* Seed 4 vs seed 5 over many draws. */
    q.seed = 5;
    {
      g_autoptr(TemperSampler) e = temper_sampler_new (6, &q);
      for (int i = 0; i < 50; i++)
        {
          int x, y;

          memcpy (w, logits, sizeof w);
          x = temper_sampler_sample (c, w, NULL, 0);
          memcpy (w, logits, sizeof w);
          y = temper_sampler_sample (e, w, NULL, 0);
          differs |= x != y;
        }
    }
    g_assert_true (differs);
  }

  /* Repetition penalty: the positive logit of a seen token is divided, a
   * negative one multiplied (as transformers' RepetitionPenaltyLogitsProcessor). */
  {
    float l[4] = { 2.0f, 1.9f, -1.0f, -1.2f };
    gint32 recent[] = { 0, 0, 2 };
    TemperSamplingParams rp = params_with (0.0f, 0, 1.0f, 2.0f, 0);
    g_autoptr(TemperSampler) s = temper_sampler_new (4, &rp);

    g_assert_cmpint (temper_sampler_sample (s, l, recent, 3), ==, 1);
    g_assert_cmpfloat (l[0], ==, 1.0f);
    g_assert_cmpfloat (l[2], ==, -2.0f);
    g_assert_cmpfloat (l[3], ==, -1.2f);
  }
}

/* ---- sessions on the tiny model ---- */

typedef struct {
  GString      *text;
  int           pieces;
  int           cancel_after;
  GCancellable *cancellable;
} Collect;

static gboolean
collect (const char *text, gsize len, gpointer user_data)
{
  Collect *c = user_data;

  g_assert_true (g_utf8_validate (text, (gssize) len, NULL));
  g_string_append_len (c->text, text, (gssize) len);
  if (++c->pieces == c->cancel_after)
    g_cancellable_cancel (c->cancellable);
  return TRUE;
}

static temper_model_t *
load_tiny (GArray **prompt, GArray **greedy)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *dir = g_build_filename (src, "tests", "fixtures", "nn", "tiny-qwen2", NULL);
  g_autofree char *json = g_build_filename (src, "tests", "fixtures", "nn", "tiny-qwen2.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  temper_model_t *model;
  JsonObject *obj;
  const char *members[2] = { "prompt", "greedy" };
  GArray **outs[2] = { prompt, greedy };

  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  for (int m = 0; m < 2; m++)
    {
      JsonArray *a = json_object_get_array_member (obj, members[m]);

      *outs[m] = g_array_new (FALSE, FALSE, sizeof (gint32));
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          gint32 v = (gint32) json_array_get_int_element (a, i);
          g_array_append_val (*outs[m], v);
        }
    }
  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  return model;
}

static void
test_session (void)
{
  g_autoptr(GArray) prompt = NULL, greedy = NULL;
  g_autoptr(temper_model_t) model = load_tiny (&prompt, &greedy);
  const int *stops = temper_model_get_stop_tokens (model);
  TemperGeneratorOptions opts = { 128, 2, TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &opts, &error);
  TemperSamplingParams p = params_with (0.0f, 0, 1.0f, 1.0f, 0);
  TemperGenerateResult r = { 0 };
  Collect col = { g_string_new (NULL), 0, -1, NULL };
  guint expect_n = greedy->len;
  g_autofree char *expect_text = NULL;

  g_assert_no_error (error);
  /* transformers' greedy ids, up to the first stop token. */
  for (guint i = 0; i < greedy->len; i++)
    for (int s = 0; stops[s] >= 0; s++)
      if (g_array_index (greedy, gint32, i) == stops[s] && i < expect_n)
        expect_n = i;
  /* The streamed text: the tokens' bytes, without a last character the
   * answer stopped in the middle of, invalid bytes shown as U+FFFD. */
  {
    g_autoptr(GString) raw = g_string_new (NULL);
    gsize cut;

    for (guint i = 0; i < expect_n; i++)
      {
        gsize len;
        const char *bytes = temper_tokenizer_token_bytes (temper_model_get_tokenizer (model),
                                                          g_array_index (greedy, gint32, i), &len);
        g_string_append_len (raw, bytes, (gssize) len);
      }
    cut = raw->len;
    for (gsize back = 1; back <= MIN (3u, raw->len); back++)
      {
        guchar ch = (guchar) raw->str[raw->len - back];
        gsize need = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC0 ? 2 : 1;

        if ((ch & 0xC0) == 0x80)
          continue;
        if (need > back)
          cut = raw->len - back;
        break;
      }
    expect_text = g_utf8_make_valid (raw->str, (gssize) cut);
  }

  p.max_tokens = 32;
  g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &p,
                                            collect, &col, NULL, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.tokens->len, ==, expect_n);
  g_assert_cmpmem (r.tokens->data, expect_n * 4, greedy->data, expect_n * 4);
  g_assert_cmpint (r.stop_reason, ==, expect_n < 32 ? TEMPER_STOP_TOKEN : TEMPER_STOP_MAX_TOKENS);
  g_assert_cmpint (r.n_prompt_tokens, ==, (int) prompt->len);
  g_assert_cmpstr (col.text->str, ==, expect_text);
  temper_generate_result_clear (&r);

  /* The same prompt again: only the last prompt token is recomputed. */
  g_string_truncate (col.text, 0);
  p.max_tokens = 5;
  g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &p,
                                            collect, &col, NULL, &r, &error));
  g_assert_cmpint (r.n_prompt_tokens, ==, 1);
  g_assert_cmpmem (r.tokens->data, MIN (5u, expect_n) * 4, greedy->data, MIN (5u, expect_n) * 4);
  temper_generate_result_clear (&r);

  /* A stop string cut out of the expected text: the answer ends before it. */
  if (g_utf8_strlen (expect_text, -1) > 4)
    {
      const char *from = g_utf8_offset_to_pointer (expect_text, 2);
      g_autofree char *stop = g_strndup (from, (gsize) (g_utf8_offset_to_pointer (from, 2) - from));
      const char *stop_list[] = { "\x01never", stop, NULL };
      const char *at = strstr (expect_text, stop);

      p.stop_strings = stop_list;
      p.max_tokens = 32;
      g_string_truncate (col.text, 0);
      g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &p,
                                                collect, &col, NULL, &r, &error));
      g_assert_cmpint (r.stop_reason, ==, TEMPER_STOP_STRING);
      g_assert_cmpuint (col.text->len, ==, (gsize) (at - expect_text));
      g_assert_cmpint (strncmp (col.text->str, expect_text, col.text->len), ==, 0);
      temper_generate_result_clear (&r);
      p.stop_strings = NULL;
    }

  /* Cancelling between tokens. */
  col.cancellable = g_cancellable_new ();
  col.cancel_after = 2;
  col.pieces = 0;
  p.max_tokens = 0;
  p.temperature = 1.0f;
  g_assert_false (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &p,
                                             collect, &col, col.cancellable, &r, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_clear_error (&error);
  g_object_unref (col.cancellable);

  /* Sampling with a seed is repeatable. */
  {
    TemperGenerateResult a = { 0 }, b = { 0 };
    TemperSamplingParams sp = params_with (0.9f, 20, 0.9f, 1.1f, 1234);

    sp.max_tokens = 12;
    g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &sp,
                                              NULL, NULL, NULL, &a, &error));
    temper_generator_reset (gen);
    g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &sp,
                                              NULL, NULL, NULL, &b, &error));
    g_assert_cmpuint (a.tokens->len, ==, b.tokens->len);
    g_assert_cmpmem (a.tokens->data, a.tokens->len * 4, b.tokens->data, b.tokens->len * 4);
    temper_generate_result_clear (&a);
    temper_generate_result_clear (&b);
  }
  g_string_free (col.text, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/sampler/rules", test_sampler_rules);
  g_test_add_func ("/nn/generate/session", test_session);
  return g_test_run ();
}
