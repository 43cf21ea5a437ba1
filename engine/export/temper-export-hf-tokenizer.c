/* SPDX-License-Identifier: MIT */
/* temper-export-hf-tokenizer.c — a tokenizer Temper has loaded (from a
 * GGUF's vocabulary and merges) written as Hugging Face's tokenizer.json and
 * tokenizer_config.json, spelled so that the tokenizers library splits text
 * into the same ids as Temper. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-export-private.h"
#include "temper-tokenizer-private.h"

/* The Split regexes Hugging Face tokenizers use for these steps (the same
 * strings temper_pre_step_from_regex() recognises). */
static const char *
split_regex (TemperPreStep step)
{
  switch (step)
    {
    case TEMPER_PRE_LLAMA3:
      return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    case TEMPER_PRE_QWEN2:
      return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    default:
      return NULL;
    }
}

static void
byte_level (JsonBuilder *b, gboolean use_regex)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ByteLevel");
  json_builder_set_member_name (b, "add_prefix_space");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "trim_offsets");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "use_regex");
  json_builder_add_boolean_value (b, use_regex);
  json_builder_end_object (b);
}

/* The pre-tokenizer steps, then the byte-to-character mapping (which GPT-2's
 * own step does together with its regex). */
static void
pre_tokenizer (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  gboolean mapped = FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Sequence");
  json_builder_set_member_name (b, "pretokenizers");
  json_builder_begin_array (b);
  for (int i = 0; i < tok->n_pre_steps; i++)
    {
      TemperPreStep step = tok->pre_steps[i];

      if (step == TEMPER_PRE_GPT2)
        {
          byte_level (b, TRUE);
          mapped = TRUE;
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      if (step == TEMPER_PRE_DIGITS_ISOLATED || step == TEMPER_PRE_DIGITS_GROUPED)
        {
          json_builder_add_string_value (b, "Digits");
          json_builder_set_member_name (b, "individual_digits");
          json_builder_add_boolean_value (b, step == TEMPER_PRE_DIGITS_ISOLATED);
        }
      else
        {
          json_builder_add_string_value (b, "Split");
          json_builder_set_member_name (b, "pattern");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "Regex");
          json_builder_add_string_value (b, split_regex (step));
          json_builder_end_object (b);
          json_builder_set_member_name (b, "behavior");
          json_builder_add_string_value (b, "Isolated");
          json_builder_set_member_name (b, "invert");
          json_builder_add_boolean_value (b, FALSE);
        }
      json_builder_end_object (b);
    }
  if (!mapped)
    byte_level (b, FALSE);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

#define SPM_SPACE "\xe2\x96\x81"   /* ▁ */

/* SentencePiece: spaces become ▁, one put in front of the text as @tok
 * says, no other splitting. */
static void
metaspace (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Metaspace");
  json_builder_set_member_name (b, "replacement");
  json_builder_add_string_value (b, SPM_SPACE);
  json_builder_set_member_name (b, "prepend_scheme");
  json_builder_add_string_value (b, tok->prepend == TEMPER_PREPEND_FIRST ? "first"
                                    : tok->prepend == TEMPER_PREPEND_ALWAYS ? "always" : "never");
  json_builder_set_member_name (b, "split");
  json_builder_add_boolean_value (b, tok->split_on_space);
  json_builder_end_object (b);
}

static void
typed (JsonBuilder *b, const char *type)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_end_object (b);
}

/* ▁ back to spaces, byte tokens back to bytes, and the space the encoder
 * put in front dropped, as Hugging Face's Llama tokenizers decode. */
static void
spm_decoder (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Sequence");
  json_builder_set_member_name (b, "decoders");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "Replace");
  json_builder_set_member_name (b, "pattern");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "String");
  json_builder_add_string_value (b, SPM_SPACE);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, " ");
  json_builder_end_object (b);
  typed (b, "ByteFallback");
  typed (b, "Fuse");
  if (tok->strip_leading_space)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "Strip");
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, " ");
      json_builder_set_member_name (b, "start");
      json_builder_add_int_value (b, 1);
      json_builder_set_member_name (b, "stop");
      json_builder_add_int_value (b, 0);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* BOS in front of every text, as the GGUF's add_bos_token says. */
