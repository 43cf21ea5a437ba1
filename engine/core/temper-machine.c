/* SPDX-License-Identifier: MIT */
/* temper-machine.c — see temper/machine.h. */
#include "config.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef __linux__
#include <sys/syscall.h>
#include <sys/wait.h>
#endif

#include "temper/machine.h"

/* The flags of /proc/cpuinfo that tell the kernels' paths apart, in the
 * order printed, with the XCR0 state bits the OS must enable for each. */
static const struct {
  const char *name;
  guint64     xcr0;
} interesting[] = {
  { "avx2", 0x6 }, { "fma", 0x6 }, { "f16c", 0x6 }, { "avx_vnni", 0x6 },
  { "avx512f", 0xe6 }, { "avx512bw", 0xe6 }, { "avx512vl", 0xe6 }, { "avx512_vnni", 0xe6 },
  { "avx512_bf16", 0xe6 }, { "avx512_fp16", 0xe6 },
  { "amx_tile", 0x60000 }, { "amx_int8", 0x60000 }, { "amx_bf16", 0x60000 },
};

static guint64
enabled_state (void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned int eax, ebx, ecx, edx;
  guint32 lo, hi;

  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx) || (ecx & (1u << 27)) == 0)   /* OSXSAVE */
    return 0;
  __asm__ volatile ("xgetbv" : "=a" (lo), "=d" (hi) : "c" (0));
  return ((guint64) hi << 32) | lo;
#else
  return 0;
#endif
}

/* Whether AMX instructions run here: the kernel must grant the tile data
 * to the process that asks (Linux ≥ 5.16), and a VM may still trap them
 * although the processor and XCR0 report them.  Tried once, in a child
 * process that asks, configures the tiles, zeroes one and releases them, so
 * a trap kills only the child. */
static gboolean
amx_runs (void)
{
#if defined(__linux__) && defined(__x86_64__)
  static gsize result = 0;   /* 1: no, 2: yes */

  if (g_once_init_enter (&result))
    {
      pid_t pid = fork ();
      int status = 0;

      if (pid == 0)
        {
          /* Palette 1, tile 0 of 16 rows of 64 bytes. */
          unsigned char config[64] = { 1 };

          config[16] = 64;
          config[48] = 16;
          if (syscall (SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) != 0)
            _exit (2);
          __asm__ volatile ("ldtilecfg %0\n\ttilezero %%tmm0\n\ttilerelease" : : "m" (config) : "memory");
          _exit (0);
        }
      g_once_init_leave (&result, pid > 0 && waitpid (pid, &status, 0) == pid &&
                                  WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 2 : 1);
    }
  return result == 2;
#else
  return FALSE;
#endif
}

static char *
cpuinfo_value (char **lines, const char *key)
{
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, key))
      {
        const char *colon = strchr (*l, ':');

        if (colon != NULL)
          return g_strstrip (g_strdup (colon + 1));
      }
  return NULL;
}

static int
count_physical_cores (void)
{
  g_autoptr(GHashTable) cores = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int cpu = 0; cpu < 4096; cpu++)
    {
      g_autofree char *dir = g_strdup_printf ("/sys/devices/system/cpu/cpu%d/topology", cpu);
      g_autofree char *package_path = g_build_filename (dir, "physical_package_id", NULL);
      g_autofree char *core_path = g_build_filename (dir, "core_id", NULL);
      g_autofree char *package = NULL, *core = NULL;

      if (!g_file_get_contents (package_path, &package, NULL, NULL) ||
          !g_file_get_contents (core_path, &core, NULL, NULL))
        {
          if (!g_file_test (dir, G_FILE_TEST_IS_DIR) && cpu > 0)
            break;
          continue;
        }
      g_hash_table_add (cores, g_strdup_printf ("%s/%s", g_strstrip (package), g_strstrip (core)));
    }
  return (int) g_hash_table_size (cores);
}

static void
read_affinity (TemperMachineInfo *info)
{
#ifdef __linux__
  cpu_set_t set;
  GString *text = g_string_new (NULL);

  CPU_ZERO (&set);
  if (sched_getaffinity (0, sizeof set, &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
      if (CPU_ISSET (cpu, &set))
        {
          int last = cpu;

          while (last + 1 < CPU_SETSIZE && CPU_ISSET (last + 1, &set))
            last++;
          g_string_append_printf (text, text->len > 0 ? ",%d" : "%d", cpu);
          if (last > cpu)
            g_string_append_printf (text, "-%d", last);
          info->affinity_count += last - cpu + 1;
          cpu = last;
        }
  info->affinity = g_string_free (text, FALSE);
#else
  info->affinity = g_strdup ("unknown");
#endif
}

char *
temper_machine_cpu_name (void)
{
  g_autofree char *cpuinfo = NULL;
  g_auto(GStrv) lines = NULL;
  char *name = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      lines = g_strsplit (cpuinfo, "\n", -1);
      name = cpuinfo_value (lines, "model name");
    }
  return name != NULL ? name : g_strdup ("unknown");
}

void
temper_machine_info_get (TemperMachineInfo *info)
{
  g_autofree char *cpuinfo = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) flags = NULL;
  GString *have = g_string_new (NULL), *usable = g_string_new (NULL);
  guint64 state = enabled_state ();
  gboolean amx;

  memset (info, 0, sizeof *info);
  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    lines = g_strsplit (cpuinfo, "\n", -1);
  if (lines != NULL)
    {
      g_autofree char *flag_line = cpuinfo_value (lines, "flags");

      info->cpu_name = cpuinfo_value (lines, "model name");
      flags = g_strsplit (flag_line != NULL ? flag_line : "", " ", -1);
    }
  if (info->cpu_name == NULL)
    info->cpu_name = g_strdup ("unknown");
  amx = flags != NULL && g_strv_contains ((const char *const *) flags, "amx_tile") && amx_runs ();
  for (gsize i = 0; flags != NULL && i < G_N_ELEMENTS (interesting); i++)
    if (g_strv_contains ((const char *const *) flags, interesting[i].name))
      {
        gboolean ok = (state & interesting[i].xcr0) == interesting[i].xcr0 &&
                      (!g_str_has_prefix (interesting[i].name, "amx") || amx);

        g_string_append_printf (have, have->len > 0 ? " %s" : "%s", interesting[i].name);
        if (ok)
          g_string_append_printf (usable, usable->len > 0 ? " %s" : "%s", interesting[i].name);
      }
  info->flags = g_string_free (have, FALSE);
  info->usable_flags = g_string_free (usable, FALSE);
  info->logical_cores = (int) g_get_num_processors ();
  info->physical_cores = count_physical_cores ();
  read_affinity (info);
}

void
temper_machine_info_clear (TemperMachineInfo *info)
{
  g_clear_pointer (&info->cpu_name, g_free);
  g_clear_pointer (&info->flags, g_free);
  g_clear_pointer (&info->usable_flags, g_free);
  g_clear_pointer (&info->affinity, g_free);
}
