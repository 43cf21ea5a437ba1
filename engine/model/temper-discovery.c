/* SPDX-License-Identifier: MIT */
/* temper-discovery.c — listing the models already on this computer.
 *
 * Every description comes from headers: the GGUF header (mapped, never the
 * tensor data) or config.json plus the safetensors JSON headers.  Errors
 * become the entry's `problem`, never the scan's. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>

#include "temper/discovery.h"
#include "temper/error.h"
#include "temper/json.h"
#include "temper/gguf.h"
#include "temper/safetensors.h"
#include "temper/tensor.h"
#include "temper-model-private.h"
#include "temper-types-private.h"

#define MAX_SCAN_DEPTH 6
#define OLLAMA_MODEL_MEDIA_TYPE "application/vnd.ollama.image.model"



void
temper_discovered_model_free (TemperDiscoveredModel *model)
{
  if (model == NULL)
    return;
  g_free (model->display_name);
  g_free (model->path);
  g_free (model->architecture);
  g_free (model->quantization);
  g_free (model->problem);
  g_free (model);
}

void
temper_discovery_roots_free (TemperDiscoveryRoots *roots)
{
  if (roots == NULL)
    return;
  g_free (roots->hf_hub);
  g_free (roots->ollama_models);
  g_strfreev (roots->ollama_service);
  g_strfreev (roots->lm_studio);
  g_strfreev (roots->folders);
  g_free (roots->built_in);
  g_free (roots);
}

static const char *
nonempty_env (const char *name)
{
  const char *value = g_getenv (name);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

TemperDiscoveryRoots *
temper_discovery_roots_new_for_home (const char *home)
{
  TemperDiscoveryRoots *roots = g_new0 (TemperDiscoveryRoots, 1);
  const char *value;

  g_return_val_if_fail (home != NULL, roots);

  /* Inside a Flatpak, XDG_CACHE_HOME is the app's own cache; the person's
   * is in HOST_XDG_CACHE_HOME when they set one. */
  if ((value = nonempty_env ("HF_HUB_CACHE")) != NULL)
    roots->hf_hub = g_strdup (value);
  else if ((value = nonempty_env ("HF_HOME")) != NULL)
    roots->hf_hub = g_build_filename (value, "hub", NULL);
  else if ((value = nonempty_env ("HOST_XDG_CACHE_HOME")) != NULL
           || (!g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS)
               && (value = nonempty_env ("XDG_CACHE_HOME")) != NULL))
    roots->hf_hub = g_build_filename (value, "huggingface", "hub", NULL);
  else
    roots->hf_hub = g_build_filename (home, ".cache", "huggingface", "hub", NULL);

  if ((value = nonempty_env ("OLLAMA_MODELS")) != NULL)
    roots->ollama_models = g_strdup (value);
  else
    roots->ollama_models = g_build_filename (home, ".ollama", "models", NULL);
  /* The install script's systemd service runs as the "ollama" user, whose
   * home is /usr/share/ollama.  A Flatpak cannot be given /usr (it is the
   * runtime's); with host-os access the host's /usr is under /run/host. */
  roots->ollama_service = g_new0 (char *, 3);
  roots->ollama_service[0] = g_strdup ("/usr/share/ollama/.ollama/models");
  roots->ollama_service[1] = g_strdup ("/run/host/usr/share/ollama/.ollama/models");

  roots->lm_studio = g_new0 (char *, 3);
  roots->lm_studio[0] = g_build_filename (home, ".lmstudio", "models", NULL);
  roots->lm_studio[1] = g_build_filename (home, ".cache", "lm-studio", "models", NULL);
  return roots;
}

TemperDiscoveryRoots *
temper_discovery_roots_new_default (void)
{
  return temper_discovery_roots_new_for_home (g_get_home_dir ());
}

/* ---- describing one model ---------------------------------------------- */

static const char *
file_type_name (guint32 file_type)
{
  switch (file_type)
    {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K_S";
    case 12: return "Q3_K_M";
    case 13: return "Q3_K_L";
    case 14: return "Q4_K_S";
    case 15: return "Q4_K_M";
    case 16: return "Q5_K_S";
    case 17: return "Q5_K_M";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return NULL;
    }
}

