/* SPDX-License-Identifier: MIT */
/* Chat-template rendering of arbitrary conversations.  Input: a byte that
 * picks the template (one of the real templates in
 * tests/fixtures/chat/render.json, or the first NUL-terminated part of the
 * input itself as the Jinja text) and whether the generation prompt is
 * added; then messages separated by NUL bytes, each a role byte and the text.
 * Rendering must give UTF-8 (templates trim texts, so their presence is not
 * checked here: tests/chat does, against transformers); tokenizing must
 * give ids in the vocabulary and a mask as long as them. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "fuzz-util.h"

#define MAX_MESSAGES 16

static GPtrArray *templates;       /* char *, Jinja text */
static GPtrArray *tokenizers;      /* temper_tokenizer_t *, one per template */
static temper_tokenizer_t *chatml, *llama3, *spm;

static temper_tokenizer_t *
from_gguf (const char *relative)
{
  g_autofree char *path = fuzz_fixture (relative);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, &error);
  temper_tokenizer_t *tok = gguf != NULL ? temper_tokenizer_new_from_gguf (gguf, &error) : NULL;

  if (tok == NULL)
    g_error ("%s: %s", path, error->message);
  return tok;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *render = fuzz_fixture ("chat/render.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *all;
  GList *names;

  fuzz_init (FALSE);
  chatml = from_gguf ("tokenizer/qwen2.gguf");
  llama3 = from_gguf ("tokenizer/llama3.gguf");
  spm = from_gguf ("tokenizer/spm.gguf");
  if (!json_parser_load_from_file (parser, render, &error))
    g_error ("%s: %s", render, error->message);
  all = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "templates");
  templates = g_ptr_array_new ();
  tokenizers = g_ptr_array_new ();
  names = json_object_get_members (all);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonObject *entry = json_object_get_object_member (all, name);

      g_ptr_array_add (templates, g_strdup (json_object_get_string_member (entry, "jinja")));
      g_ptr_array_add (tokenizers, g_str_has_prefix (name, "llama3") ? llama3
                                   : g_str_has_prefix (name, "llama2") || g_str_has_prefix (name, "mistral") ? spm
                                   : chatml);
    }
  g_list_free (names);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *copy = NULL;
  g_autofree char *jinja = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autofree char *rendered = NULL;
  g_autoptr(GError) error = NULL;
  TemperChatMessage messages[MAX_MESSAGES];
  char *texts[MAX_MESSAGES] = { NULL };
  const temper_tokenizer_t *tok;
  TemperChatTokens tokens = { NULL, NULL };
  gsize n = 0, pick;
  gboolean generation;
  char *p, *end;

  if (size < 1)
    return 0;
  pick = data[0] % (templates->len + 1);
  generation = (data[0] & 0x80) != 0;
  copy = g_malloc (size);
  memcpy (copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  p = copy;
  end = copy + size - 1;
  if (pick == templates->len)
    {
      jinja = g_utf8_make_valid (p, -1);
      p += strlen (p) + (p + strlen (p) < end ? 1 : 0);
      tok = chatml;
    }
  else
    {
      jinja = g_strdup (g_ptr_array_index (templates, pick));
      tok = g_ptr_array_index (tokenizers, pick);
    }
  while (p < end && n < MAX_MESSAGES)
    {
      size_t len = strlen (p);

      messages[n].role = (TemperChatRole) ((unsigned char) p[0] % 3);
      texts[n] = g_utf8_make_valid (len > 0 ? p + 1 : p, -1);
      messages[n].content = texts[n];
      n++;
      p += len + 1;
    }

  tmpl = temper_chat_template_new (jinja, tok);
  rendered = temper_chat_template_render (tmpl, messages, n, generation);
  g_assert (rendered != NULL && g_utf8_validate (rendered, -1, NULL));
  if (temper_chat_template_tokenize (tmpl, messages, n, generation, &tokens, &error))
    {
      g_assert (tokens.ids->len == tokens.mask->len);
      for (guint i = 0; i < tokens.ids->len; i++)
        {
          gint32 id = g_array_index (tokens.ids, gint32, i);
          g_assert (id >= 0 && id < temper_tokenizer_get_n_vocab (tok));
        }
      temper_chat_tokens_clear (&tokens);
    }
  else
    g_assert (error != NULL);
  for (gsize i = 0; i < n; i++)
    g_free (texts[i]);
  return 0;
}
