/* SPDX-License-Identifier: MIT */
/* temper-lora-peft.c — LoRA adapters in PEFT's on-disk format.
 *
 * adapter_config.json + adapter_model.safetensors, with PEFT's tensor names
 * and shapes, so the folder loads in PEFT/transformers and in llama.cpp's
 * converter.  Weights go through engine/model's safetensors reader and
 * writer; F16/BF16 adapters are widened to fp32 when read. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper/json.h"
#include "temper/safetensors.h"
#include "temper/tensor.h"
#include "temper-lora-private.h"
#include "temper-train-json.h"

/* The module's name in transformers: "model.layers.3.self_attn.q_proj"
 * ("model.language_model.layers.3…" in a model of text and images; before
 * transformers 4.52 that was "language_model.model.layers.3…", as adapters
 * made then name it: @older picks it). */
static char *
peft_module_name (const TemperModelConfig *model, int layer, const TemperLoraModule *module, gboolean older)
{
  return g_strdup_printf ("%slayers.%d.%s.%s",
                          older ? "language_model.model." : temper_model_config_hf_module_prefix (model), layer,
                          module->attention ? "self_attn" : "mlp", module->peft_name);
}

static char *
peft_tensor_name (const TemperModelConfig *model, int layer, const TemperLoraModule *module, gboolean is_b,
                  gboolean older)
{
  g_autofree char *module_name = peft_module_name (model, layer, module, older);

  return g_strdup_printf ("base_model.model.%s.lora_%c.weight", module_name, is_b ? 'B' : 'A');
}

/* The modules a PEFT folder names: the family's fused matrices for an
 * export, Temper's separate targets for its own run folders. */
static int
peft_modules (const TemperModelConfig *model, gboolean fused, TemperLoraModule modules[TEMPER_LORA_N_TARGETS])
{
  TemperModelConfig separate = *model;

  if (fused)
    return temper_lora_modules (model, modules);
  separate.fused_qkv = separate.fused_gate_up = FALSE;
  return temper_lora_modules (&separate, modules);
}

