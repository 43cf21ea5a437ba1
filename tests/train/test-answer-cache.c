// SPDX-License-Identifier: MIT
/* The base model's answers kept between evaluations: an answer is served
 * only for the same model file (path, size, modification time, inode), the
 * same generation settings and the same conversation; the file lives in the
 * user's cache folder, never beside the model or the data. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "train/temper-answer-cache.h"

static char *cache_home;

static void
write_model (const char *path, const char *bytes)
{
  g_assert_true (g_file_set_contents (path, bytes, -1, NULL));
}

static void
test_served_only_for_the_same (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-answer-cache-XXXXXX", NULL);
  g_autofree char *model = g_build_filename (dir, "model.gguf", NULL);
  g_autofree char *other = g_build_filename (dir, "other.gguf", NULL);
  g_autofree char *replacement = g_build_filename (dir, "replacement.gguf", NULL);
  TemperChatMessage question[] = { { TEMPER_CHAT_ROLE_USER, "What is the capital of France?" } };
  TemperChatMessage reworded[] = { { TEMPER_CHAT_ROLE_USER, "What is the capital of France ?" } };
  TemperChatMessage with_system[] = { { TEMPER_CHAT_ROLE_SYSTEM, "Be brief." },
                                      { TEMPER_CHAT_ROLE_USER, "What is the capital of France?" } };
  TemperChatMessage as_assistant[] = { { TEMPER_CHAT_ROLE_ASSISTANT, "What is the capital of France?" } };
  struct utimbuf times;
  struct stat st;

  write_model (model, "GGUF one model");
  write_model (other, "GGUF one model");
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "greedy|48 tokens");

    g_assert_nonnull (cache);
    g_assert_true (g_str_has_prefix (temper_answer_cache_get_path (cache), cache_home));
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
    temper_answer_cache_store (cache, question, 1, "Paris.");
    temper_answer_cache_store (cache, with_system, 2, "Paris, briefly.");
    temper_answer_cache_save (cache);
    g_assert_true (g_file_test (temper_answer_cache_get_path (cache), G_FILE_TEST_IS_REGULAR));
  }
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "greedy|48 tokens");

    g_assert_cmpstr (temper_answer_cache_lookup (cache, question, 1), ==, "Paris.");
    g_assert_cmpstr (temper_answer_cache_lookup (cache, with_system, 2), ==, "Paris, briefly.");
    /* A changed question, another role or one message less is not the same. */
    g_assert_null (temper_answer_cache_lookup (cache, reworded, 1));
    g_assert_null (temper_answer_cache_lookup (cache, as_assistant, 1));
    g_assert_null (temper_answer_cache_lookup (cache, with_system + 1, 0));
    g_assert_cmpuint (temper_answer_cache_get_hits (cache), ==, 2);
  }
  {
    /* Other generation settings. */
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "greedy|64 tokens");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }
  {
    /* Another file with the same bytes. */
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (other, "greedy|48 tokens");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }

  /* The same file rewritten (same size, another time). */
  g_assert_cmpint (g_stat (model, &st), ==, 0);
  times.actime = st.st_atime;
  times.modtime = st.st_mtime - 100;
  g_assert_cmpint (utime (model, &times), ==, 0);
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "greedy|48 tokens");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
    temper_answer_cache_store (cache, question, 1, "Paris.");
    temper_answer_cache_save (cache);
  }
  /* Another file moved into its place, with its time set to the old one's:
   * another inode. */
  write_model (replacement, "GGUF another m");
  g_assert_cmpint (utime (replacement, &times), ==, 0);
  g_assert_cmpint (g_rename (replacement, model), ==, 0);
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "greedy|48 tokens");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }

  /* Nothing was written beside the model. */
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    guint n = 0;

    while ((name = g_dir_read_name (d)) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 2);
  }
  g_unlink (model);
  g_unlink (other);
  g_rmdir (dir);
}

static void
test_bad_or_foreign_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-answer-cache-XXXXXX", NULL);
  g_autofree char *model = g_build_filename (dir, "model.gguf", NULL);
  TemperChatMessage question[] = { { TEMPER_CHAT_ROLE_USER, "你好" } };
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  write_model (model, "GGUF");
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "s");
    temper_answer_cache_store (cache, question, 1, "你好！");
    temper_answer_cache_save (cache);
    path = g_strdup (temper_answer_cache_get_path (cache));
  }
  /* A file under the right name whose key is another's serves nothing. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"key\""));
  {
    g_autoptr(GString) foreign = g_string_new (text);
    g_string_replace (foreign, "|s|", "|t|", 1);
    g_assert_true (g_file_set_contents (path, foreign->str, -1, NULL));
  }
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "s");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }
  /* A damaged file is an empty cache. */
  g_assert_true (g_file_set_contents (path, "{\"key\": [", -1, NULL));
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (model, "s");
    g_assert_nonnull (cache);
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }
  /* Switched off, and a model that is not there. */
  g_setenv ("TEMPER_NO_ANSWER_CACHE", "1", TRUE);
  g_assert_null (temper_answer_cache_open (model, "s"));
  g_unsetenv ("TEMPER_NO_ANSWER_CACHE");
  g_unlink (model);
  g_assert_null (temper_answer_cache_open (model, "s"));
  g_rmdir (dir);
}

/* A Hugging Face model is a folder: a changed file inside it is another
 * model, though the folder itself may keep its time. */
static void
test_model_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-answer-cache-XXXXXX", NULL);
  g_autofree char *weights = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  TemperChatMessage question[] = { { TEMPER_CHAT_ROLE_USER, "2 + 2?" } };
  struct utimbuf times;
  struct stat st;

  write_model (weights, "weights one");
  write_model (config, "{}");
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (dir, "s");
    temper_answer_cache_store (cache, question, 1, "4");
    temper_answer_cache_save (cache);
  }
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (dir, "s");
    g_assert_cmpstr (temper_answer_cache_lookup (cache, question, 1), ==, "4");
  }
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  times.actime = st.st_atime;
  times.modtime = st.st_mtime;
  write_model (weights, "weights two");
  g_assert_cmpint (utime (dir, &times), ==, 0);
  {
    g_autoptr(TemperAnswerCache) cache = temper_answer_cache_open (dir, "s");
    g_assert_null (temper_answer_cache_lookup (cache, question, 1));
  }
  g_unlink (weights);
  g_unlink (config);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int rc;

  /* Before GLib first reads it. */
  cache_home = g_dir_make_tmp ("temper-cache-home-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_unsetenv ("TEMPER_NO_ANSWER_CACHE");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/answer-cache/served-only-for-the-same", test_served_only_for_the_same);
  g_test_add_func ("/answer-cache/bad-or-foreign-file", test_bad_or_foreign_file);
  g_test_add_func ("/answer-cache/model-folder", test_model_folder);
  rc = g_test_run ();
  {
    g_autofree char *cmd_dir = g_build_filename (cache_home, "temper", "base-answers", NULL);
    g_autoptr(GDir) d = g_dir_open (cmd_dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *file = g_build_filename (cmd_dir, name, NULL);
        g_unlink (file);
      }
    g_rmdir (cmd_dir);
    cmd_dir[strlen (cmd_dir) - strlen ("/base-answers")] = '\0';
    g_rmdir (cmd_dir);
    g_rmdir (cache_home);
  }
  return rc;
}
