/* SPDX-License-Identifier: MIT */
/* test-perplexity.c — answer-token likelihood of the tiny random Qwen2 model,
 * base and with a LoRA adapter, against transformers and PEFT
 * (tests/eval/make-perplexity-fixtures.py). */
#include "config.h"

#include <math.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/evaluate.h"
#include "temper/train.h"

typedef struct {
  temper_model_t     *model;
  temper_generator_t *gen;
  GArray             *ids;
  GArray             *mask;
  guint64             n_tokens;
  double              base_nll;
  double              tuned_nll;
} Fixture;

static char *
fixture_path (const char *area, const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", area, name, NULL);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *model_dir = fixture_path ("nn", "tiny-qwen2");
  g_autofree char *json = fixture_path ("eval", "tiny-qwen2-nll.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  TemperGeneratorOptions options = { 64, 1, TRUE };
  JsonObject *obj;
  JsonArray *ids, *mask;

  g_assert_true (json_parser_load_from_file (parser, json, &error));
  g_assert_no_error (error);
  obj = json_node_get_object (json_parser_get_root (parser));
  ids = json_object_get_array_member (obj, "ids");
  mask = json_object_get_array_member (obj, "mask");
  f->ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  f->mask = g_array_new (FALSE, FALSE, sizeof (guint8));
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      gint32 id = (gint32) json_array_get_int_element (ids, i);
      guint8 m = (guint8) json_array_get_int_element (mask, i);
      g_array_append_val (f->ids, id);
      g_array_append_val (f->mask, m);
    }
  f->n_tokens = (guint64) json_object_get_int_member (obj, "n_tokens");
  f->base_nll = json_object_get_double_member (obj, "base_nll_sum");
  f->tuned_nll = json_object_get_double_member (obj, "tuned_nll_sum");

  f->model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
  f->gen = temper_generator_new (f->model, &options, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  temper_generator_free (f->gen);
  temper_model_free (f->model);
  g_array_unref (f->ids);
  g_array_unref (f->mask);
}

static int
n_vocab (Fixture *f)
{
  return temper_model_get_config (f->model)->n_vocab;
}

static void
check_nll (Fixture *f, double expect)
{
  g_autoptr(GError) error = NULL;
  TemperNll nll = { 0 };

  g_assert_true (temper_evaluate_nll (f->gen, n_vocab (f), (const gint32 *) f->ids->data,
                                      (const guint8 *) f->mask->data, f->ids->len, &nll,
                                      NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (nll.n_tokens, ==, f->n_tokens);
  /* fp32 forward passes against PyTorch's: 1e-4 nats per token. */
  g_assert_cmpfloat_with_epsilon (nll.nll_sum / nll.n_tokens, expect / f->n_tokens, 1e-4);
  g_assert_cmpfloat_with_epsilon (temper_nll_perplexity (&nll), exp (expect / f->n_tokens),
                                  1e-4 * exp (expect / f->n_tokens));
}

static void
test_base (Fixture *f, gconstpointer data)
{
  check_nll (f, f->base_nll);
  /* A second record starts from an empty cache and scores the same. */
  check_nll (f, f->base_nll);
}

static void
test_tuned (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_path ("eval", "tiny-qwen2-adapter");
  g_autoptr(GError) error = NULL;
  temper_adapter_t *adapter;

  adapter = temper_lora_load_peft (dir, temper_model_get_config (f->model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_generator_set_adapter (f->gen, adapter, &error));
  g_assert_no_error (error);
  check_nll (f, f->tuned_nll);
  g_assert_true (temper_generator_set_adapter (f->gen, NULL, &error));
  check_nll (f, f->base_nll);
  temper_adapter_free (adapter);
}

static void
test_nothing_to_score (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *no_mask = g_new0 (guint8, f->ids->len);
  TemperNll nll = { 0 };

  g_assert_true (temper_evaluate_nll (f->gen, n_vocab (f), (const gint32 *) f->ids->data,
                                      no_mask, f->ids->len, &nll, NULL, &error));
  g_assert_cmpuint (nll.n_tokens, ==, 0);
  g_assert_true (isnan (temper_nll_perplexity (&nll)));
}

static void
test_bad_token (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint32 ids[3] = { 5, 7, 100000 };
  guint8 mask[3] = { 0, 1, 1 };
  TemperNll nll = { 0 };

  g_assert_false (temper_evaluate_nll (f->gen, n_vocab (f), ids, mask, 3, &nll, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TemperNll nll = { 0 };

  g_cancellable_cancel (cancellable);
  g_assert_false (temper_evaluate_nll (f->gen, n_vocab (f), (const gint32 *) f->ids->data,
                                       (const guint8 *) f->mask->data, f->ids->len, &nll,
                                       cancellable, &error));
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/perplexity/base", Fixture, NULL, fixture_set_up, test_base, fixture_tear_down);
  g_test_add ("/perplexity/tuned", Fixture, NULL, fixture_set_up, test_tuned, fixture_tear_down);
  g_test_add ("/perplexity/nothing-to-score", Fixture, NULL, fixture_set_up,
              test_nothing_to_score, fixture_tear_down);
  g_test_add ("/perplexity/bad-token", Fixture, NULL, fixture_set_up, test_bad_token,
              fixture_tear_down);
  g_test_add ("/perplexity/cancelled", Fixture, NULL, fixture_set_up, test_cancelled,
              fixture_tear_down);
  return g_test_run ();
}
