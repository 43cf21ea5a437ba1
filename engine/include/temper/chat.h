/* SPDX-License-Identifier: MIT */
/* chat.h — turning a conversation into the text and tokens a model expects.
 *
 * A template is recognised from the Jinja text stored with the model
 * (tokenizer.chat_template) and rendered by Temper's own code, family by
 * family: ChatML (SmolLM2, Qwen2, Qwen2.5), Llama 2, Llama 3 and Mistral's
 * [INST] variants.  A model with no template, or one Temper does not know,
 * gets a plain "User: … / Assistant: …" layout and temper_chat_template_is_fallback()
 * says so, so the app can warn that answers may look odd.
 *
 * Token ids come from the model's tokenizer.  The template's own markup is
 * encoded with special tokens recognised; the text of the messages never is,
 * so a user writing "<|im_start|>" gets those characters, not the control token. */
#pragma once

#include <glib.h>
#include "temper/tokenizer.h"

G_BEGIN_DECLS

typedef struct temper_chat_template temper_chat_template_t;

typedef enum {
  TEMPER_CHAT_ROLE_SYSTEM,
  TEMPER_CHAT_ROLE_USER,
  TEMPER_CHAT_ROLE_ASSISTANT,
} TemperChatRole;

typedef struct {
  TemperChatRole  role;
  const char     *content;   /* UTF-8, NUL-terminated */
} TemperChatMessage;

typedef enum {
  TEMPER_CHAT_FAMILY_PLAIN,    /* no template, or one Temper does not recognise */
  TEMPER_CHAT_FAMILY_CHATML,   /* <|im_start|>role\n…<|im_end|> */
  TEMPER_CHAT_FAMILY_LLAMA2,   /* <s>[INST] <<SYS>>…<</SYS>> … [/INST] … </s> */
  TEMPER_CHAT_FAMILY_LLAMA3,   /* <|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|> */
  TEMPER_CHAT_FAMILY_MISTRAL,  /* [INST] … [/INST] …</s>, system folded into a user turn */
  TEMPER_CHAT_FAMILY_GEMMA,    /* <start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n… */
  TEMPER_CHAT_FAMILY_PHI3,     /* <|user|>\n…<|end|>\n<|assistant|>\n…<|end|> (Phi-4-mini: no newlines) */
  TEMPER_CHAT_FAMILY_GLM4,     /* [gMASK]<sop><|user|>\n…<|assistant|>\n… */
} TemperChatFamily;

/* Tokens of a rendered conversation.  mask[i] is 1 where training's loss
 * counts token i: the assistant's words and the token that ends its turn. */
typedef struct {
  GArray *ids;    /* gint32 */
  GArray *mask;   /* guint8, same length as ids */
} TemperChatTokens;

/* @jinja: the model's chat template, or NULL.  @tokenizer may be NULL for
 * rendering text only; it is borrowed and must outlive the template.  Never
 * fails: an unknown template gives the plain layout. */
temper_chat_template_t *temper_chat_template_new  (const char               *jinja,
                                                   const temper_tokenizer_t *tokenizer);
void                    temper_chat_template_free (temper_chat_template_t *tmpl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_chat_template_t, temper_chat_template_free)

TemperChatFamily temper_chat_template_get_family (const temper_chat_template_t *tmpl);
/* "ChatML", "Llama 2", "Llama 3", "Mistral", "plain". */
const char *temper_chat_family_name (TemperChatFamily family);
/* TRUE when the plain layout is used because the model's template is missing
 * or not recognised; answers from such a model may not follow the format it
 * was trained on. */
gboolean    temper_chat_template_is_fallback (const temper_chat_template_t *tmpl);
/* The system message the template inserts when a conversation has none
 * (taken from the template text), or NULL. */
const char *temper_chat_template_get_default_system (const temper_chat_template_t *tmpl);
/* The token that closes an assistant turn (<|im_end|>, <|eot_id|>, or the
 * tokenizer's EOS), or -1 without a tokenizer. */
int         temper_chat_template_get_end_of_turn (const temper_chat_template_t *tmpl);
const temper_tokenizer_t *temper_chat_template_get_tokenizer (const temper_chat_template_t *tmpl);

/* The conversation as the model's template writes it.  With
 * @add_generation_prompt the text ends with the header that makes the model
 * answer as the assistant.  Returns a new string. */
char *temper_chat_template_render (const temper_chat_template_t *tmpl,
                                   const TemperChatMessage      *messages,
                                   gsize                         n_messages,
                                   gboolean                      add_generation_prompt);

/* Renders and tokenizes.  BOS comes first when the template writes one or the
 * tokenizer asks for it.  Needs a tokenizer.  @out is filled with new arrays
 * (release with temper_chat_tokens_clear).  Fails only when a token the
 * template needs is missing from the vocabulary. */
gboolean temper_chat_template_tokenize (const temper_chat_template_t *tmpl,
                                        const TemperChatMessage      *messages,
                                        gsize                         n_messages,
                                        gboolean                      add_generation_prompt,
                                        TemperChatTokens             *out,
                                        GError                      **error);
void     temper_chat_tokens_clear     (TemperChatTokens *tokens);

G_END_DECLS
