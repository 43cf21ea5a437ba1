/* SPDX-License-Identifier: MIT */
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

#include "temper/input.h"
#include "temper/machine.h"
#include "temper-cli-build.h"
#include "temper-cli.h"

/* The allowed range of every number flag, by long name: a flag means the
 * same in every subcommand.  Each value is checked as it is parsed, so a
 * negative, NaN or absurd number is refused with its flag and range instead
 * of silently meaning "the default". */
typedef struct {
  const char *name;
  double      min, max;
} NumberRange;

static const NumberRange number_ranges[] = {
  /* training */
  { "epochs",           1, 10000 },
  { "max-steps",        1, 1e12 },
  { "rank",             1, 1024 },
  { "alpha",            0, 1e6 },
  { "dropout",          0, 0.99 },
  { "lr",               1e-12, 0.5 },
  { "warmup",           0, 1e12 },
  { "batch",            1, 1024 },
  { "grad-accum",       1, 1024 },
  { "max-length",       8, 131072 },
  { "overlap",          0, 131072 },
  { "seq",              8, 131072 },
  { "seed",             0, (double) G_MAXINT64 },
  { "eval-every",       0, 1e12 },
  { "checkpoint-every", 0, 1e12 },
  { "patience",         0, 1000000 },
  { "replay",           0, 48 },      /* TEMPER_TRAIN_MAX_REPLAY_RECORDS */
  { "steps",            0, 1000000 },
  /* generation */
  { "temperature",      0, 100 },
  { "top-k",            0, 1000000 },
  { "top-p",            0, 1 },
  { "repeat-penalty",   0.01, 100 },
  { "max-tokens",       1, 1000000 },
  { "context",          16, 1048576 },
  { "prompt-tokens",    1, 131072 },
  { "gen-tokens",       1, 131072 },
  { "repetitions",      1, 10000 },
  { "limit",            1, G_MAXINT },
  /* machines and files */
  { "threads",          1, 4096 },
  { "device",           0, 1024 },
  { "shard-size",       1, 1000000 },
  { "peak-tflops",      0.001, 1e6 },
  /* cluster jobs */
  { "gpus",             1, 1024 },
  { "nodes",            1, 100000 },
};

static gboolean
is_number_arg (GOptionArg arg)
{
  return arg == G_OPTION_ARG_INT || arg == G_OPTION_ARG_INT64 || arg == G_OPTION_ARG_DOUBLE;
}

static const NumberRange *
find_range (const char *long_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (number_ranges); i++)
    if (strcmp (number_ranges[i].name, long_name) == 0)
      return &number_ranges[i];
  return NULL;
}

/* GOptionArgFunc for every number flag: @data is the command's own entries,
 * where the flag's type and variable are. */
static gboolean
parse_number (const char *option_name, const char *value, gpointer data, GError **error)
{
  const GOptionEntry *entry = data;
  const NumberRange *range;
  g_autofree char *flag = NULL;

  for (; entry->long_name != NULL; entry++)
    if (is_number_arg (entry->arg) &&
        ((g_str_has_prefix (option_name, "--") && strcmp (option_name + 2, entry->long_name) == 0) ||
         (option_name[0] == '-' && option_name[1] == entry->short_name && option_name[2] == '\0')))
      break;
  g_return_val_if_fail (entry->long_name != NULL, FALSE);
  range = find_range (entry->long_name);
  flag = g_strconcat ("--", entry->long_name, NULL);

  if (entry->arg == G_OPTION_ARG_DOUBLE)
    {
      char *end = NULL;
      double v = g_ascii_strtod (value, &end);

      if (end == value || *end != '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("%s is “%s”, which is not a number."), flag, value);
          return FALSE;
        }
      if (!temper_input_check_double (flag, v, range->min, range->max, error))
        return FALSE;
      *(double *) entry->arg_data = v;
    }
  else
    {
      gint64 v;

      if (!g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &v, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("%s is “%s”, which is not a whole number."), flag, value);
          return FALSE;
        }
      if (!temper_input_check_int (flag, v, (gint64) range->min,
                                   range->max >= (double) G_MAXINT64 ? G_MAXINT64 : (gint64) range->max,
                                   error))
        return FALSE;
      if (entry->arg == G_OPTION_ARG_INT)
        *(int *) entry->arg_data = (int) v;
      else
        *(gint64 *) entry->arg_data = v;
    }
  return TRUE;
}

