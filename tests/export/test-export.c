/* SPDX-License-Identifier: MIT */
/* test-export.c — adapters and merged models written for other tools, and
 * read back. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/export.h"
#include "temper/generate.h"
#include "temper/tokenizer.h"
#include "temper/train.h"
#include "export-test-util.h"

static void
assert_same_adapter (temper_adapter_t *a, temper_adapter_t *b, const TemperModelConfig *c)
{
  g_assert_cmpint (temper_adapter_get_rank (a), ==, temper_adapter_get_rank (b));
  g_assert_cmpuint (temper_adapter_get_targets (a), ==, temper_adapter_get_targets (b));
  g_assert_cmpfloat_with_epsilon (temper_adapter_get_scale (a), temper_adapter_get_scale (b), 1e-5);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out, r = temper_adapter_get_rank (a);

        if (!(temper_adapter_get_targets (a) & TEMPER_LORA_TARGET_BIT (t)))
          continue;
        temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
        g_assert_cmpmem (temper_adapter_get_a (a, l, t), sizeof (float) * in * r,
                         temper_adapter_get_a (b, l, t), sizeof (float) * in * r);
        g_assert_cmpmem (temper_adapter_get_b (a, l, t), sizeof (float) * out * r,
                         temper_adapter_get_b (b, l, t), sizeof (float) * out * r);
      }
}

static void
assert_gguf_string (const temper_gguf_t *gguf, const char *key, const char *want)
{
  g_autofree char *value = temper_gguf_dup_string (gguf, key);

  g_assert_cmpstr (value, ==, want);
}

/* ---- adapters ------------------------------------------------------------ */

static void
test_gguf_adapter_roundtrip (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 4, 8.0f, TRUE, TEMPER_LORA_ALL_TARGETS, 0.2f);
  g_autoptr(temper_adapter_t) back = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autofree char *out = g_build_filename (f->dir, "adapter.gguf", NULL);
  g_autofree float *want = NULL, *got = NULL, *base = NULL;
  g_autoptr(GError) error = NULL;
  TemperTensorView v;
  float alpha = 0;
  int n_vocab = temper_model_get_config (model)->n_vocab;

  (void) data;
  g_assert_true (temper_export_gguf_adapter (model, adapter, out, NULL, &error));
  g_assert_no_error (error);

  /* What llama.cpp's loader requires (FORMATS.md §3). */
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  assert_gguf_string (gguf, "general.type", "adapter");
  assert_gguf_string (gguf, "adapter.type", "lora");
  assert_gguf_string (gguf, "general.architecture", "llama");
  /* rsLoRA: alpha'/r must equal alpha/√r. */
  g_assert_true (temper_gguf_get_f32 (gguf, "adapter.lora.alpha", &alpha));
  g_assert_cmpfloat_with_epsilon (alpha / 4.0f, 8.0f / 2.0f, 1e-5);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.ffn_down.weight.lora_a", &v));
  g_assert_cmpint (v.ne[0], ==, spec.n_ff);
  g_assert_cmpint (v.ne[1], ==, 4);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.attn_k.weight.lora_b", &v));
  g_assert_cmpint (v.ne[0], ==, 4);
  g_assert_cmpint (v.ne[1], ==, spec.n_head_kv * spec.n_embd / spec.n_head);
  g_assert_cmpuint (temper_gguf_get_n_tensors (gguf), ==, 2 * 7 * spec.n_layer);

  back = temper_import_gguf_adapter (out, model, &error);
  g_assert_no_error (error);
  /* Same numbers; the scale is the same, carried as alpha without rsLoRA. */
  g_assert_cmpfloat_with_epsilon (temper_adapter_get_scale (back), temper_adapter_get_scale (adapter), 1e-5);
  for (int l = 0; l < spec.n_layer; l++)
    g_assert_cmpmem (temper_adapter_get_b (back, l, TEMPER_LORA_Q), sizeof (float) * 4 * spec.n_embd,
                     temper_adapter_get_b (adapter, l, TEMPER_LORA_Q), sizeof (float) * 4 * spec.n_embd);

  want = logits_of (model, adapter);
  got = logits_of (model, back);
  base = logits_of (model, NULL);
  g_assert_cmpfloat (normalized_error (got, want, n_vocab), <, 1e-6);
  g_assert_cmpfloat (normalized_error (base, want, n_vocab), >, 1e-2);
}

/* For a Hugging Face llama folder the adapter's q/k B rows are in HF order;
 * the GGUF adapter must carry llama.cpp's interleaved order. */
