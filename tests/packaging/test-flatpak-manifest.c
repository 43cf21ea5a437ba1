/* The Flatpak manifests: the right ids, the GNOME runtime, the least
 * sandbox holes the app needs, and a meson build of this source tree. */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct {
  const char *file;      /* under flatpak/ */
  const char *app_id;
  const char *profile;   /* the -Dprofile= the module must pass */
} Manifest;

static const Manifest manifests[] = {
  { "io.github.temper.Temper.json", "io.github.temper.Temper", "default" },
  { "io.github.temper.Temper.Devel.json", "io.github.temper.Temper.Devel", "development" },
};

/* What a GPU-using GTK app needs: a display, shared memory for X11, and the
 * render nodes for Vulkan.  Files come and go through the document portal. */
static const char *const required_finish_args[] = {
  "--share=ipc", "--socket=wayland", "--socket=fallback-x11", "--device=dri",
};

static JsonObject *
load_manifest (const Manifest *manifest, JsonParser *parser)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "flatpak",
                                            manifest->file, NULL);
  JsonNode *root;

  g_test_message ("reading %s", path);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static gboolean
strv_contains_json (JsonArray *array, const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static void
test_ids_and_runtime (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  g_autofree char *expected_file = g_strconcat (manifest->app_id, ".json", NULL);

  g_assert_cmpstr (manifest->file, ==, expected_file);
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, manifest->app_id);
  g_assert_cmpstr (json_object_get_string_member (object, "runtime"), ==, "org.gnome.Platform");
  g_assert_cmpstr (json_object_get_string_member (object, "sdk"), ==, "org.gnome.Sdk");
  g_assert_true (json_object_has_member (object, "runtime-version"));
  g_assert_cmpstr (json_object_get_string_member (object, "command"), ==, "temper");
}

static void
test_finish_args_minimal (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  JsonArray *args = json_object_get_array_member (object, "finish-args");

  g_assert_nonnull (args);
  for (gsize i = 0; i < G_N_ELEMENTS (required_finish_args); i++)
    {
      g_test_message ("%s needs %s", manifest->file, required_finish_args[i]);
      g_assert_true (strv_contains_json (args, required_finish_args[i]));
    }
  /* Anything beyond the required set widens the sandbox: broad file
   * access, the network (Temper works offline), raw devices, or a way out
   * of the sandbox through the Flatpak session helper. */
  for (guint i = 0; i < json_array_get_length (args); i++)
    {
      const char *arg = json_array_get_string_element (args, i);
      gboolean known = FALSE;

      for (gsize r = 0; r < G_N_ELEMENTS (required_finish_args); r++)
        known |= strcmp (arg, required_finish_args[r]) == 0;
      g_test_message ("%s finish-arg %s", manifest->file, arg);
      g_assert_false (g_str_has_prefix (arg, "--filesystem"));
      g_assert_false (g_str_has_prefix (arg, "--share=network"));
      g_assert_false (g_str_has_prefix (arg, "--device=all"));
      g_assert_false (g_str_has_prefix (arg, "--socket=x11"));
      g_assert_false (g_str_has_prefix (arg, "--talk-name=org.freedesktop.Flatpak"));
      g_assert_true (known);
    }
}

static void
test_module_builds_with_meson (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  JsonArray *modules = json_object_get_array_member (object, "modules");
  JsonObject *temper = NULL;
  JsonArray *opts, *sources;
  JsonObject *source;
  g_autofree char *profile_opt = g_strconcat ("-Dprofile=", manifest->profile, NULL);
  g_autofree char *tree = NULL;
  g_autofree char *top_meson = NULL;
  g_autofree char *manifest_dir = NULL;

  g_assert_nonnull (modules);
  g_assert_cmpuint (json_array_get_length (modules), >=, 1);
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *module = json_array_get_object_element (modules, i);
      const char *name = json_object_get_string_member (module, "name");

      /* json-glib, GLib, GTK and libadwaita come with the GNOME runtime;
       * building them again would ship a second, untested copy. */
      g_assert_cmpstr (name, !=, "json-glib");
      g_assert_cmpstr (name, !=, "libadwaita");
      if (g_strcmp0 (name, "temper") == 0)
        temper = module;
    }
  g_assert_nonnull (temper);
  g_assert_true (json_array_get_object_element (modules, json_array_get_length (modules) - 1) == temper);
  g_assert_cmpstr (json_object_get_string_member (temper, "buildsystem"), ==, "meson");

  opts = json_object_get_array_member (temper, "config-opts");
  g_assert_nonnull (opts);
  g_assert_true (strv_contains_json (opts, profile_opt));
  /* The GNOME SDK has no nvcc; NVIDIA cards are reached through Vulkan. */
  g_assert_true (strv_contains_json (opts, "-Dcuda=disabled"));

  sources = json_object_get_array_member (temper, "sources");
  g_assert_nonnull (sources);
  g_assert_cmpuint (json_array_get_length (sources), ==, 1);
  source = json_array_get_object_element (sources, 0);
  g_assert_cmpstr (json_object_get_string_member (source, "type"), ==, "dir");
  manifest_dir = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "flatpak", NULL);
  tree = g_build_filename (manifest_dir, json_object_get_string_member (source, "path"), NULL);
  top_meson = g_build_filename (tree, "meson.build", NULL);
  g_assert_true (g_file_test (top_meson, G_FILE_TEST_IS_REGULAR));
}

static void
test_same_runtime (void)
{
  g_autoptr(JsonParser) stable_parser = json_parser_new ();
  g_autoptr(JsonParser) devel_parser = json_parser_new ();
  JsonObject *stable = load_manifest (&manifests[0], stable_parser);
  JsonObject *devel = load_manifest (&manifests[1], devel_parser);

  /* The development build must test what the release will run on. */
  g_assert_cmpstr (json_object_get_string_member (stable, "runtime-version"), ==,
                   json_object_get_string_member (devel, "runtime-version"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("TEMPER_SOURCE_DIR"));

  for (gsize i = 0; i < G_N_ELEMENTS (manifests); i++)
    {
      g_autofree char *ids = g_strdup_printf ("/flatpak/%s/ids-and-runtime", manifests[i].file);
      g_autofree char *args = g_strdup_printf ("/flatpak/%s/finish-args-minimal", manifests[i].file);
      g_autofree char *module = g_strdup_printf ("/flatpak/%s/module-builds-with-meson", manifests[i].file);

      g_test_add_data_func (ids, &manifests[i], test_ids_and_runtime);
      g_test_add_data_func (args, &manifests[i], test_finish_args_minimal);
      g_test_add_data_func (module, &manifests[i], test_module_builds_with_meson);
    }
  g_test_add_func ("/flatpak/same-runtime", test_same_runtime);
  return g_test_run ();
}