/* Lower-case letters and digits only: "Lc100K Mix1" and "lc100k-mix1" agree. */
static char *
name_key (const char *text)
{
  GString *key = g_string_new (NULL);

  for (const char *c = text; c != NULL && *c != '\0'; c++)
    if (g_ascii_isalnum (*c))
      g_string_append_c (key, g_ascii_tolower (*c));
  return g_string_free (key, FALSE);
}

/* llama.cpp's converter writes general.name, when the model card gives
 * none, by title-casing the pieces it split the folder's name into
 * (basename, size label, fine-tune, version): "smollm2-135M-8k-lc100k-mix1-ep2"
 * becomes "Smollm2 135M 8k Lc100K Mix1 Ep2".  Such a name is made of exactly
 * those pieces; a name someone wrote is not. */
static gboolean
is_made_up_name (temper_gguf_t *gguf, const char *name)
{
  static const char *const pieces[] = {
    "general.basename", "general.size_label", "general.finetune", "general.version",
  };
  g_autofree char *name_letters = name_key (name);
  g_autoptr(GString) joined = g_string_new (NULL);
  gboolean any = FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      g_autofree char *value = temper_gguf_dup_string (gguf, pieces[i]);
      g_autofree char *letters = name_key (value);

      if (letters[0] == '\0')
        continue;
      if (strstr (name_letters, letters) == NULL)
        return FALSE;
      g_string_append (joined, letters);
      any = TRUE;
    }
  return any && strlen (name_letters) == joined->len;
}

/* The file's name without ".gguf" and without the quantization the
 * publisher appended ("SmolLM2-135M-Instruct.Q4_1.gguf" → "SmolLM2-135M-Instruct"). */
static char *
name_from_file (const char *path)
{
  static GRegex *quant_suffix;
  g_autofree char *base = g_path_get_basename (path);
  char *stem;

  if (g_once_init_enter (&quant_suffix))
    g_once_init_leave (&quant_suffix,
      g_regex_new ("[._-]((UD-)?I?Q[0-9][A-Z0-9_]*|TQ[0-9]_[0-9]|F16|BF16|F32|MXFP4)$",
                   G_REGEX_CASELESS, 0, NULL));
  if (g_str_has_suffix (base, ".gguf") || g_str_has_suffix (base, ".GGUF"))
    base[strlen (base) - strlen (".gguf")] = '\0';
  stem = g_regex_replace_literal (quant_suffix, base, -1, 0, "", 0, NULL);
  if (stem == NULL || stem[0] == '\0')
    {
      g_free (stem);
      return g_steal_pointer (&base);
    }
  return stem;
}

/* Why a model of family @arch cannot be used: the loaders' own refusal,
 * naming the family and the nearest one Temper runs. */
static char *
family_problem (const TemperDiscoveredModel *m, const char *arch)
{
  g_autoptr(GError) error = NULL;
  const char *what = m->display_name != NULL ? m->display_name : m->path;

  temper_model_refuse_family (what, arch, &error);
  return g_strdup (error->message);
}

