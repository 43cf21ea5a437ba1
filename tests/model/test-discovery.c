/* SPDX-License-Identifier: MIT */
/* test-discovery.c — finding models in a fake home folder laid out like the
 * Hugging Face cache, Ollama's store and LM Studio's folders. */
#include "config.h"

#include <unistd.h>

#include "temper/discovery.h"
#include "temper/error.h"
#include "tiny-model.h"

typedef struct {
  char      *home;
  GPtrArray *found;
} Home;

static char *
home_path (Home *h, const char *first, ...) G_GNUC_NULL_TERMINATED;

static char *
home_path (Home *h, const char *first, ...)
{
  va_list args;
  GString *path = g_string_new (h->home);
  const char *part = first;

  va_start (args, first);
  while (part != NULL)
    {
      g_string_append_c (path, G_DIR_SEPARATOR);
      g_string_append (path, part);
      part = va_arg (args, const char *);
    }
  va_end (args);
  return g_string_free (path, FALSE);
}

static void
make_parent (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
}

static const TemperDiscoveredModel *
find (Home *h, const char *display_name)
{
  for (guint i = 0; i < h->found->len; i++)
    {
      const TemperDiscoveredModel *m = g_ptr_array_index (h->found, i);
      if (strcmp (m->display_name, display_name) == 0)
        return m;
    }
  g_test_message ("no entry named “%s”", display_name);
  g_assert_not_reached ();
  return NULL;
}

static guint64
file_size (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (guint64) st.st_size;
}

static guint64
tiny_params (const TinySpec *s)
{
  guint64 hd = (guint64) (s->n_embd / s->n_head);
  guint64 q = (guint64) s->n_head * hd, kv = (guint64) s->n_head_kv * hd;
  guint64 per_layer = 2 * (guint64) s->n_embd + (guint64) s->n_embd * (q + 2 * kv) + q * (guint64) s->n_embd
                      + 3 * (guint64) s->n_embd * (guint64) s->n_ff + (s->biases ? q + 2 * kv : 0);
  return (guint64) s->n_vocab * (guint64) s->n_embd * (s->untied ? 2 : 1)
         + (guint64) s->n_embd + (guint64) s->n_layer * per_layer;
}

