/* SPDX-License-Identifier: MIT */
/* discovery.h — finding the models already on this computer.
 *
 * Looks in the Hugging Face cache, Ollama's model store, LM Studio's model
 * folders and any folders the caller adds, and describes each model from its
 * headers alone (GGUF metadata, config.json and safetensors headers), never
 * loading weights.  A model that cannot be read is still listed, with the
 * reason, so one broken download does not hide the others. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_MODEL_SOURCE_HF_CACHE,
  TEMPER_MODEL_SOURCE_OLLAMA,
  TEMPER_MODEL_SOURCE_LM_STUDIO,
  TEMPER_MODEL_SOURCE_FOLDER,
  TEMPER_MODEL_SOURCE_BUILT_IN,   /* the demo model installed with Temper; listed first */
} TemperModelSource;

typedef struct {
  char              *display_name;  /* the model's own name: the Hugging Face repository
                                     * ("HuggingFaceTB/SmolLM2-135M-Instruct"), the Ollama
                                     * tag ("qwen3:0.6b"), the GGUF's general.name, or the
                                     * file's name when general.name was only made up from
                                     * the converter's folder name */
  char              *path;          /* what temper_model_load() takes: a .gguf file or a folder */
  TemperModelSource  source;
  char              *architecture;  /* "llama", "qwen2", "gemma2", … or NULL when unreadable */
  guint64            size_on_disk;  /* bytes */
  guint64            n_params;      /* 0 when unknown */
  char              *quantization;  /* "Q4_K_M", "Q4_1", "BF16", … or NULL */
  gboolean           supported;     /* Temper can train it */
  char              *problem;       /* why it cannot be read or used, or NULL */
} TemperDiscoveredModel;

void temper_discovered_model_free (TemperDiscoveredModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperDiscoveredModel, temper_discovered_model_free)

/* Where to look.  Any member may be NULL (that place is skipped). */
typedef struct {
  char  *hf_hub;          /* the hub cache: holds models--org--name/ */
  char  *ollama_models;   /* the person's store: holds manifests/ and blobs/ */
  char **ollama_service;  /* NULL-terminated: the Linux service's stores, same layout */
  char **lm_studio;       /* NULL-terminated: folders searched for .gguf files */
  char **folders;         /* NULL-terminated: other folders the person added */
  char  *built_in;        /* the folder of models installed with Temper */
} TemperDiscoveryRoots;

/* The usual places under @home, honouring $HF_HUB_CACHE, $HF_HOME,
 * $XDG_CACHE_HOME and $OLLAMA_MODELS like those tools do, plus the store
 * of Ollama's Linux service (/usr/share/ollama/.ollama/models, seen as
 * /run/host/usr/… from inside a Flatpak).  built_in is left NULL. */
TemperDiscoveryRoots *temper_discovery_roots_new_for_home (const char *home);
/* The same for the current user's home folder. */
TemperDiscoveryRoots *temper_discovery_roots_new_default (void);
void                  temper_discovery_roots_free (TemperDiscoveryRoots *roots);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperDiscoveryRoots, temper_discovery_roots_free)

/* Scans @roots.  Returns TemperDiscoveredModel* elements (the array frees
 * them), sorted by source then name; NULL only when cancelled. */
GPtrArray *temper_discover_models (const TemperDiscoveryRoots *roots,
                                   GCancellable *cancellable, GError **error);

/* Describes one .gguf file or model folder the same way (never NULL). */
TemperDiscoveredModel *temper_discovery_inspect (const char *path, TemperModelSource source,
                                                 const char *display_name);

G_END_DECLS
