/* SPDX-License-Identifier: MIT */
/* temper-model-hf-vlm.c — the text part of a model of text and images.
 *
 * Gemma 3 4B, 12B and 27B ship as Gemma3ForConditionalGeneration: a SigLIP
 * image tower and a projector beside a Gemma 3 text model.  Temper runs and
 * trains the text model alone; the image part is not read.  Its config.json
 * nests the text model's settings in text_config and, as transformers writes
 * nested settings, leaves out every value equal to Gemma3TextConfig's
 * defaults (the real 4B names only its sizes, rope_scaling and window), so
 * the defaults are filled in here before the text config is read as a
 * Gemma3ForCausalLM's. */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/safetensors.h"
#include "temper-model-private.h"

/* Gemma3TextConfig's defaults (transformers 5.25), for the settings Temper
 * reads.  RoPE bases: 1e6 global, 1e4 local. */
static const struct { const char *key; double value; } gemma3_text_defaults[] = {
  { "vocab_size", 262208 }, { "hidden_size", 2304 }, { "intermediate_size", 9216 },
  { "num_hidden_layers", 26 }, { "num_attention_heads", 8 }, { "num_key_value_heads", 4 },
  { "head_dim", 256 }, { "max_position_embeddings", 131072 }, { "rms_norm_eps", 1e-6 },
  { "query_pre_attn_scalar", 256 }, { "sliding_window", 4096 },
  { "rope_theta", 1000000.0 }, { "rope_local_base_freq", 10000.0 },
};

static gboolean
is_text_and_images (JsonObject *config)
{
  JsonNode *list = json_object_get_member (config, "architectures");
  JsonNode *first;

  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list) || json_array_get_length (json_node_get_array (list)) == 0)
    return FALSE;
  first = json_array_get_element (json_node_get_array (list), 0);
  return JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING
         && strcmp (json_node_get_string (first), "Gemma3ForConditionalGeneration") == 0
         && json_object_has_member (config, "text_config")
         && JSON_NODE_HOLDS_OBJECT (json_object_get_member (config, "text_config"));
}

JsonNode *
temper_model_hf_text_part_config (JsonObject *config)
{
  JsonObject *text, *out;
  JsonArray *architectures;
  JsonNode *root;
  GList *members;

  if (!is_text_and_images (config))
    return NULL;
  text = json_object_get_object_member (config, "text_config");
  out = json_object_new ();
  members = json_object_get_members (text);
  for (GList *m = members; m != NULL; m = m->next)
    json_object_set_member (out, m->data, json_node_copy (json_object_get_member (text, m->data)));
  g_list_free (members);
  for (gsize i = 0; i < G_N_ELEMENTS (gemma3_text_defaults); i++)
    if (!json_object_has_member (out, gemma3_text_defaults[i].key)
        || JSON_NODE_HOLDS_NULL (json_object_get_member (out, gemma3_text_defaults[i].key)))
      json_object_set_double_member (out, gemma3_text_defaults[i].key, gemma3_text_defaults[i].value);
  /* Tied embeddings are said on the outer config (both default to tied). */
  if (!json_object_has_member (out, "tie_word_embeddings") && json_object_has_member (config, "tie_word_embeddings"))
    json_object_set_member (out, "tie_word_embeddings",
                            json_node_copy (json_object_get_member (config, "tie_word_embeddings")));
  architectures = json_array_new ();
  json_array_add_string_element (architectures, "Gemma3ForCausalLM");
  json_object_set_array_member (out, "architectures", architectures);
  root = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (root, out);
  return root;
}

TemperHfLayout
temper_model_hf_find_layout (temper_safetensors_t *st)
{
  if (temper_safetensors_get_info (st, "model.language_model.embed_tokens.weight", NULL))
    return TEMPER_HF_LAYOUT_VLM_MODULES;
  return TEMPER_HF_LAYOUT_VLM;
}
