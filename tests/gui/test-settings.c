/* SPDX-License-Identifier: MIT */
/* test-settings.c — TemperSettings stores every preference in GSettings and
 * reads back what was stored, and a second instance sees the changes
 * (GSETTINGS_BACKEND=memory keeps the test away from the user's dconf). */
#include "config.h"

#include <gio/gio.h>

#include "temper-settings.h"

static TemperSettings *
new_settings (void)
{
  g_autoptr(GError) error = NULL;
  TemperSettings *settings = temper_settings_new (&error);

  g_assert_no_error (error);
  g_assert_nonnull (settings);
  return settings;
}

static void
test_defaults (void)
{
  g_autoptr(TemperSettings) settings = new_settings ();
  g_auto(GStrv) folders = temper_settings_dup_model_folders (settings);
  int width = 0, height = 0;

  /* The schema's defaults, as written in data/io.github.temper.Temper.gschema.xml. */
  g_assert_cmpstr (temper_settings_get_default_device (settings), ==, "");
  g_assert_cmpuint (g_strv_length (folders), ==, 0);
  temper_settings_get_window_size (settings, &width, &height);
  g_assert_cmpint (width, ==, 1100);
  g_assert_cmpint (height, ==, 760);
  g_assert_false (temper_settings_get_window_maximized (settings));
  g_assert_false (temper_settings_get_seen_welcome (settings));
  g_assert_cmpstr (temper_settings_get_last_run (settings), ==, "");
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_round_trip (void)
{
  g_autoptr(TemperSettings) writer = new_settings ();
  g_autoptr(TemperSettings) reader = new_settings ();
  const char *folders[] = { "/models/a", "/models/ü b", NULL };
  g_auto(GStrv) read_folders = NULL;
  guint device_notifies = 0;
  int width = 0, height = 0;

  g_signal_connect (reader, "notify::default-device", G_CALLBACK (count_notify), &device_notifies);

  temper_settings_set_default_device (writer, "vulkan:1");
  temper_settings_set_model_folders (writer, folders);
  temper_settings_set_window_size (writer, 1280, 800);
  temper_settings_set_window_maximized (writer, TRUE);
  temper_settings_set_seen_welcome (writer, TRUE);
  temper_settings_set_last_run (writer, "/runs/faq-1");

  /* The memory backend delivers changes to other instances from the main
   * context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_assert_cmpstr (temper_settings_get_default_device (reader), ==, "vulkan:1");
  g_assert_cmpuint (device_notifies, ==, 1);
  read_folders = temper_settings_dup_model_folders (reader);
  g_assert_true (g_strv_equal ((const char *const *) read_folders, folders));
  temper_settings_get_window_size (reader, &width, &height);
  g_assert_cmpint (width, ==, 1280);
  g_assert_cmpint (height, ==, 800);
  g_assert_true (temper_settings_get_window_maximized (reader));
  g_assert_true (temper_settings_get_seen_welcome (reader));
  g_assert_cmpstr (temper_settings_get_last_run (reader), ==, "/runs/faq-1");

  /* And straight from GSettings, to be sure the values reached the store
   * and are not only cached in the object. */
  {
    g_autoptr(GSettingsSchemaSource) source =
      g_settings_schema_source_new_from_directory (g_getenv ("GSETTINGS_SCHEMA_DIR"),
                                                   g_settings_schema_source_get_default (),
                                                   FALSE, NULL);
    g_autoptr(GSettingsSchema) schema = NULL;
    g_autoptr(GSettings) raw = NULL;
    g_autofree char *device = NULL;

    g_assert_nonnull (source);
    schema = g_settings_schema_source_lookup (source, TEMPER_SETTINGS_SCHEMA_ID, FALSE);
    g_assert_nonnull (schema);
    raw = g_settings_new_full (schema, NULL, NULL);
    device = g_settings_get_string (raw, "default-device");
    g_assert_cmpstr (device, ==, "vulkan:1");
    g_assert_cmpint (g_settings_get_int (raw, "window-width"), ==, 1280);
  }
}

static void
test_folders_add_remove (void)
{
  g_autoptr(TemperSettings) settings = new_settings ();
  g_auto(GStrv) after_add = NULL;
  g_auto(GStrv) after_remove = NULL;

  temper_settings_set_model_folders (settings, NULL);
  temper_settings_add_model_folder (settings, "/a");
  temper_settings_add_model_folder (settings, "/b");
  temper_settings_add_model_folder (settings, "/a");   /* already there: no duplicate */
  after_add = temper_settings_dup_model_folders (settings);
  g_assert_cmpuint (g_strv_length (after_add), ==, 2);
  g_assert_cmpstr (after_add[0], ==, "/a");
  g_assert_cmpstr (after_add[1], ==, "/b");

  temper_settings_remove_model_folder (settings, "/a");
  after_remove = temper_settings_dup_model_folders (settings);
  g_assert_cmpuint (g_strv_length (after_remove), ==, 1);
  g_assert_cmpstr (after_remove[0], ==, "/b");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/settings/defaults", test_defaults);
  g_test_add_func ("/settings/round-trip", test_round_trip);
  g_test_add_func ("/settings/folders", test_folders_add_remove);

  return g_test_run ();
}
