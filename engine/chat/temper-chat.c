/* SPDX-License-Identifier: MIT */
/* temper-chat.c — recognising a model's chat template and rendering
 * conversations the way its Jinja text would.
 *
 * Temper does not run Jinja.  Every model it supports uses one of a handful
 * of well-known templates, so each family is written out here and checked
 * against transformers' real Jinja rendering (tests/chat). */
#include "config.h"

#include <string.h>

#include "temper-chat-private.h"

struct temper_chat_template {
  TemperChatFamily          family;
  gboolean                  fallback;
  char                     *default_system;
  const temper_tokenizer_t *tokenizer;
  char                     *bos_text;
  char                     *eos_text;
  int                       end_of_turn;
  TemperChatSpecial        *specials;
  gsize                     n_specials;
  gboolean                  prefixes_space;

  /* Llama 2: whether the template has a <<SYS>> block. */
  gboolean                  llama2_sys_block;
  /* Mistral's variants differ in spacing and in which user turn carries the
   * system message. */
  const char               *inst_open;
  const char               *inst_close;
  const char               *answer_prefix;
  gboolean                  trim_answer;
  gboolean                  system_on_last_turn;
  /* Qwen3: the last answer carries an empty <think></think> block (the
   * non-thinking form), and so does the prompt for a new one. */
  gboolean                  empty_thinking;
  /* Phi-3 puts a newline after each role and end marker; Phi-4-mini not. */
  gboolean                  phi_newlines;
};

/* Whitespace as Python's str.strip() sees it, which is what the templates'
 * `trim` and `.strip()` use. */
static gboolean
py_isspace (gunichar c)
{
  if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85)
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_SPACE_SEPARATOR:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Byte bounds of @s with surrounding whitespace removed. */
static void
strip_bounds (const char *s, gsize *start, gsize *end)
{
  gsize len = strlen (s);
  const char *p = s;
  const char *e = s + len;

  while (p < e && py_isspace (g_utf8_get_char_validated (p, e - p)))
    p = g_utf8_next_char (p);
  while (e > p)
    {
      const char *prev = g_utf8_find_prev_char (p, e);
      if (prev == NULL)
        prev = p;
      if (!py_isspace (g_utf8_get_char_validated (prev, e - prev)))
        break;
      e = prev;
    }
  *start = p - s;
  *end = e - s;
}

static gboolean
contains (const char *haystack, const char *needle)
{
  return strstr (haystack, needle) != NULL;
}

/* Undoes the escapes of a Jinja string literal. */
static char *
unescape_literal (const char *s, gsize len)
{
  GString *out = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '\\' && i + 1 < len)
        {
          char c = s[++i];
          switch (c)
            {
            case 'n': g_string_append_c (out, '\n'); break;
            case 't': g_string_append_c (out, '\t'); break;
            case 'r': g_string_append_c (out, '\r'); break;
            default:  g_string_append_c (out, c); break;
            }
        }
      else
        g_string_append_c (out, s[i]);
    }
  return g_string_free (out, FALSE);
}

/* ChatML templates that insert a default system message spell it as one
 * literal: '<|im_start|>system\n…<|im_end|>'.  Other occurrences of the
 * system header are followed by a variable and end the literal first. */
static char *
find_default_system (const char *jinja)
{
  static const char header[] = "<|im_start|>system";
  const char *p = jinja;

  while ((p = strstr (p, header)) != NULL)
    {
      char quote = p > jinja ? p[-1] : '\0';
      const char *body = p + strlen (header);
      const char *end;
      gboolean escaped = FALSE;

      p = body;
      if (quote != '\'' && quote != '"')
        continue;
      if (body[0] == '\n')
        body += 1;
      else if (body[0] == '\\' && body[1] == 'n')
        body += 2;
      else
        continue;
      end = strstr (body, "<|im_end|>");
      if (end == NULL || end == body)
        continue;
      for (const char *q = body; q < end; q++)
        {
          if (*q == quote && !escaped)
            break;
          escaped = *q == '\\' && !escaped;
          if (q + 1 == end)
            return unescape_literal (body, end - body);
        }
    }
  return NULL;
}

