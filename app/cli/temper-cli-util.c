#include "config.h"

#include <glib/gi18n-lib.h>

#include <signal.h>
#include <stdio.h>

#include <gio/gio.h>
#include <pthread.h>
#include <unistd.h>

#include "temper-cli.h"

gboolean
temper_cli_parse (int *argc, char ***argv, const char *command,
                  const char *parameter_string, const char *description,
                  const GOptionEntry *entries, int *exit_code)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("temper-cli %s", command);

  g_set_prgname (prgname);
  /* Option descriptions, the summary and the parameter string are marked
   * with N_() where they are written; GOption translates them here. */
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (description != NULL)
    g_option_context_set_summary (context, description);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_code = temper_cli_fail (command, TEMPER_CLI_EXIT_USAGE, _("%s (see --help)"),
                                    error->message);
      return FALSE;
    }
  return TRUE;
}

int
temper_cli_fail (const char *command, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, _("temper-cli %s: %s\n"), command, message);
  return code;
}

int
temper_cli_error (const char *command, const GError *error)
{
  return temper_cli_fail (command, TEMPER_CLI_EXIT_FAILED, "%s", error->message);
}

/* SIGINT is blocked in every thread and taken by one thread with sigwait(),
 * so cancelling happens in ordinary code rather than in a signal handler. */
static gpointer
interrupt_thread (gpointer user_data)
{
  GCancellable *cancellable = user_data;
  sigset_t set;
  int signal_number;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  while (sigwait (&set, &signal_number) == 0)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          /* A second Ctrl+C means the person wants out now. */
          fprintf (stderr, _("\nStopped.\n"));
          _exit (130);
        }
      fprintf (stderr, _("\nStopping… (press Ctrl+C again to quit at once)\n"));
      g_cancellable_cancel (cancellable);
    }
  return NULL;
}

void
temper_cli_cancel_on_interrupt (GCancellable *cancellable)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  g_thread_unref (g_thread_new ("interrupt", interrupt_thread,
                                g_object_ref (cancellable)));
}