static void
test_gguf_adapter_permutes_hf_llama (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autofree char *hf = g_build_filename (f->dir, "hf", NULL);
  g_autofree char *out = g_build_filename (f->dir, "adapter.gguf", NULL);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL, back = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(GError) error = NULL;
  const int rank = 2, hd = spec.n_embd / spec.n_head;

  (void) data;
  tiny_write_hf_folder (hf, &spec, "LlamaForCausalLM", NULL, FALSE);
  model = load (hf);
  adapter = random_adapter (model, rank, 4.0f, FALSE, TEMPER_LORA_ALL_TARGETS, 0.3f);
  g_assert_true (temper_export_gguf_adapter (model, adapter, out, NULL, &error));
  g_assert_no_error (error);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);

  for (int t = TEMPER_LORA_Q; t <= TEMPER_LORA_V; t++)
    {
      const char *names[] = { "blk.0.attn_q.weight.lora_b", "blk.0.attn_k.weight.lora_b",
                              "blk.0.attn_v.weight.lora_b" };
      const float *b = temper_adapter_get_b (adapter, 0, t);
      TemperTensorView v;
      int n_heads = t == TEMPER_LORA_Q ? spec.n_head : spec.n_head_kv;

      g_assert_true (temper_gguf_find_tensor (gguf, names[t], &v));
      /* FORMATS.md §1.7: GGUF row h·d + 2i + s = HF row h·d + s·d/2 + i; V is
       * not reordered. */
      for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hd / 2; i++)
          for (int s = 0; s < 2; s++)
            {
              int gguf_row = h * hd + 2 * i + s;
              int hf_row = t == TEMPER_LORA_V ? gguf_row : h * hd + s * hd / 2 + i;
              const float *row = (const float *) v.data + (gsize) gguf_row * rank;

              g_assert_cmpmem (row, sizeof (float) * rank, b + (gsize) hf_row * rank, sizeof (float) * rank);
            }
    }

  back = temper_import_gguf_adapter (out, model, &error);
  g_assert_no_error (error);
  assert_same_adapter (back, adapter, temper_model_get_config (model));
}