/* Writes through a temporary name so that a reader never sees half a file. */
static gboolean
write_safetensors_atomically (temper_safetensors_writer_t *w, const char *path, GError **error)
{
  g_autofree char *tmp = g_strconcat (path, ".partial", NULL);

  if (!temper_safetensors_writer_write (w, tmp, error))
    return FALSE;
  if (!temper_fs_rename (tmp, path, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

/* llama-arch GGUF models keep llama.cpp's interleaved q/k rows; PEFT files
 * are always in Hugging Face order.  GLM-4 rotates interleaved pairs in
 * both, so its rows are never reordered. */
static gboolean
needs_qk_permutation (const TemperModelConfig *config, TemperLoraTarget target)
{
  return config->rope_layout == TEMPER_ROPE_INTERLEAVED && config->arch == TEMPER_ARCH_LLAMA &&
         (target == TEMPER_LORA_Q || target == TEMPER_LORA_K);
}

/* ---- writing ------------------------------------------------------------- */

static gboolean
write_json_file (JsonNode *root, const char *path, GError **error)
{
  gsize len = 0;
  g_autofree char *text = temper_train_json_to_data (root, TRUE, &len);

  if (!temper_fs_write_file (path, text, (gssize) len, error))
    {
      g_prefix_error (error, _("Could not save the adapter: "));
      return FALSE;
    }
  return TRUE;
}

/* A fused module of n trained parts has rank n·r; its α keeps PEFT's scale
 * α/r (α/√r with rsLoRA) the parts were trained with. */
static void
add_patterns (JsonBuilder *b, temper_adapter_t *adapter, const TemperLoraModule *modules,
              int n_modules, gboolean rank)
{
  guint targets = temper_adapter_get_targets (adapter);
  float alpha = temper_adapter_get_alpha (adapter);

  json_builder_begin_object (b);
  for (int m = 0; m < n_modules; m++)
    {
      int n = temper_lora_module_n_trained (&modules[m], targets);

      if (n < 2)
        continue;
      json_builder_set_member_name (b, modules[m].peft_name);
      if (rank)
        json_builder_add_int_value (b, n * temper_adapter_get_rank (adapter));
      else
        json_builder_add_double_value (b, temper_train_json_float (
          temper_adapter_get_rslora (adapter) ? alpha * sqrtf ((float) n) : alpha * (float) n));
    }
  json_builder_end_object (b);
}

static JsonNode *
adapter_config_json (temper_adapter_t *adapter, const TemperModelConfig *model, float dropout,
                     const char *base_model_name, const TemperLoraModule *modules, int n_modules)
{
  guint targets = temper_adapter_get_targets (adapter);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "peft_type");
  json_builder_add_string_value (b, "LORA");
  json_builder_set_member_name (b, "task_type");
  json_builder_add_string_value (b, "CAUSAL_LM");
  json_builder_set_member_name (b, "base_model_name_or_path");
  if (base_model_name != NULL)
    json_builder_add_string_value (b, base_model_name);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "r");
  json_builder_add_int_value (b, temper_adapter_get_rank (adapter));
  json_builder_set_member_name (b, "lora_alpha");
  json_builder_add_double_value (b, temper_train_json_float (temper_adapter_get_alpha (adapter)));
  json_builder_set_member_name (b, "lora_dropout");
  json_builder_add_double_value (b, temper_train_json_float (dropout));
  json_builder_set_member_name (b, "target_modules");
  if (model->hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM)
    {
      /* The image tower of a model of text and images has modules of the
       * same names (q_proj, …): a pattern keeps PEFT on the text model. */
      g_autoptr(GString) pattern = g_string_new (".*language_model.*\\.(");

      for (int m = 0, n = 0; m < n_modules; m++)
        if (temper_lora_module_n_trained (&modules[m], targets) > 0)
          g_string_append_printf (pattern, "%s%s", n++ > 0 ? "|" : "", modules[m].peft_name);
      g_string_append_c (pattern, ')');
      json_builder_add_string_value (b, pattern->str);
    }
  else
    {
      json_builder_begin_array (b);
      for (int m = 0; m < n_modules; m++)
        if (temper_lora_module_n_trained (&modules[m], targets) > 0)
          json_builder_add_string_value (b, modules[m].peft_name);
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "bias");
  json_builder_add_string_value (b, "none");
  json_builder_set_member_name (b, "fan_in_fan_out");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "use_rslora");
  json_builder_add_boolean_value (b, temper_adapter_get_rslora (adapter));
  json_builder_set_member_name (b, "use_dora");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "modules_to_save");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "init_lora_weights");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "inference_mode");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "rank_pattern");
  add_patterns (b, adapter, modules, n_modules, TRUE);
  json_builder_set_member_name (b, "alpha_pattern");
  add_patterns (b, adapter, modules, n_modules, FALSE);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