/* A GGUF with llama.cpp's naming keys and no tensors: enough for a name. */
static void
write_named_gguf (const char *path, const char *name, const char *basename,
                  const char *size_label, const char *finetune)
{
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(GError) error = NULL;

  temper_gguf_writer_set_string (w, "general.architecture", "llama");
  temper_gguf_writer_set_string (w, "general.name", name);
  if (basename != NULL)
    temper_gguf_writer_set_string (w, "general.basename", basename);
  if (size_label != NULL)
    temper_gguf_writer_set_string (w, "general.size_label", size_label);
  if (finetune != NULL)
    temper_gguf_writer_set_string (w, "general.finetune", finetune);
  temper_gguf_writer_set_u32 (w, "general.file_type", 3);
  make_parent (path);
  g_assert_true (temper_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
}

/* An Ollama store under @models: one manifest naming @tag's model blob. */
static void
write_ollama_model (const char *models, const char *ns, const char *name, const char *tag,
                    const char *digest, const TinySpec *spec)
{
  g_autofree char *manifest = g_build_filename (models, "manifests", "registry.ollama.ai", ns, name, tag, NULL);
  g_autofree char *blob_name = g_strdup_printf ("sha256-%s", digest);
  g_autofree char *blob = g_build_filename (models, "blobs", blob_name, NULL);
  g_autofree char *text = g_strdup_printf (
    "{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:%s\"}]}", digest);

  make_parent (manifest);
  model_test_write (manifest, text, strlen (text));
  make_parent (blob);
  tiny_write_gguf (blob, spec);
}

static void
home_setup (Home *h, gconstpointer data)
{
  TinySpec llama = tiny_spec_default ("llama");
  TinySpec deepseek = tiny_spec_default ("deepseek2");
  const char *digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  h->home = model_test_tmpdir ();

  /* Hugging Face cache: a safetensors repo whose refs/main picks one of two
   * snapshots, and a GGUF repo. */
  {
    g_autofree char *old = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny", "snapshots", "rev0", NULL);
    g_autofree char *cur = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny", "snapshots", "rev1", NULL);
    g_autofree char *ref = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny", "refs", "main", NULL);
    g_autofree char *gguf = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny-GGUF", "snapshots",
                                       "r", "tiny.Q8_0.gguf", NULL);
    tiny_write_hf_folder (old, &llama, "LlamaForCausalLM", NULL, FALSE);
    tiny_write_hf_folder (cur, &llama, "LlamaForCausalLM", NULL, FALSE);
    make_parent (ref);
    model_test_write (ref, "rev1\n", 5);
    make_parent (gguf);
    tiny_write_gguf (gguf, &llama);
  }

  /* Ollama: a manifest whose model layer points at a GGUF blob, and one
   * whose blob is missing. */
  {
    g_autofree char *manifest = home_path (h, ".ollama", "models", "manifests", "registry.ollama.ai", "library",
                                           "tiny", "latest", NULL);
    g_autofree char *lost = home_path (h, ".ollama", "models", "manifests", "registry.ollama.ai", "someone",
                                       "lost", "q4", NULL);
    g_autofree char *blob_name = g_strdup_printf ("sha256-%s", digest);
    g_autofree char *blob = home_path (h, ".ollama", "models", "blobs", blob_name, NULL);
    g_autofree char *text = g_strdup_printf (
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:ffff\",\"size\":10},"
      "\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.template\",\"digest\":\"sha256:eeee\",\"size\":3},"
      "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:%s\",\"size\":1}]}", digest);
    const char *lost_text =
      "{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:abab\"}]}";

    make_parent (manifest);
    model_test_write (manifest, text, strlen (text));
    make_parent (lost);
    model_test_write (lost, lost_text, strlen (lost_text));
    make_parent (blob);
    tiny_write_gguf (blob, &llama);
  }

  /* LM Studio: a good GGUF and a corrupt one. */
  {
    g_autofree char *good = home_path (h, ".lmstudio", "models", "pub", "repo", "Tiny-Q8_0.gguf", NULL);
    g_autofree char *bad = home_path (h, ".lmstudio", "models", "pub", "repo", "corrupt.gguf", NULL);

    make_parent (good);
    tiny_write_gguf (good, &llama);
    model_test_write (bad, "GGUF\3\0\0\0garbage", 15);
  }

  /* The Ollama service's store (the fake stands where /usr/share/ollama
   * would be), the demo model installed with Temper, and an LM Studio file
   * whose general.name llama.cpp made up from a folder's name. */
  {
    g_autofree char *service = home_path (h, "usr-share-ollama", ".ollama", "models", NULL);
    g_autofree char *demo = home_path (h, "share", "temper", "models", "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
    g_autofree char *made_up = home_path (h, ".cache", "lm-studio", "models", "pub", "Qwen3-0.6B-GGUF",
                                          "Qwen3-0.6B-Q4_K_M.gguf", NULL);

    write_ollama_model (service, "library", "qwen3", "0.6b",
                        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", &llama);
    write_named_gguf (demo, "Smollm2 135M 8k Lc100K Mix1 Ep2", "smollm2", "135M", "8k-lc100k-mix1-ep2");
    write_named_gguf (made_up, "Qwen3 0.6B", "Qwen3", "0.6B", NULL);
  }

  /* A folder the person added, with an architecture Temper does not train. */
  {
    g_autofree char *other = home_path (h, "Models", "gemma.gguf", NULL);
    make_parent (other);
    tiny_write_gguf (other, &deepseek);
  }
}

static void
home_teardown (Home *h, gconstpointer data)
{
  g_clear_pointer (&h->found, g_ptr_array_unref);
  test_remove_tree (h->home);
  g_free (h->home);
}

static void
scan (Home *h)
{
  g_autoptr(TemperDiscoveryRoots) roots = temper_discovery_roots_new_for_home (h->home);
  g_autoptr(GError) error = NULL;

  roots->folders = g_new0 (char *, 2);
  roots->folders[0] = home_path (h, "Models", NULL);
  g_strfreev (roots->ollama_service);
  roots->ollama_service = g_new0 (char *, 2);
  roots->ollama_service[0] = home_path (h, "usr-share-ollama", ".ollama", "models", NULL);
  roots->built_in = home_path (h, "share", "temper", "models", NULL);
  h->found = temper_discover_models (roots, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < h->found->len; i++)
    {
      const TemperDiscoveredModel *m = g_ptr_array_index (h->found, i);
      g_test_message ("%d %s: %s %s %" G_GUINT64_FORMAT " params, %s%s%s", m->source, m->display_name,
                      m->architecture != NULL ? m->architecture : "-", m->quantization != NULL ? m->quantization : "-",
                      m->n_params, m->supported ? "supported" : "not supported",
                      m->problem != NULL ? " — " : "", m->problem != NULL ? m->problem : "");
    }
}

static void
test_fake_home (Home *h, gconstpointer data)
{
  TinySpec llama = tiny_spec_default ("llama");
  const TemperDiscoveredModel *m;
  g_autofree char *rev1 = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny", "snapshots", "rev1", NULL);
  g_autofree char *weights = home_path (h, ".cache", "huggingface", "hub", "models--Org--Tiny", "snapshots", "rev1",
                                        "model.safetensors", NULL);

  scan (h);
  g_assert_cmpuint (h->found->len, ==, 10);

  /* The built-in demo model comes first, under its file's name: its
   * general.name is only the converter's title-cased folder name. */
  m = g_ptr_array_index (h->found, 0);
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_BUILT_IN);
  g_assert_cmpstr (m->display_name, ==, "SmolLM2-135M-Instruct");
  g_assert_cmpstr (m->quantization, ==, "Q4_1");

  /* The service store, by its tag. */
  m = find (h, "qwen3:0.6b");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_OLLAMA);
  g_assert_true (g_str_has_prefix (m->path, h->home));
  g_assert_true (g_str_has_suffix (m->path, "usr-share-ollama/.ollama/models/blobs/"
                                   "sha256-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"));
  g_assert_true (m->supported);

  /* The second LM Studio folder, named from its file without the quantization. */
  m = find (h, "Qwen3-0.6B");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_LM_STUDIO);
  g_assert_cmpstr (m->quantization, ==, "Q4_1");

  m = find (h, "Org/Tiny");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_HF_CACHE);
  g_assert_cmpstr (m->path, ==, rev1);
  g_assert_cmpstr (m->architecture, ==, "llama");
  g_assert_cmpstr (m->quantization, ==, "BF16");
  g_assert_cmpuint (m->n_params, ==, tiny_params (&llama));
  g_assert_cmpuint (m->size_on_disk, >, file_size (weights));
  g_assert_true (m->supported);
  g_assert_null (m->problem);

  m = find (h, "Org/Tiny-GGUF (tiny.Q8_0)");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_HF_CACHE);
  g_assert_cmpstr (m->quantization, ==, "Q8_0");
  g_assert_true (m->supported);

  m = find (h, "tiny:latest");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_OLLAMA);
  g_assert_true (g_str_has_suffix (m->path, "blobs/sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  g_assert_cmpstr (m->architecture, ==, "llama");
  g_assert_cmpuint (m->size_on_disk, ==, file_size (m->path));
  g_assert_cmpuint (m->n_params, ==, tiny_params (&llama));
  g_assert_true (m->supported);

  m = find (h, "someone/lost:q4");
  g_assert_false (m->supported);
  g_assert_nonnull (strstr (m->problem, "missing"));

  m = find (h, "Tiny Test Model");   /* general.name of the LM Studio file */
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_LM_STUDIO);
  g_assert_true (g_str_has_suffix (m->path, "Tiny-Q8_0.gguf"));
  g_assert_true (m->supported);

  m = find (h, "corrupt");
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_LM_STUDIO);
  g_assert_false (m->supported);
  g_assert_null (m->architecture);
  g_assert_nonnull (strstr (m->problem, "corrupt.gguf"));
  g_assert_cmpuint (m->size_on_disk, ==, 15);

  /* The folder's model comes last (by source) and is not trainable. */
  m = g_ptr_array_index (h->found, h->found->len - 1);
  g_assert_cmpint (m->source, ==, TEMPER_MODEL_SOURCE_FOLDER);
  g_assert_cmpstr (m->architecture, ==, "deepseek2");
  g_assert_false (m->supported);
  /* The loaders' refusal: the family by name and the nearest one. */
  g_assert_nonnull (strstr (m->problem, "DeepSeek-V2/V3"));
  g_assert_nonnull (strstr (m->problem, "DeepSeek-R1 distill"));
}

