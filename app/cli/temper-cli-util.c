#include "config.h"

#include <glib/gi18n-lib.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/utsname.h>

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

/* The first "model name" line of /proc/cpuinfo, or NULL. */
static char *
cpu_model_name (void)
{
  g_autofree char *cpuinfo = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return NULL;
  lines = g_strsplit (cpuinfo, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, "model name"))
      {
        const char *colon = strchr (*l, ':');
        if (colon != NULL)
          return g_strstrip (g_strdup (colon + 1));
      }
  return NULL;
}

void
temper_cli_print_bench_environment (void)
{
  g_autofree char *cpu = cpu_model_name ();
  struct utsname uts;
  double load[3] = { 0 };

  /* Two benchmark runs are comparable only on the same processor, build and
   * load: print what tells them apart.  English, like the rest of the
   * report: scripts read it. */
  printf ("processor:        %s, %d logical cores\n", cpu != NULL ? cpu : "unknown",
          g_get_num_processors ());
  if (getloadavg (load, 3) == 3)
    printf ("load average:     %.2f %.2f %.2f (busy machines give lower figures)\n",
            load[0], load[1], load[2]);
  if (uname (&uts) == 0)
    printf ("system:           %s %s %s\n", uts.sysname, uts.release, uts.machine);
  printf ("Temper:           %s, built by %s%s\n", PACKAGE_VERSION,
#ifdef __clang__
          "clang " __clang_version__,
#else
          "gcc " __VERSION__,
#endif
#ifdef __OPTIMIZE__
          ", optimized"
#else
          ", not optimized (a debug build: figures are not representative)"
#endif
          );
}