static void
inspect_gguf (TemperDiscoveredModel *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (m->path, &error);
  guint64 elems_by_type[TEMPER_TYPE_COUNT] = { 0 };
  int dominant = -1;
  const char *unusable = NULL;
  g_autofree char *name = NULL;
  guint32 file_type;

  if (gguf == NULL)
    {
      m->problem = g_strdup (error->message);
      return;
    }
  m->architecture = temper_gguf_dup_string (gguf, "general.architecture");
  name = temper_gguf_dup_string (gguf, "general.name");
  if (m->display_name == NULL && name != NULL && name[0] != '\0' && !is_made_up_name (gguf, name))
    m->display_name = g_steal_pointer (&name);

  for (guint64 i = 0; i < temper_gguf_get_n_tensors (gguf); i++)
    {
      TemperTensorView view;
      guint64 n;

      temper_gguf_get_tensor (gguf, i, &view);
      n = (guint64) view.ne[0] * (guint64) view.ne[1];
      m->n_params += n;
      if (view.ne[1] > 1)
        {
          elems_by_type[view.type] += n;
          if (temper_type_name (view.type) == NULL && unusable == NULL)
            temper_ggml_type_geometry (view.type, &unusable, NULL, NULL);
        }
    }
  for (int t = 0; t < TEMPER_TYPE_COUNT; t++)
    if (elems_by_type[t] > 0 && (dominant < 0 || elems_by_type[t] > elems_by_type[dominant]))
      dominant = t;

  if (temper_gguf_get_u32 (gguf, "general.file_type", &file_type) && file_type_name (file_type) != NULL)
    m->quantization = g_strdup (file_type_name (file_type));
  else if (dominant >= 0)
    {
      const char *type_name = NULL;
      temper_ggml_type_geometry (dominant, &type_name, NULL, NULL);
      m->quantization = g_strdup (type_name);
    }

  if (m->architecture == NULL)
    m->problem = g_strdup (_("The file does not say which architecture it is."));
  else if (!temper_model_gguf_arch_known (m->architecture))
    m->problem = family_problem (m, m->architecture);
  else if (unusable != NULL)
    m->problem = g_strdup_printf (_("It is quantized as %s, which Temper cannot compute with."), unusable);
  else
    m->supported = TRUE;
}

static guint64
folder_size (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint64 total = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;

      /* stat() follows the HF cache's symlinks into blobs/. */
      if (stat (path, &st) == 0 && S_ISREG (st.st_mode))
        total += (guint64) st.st_size;
    }
  return total;
}

static void
inspect_hf_folder (TemperDiscoveredModel *m)
{
  g_autofree char *config_path = g_build_filename (m->path, "config.json", NULL);
  g_autofree char *index = g_build_filename (m->path, "model.safetensors.index.json", NULL);
  g_autofree char *single = g_build_filename (m->path, "model.safetensors", NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(GHashTable) elems_by_dtype = g_hash_table_new (g_str_hash, g_str_equal);
  const char *arch_gguf = NULL;
  const char *dominant = NULL;
  guint64 dominant_elems = 0;
  JsonObject *config;

  m->size_on_disk = folder_size (m->path);
  root = temper_json_parse_file (config_path, TEMPER_JSON_MAX_SETTINGS_SIZE, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      if (error != NULL)
        m->problem = g_strdup_printf (_("Its config.json cannot be read: %s"), error->message);
      else
        m->problem = g_strdup (_("Its config.json cannot be read."));
      return;
    }
  config = json_node_get_object (root);
  if (json_object_has_member (config, "architectures")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (config, "architectures"))
      && json_array_get_length (json_object_get_array_member (config, "architectures")) > 0)
    {
      JsonNode *first = json_array_get_element (json_object_get_array_member (config, "architectures"), 0);
      if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
        {
          const char *arch = json_node_get_string (first);
          arch_gguf = temper_model_hf_arch_gguf_name (arch);
          m->architecture = g_strdup (arch_gguf != NULL ? arch_gguf : arch);
        }
    }
  if (m->architecture == NULL && json_object_has_member (config, "model_type")
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (config, "model_type")))
    m->architecture = g_strdup (json_object_get_string_member (config, "model_type"));

  if (g_file_test (index, G_FILE_TEST_EXISTS))
    st = temper_safetensors_open (index, &error);
  else if (g_file_test (single, G_FILE_TEST_EXISTS))
    st = temper_safetensors_open (single, &error);
  else
    {
      m->problem = g_strdup (_("The folder has no safetensors weights."));
      return;
    }
  if (st == NULL)
    {
      m->problem = g_strdup (error->message);
      return;
    }

  for (guint i = 0; i < temper_safetensors_get_n_tensors (st); i++)
    {
      TemperSafetensorsInfo info;
      guint64 n = 1;
      guint64 *count;

      temper_safetensors_get_info (st, temper_safetensors_get_name (st, i), &info);
      for (int d = 0; d < info.n_dims; d++)
        n *= (guint64) info.shape[d];
      m->n_params += n;
      count = g_hash_table_lookup (elems_by_dtype, info.dtype);
      if (count == NULL)
        {
          count = g_new0 (guint64, 1);
          g_hash_table_insert (elems_by_dtype, (gpointer) info.dtype, count);
        }
      *count += n;
      if (*count > dominant_elems)
        {
          dominant_elems = *count;
          dominant = info.dtype;
        }
    }
  m->quantization = g_strdup (dominant);
  {
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, elems_by_dtype);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_free (value);
  }

  if (arch_gguf == NULL)
    m->problem = family_problem (m, m->architecture != NULL ? m->architecture : _("unknown"));
  else if (dominant != NULL && strcmp (dominant, "F32") != 0 && strcmp (dominant, "F16") != 0
           && strcmp (dominant, "BF16") != 0)
    m->problem = g_strdup_printf (_("Its weights are stored as %s; Temper reads F32, F16 and BF16."), dominant);
  else
    m->supported = TRUE;
}

