/* SPDX-License-Identifier: MIT */
/* test-export-dest.c — an export never replaces or empties what Temper did
 * not make: a person's folder or file under the destination's name is
 * refused and left exactly as it was; only an earlier export of the same
 * kind, made by Temper and untouched since, is replaced. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/export.h"
#include "export-test-util.h"

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
assert_contents (const char *path, const char *expected)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, expected);
}

/* A folder of the user's: a file and a sub-folder with a file. */
static char *
make_user_folder (Fixture *f, const char *name)
{
  char *dir = path_in (f, name);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *deep = g_build_filename (sub, "deep.txt", NULL);

  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  model_test_write (notes, "precious", 8);
  model_test_write (deep, "deep", 4);
  return dir;
}

static void
assert_user_folder_intact (const char *dir)
{
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *deep = g_build_filename (dir, "sub", "deep.txt", NULL);

  assert_contents (notes, "precious");
  assert_contents (deep, "deep");
  g_assert_cmpuint (count_entries (dir), ==, 2);
}

static void
test_folder_of_the_user (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (model);
  g_autofree char *hf_src = NULL;
  g_autoptr(temper_model_t) hf = NULL;
  g_autoptr(temper_adapter_t) hf_adapter = NULL;
  g_autofree char *mine = make_user_folder (f, "mine");
  g_autofree char *mine_slash = g_strconcat (mine, "/", NULL);
  g_autoptr(GError) error = NULL;
  guint before = count_entries (f->dir);

  (void) data;
  g_assert_false (temper_export_peft (model, adapter, 0.0f, mine, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, mine));
  g_clear_error (&error);
  g_assert_false (temper_export_peft (model, adapter, 0.0f, mine_slash, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (temper_export_gguf_adapter (model, adapter, mine, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_F16, mine, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  hf_src = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR")
                                                                     : TEMPER_SOURCE_DIR,
                             "tests", "fixtures", "model", "hf-tiny-llama", NULL);
  hf = load (hf_src);
  hf_adapter = export_test_adapter (hf);
  g_assert_false (temper_export_merged_hf (hf, hf_adapter, TEMPER_EXPORT_HF_F32, 0, mine, NULL,
                                           &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  assert_user_folder_intact (mine);
  /* Nothing was left beside it either (no temporary names). */
  g_assert_cmpuint (count_entries (f->dir), ==, before);
}

static void
test_current_folder (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (model);
  g_autofree char *mine = make_user_folder (f, "cwd");
  g_autofree char *cwd = g_get_current_dir ();
  const char *const names[] = { ".", "./", "..", "", "/", "sub/.." };
  g_autoptr(GError) error = NULL;

  (void) data;
  g_assert_cmpint (g_chdir (mine), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_false (temper_export_peft (model, adapter, 0.0f, names[i], NULL, &error));
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  assert_user_folder_intact (mine);
  /* The same folder by its full name is the user's folder, refused as such. */
  g_assert_false (temper_export_peft (model, adapter, 0.0f, mine, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  assert_user_folder_intact (mine);
}

static void
test_own_folder_replaced (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (model);
  g_autofree char *out = path_in (f, "peft");
  g_autofree char *out_slash = g_strconcat (out, "/", NULL);
  g_autofree char *added = g_build_filename (out, "my-notes.md", NULL);
  g_autofree char *weights = g_build_filename (out, "adapter_model.safetensors", NULL);
  g_autoptr(GError) error = NULL;

  (void) data;
  /* "peft/" names the folder "peft". */
  g_assert_true (temper_export_peft (model, adapter, 0.0f, out_slash, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));
  g_assert_true (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (f->dir), ==, 2);

  /* Another kind of export does not replace it. */
  g_assert_false (temper_export_gguf_adapter (model, adapter, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Once the user added a file of their own, it is theirs. */
  model_test_write (added, "# my notes", 10);
  g_assert_false (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  assert_contents (added, "# my notes");
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));
}

static void
test_files (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (model);
  g_autofree char *user_file = path_in (f, "mine.gguf");
  g_autofree char *empty = path_in (f, "empty.gguf");
  g_autofree char *lora = path_in (f, "lora.gguf");
  g_autofree char *merged = path_in (f, "merged.gguf");
  g_autofree char *user_modelfile = path_in (f, "Modelfile");
  g_autofree char *modelfile = path_in (f, "merged.Modelfile");
  g_autoptr(GError) error = NULL;

  (void) data;
  /* A file of the user's, GGUF or not, is never replaced. */
  model_test_write (user_file, "mine", 4);
  g_assert_false (temper_export_gguf_adapter (model, adapter, user_file, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_Q8_0, user_file, NULL,
                                             &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_contents (user_file, "mine");
  /* The base model is a GGUF too, but not an export. */
  {
    g_autofree char *base = path_in (f, "base.gguf");

    g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_Q8_0, base, NULL,
                                               &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* An empty file holds nothing to lose. */
  model_test_write (empty, "", 0);
  g_assert_true (temper_export_gguf_adapter (model, adapter, empty, NULL, &error));
  g_assert_no_error (error);

  /* Temper's own exports are replaced by the same kind only. */
  g_assert_true (temper_export_gguf_adapter (model, adapter, lora, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_gguf_adapter (model, adapter, lora, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_Q8_0, lora, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_Q8_0, merged, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_F16, merged, NULL, &error));
  g_assert_no_error (error);

  /* The Modelfile too. */
  model_test_write (user_modelfile, "FROM llama3\n", 12);
  g_assert_false (temper_export_modelfile (model, merged, user_modelfile, NULL, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_contents (user_modelfile, "FROM llama3\n");
  g_assert_true (temper_export_modelfile (model, merged, modelfile, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_modelfile (model, merged, modelfile, NULL, NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/export/dest/folder-of-the-user", test_folder_of_the_user);
  ADD ("/export/dest/current-folder", test_current_folder);
  ADD ("/export/dest/own-folder-replaced", test_own_folder_replaced);
  ADD ("/export/dest/files", test_files);
#undef ADD
  return g_test_run ();
}
