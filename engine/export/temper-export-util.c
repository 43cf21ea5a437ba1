/* temper-export-util.c — temporary names, commits, progress and merging. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "export/temper-export-private.h"

void
temper_export_options_init (TemperExportOptions *options)
{
  memset (options, 0, sizeof *options);
}

char *
temper_export_temp_path (const char *final_path)
{
  g_autofree char *dir = g_path_get_dirname (final_path);
  g_autofree char *base = g_path_get_basename (final_path);
  g_autofree char *name = g_strdup_printf (".%s.tmp-%06x", base,
                                           g_random_int_range (0, 0xffffff));

  return g_build_filename (dir, name, NULL);
}

gboolean
temper_export_check_dest (const char *final_path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (final_path);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("Could not export to “%s”: the folder “%s” does not exist. "
                   "Choose an existing folder."), final_path, dir);
      return FALSE;
    }
  return TRUE;
}

void
temper_export_explain_error (GError **error, const char *what, const char *final_path)
{
  if (error == NULL || *error == NULL)
    return;
  if (g_error_matches (*error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE) ||
      g_error_matches (*error, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
    {
      g_autofree char *dir = g_path_get_dirname (final_path);

      g_clear_error (error);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NO_SPACE,
                   _("Could not export %s to “%s”: the disk is full. Nothing was written; free "
                   "some space in “%s” or choose another folder, and try again."),
                   what, final_path, dir);
      return;
    }
  g_prefix_error (error, _("Exporting %s to “%s”: "), what, final_path);
}

void
temper_export_discard (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);
          g_unlink (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

gboolean
temper_export_commit (const char *temp_path, const char *final_path, GError **error)
{
  g_autofree char *old = NULL;

  /* rename() replaces a file in one step but not a folder: move an existing
   * folder aside first, and drop it only once the new one is in place. */
  if (g_file_test (temp_path, G_FILE_TEST_IS_DIR) && g_file_test (final_path, G_FILE_TEST_EXISTS))
    {
      old = temper_export_temp_path (final_path);
      if (g_rename (final_path, old) != 0)
        {
          int saved = errno;
          temper_export_discard (temp_path);
          temper_set_error_from_errno (error, saved, final_path, _("replace"));
          return FALSE;
        }
    }
  if (g_rename (temp_path, final_path) != 0)
    {
      int saved = errno;
      temper_export_discard (temp_path);
      if (old != NULL)
        g_rename (old, final_path);
      temper_set_error_from_errno (error, saved, final_path, _("create"));
      return FALSE;
    }
  if (old != NULL)
    temper_export_discard (old);
  return TRUE;
}

gboolean
temper_export_step (const TemperExportOptions *options, double fraction, GError **error)
{
  if (options == NULL)
    return TRUE;
  if (options->progress != NULL)
    options->progress (CLAMP (fraction, 0.0, 1.0), options->progress_data);
  if (g_cancellable_is_cancelled (options->cancellable))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED,
                           _("The export was cancelled; nothing was written."));
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_check_family (const temper_model_t *model, gboolean merged, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);

  if (c->fused_qkv || c->fused_gate_up)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("Temper cannot export from %s models yet: their fused projections need names "
                     "PEFT and llama.cpp expect, which Temper does not write yet. Chat with the adapter in Temper instead."),
                   temper_model_get_family_name (model));
      return FALSE;
    }
  if (merged && !temper_model_config_is_basic (c))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("Temper cannot make a merged model of a %s model yet. Export the adapter "
                     "(PEFT or GGUF LoRA) instead."),
                   temper_model_get_family_name (model));
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_needs_qk_permutation (const TemperModelConfig *config, TemperLoraTarget target)
{
  return (config->arch == TEMPER_ARCH_LLAMA || config->arch == TEMPER_ARCH_MISTRAL)
         && config->rope_layout == TEMPER_ROPE_HALVES &&
         (target == TEMPER_LORA_Q || target == TEMPER_LORA_K);
}

static const char *const gguf_target_names[TEMPER_LORA_N_TARGETS] = {
  [TEMPER_LORA_Q] = "attn_q",
  [TEMPER_LORA_K] = "attn_k",
  [TEMPER_LORA_V] = "attn_v",
  [TEMPER_LORA_O] = "attn_output",
  [TEMPER_LORA_GATE] = "ffn_gate",
  [TEMPER_LORA_UP] = "ffn_up",
  [TEMPER_LORA_DOWN] = "ffn_down",
};

const char *
temper_export_gguf_target_name (TemperLoraTarget target)
{
  g_assert (target < TEMPER_LORA_N_TARGETS);
  return gguf_target_names[target];
}

gboolean
temper_export_parse_gguf_name (const char *name, const char *suffix, int *layer,
                               TemperLoraTarget *target)
{
  const char *p;
  char *end;
  gint64 n;

  if (!g_str_has_prefix (name, "blk."))
    return FALSE;
  p = name + 4;
  n = g_ascii_strtoll (p, &end, 10);
  if (end == p || *end != '.' || n < 0 || n > G_MAXINT)
    return FALSE;
  p = end + 1;
  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    {
      gsize len = strlen (gguf_target_names[t]);

      if (strncmp (p, gguf_target_names[t], len) == 0 && strncmp (p + len, ".weight", 7) == 0 &&
          strcmp (p + len + 7, suffix) == 0)
        {
          *layer = (int) n;
          *target = (TemperLoraTarget) t;
          return TRUE;
        }
    }
  return FALSE;
}

void
temper_export_merge_weight (const TemperTensorView *w, temper_adapter_t *adapter, int layer,
                            TemperLoraTarget target, float *out)
{
  const int64_t in = w->ne[0], rows = w->ne[1];
  const float *a = NULL, *b = NULL;
  int rank = 0;
  float s = 0.0f;

  if (adapter != NULL && layer < temper_adapter_get_n_layer (adapter))
    {
      a = temper_adapter_get_a (adapter, layer, target);
      b = temper_adapter_get_b (adapter, layer, target);
      rank = temper_adapter_get_rank (adapter);
      s = temper_adapter_get_scale (adapter);
    }
  for (int64_t o = 0; o < rows; o++)
    {
      float *row = out + o * in;

      temper_tensor_row_to_f32 (w, o, row);
      if (a == NULL || b == NULL)
        continue;
      for (int r = 0; r < rank; r++)
        {
          const float c = s * b[o * rank + r];
          const float *ar = a + (int64_t) r * in;

          if (c == 0.0f)
            continue;
          for (int64_t i = 0; i < in; i++)
            row[i] += c * ar[i];
        }
    }
}
