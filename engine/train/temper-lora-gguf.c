/* SPDX-License-Identifier: MIT */
/* temper-lora-gguf.c — GGUF LoRA files read as Temper's adapters: Temper's
 * own GGUF export and llama.cpp's convert_lora_to_gguf.py output, whose
 * tensors adapt the matrices the family's files hold (Phi-3's attn_qkv and
 * fused ffn_up are split into Temper's projections by temper-lora-import.c).
 * llama.cpp scales each tensor pair by adapter.lora.alpha over its own
 * rank, and keeps Q and K rows in its own interleaved order for llama-arch
 * models. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/train.h"
#include "temper-lora-private.h"

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

gboolean
temper_lora_gguf_needs_permutation (const TemperModelConfig *config, TemperLoraTarget target)
{
  return (config->arch == TEMPER_ARCH_LLAMA || config->arch == TEMPER_ARCH_MISTRAL)
         && config->rope_layout == TEMPER_ROPE_HALVES &&
         (target == TEMPER_LORA_Q || target == TEMPER_LORA_K);
}

temper_adapter_t *
temper_lora_load_gguf (const char *path, const TemperModelConfig *config, const char *arch_name,
                       TemperLoraConfig *config_out, GError **error)
{
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(TemperLoraImport) imp = NULL;
  g_autofree char *type = NULL, *arch = NULL, *adapter_type = NULL;
  g_autofree gint64 *index = NULL;   /* per layer and module: A's tensor, B's */
  TemperLoraModule modules[TEMPER_LORA_N_TARGETS];
  TemperLoraConfig lora;
  int n_modules;
  float alpha = 0.0f;
  guint64 n;

  g_return_val_if_fail (path != NULL && config != NULL, NULL);
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
  if (arch_name != NULL && g_strcmp0 (arch, arch_name) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” is an adapter for a %s model, but the model is %s."),
                   path, arch != NULL ? arch : "(unnamed)", arch_name);
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
        if (modules[m].n_parts == 1 && temper_lora_gguf_needs_permutation (config, modules[m].parts[0]))
          temper_lora_permute_rows (b, (int) vb.ne[1], rank, config->head_dim, TRUE);
        if (!temper_lora_import_add (imp, l, &modules[m], rank, a, b, alpha > 0.0f ? alpha / (float) rank : 1.0f,
                                     path, error))
          return NULL;
      }
  temper_lora_config_init_default (&lora);
  lora.use_rslora = FALSE;
  adapter = temper_lora_import_finish (imp, FALSE, &lora.rank, &lora.alpha, &lora.targets, path, error);
  if (adapter != NULL && config_out != NULL)
    *config_out = lora;
  return g_steal_pointer (&adapter);
}
