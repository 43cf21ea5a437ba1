/* SPDX-License-Identifier: MIT */
/* test-durable.c — what the engine writes reaches the disk before it is
 * reported written: each file is flushed (fsync) under its temporary name
 * before the rename, and the folder is flushed after it, so a power cut
 * cannot lose a "saved" checkpoint, adapter, export or settings file.
 *
 * The test counts the flushes by standing in for fsync() itself: the engine
 * is linked in statically, and GLib finds this definition before libc's. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/export.h"
#include "temper/fs.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

/* Every path flushed so far, as the kernel names it at the time. */
static GPtrArray *flushed;

int fsync (int fd);

int
fsync (int fd)
{
  char link[64], path[4096];
  ssize_t n;

  g_snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, path, sizeof path - 1);
  if (n > 0 && flushed != NULL)
    {
      path[n] = '\0';
      g_ptr_array_add (flushed, g_strdup (path));
    }
  return (int) syscall (SYS_fsync, fd);
}

static gboolean
was_flushed (const char *path)
{
  for (guint i = 0; i < flushed->len; i++)
    if (strcmp (flushed->pdata[i], path) == 0)
      return TRUE;
  return FALSE;
}

/* Whether a file whose name starts with @prefix, in @dir, was flushed. */
static gboolean
was_flushed_under (const char *dir, const char *prefix)
{
  g_autofree char *start = g_build_filename (dir, prefix, NULL);

  for (guint i = 0; i < flushed->len; i++)
    if (g_str_has_prefix (flushed->pdata[i], start))
      return TRUE;
  return FALSE;
}

static void
forget_flushes (void)
{
  g_ptr_array_set_size (flushed, 0);
}

static TemperModelConfig
tiny_config (void)
{
  TemperModelConfig c = { 0 };

  c.rope_layout = TEMPER_ROPE_INTERLEAVED;
  c.n_layer = 2;
  c.n_embd = 64;
  c.n_ff = 96;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 16;
  c.n_vocab = 320;
  return c;
}

static char *
real_tmpdir (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-durable-XXXXXX", NULL);
  char resolved[4096];

  g_assert_nonnull (realpath (tmp, resolved));
  return g_strdup (resolved);
}

static void
test_write_file (void)
{
  g_autofree char *dir = real_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "settings.json", NULL);
  g_autofree char *missing = g_build_filename (dir, "no", "such.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;
  mode_t mask = umask (022);

  umask (mask);
  forget_flushes ();
  g_assert_true (temper_fs_write_file (path, "{}", -1, &error));
  g_assert_no_error (error);
  /* The new file is flushed under its temporary name, then its folder. */
  g_assert_true (was_flushed_under (dir, "settings.json."));
  g_assert_true (was_flushed (dir));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "{}");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0666 & ~mask);

  g_clear_pointer (&text, g_free);
  g_assert_true (temper_fs_write_file (path, "{\"a\": 1}", -1, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "{\"a\": 1}");
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    g_assert_cmpstr (g_dir_read_name (d), ==, "settings.json");
    g_assert_null (g_dir_read_name (d));
  }

  g_assert_false (temper_fs_write_file (missing, "{}", -1, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  test_remove_tree (dir);
}

static void
test_checkpoint (void)
{
  g_autofree char *tmp = real_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autofree char *data = g_build_filename (tmp, "data.json", NULL);
  g_autofree char *checkpoints = g_build_filename (dir, "checkpoints", NULL);
  g_autofree char *partial = g_build_filename (checkpoints, ".step-00000003.partial", NULL);
  TemperModelConfig mc = tiny_config ();
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) lora = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *m = NULL, *v = NULL;
  TemperTrainSettings s;
  TemperTrainState st = { 3, 0, 3, { 1, 2, 3, 4 }, 1.0, 0, 10, 1.0 };
  guint64 n;

  temper_train_settings_init_default (&s);
  s.lora.rank = 2;
  g_assert_true (g_file_set_contents (data, "[]", -1, NULL));
  forget_flushes ();
  run = temper_run_create (dir, &s, "/m.gguf", data, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (was_flushed_under (dir, "settings.json."));
  g_assert_true (was_flushed (dir));

  lora = temper_lora_adapter_new (&mc, &s.lora, 5, NULL);
  n = temper_lora_count_params (lora, &mc);
  m = g_new0 (float, n);
  v = g_new0 (float, n);
  forget_flushes ();
  g_assert_true (temper_run_save_checkpoint (run, lora, &mc, m, v, &st, &error));
  g_assert_no_error (error);
  /* Every file of the checkpoint, while it is still the hidden folder, then
   * the folder, then the checkpoints folder that the rename changed. */
  g_assert_true (was_flushed_under (partial, "adapter_model.safetensors"));
  g_assert_true (was_flushed_under (partial, "adapter_config.json"));
  g_assert_true (was_flushed_under (partial, "optimizer.bin"));
  g_assert_true (was_flushed_under (partial, "state.json"));
  g_assert_true (was_flushed (partial));
  g_assert_true (was_flushed (checkpoints));

  forget_flushes ();
  g_assert_true (temper_run_save_adapter (run, lora, &mc, "tiny", &error));
  g_assert_no_error (error);
  g_assert_true (was_flushed (dir));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  flushed = g_ptr_array_new_with_free_func (g_free);
  g_test_add_func ("/durable/write-file", test_write_file);
  g_test_add_func ("/durable/checkpoint", test_checkpoint);
  return g_test_run ();
}
