/* SPDX-License-Identifier: MIT */
/* tiny-model.h — tiny but complete models written by the tests themselves:
 * a GGUF file (our writer) and a Hugging Face folder (config.json,
 * safetensors, tokenizer files).  The vocabulary is the 256 byte-level
 * characters, three ChatML special tokens and one merge. */
#pragma once

#include <json-glib/json-glib.h>

#include "temper/gguf.h"
#include "temper/safetensors.h"
#include "temper/tensor.h"
#include "model-test-util.h"

#define TINY_N_TOKENS 260      /* 256 bytes, <|endoftext|>, <|im_start|>, <|im_end|>, "ab" */
#define TINY_ENDOFTEXT 256
#define TINY_IM_START 257
#define TINY_IM_END 258

typedef struct {
  const char *arch;          /* "llama", "qwen2", or anything to test refusal */
  int         n_layer, n_embd, n_head, n_head_kv, n_ff;
  int         n_vocab;       /* embedding rows (≥ TINY_N_TOKENS normally) */
  gboolean    untied;        /* write output.weight / lm_head.weight */
  gboolean    biases;        /* write q/k/v biases */
  int         matrix_type;   /* GGUF only: TemperType of the linear weights */
  gint64      bos_id;
  const char *skip_tensor;   /* a tensor name to leave out, or NULL */
  gint64      file_type;     /* GGUF general.file_type, or -1 to leave it out */
  const char *source_repo;   /* GGUF general.source.huggingface.repository, or NULL */
  const char *eos_text;      /* GGUF only: the end-of-text token's text instead of <|im_end|> */
} TinySpec;

static inline TinySpec
tiny_spec_default (const char *arch)
{
  TinySpec s = { arch, 2, 32, 4, 2, 64, TINY_N_TOKENS, FALSE, FALSE, TEMPER_TYPE_Q8_0, TINY_IM_START, NULL, -1, NULL };
  return s;
}

/* GPT-2's byte → character map, as UTF-8. */
static inline char *
tiny_byte_token (int byte)
{
  int n = 0;
  gunichar c;
  char buf[8] = { 0 };

  if ((byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff))
    c = (gunichar) byte;
  else
    {
      for (int b = 0; b < byte; b++)
        if (!((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)))
          n++;
      c = 256 + (gunichar) n;
    }
  g_unichar_to_utf8 (c, buf);
  return g_strdup (buf);
}

static inline char **
tiny_tokens (void)
{
  char **tokens = g_new0 (char *, TINY_N_TOKENS + 1);

  for (int i = 0; i < 256; i++)
    tokens[i] = tiny_byte_token (i);
  tokens[TINY_ENDOFTEXT] = g_strdup ("<|endoftext|>");
  tokens[TINY_IM_START] = g_strdup ("<|im_start|>");
  tokens[TINY_IM_END] = g_strdup ("<|im_end|>");
  tokens[259] = g_strdup ("ab");
  return tokens;
}

/* Deterministic values in [-0.5, 0.5) for tensor @salt. */
static inline float *
tiny_values (gsize n, guint salt)
{
  float *v = g_new (float, MAX (n, 1));
  guint32 x = 2463534242u ^ (salt * 2654435761u);

  for (gsize i = 0; i < n; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      v[i] = (float) (x % 10000) / 10000.0f - 0.5f;
    }
  return v;
}

/* ---- GGUF -------------------------------------------------------------- */

/* For the types Temper reads but does not write (Q2_K, Q3_K, IQ4_NL,
 * IQ4_XS, TQ2_0): deterministic random blocks whose fp16 scales are small
 * values where ggml keeps them.  FALSE for other types. */
static inline gboolean
tiny_random_blocks (int type, guint8 *data, gsize bytes, guint salt)
{
  gsize block = temper_type_block_bytes (type), d_at, dmin_at = 0;
  g_autofree float *noise = tiny_values (bytes, salt);
  float scale;   /* weights come out within about ±0.5 */

  switch (type)
    {
    case TEMPER_TYPE_Q2_K: d_at = 80; dmin_at = 82; scale = 0.004f; break;
    case TEMPER_TYPE_Q3_K: d_at = 108; scale = 0.002f; break;
    case TEMPER_TYPE_IQ4_NL: d_at = 0; scale = 0.001f; break;
    case TEMPER_TYPE_IQ4_XS: d_at = 0; scale = 0.0001f; break;
    case TEMPER_TYPE_TQ2_0: d_at = 64; scale = 0.05f; break;
    default: return FALSE;
    }
  for (gsize i = 0; i < bytes; i++)
    data[i] = (guint8) ((noise[i] + 0.5f) * 255.0f);
  for (gsize b = 0; b + block <= bytes; b += block)
    {
      guint16 d = temper_f32_to_f16 (scale);

      memcpy (data + b + d_at, &d, 2);
      if (dmin_at != 0)
        memcpy (data + b + dmin_at, &d, 2);
    }
  return TRUE;
}

