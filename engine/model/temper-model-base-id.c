/* SPDX-License-Identifier: MIT */
/* temper-model-base-id.c — which base model a PEFT adapter trained on a
 * model needs, named so that Hugging Face tools can find it
 * (adapter_config.json's base_model_name_or_path).  Training writes it into
 * the adapter it saves, export into the adapter it exports. */
#include "config.h"

#include <string.h>

#include "temper/gguf.h"
#include "temper-model-base-id.h"

/* "org/name" as the Hub spells repository ids. */
static gboolean
is_hub_id (const char *text)
{
  const char *slash;

  if (text == NULL || !g_ascii_isalnum (text[0]))
    return FALSE;
  slash = strchr (text, '/');
  if (slash == NULL || strchr (slash + 1, '/') != NULL || !g_ascii_isalnum (slash[1]))
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("._-/", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* "https://huggingface.co/org/name" (with or without a tail) or "org/name"
 * to "org/name"; NULL for anything else. */
static char *
hub_id_from (const char *text)
{
  static const char *const prefixes[] = {
    "https://huggingface.co/", "http://huggingface.co/", "huggingface.co/", "hf.co/", "https://hf.co/",
  };
  g_auto(GStrv) parts = NULL;
  g_autofree char *id = NULL;

  if (text == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (g_str_has_prefix (text, prefixes[i]))
      {
        text += strlen (prefixes[i]);
        break;
      }
  if (strstr (text, "://") != NULL)
    return NULL;   /* another site: not something transformers can fetch by id */
  parts = g_strsplit (text, "/", 3);
  if (g_strv_length (parts) < 2)
    return NULL;
  id = g_strdup_printf ("%s/%s", parts[0], parts[1]);
  return is_hub_id (id) ? g_steal_pointer (&id) : NULL;
}

/* A folder of the Hub cache, .../models--org--name/snapshots/HASH: its id. */
static char *
hub_id_from_cache_path (const char *folder)
{
  g_autofree char *snapshots = g_path_get_dirname (folder);
  g_autofree char *repo = g_path_get_dirname (snapshots);
  g_autofree char *snapshots_base = g_path_get_basename (snapshots);
  g_autofree char *repo_base = g_path_get_basename (repo);
  g_auto(GStrv) parts = NULL;
  g_autofree char *id = NULL;

  if (strcmp (snapshots_base, "snapshots") != 0 || !g_str_has_prefix (repo_base, "models--"))
    return NULL;
  parts = g_strsplit (repo_base + strlen ("models--"), "--", 2);
  if (g_strv_length (parts) != 2)
    return NULL;
  id = g_strdup_printf ("%s/%s", parts[0], parts[1]);
  return is_hub_id (id) ? g_steal_pointer (&id) : NULL;
}

char *
temper_model_base_model_id (const temper_model_t *model)
{
  const char *path = temper_model_get_path (model);

  if (temper_model_get_format (model) == TEMPER_MODEL_FORMAT_HF_FOLDER)
    {
      char *id = hub_id_from_cache_path (path);

      /* Outside the Hub cache the folder itself is the base: transformers
       * loads a local folder given as its path. */
      return id != NULL ? id : g_canonicalize_filename (path, NULL);
    }

  /* A GGUF names the repository it was converted from when its converter
   * knew it.  (general.base_model.* is not used: it names the model this
   * one was fine-tuned from, whose weights differ.) */
  {
    static const char *const keys[] = {
      "general.source.huggingface.repository", "general.source.repo_url", "general.repo_url",
    };
    g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, NULL);

    if (gguf == NULL)
      return NULL;
    for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
      {
        g_autofree char *value = temper_gguf_dup_string (gguf, keys[i]);
        char *id = hub_id_from (value);

        if (id != NULL)
          return id;
      }
  }
  return NULL;
}
