/* SPDX-License-Identifier: MIT */
/* temper-export-adapter.c — adapters as PEFT folders and GGUF LoRA files,
 * and GGUF LoRA files read back. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/train.h"
#include "temper-export-private.h"
#include "temper-lora-private.h"
#include "temper-model-base-id.h"

gboolean
temper_export_peft (const temper_model_t *model, temper_adapter_t *adapter, float dropout,
                    const char *requested_dir, const TemperExportOptions *options,
                    GError **error)
{
  g_autofree char *temp = NULL, *out_dir = NULL;
  g_autofree char *base_id = NULL;

  g_return_val_if_fail (model != NULL && adapter != NULL && requested_dir != NULL, FALSE);
  out_dir = temper_export_prepare_dest (requested_dir, TEMPER_EXPORT_KIND_PEFT, error);
  if (out_dir == NULL || !temper_export_step (options, 0.0, error))
    return FALSE;
  temp = temper_export_temp_path (out_dir);
  if (g_mkdir (temp, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), out_dir);
      return FALSE;
    }
  /* The display name ("Smollm2 135M 8k Lc100K Mix1 Ep2") is no id PEFT can
   * load; without a real one the field stays null and the README says what
   * to put there. */
  base_id = temper_model_base_model_id (model);
  if (!temper_lora_export_peft (adapter, temper_model_get_config (model), dropout, temp,
                                base_id, error)
      || !temper_export_write_peft_readme (model, base_id, temp, error))
    {
      temper_export_discard (temp);
      temper_export_explain_error (error, _("the adapter"), out_dir);
      return FALSE;
    }
  if (!temper_export_step (options, 1.0, error))
    {
      temper_export_discard (temp);
      return FALSE;
    }
  return temper_export_commit (temp, out_dir, TEMPER_EXPORT_KIND_PEFT, error);
}

gboolean
temper_export_gguf_adapter (const temper_model_t *model, temper_adapter_t *adapter,
                            const char *requested_path, const TemperExportOptions *options,
                            GError **error)
{
  g_autofree char *out_path = NULL;
  const TemperModelConfig *config;
  g_autoptr(temper_gguf_writer_t) w = NULL;
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *temp = NULL;
  TemperLoraModule modules[TEMPER_LORA_N_TARGETS];
  int rank, n_layer, n_modules;
  guint targets;
  float alpha;

  g_return_val_if_fail (model != NULL && adapter != NULL && requested_path != NULL, FALSE);
  config = temper_model_get_config (model);
  out_path = temper_export_prepare_dest (requested_path, TEMPER_EXPORT_KIND_GGUF_ADAPTER, error);
  if (out_path == NULL)
    return FALSE;
  rank = temper_adapter_get_rank (adapter);
  targets = temper_adapter_get_targets (adapter);
  n_layer = temper_adapter_get_n_layer (adapter);
  alpha = temper_adapter_get_alpha (adapter);
  /* llama.cpp always scales by alpha/r; α·√r over r is rsLoRA's α/√r. */
  if (temper_adapter_get_rslora (adapter))
    alpha *= sqrtf ((float) rank);

  w = temper_gguf_writer_new ();
  temper_gguf_writer_set_string (w, "general.architecture", temper_model_get_arch_name (model));
  temper_gguf_writer_set_string (w, "general.type", "adapter");
  temper_gguf_writer_set_string (w, "general.name", temper_model_get_name (model));
  temper_gguf_writer_set_u32 (w, "general.file_type", 0);
  temper_gguf_writer_set_string (w, "adapter.type", "lora");
  temper_gguf_writer_set_f32 (w, "adapter.lora.alpha", alpha);
  temper_gguf_writer_set_string (w, TEMPER_EXPORT_GGUF_KEY,
                                 temper_export_kind_name (TEMPER_EXPORT_KIND_GGUF_ADAPTER));

  n_modules = temper_lora_modules (config, modules);
  for (int l = 0; l < n_layer; l++)
    {
      if (!temper_export_step (options, 0.9 * l / n_layer, error))
        return FALSE;
      for (int m = 0; m < n_modules; m++)
        {
          const TemperLoraModule *module = &modules[m];
          TemperLoraTarget t = module->parts[0];
          char name[96];
          int in, out, tensor_rank = rank;
          int64_t ne_a[2], ne_b[2];
          const float *a, *b;

          if (module->n_parts > 1)
            {
              int n_trained = temper_lora_module_n_trained (module, targets);
              float *fused_a, *fused_b;

              /* llama.cpp scales every tensor by α over its own rank: B
               * carries the factor that keeps the parts' α/r. */
              tensor_rank = temper_lora_module_fuse (adapter, config, l, module, (float) n_trained,
                                                     &fused_a, &fused_b, &in, &out);
              if (tensor_rank == 0)
                continue;
              g_ptr_array_add (owned, fused_a);
              g_ptr_array_add (owned, fused_b);
              a = fused_a;
              b = fused_b;
            }
          else
            {
              if (!(targets & TEMPER_LORA_TARGET_BIT (t)))
                continue;
              temper_lora_target_dims (config, t, &in, &out);
              a = temper_adapter_get_a (adapter, l, t);
              b = temper_adapter_get_b (adapter, l, t);
              if (temper_export_needs_qk_permutation (config, t))
                {
                  float *copy = g_memdup2 (b, sizeof (float) * (gsize) out * (gsize) rank);

                  temper_lora_permute_rows (copy, out, rank, config->head_dim, FALSE);
                  g_ptr_array_add (owned, copy);
                  b = copy;
                }
            }
          ne_a[0] = in, ne_a[1] = tensor_rank;
          ne_b[0] = tensor_rank, ne_b[1] = out;
          g_snprintf (name, sizeof name, "blk.%d.%s.weight.lora_a", l, module->gguf_name);
          temper_gguf_writer_add_tensor_static (w, name, TEMPER_TYPE_F32, ne_a, 2, a,
                                                sizeof (float) * (gsize) in * (gsize) tensor_rank);
          g_snprintf (name, sizeof name, "blk.%d.%s.weight.lora_b", l, module->gguf_name);
          temper_gguf_writer_add_tensor_static (w, name, TEMPER_TYPE_F32, ne_b, 2, b,
                                                sizeof (float) * (gsize) out * (gsize) tensor_rank);
        }
    }

  temp = temper_export_temp_path (out_path);
  if (!temper_gguf_writer_write (w, temp, error))
    {
      temper_export_discard (temp);
      temper_export_explain_error (error, _("the adapter"), out_path);
      return FALSE;
    }
  if (!temper_export_step (options, 1.0, error))
    {
      temper_export_discard (temp);
      return FALSE;
    }
  return temper_export_commit (temp, out_path, TEMPER_EXPORT_KIND_GGUF_ADAPTER, error);
}

/* ---- import ------------------------------------------------------------- */

temper_adapter_t *
temper_import_gguf_adapter (const char *path, const temper_model_t *model, GError **error)
{
  g_return_val_if_fail (path != NULL && model != NULL, NULL);
  return temper_lora_load_gguf (path, temper_model_get_config (model), temper_model_get_arch_name (model),
                                NULL, error);
}
