/* SPDX-License-Identifier: MIT */
/* test-metrics.c — exact match, contains, BLEU, chrF, ROUGE-L and the win
 * rate: hand-computed values on small examples, then sacrebleu's and
 * rouge-score's own results on 52 pairs (tests/eval/make-metric-fixtures.py). */
#include "config.h"

#include <math.h>

#include <json-glib/json-glib.h>

#include "temper/metrics.h"

static void
test_normalize (void)
{
  g_autofree char *a = temper_metrics_normalize ("  «Hello,   World!»\t\n");
  g_autofree char *b = temper_metrics_normalize ("ＰＡＲＩＳ。");
  g_autofree char *c = temper_metrics_normalize ("Straße");
  g_autofree char *d = temper_metrics_normalize ("...");

  g_assert_cmpstr (a, ==, "hello, world");
  g_assert_cmpstr (b, ==, "paris");    /* full-width letters and 。 */
  g_assert_cmpstr (c, ==, "strasse");  /* full case folding, not just lower case */
  g_assert_cmpstr (d, ==, "");
}

static void
test_exact_match (void)
{
  g_assert_true (temper_metrics_exact_match ("  Paris. ", "paris"));
  g_assert_true (temper_metrics_exact_match ("北京。", "北京"));
  g_assert_true (temper_metrics_exact_match ("", ""));
  g_assert_false (temper_metrics_exact_match ("", "Paris"));
  g_assert_false (temper_metrics_exact_match ("Paris, France", "Paris"));
  g_assert_false (temper_metrics_exact_match ("3.5", "35"));
}

static void
test_contains (void)
{
  g_assert_true (temper_metrics_contains ("The answer is 4.", "4"));
  g_assert_false (temper_metrics_contains ("The answer is 14.", "4"));
  g_assert_false (temper_metrics_contains ("Parisian food", "Paris"));
  g_assert_true (temper_metrics_contains ("It is PARIS, of course", "paris."));
  g_assert_true (temper_metrics_contains ("中国的首都是北京。", "北京"));
  g_assert_true (temper_metrics_contains ("答案是4。", "4"));
  g_assert_true (temper_metrics_contains ("The second 4 counts: 14 and 4", "4"));
  g_assert_false (temper_metrics_contains ("", "北京"));
  g_assert_false (temper_metrics_contains ("something", ""));
  g_assert_true (temper_metrics_contains ("", ""));
}

static void
test_bleu_by_hand (void)
{
  TemperBleuStats stats = { 0 };

  g_assert_cmpfloat_with_epsilon (temper_bleu_sentence ("the cat sat on the mat",
                                                        "the cat sat on the mat"), 1.0, 1e-12);
  /* Two tokens against six: unigrams 2/2, bigrams 1/1, no trigrams, so the
   * effective order is 2 and only the brevity penalty exp(1 - 6/2) is left. */
  g_assert_cmpfloat_with_epsilon (temper_bleu_sentence ("the cat", "the cat sat on the mat"),
                                  exp (-2.0), 1e-12);
  /* Unigrams 4/4, then no matches: NIST smoothing gives 1/(2·3), 1/(4·2), 1/(8·1). */
  g_assert_cmpfloat_with_epsilon (temper_bleu_sentence ("a b c d", "d c b a"),
                                  pow (1.0 / (6.0 * 8.0 * 8.0), 0.25), 1e-12);
  g_assert_cmpfloat (temper_bleu_sentence ("", "the cat"), ==, 0.0);
  g_assert_cmpfloat (temper_bleu_sentence ("the cat", ""), ==, 0.0);
  /* 13a does not split Chinese: each sentence is a single token. */
  g_assert_cmpfloat_with_epsilon (temper_bleu_sentence ("北京是中国的首都。", "北京是中国的首都。"),
                                  1.0, 1e-12);
  g_assert_cmpfloat (temper_bleu_sentence ("中国的首都是北京", "北京是中国的首都"), ==, 0.0);

  /* Corpus BLEU without effective order: "the cat" has no trigram, so the
   * corpus of that pair alone scores 0. */
  temper_bleu_stats_add (&stats, "the cat", "the cat sat on the mat");
  g_assert_cmpuint (stats.answer_len, ==, 2);
  g_assert_cmpuint (stats.reference_len, ==, 6);
  g_assert_cmpfloat (temper_bleu_corpus (&stats), ==, 0.0);
}

static void
test_tokenize_13a (void)
{
  g_auto(GStrv) a = temper_metrics_tokenize_13a ("It costs $3.50, really.");
  g_auto(GStrv) b = temper_metrics_tokenize_13a ("Call 555-1234 &amp; go");
  const char *expect_a[] = { "It", "costs", "$", "3.50", ",", "really", ".", NULL };
  const char *expect_b[] = { "Call", "555", "-", "1234", "&", "go", NULL };

  g_assert_cmpstrv (a, expect_a);
  g_assert_cmpstrv (b, expect_b);
}

