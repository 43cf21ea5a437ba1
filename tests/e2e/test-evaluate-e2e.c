/* SPDX-License-Identifier: MIT */
/* test-evaluate-e2e.c — end to end on the demo model (CPU): train an adapter
 * on a few fictional-product facts, then evaluate the run against the same
 * facts asked in other words (data/samples/product-faq-heldout.jsonl, the
 * run's validation file).  The tuned model must state more of them than the
 * base model, with a lower perplexity on the reference answers (e to
 * training's own validation loss), while the forgetting check on the
 * bundled general questions finds nothing beyond chance. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/evaluate.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

/* Records of data/samples/product-faq.jsonl to train on (the facts
 * tests/train/test-train-e2e.c teaches), and the lines of the held-out file
 * that ask for the same facts in other words, with the phrase each states. */
static const struct {
  int         line;
  const char *fact;
} trained[] = {
  { 1, "Brightwell" }, { 3, "Tallinn" }, { 7, "Maarja Kask" },
  { 15, "2200" }, { 17, "Lumora Home" }, { 29, "600 4711" },
};
static const struct {
  int         line;
  const char *expect;
} heldout[] = {
  { 1, "Brightwell" }, { 2, "Tallinn" }, { 4, "Maarja Kask" }, { 8, "Lumora Home" },
  { 10, "2200" }, { 13, "Brightwell" }, { 17, "Lumora Home" },
};

/* Writes the lines @lines (1-based) of the sample @sample to @out, checking
 * that each still holds its phrase. */
static void
write_subset (const char *sample, const int *lines, const char *const *phrases, guint n,
              const char *out)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "samples",
                                            sample, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) all = NULL;
  g_autoptr(GString) subset = g_string_new (NULL);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  all = g_strsplit (contents, "\n", -1);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (lines[i], <=, g_strv_length (all));
      g_assert_nonnull (strstr (all[lines[i] - 1], phrases[i]));
      g_string_append_printf (subset, "%s\n", all[lines[i] - 1]);
    }
  g_assert_true (g_file_set_contents (out, subset->str, -1, NULL));
}

static void
print_progress (const char *stage, double fraction, gpointer user_data)
{
  char **last = user_data;

  if (g_strcmp0 (*last, stage) == 0)
    return;
  g_test_message ("%s…", stage);
  g_free (*last);
  *last = g_strdup (stage);
}

