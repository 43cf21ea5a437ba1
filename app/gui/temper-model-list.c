/* SPDX-License-Identifier: MIT */
/* temper-model-list.c — bundled and discovered models, read cheaply from
 * their headers on a worker thread. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/discovery.h"
#include "temper-model-list.h"
#include "temper-paths.h"

void
temper_model_list_entry_free (TemperModelListEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->name);
  g_free (entry->path);
  g_free (entry->source);
  g_free (entry->architecture);
  g_free (entry->quantization);
  g_free (entry->problem);
  g_free (entry);
}

char *
temper_model_list_entry_describe (const TemperModelListEntry *entry)
{
  g_autoptr(GString) text = g_string_new (entry->source);
  const char *separator = " · ";

  g_return_val_if_fail (entry != NULL, NULL);

  if (entry->problem != NULL)
    {
      g_string_append (text, separator);
      g_string_append (text, entry->problem);
      return g_string_free (g_steal_pointer (&text), FALSE);
    }
  if (entry->architecture != NULL)
    g_string_append_printf (text, "%s%s", separator, entry->architecture);
  if (entry->n_params > 0)
    {
      g_string_append (text, separator);
      if (entry->n_params >= 1000000000)
        /* Translators: a parameter count */
        g_string_append_printf (text, _("%.1f billion parameters"), entry->n_params / 1e9);
      else
        /* Translators: a parameter count */
        g_string_append_printf (text, _("%.1f million parameters"), entry->n_params / 1e6);
    }
  if (entry->quantization != NULL)
    g_string_append_printf (text, "%s%s", separator, entry->quantization);
  if (entry->size > 0)
    {
      g_autofree char *size = g_format_size (entry->size);

      g_string_append_printf (text, "%s%s", separator, size);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static const char *
source_label (TemperModelSource source)
{
  switch (source)
    {
    case TEMPER_MODEL_SOURCE_HF_CACHE:  return _("Hugging Face cache");
    case TEMPER_MODEL_SOURCE_OLLAMA:    return _("Ollama");
    case TEMPER_MODEL_SOURCE_LM_STUDIO: return _("LM Studio");
    case TEMPER_MODEL_SOURCE_BUILT_IN:  return _("Built-in demo model");
    case TEMPER_MODEL_SOURCE_FOLDER:
    default:                            return _("Your model folders");
    }
}

static TemperModelListEntry *
entry_from_discovered (TemperDiscoveredModel *found,
                       const char            *source)
{
  TemperModelListEntry *entry = g_new0 (TemperModelListEntry, 1);

  entry->name = g_strdup (found->display_name);
  entry->path = g_strdup (found->path);
  entry->source = g_strdup (source);
  entry->architecture = g_strdup (found->architecture);
  entry->quantization = g_strdup (found->quantization);
  entry->size = found->size_on_disk;
  entry->n_params = found->n_params;
  if (found->problem != NULL)
    entry->problem = g_strdup (found->problem);
  else if (!found->supported)
    /* Translators: %s is a model architecture such as "gemma2" */
    entry->problem = g_strdup_printf (_("Temper cannot train this kind of model (%s) yet"),
                                      found->architecture != NULL ? found->architecture : "?");
  return entry;
}

static gboolean
already_listed (GPtrArray  *entries,
                const char *path)
{
  for (guint i = 0; i < entries->len; i++)
    if (g_strcmp0 (((TemperModelListEntry *) g_ptr_array_index (entries, i))->path, path) == 0)
      return TRUE;
  return FALSE;
}

static void
scan_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  char **extra_folders = task_data;
  g_autoptr(GPtrArray) entries =
    g_ptr_array_new_with_free_func ((GDestroyNotify) temper_model_list_entry_free);
  g_autoptr(TemperDiscoveryRoots) roots = temper_discovery_roots_new_default ();
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;

  g_strfreev (roots->folders);
  roots->folders = g_strdupv (extra_folders);
  /* The demo model installed with Temper (the source tree's data/models
   * when run from the build folder). */
  roots->built_in = temper_paths_data_file ("models");
  found = temper_discover_models (roots, cancellable, &error);
  if (found == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  for (guint i = 0; i < found->len; i++)
    {
      TemperDiscoveredModel *model = g_ptr_array_index (found, i);

      if (!already_listed (entries, model->path))
        {
          TemperModelListEntry *entry = entry_from_discovered (model, source_label (model->source));

          entry->bundled = model->source == TEMPER_MODEL_SOURCE_BUILT_IN;
          g_ptr_array_add (entries, entry);
        }
    }

  g_task_return_pointer (task, g_steal_pointer (&entries), (GDestroyNotify) g_ptr_array_unref);
}

void
temper_model_list_scan_async (GObject             *source_object,
                              const char *const   *extra_folders,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (source_object, cancellable, callback, user_data);

  g_task_set_source_tag (task, temper_model_list_scan_async);
  g_task_set_task_data (task, g_strdupv ((char **) extra_folders), (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, scan_thread);
}

GPtrArray *
temper_model_list_scan_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