static void
test_chrf_by_hand (void)
{
  g_assert_cmpfloat_with_epsilon (temper_chrf_sentence ("ab", "ab"), 1.0, 1e-12);
  /* Unigrams: 1 of 2 each way; bigrams: none; longer orders absent. */
  g_assert_cmpfloat_with_epsilon (temper_chrf_sentence ("ab", "ac"), 0.25, 1e-12);
  /* Precision 1 at both orders; recall 2/3 and 1/2, mean 7/12;
   * F2 = 5·1·(7/12) / (4·1 + 7/12) = 7/11. */
  g_assert_cmpfloat_with_epsilon (temper_chrf_sentence ("北京", "北京市"), 7.0 / 11.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (temper_chrf_sentence ("a b", "ab"), 1.0, 1e-12);
  g_assert_cmpfloat (temper_chrf_sentence ("", "北京"), ==, 0.0);
  g_assert_cmpfloat (temper_chrf_sentence ("", ""), ==, 0.0);
}

static void
test_rouge_by_hand (void)
{
  /* LCS 3 of 3 answer tokens and 6 reference tokens: F1 = 2·1·½/(1+½). */
  g_assert_cmpfloat_with_epsilon (temper_rouge_l ("The cat sat", "the cat sat on the mat."),
                                  2.0 / 3.0, 1e-12);
  /* Five characters against eight; the longest common subsequence is
   * "首都" (or "北京"): P = 2/5, R = 2/8. */
  g_assert_cmpfloat_with_epsilon (temper_rouge_l ("首都是北京", "北京是中国的首都"),
                                  2.0 * 0.4 * 0.25 / 0.65, 1e-12);
  g_assert_cmpfloat (temper_rouge_l ("", "北京"), ==, 0.0);
  g_assert_cmpfloat (temper_rouge_l ("", ""), ==, 0.0);
}

static void
test_win_rate (void)
{
  double rate, low, high;

  /* Textbook Wilson intervals: 8 of 10 gives [0.4902, 0.9433], 0 of 5
   * gives [0, 0.4345]. */
  g_assert_true (temper_win_rate (8, 2, 0, &rate, &low, &high));
  g_assert_cmpfloat_with_epsilon (rate, 0.8, 1e-12);
  g_assert_cmpfloat_with_epsilon (low, 0.4902, 1e-4);
  g_assert_cmpfloat_with_epsilon (high, 0.9433, 1e-4);
  g_assert_true (temper_win_rate (0, 5, 0, &rate, &low, &high));
  g_assert_cmpfloat (low, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (high, 0.4345, 1e-4);
  /* Ties are half wins: 3 + 2/2 of 6 is 4 of 6, [0.3000, 0.9032]. */
  g_assert_true (temper_win_rate (3, 1, 2, &rate, &low, &high));
  g_assert_cmpfloat_with_epsilon (rate, 4.0 / 6.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (low, 0.3000, 1e-4);
  g_assert_cmpfloat_with_epsilon (high, 0.9032, 1e-4);
  g_assert_false (temper_win_rate (0, 0, 0, &rate, &low, &high));
}

static void
test_against_references (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "eval", "metric-pairs.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  TemperBleuStats bleu = { 0 };
  TemperChrfStats chrf = { 0 };
  JsonObject *root;
  JsonArray *pairs;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  pairs = json_object_get_array_member (root, "pairs");
  g_assert_cmpuint (json_array_get_length (pairs), >=, 50);
  for (guint i = 0; i < json_array_get_length (pairs); i++)
    {
      JsonObject *p = json_array_get_object_element (pairs, i);
      const char *answer = json_object_get_string_member (p, "answer");
      const char *reference = json_object_get_string_member (p, "reference");
      JsonArray *expect = json_object_get_array_member (p, "tokens_13a");
      JsonArray *expect_rouge = json_object_get_array_member (p, "rouge_tokens");
      g_auto(GStrv) tokens = temper_metrics_tokenize_13a (answer);
      g_auto(GStrv) rouge_tokens = temper_metrics_tokenize_rouge (answer);

      g_test_message ("pair %u: “%s” against “%s”", i, answer, reference);
      g_assert_cmpuint (g_strv_length (tokens), ==, json_array_get_length (expect));
      for (guint t = 0; tokens[t] != NULL; t++)
        g_assert_cmpstr (tokens[t], ==, json_array_get_string_element (expect, t));
      g_assert_cmpuint (g_strv_length (rouge_tokens), ==, json_array_get_length (expect_rouge));
      for (guint t = 0; rouge_tokens[t] != NULL; t++)
        g_assert_cmpstr (rouge_tokens[t], ==, json_array_get_string_element (expect_rouge, t));

      g_assert_cmpfloat_with_epsilon (temper_bleu_sentence (answer, reference),
                                      json_object_get_double_member (p, "bleu"), 1e-6);
      g_assert_cmpfloat_with_epsilon (temper_chrf_sentence (answer, reference),
                                      json_object_get_double_member (p, "chrf"), 1e-6);
      g_assert_cmpfloat_with_epsilon (temper_rouge_l (answer, reference),
                                      json_object_get_double_member (p, "rouge_l"), 1e-6);
      temper_bleu_stats_add (&bleu, answer, reference);
      temper_chrf_stats_add (&chrf, answer, reference);
    }
  g_assert_cmpfloat_with_epsilon (temper_bleu_corpus (&bleu),
                                  json_object_get_double_member (root, "corpus_bleu"), 1e-6);
  g_assert_cmpfloat_with_epsilon (temper_chrf_corpus (&chrf),
                                  json_object_get_double_member (root, "corpus_chrf"), 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/normalize", test_normalize);
  g_test_add_func ("/metrics/exact-match", test_exact_match);
  g_test_add_func ("/metrics/contains", test_contains);
  g_test_add_func ("/metrics/tokenize-13a", test_tokenize_13a);
  g_test_add_func ("/metrics/bleu", test_bleu_by_hand);
  g_test_add_func ("/metrics/chrf", test_chrf_by_hand);
  g_test_add_func ("/metrics/rouge-l", test_rouge_by_hand);
  g_test_add_func ("/metrics/win-rate", test_win_rate);
  g_test_add_func ("/metrics/against-references", test_against_references);
  return g_test_run ();
}