TemperDiscoveredModel *
temper_discovery_inspect (const char *path, TemperModelSource source, const char *display_name)
{
  TemperDiscoveredModel *m = g_new0 (TemperDiscoveredModel, 1);
  struct stat st;

  m->path = g_strdup (path);
  m->source = source;
  m->display_name = g_strdup (display_name);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    inspect_hf_folder (m);
  else
    {
      if (stat (path, &st) == 0)
        m->size_on_disk = (guint64) st.st_size;
      inspect_gguf (m);
    }
  if (m->display_name == NULL)
    m->display_name = name_from_file (path);
  return m;
}

/* ---- the places ------------------------------------------------------- */

typedef struct {
  GPtrArray    *found;
  GHashTable   *seen;        /* canonical paths already listed */
  GCancellable *cancellable;
} Scan;

static gboolean
cancelled (Scan *scan)
{
  return scan->cancellable != NULL && g_cancellable_is_cancelled (scan->cancellable);
}

static void
add (Scan *scan, const char *path, TemperModelSource source, const char *display_name)
{
  char *canonical = g_canonicalize_filename (path, NULL);

  if (g_hash_table_contains (scan->seen, canonical) || cancelled (scan))
    {
      g_free (canonical);
      return;
    }
  g_hash_table_add (scan->seen, canonical);
  g_ptr_array_add (scan->found, temper_discovery_inspect (path, source, display_name));
}

static gboolean
is_gguf_name (const char *name)
{
  return g_str_has_suffix (name, ".gguf") || g_str_has_suffix (name, ".GGUF");
}

/* .gguf files and folders with a config.json under @dir. */
static void
scan_tree (Scan *scan, const char *dir, TemperModelSource source, int depth)
{
  g_autoptr(GDir) d = NULL;
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  const char *name;

  if (depth > MAX_SCAN_DEPTH || cancelled (scan))
    return;
  if (g_file_test (config, G_FILE_TEST_IS_REGULAR))
    {
      add (scan, dir, source, NULL);
      return;
    }
  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL && !cancelled (scan))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (name[0] == '.')
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        scan_tree (scan, path, source, depth + 1);
      else if (is_gguf_name (name))
        add (scan, path, source, NULL);
    }
}

/* hub/models--org--name/snapshots/<revision>/: the revision refs/main
 * points at when there is one, else every snapshot. */
