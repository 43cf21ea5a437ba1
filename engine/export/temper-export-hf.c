/* SPDX-License-Identifier: MIT */
/* temper-export-hf.c — the base model with an adapter merged in, as a
 * Hugging Face folder for transformers. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper/safetensors.h"
#include "temper-export-private.h"

#define DEFAULT_SHARD_BYTES (G_GUINT64_CONSTANT (5) * 1000 * 1000 * 1000)

static gboolean
is_float_dtype (const char *dtype)
{
  return strcmp (dtype, "F32") == 0 || strcmp (dtype, "F16") == 0 || strcmp (dtype, "BF16") == 0;
}

static gboolean
copy_file (const char *from, const char *to, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize len;

  if (!g_file_get_contents (from, &data, &len, &local))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("Could not read “%s”: %s"), from,
                   local->message);
      return FALSE;
    }
  if (!g_file_set_contents (to, data, (gssize) len, &local))
    {
      temper_set_error_from_errno (error, local->code == G_FILE_ERROR_NOSPC ? ENOSPC : EIO,
                                   _("Could not write “%s”"), to);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_json (JsonNode *root, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  /* Strict readers (Python's json) refuse what json-glib leaves raw. */
  text = temper_json_to_text (root, TRUE, NULL);
  if (!g_file_set_contents (path, text, -1, &local))
    {
      temper_set_error_from_errno (error, local->code == G_FILE_ERROR_NOSPC ? ENOSPC : EIO,
                                   _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

/* config.json with its dtype set to what the weights now are. */
static gboolean
write_config (const char *src_dir, const char *dst_dir, TemperExportHfDtype dtype, GError **error)
{
  g_autofree char *src = g_build_filename (src_dir, "config.json", NULL);
  g_autofree char *dst = g_build_filename (dst_dir, "config.json", NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local = NULL;
  const char *name = dtype == TEMPER_EXPORT_HF_BF16 ? "bfloat16" : "float32";
  JsonObject *obj;

  root = temper_json_parse_file (src, TEMPER_JSON_MAX_SETTINGS_SIZE, &local);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is not a JSON object."), src);
      return FALSE;
    }
  obj = json_node_get_object (root);
  /* transformers 5 reads "dtype", 4.x "torch_dtype". */
  if (json_object_has_member (obj, "dtype") || !json_object_has_member (obj, "torch_dtype"))
    json_object_set_string_member (obj, "dtype", name);
  if (json_object_has_member (obj, "torch_dtype"))
    json_object_set_string_member (obj, "torch_dtype", name);
  return write_json (root, dst, error);
}

/* Everything small that describes the model: tokenizer, templates, configs.
 * Weights (ours replace them) and adapter files stay behind. */
static gboolean
copy_side_files (const char *src_dir, const char *dst_dir, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open (src_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (src_dir, name, NULL);
      g_autofree char *to = g_build_filename (dst_dir, name, NULL);

      if (!g_file_test (from, G_FILE_TEST_IS_REGULAR) || strcmp (name, "config.json") == 0 ||
          g_str_has_suffix (name, ".safetensors") || g_str_has_prefix (name, "model.safetensors") ||
          g_str_has_prefix (name, "adapter_") || g_str_has_suffix (name, ".bin") ||
          g_str_has_suffix (name, ".gguf") || g_str_has_suffix (name, ".pt") ||
          g_str_has_suffix (name, ".pth"))
        continue;
      if (!(g_str_has_suffix (name, ".json") || g_str_has_suffix (name, ".jinja") ||
            g_str_has_suffix (name, ".txt") || g_str_has_suffix (name, ".model") ||
            g_str_has_suffix (name, ".md")))
        continue;
      if (!copy_file (from, to, error))
        return FALSE;
    }
  return TRUE;
}

/* The tensor @info of @model, merged with @adapter when adapted, in @dtype.
 * Returns a new buffer of *@n_bytes bytes. */
static guint8 *
convert_tensor (const temper_safetensors_t *st, const TemperSafetensorsInfo *info,
                const TemperModelConfig *config, temper_adapter_t *adapter, const char *dtype,
                gsize *n_bytes, GError **error)
{
  TemperTensorView v;
  TemperLoraModule module;
  int layer;
  gsize n;
  float *f32;
  guint8 *out;
  gboolean adapted;

  adapted = adapter != NULL && temper_export_find_module (config, info->name, FALSE, &layer, &module) &&
            temper_lora_module_n_trained (&module, temper_adapter_get_targets (adapter)) > 0;
  if (!is_float_dtype (info->dtype) || strcmp (info->dtype, dtype) == 0)
    {
      if (!adapted)
        {
          *n_bytes = info->n_bytes;
          return g_memdup2 (info->data, MAX (info->n_bytes, 1));
        }
    }
  if (!temper_safetensors_get_view (st, info->name, &v, error))
    return NULL;
  n = (gsize) (v.ne[0] * v.ne[1]);
  f32 = g_try_new (float, MAX (n, 1));
  if (f32 == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to convert tensor %s."), info->name);
      return NULL;
    }
  /* A Hugging Face base keeps HF row order, and so do its adapter's B rows. */
  if (adapted)
    temper_export_merge_module (&v, adapter, config, layer, &module, f32);
  else
    for (int64_t r = 0; r < v.ne[1]; r++)
      temper_tensor_row_to_f32 (&v, r, f32 + r * v.ne[0]);
  if (strcmp (dtype, "F32") == 0)
    {
      *n_bytes = n * 4;
      return (guint8 *) f32;
    }
  out = g_malloc (MAX (n * 2, 1));
  for (gsize i = 0; i < n; i++)
    ((guint16 *) out)[i] = temper_f32_to_bf16 (f32[i]);
  g_free (f32);
  *n_bytes = n * 2;
  return out;
}

static guint64
converted_size (const TemperSafetensorsInfo *info, const char *dtype)
{
  if (!is_float_dtype (info->dtype))
    return info->n_bytes;
  return info->n_bytes / temper_safetensors_dtype_size (info->dtype) *
         temper_safetensors_dtype_size (dtype);
}

static gboolean
write_weights (const temper_model_t *model, temper_adapter_t *adapter, const char *dtype,
               guint64 max_shard_bytes, const char *dir, const TemperExportOptions *options,
               GError **error)
{
  g_autofree char *index_path = g_build_filename (temper_model_get_path (model),
                                                  "model.safetensors.index.json", NULL);
  g_autofree char *single_path = g_build_filename (temper_model_get_path (model),
                                                   "model.safetensors", NULL);
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autofree guint *shard_of = NULL;
  g_autoptr(JsonBuilder) index = json_builder_new ();
  g_autoptr(JsonNode) index_root = NULL;
  guint n, n_shards = 1, done = 0;
  guint64 shard_size = 0, total = 0;

  st = temper_safetensors_open (g_file_test (index_path, G_FILE_TEST_EXISTS) ? index_path
                                                                           : single_path, error);
  if (st == NULL)
    return FALSE;
  n = temper_safetensors_get_n_tensors (st);
  shard_of = g_new0 (guint, MAX (n, 1));
  /* Plan the shards first: their count is part of every file name. */
  for (guint i = 0; i < n; i++)
    {
      TemperSafetensorsInfo info;
      guint64 size;

      temper_safetensors_get_info (st, temper_safetensors_get_name (st, i), &info);
      size = converted_size (&info, dtype);
      if (shard_size > 0 && shard_size + size > max_shard_bytes)
        n_shards++, shard_size = 0;
      shard_of[i] = n_shards - 1;
      shard_size += size;
      total += size;
    }

  json_builder_begin_object (index);
  json_builder_set_member_name (index, "metadata");
  json_builder_begin_object (index);
  json_builder_set_member_name (index, "total_size");
  json_builder_add_int_value (index, (gint64) total);
  json_builder_end_object (index);
  json_builder_set_member_name (index, "weight_map");
  json_builder_begin_object (index);

  for (guint s = 0; s < n_shards; s++)
    {
      g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
      g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *file = n_shards == 1
        ? g_strdup ("model.safetensors")
        : g_strdup_printf ("model-%05u-of-%05u.safetensors", s + 1, n_shards);
      g_autofree char *path = g_build_filename (dir, file, NULL);

      for (guint i = 0; i < n; i++)
        {
          TemperSafetensorsInfo info;
          gsize n_bytes = 0;
          guint8 *data;
          const char *out_dtype;

          if (shard_of[i] != s)
            continue;
          if (!temper_export_step (options, 0.95 * done++ / MAX (n, 1), error))
            return FALSE;
          temper_safetensors_get_info (st, temper_safetensors_get_name (st, i), &info);
          out_dtype = is_float_dtype (info.dtype) ? dtype : info.dtype;
          data = convert_tensor (st, &info, temper_model_get_config (model), adapter, out_dtype,
                                 &n_bytes, error);
          if (data == NULL)
            return FALSE;
          g_ptr_array_add (owned, data);
          temper_safetensors_writer_add_tensor_static (w, info.name, out_dtype, info.shape,
                                                       info.n_dims, data, n_bytes);
          json_builder_set_member_name (index, info.name);
          json_builder_add_string_value (index, file);
        }
      if (!temper_safetensors_writer_write (w, path, error))
        return FALSE;
    }
  json_builder_end_object (index);
  json_builder_end_object (index);
  index_root = json_builder_get_root (index);
  if (n_shards > 1)
    {
      g_autofree char *path = g_build_filename (dir, "model.safetensors.index.json", NULL);
      if (!write_json (index_root, path, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
temper_export_merged_hf (const temper_model_t *model, temper_adapter_t *adapter,
                         TemperExportHfDtype dtype, guint64 max_shard_bytes,
                         const char *requested_dir, const TemperExportOptions *options,
                         GError **error)
{
  g_autofree char *temp = NULL, *out_dir = NULL;
  g_autoptr(GError) local = NULL;
  const char *src = temper_model_get_path (model);

  const char *dtype_name = dtype == TEMPER_EXPORT_HF_BF16 ? "BF16" : "F32";
  gboolean from_gguf;
  gboolean ok;

  g_return_val_if_fail (model != NULL && requested_dir != NULL, FALSE);
  from_gguf = temper_model_get_format (model) != TEMPER_MODEL_FORMAT_HF_FOLDER;
  if (!temper_export_merge_supported (model, TEMPER_EXPORT_MERGED_HF, error))
    return FALSE;
  if (max_shard_bytes == 0)
    max_shard_bytes = DEFAULT_SHARD_BYTES;
  out_dir = temper_export_prepare_dest (requested_dir, TEMPER_EXPORT_KIND_HF, error);
  if (out_dir == NULL || !temper_export_step (options, 0.0, error))
    return FALSE;
  temp = temper_export_temp_path (out_dir);
  if (g_mkdir (temp, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create “%s”"), out_dir);
      return FALSE;
    }
  /* A GGUF base has no folder to copy config and tokenizer from: they are
   * rebuilt from its metadata. */
  if (from_gguf)
    ok = temper_export_hf_files_from_gguf (model, adapter, dtype_name, max_shard_bytes, temp,
                                           options, &local);
  else
    ok = write_config (src, temp, dtype, &local) && copy_side_files (src, temp, &local) &&
         write_weights (model, adapter, dtype_name, max_shard_bytes, temp, options, &local);
  if (!ok || !temper_export_step (options, 1.0, &local))
    {
      temper_export_discard (temp);
      if (!g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
        temper_export_explain_error (&local, _("the merged model"), out_dir);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return temper_export_commit (temp, out_dir, TEMPER_EXPORT_KIND_HF, error);
}