static void
detect_family (temper_chat_template_t *tmpl, const char *jinja)
{
  tmpl->family = TEMPER_CHAT_FAMILY_PLAIN;
  tmpl->fallback = TRUE;
  if (jinja == NULL || *jinja == '\0')
    return;

  if (contains (jinja, "<|im_start|>"))
    {
      /* Phi-4 and SmolVLM put extra markers inside ChatML; rendering them as
       * plain ChatML would teach the model a layout it never saw. */
      if (contains (jinja, "<|im_sep|>") || contains (jinja, "<end_of_utterance>"))
        return;
      tmpl->family = TEMPER_CHAT_FAMILY_CHATML;
      tmpl->default_system = find_default_system (jinja);
      tmpl->empty_thinking = contains (jinja, "<think>") && contains (jinja, "</think>");
    }
  else if (contains (jinja, "<start_of_turn>") && contains (jinja, "<end_of_turn>"))
    tmpl->family = TEMPER_CHAT_FAMILY_GEMMA;
  else if (contains (jinja, "[gMASK]") && contains (jinja, "<|assistant|>"))
    tmpl->family = TEMPER_CHAT_FAMILY_GLM4;
  else if (contains (jinja, "<|assistant|>") && contains (jinja, "<|end|>"))
    {
      tmpl->family = TEMPER_CHAT_FAMILY_PHI3;
      /* Phi-3 writes '\n' after its markers (as Jinja text or as
       * real line breaks); Phi-4-mini's template has none at all. */
      tmpl->phi_newlines = contains (jinja, "\\n") || contains (jinja, "|>\n");
    }
  else if (contains (jinja, "<|start_header_id|>") && contains (jinja, "<|end_header_id|>"))
    tmpl->family = TEMPER_CHAT_FAMILY_LLAMA3;
  else if (contains (jinja, "[INST]") && contains (jinja, "<<SYS>>"))
    {
      tmpl->family = TEMPER_CHAT_FAMILY_LLAMA2;
      tmpl->llama2_sys_block = TRUE;
    }
  else if (contains (jinja, "[INST]"))
    {
      tmpl->family = TEMPER_CHAT_FAMILY_MISTRAL;
      if (contains (jinja, "' [INST] '") || contains (jinja, "\" [INST] \""))
        tmpl->inst_open = " [INST] ";
      else if (contains (jinja, "'[INST] '") || contains (jinja, "\"[INST] \""))
        tmpl->inst_open = "[INST] ";
      else
        tmpl->inst_open = "[INST]";
      tmpl->inst_close = contains (jinja, "' [/INST]'") || contains (jinja, "\" [/INST]\"")
                         ? " [/INST]" : "[/INST]";
      tmpl->answer_prefix = contains (jinja, "' ' + message['content']") ||
                            contains (jinja, "\" \" + message[\"content\"]") ||
                            contains (jinja, "' ' + message.content") ||
                            contains (jinja, "\" \" + message.content")
                            ? " " : "";
      tmpl->trim_answer = contains (jinja, "|trim + eos_token") ||
                          contains (jinja, "| trim + eos_token");
      tmpl->system_on_last_turn = contains (jinja, "loop.last and system_message");
    }
  else
    return;
  tmpl->fallback = FALSE;
}

static char *
token_text (const temper_tokenizer_t *tok, int id)
{
  gsize len = 0;
  const char *bytes;

  if (tok == NULL || id < 0)
    return NULL;
  bytes = temper_tokenizer_token_bytes (tok, id, &len);
  return bytes != NULL && len > 0 ? g_strndup (bytes, len) : NULL;
}

