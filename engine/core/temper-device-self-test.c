/* SPDX-License-Identifier: MIT */
/* temper-device-self-test.c — remembering each GPU's self-test outcome.
 *
 * One key file in the user's cache folder, a group per device
 * ("vulkan/AMD Radeon RX 7600"), holding the driver the test ran under, the
 * result and, for a failure, the reason.  A driver other than the one
 * remembered counts as never tested, so an update that fixes (or breaks) the
 * device is noticed.  Losing the file only costs running the test again. */
#include "config.h"

#include <errno.h>

#include <glib/gstdio.h>

#include "temper/device-info.h"

/* Several processes (the app, temper-cli) may test at once. */
static GMutex cache_lock;

static char *
cache_path (void)
{
  return g_build_filename (g_get_user_cache_dir (), "temper", "device-self-test.ini", NULL);
}

static char *
group_name (const TemperDeviceInfo *info)
{
  return g_strdup_printf ("%s/%s", temper_backend_kind_name (info->backend),
                          info->name != NULL ? info->name : "");
}

const char *
temper_self_test_result_name (TemperSelfTestResult result)
{
  switch (result)
    {
    case TEMPER_SELF_TEST_PASSED:
      return "passed";
    case TEMPER_SELF_TEST_FAILED:
      return "failed";
    case TEMPER_SELF_TEST_NOT_RUN:
    default:
      return "not run";
    }
}

void
temper_device_self_test_lookup (TemperDeviceInfo *info)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *path = cache_path ();
  g_autofree char *group = group_name (info);
  g_autofree char *driver = NULL;
  g_autofree char *result = NULL;

  info->self_test = TEMPER_SELF_TEST_NOT_RUN;
  g_clear_pointer (&info->self_test_reason, g_free);
  if (info->backend == TEMPER_BACKEND_CPU)
    return;
  g_mutex_lock (&cache_lock);
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    {
      g_mutex_unlock (&cache_lock);
      return;
    }
  g_mutex_unlock (&cache_lock);
  driver = g_key_file_get_string (file, group, "driver", NULL);
  result = g_key_file_get_string (file, group, "result", NULL);
  if (driver == NULL || result == NULL || g_strcmp0 (driver, info->driver) != 0)
    return;
  if (g_str_equal (result, "passed"))
    info->self_test = TEMPER_SELF_TEST_PASSED;
  else if (g_str_equal (result, "failed"))
    {
      info->self_test = TEMPER_SELF_TEST_FAILED;
      info->self_test_reason = g_key_file_get_string (file, group, "reason", NULL);
    }
}

void
temper_device_self_test_store (TemperDeviceInfo *info, TemperSelfTestResult result,
                               const char *reason)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *path = cache_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *group = group_name (info);
  g_autoptr(GError) error = NULL;

  info->self_test = result;
  g_free (info->self_test_reason);
  info->self_test_reason = result == TEMPER_SELF_TEST_FAILED ? g_strdup (reason) : NULL;

  g_mutex_lock (&cache_lock);
  g_key_file_load_from_file (file, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  g_key_file_remove_group (file, group, NULL);
  g_key_file_set_string (file, group, "driver", info->driver != NULL ? info->driver : "");
  g_key_file_set_string (file, group, "result", temper_self_test_result_name (result));
  if (result == TEMPER_SELF_TEST_FAILED && reason != NULL)
    g_key_file_set_string (file, group, "reason", reason);
  /* Not remembering is harmless: the test runs again next time. */
  if (g_mkdir_with_parents (dir, 0700) != 0 || !g_key_file_save_to_file (file, path, &error))
    g_debug ("Could not remember the self-test of %s in %s: %s", info->name, path,
             error != NULL ? error->message : g_strerror (errno));
  g_mutex_unlock (&cache_lock);
}
