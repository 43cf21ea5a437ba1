/* SPDX-License-Identifier: MIT */
/* test-ratings-file.c — RUN/ratings.json keeps where the length limit cut
 * an answer ("cut_at_tokens", optional per answer): written for a whole
 * answer that was cut, read back, absent for one the model ended, and a
 * file written before the field existed still loads (its answers are not
 * cut).  The JSON is read here with json-glib, not with the code under
 * test. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/ratings.h"

static JsonObject *
answer_object (JsonNode   *root,
               guint       prompt,
               const char *source)
{
  JsonObject *o = json_node_get_object (root);
  JsonArray *prompts = json_object_get_array_member (o, "prompts");
  JsonObject *p = json_array_get_object_element (prompts, prompt);

  return json_object_get_object_member (json_object_get_object_member (p, "answers"), source);
}

static void
test_cut_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-ratings-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "ratings.json", NULL);
  const char *const sources[] = { TEMPER_RATINGS_BASE, TEMPER_RATINGS_FINAL, NULL };
  g_autoptr(TemperRatings) ratings = temper_ratings_new (7);
  g_autoptr(TemperRatings) back = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  guint p;

  temper_ratings_set_sources (ratings, sources);
  p = temper_ratings_add_prompt (ratings, "Name three rivers", TEMPER_PROMPT_FROM_PERSON);
  temper_ratings_set_answer (ratings, p, TEMPER_RATINGS_BASE, "The Nile, the");
  temper_ratings_set_cut_at (ratings, p, TEMPER_RATINGS_BASE, 10);
  temper_ratings_set_answer (ratings, p, TEMPER_RATINGS_FINAL, "Nile, Amazon, Yangtze.");
  g_assert_cmpuint (temper_ratings_get_cut_at (ratings, p, TEMPER_RATINGS_BASE), ==, 10);
  g_assert_cmpuint (temper_ratings_get_cut_at (ratings, p, TEMPER_RATINGS_FINAL), ==, 0);
  g_assert_true (temper_ratings_save (ratings, path, &error));
  g_assert_no_error (error);

  /* In the file: a number on the cut answer, nothing on the other. */
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (answer_object (json_parser_get_root (parser), p, TEMPER_RATINGS_BASE),
                                               "cut_at_tokens"), ==, 10);
  g_assert_false (json_object_has_member (answer_object (json_parser_get_root (parser), p, TEMPER_RATINGS_FINAL),
                                          "cut_at_tokens"));

  back = temper_ratings_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_ratings_get_cut_at (back, p, TEMPER_RATINGS_BASE), ==, 10);
  g_assert_cmpuint (temper_ratings_get_cut_at (back, p, TEMPER_RATINGS_FINAL), ==, 0);
  g_assert_cmpstr (temper_ratings_get_answer (back, p, TEMPER_RATINGS_BASE), ==, "The Nile, the");

  /* A new answer is not cut until said so. */
  temper_ratings_set_answer (back, p, TEMPER_RATINGS_BASE, NULL);
  g_assert_cmpuint (temper_ratings_get_cut_at (back, p, TEMPER_RATINGS_BASE), ==, 0);

  g_unlink (path);
  g_rmdir (dir);
}

/* A file as Temper wrote it before answers could be cut; written out here
 * by hand. */
static void
test_old_file_loads (void)
{
  static const char old[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"seed\": \"42\",\n"
    "  \"sources\": [\"base\", \"final\"],\n"
    "  \"prompts\": [\n"
    "    { \"prompt\": \"Say hello\", \"origin\": \"person\", \"blind_order\": [\"final\", \"base\"],\n"
    "      \"verdict\": \"final\", \"note\": null,\n"
    "      \"answers\": {\n"
    "        \"base\": { \"text\": \"Hi\", \"relevance\": 3, \"accuracy\": null, \"style\": null },\n"
    "        \"final\": { \"text\": \"Hello!\", \"relevance\": null, \"accuracy\": null, \"style\": null }\n"
    "      } }\n"
    "  ]\n"
    "}\n";
  g_autofree char *dir = g_dir_make_tmp ("temper-ratings-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "ratings.json", NULL);
  g_autoptr(TemperRatings) ratings = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, old, -1, NULL));
  ratings = temper_ratings_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_ratings_get_n_prompts (ratings), ==, 1);
  g_assert_cmpstr (temper_ratings_get_answer (ratings, 0, TEMPER_RATINGS_FINAL), ==, "Hello!");
  g_assert_cmpint (temper_ratings_get_score (ratings, 0, TEMPER_RATINGS_BASE, TEMPER_ASPECT_RELEVANCE), ==, 3);
  g_assert_cmpuint (temper_ratings_get_cut_at (ratings, 0, TEMPER_RATINGS_BASE), ==, 0);
  g_assert_cmpuint (temper_ratings_get_cut_at (ratings, 0, TEMPER_RATINGS_FINAL), ==, 0);

  /* A cut that is not a count of tokens is a damaged file, said so. */
  {
    g_autoptr(GString) damaged = g_string_new (old);

    g_assert_cmpuint (g_string_replace (damaged, "\"text\": \"Hi\",", "\"text\": \"Hi\", \"cut_at_tokens\": -3,", 1),
                      ==, 1);
    g_assert_true (g_file_set_contents (path, damaged->str, -1, NULL));
    g_clear_object (&ratings);
    ratings = temper_ratings_load (path, &error);
    g_assert_null (ratings);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, path));
  }

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ratings/file/cut-round-trip", test_cut_round_trip);
  g_test_add_func ("/ratings/file/old-file-loads", test_old_file_loads);
  return g_test_run ();
}
