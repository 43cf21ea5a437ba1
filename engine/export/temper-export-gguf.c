/* SPDX-License-Identifier: MIT */
/* temper-export-gguf.c — the base model with an adapter merged in, as one
 * GGUF file for llama.cpp and Ollama. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper-export-private.h"

const char *
temper_export_quant_name (TemperExportQuant quant)
{
  switch (quant)
    {
    case TEMPER_EXPORT_F16: return "f16";
    case TEMPER_EXPORT_Q8_0: return "q8_0";
    case TEMPER_EXPORT_Q4_K_M: return "q4_k_m";
    default: g_assert_not_reached ();
    }
}

gboolean
temper_export_quant_parse (const char *text, TemperExportQuant *quant, GError **error)
{
  for (int q = TEMPER_EXPORT_F16; q <= TEMPER_EXPORT_Q4_K_M; q++)
    if (text != NULL && g_ascii_strcasecmp (text, temper_export_quant_name ((TemperExportQuant) q)) == 0)
      {
        *quant = (TemperExportQuant) q;
        return TRUE;
      }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("Unknown quantization “%s”: use f16, q8_0 or q4_k_m."), text != NULL ? text : "");
  return FALSE;
}

#define Q5_0_BLOCK_BYTES 22

/* Q5_0 as ggml's reference quantizer makes it: the element of largest
 * magnitude, with its sign, maps to −16; the fifth bits go to qh.  Q4_K_M
 * falls back to it, as llama.cpp does, for rows that are not whole K-quant
 * super-blocks (e.g. SmolLM2's 576-wide rows). */
static void
quantize_row_q5_0 (const float *x, int64_t n, guint8 *dst)
{
  for (int64_t b = 0; b < n / 32; b++, x += 32, dst += Q5_0_BLOCK_BYTES)
    {
      float amax = 0.0f, max = 0.0f, d, id;
      guint32 qh = 0;
      guint16 dh;

      for (int j = 0; j < 32; j++)
        if (fabsf (x[j]) > amax)
          {
            amax = fabsf (x[j]);
            max = x[j];
          }
      d = max / -16.0f;
      id = d != 0.0f ? 1.0f / d : 0.0f;
      dh = temper_f32_to_f16 (d);
      memcpy (dst, &dh, 2);
      for (int j = 0; j < 16; j++)
        {
          int q0 = MIN (31, (int) (gint8) (x[j] * id + 16.5f));
          int q1 = MIN (31, (int) (gint8) (x[j + 16] * id + 16.5f));

          dst[6 + j] = (guint8) ((q0 & 0x0f) | ((q1 & 0x0f) << 4));
          qh |= (guint32) ((q0 & 0x10) >> 4) << j;
          qh |= (guint32) ((q1 & 0x10) >> 4) << (j + 16);
        }
      dst[2] = (guint8) qh, dst[3] = (guint8) (qh >> 8);
      dst[4] = (guint8) (qh >> 16), dst[5] = (guint8) (qh >> 24);
    }
}

void
temper_export_quantize_row (int type, const float *x, int64_t n, guint8 *dst)
{
  if (type == TEMPER_TYPE_Q5_0)
    quantize_row_q5_0 (x, n, dst);
  else
    temper_quantize_row (type, x, n, dst);
}

/* llama_ftype values (FORMATS.md §1.4). */
guint32
temper_export_gguf_file_type (TemperExportQuant quant)
{
  switch (quant)
    {
    case TEMPER_EXPORT_F16: return 1;
    case TEMPER_EXPORT_Q8_0: return 7;
    case TEMPER_EXPORT_Q4_K_M: return 15;
    default: g_assert_not_reached ();
    }
}

int
temper_export_gguf_tensor_type (TemperExportQuant quant, const char *name, int n_dims,
                                int64_t ne0, gboolean has_output)
{
  gboolean is_output = strcmp (name, "output.weight") == 0 ||
                       (!has_output && strcmp (name, "token_embd.weight") == 0);
  int type;

  /* llama.cpp keeps a mixture of experts' router in F32 too. */
  if (n_dims < 2 || g_str_has_suffix (name, "_norm.weight") || g_str_has_suffix (name, ".bias") ||
      g_str_has_suffix (name, ".ffn_gate_inp.weight"))
    return TEMPER_TYPE_F32;
  switch (quant)
    {
    case TEMPER_EXPORT_F16:
      return TEMPER_TYPE_F16;
    case TEMPER_EXPORT_Q8_0:
      type = TEMPER_TYPE_Q8_0;
      break;
    case TEMPER_EXPORT_Q4_K_M:
      type = is_output || g_str_has_suffix (name, ".attn_v.weight") ||
             g_str_has_suffix (name, ".ffn_down.weight") ? TEMPER_TYPE_Q6_K : TEMPER_TYPE_Q4_K;
      /* K-quants need rows of whole 256-element super-blocks; llama.cpp
       * falls back to Q5_0 for Q4_K and to Q8_0 for Q6_K. */
      if (ne0 % 256 != 0)
        type = type == TEMPER_TYPE_Q4_K ? TEMPER_TYPE_Q5_0 : TEMPER_TYPE_Q8_0;
      break;
    default:
      g_assert_not_reached ();
    }
  return ne0 % (int64_t) temper_type_block_elems (type) == 0 ? type : TEMPER_TYPE_F16;
}

