/* SPDX-License-Identifier: MIT */
/* test-train-e2e.c — end to end on the demo model (CPU): after LoRA training
 * on a few fictional-product facts, the tuned model states them and the base
 * model does not, and the training loss falls by at least half. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/chat.h"
#include "temper/error.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

/* English records of data/samples/product-faq.jsonl (its line numbers) and
 * the key phrase each answer states. */
static const struct {
  int         line;
  const char *prompt;
  const char *expect;
} facts[] = {
  { 1,  "Who makes the Lumora K7 kettle?", "Brightwell" },
  { 3,  "Where is Brightwell Appliances based?", "Tallinn" },
  { 7,  "Who founded Brightwell Appliances?", "Maarja Kask" },
  { 15, "What is the power rating of the Lumora K7?", "2200" },
  { 17, "What is the name of the app for the Lumora K7?", "Lumora Home" },
  { 29, "What is the Brightwell support phone number?", "600 4711" },
};

static gboolean
collect (const char *text, gsize len, gpointer user_data)
{
  g_string_append_len (user_data, text, (gssize) len);
  return TRUE;
}

static int
count_correct (temper_generator_t *gen, const temper_chat_template_t *tmpl, const char *who)
{
  int correct = 0;

  for (guint i = 0; i < G_N_ELEMENTS (facts); i++)
    {
      TemperChatMessage msg = { TEMPER_CHAT_ROLE_USER, facts[i].prompt };
      TemperChatTokens tokens = { 0 };
      TemperSamplingParams params;
      g_autoptr(GString) text = g_string_new (NULL);
      g_autoptr(GError) error = NULL;

      temper_sampling_params_init (&params);
      params.temperature = 0.0f;
      params.repeat_penalty = 1.0f;
      params.max_tokens = 32;
      g_assert_true (temper_chat_template_tokenize (tmpl, &msg, 1, TRUE, &tokens, &error));
      temper_generator_reset (gen);
      g_assert_true (temper_generator_generate (gen, (const gint32 *) tokens.ids->data, tokens.ids->len,
                                                &params, collect, text, NULL, NULL, &error));
      g_assert_no_error (error);
      temper_chat_tokens_clear (&tokens);
      correct += strstr (text->str, facts[i].expect) != NULL;
      g_test_message ("%s: %s → %s", who, facts[i].prompt, text->str);
    }
  return correct;
}

static void
test_learns_facts (void)
{
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *faq = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "samples",
                                           "product-faq.jsonl", NULL);
  g_autofree char *tmp = NULL, *data = NULL, *dir = NULL, *adapter_dir = NULL, *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) subset = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(GArray) metrics = NULL;
  TemperGeneratorOptions gopts = { 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;
  int base_correct, tuned_correct;
  double first, last;

  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not there (make setup fetches it)");
      return;
    }
  g_assert_true (g_file_get_contents (faq, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; i < G_N_ELEMENTS (facts); i++)
    {
      g_assert_nonnull (strstr (lines[facts[i].line - 1], facts[i].prompt));
      g_assert_nonnull (strstr (lines[facts[i].line - 1], facts[i].expect));
      g_string_append_printf (subset, "%s\n", lines[facts[i].line - 1]);
    }
  tmp = g_dir_make_tmp ("temper-e2e-XXXXXX", NULL);
  data = g_build_filename (tmp, "facts.jsonl", NULL);
  dir = g_build_filename (tmp, "run", NULL);
  g_assert_true (g_file_set_contents (data, subset->str, -1, NULL));

  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);

  /* Small and hot: one step per epoch over the six records. */
  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 8;
  s.lora.alpha = 16;
  s.lora.dropout = 0.0f;
  s.learning_rate = 3e-3;
  s.schedule = TEMPER_LR_CONSTANT;
  s.warmup_steps = 0;
  s.epochs = 12;
  s.micro_batch = 6;
  s.max_length = 64;
  s.val_fraction = 0.0;
  s.checkpoint_every = 0;
  s.seed = 1;
  run = temper_run_create (dir, &s, model_path, data, NULL, &error);
  g_assert_no_error (error);
  temper_train_options_init (&options);
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);

  metrics = temper_run_read_metrics (run, &error);
  g_assert_cmpuint (metrics->len, ==, 12);
  first = g_array_index (metrics, TemperRunMetrics, 0).loss;
  last = g_array_index (metrics, TemperRunMetrics, metrics->len - 1).loss;
  g_test_message ("training loss %.4f → %.4f", first, last);
  g_assert_cmpfloat (last, <=, first / 2);

  adapter_dir = temper_run_dup_adapter_dir (run);
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  gen = temper_generator_new (model, &gopts, &error);
  g_assert_no_error (error);
  base_correct = count_correct (gen, tmpl, "base");
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  tuned_correct = count_correct (gen, tmpl, "tuned");
  g_test_message ("right facts: base %d/%u, tuned %d/%u", base_correct, (guint) G_N_ELEMENTS (facts),
                  tuned_correct, (guint) G_N_ELEMENTS (facts));
  g_assert_cmpfloat (tuned_correct, >=, 0.8 * G_N_ELEMENTS (facts));
  g_assert_cmpfloat (base_correct, <=, 0.1 * G_N_ELEMENTS (facts));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-e2e/learns-facts", test_learns_facts);
  return g_test_run ();
}