gboolean
temper_cli_parse (int *argc, char ***argv, const char *command,
                  const char *parameter_string, const char *description,
                  const GOptionEntry *entries, int *exit_code)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("temper-cli %s", command);
  g_autofree GOptionEntry *checked = NULL;

  g_set_prgname (prgname);
  /* Option descriptions, the summary and the parameter string are marked
   * with N_() where they are written; GOption translates them here. */
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (description != NULL)
    g_option_context_set_summary (context, description);
  if (entries != NULL)
    {
      GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, (gpointer) entries, NULL);
      gsize n = 0;

      while (entries[n].long_name != NULL)
        n++;
      checked = g_memdup2 (entries, sizeof (GOptionEntry) * (n + 1));
      for (gsize i = 0; i < n; i++)
        if (is_number_arg (checked[i].arg))
          {
            const NumberRange *range = find_range (checked[i].long_name);

            /* A number flag without a range is a programming error. */
            g_assert (range != NULL);
            g_assert (checked[i].arg != G_OPTION_ARG_INT || range->max <= G_MAXINT);
            checked[i].arg = G_OPTION_ARG_CALLBACK;
            checked[i].arg_data = (gpointer) parse_number;
          }
      g_option_group_add_entries (group, checked);
      g_option_context_set_main_group (context, group);
    }

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_code = temper_cli_fail (command, TEMPER_CLI_EXIT_USAGE, _("%s (see --help)"),
                                    error->message);
      return FALSE;
    }
  return TRUE;
}