static void
test_learns_without_forgetting (void)
{
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *tmp = NULL, *facts = NULL, *questions = NULL, *run_dir = NULL;
  g_autofree char *stage = NULL, *html = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(TemperEvaluation) ev = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) metrics = NULL;
  g_autoptr(GError) error = NULL;
  double val_loss;
  const char *trained_phrases[G_N_ELEMENTS (trained)];
  const char *heldout_phrases[G_N_ELEMENTS (heldout)];
  int trained_lines[G_N_ELEMENTS (trained)], heldout_lines[G_N_ELEMENTS (heldout)];
  TemperTrainSettings s;
  TemperTrainOptions train_options;
  TemperEvaluateOptions options;
  const TemperEvaluationSet *set;
  JsonObject *general;

  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not there (make setup fetches it)");
      return;
    }
  tmp = g_dir_make_tmp ("temper-e2e-eval-XXXXXX", NULL);
  facts = g_build_filename (tmp, "facts.jsonl", NULL);
  questions = g_build_filename (tmp, "heldout.jsonl", NULL);
  run_dir = g_build_filename (tmp, "run", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (trained); i++)
    {
      trained_lines[i] = trained[i].line;
      trained_phrases[i] = trained[i].fact;
    }
  for (guint i = 0; i < G_N_ELEMENTS (heldout); i++)
    {
      heldout_lines[i] = heldout[i].line;
      heldout_phrases[i] = heldout[i].expect;
    }
  write_subset ("product-faq.jsonl", trained_lines, trained_phrases, G_N_ELEMENTS (trained), facts);
  write_subset ("product-faq-heldout.jsonl", heldout_lines, heldout_phrases, G_N_ELEMENTS (heldout),
                questions);

  /* One step per epoch over the six records, as in test-train-e2e but at a
   * third of its learning rate: at 3e-3 the model learns the facts and
   * forgets capitals and sums (the forgetting check then rightly says so). */
  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 8;
  s.lora.alpha = 16;
  s.lora.dropout = 0.0f;
  s.learning_rate = 1e-3;
  s.schedule = TEMPER_LR_CONSTANT;
  s.warmup_steps = 0;
  s.epochs = 12;
  s.micro_batch = G_N_ELEMENTS (trained);
  s.max_length = 64;
  s.eval_every = 0;
  s.checkpoint_every = 0;
  s.seed = 1;
  /* Evaluation's perplexity is computed in fp32: training's validation loss
   * must be too, for the two to agree to 1e-5 below (fast mode's bfloat16
   * products move it by about 2e-3; test-train-e2e learns in fast mode). */
  s.exact = TRUE;
  /* The held-out questions are the run's validation file, so that training
   * reports its own loss on them at the end. */
  run = temper_run_create (run_dir, &s, model_path, facts, questions, &error);
  g_assert_no_error (error);
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  temper_train_options_init (&train_options);
  g_assert_true (temper_train_run (run, model, &train_options, &error));
  g_assert_no_error (error);
  g_clear_pointer (&model, temper_model_free);
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  val_loss = g_array_index (metrics, TemperRunMetrics, metrics->len - 1).val_loss;
  /* Done with: its lock goes, as when the app's training ends. */
  g_clear_pointer (&run, temper_run_free);

  temper_evaluate_options_init (&options);
  options.max_tokens = 24;
  options.progress = print_progress;
  options.progress_data = &stage;
  ev = temper_evaluate_run (run_dir, &options, &error);
  g_assert_no_error (error);

  /* The validation file is the only set. */
  g_assert_cmpuint (ev->sets->len, ==, 1);
  set = &g_array_index (ev->sets, TemperEvaluationSet, 0);
  g_assert_cmpuint (set->n_with_reference, ==, G_N_ELEMENTS (heldout));
  /* Perplexity is e to training's own validation loss, on the quantized
   * model too. */
  g_test_message ("tuned perplexity %.6f, e^(training's validation loss) %.6f",
                  set->perplexity[TEMPER_EVAL_TUNED], exp (val_loss));
  g_assert_cmpfloat_with_epsilon (log (set->perplexity[TEMPER_EVAL_TUNED]), val_loss, 1e-5);
  g_test_message ("held-out paraphrases: contains %.2f → %.2f, exact %.2f → %.2f, "
                  "perplexity %.2f → %.2f, chrF %.3f → %.3f",
                  set->contains[0], set->contains[1], set->exact[0], set->exact[1],
                  set->perplexity[0], set->perplexity[1], set->chrf[0], set->chrf[1]);
  g_test_message ("general questions right: base %u, tuned %u of %u (%u forgotten, %u gained)",
                  ev->general_right[0], ev->general_right[1], ev->n_general,
                  ev->general_forgotten, ev->general_gained);
  for (guint i = 0; ev->findings[i] != NULL; i++)
    g_test_message ("finding: %s", ev->findings[i]);

  /* The facts are invented: the base model states none of them.  The tuned
   * model states some, asked in words it never saw (two of seven when this
   * test was written, one of them word for word), and it predicts the
   * reference answers far better. */
  g_assert_cmpfloat (set->contains[TEMPER_EVAL_BASE], ==, 0.0);
  g_assert_cmpfloat (set->contains[TEMPER_EVAL_TUNED], >, set->contains[TEMPER_EVAL_BASE]);
  g_assert_cmpfloat (set->exact[TEMPER_EVAL_TUNED], >=, set->exact[TEMPER_EVAL_BASE]);
  g_assert_cmpfloat (set->perplexity[TEMPER_EVAL_TUNED], <, 0.5 * set->perplexity[TEMPER_EVAL_BASE]);
  g_assert_cmpfloat (set->chrf[TEMPER_EVAL_TUNED], >, set->chrf[TEMPER_EVAL_BASE]);

  /* The bundled general questions: no forgetting flagged, and it learnt. */
  g_assert_cmpuint (ev->n_general, >=, 20);
  g_assert_false (ev->forgetting);
  g_assert_true (ev->loss_fell);
  g_assert_false (ev->no_effect);
  g_assert_true (g_str_has_prefix (ev->findings[0], "No forgetting"));

  /* The report files say the same. */
  g_assert_true (json_parser_load_from_file (parser, ev->json_path, &error));
  g_assert_no_error (error);
  general = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                           "general");
  g_assert_false (json_object_get_boolean_member (general, "forgetting"));
  g_assert_true (g_file_get_contents (ev->html_path, &html, NULL, NULL));
  g_assert_null (strstr (html, "forgot general knowledge"));
  g_assert_nonnull (strstr (html, "谁生产了 Lumora K7？"));
  g_assert_nonnull (strstr (html, "<polyline class=\"loss\""));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/evaluate-e2e/learns-without-forgetting", test_learns_without_forgetting);
  return g_test_run ();
}