/* Every family the loaders open is offered by discovery too, as a GGUF file
 * (llama.cpp's own conversion) and as a Hugging Face folder (made by
 * transformers): tests/fixtures/families. */
static void
test_families_supported (void)
{
  static const char *const families[] = {
    "llama31", "qwen3", "qwen3moe", "mistral", "mixtral", "gemma2", "gemma3", "phi3", "glm4",
  };
  const char *src = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;

  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autofree char *file = g_strdup_printf ("%s.gguf", families[i]);
      g_autofree char *gguf = g_build_filename (src, "tests", "fixtures", "families", file, NULL);
      g_autofree char *folder = g_build_filename (src, "tests", "fixtures", "families", families[i], NULL);
      g_autoptr(TemperDiscoveredModel) from_gguf = temper_discovery_inspect (gguf, TEMPER_MODEL_SOURCE_FOLDER, NULL);
      g_autoptr(TemperDiscoveredModel) from_hf = temper_discovery_inspect (folder, TEMPER_MODEL_SOURCE_FOLDER, NULL);

      g_test_message ("%s: GGUF %s, HF %s", families[i], from_gguf->problem ? from_gguf->problem : "supported",
                      from_hf->problem ? from_hf->problem : "supported");
      g_assert_null (from_gguf->problem);
      g_assert_true (from_gguf->supported);
      g_assert_null (from_hf->problem);
      g_assert_true (from_hf->supported);
    }
  /* Gemma 3 4B's layout: a model of text and images, offered as Gemma 3. */
  {
    g_autofree char *folder = g_build_filename (src, "tests", "fixtures", "families", "gemma3-vlm", NULL);
    g_autoptr(TemperDiscoveredModel) vlm = temper_discovery_inspect (folder, TEMPER_MODEL_SOURCE_FOLDER, NULL);

    g_assert_null (vlm->problem);
    g_assert_true (vlm->supported);
    g_assert_cmpstr (vlm->architecture, ==, "gemma3");
  }
}

