/* SPDX-License-Identifier: MIT */
/* temper_devices_list: the CPU is always there and described from the
 * kernel's own figures, devices come best first, and a missing NVIDIA
 * driver is a note, not a failure. */
#include "config.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "temper/devices.h"

static const TemperDeviceInfo *
find_cpu (GPtrArray *devices)
{
  const TemperDeviceInfo *cpu = NULL;

  for (guint i = 0; i < devices->len; i++)
    {
      const TemperDeviceInfo *info = devices->pdata[i];

      if (info->backend == TEMPER_BACKEND_CPU)
        {
          g_assert_null (cpu);   /* exactly one */
          cpu = info;
        }
    }
  return cpu;
}

static void
test_cpu_entry (void)
{
  g_autoptr(GPtrArray) devices = temper_devices_list (NULL);
  const TemperDeviceInfo *cpu = find_cpu (devices);
  /* sysinfo(2), which sysconf reads, and /proc/meminfo's MemTotal are the
   * same kernel figure reached two ways. */
  guint64 ram = (guint64) sysconf (_SC_PHYS_PAGES) * (guint64) sysconf (_SC_PAGESIZE);
  g_autofree char *threads = g_strdup_printf ("%u threads", g_get_num_processors ());

  g_assert_nonnull (cpu);
  g_assert_cmpint (cpu->type, ==, TEMPER_DEVICE_CPU);
  g_assert_cmpint (cpu->index, ==, 0);
  g_assert_nonnull (cpu->name);
  g_assert_cmpstr (cpu->name, !=, "");
  g_assert_nonnull (cpu->driver);
  g_test_message ("CPU: %s, %s", cpu->name, cpu->details);
  g_assert_cmpuint (cpu->memory_total, >, 0);
  g_assert_cmpuint (cpu->memory_total / 1024, ==, ram / 1024);
  g_assert_cmpuint (cpu->memory_free, >, 0);
  g_assert_cmpuint (cpu->memory_free, <=, cpu->memory_total);
  g_assert_nonnull (strstr (cpu->details, threads));
}

static int
type_rank (TemperDeviceType type)
{
  static const TemperDeviceType order[] = {
    TEMPER_DEVICE_DISCRETE_GPU, TEMPER_DEVICE_INTEGRATED_GPU, TEMPER_DEVICE_VIRTUAL_GPU,
    TEMPER_DEVICE_OTHER, TEMPER_DEVICE_CPU, TEMPER_DEVICE_SOFTWARE,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    if (order[i] == type)
      return (int) i;
  g_assert_not_reached ();
}

static void
test_best_first (void)
{
  g_autoptr(GPtrArray) devices = temper_devices_list (NULL);

  for (guint i = 0; i < devices->len; i++)
    {
      const TemperDeviceInfo *info = devices->pdata[i];

      g_test_message ("%s %d: %s (%s)", temper_backend_kind_name (info->backend), info->index,
                      info->name, temper_device_type_name (info->type));
      if (i > 0)
        g_assert_cmpint (type_rank (((TemperDeviceInfo *) devices->pdata[i - 1])->type), <=,
                         type_rank (info->type));
    }
}

static void
test_no_driver_is_a_note (void)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) devices = NULL;
  void *driver = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

  if (driver != NULL)
    {
      dlclose (driver);
      g_test_skip ("an NVIDIA driver is installed here");
      return;
    }
  devices = temper_devices_list (notes);
  g_assert_nonnull (find_cpu (devices));
  for (guint i = 0; i < devices->len; i++)
    g_assert_cmpint (((TemperDeviceInfo *) devices->pdata[i])->backend, !=, TEMPER_BACKEND_CUDA);
  g_assert_true (g_ptr_array_find_with_equal_func (
    notes, "CUDA: no NVIDIA driver found (libcuda.so.1 could not be loaded)", g_str_equal, NULL));
}

static void
test_names (void)
{
  g_assert_cmpstr (temper_backend_kind_name (TEMPER_BACKEND_CPU), ==, "cpu");
  g_assert_cmpstr (temper_backend_kind_name (TEMPER_BACKEND_VULKAN), ==, "vulkan");
  g_assert_cmpstr (temper_backend_kind_name (TEMPER_BACKEND_CUDA), ==, "cuda");
  g_assert_cmpstr (temper_device_type_name (TEMPER_DEVICE_DISCRETE_GPU), ==, "discrete GPU");
  g_assert_cmpstr (temper_device_type_name (TEMPER_DEVICE_SOFTWARE), ==, "software");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/devices/cpu-entry", test_cpu_entry);
  g_test_add_func ("/devices/best-first", test_best_first);
  g_test_add_func ("/devices/no-driver-is-a-note", test_no_driver_is_a_note);
  g_test_add_func ("/devices/names", test_names);
  return g_test_run ();
}
