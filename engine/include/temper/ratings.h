/* SPDX-License-Identifier: MIT */
/* ratings.h — what a person said about the answers of a comparison (the
 * Compare page of the app, RUN/ratings.json, `temper-cli ratings`).
 *
 * For each prompt: the answers of every model compared ("base", "final" for
 * the run's adapter, "step-N" for a checkpoint), which answer the person
 * judged better (or a tie), optional 1–5 scores per answer for relevance,
 * accuracy and style, and a note.  Blind mode shows the answers in an order
 * drawn per prompt from the ratings' seed, so the same ratings always show
 * the same order; that order is written with each prompt.
 *
 * The whole record lives in RUN/ratings.json, so reopening a run brings the
 * answers and ratings back; it can also be exported as CSV (one row per
 * answer) and JSON (the same, with the summary).  The app, the CLI and the
 * tests share this logic. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TEMPER_RATINGS_BASE  "base"
#define TEMPER_RATINGS_FINAL "final"
#define TEMPER_RATINGS_TIE   "tie"
/* More answers than this per prompt would not fit side by side. */
#define TEMPER_RATINGS_MAX_SOURCES 4

typedef enum {
  TEMPER_ASPECT_RELEVANCE,
  TEMPER_ASPECT_ACCURACY,
  TEMPER_ASPECT_STYLE,
  TEMPER_N_ASPECTS,
} TemperAspect;

typedef enum {
  TEMPER_PROMPT_FROM_VALIDATION,  /* a question of the run's validation split */
  TEMPER_PROMPT_FROM_PERSON,      /* typed in by the person */
  TEMPER_PROMPT_FROM_TRAINING,    /* a question training saw */
} TemperPromptOrigin;

typedef struct {
  guint    n_prompts;
  guint    n_judged;       /* prompts with a verdict */
  guint    wins;           /* a tuned answer (adapter or checkpoint) was better */
  guint    losses;         /* the base model's answer was better */
  guint    ties;
  gboolean has_rate;       /* FALSE until something is judged */
  double   rate;           /* wins + ties/2 over judged, see temper_win_rate() */
  double   low, high;      /* its 95% Wilson interval */
} TemperRatingsSummary;

#define TEMPER_TYPE_RATINGS (temper_ratings_get_type ())
G_DECLARE_FINAL_TYPE (TemperRatings, temper_ratings, TEMPER, RATINGS, GObject)

/* RUN/ratings.json: where the ratings of the run in @run_dir live (a new string). */
char          *temper_ratings_dup_run_path (const char *run_dir);

/* Empty ratings whose blind order is drawn from @seed. */
TemperRatings *temper_ratings_new  (guint64 seed);
/* Reads a file written by temper_ratings_save(); errors name the file. */
TemperRatings *temper_ratings_load (const char *path, GError **error);
/* Written under a temporary name and renamed into place. */
gboolean       temper_ratings_save (TemperRatings *self, const char *path, GError **error);

guint64      temper_ratings_get_seed   (TemperRatings *self);

/* The models compared, in their natural order (base first); at most
 * TEMPER_RATINGS_MAX_SOURCES.  Answers and scores of a model left out are
 * kept, and come back when it is chosen again. */
void         temper_ratings_set_sources   (TemperRatings *self, const char *const *ids);
guint        temper_ratings_get_n_sources (TemperRatings *self);
const char  *temper_ratings_get_source    (TemperRatings *self, guint i);

/* Adds @text unless it is there already; returns its index either way. */
guint        temper_ratings_add_prompt    (TemperRatings *self, const char *text,
                                           TemperPromptOrigin origin);
guint        temper_ratings_get_n_prompts (TemperRatings *self);
const char  *temper_ratings_get_prompt    (TemperRatings *self, guint prompt);
TemperPromptOrigin temper_ratings_get_origin (TemperRatings *self, guint prompt);

/* The blind order of prompt @prompt: @order receives n_sources indices into
 * the sources, a permutation drawn from the seed and the prompt's index. */
void         temper_ratings_get_order     (TemperRatings *self, guint prompt, guint *order);

/* Answers, as they stream in.  NULL when none was generated. */
const char  *temper_ratings_get_answer    (TemperRatings *self, guint prompt, const char *source);
void         temper_ratings_set_answer    (TemperRatings *self, guint prompt, const char *source,
                                           const char *text);
void         temper_ratings_append_answer (TemperRatings *self, guint prompt, const char *source,
                                           const char *text, gsize len);
/* How many tokens the answer had when the length limit (or the model's
 * context) cut it; 0 when the model ended it, or unknown.  Saved with a
 * whole answer ("cut_at_tokens"); setting the answer again clears it. */
guint        temper_ratings_get_cut_at    (TemperRatings *self, guint prompt, const char *source);
void         temper_ratings_set_cut_at    (TemperRatings *self, guint prompt, const char *source,
                                           guint n_tokens);
/* Every chosen source has a whole answer for @prompt. */
gboolean     temper_ratings_has_answers   (TemperRatings *self, guint prompt);
void         temper_ratings_set_complete  (TemperRatings *self, guint prompt, const char *source,
                                           gboolean complete);

/* The source judged better, TEMPER_RATINGS_TIE, or NULL (not judged). */
const char  *temper_ratings_get_verdict   (TemperRatings *self, guint prompt);
void         temper_ratings_set_verdict   (TemperRatings *self, guint prompt, const char *verdict);
/* 1–5, or 0 for not scored. */
int          temper_ratings_get_score     (TemperRatings *self, guint prompt, const char *source,
                                           TemperAspect aspect);
void         temper_ratings_set_score     (TemperRatings *self, guint prompt, const char *source,
                                           TemperAspect aspect, int score);
const char  *temper_ratings_get_note      (TemperRatings *self, guint prompt);
void         temper_ratings_set_note      (TemperRatings *self, guint prompt, const char *note);

void         temper_ratings_get_summary   (TemperRatings *self, TemperRatingsSummary *summary);
/* How often @source was judged the better answer. */
guint        temper_ratings_count_picks   (TemperRatings *self, const char *source);

/* "relevance", "accuracy", "style": the names used in the files. */
const char  *temper_aspect_name           (TemperAspect aspect);

gboolean     temper_ratings_export_csv    (TemperRatings *self, const char *path, GError **error);
gboolean     temper_ratings_export_json   (TemperRatings *self, const char *path, GError **error);

G_END_DECLS