static inline void
tiny_gguf_tensor (temper_gguf_writer_t *w, const TinySpec *s, const char *name, int type,
                  int64_t ne0, int64_t ne1, guint salt)
{
  int64_t ne[2] = { ne0, ne1 };
  gsize row = temper_type_row_bytes (type, ne0);
  g_autofree float *values = tiny_values ((gsize) (ne0 * ne1), salt);
  g_autofree guint8 *data = g_malloc (MAX (row * (gsize) ne1, 1));

  if (s->skip_tensor != NULL && strcmp (s->skip_tensor, name) == 0)
    return;
  if (type == 16)   /* IQ2_XXS: Temper cannot compute with it; any bytes do */
    {
      row = (gsize) ne0 / 256 * 66;
      data = g_realloc (data, row * (gsize) ne1);
      memset (data, 0, row * (gsize) ne1);
    }
  else if (!tiny_random_blocks (type, data, row * (gsize) ne1, salt))
    for (int64_t r = 0; r < ne1; r++)
      g_assert_true (temper_quantize_row (type, values + r * ne0, ne0, data + (gsize) r * row));
  temper_gguf_writer_add_tensor (w, name, type, ne, ne1 == 1 ? 1 : 2, data, row * (gsize) ne1);
}

static inline void
tiny_write_gguf (const char *path, const TinySpec *s)
{
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) tokens = tiny_tokens ();
  gint32 types[TINY_N_TOKENS];

  if (s->eos_text != NULL)
    {
      g_free (tokens[TINY_IM_END]);
      tokens[TINY_IM_END] = g_strdup (s->eos_text);
    }
  const char *merges[] = { "a b" };
  int hd = s->n_embd / s->n_head;
  guint salt = 1;
  char key[128];

#define ARCH_KEY(suffix) (g_snprintf (key, sizeof key, "%s." suffix, s->arch), key)
  temper_gguf_writer_set_string (w, "general.architecture", s->arch);
  temper_gguf_writer_set_string (w, "general.name", "Tiny Test Model");
  temper_gguf_writer_set_u32 (w, "general.quantization_version", 2);
  if (s->file_type >= 0)
    temper_gguf_writer_set_u32 (w, "general.file_type", (guint32) s->file_type);
  if (s->source_repo != NULL)
    temper_gguf_writer_set_string (w, "general.source.huggingface.repository", s->source_repo);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("context_length"), 256);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("embedding_length"), (guint32) s->n_embd);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("block_count"), (guint32) s->n_layer);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("feed_forward_length"), (guint32) s->n_ff);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("attention.head_count"), (guint32) s->n_head);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("attention.head_count_kv"), (guint32) s->n_head_kv);
  temper_gguf_writer_set_f32 (w, ARCH_KEY ("attention.layer_norm_rms_epsilon"), 1e-5f);
  temper_gguf_writer_set_f32 (w, ARCH_KEY ("rope.freq_base"), 100000.0f);
  temper_gguf_writer_set_u32 (w, ARCH_KEY ("rope.dimension_count"), (guint32) hd);
#undef ARCH_KEY

  for (int i = 0; i < TINY_N_TOKENS; i++)
    types[i] = i >= 256 && i < 259 ? 3 : 1;
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "gpt2");
  temper_gguf_writer_set_string (w, "tokenizer.ggml.pre", "smollm");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", (const char *const *) tokens, TINY_N_TOKENS);
  temper_gguf_writer_set_i32_array (w, "tokenizer.ggml.token_type", types, TINY_N_TOKENS);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", merges, 1);
  temper_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", (guint32) s->bos_id);
  temper_gguf_writer_set_u32 (w, "tokenizer.ggml.eos_token_id", TINY_IM_END);
  temper_gguf_writer_set_bool (w, "tokenizer.ggml.add_bos_token", FALSE);
  temper_gguf_writer_set_string (w, "tokenizer.chat_template", "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}");

  tiny_gguf_tensor (w, s, "token_embd.weight", TEMPER_TYPE_F16, s->n_embd, s->n_vocab, salt++);
  for (int l = 0; l < s->n_layer; l++)
    {
      struct { const char *name; int type; int64_t ne0, ne1; } parts[] = {
        { "attn_norm.weight", TEMPER_TYPE_F32, s->n_embd, 1 },
        { "attn_q.weight", s->matrix_type, s->n_embd, s->n_head * hd },
        { "attn_k.weight", s->matrix_type, s->n_embd, s->n_head_kv * hd },
        { "attn_v.weight", s->matrix_type, s->n_embd, s->n_head_kv * hd },
        { "attn_q.bias", TEMPER_TYPE_F32, s->n_head * hd, 1 },
        { "attn_k.bias", TEMPER_TYPE_F32, s->n_head_kv * hd, 1 },
        { "attn_v.bias", TEMPER_TYPE_F32, s->n_head_kv * hd, 1 },
        { "attn_output.weight", s->matrix_type, s->n_head * hd, s->n_embd },
        { "ffn_norm.weight", TEMPER_TYPE_F32, s->n_embd, 1 },
        { "ffn_gate.weight", s->matrix_type, s->n_embd, s->n_ff },
        { "ffn_up.weight", s->matrix_type, s->n_embd, s->n_ff },
        { "ffn_down.weight", s->matrix_type, s->n_ff, s->n_embd },
      };
      for (gsize p = 0; p < G_N_ELEMENTS (parts); p++)
        {
          g_autofree char *name = g_strdup_printf ("blk.%d.%s", l, parts[p].name);
          if (g_str_has_suffix (parts[p].name, ".bias") && !s->biases)
            continue;
          tiny_gguf_tensor (w, s, name, parts[p].type, parts[p].ne0, parts[p].ne1, salt++);
        }
    }
  tiny_gguf_tensor (w, s, "output_norm.weight", TEMPER_TYPE_F32, s->n_embd, 1, salt++);
  if (s->untied)
    tiny_gguf_tensor (w, s, "output.weight", s->matrix_type, s->n_embd, s->n_vocab, salt++);

  g_assert_true (temper_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
}