save_peft (temper_adapter_t *adapter, const TemperModelConfig *model, float dropout,
           const char *dir, const char *base_model_name, gboolean fused, GError **error)
{
  g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonNode) config_root = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *weights_path = NULL;
  TemperLoraModule modules[TEMPER_LORA_N_TARGETS];
  int n_modules;

  g_return_val_if_fail (adapter != NULL && model != NULL && dir != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not create the adapter folder “%s”"), dir);
      return FALSE;
    }

  n_modules = peft_modules (model, fused, modules);
  for (int l = 0; l < model->n_layer; l++)
    for (int m = 0; m < n_modules; m++)
      {
        const TemperLoraModule *module = &modules[m];
        TemperLoraTarget t = module->parts[0];
        const float *a, *b;
        g_autofree char *a_name = NULL;
        g_autofree char *b_name = NULL;
        int64_t a_shape[2], b_shape[2];
        int in, out, rank = temper_adapter_get_rank (adapter);

        if (module->n_parts > 1)
          {
            float *fused_a, *fused_b;

            rank = temper_lora_module_fuse (adapter, model, l, module, 1.0f, &fused_a, &fused_b, &in, &out);
            if (rank == 0)
              continue;
            g_ptr_array_add (owned, fused_a);
            g_ptr_array_add (owned, fused_b);
            a = fused_a;
            b = fused_b;
          }
        else
          {
            a = temper_adapter_get_a (adapter, l, t);
            b = temper_adapter_get_b (adapter, l, t);
            if (a == NULL)
              continue;
            temper_lora_target_dims (model, t, &in, &out);
            if (needs_qk_permutation (model, t))
              {
                float *copy = g_memdup2 (b, (gsize) out * (gsize) rank * sizeof (float));

                temper_lora_permute_rows (copy, out, rank, model->head_dim, TRUE);
                g_ptr_array_add (owned, copy);
                b = copy;
              }
          }
        a_shape[0] = rank;
        a_shape[1] = in;
        b_shape[0] = out;
        b_shape[1] = rank;
        a_name = peft_tensor_name (model, l, module, FALSE, FALSE);
        b_name = peft_tensor_name (model, l, module, TRUE, FALSE);
        temper_safetensors_writer_add_tensor_static (w, a_name, "F32", a_shape, 2, a,
                                                     (gsize) rank * (gsize) in * sizeof (float));
        temper_safetensors_writer_add_tensor_static (w, b_name, "F32", b_shape, 2, b,
                                                     (gsize) rank * (gsize) out * sizeof (float));
      }

  weights_path = g_build_filename (dir, "adapter_model.safetensors", NULL);
  if (!write_safetensors_atomically (w, weights_path, error))
    {
      g_prefix_error (error, _("Could not save the adapter: "));
      return FALSE;
    }

  config_root = adapter_config_json (adapter, model, dropout, base_model_name, modules, n_modules);
  config_path = g_build_filename (dir, "adapter_config.json", NULL);
  return write_json_file (config_root, config_path, error);
}

gboolean
temper_lora_save_peft (temper_adapter_t *adapter, const TemperModelConfig *model,
                       float dropout, const char *dir, const char *base_model_name,
                       GError **error)
{
  return save_peft (adapter, model, dropout, dir, base_model_name, FALSE, error);
}

gboolean
temper_lora_export_peft (temper_adapter_t *adapter, const TemperModelConfig *model,
                         float dropout, const char *dir, const char *base_model_name,
                         GError **error)
{
  return save_peft (adapter, model, dropout, dir, base_model_name, TRUE, error);
}

/* ---- reading ------------------------------------------------------------- */

/* The modules a PEFT folder may name on this model: the family's own
 * matrices (Phi-3's qkv_proj, as PEFT adapts them) and Temper's separate
 * projections (its run folders). */
static int
candidate_modules (const TemperModelConfig *model, TemperLoraModule out[2 * TEMPER_LORA_N_TARGETS])
{
  TemperLoraModule separate[TEMPER_LORA_N_TARGETS];
  int n = peft_modules (model, TRUE, out), n_separate = peft_modules (model, FALSE, separate);

  for (int i = 0; i < n_separate; i++)
    {
      gboolean seen = FALSE;

      for (int j = 0; j < n && !seen; j++)
        seen = strcmp (out[j].peft_name, separate[i].peft_name) == 0;
      if (!seen)
        out[n++] = separate[i];
    }
  return n;
}

/* Which candidates target_modules names (a bit per candidate); a pattern
 * ("all-linear", a regular expression) or none leaves it to the tensors
 * the file holds (*@from_tensors). */
static gboolean
read_targets (JsonNode *node, const char *path, const TemperLoraModule *candidates, int n_candidates,
              guint *chosen, gboolean *from_tensors, GError **error)
{
  JsonArray *array;
  guint bits = 0;

  *from_tensors = node == NULL || !JSON_NODE_HOLDS_ARRAY (node);
  *chosen = (1u << n_candidates) - 1;
  if (*from_tensors)
    return TRUE;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *el = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_VALUE (el) && json_node_get_value_type (el) == G_TYPE_STRING
                         ? json_node_get_string (el) : NULL;
      int found = -1;

      for (int c = 0; c < n_candidates && name != NULL && found < 0; c++)
        if (strcmp (name, candidates[c].peft_name) == 0)
          found = c;
      if (found < 0)
        {
          g_autoptr(GString) names = g_string_new (NULL);

          for (int c = 0; c < n_candidates; c++)
            g_string_append_printf (names, "%s%s", c > 0 ? ", " : "", candidates[c].peft_name);
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("%s: target_modules lists “%s”, which Temper cannot adapt in this model "
                         "(it adapts %s)"), path, name != NULL ? name : "?", names->str);
          return FALSE;
        }
      bits |= 1u << found;
    }
  if (bits == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s: target_modules is empty"), path);
      return FALSE;
    }
  *chosen = bits;
  return TRUE;
}

