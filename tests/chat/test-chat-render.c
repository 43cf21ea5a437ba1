/* SPDX-License-Identifier: MIT */
/* Chat templates rendered by Temper against transformers' Jinja rendering of
 * the same published template text (tests/chat/make-chat-fixtures.py, and
 * for Gemma, Phi-3/4-mini, Qwen3 and GLM-4 make-family-chat-fixtures.py). */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "temper/chat.h"

static JsonNode *fixtures[2];
static JsonNode *fixture;   /* the one the running test reads */

static JsonObject *
template_spec (const char *name)
{
  JsonObject *templates = json_object_get_object_member (json_node_get_object (fixture), "templates");
  return json_object_get_object_member (templates, name);
}

static TemperChatMessage *
messages_from_json (JsonArray *array, gsize *n_out)
{
  guint n = json_array_get_length (array);
  TemperChatMessage *messages = g_new0 (TemperChatMessage, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      JsonObject *m = json_array_get_object_element (array, i);
      const char *role = json_object_get_string_member (m, "role");

      messages[i].role = strcmp (role, "system") == 0 ? TEMPER_CHAT_ROLE_SYSTEM
                       : strcmp (role, "user") == 0 ? TEMPER_CHAT_ROLE_USER
                       : TEMPER_CHAT_ROLE_ASSISTANT;
      messages[i].content = json_object_get_string_member (m, "content");
    }
  *n_out = n;
  return messages;
}

static void
test_detection (gconstpointer data)
{
  JsonObject *templates;
  g_autoptr(GList) names = NULL;

  fixture = fixtures[GPOINTER_TO_INT (data)];
  templates = json_object_get_object_member (json_node_get_object (fixture), "templates");
  names = json_object_get_members (templates);
  g_assert_cmpuint (g_list_length (names), >=, 6);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *spec = template_spec (l->data);
      g_autoptr(temper_chat_template_t) tmpl =
        temper_chat_template_new (json_object_get_string_member (spec, "jinja"), NULL);
      const char *want_system = json_object_has_member (spec, "default_system")
                                ? json_object_get_string_member (spec, "default_system") : NULL;

      g_test_message ("template %s", (const char *) l->data);
      g_assert_cmpstr (temper_chat_family_name (temper_chat_template_get_family (tmpl)), ==,
                       json_object_get_string_member (spec, "family"));
      g_assert_false (temper_chat_template_is_fallback (tmpl));
      g_assert_cmpstr (temper_chat_template_get_default_system (tmpl), ==, want_system);
    }
}

static void
test_render_matches_jinja (gconstpointer data)
{
  JsonArray *cases;
  guint n_cases;

  fixture = fixtures[GPOINTER_TO_INT (data)];
  cases = json_object_get_array_member (json_node_get_object (fixture), "cases");
  n_cases = json_array_get_length (cases);
  g_assert_cmpuint (n_cases, >=, 50);
  for (guint i = 0; i < n_cases; i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *name = json_object_get_string_member (c, "template");
      JsonObject *spec = template_spec (name);
      g_autoptr(temper_chat_template_t) tmpl =
        temper_chat_template_new (json_object_get_string_member (spec, "jinja"), NULL);
      gsize n = 0;
      g_autofree TemperChatMessage *messages =
        messages_from_json (json_object_get_array_member (c, "messages"), &n);
      g_autofree char *text =
        temper_chat_template_render (tmpl, messages, n,
                                     json_object_get_boolean_member (c, "add_generation_prompt"));

      g_test_message ("%s: %s", name, json_object_get_string_member (c, "title"));
      g_assert_cmpstr (text, ==, json_object_get_string_member (c, "expected"));
    }
}

static void
test_fallback (void)
{
  const TemperChatMessage conversation[] = {
    { TEMPER_CHAT_ROLE_SYSTEM, "Be brief." },
    { TEMPER_CHAT_ROLE_USER, "Hi" },
    { TEMPER_CHAT_ROLE_ASSISTANT, "Hello." },
    { TEMPER_CHAT_ROLE_USER, "Bye" },
  };
  const char *unknown[] = {
    NULL,
    "",
    "{% for m in messages %}<|im_start|>{{ m['role'] }}<|im_sep|>{{ m['content'] }}<|im_end|>{% endfor %}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr(temper_chat_template_t) tmpl = temper_chat_template_new (unknown[i], NULL);
      g_autofree char *history = temper_chat_template_render (tmpl, conversation, 4, FALSE);
      g_autofree char *prompt = temper_chat_template_render (tmpl, conversation, 4, TRUE);

      g_assert_cmpint (temper_chat_template_get_family (tmpl), ==, TEMPER_CHAT_FAMILY_PLAIN);
      g_assert_true (temper_chat_template_is_fallback (tmpl));
      g_assert_null (temper_chat_template_get_default_system (tmpl));
      g_assert_cmpint (temper_chat_template_get_end_of_turn (tmpl), ==, -1);
      g_assert_cmpstr (history, ==, "Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: Bye\n");
      g_assert_cmpstr (prompt, ==, "Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: Bye\nAssistant:");
    }
}

int
main (int argc, char **argv)
{
  static const char *const names[] = { "render.json", "render-families.json" };
  JsonParser *parsers[G_N_ELEMENTS (names)];
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  int status;

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures",
                                                "chat", names[i], NULL);
      g_autoptr(GError) error = NULL;

      parsers[i] = json_parser_new ();
      if (!json_parser_load_from_file (parsers[i], path, &error))
        g_error ("cannot read fixture %s: %s", path, error->message);
      fixtures[i] = json_parser_get_root (parsers[i]);
    }

  g_test_add_data_func ("/chat/detection", GINT_TO_POINTER (0), test_detection);
  g_test_add_data_func ("/chat/render-matches-jinja", GINT_TO_POINTER (0), test_render_matches_jinja);
  g_test_add_data_func ("/chat/families/detection", GINT_TO_POINTER (1), test_detection);
  g_test_add_data_func ("/chat/families/render-matches-jinja", GINT_TO_POINTER (1), test_render_matches_jinja);
  g_test_add_func ("/chat/fallback", test_fallback);
  status = g_test_run ();
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_object_unref (parsers[i]);
  return status;
}