static void
collect_specials (temper_chat_template_t *tmpl)
{
  const char *candidates[10];
  gsize n = 0;

  switch (tmpl->family)
    {
    case TEMPER_CHAT_FAMILY_CHATML:
      candidates[n++] = "<|im_start|>";
      candidates[n++] = "<|im_end|>";
      break;
    case TEMPER_CHAT_FAMILY_LLAMA3:
      candidates[n++] = "<|start_header_id|>";
      candidates[n++] = "<|end_header_id|>";
      candidates[n++] = "<|eot_id|>";
      break;
    case TEMPER_CHAT_FAMILY_LLAMA2:
    case TEMPER_CHAT_FAMILY_MISTRAL:
      /* Control tokens in Mistral's v3 vocabulary, plain text in Llama 2's. */
      candidates[n++] = "[INST]";
      candidates[n++] = "[/INST]";
      break;
    case TEMPER_CHAT_FAMILY_GEMMA:
      candidates[n++] = "<start_of_turn>";
      candidates[n++] = "<end_of_turn>";
      break;
    case TEMPER_CHAT_FAMILY_PHI3:
      candidates[n++] = "<|system|>";
      candidates[n++] = "<|user|>";
      candidates[n++] = "<|assistant|>";
      candidates[n++] = "<|end|>";
      break;
    case TEMPER_CHAT_FAMILY_GLM4:
      candidates[n++] = "[gMASK]";
      candidates[n++] = "<sop>";
      candidates[n++] = "<|system|>";
      candidates[n++] = "<|user|>";
      candidates[n++] = "<|assistant|>";
      break;
    case TEMPER_CHAT_FAMILY_PLAIN:
    default:
      break;
    }
  candidates[n++] = tmpl->bos_text;
  candidates[n++] = tmpl->eos_text;

  tmpl->specials = g_new0 (TemperChatSpecial, n);
  for (gsize i = 0; i < n; i++)
    {
      int id;

      if (candidates[i] == NULL || *candidates[i] == '\0' || tmpl->tokenizer == NULL)
        continue;
      id = temper_tokenizer_find_token (tmpl->tokenizer, candidates[i]);
      if (id < 0 || !temper_tokenizer_is_special (tmpl->tokenizer, id))
        continue;
      tmpl->specials[tmpl->n_specials].text = candidates[i];
      tmpl->specials[tmpl->n_specials].len = strlen (candidates[i]);
      tmpl->specials[tmpl->n_specials].id = id;
      tmpl->n_specials++;
    }
}

temper_chat_template_t *
temper_chat_template_new (const char *jinja, const temper_tokenizer_t *tokenizer)
{
  temper_chat_template_t *tmpl = g_new0 (temper_chat_template_t, 1);
  const char *default_bos = NULL;
  const char *default_eos = NULL;

  tmpl->tokenizer = tokenizer;
  detect_family (tmpl, jinja);

  switch (tmpl->family)
    {
    case TEMPER_CHAT_FAMILY_LLAMA3:
      default_bos = "<|begin_of_text|>";
      break;
    case TEMPER_CHAT_FAMILY_LLAMA2:
    case TEMPER_CHAT_FAMILY_MISTRAL:
      default_bos = "<s>";
      default_eos = "</s>";
      break;
    case TEMPER_CHAT_FAMILY_GEMMA:
      default_bos = "<bos>";
      break;
    case TEMPER_CHAT_FAMILY_PHI3:
      default_eos = "<|endoftext|>";
      break;
    case TEMPER_CHAT_FAMILY_CHATML:
    case TEMPER_CHAT_FAMILY_GLM4:
    case TEMPER_CHAT_FAMILY_PLAIN:
    default:
      break;
    }
  tmpl->bos_text = tokenizer != NULL ? token_text (tokenizer, temper_tokenizer_get_bos (tokenizer)) : NULL;
  tmpl->eos_text = tokenizer != NULL ? token_text (tokenizer, temper_tokenizer_get_eos (tokenizer)) : NULL;
  if (tmpl->bos_text == NULL)
    tmpl->bos_text = g_strdup (default_bos != NULL ? default_bos : "");
  if (tmpl->eos_text == NULL)
    tmpl->eos_text = g_strdup (default_eos != NULL ? default_eos : "");

  tmpl->end_of_turn = -1;
  if (tokenizer != NULL)
    {
      if (tmpl->family == TEMPER_CHAT_FAMILY_CHATML)
        tmpl->end_of_turn = temper_tokenizer_find_token (tokenizer, "<|im_end|>");
      else if (tmpl->family == TEMPER_CHAT_FAMILY_LLAMA3)
        tmpl->end_of_turn = temper_tokenizer_find_token (tokenizer, "<|eot_id|>");
      else if (tmpl->family == TEMPER_CHAT_FAMILY_GEMMA)
        tmpl->end_of_turn = temper_tokenizer_find_token (tokenizer, "<end_of_turn>");
      else if (tmpl->family == TEMPER_CHAT_FAMILY_PHI3)
        tmpl->end_of_turn = temper_tokenizer_find_token (tokenizer, "<|end|>");
      else if (tmpl->family == TEMPER_CHAT_FAMILY_GLM4)
        tmpl->end_of_turn = temper_tokenizer_find_token (tokenizer, "<|user|>");
      if (tmpl->end_of_turn < 0)
        tmpl->end_of_turn = temper_tokenizer_get_eos (tokenizer);
    }
  collect_specials (tmpl);
  if (tokenizer != NULL)
    {
      g_autoptr(GArray) probe = temper_tokenizer_encode (tokenizer, "a", 1, FALSE);
      gsize len = 0;
      const char *bytes = probe->len > 0
                          ? temper_tokenizer_token_bytes (tokenizer, g_array_index (probe, gint32, 0), &len)
                          : NULL;
      tmpl->prefixes_space = bytes != NULL && len > 0 && bytes[0] == ' ';
    }
  return tmpl;
}

