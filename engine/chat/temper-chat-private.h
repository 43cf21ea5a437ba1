/* SPDX-License-Identifier: MIT */
/* temper-chat-private.h — what the renderer hands the tokenizing half. */
#pragma once

#include "temper/chat.h"

G_BEGIN_DECLS

/* A byte range of the rendered text.  Markup is the template's own text, where
 * special tokens may appear; content is message text, where they never do. */
typedef struct {
  gsize    start;
  gsize    end;
  gboolean markup;
} TemperChatSegment;

typedef struct {
  gsize start;
  gsize end;
} TemperChatSpan;

typedef struct {
  GString *text;
  GArray  *segments;    /* TemperChatSegment, in order, covering text */
  GArray  *trainable;   /* TemperChatSpan: each assistant answer through its end-of-turn marker */
  gboolean text_has_bos;/* the template itself wrote the BOS token */
} TemperChatRendering;

/* A markup string that is a special token of the tokenizer. */
typedef struct {
  const char *text;
  gsize       len;
  int         id;
} TemperChatSpecial;

void temper_chat_render_full      (const temper_chat_template_t *tmpl,
                                   const TemperChatMessage      *messages,
                                   gsize                         n_messages,
                                   gboolean                      add_generation_prompt,
                                   TemperChatRendering          *out);
void temper_chat_rendering_clear  (TemperChatRendering *rendering);

/* The special tokens the template's markup may contain (those the tokenizer
 * knows); @n_out receives the count. */
const TemperChatSpecial *temper_chat_template_get_specials (const temper_chat_template_t *tmpl,
                                                            gsize *n_out);
/* Whether the tokenizer starts a text with a space of its own
 * (SentencePiece); such tokenizers may treat text after a special token
 * differently from text at the start. */
gboolean temper_chat_template_prefixes_space (const temper_chat_template_t *tmpl);

G_END_DECLS
