/* SPDX-License-Identifier: MIT */
/* temper-dataset-record.c — one JSON record to a conversation, in each of
 * the dataset formats Temper reads. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper-dataset-private.h"

static const struct {
  TemperDatasetFormat format;
  const char         *name;
  const char         *label;
} format_names[] = {
  { TEMPER_DATASET_FORMAT_AUTO,               "auto",               N_("Recognised automatically") },
  { TEMPER_DATASET_FORMAT_ALPACA,             "alpaca",             N_("Alpaca (instruction, input, output)") },
  { TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT, "instruction-output", N_("Instruction and output") },
  { TEMPER_DATASET_FORMAT_PROMPT_RESPONSE,    "prompt-response",    N_("Prompt and response") },
  { TEMPER_DATASET_FORMAT_MESSAGES,           "messages",           N_("Chat messages (role, content)") },
  { TEMPER_DATASET_FORMAT_SHAREGPT,           "sharegpt",           N_("ShareGPT conversations (from, value)") },
  { TEMPER_DATASET_FORMAT_TEXT,               "text",               N_("Plain text") },
};

const char *
temper_dataset_format_name (TemperDatasetFormat format)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (format_names[i].format == format)
      return format_names[i].name;
  return "auto";
}

const char *
temper_dataset_format_label (TemperDatasetFormat format)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (format_names[i].format == format)
      return _(format_names[i].label);
  return _(format_names[0].label);
}

gboolean
temper_dataset_format_from_name (const char *name, TemperDatasetFormat *out)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (g_ascii_strcasecmp (name, format_names[i].name) == 0)
      {
        *out = format_names[i].format;
        return TRUE;
      }
  return FALSE;
}

const char *
temper_dataset_problem_kind_name (TemperDatasetProblemKind kind)
{
  switch (kind)
    {
    case TEMPER_DATASET_PROBLEM_NOT_JSON:       return "not-json";
    case TEMPER_DATASET_PROBLEM_NOT_OBJECT:     return "not-object";
    case TEMPER_DATASET_PROBLEM_INVALID_UTF8:   return "invalid-utf8";
    case TEMPER_DATASET_PROBLEM_MISSING_FIELD:  return "missing-field";
    case TEMPER_DATASET_PROBLEM_WRONG_TYPE:     return "wrong-type";
    case TEMPER_DATASET_PROBLEM_UNKNOWN_ROLE:   return "unknown-role";
    case TEMPER_DATASET_PROBLEM_EMPTY_ANSWER:   return "empty-answer";
    case TEMPER_DATASET_PROBLEM_OTHER_FORMAT:   return "other-format";
    case TEMPER_DATASET_PROBLEM_DUPLICATE:      return "duplicate";
    case TEMPER_DATASET_PROBLEM_TOO_LARGE:      return "too-large";
    case TEMPER_DATASET_PROBLEM_NO_ANSWER_LEFT: return "no-answer-left";
    case TEMPER_DATASET_PROBLEM_BAD_ROW:        return "bad-row";
    default:                                    return "unknown";
    }
}

TemperDatasetFormat
temper_dataset_detect_format (JsonObject *object)
{
  if (json_object_has_member (object, "messages"))
    return TEMPER_DATASET_FORMAT_MESSAGES;
  if (json_object_has_member (object, "conversations"))
    return TEMPER_DATASET_FORMAT_SHAREGPT;
  if (json_object_has_member (object, "instruction"))
    return json_object_has_member (object, "input") ? TEMPER_DATASET_FORMAT_ALPACA
                                                    : TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT;
  if (json_object_has_member (object, "prompt"))
    return TEMPER_DATASET_FORMAT_PROMPT_RESPONSE;
  if (json_object_has_member (object, "text"))
    return TEMPER_DATASET_FORMAT_TEXT;
  return TEMPER_DATASET_FORMAT_AUTO;
}

static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT: return _("an object {…}");
    case JSON_NODE_ARRAY:  return _("a list […]");
    case JSON_NODE_NULL:   return "null";
    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_BOOLEAN: return _("true/false");
        case G_TYPE_STRING:  return _("text");
        default:             return _("a number");
        }
    }
}

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
is_blank (const char *s)
{
  for (; *s != '\0'; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

static gboolean
fail (TemperDatasetProblemKind *kind, char **message, TemperDatasetProblemKind k,
      const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (TemperDatasetProblemKind *kind, char **message, TemperDatasetProblemKind k,
      const char *format, ...)
{
  va_list args;

  va_start (args, format);
  *kind = k;
  *message = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

/* The text of field @name: *out is NULL when the field is absent (or null and
 * @optional).  FALSE with a problem when it is required and missing, or not
 * text. */