void
temper_chat_template_free (temper_chat_template_t *tmpl)
{
  if (tmpl == NULL)
    return;
  g_free (tmpl->default_system);
  g_free (tmpl->bos_text);
  g_free (tmpl->eos_text);
  g_free (tmpl->specials);
  g_free (tmpl);
}

TemperChatFamily
temper_chat_template_get_family (const temper_chat_template_t *tmpl)
{
  return tmpl->family;
}

const char *
temper_chat_family_name (TemperChatFamily family)
{
  switch (family)
    {
    case TEMPER_CHAT_FAMILY_CHATML:  return "ChatML";
    case TEMPER_CHAT_FAMILY_LLAMA2:  return "Llama 2";
    case TEMPER_CHAT_FAMILY_LLAMA3:  return "Llama 3";
    case TEMPER_CHAT_FAMILY_MISTRAL: return "Mistral";
    case TEMPER_CHAT_FAMILY_GEMMA:   return "Gemma";
    case TEMPER_CHAT_FAMILY_PHI3:    return "Phi-3";
    case TEMPER_CHAT_FAMILY_GLM4:    return "GLM-4";
    case TEMPER_CHAT_FAMILY_PLAIN:
    default:                         return "plain";
    }
}

gboolean
temper_chat_template_is_fallback (const temper_chat_template_t *tmpl)
{
  return tmpl->fallback;
}

const char *
temper_chat_template_get_default_system (const temper_chat_template_t *tmpl)
{
  return tmpl->default_system;
}

int
temper_chat_template_get_end_of_turn (const temper_chat_template_t *tmpl)
{
  return tmpl->end_of_turn;
}

const temper_tokenizer_t *
temper_chat_template_get_tokenizer (const temper_chat_template_t *tmpl)
{
  return tmpl->tokenizer;
}

const TemperChatSpecial *
temper_chat_template_get_specials (const temper_chat_template_t *tmpl, gsize *n_out)
{
  *n_out = tmpl->n_specials;
  return tmpl->specials;
}

gboolean
temper_chat_template_prefixes_space (const temper_chat_template_t *tmpl)
{
  return tmpl->prefixes_space;
}

/* ---- rendering ---- */

typedef struct {
  TemperChatRendering *out;
  gsize                answer_start;
} Builder;

static void
emit_len (Builder *b, const char *text, gsize len, gboolean markup)
{
  TemperChatSegment seg;
  GArray *segs = b->out->segments;

  if (len == 0)
    return;
  seg.start = b->out->text->len;
  g_string_append_len (b->out->text, text, len);
  seg.end = b->out->text->len;
  seg.markup = markup;
  /* Neighbours of one kind are one segment, which keeps the tokenizer's view
   * of the text identical to what a whole-string encoder would see. */
  if (segs->len > 0)
    {
      TemperChatSegment *last = &g_array_index (segs, TemperChatSegment, segs->len - 1);
      if (last->markup == markup && last->end == seg.start)
        {
          last->end = seg.end;
          return;
        }
    }
  g_array_append_val (segs, seg);
}

static void
markup (Builder *b, const char *text)
{
  emit_len (b, text, strlen (text), TRUE);
}

static void
content (Builder *b, const char *text)
{
  emit_len (b, text, strlen (text), FALSE);
}

static void
content_stripped (Builder *b, const char *text)
{
  gsize start, end;

  strip_bounds (text, &start, &end);
  emit_len (b, text + start, end - start, FALSE);
}

static void
answer_begin (Builder *b)
{
  b->answer_start = b->out->text->len;
}

static void
answer_end (Builder *b)
{
  TemperChatSpan span = { b->answer_start, b->out->text->len };

  if (span.end > span.start)
    g_array_append_val (b->out->trainable, span);
}