static gboolean
object_is_empty_or_null (JsonObject *obj, const char *member)
{
  JsonNode *n = json_object_get_member (obj, member);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (JSON_NODE_HOLDS_OBJECT (n))
    return json_object_get_size (json_node_get_object (n)) == 0;
  if (JSON_NODE_HOLDS_ARRAY (n))
    return json_array_get_length (json_node_get_array (n)) == 0;
  return FALSE;
}

static const char *const value_members[] = {
  "peft_type", "use_dora", "bias", "r", "lora_alpha", "lora_dropout", "use_rslora",
};

static gboolean
read_adapter_config (const char *path, TemperLoraConfig *config, JsonNode **root_out, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("%s is missing: this folder does not hold a PEFT adapter"), path);
      return FALSE;
    }
  root = temper_json_parse_file (path, TEMPER_JSON_MAX_SETTINGS_SIZE, &local);
  if (root == NULL)
    {
      if (local->domain == JSON_PARSER_ERROR)
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                     _("%s is not valid JSON: %s"), path, local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s should hold a JSON object"), path);
      return FALSE;
    }
  obj = json_node_get_object (root);
  /* Settings read as plain values: a list or an object there is damage (and
   * json-glib's getters must not be called on it). */
  for (guint i = 0; i < G_N_ELEMENTS (value_members); i++)
    {
      JsonNode *member = json_object_get_member (obj, value_members[i]);

      if (member != NULL && !JSON_NODE_HOLDS_VALUE (member) && !JSON_NODE_HOLDS_NULL (member))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("%s is damaged: “%s” holds a list or an object instead of a value"),
                       path, value_members[i]);
          return FALSE;
        }
    }

  if (g_strcmp0 (json_object_get_string_member_with_default (obj, "peft_type", "LORA"),
                 "LORA") != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s describes a %s adapter; Temper reads LoRA adapters only"), path,
                   json_object_get_string_member (obj, "peft_type"));
      return FALSE;
    }
  if (json_object_get_boolean_member_with_default (obj, "use_dora", FALSE))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s is a DoRA adapter, which Temper does not support"), path);
      return FALSE;
    }
  if (g_strcmp0 (json_object_get_string_member_with_default (obj, "bias", "none"),
                 "none") != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s trains biases (bias is not “none”), which Temper does not support"),
                   path);
      return FALSE;
    }
  /* Per-module ranks and alphas (rank_pattern, alpha_pattern) are read
   * with the tensors. */
  if (!object_is_empty_or_null (obj, "layers_to_transform") ||
      !object_is_empty_or_null (obj, "modules_to_save"))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s adapts a subset of layers or trains extra modules, which Temper "
                     "does not support"), path);
      return FALSE;
    }

  temper_lora_config_init_default (config);
  config->rank = (int) json_object_get_int_member_with_default (obj, "r", 8);
  config->alpha = (float) json_object_get_double_member_with_default (obj, "lora_alpha", 8.0);
  config->dropout = (float) json_object_get_double_member_with_default (obj, "lora_dropout", 0.0);
  config->use_rslora = json_object_get_boolean_member_with_default (obj, "use_rslora", FALSE);
  *root_out = g_steal_pointer (&root);
  return TRUE;
}

/* The value of the first key of @member (rank_pattern, alpha_pattern) that
 * matches @module_name as PEFT matches them: the key, a regular expression,
 * matches the name's end after a dot; @fallback when none does. */