static void
test_inspect_cut_short (Home *h, gconstpointer data)
{
  /* A folder whose weights are cut short is
   * still described from config.json, and its problem named. */
  g_autofree char *dir = home_path (h, "cut", NULL);
  g_autofree char *weights = home_path (h, "cut", "model.safetensors", NULL);
  TinySpec llama = tiny_spec_default ("llama");
  g_autoptr(TemperDiscoveredModel) m = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  tiny_write_hf_folder (dir, &llama, "LlamaForCausalLM", NULL, FALSE);
  g_assert_true (g_file_get_contents (weights, &contents, &len, NULL));
  model_test_write (weights, contents, len - 100);
  m = temper_discovery_inspect (dir, TEMPER_MODEL_SOURCE_FOLDER, NULL);
  g_assert_cmpstr (m->display_name, ==, "cut");
  g_assert_cmpstr (m->architecture, ==, "llama");
  g_assert_false (m->supported);
  g_assert_nonnull (strstr (m->problem, "cut short"));
}

static void
test_cancelled (Home *h, gconstpointer data)
{
  g_autoptr(TemperDiscoveryRoots) roots = temper_discovery_roots_new_for_home (h->home);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  g_assert_null (temper_discover_models (roots, cancellable, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
}

static void
test_default_roots (void)
{
  g_autoptr(TemperDiscoveryRoots) roots = NULL;

  g_setenv ("HF_HOME", "/somewhere/hf", TRUE);
  g_setenv ("OLLAMA_MODELS", "/somewhere/ollama", TRUE);
  roots = temper_discovery_roots_new_for_home ("/home/someone");
  g_assert_cmpstr (roots->hf_hub, ==, "/somewhere/hf/hub");
  g_assert_cmpstr (roots->ollama_models, ==, "/somewhere/ollama");
  g_assert_cmpstr (roots->lm_studio[0], ==, "/home/someone/.lmstudio/models");
  g_assert_cmpstr (roots->lm_studio[1], ==, "/home/someone/.cache/lm-studio/models");
  g_assert_cmpstr (roots->ollama_service[0], ==, "/usr/share/ollama/.ollama/models");
  g_assert_cmpstr (roots->ollama_service[1], ==, "/run/host/usr/share/ollama/.ollama/models");
  g_assert_null (roots->ollama_service[2]);
  g_assert_null (roots->built_in);
  g_clear_pointer (&roots, temper_discovery_roots_free);

  /* HF_HUB_CACHE names the hub itself, before HF_HOME. */
  g_setenv ("HF_HUB_CACHE", "/elsewhere/hub", TRUE);
  roots = temper_discovery_roots_new_for_home ("/home/someone");
  g_assert_cmpstr (roots->hf_hub, ==, "/elsewhere/hub");
  g_clear_pointer (&roots, temper_discovery_roots_free);
  g_unsetenv ("HF_HUB_CACHE");

  /* In a Flatpak the person's own cache folder is HOST_XDG_CACHE_HOME. */
  g_unsetenv ("HF_HOME");
  g_setenv ("HOST_XDG_CACHE_HOME", "/home/someone/cache", TRUE);
  roots = temper_discovery_roots_new_for_home ("/home/someone");
  g_assert_cmpstr (roots->hf_hub, ==, "/home/someone/cache/huggingface/hub");
  g_clear_pointer (&roots, temper_discovery_roots_free);
  g_unsetenv ("HOST_XDG_CACHE_HOME");

  g_unsetenv ("OLLAMA_MODELS");
  roots = temper_discovery_roots_new_for_home ("/home/someone");
  g_assert_cmpstr (roots->hf_hub, ==, "/home/someone/.cache/huggingface/hub");
  g_assert_cmpstr (roots->ollama_models, ==, "/home/someone/.ollama/models");
}

/* Names: one a person wrote stays; one the converter made up gives way to
 * the file's name, without the quantization suffix. */
static void
test_names (Home *h, gconstpointer data)
{
  static const struct {
    const char *file, *name, *basename, *size_label, *finetune, *expected;
  } cases[] = {
    { "SmolLM2-135M-Instruct.Q4_1.gguf", "Smollm2 135M 8k Lc100K Mix1 Ep2", "smollm2", "135M",
      "8k-lc100k-mix1-ep2", "SmolLM2-135M-Instruct" },
    { "Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Llama 3.2 1B Instruct", "Llama-3.2", "1B", "Instruct",
      "Llama-3.2-1B-Instruct" },
    { "gemma-3-270m-it-UD-IQ4_XS.gguf", "Gemma 3 270m It", "gemma-3", "270m", "it", "gemma-3-270m-it" },
    { "model-f16.gguf", "Phi 4 Mini Instruct (my tune)", "Phi-4", "mini", "instruct",
      "Phi 4 Mini Instruct (my tune)" },
    { "whatever.gguf", "Written By Hand", NULL, NULL, NULL, "Written By Hand" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = home_path (h, "names", cases[i].file, NULL);
      g_autoptr(TemperDiscoveredModel) m = NULL;

      write_named_gguf (path, cases[i].name, cases[i].basename, cases[i].size_label, cases[i].finetune);
      m = temper_discovery_inspect (path, TEMPER_MODEL_SOURCE_FOLDER, NULL);
      g_assert_cmpstr (m->display_name, ==, cases[i].expected);
    }
}

int
main (int argc, char **argv)
{
  /* The scans must see only the fake home, whatever the machine has set. */
  g_unsetenv ("HF_HOME");
  g_unsetenv ("HF_HUB_CACHE");
  g_unsetenv ("XDG_CACHE_HOME");
  g_unsetenv ("OLLAMA_MODELS");
  g_unsetenv ("HOST_XDG_CACHE_HOME");
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/model/discovery/fake-home", Home, NULL, home_setup, test_fake_home, home_teardown);
  g_test_add ("/model/discovery/cut-short-weights", Home, NULL, home_setup, test_inspect_cut_short, home_teardown);
  g_test_add ("/model/discovery/cancelled", Home, NULL, home_setup, test_cancelled, home_teardown);
  g_test_add_func ("/model/discovery/default-roots", test_default_roots);
  g_test_add_func ("/model/discovery/families-supported", test_families_supported);
  g_test_add ("/model/discovery/names", Home, NULL, home_setup, test_names, home_teardown);
  return g_test_run ();
}