/* ---- Hugging Face folder ----------------------------------------------- */

static inline void
tiny_write_json (const char *path, JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(GError) error = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  json_generator_to_file (gen, path, &error);
  g_assert_no_error (error);
}

static inline void
tiny_write_tokenizer_json (const char *dir)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_auto(GStrv) tokens = tiny_tokens ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, "1.0");
  json_builder_set_member_name (b, "added_tokens");
  json_builder_begin_array (b);
  for (int id = 256; id < 259; id++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, id);
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, tokens[id]);
      json_builder_set_member_name (b, "single_word");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "lstrip");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "rstrip");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "normalized");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "special");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "normalizer");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "pre_tokenizer");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ByteLevel");
  json_builder_set_member_name (b, "add_prefix_space");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "trim_offsets");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "use_regex");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "post_processor");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "decoder");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "ByteLevel");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "BPE");
  json_builder_set_member_name (b, "vocab");
  json_builder_begin_object (b);
  for (int id = 0; id < TINY_N_TOKENS; id++)
    if (id < 256 || id > 258)
      {
        json_builder_set_member_name (b, tokens[id]);
        json_builder_add_int_value (b, id);
      }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "merges");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "a b");
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  tiny_write_json (path, b);
}

static inline void
tiny_hf_tensor (temper_safetensors_writer_t *w, const TinySpec *s, const char *name,
                gboolean bf16, int64_t rows, int64_t cols, guint salt)
{
  gsize n = (gsize) (rows * cols);
  g_autofree float *values = tiny_values (n, salt);
  int64_t shape[2] = { rows, cols };

  if (s->skip_tensor != NULL && strcmp (s->skip_tensor, name) == 0)
    return;
  if (bf16)
    {
      g_autofree guint16 *data = g_new (guint16, MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        data[i] = temper_f32_to_bf16 (values[i]);
      temper_safetensors_writer_add_tensor (w, name, "BF16", rows == 1 ? &shape[1] : shape,
                                            rows == 1 ? 1 : 2, data, n * 2);
    }
  else
    temper_safetensors_writer_add_tensor (w, name, "F32", rows == 1 ? &shape[1] : shape,
                                          rows == 1 ? 1 : 2, values, n * 4);
}

/* Writes the weights of @s with HF names into one file, or two shards plus
 * an index when @sharded. */
static inline void
tiny_write_hf_weights (const char *dir, const TinySpec *s, gboolean sharded)
{
  g_autoptr(temper_safetensors_writer_t) w1 = temper_safetensors_writer_new ();
  g_autoptr(temper_safetensors_writer_t) w2 = temper_safetensors_writer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) index = json_builder_new ();
  int hd = s->n_embd / s->n_head;
  guint salt = 1;

  json_builder_begin_object (index);
  json_builder_set_member_name (index, "metadata");
  json_builder_begin_object (index);
  json_builder_end_object (index);
  json_builder_set_member_name (index, "weight_map");
  json_builder_begin_object (index);

#define PUT(w, shard, name, bf16, rows, cols) \
  do { \
    tiny_hf_tensor (w, s, name, bf16, rows, cols, salt++); \
    if (s->skip_tensor == NULL || strcmp (s->skip_tensor, name) != 0) \
      { \
        json_builder_set_member_name (index, name); \
        json_builder_add_string_value (index, shard); \
      } \
  } while (0)

  PUT (w1, "model-00001-of-00002.safetensors", "model.embed_tokens.weight", TRUE, s->n_vocab, s->n_embd);
  for (int l = 0; l < s->n_layer; l++)
    {
      temper_safetensors_writer_t *w = sharded && l > 0 ? w2 : w1;
      const char *shard = sharded && l > 0 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
      struct { const char *name; int64_t rows, cols; gboolean bias; } parts[] = {
        { "input_layernorm.weight", 1, s->n_embd, FALSE },
        { "self_attn.q_proj.weight", s->n_head * hd, s->n_embd, FALSE },
        { "self_attn.k_proj.weight", s->n_head_kv * hd, s->n_embd, FALSE },
        { "self_attn.v_proj.weight", s->n_head_kv * hd, s->n_embd, FALSE },
        { "self_attn.q_proj.bias", 1, s->n_head * hd, TRUE },
        { "self_attn.k_proj.bias", 1, s->n_head_kv * hd, TRUE },
        { "self_attn.v_proj.bias", 1, s->n_head_kv * hd, TRUE },
        { "self_attn.o_proj.weight", s->n_embd, s->n_head * hd, FALSE },
        { "post_attention_layernorm.weight", 1, s->n_embd, FALSE },
        { "mlp.gate_proj.weight", s->n_ff, s->n_embd, FALSE },
        { "mlp.up_proj.weight", s->n_ff, s->n_embd, FALSE },
        { "mlp.down_proj.weight", s->n_embd, s->n_ff, FALSE },
      };
      for (gsize p = 0; p < G_N_ELEMENTS (parts); p++)
        {
          g_autofree char *name = g_strdup_printf ("model.layers.%d.%s", l, parts[p].name);
          if (parts[p].bias && !s->biases)
            continue;
          PUT (w, shard, name, parts[p].rows > 1, parts[p].rows, parts[p].cols);
        }
    }
  PUT (sharded ? w2 : w1, "model-00002-of-00002.safetensors", "model.norm.weight", FALSE, 1, s->n_embd);
  if (s->untied)
    PUT (sharded ? w2 : w1, "model-00002-of-00002.safetensors", "lm_head.weight", TRUE, s->n_vocab, s->n_embd);
#undef PUT
  json_builder_end_object (index);
  json_builder_end_object (index);

  if (sharded)
    {
      g_autofree char *p1 = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
      g_autofree char *p2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
      g_autofree char *pi = g_build_filename (dir, "model.safetensors.index.json", NULL);
      g_assert_true (temper_safetensors_writer_write (w1, p1, &error));
      g_assert_true (temper_safetensors_writer_write (w2, p2, &error));
      tiny_write_json (pi, index);
    }
  else
    {
      g_autofree char *p = g_build_filename (dir, "model.safetensors", NULL);
      g_assert_true (temper_safetensors_writer_write (w1, p, &error));
    }
  g_assert_no_error (error);
}

