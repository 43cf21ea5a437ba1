/* SPDX-License-Identifier: MIT */
/* test-export-atomic.c — an export that cannot finish (cancelled, refused,
 * out of disk space) leaves nothing under its final name. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/export.h"
#include "export-test-util.h"

/* ---- atomicity ----------------------------------------------------------- */

typedef struct {
  GCancellable *cancellable;
  int calls;
} CancelAt;

static void
cancel_midway (double fraction, gpointer user_data)
{
  CancelAt *c = user_data;

  c->calls++;
  if (fraction > 0.3)
    g_cancellable_cancel (c->cancellable);
}

static void
test_cancel_leaves_nothing (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_ALL_TARGETS, 0.1f);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autofree char *ad = g_build_filename (f->dir, "adapter.gguf", NULL);
  g_autofree char *old = NULL, *now = NULL;
  gsize old_len = 0, now_len = 0;
  g_autoptr(GError) error = NULL;
  CancelAt cancel = { cancellable, 0 };
  TemperExportOptions options;
  guint before = count_entries (f->dir);

  (void) data;
  temper_export_options_init (&options);
  options.cancellable = cancellable;
  options.progress = cancel_midway;
  options.progress_data = &cancel;

  g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_Q8_0, out, &options, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_assert_cmpint (cancel.calls, >, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_entries (f->dir), ==, before);
  g_clear_error (&error);

  /* An earlier export under the final name survives a cancelled one. */
  g_assert_true (temper_export_gguf_adapter (model, adapter, ad, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (ad, &old, &old_len, NULL));
  g_cancellable_reset (cancellable);
  g_assert_false (temper_export_gguf_adapter (model, adapter, ad, &options, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_assert_true (g_file_get_contents (ad, &now, &now_len, NULL));
  g_assert_cmpmem (now, now_len, old, old_len);
  g_assert_cmpuint (count_entries (f->dir), ==, before + 1);
}

static void
test_unwritable_destination (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.1f);
  g_autofree char *file = g_build_filename (f->dir, "a-file", NULL);
  g_autofree char *out = g_build_filename (file, "merged.gguf", NULL);
  g_autoptr(GError) error = NULL;

  (void) data;
  /* Running as root defeats permission bits, so use a "folder" that is a
   * file: every user gets the same refusal. */
  model_test_write (file, "x", 1);
  g_assert_false (temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_F16, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, out));
  g_clear_error (&error);
  g_assert_false (temper_export_gguf_adapter (model, adapter, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
}

/* ---- a full disk ---------------------------------------------------------- */

/* Writes @text to /proc/self/@file, for the user namespace's id maps. */
static gboolean
write_proc_self (const char *file, const char *text)
{
  g_autofree char *path = g_strconcat ("/proc/self/", file, NULL);
  int fd = open (path, O_WRONLY);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, strlen (text)) == (ssize_t) strlen (text);
  close (fd);
  return ok;
}

/* Gives this (child) process a mount namespace of its own, as root directly
 * or as an unprivileged user through a user namespace, and mounts a tmpfs
 * of two pages at @dir there: a real disk that fills up, which vanishes
 * with the process.  Returns FALSE where the system allows neither. */
static gboolean
mount_tiny_tmpfs (const char *dir)
{
  if (unshare (CLONE_NEWNS) != 0)
    {
      g_autofree char *uid_map = g_strdup_printf ("0 %u 1", (guint) getuid ());
      g_autofree char *gid_map = g_strdup_printf ("0 %u 1", (guint) getgid ());

      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) != 0 || !write_proc_self ("setgroups", "deny") ||
          !write_proc_self ("uid_map", uid_map) || !write_proc_self ("gid_map", gid_map))
        return FALSE;
    }
  /* Keep the tmpfs out of the parent's namespace even where / is shared. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;
  return mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=8k") == 0;
}

/* Returns NULL when @ok is FALSE with TEMPER_ERROR_NO_SPACE, a message that
 * says so in words and names @final, and nothing is left in @dir; else what
 * went wrong. */
