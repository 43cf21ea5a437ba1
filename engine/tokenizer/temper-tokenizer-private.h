/* SPDX-License-Identifier: MIT */
/* temper-tokenizer-private.h — the tokenizer's insides, shared by the
 * encoder, the decoder and the two loaders (GGUF and tokenizer.json). */
#pragma once

#include <glib.h>

#include "temper/tokenizer.h"
#include "temper-pretokenizer-private.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_TOKENIZER_BYTE_LEVEL,   /* GPT-2 style: bytes mapped to printable characters */
  TEMPER_TOKENIZER_SPM,          /* SentencePiece style: ▁ for space, <0xXX> byte tokens */
} TemperTokenizerKind;

/* When a ▁ is put in front of a stretch of text (SentencePiece style). */
typedef enum {
  TEMPER_PREPEND_NEVER,
  TEMPER_PREPEND_FIRST,   /* only the stretch at the very start of the text */
  TEMPER_PREPEND_ALWAYS,  /* every stretch between added tokens */
} TemperPrepend;

typedef enum {
  TEMPER_NORMALIZE_NONE,
  TEMPER_NORMALIZE_NFC,
  TEMPER_NORMALIZE_NFKC,
} TemperNormalize;

enum {
  TEMPER_TOKEN_SPECIAL = 1 << 0,  /* control token: matched only with parse_special */
  TEMPER_TOKEN_ADDED   = 1 << 1,  /* matched in raw text before pre-tokenization */
  TEMPER_TOKEN_LSTRIP  = 1 << 2,
  TEMPER_TOKEN_RSTRIP  = 1 << 3,
  TEMPER_TOKEN_SINGLE_WORD = 1 << 4,
  TEMPER_TOKEN_BYTE    = 1 << 5,  /* SentencePiece <0xXX> byte token */
};

/* A merge table: (left id, right id) → (rank, merged id), open addressing. */
typedef struct {
  guint64 *keys;     /* 0 = empty slot */
  gint32  *ranks;
  gint32  *results;
  gsize    mask;
  gsize    count;
} TemperMergeTable;

struct temper_tokenizer {
  TemperTokenizerKind kind;
  int       n_vocab;
  char    **pieces;       /* spelling in the vocabulary; "" for unused ids */
  char    **bytes;        /* raw bytes each token stands for */
  guint32  *bytes_len;
  guint8   *flags;
  GHashTable *piece_to_id; /* pieces[i] → i + 1 */

  TemperMergeTable merges;
  TemperPreStep pre_steps[TEMPER_MAX_PRE_STEPS];
  int       n_pre_steps;
  gboolean  ignore_merges;
  gboolean  byte_fallback;
  gboolean  fuse_unk;
  int       byte_tokens[256];   /* id of the token for each byte, or -1 */

  TemperNormalize normalize;
  TemperPrepend   prepend;
  /* HF Metaspace does not prepend when the stretch already starts with ▁; the
   * legacy Prepend normalizer always does. */
  gboolean  prepend_unless_space;
  gboolean  split_on_space;     /* Metaspace split=true: words end before each ▁ */
  gboolean  strip_leading_space;/* decoder drops one leading space */

  int      *added_ids;          /* added tokens, longest first */
  int       n_added;
  guint8    added_first_byte[256];

  int       unk, bos, eos, pad;
  /* What text with no token of its own becomes: the tokenizer model's own
   * unknown token, or -1 to drop it, as Hugging Face tokenizers do.  Not
   * always unk: tokenizer_config.json and GGUF files name an unk_token
   * (often end-of-text) that the model itself never uses for encoding. */
  int       unknown_id;
  gboolean  add_bos;
  char     *chat_template;
};

/* Builder helpers (temper-tokenizer-build.c). */
temper_tokenizer_t *temper_tokenizer_alloc (TemperTokenizerKind kind, int n_vocab);
/* Takes a copy of @piece for id @id; FALSE if the id was already set. */
gboolean temper_tokenizer_set_piece (temper_tokenizer_t *tok, int id, const char *piece, gsize len);
/* Adds merge @rank: @left + @right, both spelled as in the vocabulary.  Fails
 * with a message naming @source when a part or the result is not a token. */
gboolean temper_tokenizer_add_merge (temper_tokenizer_t *tok, const char *left, gsize left_len,
                                     const char *right, gsize right_len, int rank,
                                     const char *source, GError **error);
/* SentencePiece vocabularies carry scores instead of merges: every split of a
 * normal token into two tokens becomes a merge ranked by the token's score. */
void     temper_tokenizer_merges_from_scores (temper_tokenizer_t *tok, const float *scores,
                                              const gboolean *is_normal);
/* Fills the byte tables, the raw bytes of every token and the added-token
 * index; call after all pieces and flags are set. */
gboolean temper_tokenizer_finish (temper_tokenizer_t *tok, const char *source, GError **error);

void     temper_merge_table_init  (TemperMergeTable *table, gsize expected);
void     temper_merge_table_clear (TemperMergeTable *table);
void     temper_merge_table_insert (TemperMergeTable *table, gint32 left, gint32 right,
                                    gint32 rank, gint32 result);
gboolean temper_merge_table_lookup (const TemperMergeTable *table, gint32 left, gint32 right,
                                    gint32 *rank, gint32 *result);

/* Scratch space for BPE, reused across the words of one encode call. */
typedef struct {
  GArray *ids;    /* gint32 */
  GArray *prev;   /* gint32 */
  GArray *next;   /* gint32 */
  GArray *heap;   /* TemperBpeCandidate */
} TemperBpeScratch;

void temper_bpe_scratch_init  (TemperBpeScratch *scratch);
void temper_bpe_scratch_clear (TemperBpeScratch *scratch);
/* Merges the symbols in scratch->ids (already filled) and appends the result
 * to @out. */
void temper_bpe_merge (const TemperMergeTable *merges, TemperBpeScratch *scratch, GArray *out);

/* The GPT-2 byte → character map. */
guint32 temper_byte_to_unicode (guint8 byte);
/* The byte a mapped character stands for, or -1. */
int     temper_unicode_to_byte (guint32 cp);

/* The pre-tokenizer names of GGUF's tokenizer.ggml.pre (llama.cpp's names)
 * and the splitting each stands for.  Loading reads it by name; exporting
 * reads it backwards, by the splitting a tokenizer.json asked for. */
typedef struct {
  const char     *name;
  TemperPreStep   steps[2];
  int             n_steps;
  gboolean        ignore_merges;
  /* GGUF keeps no normalizer; Qwen2's tokenizer.json has NFC, so loading
   * restores it to give Hugging Face's ids. */
  TemperNormalize normalize;
} TemperGgufPreTokenizer;

/* NULL for a name Temper does not know. */
const TemperGgufPreTokenizer *temper_gguf_pre_tokenizer_by_name (const char *name);
/* The first name whose splitting (steps and merge behaviour) is @tok's, or
 * NULL.  The normalizer does not take part: like llama.cpp's converter, the
 * name follows the splitting alone. */
const char *temper_gguf_pre_tokenizer_name_for (const temper_tokenizer_t *tok);
/* "gpt-2, default, smollm, …" for messages. */
char       *temper_gguf_pre_tokenizer_list     (void);

G_END_DECLS