static void
test_peft_export_roundtrip (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 4, 16.0f, FALSE,
                                                        TEMPER_LORA_TARGETS_ATTENTION, 0.2f);
  g_autoptr(temper_adapter_t) back = NULL;
  g_autofree char *out = g_build_filename (f->dir, "peft", NULL);
  g_autofree char *stale = g_build_filename (out, "stale.txt", NULL);
  g_autofree char *cfg = g_build_filename (out, "adapter_config.json", NULL);
  g_autofree char *weights = g_build_filename (out, "adapter_model.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  TemperLoraConfig config;

  (void) data;
  /* A folder holding someone else's file is not Temper's to replace. */
  g_mkdir (out, 0755);
  model_test_write (stale, "x", 1);
  g_assert_false (temper_export_peft (model, adapter, 0.05f, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_file_test (stale, G_FILE_TEST_IS_REGULAR));
  g_clear_error (&error);
  g_unlink (stale);
  /* An empty folder is used, and an earlier export there is replaced as a whole. */
  g_assert_true (temper_export_peft (model, adapter, 0.05f, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_peft (model, adapter, 0.05f, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (cfg, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));

  back = temper_lora_load_peft (out, temper_model_get_config (model), &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (config.rank, ==, 4);
  g_assert_cmpfloat (config.alpha, ==, 16.0f);
  assert_same_adapter (back, adapter, temper_model_get_config (model));
}

/* adapter_config.json's base_model_name_or_path, or NULL when null. */
static char *
peft_base_of (const char *dir)
{
  g_autofree char *cfg = g_build_filename (dir, "adapter_config.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  g_assert_true (json_parser_load_from_file (parser, cfg, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (root, "base_model_name_or_path"));
  if (json_object_get_null_member (root, "base_model_name_or_path"))
    return NULL;
  return g_strdup (json_object_get_string_member (root, "base_model_name_or_path"));
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* base_model_name_or_path is what transformers can load: a Hub id or a
 * local folder, never the display name ("Tiny Test Model"). */
static void
test_peft_names_loadable_base (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autofree char *out = g_build_filename (f->dir, "peft", NULL);
  g_autofree char *hf = g_build_filename (f->dir, "my base", NULL);
  g_autofree char *cache = g_build_filename (f->dir, "hub", "models--SomeOrg--Tiny-Chat", "snapshots",
                                             "0123abcd", NULL);
  g_autoptr(GError) error = NULL;

  (void) data;
  /* A GGUF that does not name its source: null, and the README says what
   * to fill in. */
  {
    g_autoptr(temper_model_t) model = tiny_gguf (f, "plain.gguf", &spec);
    g_autoptr(temper_adapter_t) adapter = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.1f);
    g_autofree char *base = NULL, *readme = NULL;

    g_assert_true (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
    g_assert_no_error (error);
    base = peft_base_of (out);
    g_assert_null (base);
    readme = read_text (out, "README.md");
    g_assert_nonnull (strstr (readme, "Tiny Test Model"));
    g_assert_nonnull (strstr (readme, "base_model_name_or_path"));
  }
  /* A GGUF naming the repository it was converted from, as a URL. */
  {
    g_autoptr(temper_model_t) model = NULL;
    g_autoptr(temper_adapter_t) adapter = NULL;
    g_autofree char *base = NULL, *readme = NULL, *needs = NULL;

    spec.source_repo = "https://huggingface.co/SomeOrg/Tiny-Chat";
    model = tiny_gguf (f, "sourced.gguf", &spec);
    adapter = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.1f);
    g_assert_true (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
    g_assert_no_error (error);
    base = peft_base_of (out);
    g_assert_cmpstr (base, ==, "SomeOrg/Tiny-Chat");
    readme = read_text (out, "README.md");
    g_assert_nonnull (strstr (readme, "SomeOrg/Tiny-Chat"));
    needs = temper_export_describe_peft_base (model);
    g_assert_nonnull (strstr (needs, "SomeOrg/Tiny-Chat"));
  }
  /* A Hugging Face folder: its own path, or its id inside the Hub cache. */
  spec = tiny_spec_default ("llama");
  tiny_write_hf_folder (hf, &spec, "LlamaForCausalLM", NULL, FALSE);
  g_assert_cmpint (g_mkdir_with_parents (cache, 0755), ==, 0);
  tiny_write_hf_folder (cache, &spec, "LlamaForCausalLM", NULL, FALSE);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr(temper_model_t) model = load (i == 0 ? hf : cache);
      g_autoptr(temper_adapter_t) adapter = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.1f);
      g_autofree char *base = NULL;

      g_assert_true (temper_export_peft (model, adapter, 0.0f, out, NULL, &error));
      g_assert_no_error (error);
      base = peft_base_of (out);
      g_assert_cmpstr (base, ==, i == 0 ? hf : "SomeOrg/Tiny-Chat");
    }
}

/* ---- merged GGUF --------------------------------------------------------- */

/* blk.1.attn_q.weight of the merged file against W + s·B·A computed here
 * from the base file and the adapter. */
static double
merged_weight_error (temper_model_t *model, temper_adapter_t *adapter, const char *merged_path,
                     double *adapter_change)
{
  g_autoptr(temper_gguf_t) base = NULL, merged = NULL;
  g_autoptr(GError) error = NULL;
  TemperTensorView w, m;
  const float *a = temper_adapter_get_a (adapter, 1, TEMPER_LORA_Q);
  const float *b = temper_adapter_get_b (adapter, 1, TEMPER_LORA_Q);
  const int r = temper_adapter_get_rank (adapter);
  const float s = temper_adapter_get_alpha (adapter) / (float) r;
  g_autofree float *want = NULL, *got = NULL, *unmerged = NULL;

  base = temper_gguf_open (temper_model_get_path (model), &error);
  g_assert_no_error (error);
  merged = temper_gguf_open (merged_path, &error);
  g_assert_no_error (error);
  g_assert_true (temper_gguf_find_tensor (base, "blk.1.attn_q.weight", &w));
  g_assert_true (temper_gguf_find_tensor (merged, "blk.1.attn_q.weight", &m));
  g_assert_cmpint (w.ne[0], ==, m.ne[0]);
  g_assert_cmpint (w.ne[1], ==, m.ne[1]);
  want = g_new (float, w.ne[0] * w.ne[1]);
  got = g_new (float, w.ne[0] * w.ne[1]);
  unmerged = g_new (float, w.ne[0] * w.ne[1]);
  for (int64_t o = 0; o < w.ne[1]; o++)
    {
      g_assert_true (temper_dequantize_row (w.type, (const guint8 *) w.data + o * w.row_bytes,
                                            w.ne[0], want + o * w.ne[0]));
      g_assert_true (temper_dequantize_row (m.type, (const guint8 *) m.data + o * m.row_bytes,
                                            m.ne[0], got + o * m.ne[0]));
      memcpy (unmerged + o * w.ne[0], want + o * w.ne[0], sizeof (float) * w.ne[0]);
      for (int64_t i = 0; i < w.ne[0]; i++)
        {
          double d = 0;
          for (int k = 0; k < r; k++)
            d += (double) b[o * r + k] * a[k * w.ne[0] + i];
          want[o * w.ne[0] + i] += (float) (s * d);
        }
    }
  *adapter_change = normalized_error (unmerged, want, (int) (w.ne[0] * w.ne[1]));
  return normalized_error (got, want, (int) (w.ne[0] * w.ne[1]));
}

static void
check_merged (Fixture *f, TemperExportQuant quant, gboolean wide, double weight_tolerance,
              double tolerance, gboolean greedy)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL, merged = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autofree float *want = NULL, *got = NULL, *base = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab;
  double err, change;

  /* Rows of 256 so that Q4_K_M really uses the K-quants. */
  if (wide)
    spec.n_embd = 256, spec.n_ff = 256;
  spec.matrix_type = TEMPER_TYPE_F16;
  model = tiny_gguf (f, "base.gguf", &spec);
  n_vocab = temper_model_get_config (model)->n_vocab;
  adapter = random_adapter (model, 4, 8.0f, FALSE, TEMPER_LORA_ALL_TARGETS, 0.25f);

  g_assert_true (temper_export_merged_gguf (model, adapter, quant, out, NULL, &error));
  g_assert_no_error (error);
  merged = load (out);
  err = merged_weight_error (model, adapter, out, &change);
  g_test_message ("%s: merged weight vs W + s*B*A %.2e (s*B*A itself is %.2e of it)",
                  temper_export_quant_name (quant), err, change);
  g_assert_cmpfloat (err, <, weight_tolerance);
  /* The rounding must stay well below what the adapter adds, or a merge
   * that dropped the adapter would pass too. */
  g_assert_cmpfloat (err, <, change / 2);
  want = logits_of (model, adapter);
  base = logits_of (model, NULL);
  got = logits_of (merged, NULL);
  err = normalized_error (got, want, n_vocab);
  change = normalized_error (base, want, n_vocab);
  g_test_message ("%s: merged vs base+adapter %.2e (the adapter itself changes logits by %.2e)",
                  temper_export_quant_name (quant), err, change);
  g_assert_cmpfloat (change, >, 0.1);
  g_assert_cmpfloat (err, <, tolerance);
  g_assert_cmpfloat (err, <, change / 2);

  if (greedy)
    {
      g_autoptr(GArray) a = greedy_of (model, adapter);
      g_autoptr(GArray) b = greedy_of (merged, NULL);

      g_assert_cmpuint (a->len, >, 0);
      g_assert_cmpmem (a->data, a->len * sizeof (gint32), b->data, b->len * sizeof (gint32));
    }

  /* Tokenizer, template and stop tokens travelled with it. */
  g_assert_true (temper_export_check_template (model, out, &problem, &error));
  g_assert_no_error (error);
  g_assert_null (problem);
}

static void
test_merged_f16 (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(GError) error = NULL;
  TemperTensorView v;
  guint32 ftype = 0;

  (void) data;
  check_merged (f, TEMPER_EXPORT_F16, TRUE, 1e-3, 5e-3, TRUE);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  g_assert_true (temper_gguf_get_u32 (gguf, "general.file_type", &ftype));
  g_assert_cmpuint (ftype, ==, 1);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.0.attn_q.weight", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F16);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.0.attn_norm.weight", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F32);
  g_assert_true (temper_gguf_find_tensor (gguf, "token_embd.weight", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F16);
}

static void
test_merged_q8_0 (Fixture *f, gconstpointer data)
{
  (void) data;
  /* Q8_0 keeps about 8 bits per weight. */
  check_merged (f, TEMPER_EXPORT_Q8_0, TRUE, 1e-2, 5e-2, FALSE);
}

static void
test_merged_q4_k_m (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(GError) error = NULL;
  const struct { const char *name; int type; } expect[] = {
    { "blk.0.attn_q.weight", TEMPER_TYPE_Q4_K },
    { "blk.1.ffn_gate.weight", TEMPER_TYPE_Q4_K },
    { "blk.0.attn_v.weight", TEMPER_TYPE_Q6_K },
    { "blk.1.ffn_down.weight", TEMPER_TYPE_Q6_K },
    { "token_embd.weight", TEMPER_TYPE_Q6_K },  /* tied: it is also the output */
    { "output_norm.weight", TEMPER_TYPE_F32 },
  };
  guint32 ftype = 0;

  (void) data;
  /* Q4_K keeps about 4.5 bits per weight; this random untrained model
   * amplifies weight error about threefold by its logits. */
  check_merged (f, TEMPER_EXPORT_Q4_K_M, TRUE, 0.1, 0.4, FALSE);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  g_assert_true (temper_gguf_get_u32 (gguf, "general.file_type", &ftype));
  g_assert_cmpuint (ftype, ==, 15);
  for (gsize i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      TemperTensorView v;

      g_assert_true (temper_gguf_find_tensor (gguf, expect[i].name, &v));
      g_assert_cmpstr (temper_type_name (v.type), ==, temper_type_name (expect[i].type));
    }
}

/* A GGUF whose chat template opens turns with another marker than the one
 * training used: the round-trip check must notice. */
static void
test_template_mismatch_reported (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autofree char *bad = g_build_filename (f->dir, "bad.gguf", NULL);
  g_autofree char *bytes = NULL, *problem = NULL;
  const char needle[] = "<|im_start|>{{ m.role }}\n";
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  char *hit;

  (void) data;
  g_assert_true (g_file_get_contents (temper_model_get_path (model), &bytes, &len, NULL));
  hit = memmem (bytes, len, needle, strlen (needle));
  g_assert_nonnull (hit);
  memcpy (hit, "<|im_begin|>", 12);  /* same length, so offsets stay valid */
  model_test_write (bad, bytes, len);

  g_assert_true (temper_export_check_template (model, bad, &problem, &error));
  g_assert_no_error (error);
  g_assert_nonnull (problem);
  g_test_message ("%s", problem);
  g_assert_nonnull (strstr (problem, "different tokens"));
  g_clear_pointer (&problem, g_free);
  g_assert_true (temper_export_check_template (model, temper_model_get_path (model), &problem, &error));
  g_assert_null (problem);
}

/* Rows of 32 and 64: no K-quant fits, so Q5_0 stands in for Q4_K and Q8_0
 * for Q6_K. */
static void
test_merged_q4_k_m_fallback (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(GError) error = NULL;
  TemperTensorView v;

  (void) data;
  /* Q5_0 keeps about 5.5 bits per weight. */
  check_merged (f, TEMPER_EXPORT_Q4_K_M, FALSE, 4e-2, 0.3, FALSE);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.attn_q.weight", &v));
  g_assert_cmpstr (temper_type_name (v.type), ==, "Q5_0");
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.attn_v.weight", &v));
  g_assert_cmpstr (temper_type_name (v.type), ==, "Q8_0");
}

/* ---- merged Hugging Face folder ---------------------------------------- */

static void
check_merged_hf (Fixture *f, TemperExportHfDtype dtype, double tolerance)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *out = g_build_filename (f->dir, "merged-hf", NULL);
  g_autofree char *index = g_build_filename (out, "model.safetensors.index.json", NULL);
  g_autofree char *tok = g_build_filename (out, "tokenizer.json", NULL);
  g_autofree char *tok_cfg = g_build_filename (out, "tokenizer_config.json", NULL);
  g_autofree char *gen_cfg = g_build_filename (out, "generation_config.json", NULL);
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_model_t) merged = NULL;
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 4, 8.0f, FALSE,
                                                        TEMPER_LORA_ALL_TARGETS, 0.1f);
  g_autofree float *want = NULL, *got = NULL, *base = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;
  double err;

  /* About a third of the weights per shard: three shards and an index. */
  g_assert_true (temper_export_merged_hf (model, adapter, dtype,
                                          temper_model_get_file_size (model) / 3 + 1024,
                                          out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (index, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_entries (out), >=, 4 + 1 + 2);  /* configs, index, 2+ shards */
  g_assert_true (g_file_test (tok, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (tok_cfg, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (gen_cfg, G_FILE_TEST_IS_REGULAR));

  merged = load (out);
  g_assert_cmpint (temper_model_get_config (merged)->n_layer, ==, temper_model_get_config (model)->n_layer);
  g_assert_cmpstr (temper_model_get_chat_template (merged), ==, temper_model_get_chat_template (model));
  want = logits_of (model, adapter);
  base = logits_of (model, NULL);
  got = logits_of (merged, NULL);
  err = normalized_error (got, want, n_vocab);
  g_test_message ("hf %s: merged vs base+adapter %.2e (adapter changes logits by %.2e)",
                  dtype == TEMPER_EXPORT_HF_F32 ? "f32" : "bf16", err,
                  normalized_error (base, want, n_vocab));
  g_assert_cmpfloat (normalized_error (base, want, n_vocab), >, 0.05);
  g_assert_cmpfloat (err, <, tolerance);
  if (dtype == TEMPER_EXPORT_HF_F32)
    {
      g_autoptr(GArray) a = greedy_of (model, adapter);
      g_autoptr(GArray) b = greedy_of (merged, NULL);

      g_assert_cmpmem (a->data, a->len * sizeof (gint32), b->data, b->len * sizeof (gint32));
    }
}

static void
test_merged_hf_f32 (Fixture *f, gconstpointer data)
{
  (void) data;
  check_merged_hf (f, TEMPER_EXPORT_HF_F32, 1e-5);
}

static void
test_merged_hf_bf16 (Fixture *f, gconstpointer data)
{
  (void) data;
  /* bf16 keeps 8 bits of mantissa. */
  check_merged_hf (f, TEMPER_EXPORT_HF_BF16, 2e-2);
}

static void
test_merged_needs_matching_source (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) gguf_model = tiny_gguf (f, "base.gguf", &spec);
  g_autofree char *out = g_build_filename (f->dir, "out", NULL);
  g_autoptr(GError) error = NULL;

  (void) data;
  /* A GGUF base makes a folder too, its tokenizer rebuilt from the GGUF
   * (test-export-hf-from-gguf checks the folder itself; a merged GGUF from
   * a folder is test-export-gguf-hf). */
  g_assert_true (temper_export_merge_supported (gguf_model, TEMPER_EXPORT_MERGED_HF, NULL));
  g_assert_true (temper_export_merged_hf (gguf_model, NULL, TEMPER_EXPORT_HF_BF16, 0, out, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < 3; i++)
    {
      static const char *const files[] = { "config.json", "tokenizer.json", "model.safetensors" };
      g_autofree char *path = g_build_filename (out, files[i], NULL);
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    }
}

/* ---- the transformers / PEFT reference ----------------------------------- */

static float *
fixture_logits (JsonObject *root, const char *member, int n_vocab)
{
  JsonArray *arr = json_object_get_array_member (root, member);
  float *v = g_new (float, n_vocab);

  g_assert_cmpuint (json_array_get_length (arr), ==, n_vocab);
  for (int i = 0; i < n_vocab; i++)
    v[i] = (float) json_array_get_double_element (arr, i);
  return v;
}

/* tests/fixtures/export/tiny-qwen2-export.json holds what transformers and
 * PEFT compute from our PEFT export and our merged folder of the same
 * adapter (make-export-fixtures.py). */
static void
test_transformers_reference (Fixture *f, gconstpointer data)
{
  const char *srcdir = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *json = g_build_filename (srcdir != NULL ? srcdir : TEMPER_SOURCE_DIR, "tests",
                                            "fixtures", "export", "tiny-qwen2-export.json", NULL);
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *peft = g_build_filename (f->dir, "peft", NULL);
  g_autofree char *merged_dir = g_build_filename (f->dir, "merged", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_model_t) merged = NULL;
  g_autoptr(temper_adapter_t) adapter = export_test_adapter (model);
  g_autoptr(temper_adapter_t) reimported = NULL;
  g_autofree float *ref_base = NULL, *ref_peft = NULL, *ref_merged = NULL;
  g_autofree float *base = NULL, *tuned = NULL, *tuned_back = NULL, *merged_logits = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *ids;
  int n_vocab = temper_model_get_config (model)->n_vocab;

  (void) data;
  g_assert_true (json_parser_load_from_file (parser, json, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  ids = json_object_get_array_member (root, "prompt");
  g_assert_cmpuint (json_array_get_length (ids), ==, G_N_ELEMENTS (prompt));
  for (guint i = 0; i < G_N_ELEMENTS (prompt); i++)
    g_assert_cmpint (json_array_get_int_element (ids, i), ==, prompt[i]);
  ref_base = fixture_logits (root, "base_logits", n_vocab);
  ref_peft = fixture_logits (root, "peft_logits", n_vocab);
  ref_merged = fixture_logits (root, "merged_logits", n_vocab);

  g_assert_true (temper_export_peft (model, adapter, 0.0f, peft, NULL, &error));
  g_assert_no_error (error);
  reimported = temper_lora_load_peft (peft, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32, 0, merged_dir, NULL, &error));
  g_assert_no_error (error);
  merged = load (merged_dir);

  base = logits_of (model, NULL);
  tuned = logits_of (model, adapter);
  tuned_back = logits_of (model, reimported);
  merged_logits = logits_of (merged, NULL);
  g_test_message ("vs transformers: base %.2e, base+adapter %.2e, re-imported PEFT %.2e, merged %.2e",
                  normalized_error (base, ref_base, n_vocab), normalized_error (tuned, ref_peft, n_vocab),
                  normalized_error (tuned_back, ref_peft, n_vocab),
                  normalized_error (merged_logits, ref_merged, n_vocab));
  g_assert_cmpfloat (normalized_error (ref_base, ref_peft, n_vocab), >, 0.05);
  g_assert_cmpfloat (normalized_error (base, ref_base, n_vocab), <, 1e-4);
  g_assert_cmpfloat (normalized_error (tuned, ref_peft, n_vocab), <, 1e-4);
  g_assert_cmpfloat (normalized_error (tuned_back, ref_peft, n_vocab), <, 1e-4);
  g_assert_cmpfloat (normalized_error (merged_logits, ref_merged, n_vocab), <, 1e-4);
}

/* ---- Modelfile ----------------------------------------------------------- */

static void
test_modelfile (Fixture *f, gconstpointer data)
{
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = tiny_gguf (f, "base.gguf", &spec);
  g_autofree char *gguf = g_build_filename (f->dir, "My Model.gguf", NULL);
  g_autofree char *path = g_build_filename (f->dir, "Modelfile", NULL);
  g_autofree char *text = NULL, *command = NULL, *want_cmd = NULL, *quoted = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  g_assert_true (temper_export_modelfile (model, gguf, path, NULL, &command, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\nFROM ./My Model.gguf\n"));
  g_assert_nonnull (strstr (text, "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"));
  g_assert_nonnull (strstr (text, "\nPARAMETER stop \"<|im_end|>\"\n"));
  g_assert_nonnull (strstr (text, "\nPARAMETER temperature 0.7\n"));
  quoted = g_shell_quote (path);
  want_cmd = g_strdup_printf ("ollama create 'my-model' -f %s", quoted);
  g_assert_cmpstr (command, ==, want_cmd);
}

/* The values of the PARAMETER stop lines of Modelfile @text, read as
 * Ollama's parser (parser/parser.go) reads them: no escapes; a value ends at
 * the first space, tab or line end at which what was read, trimmed, is
 * "…", or """…""" of six characters or more, or unquoted; characters Go
 * does not count as printable are dropped. */
static GPtrArray *
ollama_stop_values (const char *text)
{
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while ((p = strstr (p, "PARAMETER stop ")) != NULL)
    {
      g_autoptr(GString) value = g_string_new (NULL);

      p += strlen ("PARAMETER stop ");
      for (;; p++)
        {
          gboolean boundary = *p == '\0' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';

          if (boundary)
            {
              g_autofree char *trimmed = g_strstrip (g_strdup (value->str));
              gsize n = strlen (trimmed);
              gboolean triple = g_str_has_prefix (trimmed, "\"\"\"");
              gboolean closed = triple ? n >= 6 && g_str_has_suffix (trimmed, "\"\"\"")
                                : trimmed[0] == '"' ? n >= 2 && trimmed[n - 1] == '"' : TRUE;

              if (closed || *p == '\0')
                {
                  gsize q = triple ? 3 : trimmed[0] == '"' ? 1 : 0;
                  g_ptr_array_add (values, g_strndup (trimmed + q, n - 2 * q));
                  break;
                }
              g_string_append_c (value, *p);
            }
          else if (g_ascii_isprint (*p) || (guchar) *p >= 0x80)
            g_string_append_c (value, *p);
        }
    }
  return values;
}

/* Stop tokens with quotes, line breaks and spaces reach Ollama as they
 * are; one it cannot hold ("\"\"\"" or a control character) is left out,
 * not written so that Ollama reads other text.  Names are checked. */
static void
test_modelfile_quoting (Fixture *f, gconstpointer data)
{
  static const char *const representable[] = {
    "<|end|>", "say \"stop\" now", "two\nlines", "\"quoted\"", " spaced ", "a \"b\" c\nSYSTEM x",
  };
  static const char *const unrepresentable[] = { "x\"\"\"y", "esc\x1b[0m" };

  (void) data;
  for (gsize i = 0; i < G_N_ELEMENTS (representable) + G_N_ELEMENTS (unrepresentable); i++)
    {
      gboolean ok = i < G_N_ELEMENTS (representable);
      const char *stop = ok ? representable[i] : unrepresentable[i - G_N_ELEMENTS (representable)];
      TinySpec spec = tiny_spec_default ("llama");
      g_autofree char *base = g_strdup_printf ("base-%" G_GSIZE_FORMAT ".gguf", i);
      g_autoptr(temper_model_t) model = NULL;
      g_autofree char *gguf = g_build_filename (f->dir, "out.gguf", NULL);
      g_autofree char *path = g_strdup_printf ("%s/Modelfile-%" G_GSIZE_FORMAT, f->dir, i);
      g_autofree char *text = NULL;
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) error = NULL;

      spec.eos_text = stop;
      model = tiny_gguf (f, base, &spec);
      g_assert_true (temper_export_modelfile (model, gguf, path, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      values = ollama_stop_values (text);
      /* The other stop token, <|endoftext|>, is written as it is. */
      g_assert_cmpstr (g_ptr_array_index (values, values->len - 1), ==, "<|endoftext|>");
      if (ok)
        {
          g_assert_cmpuint (values->len, ==, 2);
          g_assert_cmpstr (g_ptr_array_index (values, 0), ==, stop);
        }
      else
        {
          g_assert_cmpuint (values->len, ==, 1);
          g_assert_nonnull (strstr (text, "is left out"));
        }
    }

  {
    TinySpec spec = tiny_spec_default ("llama");
    g_autoptr(temper_model_t) model = tiny_gguf (f, "named.gguf", &spec);
    g_autofree char *gguf = g_build_filename (f->dir, "out.gguf", NULL);
    g_autofree char *path = g_build_filename (f->dir, "Modelfile-named", NULL);
    static const char *const bad[] = { "x; rm -rf ~", "a b", "$(id)", "", "a..b", "me/x/y", "x:", "a/b.c/d" };
    g_autofree char *command = NULL;
    g_autoptr(GError) error = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_assert_false (temper_export_check_ollama_name (bad[i], &error));
        g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
        g_clear_error (&error);
      }
    g_assert_false (temper_export_modelfile (model, gguf, path, "x; rm -rf ~", &command, &error));
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    g_clear_error (&error);
    g_assert_true (temper_export_modelfile (model, gguf, path, "me/tuned-model.v2:q4_k_m", &command, &error));
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (command, "ollama create 'me/tuned-model.v2:q4_k_m' -f "));
  }
}

static void
test_quant_names (void)
{
  TemperExportQuant q;
  g_autoptr(GError) error = NULL;

  g_assert_true (temper_export_quant_parse ("Q4_K_M", &q, NULL));
  g_assert_cmpint (q, ==, TEMPER_EXPORT_Q4_K_M);
  g_assert_cmpstr (temper_export_quant_name (TEMPER_EXPORT_Q8_0), ==, "q8_0");
  g_assert_false (temper_export_quant_parse ("q3", &q, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/export/gguf-adapter/roundtrip", test_gguf_adapter_roundtrip);
  ADD ("/export/gguf-adapter/hf-llama-permutation", test_gguf_adapter_permutes_hf_llama);
  ADD ("/export/peft/roundtrip", test_peft_export_roundtrip);
  ADD ("/export/peft/loadable-base", test_peft_names_loadable_base);
  ADD ("/export/merged-gguf/f16", test_merged_f16);
  ADD ("/export/merged-gguf/q8_0", test_merged_q8_0);
  ADD ("/export/merged-gguf/q4_k_m", test_merged_q4_k_m);
  ADD ("/export/merged-gguf/q4_k_m-fallback", test_merged_q4_k_m_fallback);
  ADD ("/export/merged-hf/f32", test_merged_hf_f32);
  ADD ("/export/merged-hf/bf16", test_merged_hf_bf16);
  ADD ("/export/merged/source-format", test_merged_needs_matching_source);
  ADD ("/export/transformers-reference", test_transformers_reference);
  ADD ("/export/template-check/mismatch", test_template_mismatch_reported);
  ADD ("/export/modelfile", test_modelfile);
  ADD ("/export/modelfile-quoting", test_modelfile_quoting);
#undef ADD
  g_test_add_func ("/export/quant-names", test_quant_names);
  return g_test_run ();
}
