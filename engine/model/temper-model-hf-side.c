/* SPDX-License-Identifier: MIT */
/* temper-model-hf-side.c — the optional files beside a Hugging Face model's
 * weights that Temper reads only for what they add: extra stop tokens
 * (generation_config.json) and the chat template (tokenizer_config.json,
 * chat_template.jinja, or the processor's chat_template.json that models of
 * text and images such as Gemma 3 4B carry).  A broken one is ignored. */
#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/json.h"
#include "temper-model-private.h"

/* The JSON object in @path, or NULL when it is absent or broken. */
static JsonNode *
read_object (const char *path)
{
  JsonNode *root;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  root = temper_json_parse_file (path, TEMPER_JSON_MAX_DOCUMENT_SIZE, NULL);
  if (root != NULL && !JSON_NODE_HOLDS_OBJECT (root))
    g_clear_pointer (&root, json_node_unref);
  return root;
}

static const char *
string_member (JsonObject *obj, const char *key)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, key) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
add_stop (temper_model_t *model, JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      int id = (int) CLAMP (json_node_get_int (node), -1, G_MAXINT);

      g_array_append_val (model->extra_stops, id);
    }
}

void
temper_model_hf_read_generation_config (temper_model_t *model, const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "generation_config.json", NULL);
  g_autoptr(JsonNode) root = read_object (path);
  JsonNode *node;

  if (root == NULL || (node = json_object_get_member (json_node_get_object (root), "eos_token_id")) == NULL)
    return;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *ids = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (ids); i++)
        add_stop (model, json_array_get_element (ids, i));
    }
  else
    add_stop (model, node);
}

/* tokenizer_config.json's chat_template (a string, or a list of named
 * templates of which "default" is used), else chat_template.jinja, else
 * chat_template.json's. */
char *
temper_model_hf_read_chat_template (const char *dir, const char *tokenizer_config)
{
  g_autofree char *jinja = g_build_filename (dir, "chat_template.jinja", NULL);
  g_autofree char *processor = g_build_filename (dir, "chat_template.json", NULL);
  g_autoptr(JsonNode) root = read_object (tokenizer_config);
  g_autoptr(JsonNode) processor_root = NULL;
  JsonObject *obj = root != NULL ? json_node_get_object (root) : NULL;
  JsonNode *list = obj != NULL ? json_object_get_member (obj, "chat_template") : NULL;
  char *contents = NULL;

  if (string_member (obj, "chat_template") != NULL)
    return g_strdup (string_member (obj, "chat_template"));
  if (list != NULL && JSON_NODE_HOLDS_ARRAY (list))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
      {
        JsonNode *e = json_array_get_element (json_node_get_array (list), i);
        JsonObject *entry = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;

        if (g_strcmp0 (string_member (entry, "name"), "default") == 0 && string_member (entry, "template") != NULL)
          return g_strdup (string_member (entry, "template"));
      }
  if (g_file_get_contents (jinja, &contents, NULL, NULL))
    return contents;
  processor_root = read_object (processor);
  if (processor_root != NULL && string_member (json_node_get_object (processor_root), "chat_template") != NULL)
    return g_strdup (string_member (json_node_get_object (processor_root), "chat_template"));
  return NULL;
}