static void
scan_hf_cache (Scan *scan, const char *hub)
{
  g_autoptr(GDir) d = g_dir_open (hub, 0, NULL);
  const char *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL && !cancelled (scan))
    {
      g_autofree char *snapshots = NULL;
      g_autofree char *ref_path = NULL;
      g_autofree char *main_rev = NULL;
      g_autofree char *repo = NULL;
      g_auto(GStrv) parts = NULL;
      g_autoptr(GDir) revs = NULL;
      const char *rev;

      if (!g_str_has_prefix (entry, "models--"))
        continue;
      parts = g_strsplit (entry + strlen ("models--"), "--", 2);
      repo = parts[1] != NULL ? g_strdup_printf ("%s/%s", parts[0], parts[1]) : g_strdup (parts[0]);
      snapshots = g_build_filename (hub, entry, "snapshots", NULL);
      ref_path = g_build_filename (hub, entry, "refs", "main", NULL);
      if (g_file_get_contents (ref_path, &main_rev, NULL, NULL))
        g_strstrip (main_rev);

      revs = g_dir_open (snapshots, 0, NULL);
      while (revs != NULL && (rev = g_dir_read_name (revs)) != NULL && !cancelled (scan))
        {
          g_autofree char *snapshot = g_build_filename (snapshots, rev, NULL);
          g_autofree char *config = g_build_filename (snapshot, "config.json", NULL);
          g_autoptr(GDir) files = NULL;
          const char *file;

          if (main_rev != NULL && main_rev[0] != '\0' && strcmp (rev, main_rev) != 0)
            {
              g_autofree char *main_snapshot = g_build_filename (snapshots, main_rev, NULL);
              if (g_file_test (main_snapshot, G_FILE_TEST_IS_DIR))
                continue;
            }
          if (g_file_test (config, G_FILE_TEST_EXISTS))
            add (scan, snapshot, TEMPER_MODEL_SOURCE_HF_CACHE, repo);
          /* GGUF repositories hold .gguf files instead of a config.json. */
          files = g_dir_open (snapshot, 0, NULL);
          while (files != NULL && (file = g_dir_read_name (files)) != NULL)
            if (is_gguf_name (file))
              {
                g_autofree char *path = g_build_filename (snapshot, file, NULL);
                g_autofree char *label = g_strdup_printf ("%s (%.*s)", repo,
                                                          (int) (strlen (file) - strlen (".gguf")), file);
                add (scan, path, TEMPER_MODEL_SOURCE_HF_CACHE, label);
              }
        }
    }
}

static void
scan_ollama_manifest (Scan *scan, const char *models, const char *manifest, const char *label)
{
  g_autoptr(JsonNode) document = temper_json_parse_file (manifest, TEMPER_JSON_MAX_SETTINGS_SIZE, NULL);
  JsonObject *root;
  JsonArray *layers;

  if (document == NULL || !JSON_NODE_HOLDS_OBJECT (document))
    {
      TemperDiscoveredModel *m = g_new0 (TemperDiscoveredModel, 1);
      m->display_name = g_strdup (label);
      m->path = g_strdup (manifest);
      m->source = TEMPER_MODEL_SOURCE_OLLAMA;
      m->problem = g_strdup (_("Ollama's description of this model (its manifest) cannot be read."));
      g_ptr_array_add (scan->found, m);
      return;
    }
  root = json_node_get_object (document);
  if (!json_object_has_member (root, "layers") || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "layers")))
    return;
  layers = json_object_get_array_member (root, "layers");
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonNode *node = json_array_get_element (layers, i);
      JsonObject *layer = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *media, *digest;
      g_autofree char *blob_name = NULL;
      g_autofree char *blob = NULL;

      if (layer == NULL || !json_object_has_member (layer, "mediaType") || !json_object_has_member (layer, "digest"))
        continue;
      media = json_object_get_string_member (layer, "mediaType");
      digest = json_object_get_string_member (layer, "digest");
      if (media == NULL || digest == NULL || strcmp (media, OLLAMA_MODEL_MEDIA_TYPE) != 0
          || !g_str_has_prefix (digest, "sha256:") || strchr (digest, '/') != NULL)
        continue;
      blob_name = g_strdup_printf ("sha256-%s", digest + strlen ("sha256:"));
      blob = g_build_filename (models, "blobs", blob_name, NULL);
      if (!g_file_test (blob, G_FILE_TEST_EXISTS))
        {
          TemperDiscoveredModel *m = g_new0 (TemperDiscoveredModel, 1);
          m->display_name = g_strdup (label);
          m->path = g_strdup (blob);
          m->source = TEMPER_MODEL_SOURCE_OLLAMA;
          m->problem = g_strdup (_("The model's data is missing from Ollama's store; pull it again with Ollama."));
          g_ptr_array_add (scan->found, m);
        }
      else
        add (scan, blob, TEMPER_MODEL_SOURCE_OLLAMA, label);
      return;
    }
}