static double
pattern_value (JsonObject *obj, const char *member, const char *module_name, double fallback)
{
  JsonNode *node = json_object_get_member (obj, member);
  g_autoptr(GList) keys = NULL;
  JsonObject *patterns;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fallback;
  patterns = json_node_get_object (node);
  keys = json_object_get_members (patterns);
  for (GList *k = keys; k != NULL; k = k->next)
    {
      g_autofree char *regex = g_strdup_printf ("^(.*\\.)?(%s)$", (const char *) k->data);
      JsonNode *value = json_object_get_member (patterns, k->data);

      if (JSON_NODE_HOLDS_VALUE (value)
          && (json_node_get_value_type (value) == G_TYPE_INT64 || json_node_get_value_type (value) == G_TYPE_DOUBLE)
          && g_regex_match_simple (regex, module_name, 0, 0))
        return json_node_get_double (value);
    }
  return fallback;
}

/* Copies a 2-D tensor of the expected shape out of the safetensors file. */
static gboolean
read_tensor (temper_safetensors_t *st, const char *path, const char *name,
             gint64 rows, gint64 cols, float *out, GError **error)
{
  TemperSafetensorsInfo info;
  guint64 n = (guint64) rows * (guint64) cols;

  if (!temper_safetensors_get_info (st, name, &info))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s lacks the tensor %s that its adapter_config.json promises"), path, name);
      return FALSE;
    }
  if (info.n_dims != 2 || info.shape[0] != rows || info.shape[1] != cols)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s: tensor %s should have shape [%" PRId64 ", %" PRId64
                   "] for this model; the adapter was made for a different model or rank"),
                   path, name, rows, cols);
      return FALSE;
    }
  if (strcmp (info.dtype, "F32") == 0)
    memcpy (out, info.data, n * sizeof (float));
  else if (strcmp (info.dtype, "F16") == 0 || strcmp (info.dtype, "BF16") == 0)
    for (guint64 i = 0; i < n; i++)
      {
        guint16 h;

        memcpy (&h, (const char *) info.data + 2 * i, 2);
        h = GUINT16_FROM_LE (h);
        out[i] = info.dtype[0] == 'F' ? temper_f16_to_f32 (h) : temper_bf16_to_f32 (h);
      }
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s: tensor %s is stored as %s; Temper reads F32, F16 and BF16 adapters"),
                   path, name, info.dtype);
      return FALSE;
    }
  return TRUE;
}

/* Whether @name is a LoRA tensor of the image part of a model of text and
 * images: PEFT adapts the image tower too when target_modules is a list of
 * names; it does not change the text, which is all Temper runs. */
static gboolean
is_image_part (const TemperModelConfig *model, const char *name)
{
  return model->hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM
         && (strstr (name, ".vision_tower.") != NULL || strstr (name, ".multi_modal_projector.") != NULL);
}

/* Reads the LoRA of @module in @layer, if the file holds it (it must when
 * @required), into @imp. */
static gboolean
read_module (temper_safetensors_t *st, const char *path, JsonObject *config_obj,
             const TemperLoraConfig *config, const TemperModelConfig *model, int layer,
             const TemperLoraModule *module, gboolean required, TemperLoraImport *imp,
             guint *n_read, GError **error)
{
  g_autofree char *a_name = peft_tensor_name (model, layer, module, FALSE, FALSE);
  gboolean older = model->hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM && !temper_safetensors_get_info (st, a_name, NULL);
  g_autofree char *module_name = peft_module_name (model, layer, module, older);
  g_autofree char *b_name = peft_tensor_name (model, layer, module, TRUE, older);
  g_autofree float *a = NULL, *b = NULL;
  double rank_value = pattern_value (config_obj, "rank_pattern", module_name, config->rank);
  float alpha = (float) pattern_value (config_obj, "alpha_pattern", module_name, config->alpha);
  int in = 0, out = 0, part_out, rank;
  float scale;

  if (older)
    {
      g_free (a_name);
      a_name = peft_tensor_name (model, layer, module, FALSE, TRUE);
    }
  if (!required && !temper_safetensors_get_info (st, a_name, NULL))
    return TRUE;
  if (!(rank_value >= 1.0 && rank_value <= 1024.0) || !(alpha > 0.0f) || !isfinite (alpha))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s gives %s a rank of %g and an alpha of %g; the rank must be between 1 and "
                     "1024 and alpha positive"), path, module_name, rank_value, alpha);
      return FALSE;
    }
  rank = (int) rank_value;
  for (int p = 0; p < module->n_parts; p++)
    {
      temper_lora_target_dims (model, module->parts[p], &in, &part_out);
      out += part_out;
    }
  a = g_new (float, (gsize) rank * (gsize) in);
  b = g_new (float, (gsize) out * (gsize) rank);
  if (!read_tensor (st, path, a_name, rank, in, a, error) || !read_tensor (st, path, b_name, out, rank, b, error))
    return FALSE;
  if (module->n_parts == 1 && needs_qk_permutation (model, module->parts[0]))
    temper_lora_permute_rows (b, out, rank, model->head_dim, FALSE);
  scale = config->use_rslora ? alpha / sqrtf ((float) rank) : alpha / (float) rank;
  *n_read += 2;
  return temper_lora_import_add (imp, layer, module, rank, a, b, scale, path, error);
}

