/* SPDX-License-Identifier: MIT */
/* temper-run-lock.c — one process at a time writes to a run folder.
 *
 * RUN/.temper-lock is held with flock() by the process that trains, resumes,
 * exports into or evaluates the run, and says who that is (pid, host,
 * program, what it does) for the message the others get.  The kernel drops
 * the lock when its holder exits or is killed, so a lock left by a crashed
 * process is simply taken over by the next one; the file itself is never
 * removed (removing it would let two processes lock two different files). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/run.h"
#include "temper-run-private.h"

struct _TemperRunLock {
  int fd;
};

static const char *
use_name (TemperRunUse use)
{
  switch (use)
    {
    case TEMPER_RUN_USE_TRAINING: return "training";
    case TEMPER_RUN_USE_EXPORTING: return "exporting";
    case TEMPER_RUN_USE_EVALUATING: return "evaluating";
    default: g_assert_not_reached ();
    }
}

typedef struct {
  gint64 pid;
  char  *host;
  char  *program;
  char  *use;
} Holder;

static void
holder_clear (Holder *h)
{
  g_free (h->host);
  g_free (h->program);
  g_free (h->use);
}

static void
replace_string (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* What the holder wrote; FALSE when it has not written yet. */
static gboolean
read_holder (int fd, Holder *h)
{
  char buf[1024];
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
  g_auto(GStrv) lines = NULL;

  memset (h, 0, sizeof *h);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';
  lines = g_strsplit (buf, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq == NULL)
        continue;
      *eq = '\0';
      if (strcmp (lines[i], "pid") == 0)
        h->pid = g_ascii_strtoll (eq + 1, NULL, 10);
      else if (strcmp (lines[i], "host") == 0)
        replace_string (&h->host, eq + 1);
      else if (strcmp (lines[i], "program") == 0)
        replace_string (&h->program, eq + 1);
      else if (strcmp (lines[i], "use") == 0)
        replace_string (&h->use, eq + 1);
    }
  return h->pid > 0 && h->program != NULL;
}

/* "temper-cli (process 1234)", with the host when it is another machine's. */
static char *
describe_holder (const Holder *h)
{
  if (h->host != NULL && strcmp (h->host, g_get_host_name ()) != 0)
    /* Translators: a program, its process id and the computer it runs on */
    return g_strdup_printf (_("%s (process %lld on %s)"), h->program, (long long) h->pid,
                            h->host);
  /* Translators: a program and its process id */
  return g_strdup_printf (_("%s (process %lld)"), h->program, (long long) h->pid);
}

static void
set_busy_error (GError **error, const char *dir, int fd)
{
  Holder h;

  if (!read_holder (fd, &h))
    {
      holder_clear (&h);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE,
                   _("The run in “%s” is in use by another program. Wait until it has "
                     "finished, or stop it, then try again."), dir);
      return;
    }
  {
    g_autofree char *who = describe_holder (&h);

    if (g_strcmp0 (h.use, "training") == 0)
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE,
                   _("This run is being trained by %s, in “%s”. Wait until it has finished, "
                     "or stop it, then try again."), who, dir);
    else if (g_strcmp0 (h.use, "exporting") == 0)
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE,
                   _("This run is being exported by %s, in “%s”. Wait until it has finished, "
                     "or stop it, then try again."), who, dir);
    else
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IN_USE,
                   _("This run is being evaluated by %s, in “%s”. Wait until it has "
                     "finished, or stop it, then try again."), who, dir);
  }
  holder_clear (&h);
}

/* flock()s @fd.  A holder that has not described itself is either one that
 * has just taken the lock or someone only asking who holds it
 * (temper_run_dup_lock_holder(), for an instant): worth a few more tries
 * before giving up. */
static gboolean
take_lock (int fd)
{
  for (int attempt = 0; attempt < 20; attempt++)
    {
      Holder h;
      gboolean described;

      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        return TRUE;
      if (errno != EWOULDBLOCK)
        return FALSE;
      described = read_holder (fd, &h);
      holder_clear (&h);
      if (described)
        break;
      g_usleep (50 * 1000);
    }
  errno = EWOULDBLOCK;
  return FALSE;
}

TemperRunLock *
temper_run_lock_acquire (const char *dir, TemperRunUse use, GError **error)
{
  g_autofree char *path = g_build_filename (dir, TEMPER_RUN_LOCK_NAME, NULL);
  g_autofree char *text = NULL;
  /* "temper-cli train" is the program temper-cli, doing what use says;
   * "/usr/bin/temper" is temper. */
  g_autofree char *program = g_path_get_basename (g_get_prgname () != NULL ? g_get_prgname ()
                                                                            : "Temper");
  TemperRunLock *lock;
  int fd;

  program[strcspn (program, " \n")] = '\0';
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not open the run’s lock file “%s”"), path);
      return NULL;
    }
  if (!take_lock (fd))
    {
      int saved = errno;

      if (saved == EWOULDBLOCK)
        set_busy_error (error, dir, fd);
      else
        temper_set_error_from_errno (error, saved, _("Could not lock “%s”"), path);
      close (fd);
      return NULL;
    }
  text = g_strdup_printf ("pid=%ld\nhost=%s\nprogram=%s\nuse=%s\n", (long) getpid (),
                          g_get_host_name (), program, use_name (use));
  /* The lock holds even when its description cannot be written: that only
   * makes the others' message vaguer. */
  if (ftruncate (fd, 0) != 0 || pwrite (fd, text, strlen (text), 0) != (ssize_t) strlen (text))
    g_debug ("Could not describe the holder of %s", path);
  lock = g_new0 (TemperRunLock, 1);
  lock->fd = fd;
  return lock;
}

void
temper_run_lock_release (TemperRunLock *lock)
{
  if (lock == NULL)
    return;
  /* Emptied first, so nobody reads a finished holder as the current one. */
  if (ftruncate (lock->fd, 0) != 0)
    g_debug ("Could not empty a run's lock file");
  close (lock->fd);
  g_free (lock);
}

char *
temper_run_dup_lock_holder (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, TEMPER_RUN_LOCK_NAME, NULL);
  char *who = NULL;
  Holder h;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);

  if (fd < 0)
    return NULL;
  if (flock (fd, LOCK_SH | LOCK_NB) == 0)
    {
      close (fd);
      return NULL;
    }
  if (read_holder (fd, &h))
    who = describe_holder (&h);
  else
    who = g_strdup (_("another program"));
  holder_clear (&h);
  close (fd);
  return who;
}
