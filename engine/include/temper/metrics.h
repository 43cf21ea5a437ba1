/* SPDX-License-Identifier: MIT */
/* metrics.h — scoring a model's answer against a reference answer.
 *
 * Every score is a fraction in [0, 1] (sacrebleu prints BLEU and chrF times
 * 100; divide its figures by 100 to compare).  All text is UTF-8.
 *
 * Exact match and "contains" compare normalised text: NFKC, Unicode case
 * folding, every run of white space made one space, and punctuation (Unicode
 * categories P*) stripped from both ends.  "Contains" looks for the reference
 * inside the answer as whole words: a match may not cut a word of letters or
 * digits in two ("4" is not found in "14"), while CJK characters, which are
 * written without spaces, match anywhere.
 *
 * BLEU-4 follows sacrebleu 2.x defaults exactly: the 13a tokeniser, no
 * lowercasing, one reference, exponential ("NIST") smoothing; corpus BLEU
 * sums the n-gram statistics of all pairs first, sentence BLEU uses the
 * effective order as sacrebleu.sentence_bleu() does.
 *
 * chrF follows sacrebleu 2.x defaults: character n-grams of order 1 to 6,
 * no word n-grams, beta 2, white space removed, precision and recall
 * averaged over the orders that occur in both texts.
 *
 * ROUGE-L is rouge-score's F1 of the longest common subsequence, with
 * rouge-score's tokeniser (lowercased runs of a-z and 0-9) extended so that
 * each CJK character (Han, Hiragana, Katakana, Hangul) is one token; the
 * original tokeniser drops them and would score any Chinese pair 0.  An
 * empty answer or reference scores 0, as in rouge-score. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new string: @text normalised as described above. */
char    *temper_metrics_normalize (const char *text);
gboolean temper_metrics_exact_match (const char *answer, const char *reference);
/* TRUE when the reference occurs in the answer (after normalisation) as
 * whole words; an empty reference is contained only in an empty answer. */
gboolean temper_metrics_contains    (const char *answer, const char *reference);

/* The sacrebleu 13a tokens of @text, a NULL-terminated array. */
char   **temper_metrics_tokenize_13a (const char *text);

#define TEMPER_BLEU_ORDER 4
/* Sufficient statistics of BLEU: add pairs, then score. */
typedef struct {
  guint64 answer_len;
  guint64 reference_len;
  guint64 correct[TEMPER_BLEU_ORDER];
  guint64 total[TEMPER_BLEU_ORDER];
} TemperBleuStats;

void   temper_bleu_stats_add (TemperBleuStats *stats, const char *answer, const char *reference);
/* Corpus BLEU of everything added (sacrebleu.corpus_bleu). */
double temper_bleu_corpus    (const TemperBleuStats *stats);
/* sacrebleu.sentence_bleu(answer, [reference]). */
double temper_bleu_sentence  (const char *answer, const char *reference);

#define TEMPER_CHRF_ORDER 6
typedef struct {
  guint64 answer[TEMPER_CHRF_ORDER];
  guint64 reference[TEMPER_CHRF_ORDER];
  guint64 match[TEMPER_CHRF_ORDER];
} TemperChrfStats;

void   temper_chrf_stats_add (TemperChrfStats *stats, const char *answer, const char *reference);
/* Corpus chrF of everything added (sacrebleu.corpus_chrf). */
double temper_chrf_corpus    (const TemperChrfStats *stats);
/* sacrebleu.sentence_chrf(answer, [reference]). */
double temper_chrf_sentence  (const char *answer, const char *reference);

/* The tokens ROUGE-L compares, a NULL-terminated array. */
char   **temper_metrics_tokenize_rouge (const char *text);
/* ROUGE-L F1 of one pair. */
double   temper_rouge_l (const char *answer, const char *reference);

/* How often the tuned model won blind side-by-side ratings: a tie counts
 * as half a win.  @low and @high bound the 95% Wilson score interval.
 * FALSE (and nothing written) when there are no ratings. */
gboolean temper_win_rate (guint wins, guint losses, guint ties,
                          double *rate, double *low, double *high);

G_END_DECLS