static gboolean
get_text (JsonObject *object, const char *name, gboolean optional, const char *what,
          const char **out, TemperDatasetProblemKind *kind, char **message)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = NULL;
  if (node == NULL || (optional && JSON_NODE_HOLDS_NULL (node)))
    {
      if (optional)
        return TRUE;
      return fail (kind, message, TEMPER_DATASET_PROBLEM_MISSING_FIELD,
                   _("the field “%s” (%s) is missing"), name, what);
    }
  if (!is_string (node))
    return fail (kind, message, TEMPER_DATASET_PROBLEM_WRONG_TYPE,
                 _("the field “%s” (%s) should be text in quotes, but it is %s"),
                 name, what, node_kind (node));
  *out = json_node_get_string (node);
  return TRUE;
}

static void
add (GArray *messages, TemperChatRole role, const char *content)
{
  TemperChatMessage m = { role, content };
  g_array_append_val (messages, m);
}

static gboolean
parse_instruction (JsonObject *object, GArray *messages, GPtrArray *owned,
                   gboolean prompt_style, TemperDatasetProblemKind *kind, char **message)
{
  const char *system, *question, *input = NULL, *answer;
  const char *question_field = prompt_style ? "prompt" : "instruction";
  const char *answer_field = prompt_style ? "response" : "output";

  if (prompt_style && !json_object_has_member (object, "response") &&
      json_object_has_member (object, "completion"))
    answer_field = "completion";

  if (!get_text (object, "system", TRUE, _("the system message"), &system, kind, message) ||
      !get_text (object, question_field, FALSE, _("the question"), &question, kind, message) ||
      (!prompt_style && !get_text (object, "input", TRUE, _("extra input"), &input, kind, message)) ||
      !get_text (object, answer_field, FALSE, _("the answer"), &answer, kind, message))
    return FALSE;
  if (is_blank (answer))
    return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,
                 _("the answer (“%s”) is empty"), answer_field);
  if (is_blank (question) && (input == NULL || is_blank (input)))
    return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,
                 _("the question (“%s”) is empty"), question_field);

  if (system != NULL && !is_blank (system))
    add (messages, TEMPER_CHAT_ROLE_SYSTEM, system);
  if (input != NULL && !is_blank (input))
    {
      /* Alpaca's own prompt gives the input as a paragraph after the
       * instruction; the user turn does the same. */
      char *joined = is_blank (question) ? g_strdup (input)
                                         : g_strconcat (question, "\n\n", input, NULL);
      g_ptr_array_add (owned, joined);
      add (messages, TEMPER_CHAT_ROLE_USER, joined);
    }
  else
    add (messages, TEMPER_CHAT_ROLE_USER, question);
  add (messages, TEMPER_CHAT_ROLE_ASSISTANT, answer);
  return TRUE;
}