static void
post_processor (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  const char *bos = tok->pieces[tok->bos];

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "TemplateProcessing");
  for (int pair = 0; pair < 2; pair++)
    {
      json_builder_set_member_name (b, pair ? "pair" : "single");
      json_builder_begin_array (b);
      for (int part = 0; part < (pair ? 2 : 1); part++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "SpecialToken");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, bos);
          json_builder_set_member_name (b, "type_id");
          json_builder_add_int_value (b, part);
          json_builder_end_object (b);
          json_builder_end_object (b);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "Sequence");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, part ? "B" : "A");
          json_builder_set_member_name (b, "type_id");
          json_builder_add_int_value (b, part);
          json_builder_end_object (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "special_tokens");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, bos);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, bos);
  json_builder_set_member_name (b, "ids");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, tok->bos);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "tokens");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, bos);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static gboolean
has_piece (const temper_tokenizer_t *tok, int id)
{
  return id >= 0 && id < tok->n_vocab && tok->pieces[id] != NULL && tok->pieces[id][0] != '\0';
}

/* Whether tokenizer.json can say how @tok splits text. */
static gboolean
check_writable (const temper_tokenizer_t *tok, const char *path, GError **error)
{
  /* SentencePiece vocabularies as Metaspace writes them (GGUF's "llama"
   * model always loads so); the legacy Prepend normalizer is not written. */
  if (tok->kind == TEMPER_TOKENIZER_SPM && (!tok->prepend_unless_space || tok->n_pre_steps > 0))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” has a SentencePiece tokenizer, which Temper cannot write as a Hugging "
                   "Face tokenizer yet. Export a merged GGUF or the PEFT adapter instead."), path);
      return FALSE;
    }
  for (int i = 0; i < tok->n_pre_steps; i++)
    if (tok->pre_steps[i] != TEMPER_PRE_GPT2 && tok->pre_steps[i] != TEMPER_PRE_DIGITS_ISOLATED
        && tok->pre_steps[i] != TEMPER_PRE_DIGITS_GROUPED && split_regex (tok->pre_steps[i]) == NULL)
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("“%s” splits text in a way Temper cannot write as a Hugging Face "
                     "tokenizer. Export a merged GGUF or the PEFT adapter instead."), path);
        return FALSE;
      }
  return TRUE;
}

gboolean
temper_export_hf_from_gguf_supported (const temper_model_t *model, GError **error)
{
  g_autofree char *file = NULL;
  TemperExportRope rope;

  if (!temper_export_check_family (model, error) || !temper_export_rope_describe (model, &rope, error))
    return FALSE;
  file = g_path_get_basename (temper_model_get_path (model));
  return check_writable (temper_model_get_tokenizer (model), file, error);
}

/* The "added_tokens" member: control and user-defined tokens, matched in
 * the raw text as Temper matches them. */
static void
added_tokens (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  json_builder_set_member_name (b, "added_tokens");
  json_builder_begin_array (b);
  for (int id = 0; id < tok->n_vocab; id++)
    {
      guint8 f = tok->flags[id];

      if (!(f & (TEMPER_TOKEN_SPECIAL | TEMPER_TOKEN_ADDED)) || !has_piece (tok, id))
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, id);
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, tok->pieces[id]);
      json_builder_set_member_name (b, "single_word");
      json_builder_add_boolean_value (b, (f & TEMPER_TOKEN_SINGLE_WORD) != 0);
      json_builder_set_member_name (b, "lstrip");
      json_builder_add_boolean_value (b, (f & TEMPER_TOKEN_LSTRIP) != 0);
      json_builder_set_member_name (b, "rstrip");
      json_builder_add_boolean_value (b, (f & TEMPER_TOKEN_RSTRIP) != 0);
      json_builder_set_member_name (b, "normalized");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "special");
      json_builder_add_boolean_value (b, (f & TEMPER_TOKEN_SPECIAL) != 0);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* The "model" member: BPE with the vocabulary and the merges by rank. */