/* Copies one metadata key whose value the writer can express with the same
 * type, so llama.cpp's exact type checks still pass.  Returns FALSE for
 * types it cannot (8/16-bit, 64-bit signed and float, arrays of those): none
 * of them is read by llama.cpp for the llama and qwen2 architectures. */
static gboolean
copy_key (temper_gguf_writer_t *w, const temper_gguf_t *src, const char *key)
{
  TemperGgufValueType type, elem;
  guint64 count;

  if (!temper_gguf_get_value_type (src, key, &type))
    return FALSE;
  switch (type)
    {
    case TEMPER_GGUF_UINT32:
      {
        guint32 v;
        if (!temper_gguf_get_u32 (src, key, &v))
          return FALSE;
        temper_gguf_writer_set_u32 (w, key, v);
        return TRUE;
      }
    case TEMPER_GGUF_INT32:
    case TEMPER_GGUF_UINT64:
      {
        gint64 v;
        if (!temper_gguf_get_i64 (src, key, &v))
          return FALSE;
        if (type == TEMPER_GGUF_INT32)
          temper_gguf_writer_set_i32 (w, key, (gint32) v);
        else
          temper_gguf_writer_set_u64 (w, key, (guint64) v);
        return TRUE;
      }
    case TEMPER_GGUF_FLOAT32:
      {
        float v;
        if (!temper_gguf_get_f32 (src, key, &v))
          return FALSE;
        temper_gguf_writer_set_f32 (w, key, v);
        return TRUE;
      }
    case TEMPER_GGUF_BOOL:
      {
        gboolean v;
        if (!temper_gguf_get_bool (src, key, &v))
          return FALSE;
        temper_gguf_writer_set_bool (w, key, v);
        return TRUE;
      }
    case TEMPER_GGUF_STRING:
      {
        g_autofree char *v = temper_gguf_dup_string (src, key);
        if (v == NULL)
          return FALSE;
        temper_gguf_writer_set_string (w, key, v);
        return TRUE;
      }
    case TEMPER_GGUF_ARRAY:
      if (!temper_gguf_get_array_info (src, key, &elem, &count))
        return FALSE;
      if (elem == TEMPER_GGUF_STRING)
        {
          g_autoptr(GPtrArray) strings = g_ptr_array_new_full ((guint) count, g_free);

          for (guint64 i = 0; i < count; i++)
            {
              TemperGgufString s = temper_gguf_get_array_string (src, key, i);
              g_ptr_array_add (strings, g_strndup (s.data, s.len));
            }
          temper_gguf_writer_set_string_array (w, key, (const char *const *) strings->pdata,
                                               strings->len);
          return TRUE;
        }
      if (elem == TEMPER_GGUF_FLOAT32 || elem == TEMPER_GGUF_INT32)
        {
          g_autofree guint32 *v = g_new (guint32, MAX (count, 1));

          memcpy (v, temper_gguf_get_array_data (src, key), count * 4);
          if (elem == TEMPER_GGUF_FLOAT32)
            temper_gguf_writer_set_f32_array (w, key, (const float *) v, count);
          else
            temper_gguf_writer_set_i32_array (w, key, (const gint32 *) v, count);
          return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

/* The tensors and metadata of a GGUF base, copied (merged where the
 * adapter applies) into @w.  Unchanged tensors point into @src's mapping, so
 * @src must outlive the write. */
static gboolean
build_from_gguf (temper_gguf_writer_t *w, const temper_gguf_t *src, const temper_model_t *model,
                 temper_adapter_t *adapter, TemperExportQuant quant, GPtrArray *owned,
                 const char *out_path, const TemperExportOptions *options, GError **error)
{
  gboolean has_output;
  guint64 n_tensors, n_kv;

  n_kv = temper_gguf_get_n_kv (src);
  for (guint64 i = 0; i < n_kv; i++)
    {
      const char *key = temper_gguf_get_key (src, i);

      if (strcmp (key, "general.file_type") == 0 || strcmp (key, "general.alignment") == 0 ||
          strcmp (key, "general.quantization_version") == 0)
        continue;
      copy_key (w, src, key);
    }
  temper_gguf_writer_set_u32 (w, "general.file_type", temper_export_gguf_file_type (quant));
  temper_gguf_writer_set_u32 (w, "general.quantization_version", 2);

  has_output = temper_gguf_find_tensor (src, "output.weight", &(TemperTensorView) { 0 });
  n_tensors = temper_gguf_get_n_tensors (src);
  for (guint64 i = 0; i < n_tensors; i++)
    {
      TemperTensorView v;
      TemperLoraModule module;
      int64_t ne[4];
      guint32 n_dims;
      guint64 n_bytes;
      int layer = -1, type;
      gboolean adapted;
      gsize row_bytes;
      guint8 *dst;
      g_autofree float *f32 = NULL;

      if (!temper_export_step (options, 0.95 * (double) i / (double) n_tensors, error))
        return FALSE;
      temper_gguf_get_tensor (src, i, &v);
      temper_gguf_get_tensor_shape (src, i, ne, &n_dims, &n_bytes);
      adapted = adapter != NULL &&
                temper_export_find_module (temper_model_get_config (model), v.name, TRUE, &layer, &module) &&
                temper_lora_module_n_trained (&module, temper_adapter_get_targets (adapter)) > 0;
      type = temper_export_gguf_tensor_type (quant, v.name, (int) n_dims, ne[0], has_output);
      if (!adapted && type == v.type)
        {
          temper_gguf_writer_add_tensor_static (w, v.name, v.type, ne, (int) n_dims, v.data,
                                                (gsize) n_bytes);
          continue;
        }
      if (temper_type_block_elems (v.type) == 0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s”: tensor %s is stored as type %d, which Temper cannot convert."),
                       temper_model_get_path (model), v.name, v.type);
          return FALSE;
        }
      /* The model file is in the GGUF's own row order, and so are the
       * adapter's B rows for a GGUF base: merge without reordering. */
      f32 = g_try_new (float, (gsize) (v.ne[0] * v.ne[1]));
      row_bytes = temper_type_row_bytes (type, v.ne[0]);
      dst = g_try_malloc (MAX (row_bytes * (gsize) v.ne[1], 1));
      if (f32 == NULL || dst == NULL)
        {
          g_free (dst);
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                       _("Not enough memory to convert tensor %s for “%s”."), v.name, out_path);
          return FALSE;
        }
      g_ptr_array_add (owned, dst);
      if (adapted)
        temper_export_merge_module (&v, adapter, temper_model_get_config (model), layer, &module, f32);
      else
        for (int64_t r = 0; r < v.ne[1]; r++)
          temper_tensor_row_to_f32 (&v, r, f32 + r * v.ne[0]);
      for (int64_t r = 0; r < v.ne[1]; r++)
        temper_export_quantize_row (type, f32 + r * v.ne[0], v.ne[0], dst + (gsize) r * row_bytes);
      temper_gguf_writer_add_tensor_static (w, v.name, type, ne, (int) n_dims, dst,
                                            row_bytes * (gsize) v.ne[1]);
    }
  return TRUE;
}

gboolean
temper_export_merged_gguf (const temper_model_t *model, temper_adapter_t *adapter,
                           TemperExportQuant quant, const char *requested_path,
                           const TemperExportOptions *options, GError **error)
{
  g_autofree char *out_path = NULL;
  g_autoptr(temper_gguf_t) src = NULL;
  g_autoptr(temper_gguf_writer_t) w = NULL;
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *temp = NULL;
  gboolean built;

  g_return_val_if_fail (model != NULL && requested_path != NULL, FALSE);
  if (!temper_export_merge_supported (model, TEMPER_EXPORT_MERGED_GGUF, error))
    return FALSE;
  out_path = temper_export_prepare_dest (requested_path, TEMPER_EXPORT_KIND_GGUF, error);
  if (out_path == NULL)
    return FALSE;
  w = temper_gguf_writer_new ();
  if (temper_model_get_format (model) == TEMPER_MODEL_FORMAT_GGUF)
    {
      src = temper_gguf_open (temper_model_get_path (model), error);
      if (src == NULL)
        return FALSE;
      built = build_from_gguf (w, src, model, adapter, quant, owned, out_path, options, error);
    }
  else
    built = temper_export_gguf_from_hf (w, model, adapter, quant, owned, out_path, options, error);
  if (!built)
    return FALSE;
  temper_gguf_writer_set_string (w, TEMPER_EXPORT_GGUF_KEY,
                                 temper_export_kind_name (TEMPER_EXPORT_KIND_GGUF));

  temp = temper_export_temp_path (out_path);
  if (!temper_gguf_writer_write (w, temp, error))
    {
      temper_export_discard (temp);
      temper_export_explain_error (error, _("the merged model"), out_path);
      return FALSE;
    }
  if (!temper_export_step (options, 1.0, error))
    {
      temper_export_discard (temp);
      return FALSE;
    }
  return temper_export_commit (temp, out_path, TEMPER_EXPORT_KIND_GGUF, error);
}