static gboolean
role_from_name (const char *name, TemperChatRole *role)
{
  static const struct { const char *name; TemperChatRole role; } roles[] = {
    { "system", TEMPER_CHAT_ROLE_SYSTEM },
    { "user", TEMPER_CHAT_ROLE_USER },
    { "human", TEMPER_CHAT_ROLE_USER },
    { "assistant", TEMPER_CHAT_ROLE_ASSISTANT },
    { "gpt", TEMPER_CHAT_ROLE_ASSISTANT },
    { "model", TEMPER_CHAT_ROLE_ASSISTANT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (roles); i++)
    if (g_ascii_strcasecmp (name, roles[i].name) == 0)
      {
        *role = roles[i].role;
        return TRUE;
      }
  return FALSE;
}

/* Chat messages ({role, content}) and ShareGPT ({from, value}) differ only in
 * their field names. */
static gboolean
parse_conversation (JsonObject *object, GArray *messages, gboolean sharegpt,
                    TemperDatasetProblemKind *kind, char **message)
{
  const char *list_field = sharegpt ? "conversations" : "messages";
  const char *role_field = sharegpt ? "from" : "role";
  const char *text_field = sharegpt ? "value" : "content";
  JsonNode *node = json_object_get_member (object, list_field);
  JsonArray *array;
  gboolean has_answer = FALSE;
  guint n;

  if (node == NULL)
    return fail (kind, message, TEMPER_DATASET_PROBLEM_MISSING_FIELD,
                 _("the field “%s” (the conversation) is missing"), list_field);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail (kind, message, TEMPER_DATASET_PROBLEM_WRONG_TYPE,
                 _("the field “%s” should be a list of messages […], but it is %s"),
                 list_field, node_kind (node));
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n == 0)
    return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,
                 _("the conversation (“%s”) has no messages"), list_field);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *m;
      const char *role_name, *text;
      TemperChatRole role;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        return fail (kind, message, TEMPER_DATASET_PROBLEM_WRONG_TYPE,
                     _("message %u of “%s” should be an object with “%s” and “%s”, but it is %s"),
                     i + 1, list_field, role_field, text_field, node_kind (element));
      m = json_node_get_object (element);
      if (!get_text (m, role_field, FALSE, _("who is speaking"), &role_name, kind, message) ||
          !get_text (m, text_field, FALSE, _("what is said"), &text, kind, message))
        {
          char *inner = *message;
          *message = g_strdup_printf (_("in message %u, %s"), i + 1, inner);
          g_free (inner);
          return FALSE;
        }
      if (!role_from_name (role_name, &role))
        return fail (kind, message, TEMPER_DATASET_PROBLEM_UNKNOWN_ROLE,
                     sharegpt ? _("message %u is from “%s”; use “system”, “user” or “assistant” (or “human” and “gpt”)")
                              : _("message %u is from “%s”; use “system”, “user” or “assistant”"),
                     i + 1, role_name);
      if (role == TEMPER_CHAT_ROLE_ASSISTANT)
        {
          if (is_blank (text))
            return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,
                         _("the answer in message %u is empty"), i + 1);
          has_answer = TRUE;
        }
      add (messages, role, text);
    }
  if (!has_answer)
    return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,
                 _("the conversation has no answer from the assistant to learn from"));
  return TRUE;
}

gboolean
temper_dataset_parse_record (JsonObject               *object,
                             TemperDatasetFormat       format,
                             GArray                   *messages,
                             GPtrArray                *owned,
                             TemperDatasetProblemKind *kind,
                             char                    **message)
{
  const char *text;

  switch (format)
    {
    case TEMPER_DATASET_FORMAT_ALPACA:
    case TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT:
      return parse_instruction (object, messages, owned, FALSE, kind, message);
    case TEMPER_DATASET_FORMAT_PROMPT_RESPONSE:
      return parse_instruction (object, messages, owned, TRUE, kind, message);
    case TEMPER_DATASET_FORMAT_MESSAGES:
      return parse_conversation (object, messages, FALSE, kind, message);
    case TEMPER_DATASET_FORMAT_SHAREGPT:
      return parse_conversation (object, messages, TRUE, kind, message);
    case TEMPER_DATASET_FORMAT_TEXT:
      if (!get_text (object, "text", FALSE, _("the text to learn"), &text, kind, message))
        return FALSE;
      if (is_blank (text))
        return fail (kind, message, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER, _("the text is empty"));
      add (messages, TEMPER_CHAT_ROLE_USER, text);
      return TRUE;
    case TEMPER_DATASET_FORMAT_AUTO:
    default:
      g_return_val_if_reached (FALSE);
    }
}