static const char *
role_name (TemperChatRole role)
{
  switch (role)
    {
    case TEMPER_CHAT_ROLE_SYSTEM:    return "system";
    case TEMPER_CHAT_ROLE_USER:      return "user";
    case TEMPER_CHAT_ROLE_ASSISTANT:
    default:                         return "assistant";
    }
}

/* Qwen3's answers: a thinking block "<think>…</think>" in the text is
 * split off as its template does; the last answer keeps it (empty when
 * the data has none: data without thinking trains the non-thinking form),
 * earlier answers lose it. */
static void
render_qwen3_answer (Builder *b, const char *text, gboolean keep_thinking)
{
  const char *close = strstr (text, "</think>");
  const char *reasoning = "", *reasoning_end = reasoning;

  if (close != NULL)
    {
      const char *open = NULL;

      for (const char *p = strstr (text, "<think>"); p != NULL && p < close; p = strstr (p + 1, "<think>"))
        open = p;
      reasoning = open != NULL ? open + strlen ("<think>") : text;
      reasoning_end = close;
      text = close + strlen ("</think>");
      while (reasoning < reasoning_end && *reasoning == '\n')
        reasoning++;
      while (reasoning_end > reasoning && reasoning_end[-1] == '\n')
        reasoning_end--;
    }
  if (close != NULL || keep_thinking)
    while (*text == '\n')
      text++;
  if (keep_thinking)
    {
      markup (b, "<think>\n");
      emit_len (b, reasoning, (gsize) (reasoning_end - reasoning), FALSE);
      markup (b, "\n</think>\n\n");
    }
  content (b, text);
}

static void
render_chatml (const temper_chat_template_t *tmpl, Builder *b,
               const TemperChatMessage *m, gsize n, gboolean gen)
{
  gsize last_user = 0;

  for (gsize i = 0; i < n; i++)
    if (m[i].role == TEMPER_CHAT_ROLE_USER)
      last_user = i;
  if (tmpl->default_system != NULL && (n == 0 || m[0].role != TEMPER_CHAT_ROLE_SYSTEM))
    {
      markup (b, "<|im_start|>system\n");
      markup (b, tmpl->default_system);
      markup (b, "<|im_end|>\n");
    }
  for (gsize i = 0; i < n; i++)
    {
      markup (b, "<|im_start|>");
      markup (b, role_name (m[i].role));
      markup (b, "\n");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_begin (b);
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT && tmpl->empty_thinking)
        render_qwen3_answer (b, m[i].content, i > last_user && i + 1 == n);
      else
        content (b, m[i].content);
      markup (b, "<|im_end|>");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_end (b);
      markup (b, "\n");
    }
  if (gen)
    {
      markup (b, "<|im_start|>assistant\n");
      if (tmpl->empty_thinking)
        markup (b, "<think>\n\n</think>\n\n");
    }
}

/* Gemma: the system message opens the first user turn; answers are the
 * "model" role, stripped. */
static void
render_gemma (const temper_chat_template_t *tmpl, Builder *b,
              const TemperChatMessage *m, gsize n, gboolean gen)
{
  const char *system = NULL;

  markup (b, tmpl->bos_text);
  b->out->text_has_bos = TRUE;
  for (gsize i = 0; i < n; i++)
    {
      if (m[i].role == TEMPER_CHAT_ROLE_SYSTEM)
        {
          system = m[i].content;
          continue;
        }
      markup (b, "<start_of_turn>");
      markup (b, m[i].role == TEMPER_CHAT_ROLE_ASSISTANT ? "model" : "user");
      markup (b, "\n");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_begin (b);
      if (system != NULL && m[i].role == TEMPER_CHAT_ROLE_USER)
        {
          content (b, system);
          content (b, "\n\n");
          system = NULL;
        }
      content_stripped (b, m[i].content);
      markup (b, "<end_of_turn>");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_end (b);
      markup (b, "\n");
    }
  if (gen)
    markup (b, "<start_of_turn>model\n");
}

