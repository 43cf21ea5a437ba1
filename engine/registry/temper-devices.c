/* SPDX-License-Identifier: MIT */
/* temper-devices.c — every device Temper can compute on, best first. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "temper/devices.h"
#include "temper/error.h"
#include "temper-cuda-private.h"
#if TEMPER_HAVE_VULKAN
#include "temper/vulkan.h"
#endif

/* "MemTotal:       16314320 kB" → bytes; 0 when the key is absent. */
static guint64
meminfo_bytes (const char *meminfo, const char *key)
{
  const char *line = meminfo;
  gsize key_len = strlen (key);

  while (line != NULL && *line != '\0')
    {
      if (strncmp (line, key, key_len) == 0 && line[key_len] == ':')
        return g_ascii_strtoull (line + key_len + 1, NULL, 10) * 1024;
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  return 0;
}

/* The value of the first "key : value" line of /proc/cpuinfo named @key. */
static char *
cpuinfo_value (const char *cpuinfo, const char *key)
{
  g_auto(GStrv) lines = g_strsplit (cpuinfo, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');

      if (colon == NULL)
        continue;
      *colon = '\0';
      if (strcmp (g_strstrip (lines[i]), key) == 0)
        return g_strdup (g_strstrip (colon + 1));
    }
  return NULL;
}

/* Physical cores: distinct (physical id, core id) pairs; the thread count
 * where the kernel does not say (most ARM systems). */
static guint
count_physical_cores (const char *cpuinfo, guint threads)
{
  g_autoptr(GHashTable) cores = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) lines = g_strsplit (cpuinfo, "\n", -1);
  g_autofree char *package = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');

      if (colon == NULL)
        continue;
      *colon = '\0';
      g_strstrip (lines[i]);
      if (strcmp (lines[i], "physical id") == 0)
        {
          g_free (package);
          package = g_strdup (g_strstrip (colon + 1));
        }
      else if (strcmp (lines[i], "core id") == 0)
        g_hash_table_add (cores, g_strdup_printf ("%s/%s", package != NULL ? package : "0",
                                                  g_strstrip (colon + 1)));
    }
  return g_hash_table_size (cores) > 0 ? g_hash_table_size (cores) : threads;
}

/* The vector extensions the CPU backend's kernels care about. */
static char *
cpu_features (const char *cpuinfo)
{
  static const struct { const char *flag; const char *label; } known[] = {
    { "avx2", "AVX2" }, { "fma", "FMA" }, { "f16c", "F16C" }, { "avx512f", "AVX-512" },
    { "avx512_bf16", "AVX-512 BF16" }, { "amx_tile", "AMX" },
    { "asimd", "NEON" }, { "asimdhp", "NEON FP16" }, { "sve", "SVE" },
  };
  g_autofree char *flags = cpuinfo_value (cpuinfo, "flags");
  g_auto(GStrv) words = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  if (flags == NULL)
    flags = cpuinfo_value (cpuinfo, "Features");   /* ARM */
  if (flags == NULL)
    return g_strdup ("");
  words = g_strsplit (flags, " ", -1);
  for (gsize k = 0; k < G_N_ELEMENTS (known); k++)
    if (g_strv_contains ((const char *const *) words, known[k].flag))
      g_string_append_printf (out, ", %s", known[k].label);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static TemperDeviceInfo *
cpu_device (void)
{
  g_autofree char *cpuinfo = NULL;
  g_autofree char *meminfo = NULL;
  g_autofree char *features = NULL;
  TemperDeviceInfo *info = g_new0 (TemperDeviceInfo, 1);
  guint threads = g_get_num_processors ();
  guint cores;

  g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL);
  g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL);
  if (cpuinfo == NULL)
    cpuinfo = g_strdup ("");

  info->backend = TEMPER_BACKEND_CPU;
  info->index = 0;
  info->type = TEMPER_DEVICE_CPU;
  info->name = cpuinfo_value (cpuinfo, "model name");
  if (info->name == NULL)
    info->name = cpuinfo_value (cpuinfo, "Model");
  if (info->name == NULL)
    {
      struct utsname system;

      info->name = g_strdup_printf ("%s processor", uname (&system) == 0 ? system.machine : "unknown");
    }
  info->driver = g_strdup ("");
  if (meminfo != NULL)
    {
      info->memory_total = meminfo_bytes (meminfo, "MemTotal");
      info->memory_free = meminfo_bytes (meminfo, "MemAvailable");
    }
  cores = count_physical_cores (cpuinfo, threads);
  features = cpu_features (cpuinfo);
  info->details = g_strdup_printf (_("%u cores, %u threads%s"), cores, threads, features);
  return info;
}

/* Lower is better.  A real GPU beats the CPU; a software Vulkan driver is
 * the CPU again, only slower. */
static int
type_rank (TemperDeviceType type)
{
  switch (type)
    {
    case TEMPER_DEVICE_DISCRETE_GPU:
      return 0;
    case TEMPER_DEVICE_INTEGRATED_GPU:
      return 1;
    case TEMPER_DEVICE_VIRTUAL_GPU:
      return 2;
    case TEMPER_DEVICE_OTHER:
      return 3;
    case TEMPER_DEVICE_CPU:
      return 4;
    case TEMPER_DEVICE_SOFTWARE:
    default:
      return 5;
    }
}

/* The same NVIDIA card shows up under CUDA and under Vulkan; CUDA first,
 * as it trains faster there. */
static int
backend_rank (TemperBackendKind kind)
{
  return kind == TEMPER_BACKEND_CUDA ? 0 : kind == TEMPER_BACKEND_VULKAN ? 1 : 2;
}

static int
compare_devices (gconstpointer a, gconstpointer b)
{
  const TemperDeviceInfo *x = *(TemperDeviceInfo *const *) a;
  const TemperDeviceInfo *y = *(TemperDeviceInfo *const *) b;

  if (type_rank (x->type) != type_rank (y->type))
    return type_rank (x->type) - type_rank (y->type);
  if (backend_rank (x->backend) != backend_rank (y->backend))
    return backend_rank (x->backend) - backend_rank (y->backend);
  return x->index - y->index;
}

static void
add_note (GPtrArray *notes, const char *backend, const GError *error)
{
  if (notes != NULL)
    g_ptr_array_add (notes, g_strdup_printf (_("%s: %s"), backend, error->message));
}

GPtrArray *
temper_devices_list (GPtrArray *notes)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);
  g_autoptr(GError) cuda_error = NULL;

  /* A backend that fails half-way may have appended some devices; keep
   * only what a complete listing gave. */
  {
    g_autoptr(GPtrArray) cuda = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);

    if (temper_cuda_list_devices (cuda, &cuda_error))
      for (guint i = 0; i < cuda->len; i++)
        g_ptr_array_add (devices, g_steal_pointer (&cuda->pdata[i]));
    else
      add_note (notes, "CUDA", cuda_error);
  }
#if TEMPER_HAVE_VULKAN
  {
    g_autoptr(GPtrArray) vulkan = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);
    g_autoptr(GError) vulkan_error = NULL;

    if (temper_vulkan_list_devices (vulkan, &vulkan_error))
      for (guint i = 0; i < vulkan->len; i++)
        g_ptr_array_add (devices, g_steal_pointer (&vulkan->pdata[i]));
    else
      add_note (notes, "Vulkan", vulkan_error);
  }
#endif
  for (guint i = 0; i < devices->len; i++)
    temper_device_self_test_lookup (devices->pdata[i]);
  g_ptr_array_add (devices, cpu_device ());
  g_ptr_array_sort (devices, compare_devices);
  return devices;
}