static void
bpe_model (JsonBuilder *b, const temper_tokenizer_t *tok)
{
  g_autoptr(GArray) merges = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean spm = tok->kind == TEMPER_TOKENIZER_SPM;

  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "BPE");
  json_builder_set_member_name (b, "dropout");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "unk_token");
  if (spm && has_piece (tok, tok->unk))
    json_builder_add_string_value (b, tok->pieces[tok->unk]);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "continuing_subword_prefix");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "end_of_word_suffix");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "fuse_unk");
  json_builder_add_boolean_value (b, tok->fuse_unk);
  json_builder_set_member_name (b, "byte_fallback");
  json_builder_add_boolean_value (b, tok->byte_fallback);
  json_builder_set_member_name (b, "ignore_merges");
  json_builder_add_boolean_value (b, tok->ignore_merges);
  json_builder_set_member_name (b, "vocab");
  json_builder_begin_object (b);
  for (int id = 0; id < tok->n_vocab; id++)
    {
      /* A spelling listed twice keeps its first id, as the GGUF loader does. */
      if (!has_piece (tok, id) || !g_hash_table_add (seen, tok->pieces[id]))
        continue;
      json_builder_set_member_name (b, tok->pieces[id]);
      json_builder_add_int_value (b, id);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "merges");
  json_builder_begin_array (b);
  merges = temper_export_merges_by_rank (tok);
  for (guint m = 0; m < merges->len; m++)
    {
      const TemperExportMerge *e = &g_array_index (merges, TemperExportMerge, m);
      const char *left = tok->pieces[e->left], *right = tok->pieces[e->right];

      /* "left right" unless a piece holds a space: then the pair form. */
      if (strchr (left, ' ') == NULL && strchr (right, ' ') == NULL)
        {
          g_autofree char *line = g_strdup_printf ("%s %s", left, right);
          json_builder_add_string_value (b, line);
          continue;
        }
      json_builder_begin_array (b);
      json_builder_add_string_value (b, left);
      json_builder_add_string_value (b, right);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

JsonNode *
temper_export_tokenizer_json (const temper_tokenizer_t *tok, const char *path, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gboolean spm = tok->kind == TEMPER_TOKENIZER_SPM;

  if (!check_writable (tok, path, error))
    return NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, "1.0");
  json_builder_set_member_name (b, "truncation");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "padding");
  json_builder_add_null_value (b);

  added_tokens (b, tok);

  json_builder_set_member_name (b, "normalizer");
  if (tok->normalize == TEMPER_NORMALIZE_NONE)
    json_builder_add_null_value (b);
  else
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, tok->normalize == TEMPER_NORMALIZE_NFC ? "NFC" : "NFKC");
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "pre_tokenizer");
  if (spm)
    metaspace (b, tok);
  else
    pre_tokenizer (b, tok);
  json_builder_set_member_name (b, "post_processor");
  if (tok->add_bos && has_piece (tok, tok->bos))
    post_processor (b, tok);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "decoder");
  if (spm)
    spm_decoder (b, tok);
  else
    byte_level (b, TRUE);

  bpe_model (b, tok);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
token_member (JsonBuilder *b, const temper_tokenizer_t *tok, const char *key, int id)
{
  if (!has_piece (tok, id))
    return;
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, tok->pieces[id]);
}

JsonNode *
temper_export_tokenizer_config_json (const temper_tokenizer_t *tok, const char *chat_template,
                                     int n_ctx)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tokenizer_class");
  json_builder_add_string_value (b, "PreTrainedTokenizerFast");
  json_builder_set_member_name (b, "add_bos_token");
  json_builder_add_boolean_value (b, tok->add_bos);
  json_builder_set_member_name (b, "add_eos_token");
  json_builder_add_boolean_value (b, FALSE);
  token_member (b, tok, "bos_token", tok->bos);
  token_member (b, tok, "eos_token", tok->eos);
  token_member (b, tok, "unk_token", tok->unk);
  token_member (b, tok, "pad_token", tok->pad);
  json_builder_set_member_name (b, "clean_up_tokenization_spaces");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "model_max_length");
  json_builder_add_int_value (b, n_ctx);
  if (chat_template != NULL)
    {
      json_builder_set_member_name (b, "chat_template");
      json_builder_add_string_value (b, chat_template);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