static char *
check_disk_full (const char *what, gboolean ok, const GError *error, const char *dir,
                 const char *final)
{
  if (ok)
    return g_strdup_printf ("%s: the export succeeded on a full disk", what);
  if (!g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE))
    return g_strdup_printf ("%s: expected a “disk full” error, got: %s", what,
                            error != NULL ? error->message : "no error");
  if (strstr (error->message, "disk is full") == NULL || strstr (error->message, final) == NULL)
    return g_strdup_printf ("%s: the message does not say the disk is full or where: %s", what,
                            error->message);
  if (count_entries (dir) != 0)
    return g_strdup_printf ("%s: %u files were left behind", what, count_entries (dir));
  g_print ("# %s: %s\n", what, error->message);
  return NULL;
}

/* Every format, exported onto a disk with room for two pages. */
static char *
export_onto_full_disk (Fixture *f, const char *full)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autofree char *src = tiny_qwen2_dir ();
  g_autoptr(temper_model_t) hf = load (src);
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 8, 8.0f, FALSE, TEMPER_LORA_ALL_TARGETS, 0.1f);
  g_autoptr(temper_adapter_t) hf_adapter = random_adapter (hf, 8, 8.0f, FALSE, TEMPER_LORA_ALL_TARGETS, 0.1f);
  g_autofree char *peft = g_build_filename (full, "peft", NULL);
  g_autofree char *lora = g_build_filename (full, "adapter.gguf", NULL);
  g_autofree char *merged = g_build_filename (full, "merged.gguf", NULL);
  g_autofree char *merged_hf = g_build_filename (full, "merged-hf", NULL);
  char *problem = NULL;

#define TRY(what, call, final)                                                    \
  G_STMT_START {                                                                  \
    g_autoptr(GError) error = NULL;                                               \
    gboolean ok = (call);                                                         \
    problem = check_disk_full (what, ok, error, full, final);                     \
    if (problem != NULL)                                                          \
      return problem;                                                             \
  } G_STMT_END
  TRY ("PEFT adapter", temper_export_peft (model, adapter, 0.0f, peft, NULL, &error), peft);
  TRY ("GGUF adapter", temper_export_gguf_adapter (model, adapter, lora, NULL, &error), lora);
  TRY ("merged GGUF", temper_export_merged_gguf (model, adapter, TEMPER_EXPORT_F16, merged, NULL, &error), merged);
  TRY ("merged Hugging Face folder",
       temper_export_merged_hf (hf, hf_adapter, TEMPER_EXPORT_HF_F32, 0, merged_hf, NULL, &error),
       merged_hf);
  TRY ("merged Hugging Face folder from a GGUF base",
       temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32, 0, merged_hf, NULL, &error),
       merged_hf);
  TRY ("merged GGUF from a Hugging Face base",
       temper_export_merged_gguf (hf, hf_adapter, TEMPER_EXPORT_F16, merged, NULL, &error), merged);
#undef TRY
  return NULL;
}

/* The kernel's own ENOSPC, from a tmpfs too small for any export, mounted
 * in a child process's private mount namespace. */
static void
test_disk_full (Fixture *f, gconstpointer data)
{
  g_autofree char *full = g_build_filename (f->dir, "full", NULL);
  int status = 0;
  pid_t pid;

  (void) data;
  g_assert_cmpint (g_mkdir (full, 0755), ==, 0);
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autofree char *problem = NULL;

      if (!mount_tiny_tmpfs (full))
        _exit (77);
      problem = export_onto_full_disk (f, full);
      if (problem != NULL)
        g_printerr ("%s\n", problem);
      umount (full);
      fflush (stdout);
      fflush (stderr);
      _exit (problem == NULL ? 0 : 1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) == 77)
    {
      g_test_skip ("this system lets no process mount a small tmpfs of its own");
      return;
    }
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/export/atomic/cancel", test_cancel_leaves_nothing);
  ADD ("/export/atomic/unwritable", test_unwritable_destination);
  ADD ("/export/atomic/disk-full", test_disk_full);
#undef ADD
  return g_test_run ();
}
