/* SPDX-License-Identifier: MIT */
/* tokenizer.h — byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM) and
 * SentencePiece-style BPE with byte fallback (Llama 2, Mistral).
 *
 * Token ids equal those of the Hugging Face `tokenizers` library.  A loaded
 * tokenizer never changes, so several threads may encode and decode with it
 * at once. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include "temper/gguf.h"

G_BEGIN_DECLS

typedef struct temper_tokenizer temper_tokenizer_t;

/* From the tokenizer.ggml.* keys of a GGUF file. */
temper_tokenizer_t *temper_tokenizer_new_from_gguf (const temper_gguf_t *gguf,
                                                    GError **error);
/* From a Hugging Face folder: tokenizer.json, plus tokenizer_config.json for
 * bos/eos and add_bos when present (@config_path may be NULL). */
temper_tokenizer_t *temper_tokenizer_new_from_hf   (const char *tokenizer_json_path,
                                                    const char *config_path,
                                                    GError **error);
void                temper_tokenizer_free          (temper_tokenizer_t *tok);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_tokenizer_t, temper_tokenizer_free)

int  temper_tokenizer_get_n_vocab (const temper_tokenizer_t *tok);
int  temper_tokenizer_get_bos     (const temper_tokenizer_t *tok);  /* -1 if none */
int  temper_tokenizer_get_eos     (const temper_tokenizer_t *tok);  /* -1 if none */
int  temper_tokenizer_get_pad     (const temper_tokenizer_t *tok);  /* -1 if none */
gboolean temper_tokenizer_adds_bos(const temper_tokenizer_t *tok);
/* The id of a token spelled exactly @text (e.g. "<|im_end|>"), or -1. */
int  temper_tokenizer_find_token  (const temper_tokenizer_t *tok, const char *text);
gboolean temper_tokenizer_is_special (const temper_tokenizer_t *tok, int id);
/* The token as spelled in the vocabulary ("Ġthe", "▁the", "<0x0A>"), or NULL
 * for an id outside it.  Valid for the tokenizer's life. */
const char *temper_tokenizer_get_piece (const temper_tokenizer_t *tok, int id);
/* The Jinja chat template that came with the tokenizer (tokenizer.chat_template
 * in GGUF; tokenizer_config.json or chat_template.jinja in a Hugging Face
 * folder), or NULL. */
const char *temper_tokenizer_get_chat_template (const temper_tokenizer_t *tok);

/* Encodes UTF-8 @text (@len bytes, or -1 for NUL-terminated).  With
 * @parse_special, added/special token strings in the text become their ids;
 * without, they are tokenized as plain text.  No BOS is added here: callers
 * (the chat template) decide.  Returns the ids in a new GArray of gint32. */
GArray *temper_tokenizer_encode (const temper_tokenizer_t *tok,
                                 const char *text, gssize len,
                                 gboolean parse_special);
/* The bytes of one token (byte-level pieces mapped back to raw bytes; SPM ▁ to
 * space).  Returns a pointer valid for the tokenizer's life and sets *len.
 * A single token may be an incomplete UTF-8 sequence. */
const char *temper_tokenizer_token_bytes (const temper_tokenizer_t *tok, int id,
                                          gsize *len);
/* Decodes @n ids to a newly allocated string (invalid UTF-8 replaced by U+FFFD).
 * With @skip_special, special tokens are left out. */
char *temper_tokenizer_decode (const temper_tokenizer_t *tok, const gint32 *ids,
                               gsize n, gboolean skip_special);

G_END_DECLS