char *
temper_cli_printable (const char *text, gboolean keep_newlines)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (c == '\n' && keep_newlines)
        g_string_append_c (out, '\n');
      else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        g_string_append_printf (out, "\\x%02x", (guint) c);
      else if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_printf (out, "\\u%04x", (guint) c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

void
temper_cli_progress_init (TemperCliProgress *progress, const char *stage)
{
  progress->tty = isatty (STDERR_FILENO);
  progress->stage = g_strdup (stage);
  progress->last_stage = NULL;
}

void
temper_cli_progress_clear (TemperCliProgress *progress)
{
  g_clear_pointer (&progress->stage, g_free);
  g_clear_pointer (&progress->last_stage, g_free);
}

void
temper_cli_show_stage (const char *stage, double fraction, gpointer user_data)
{
  TemperCliProgress *p = user_data;
  gboolean new_stage = g_strcmp0 (p->last_stage, stage) != 0;

  if (p->tty)
    {
      fprintf (stderr, "\r%s… %3.0f%%", stage, 100.0 * fraction);
      if (fraction >= 1.0)
        fputc ('\n', stderr);
    }
  else if (new_stage)
    fprintf (stderr, "%s…\n", stage);
  if (new_stage)
    {
      g_free (p->last_stage);
      p->last_stage = g_strdup (stage);
    }
}

void
temper_cli_show_fraction (double fraction, gpointer user_data)
{
  TemperCliProgress *p = user_data;

  temper_cli_show_stage (p->stage, fraction, p);
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

/* The facts of the benchmarks' header: a JSON key, the text's label and
 * the value, in the order printed. */
typedef struct {
  const char *key;
  const char *label;
  char       *value;
} EnvironmentFact;

static void
environment_fact_clear (gpointer data)
{
  g_free (((EnvironmentFact *) data)->value);
}

static GArray *
bench_environment (int threads)
{
  g_auto(TemperMachineInfo) machine = { 0 };
  GArray *facts = g_array_new (FALSE, TRUE, sizeof (EnvironmentFact));
  struct utsname uts;
  double load[3] = { 0 };
  const char *compiler =
#ifdef __clang__
    "clang " __clang_version__;
#else
    "gcc " __VERSION__;
#endif
#define FACT(k, l, ...) g_array_append_val (facts, ((EnvironmentFact) { k, l, g_strdup_printf (__VA_ARGS__) }))

  g_array_set_clear_func (facts, environment_fact_clear);
  temper_machine_info_get (&machine);
  if (threads <= 0)
    threads = machine.logical_cores;
  /* Two benchmark runs are comparable only on the same processor, build and
   * load: print what tells them apart.  English, like the rest of the
   * report: scripts read it. */
  FACT ("cpu", "processor", "%s", machine.cpu_name);
  FACT ("cores", "cores", "%d logical, %d physical", machine.logical_cores, machine.physical_cores);
  FACT ("cpu_flags", "CPU flags", "%s", machine.flags);
  FACT ("cpu_flags_usable", "usable flags", "%s%s", machine.usable_flags,
        g_strcmp0 (machine.flags, machine.usable_flags) != 0
        ? " (the others are not enabled by the operating system or VM)" : "");
  FACT ("threads", "threads", "%d, not pinned: the OS places them on CPUs %s (%d allowed)", threads,
        machine.affinity, machine.affinity_count);
  if (getloadavg (load, 3) == 3)
    FACT ("load_average", "load average", "%.2f %.2f %.2f (busy machines give lower figures)",
          load[0], load[1], load[2]);
  if (uname (&uts) == 0)
    FACT ("system", "system", "%s %s %s", uts.sysname, uts.release, uts.machine);
  FACT ("temper", "Temper", "%s, commit %s, built by %s%s", PACKAGE_VERSION, TEMPER_CLI_COMMIT, compiler,
#ifdef __OPTIMIZE__
        ", optimized"
#else
        ", not optimized (a debug build: figures are not representative)"
#endif
        );
  FACT ("build", "build", "%s", TEMPER_CLI_BUILD_TYPE);
#undef FACT
  return facts;
}

void
temper_cli_print_bench_environment (int threads)
{
  g_autoptr(GArray) facts = bench_environment (threads);

  for (guint i = 0; i < facts->len; i++)
    {
      const EnvironmentFact *f = &g_array_index (facts, EnvironmentFact, i);
      g_autofree char *label = g_strconcat (f->label, ":", NULL);

      printf ("%-17s %s\n", label, f->value);
    }
}

void
temper_cli_add_bench_environment (JsonBuilder *builder, int threads)
{
  g_autoptr(GArray) facts = bench_environment (threads);

  for (guint i = 0; i < facts->len; i++)
    {
      const EnvironmentFact *f = &g_array_index (facts, EnvironmentFact, i);

      json_builder_set_member_name (builder, f->key);
      json_builder_add_string_value (builder, f->value);
    }
}

void
temper_cli_print_op_profile (const TemperOpProfile *profile, double wall_seconds, int n_steps,
                             double step_flops_per_s, double gemm_gflops)
{
  double outside = wall_seconds - temper_op_profile_total (profile);

  /* English, like the rest of the bench report. */
  printf ("profile, per timed step (the calling thread's clock; pool waits are its time\n"
          "waiting for the other threads, outside ops is the host's own work):\n");
  printf ("  %-28s %10s %7s %8s %9s %9s\n", "kind", "ms/step", "share", "calls", "GFLOP/s",
          "waits ms");
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      double seconds = profile->seconds[k];

      printf ("  %-28s %10.2f %6.1f%% %8.0f", temper_op_kind_name (k), 1e3 * seconds / n_steps,
              wall_seconds > 0 ? 100.0 * seconds / wall_seconds : 0.0,
              (double) profile->calls[k] / n_steps);
      if (profile->flops[k] > 0 && seconds > 0)
        printf (" %9.1f", profile->flops[k] / seconds * 1e-9);
      else
        printf (" %9s", "");
      /* The waits inside this kind's ops (counted in the waits row). */
      if (profile->waits[k] > 0)
        printf (" %9.2f", 1e3 * profile->waits[k] / n_steps);
      printf ("\n");
    }
  printf ("  %-28s %10.2f %6.1f%%\n", "outside ops", 1e3 * outside / n_steps,
          wall_seconds > 0 ? 100.0 * outside / wall_seconds : 0.0);
  printf ("  %-28s %10.2f %6.1f%%\n", "step (wall)", 1e3 * wall_seconds / n_steps, 100.0);
  if (step_flops_per_s > 0)
    printf ("step FLOP/s:      %.1f GFLOP/s (model FLOPs)\n", step_flops_per_s * 1e-9);
  if (gemm_gflops > 0)
    {
      printf ("GEMM rate:        %.1f GFLOP/s (fp32 GEMM 1024x576 by 576x1536, same threads, measured now)\n",
              gemm_gflops);
      printf ("training MFU:     %.1f%% of the measured GEMM rate\n",
              100.0 * step_flops_per_s * 1e-9 / gemm_gflops);
    }
}