static void
render_phi3 (const temper_chat_template_t *tmpl, Builder *b,
             const TemperChatMessage *m, gsize n, gboolean gen)
{
  const char *nl = tmpl->phi_newlines ? "\n" : "";

  for (gsize i = 0; i < n; i++)
    {
      markup (b, "<|");
      markup (b, role_name (m[i].role));
      markup (b, "|>");
      markup (b, nl);
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_begin (b);
      content (b, m[i].content);
      markup (b, "<|end|>");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_end (b);
      markup (b, nl);
    }
  if (gen)
    {
      markup (b, "<|assistant|>");
      markup (b, nl);
    }
  else
    markup (b, tmpl->eos_text);
}

/* GLM-4: no end marker of its own; an answer ends where the next user turn
 * begins, so <|user|> (its stop token) closes each answer. */
static void
render_glm4 (const temper_chat_template_t *tmpl, Builder *b,
             const TemperChatMessage *m, gsize n, gboolean gen)
{
  gboolean open_answer = FALSE;

  markup (b, "[gMASK]<sop>");
  for (gsize i = 0; i < n; i++)
    {
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        {
          markup (b, "<|assistant|>");
          answer_begin (b);
          markup (b, "\n");
          content (b, m[i].content);
          open_answer = TRUE;
          continue;
        }
      markup (b, m[i].role == TEMPER_CHAT_ROLE_SYSTEM ? "<|system|>" : "<|user|>");
      if (open_answer)
        answer_end (b);
      open_answer = FALSE;
      markup (b, "\n");
      content (b, m[i].content);
    }
  if (open_answer)
    {
      markup (b, "<|user|>");
      answer_end (b);
    }
  if (gen)
    markup (b, "<|assistant|>");
}

