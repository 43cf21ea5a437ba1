/* SPDX-License-Identifier: MIT */
/* test-run-lock.c — one process at a time writes to a run folder: the lock
 * says who holds it, a killed holder's lock is taken over, and the GUI's
 * Runs page can ask who holds it. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/run.h"
#include "../test-tree.h"

typedef struct {
  char *tmp;
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *dataset = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainSettings s;

  (void) data;
  f->tmp = g_dir_make_tmp ("temper-lock-XXXXXX", NULL);
  f->dir = g_build_filename (f->tmp, "run", NULL);
  dataset = g_build_filename (f->tmp, "data.jsonl", NULL);
  g_assert_true (g_file_set_contents (dataset, "{\"prompt\":\"a\",\"response\":\"b\"}\n", -1, NULL));
  temper_train_settings_init_default (&s);
  run = temper_run_create (f->dir, &s, "/models/x.gguf", dataset, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
}

static temper_run_t *
open_run (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  temper_run_t *run = temper_run_open (f->dir, &error);

  g_assert_no_error (error);
  return run;
}

static void
test_second_is_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(temper_run_t) first = open_run (f);
  g_autoptr(temper_run_t) second = open_run (f);
  g_autoptr(GError) error = NULL;
  g_autofree char *pid = g_strdup_printf ("(process %ld)", (long) getpid ());
  g_autofree char *holder = NULL;
  g_autofree char *program = g_path_get_basename (g_get_prgname ());

  (void) data;
  g_assert_null (temper_run_dup_lock_holder (f->dir));
  g_assert_true (temper_run_lock (first, TEMPER_RUN_USE_TRAINING, &error));
  g_assert_no_error (error);
  /* Taking it again through the same run is a no-op. */
  g_assert_true (temper_run_lock (first, TEMPER_RUN_USE_TRAINING, &error));

  g_assert_false (temper_run_lock (second, TEMPER_RUN_USE_EXPORTING, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE);
  g_assert_nonnull (strstr (error->message, "This run is being trained by"));
  g_assert_nonnull (strstr (error->message, program));
  g_assert_nonnull (strstr (error->message, pid));
  g_clear_error (&error);

  holder = temper_run_dup_lock_holder (f->dir);
  g_assert_nonnull (holder);
  g_assert_nonnull (strstr (holder, pid));

  /* Once the first lets go, the second gets it. */
  g_clear_pointer (&first, temper_run_free);
  g_assert_null (temper_run_dup_lock_holder (f->dir));
  g_assert_true (temper_run_lock (second, TEMPER_RUN_USE_EVALUATING, &error));
  g_assert_no_error (error);
}

static void
test_killed_holder (Fixture *f, gconstpointer data)
{
  g_autoptr(temper_run_t) run = open_run (f);
  g_autoptr(GError) error = NULL;
  int ready[2], status;
  char byte;
  pid_t child;

  (void) data;
  g_assert_cmpint (pipe (ready), ==, 0);
  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      temper_run_t *held = temper_run_open (f->dir, NULL);

      if (held == NULL || !temper_run_lock (held, TEMPER_RUN_USE_TRAINING, NULL))
        _exit (1);
      if (write (ready[1], "x", 1) != 1)
        _exit (1);
      pause ();
      _exit (0);
    }
  close (ready[1]);
  g_assert_cmpint (read (ready[0], &byte, 1), ==, 1);
  close (ready[0]);

  {
    g_autofree char *who = g_strdup_printf ("(process %ld)", (long) child);
    g_autofree char *holder = temper_run_dup_lock_holder (f->dir);

    g_assert_false (temper_run_lock (run, TEMPER_RUN_USE_TRAINING, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE);
    g_assert_nonnull (strstr (error->message, who));
    g_assert_nonnull (holder);
    g_assert_nonnull (strstr (holder, who));
    g_clear_error (&error);
  }

  /* Killed with its lock held: the lock file stays, and is taken over. */
  kill (child, SIGKILL);
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_null (temper_run_dup_lock_holder (f->dir));
  g_assert_true (temper_run_lock (run, TEMPER_RUN_USE_TRAINING, &error));
  g_assert_no_error (error);
}

static gpointer
release_later (gpointer data)
{
  g_usleep (200 * 1000);
  close (GPOINTER_TO_INT (data));
  return NULL;
}

/* Someone asking who holds the lock (the Runs page) holds it shared for an
 * instant; taking it at that moment waits for them instead of failing. */
static void
test_asking_does_not_block (Fixture *f, gconstpointer data)
{
  g_autoptr(temper_run_t) run = open_run (f);
  g_autofree char *path = g_build_filename (f->dir, ".temper-lock", NULL);
  g_autoptr(GError) error = NULL;
  GThread *thread;
  int fd;

  (void) data;
  fd = g_open (path, O_RDONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_SH), ==, 0);
  thread = g_thread_new ("asker", release_later, GINT_TO_POINTER (fd));
  g_assert_true (temper_run_lock (run, TEMPER_RUN_USE_TRAINING, &error));
  g_assert_no_error (error);
  g_thread_join (thread);
}

static void
test_contains (Fixture *f, gconstpointer data)
{
  g_autoptr(temper_run_t) run = open_run (f);
  g_autofree char *inside = g_build_filename (f->dir, "exports", "x.gguf", NULL);
  g_autofree char *dotted = g_build_filename (f->dir, "exports", "..", "y", NULL);
  g_autofree char *sibling = g_strconcat (f->dir, "-2", NULL);
  g_autofree char *escaping = g_build_filename (f->dir, "..", "y", NULL);

  (void) data;
  g_assert_true (temper_run_contains (run, f->dir));
  g_assert_true (temper_run_contains (run, inside));
  g_assert_true (temper_run_contains (run, dotted));
  g_assert_false (temper_run_contains (run, sibling));
  g_assert_false (temper_run_contains (run, escaping));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/run-lock/second-is-refused", test_second_is_refused);
  ADD ("/run-lock/killed-holder", test_killed_holder);
  ADD ("/run-lock/asking-does-not-block", test_asking_does_not_block);
  ADD ("/run-lock/contains", test_contains);
#undef ADD
  return g_test_run ();
}