/* config.json for @architecture, with @extra_json members spliced in. */
static inline void
tiny_write_hf_folder (const char *dir, const TinySpec *s, const char *architecture,
                      const char *extra_json, gboolean sharded)
{
  g_autofree char *config = g_strdup_printf (
    "{\n  \"architectures\": [\"%s\"],\n  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n"
    "  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n"
    "  \"max_position_embeddings\": 256,\n  \"rms_norm_eps\": 1e-05,\n  \"vocab_size\": %d,\n"
    "  \"tie_word_embeddings\": %s,\n  \"torch_dtype\": \"bfloat16\"%s%s\n}\n",
    architecture, s->n_embd, s->n_ff, s->n_layer, s->n_head, s->n_head_kv, s->n_vocab,
    s->untied ? "false" : "true", extra_json != NULL ? ",\n  " : "", extra_json != NULL ? extra_json : "");
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *tok_config = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autofree char *gen_config = g_build_filename (dir, "generation_config.json", NULL);
  const char *tok_config_text =
    "{\"bos_token\": \"<|im_start|>\", \"eos_token\": \"<|im_end|>\", \"add_bos_token\": false,\n"
    " \"chat_template\": \"{% for m in messages %}<|im_start|>{{ m.role }}\\n{{ m.content }}<|im_end|>\\n{% endfor %}\"}\n";
  const char *gen_config_text = "{\"bos_token_id\": 257, \"eos_token_id\": [258, 256]}\n";

  g_mkdir_with_parents (dir, 0755);
  model_test_write (config_path, config, strlen (config));
  model_test_write (tok_config, tok_config_text, strlen (tok_config_text));
  model_test_write (gen_config, gen_config_text, strlen (gen_config_text));
  tiny_write_tokenizer_json (dir);
  tiny_write_hf_weights (dir, s, sharded);
}