static void
render_llama3 (const temper_chat_template_t *tmpl, Builder *b,
               const TemperChatMessage *m, gsize n, gboolean gen)
{
  markup (b, tmpl->bos_text);
  b->out->text_has_bos = TRUE;
  for (gsize i = 0; i < n; i++)
    {
      markup (b, "<|start_header_id|>");
      markup (b, role_name (m[i].role));
      markup (b, "<|end_header_id|>\n\n");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_begin (b);
      content_stripped (b, m[i].content);
      markup (b, "<|eot_id|>");
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        answer_end (b);
    }
  if (gen)
    markup (b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Llama 2: the system message goes in a <<SYS>> block inside the first user
 * turn, and that whole turn is stripped as one string. */
static void
render_llama2 (const temper_chat_template_t *tmpl, Builder *b,
               const TemperChatMessage *m, gsize n)
{
  const char *system = NULL;
  gsize first = 0;

  if (n > 0 && m[0].role == TEMPER_CHAT_ROLE_SYSTEM)
    {
      system = m[0].content;
      first = 1;
    }
  for (gsize i = first; i < n; i++)
    {
      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        {
          markup (b, " ");
          answer_begin (b);
          content_stripped (b, m[i].content);
          markup (b, " ");
          markup (b, tmpl->eos_text);
          answer_end (b);
          continue;
        }
      if (m[i].role == TEMPER_CHAT_ROLE_SYSTEM)
        {
          /* A system message later on has no place of its own here; it joins
           * the next user turn the way the first one does. */
          system = m[i].content;
          continue;
        }
      markup (b, tmpl->bos_text);
      if (i == first)
        b->out->text_has_bos = TRUE;
      markup (b, "[INST] ");
      if (system != NULL)
        {
          gsize start, end;

          markup (b, "<<SYS>>\n");
          content (b, system);
          strip_bounds (m[i].content, &start, &end);
          /* The turn is stripped as a whole, so an empty question also loses
           * the blank lines after <</SYS>>. */
          markup (b, end > start ? "\n<</SYS>>\n\n" : "\n<</SYS>>");
          if (end > start)
            emit_len (b, m[i].content, end, FALSE);
          system = NULL;
        }
      else
        content_stripped (b, m[i].content);
      markup (b, " [/INST]");
    }
}

static void
render_mistral (const temper_chat_template_t *tmpl, Builder *b,
                const TemperChatMessage *m, gsize n)
{
  const char *system = NULL;
  gsize first = 0;
  gboolean first_user_seen = FALSE;

  if (n > 0 && m[0].role == TEMPER_CHAT_ROLE_SYSTEM)
    {
      system = m[0].content;
      first = 1;
    }
  markup (b, tmpl->bos_text);
  b->out->text_has_bos = TRUE;
  for (gsize i = first; i < n; i++)
    {
      gboolean carries_system;

      if (m[i].role == TEMPER_CHAT_ROLE_ASSISTANT)
        {
          markup (b, tmpl->answer_prefix);
          answer_begin (b);
          if (tmpl->trim_answer)
            content_stripped (b, m[i].content);
          else
            content (b, m[i].content);
          markup (b, tmpl->eos_text);
          answer_end (b);
          continue;
        }
      if (m[i].role == TEMPER_CHAT_ROLE_SYSTEM)
        {
          system = m[i].content;
          continue;
        }
      /* The v3 template only shows the system message when the user turn is
       * the very last message, so a finished conversation loses it. */
      carries_system = system != NULL &&
                       (tmpl->system_on_last_turn ? i + 1 == n : !first_user_seen);
      first_user_seen = TRUE;
      markup (b, tmpl->inst_open);
      if (carries_system)
        {
          content (b, system);
          markup (b, "\n\n");
          system = NULL;
        }
      content (b, m[i].content);
      markup (b, tmpl->inst_close);
    }
}

static void
render_plain (const temper_chat_template_t *tmpl, Builder *b,
              const TemperChatMessage *m, gsize n, gboolean gen)
{
  for (gsize i = 0; i < n; i++)
    {
      switch (m[i].role)
        {
        case TEMPER_CHAT_ROLE_SYSTEM:
          content (b, m[i].content);
          markup (b, "\n\n");
          break;
        case TEMPER_CHAT_ROLE_USER:
          markup (b, "User: ");
          content (b, m[i].content);
          markup (b, "\n");
          break;
        case TEMPER_CHAT_ROLE_ASSISTANT:
        default:
          markup (b, "Assistant:");
          answer_begin (b);
          markup (b, " ");
          content (b, m[i].content);
          markup (b, tmpl->eos_text);
          answer_end (b);
          markup (b, "\n");
          break;
        }
    }
  if (gen)
    markup (b, "Assistant:");
}

void
temper_chat_render_full (const temper_chat_template_t *tmpl,
                         const TemperChatMessage      *messages,
                         gsize                         n_messages,
                         gboolean                      add_generation_prompt,
                         TemperChatRendering          *out)
{
  Builder b = { out, 0 };

  out->text = g_string_new (NULL);
  out->segments = g_array_new (FALSE, FALSE, sizeof (TemperChatSegment));
  out->trainable = g_array_new (FALSE, FALSE, sizeof (TemperChatSpan));
  out->text_has_bos = FALSE;

  switch (tmpl->family)
    {
    case TEMPER_CHAT_FAMILY_CHATML:
      render_chatml (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    case TEMPER_CHAT_FAMILY_LLAMA3:
      render_llama3 (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    case TEMPER_CHAT_FAMILY_LLAMA2:
      /* The prompt for an answer is the history itself, ending in [/INST]. */
      render_llama2 (tmpl, &b, messages, n_messages);
      break;
    case TEMPER_CHAT_FAMILY_MISTRAL:
      render_mistral (tmpl, &b, messages, n_messages);
      break;
    case TEMPER_CHAT_FAMILY_GEMMA:
      render_gemma (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    case TEMPER_CHAT_FAMILY_PHI3:
      render_phi3 (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    case TEMPER_CHAT_FAMILY_GLM4:
      render_glm4 (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    case TEMPER_CHAT_FAMILY_PLAIN:
    default:
      render_plain (tmpl, &b, messages, n_messages, add_generation_prompt);
      break;
    }
  if (*tmpl->bos_text == '\0')
    out->text_has_bos = FALSE;
}

void
temper_chat_rendering_clear (TemperChatRendering *rendering)
{
  if (rendering->text != NULL)
    g_string_free (rendering->text, TRUE);
  g_clear_pointer (&rendering->segments, g_array_unref);
  g_clear_pointer (&rendering->trainable, g_array_unref);
  rendering->text = NULL;
}

char *
temper_chat_template_render (const temper_chat_template_t *tmpl,
                             const TemperChatMessage      *messages,
                             gsize                         n_messages,
                             gboolean                      add_generation_prompt)
{
  TemperChatRendering r = { 0 };
  char *text;

  temper_chat_render_full (tmpl, messages, n_messages, add_generation_prompt, &r);
  text = g_string_free (r.text, FALSE);
  r.text = NULL;
  temper_chat_rendering_clear (&r);
  return text;
}