temper_adapter_t *
temper_lora_load_peft (const char *dir, const TemperModelConfig *model_config,
                       TemperLoraConfig *config_out, GError **error)
{
  g_autofree char *config_path = g_build_filename (dir, "adapter_config.json", NULL);
  g_autofree char *weights_path = g_build_filename (dir, "adapter_model.safetensors", NULL);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(TemperLoraImport) imp = NULL;
  g_autoptr(JsonNode) root = NULL;
  TemperLoraModule candidates[2 * TEMPER_LORA_N_TARGETS];
  TemperLoraConfig config;
  JsonObject *obj;
  guint n_read = 0, n_image = 0, chosen;
  gboolean from_tensors;
  int n_candidates;

  g_return_val_if_fail (dir != NULL && model_config != NULL, NULL);

  if (!read_adapter_config (config_path, &config, &root, error))
    return NULL;
  obj = json_node_get_object (root);
  n_candidates = candidate_modules (model_config, candidates);
  if (!read_targets (json_object_get_member (obj, "target_modules"), config_path, candidates, n_candidates,
                     &chosen, &from_tensors, error))
    return NULL;
  config.targets = TEMPER_LORA_TARGETS_ATTENTION;   /* checked below, from the tensors */
  if (!temper_lora_config_check (&config, error))
    {
      g_prefix_error (error, "%s: ", config_path);
      return NULL;
    }
  if (!g_file_test (weights_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *pickle = g_build_filename (dir, "adapter_model.bin", NULL);

      /* Older PEFT versions and some trainers save a PyTorch pickle, which
       * can run code when read: ask for the safe format instead. */
      if (g_file_test (pickle, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("%s holds adapter_model.bin, a PyTorch pickle, which Temper does not "
                       "read; save the adapter again with PEFT's save_pretrained "
                       "(safe_serialization=True, the default) to get adapter_model.safetensors"),
                       dir);
          return NULL;
        }
    }
  st = temper_safetensors_open (weights_path, error);
  if (st == NULL)
    return NULL;

  imp = temper_lora_import_new (model_config);
  for (int l = 0; l < model_config->n_layer; l++)
    for (int c = 0; c < n_candidates; c++)
      if ((chosen & (1u << c))
          && !read_module (st, weights_path, obj, &config, model_config, l, &candidates[c], !from_tensors,
                           imp, &n_read, error))
        return NULL;
  for (guint i = 0; i < temper_safetensors_get_n_tensors (st); i++)
    if (is_image_part (model_config, temper_safetensors_get_name (st, i)))
      n_image++;

  /* Anything else in the file (another layer count, embedding LoRA) means the
   * adapter does more than Temper would apply: refuse rather than drop it. */
  if (temper_safetensors_get_n_tensors (st) != n_read + n_image)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("%s holds %u tensors but a LoRA adapter on these layers of this model "
                   "has %u: it adapts other layers or modules (embeddings?) or was made "
                   "for another model"), weights_path, temper_safetensors_get_n_tensors (st),
                   n_read + n_image);
      return NULL;
    }
  adapter = temper_lora_import_finish (imp, config.use_rslora, &config.rank, &config.alpha, &config.targets,
                                       weights_path, error);
  if (adapter == NULL)
    return NULL;
  if (config_out != NULL)
    *config_out = config;
  return g_steal_pointer (&adapter);
}