/* manifests/<registry>/<namespace>/<model>/<tag> */
static void
scan_ollama (Scan *scan, const char *models)
{
  g_autofree char *manifests = g_build_filename (models, "manifests", NULL);
  g_autoptr(GDir) registries = g_dir_open (manifests, 0, NULL);
  const char *registry;

  while (registries != NULL && (registry = g_dir_read_name (registries)) != NULL)
    {
      g_autofree char *registry_dir = g_build_filename (manifests, registry, NULL);
      g_autoptr(GDir) namespaces = g_dir_open (registry_dir, 0, NULL);
      const char *ns;

      while (namespaces != NULL && (ns = g_dir_read_name (namespaces)) != NULL)
        {
          g_autofree char *ns_dir = g_build_filename (registry_dir, ns, NULL);
          g_autoptr(GDir) names = g_dir_open (ns_dir, 0, NULL);
          const char *name;

          while (names != NULL && (name = g_dir_read_name (names)) != NULL)
            {
              g_autofree char *name_dir = g_build_filename (ns_dir, name, NULL);
              g_autoptr(GDir) tags = g_dir_open (name_dir, 0, NULL);
              const char *tag;

              while (tags != NULL && (tag = g_dir_read_name (tags)) != NULL && !cancelled (scan))
                {
                  g_autofree char *manifest = g_build_filename (name_dir, tag, NULL);
                  g_autofree char *label = NULL;

                  if (!g_file_test (manifest, G_FILE_TEST_IS_REGULAR))
                    continue;
                  if (strcmp (registry, "registry.ollama.ai") == 0 && strcmp (ns, "library") == 0)
                    label = g_strdup_printf ("%s:%s", name, tag);
                  else if (strcmp (registry, "registry.ollama.ai") == 0)
                    label = g_strdup_printf ("%s/%s:%s", ns, name, tag);
                  else
                    label = g_strdup_printf ("%s/%s/%s:%s", registry, ns, name, tag);
                  scan_ollama_manifest (scan, models, manifest, label);
                }
            }
        }
    }
}

static gint
compare_found (gconstpointer a, gconstpointer b)
{
  const TemperDiscoveredModel *ma = *(TemperDiscoveredModel *const *) a;
  const TemperDiscoveredModel *mb = *(TemperDiscoveredModel *const *) b;

  if (ma->source != mb->source)
    {
      /* The built-in demo model first: it always works, and quickly. */
      if (ma->source == TEMPER_MODEL_SOURCE_BUILT_IN || mb->source == TEMPER_MODEL_SOURCE_BUILT_IN)
        return ma->source == TEMPER_MODEL_SOURCE_BUILT_IN ? -1 : 1;
      return ma->source < mb->source ? -1 : 1;
    }
  return g_utf8_collate (ma->display_name, mb->display_name);
}

GPtrArray *
temper_discover_models (const TemperDiscoveryRoots *roots, GCancellable *cancellable, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Scan scan = { g_ptr_array_new_with_free_func ((GDestroyNotify) temper_discovered_model_free), seen, cancellable };

  g_return_val_if_fail (roots != NULL, NULL);

  if (roots->hf_hub != NULL)
    scan_hf_cache (&scan, roots->hf_hub);
  if (roots->built_in != NULL)
    scan_tree (&scan, roots->built_in, TEMPER_MODEL_SOURCE_BUILT_IN, MAX_SCAN_DEPTH);
  if (roots->ollama_models != NULL)
    scan_ollama (&scan, roots->ollama_models);
  for (guint i = 0; roots->ollama_service != NULL && roots->ollama_service[i] != NULL; i++)
    scan_ollama (&scan, roots->ollama_service[i]);
  for (guint i = 0; roots->lm_studio != NULL && roots->lm_studio[i] != NULL; i++)
    scan_tree (&scan, roots->lm_studio[i], TEMPER_MODEL_SOURCE_LM_STUDIO, 0);
  for (guint i = 0; roots->folders != NULL && roots->folders[i] != NULL; i++)
    {
      if (g_file_test (roots->folders[i], G_FILE_TEST_IS_REGULAR))
        add (&scan, roots->folders[i], TEMPER_MODEL_SOURCE_FOLDER, NULL);
      else
        scan_tree (&scan, roots->folders[i], TEMPER_MODEL_SOURCE_FOLDER, 0);
    }

  if (cancelled (&scan))
    {
      g_ptr_array_unref (scan.found);
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("Looking for models was cancelled."));
      return NULL;
    }
  g_ptr_array_sort (scan.found, compare_found);
  return scan.found;
}
