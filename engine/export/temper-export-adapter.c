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

static gboolean
read_f32_matrix (const temper_gguf_t *gguf, guint64 index, const TemperTensorView *view,
                 float *out, GError **error)
{
  int64_t ne[4];
  guint32 n_dims;
  guint64 n_bytes;

  temper_gguf_get_tensor_shape (gguf, index, ne, &n_dims, &n_bytes);
  if (n_dims != 2 || temper_type_block_elems (view->type) == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s”: tensor %s is not a matrix of a type Temper reads."),
                   temper_gguf_get_path (gguf), view->name);
      return FALSE;
    }
  for (int64_t r = 0; r < view->ne[1]; r++)
    temper_tensor_row_to_f32 (view, r, out + r * view->ne[0]);
  return TRUE;
}

/* Which of @modules, in which layer, the GGUF LoRA tensor @name is, and
 * whether it is its A ("blk.3.attn_qkv.weight.lora_a"). */
static gboolean
find_gguf_module (const char *name, const TemperLoraModule *modules, int n_modules, int *layer, int *module,
                  gboolean *is_a)
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
  for (int m = 0; m < n_modules; m++)
    {
      gsize len = strlen (modules[m].gguf_name);

      if (strncmp (p, modules[m].gguf_name, len) != 0 || strncmp (p + len, ".weight.lora_", 13) != 0
          || (p[len + 13] != 'a' && p[len + 13] != 'b') || p[len + 14] != '\0')
        continue;
      *layer = (int) n;
      *module = m;
      *is_a = p[len + 13] == 'a';
      return TRUE;
    }
  return FALSE;
}

/* A GGUF LoRA (Temper's export, llama.cpp's convert_lora_to_gguf.py) on the
 * matrices the family's files hold: Phi-3's attn_qkv and fused ffn_up are
 * split into Temper's projections (temper-lora-import.c).  llama.cpp scales
 * each tensor pair by adapter.lora.alpha over its own rank. */
temper_adapter_t *
temper_import_gguf_adapter (const char *path, const temper_model_t *model, GError **error)
{
  const TemperModelConfig *config;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(TemperLoraImport) imp = NULL;
  g_autofree char *type = NULL, *arch = NULL, *adapter_type = NULL;
  g_autofree gint64 *index = NULL;   /* per layer and module: A's tensor, B's */
  TemperLoraModule modules[TEMPER_LORA_N_TARGETS];
  int n_modules, rank_unused;
  float alpha = 0.0f, alpha_unused;
  guint targets_unused;
  guint64 n;

  g_return_val_if_fail (path != NULL && model != NULL, NULL);
  config = temper_model_get_config (model);
  gguf = temper_gguf_open (path, error);
  if (gguf == NULL)
    return NULL;
  type = temper_gguf_dup_string (gguf, "general.type");
  adapter_type = temper_gguf_dup_string (gguf, "adapter.type");
  if (g_strcmp0 (type, "adapter") != 0 || g_strcmp0 (adapter_type, "lora") != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is not a GGUF LoRA adapter (general.type must be “adapter” and "
                   "adapter.type “lora”)."), path);
      return NULL;
    }
  arch = temper_gguf_dup_string (gguf, "general.architecture");
  if (g_strcmp0 (arch, temper_model_get_arch_name (model)) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” is an adapter for a %s model, but the model is %s."),
                   path, arch != NULL ? arch : "(unnamed)", temper_model_get_arch_name (model));
      return NULL;
    }

  /* First pass: names and shapes, before anything is read. */
  n_modules = temper_lora_modules (config, modules);
  index = g_new (gint64, (gsize) config->n_layer * (gsize) n_modules * 2);
  for (gsize i = 0; i < (gsize) config->n_layer * (gsize) n_modules * 2; i++)
    index[i] = -1;
  n = temper_gguf_get_n_tensors (gguf);
  for (guint64 i = 0; i < n; i++)
    {
      TemperTensorView v;
      int layer, m, in, out = 0, part_out;
      gboolean is_a;

      temper_gguf_get_tensor (gguf, i, &v);
      if (g_str_has_suffix (v.name, "_norm.weight"))
        continue;
      if (!find_gguf_module (v.name, modules, n_modules, &layer, &m, &is_a))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s”: tensor %s is not a LoRA of an attention or feed-forward weight "
                         "of this model, which is all Temper can apply."), path, v.name);
          return NULL;
        }
      for (int p = 0; p < modules[m].n_parts; p++)
        {
          temper_lora_target_dims (config, modules[m].parts[p], &in, &part_out);
          out += part_out;
        }
      if (layer >= config->n_layer || (is_a ? v.ne[0] != in : v.ne[1] != out)
          || (is_a ? v.ne[1] : v.ne[0]) < 1 || (is_a ? v.ne[1] : v.ne[0]) > 1024)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s”: tensor %s has shape %" PRId64 " × %" PRId64
                       ", which does not fit this model."), path, v.name, v.ne[0], v.ne[1]);
          return NULL;
        }
      index[((gsize) layer * (gsize) n_modules + (gsize) m) * 2 + (is_a ? 0 : 1)] = (gint64) i;
    }
  if (!temper_gguf_get_f32 (gguf, "adapter.lora.alpha", &alpha) || !(alpha > 0.0f))
    alpha = 0.0f;   /* llama.cpp then scales by 1 */

  imp = temper_lora_import_new (config);
  for (int l = 0; l < config->n_layer; l++)
    for (int m = 0; m < n_modules; m++)
      {
        gint64 ia = index[((gsize) l * (gsize) n_modules + (gsize) m) * 2];
        gint64 ib = index[((gsize) l * (gsize) n_modules + (gsize) m) * 2 + 1];
        TemperTensorView va, vb;
        g_autofree float *a = NULL, *b = NULL;
        int rank;

        if (ia < 0 && ib < 0)
          continue;
        if (ia >= 0)
          temper_gguf_get_tensor (gguf, (guint64) ia, &va);
        if (ib >= 0)
          temper_gguf_get_tensor (gguf, (guint64) ib, &vb);
        if (ia < 0 || ib < 0 || va.ne[1] != vb.ne[0])
          {
            g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                         _("“%s”: the LoRA of %s in layer %d lacks its A or B tensor, or their "
                           "ranks differ."), path, modules[m].gguf_name, l);
            return NULL;
          }
        rank = (int) va.ne[1];
        a = g_new (float, (gsize) va.ne[0] * (gsize) va.ne[1]);
        b = g_new (float, (gsize) vb.ne[0] * (gsize) vb.ne[1]);
        if (!read_f32_matrix (gguf, (guint64) ia, &va, a, error) || !read_f32_matrix (gguf, (guint64) ib, &vb, b, error))
          return NULL;
        if (modules[m].n_parts == 1 && temper_export_needs_qk_permutation (config, modules[m].parts[0]))
          temper_lora_permute_rows (b, (int) vb.ne[1], rank, config->head_dim, TRUE);
        if (!temper_lora_import_add (imp, l, &modules[m], rank, a, b, alpha > 0.0f ? alpha / (float) rank : 1.0f,
                                     path, error))
          return NULL;
      }
  return temper_lora_import_finish (imp, FALSE, &rank_unused, &alpha_unused, &targets_unused, path, error);
}
