/* SPDX-License-Identifier: MIT */
/* Adapters made by other tools (tests/train/make-import-fixtures.py): PEFT
 * adapters on Phi-3's fused qkv_proj and gate_up_proj with a rank_pattern,
 * on GLM-4's gate_up_proj with rank_pattern, alpha_pattern and rsLoRA, on
 * the text part of a Gemma 3 model of text and images (the list of names
 * also adapts its image tower), and llama.cpp's convert_lora_to_gguf.py
 * output of the Phi-3 one (attn_qkv, fused ffn_up).  Temper's logits with
 * each adapter, after the prompt and after each of 12 greedy tokens, must
 * agree with PEFT's to 1e-4 of the largest logit.  Temper's own fused
 * exports come back at the rank they were trained with; the PEFT export
 * from a Gemma 3 model of text and images names the tensors as PEFT does,
 * and its merged folder keeps the base's layout and answers as PEFT. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "temper/export.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper/safetensors.h"
#include "temper/train.h"
#include "family-export-util.h"
#include "test-tree.h"

typedef struct {
  const char *name;     /* fixture: tests/fixtures/import/<name>… */
  const char *base;     /* the model, in tests/fixtures/families */
  gboolean    gguf_adapter;
} Case;

static char *
import_fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "import", name, NULL);
}

static double
relative_error (const float *a, const float *b, int n)
{
  double diff = 0.0, scale = 0.0;

  for (int i = 0; i < n; i++)
    {
      diff = MAX (diff, fabs ((double) a[i] - b[i]));
      scale = MAX (scale, fabs ((double) b[i]));
    }
  return diff / MAX (scale, 1e-30);
}

/* The worst relative error of @model with @adapter against PEFT's rows. */
static double
worst_error (const temper_model_t *model, temper_adapter_t *adapter, const char *name)
{
  g_autofree char *json_name = g_strconcat (name, ".json", NULL);
  g_autofree char *logits_name = g_strconcat (name, ".logits", NULL);
  g_autofree char *json_path = import_fixture (json_name);
  g_autofree char *logits_path = import_fixture (logits_name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  g_autofree float *logits = NULL;
  TemperGeneratorOptions opts = { 128, 2, TRUE };
  JsonArray *prompt, *greedy;
  JsonObject *obj;
  g_autofree gint32 *ids = NULL;
  int n_vocab;
  gsize len;
  double worst = 0.0;

  g_assert_true (json_parser_load_from_file (parser, json_path, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  prompt = json_object_get_array_member (obj, "prompt");
  greedy = json_object_get_array_member (obj, "greedy");
  n_vocab = (int) json_object_get_int_member (obj, "n_vocab");
  g_assert_true (g_file_get_contents (logits_path, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, (json_array_get_length (greedy) + 1) * n_vocab * sizeof (float));

  gen = temper_generator_new (model, &opts, &error);
  g_assert_no_error (error);
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  g_assert_no_error (error);
  ids = g_new (gint32, json_array_get_length (prompt));
  for (guint i = 0; i < json_array_get_length (prompt); i++)
    ids[i] = (gint32) json_array_get_int_element (prompt, i);
  logits = g_new (float, n_vocab);
  g_assert_true (temper_generator_eval (gen, ids, json_array_get_length (prompt), logits, NULL, &error));
  g_assert_no_error (error);
  for (guint row = 0; row <= json_array_get_length (greedy); row++)
    {
      gint32 next;

      worst = MAX (worst, relative_error (logits, (const float *) bytes + (gsize) row * n_vocab, n_vocab));
      if (row == json_array_get_length (greedy))
        break;
      next = (gint32) json_array_get_int_element (greedy, row);
      g_assert_true (temper_generator_eval (gen, &next, 1, logits, NULL, &error));
      g_assert_no_error (error);
    }
  return worst;
}

static void
test_import (gconstpointer data)
{
  const Case *t = data;
  g_autofree char *gguf_name = g_strconcat (t->name, ".gguf", NULL);
  g_autofree char *adapter_path = import_fixture (t->gguf_adapter ? gguf_name : t->name);
  gboolean gguf_base = g_str_has_suffix (t->base, ".gguf");
  g_autofree char *family = gguf_base ? g_strndup (t->base, strlen (t->base) - 5) : g_strdup (t->base);
  g_autoptr(temper_model_t) model = family_model (family, gguf_base);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GError) error = NULL;
  TemperLoraConfig lora;
  double err;

  if (t->gguf_adapter)
    adapter = temper_import_gguf_adapter (adapter_path, model, &error);
  else
    adapter = temper_lora_load_peft (adapter_path, temper_model_get_config (model), &lora, &error);
  g_assert_no_error (error);
  g_assert_nonnull (adapter);
  g_assert_cmpuint (temper_adapter_get_targets (adapter), ==, TEMPER_LORA_ALL_TARGETS);
  /* The largest rank of any module: Phi-3's qkv_proj 6, GLM-4's 4. */
  g_assert_cmpint (temper_adapter_get_rank (adapter), ==, strcmp (t->name, "phi3") == 0 ? 6 : 4);
  if (!t->gguf_adapter)
    {
      g_assert_cmpint (lora.rank, ==, temper_adapter_get_rank (adapter));
      g_assert_true (lora.use_rslora == (strcmp (t->name, "glm4") == 0));
    }
  err = worst_error (model, adapter, t->name);
  g_test_message ("%s on %s: 13 rows, worst relative error %.2e", t->gguf_adapter ? gguf_name : t->name,
                  t->base, err);
  g_assert_cmpfloat (err, <=, 1e-4);

  /* A run continues from it as Temper's run folders keep it. */
  {
    g_autofree char *tmp = g_dir_make_tmp ("temper-import-XXXXXX", NULL);
    g_autoptr(temper_adapter_t) again = NULL;

    g_assert_true (temper_lora_save_peft (adapter, temper_model_get_config (model), 0.0f, tmp, NULL, &error));
    g_assert_no_error (error);
    again = temper_lora_load_peft (tmp, temper_model_get_config (model), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (worst_error (model, again, t->name), <=, 1e-4);
    test_remove_tree (tmp);
  }
}

/* Temper's own fused exports (PEFT qkv_proj / gate_up_proj with
 * rank_pattern, GGUF attn_qkv / ffn_up) come back as the adapter that was
 * exported: same rank, same A and B. */
static void
test_own_fused_exports (void)
{
  g_autoptr(temper_model_t) model = family_model ("phi3", FALSE);
  g_autoptr(temper_adapter_t) adapter = family_adapter (model);
  const TemperModelConfig *c = temper_model_get_config (model);
  g_autofree char *tmp = g_dir_make_tmp ("temper-import-XXXXXX", NULL);
  g_autofree char *peft_dir = g_build_filename (tmp, "peft", NULL);
  g_autofree char *gguf_path = g_build_filename (tmp, "lora.gguf", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (temper_export_peft (model, adapter, 0.0f, peft_dir, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_gguf_adapter (model, adapter, gguf_path, NULL, &error));
  g_assert_no_error (error);
  for (int kind = 0; kind < 2; kind++)
    {
      g_autoptr(temper_adapter_t) back = kind == 0 ? temper_lora_load_peft (peft_dir, c, NULL, &error)
                                                   : temper_import_gguf_adapter (gguf_path, model, &error);

      g_assert_no_error (error);
      g_assert_cmpint (temper_adapter_get_rank (back), ==, temper_adapter_get_rank (adapter));
      g_assert_cmpfloat_with_epsilon (temper_adapter_get_scale (back), temper_adapter_get_scale (adapter), 1e-6);
      for (int l = 0; l < c->n_layer; l++)
        for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
          {
            int in, out;

            temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
            for (gsize i = 0; i < (gsize) in * 4; i++)
              g_assert_cmpfloat_with_epsilon (temper_adapter_get_a (back, l, t)[i],
                                              temper_adapter_get_a (adapter, l, t)[i], 1e-6);
            for (gsize i = 0; i < (gsize) out * 4; i++)
              g_assert_cmpfloat_with_epsilon (temper_adapter_get_b (back, l, t)[i],
                                              temper_adapter_get_b (adapter, l, t)[i], 1e-6);
          }
    }
  test_remove_tree (tmp);
}

/* The PEFT export from a Gemma 3 model of text and images: the text
 * tensors under PEFT's own names (base_model.model.model.language_model.
 * layers.…), with PEFT's values, and target_modules a pattern that keeps
 * PEFT off the image tower. */
static void
test_vlm_peft_export (void)
{
  g_autoptr(temper_model_t) model = family_model ("gemma3-vlm", FALSE);
  g_autofree char *peft_dir = import_fixture ("gemma3-vlm");
  g_autofree char *peft_file = g_build_filename (peft_dir, "adapter_model.safetensors", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-import-XXXXXX", NULL);
  g_autofree char *out_dir = g_build_filename (tmp, "peft", NULL);
  g_autofree char *out_file = g_build_filename (out_dir, "adapter_model.safetensors", NULL);
  g_autofree char *out_config = g_build_filename (out_dir, "adapter_config.json", NULL);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_safetensors_t) theirs = NULL, ours = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *targets;
  guint n_text = 0;

  adapter = temper_lora_load_peft (peft_dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_export_peft (model, adapter, 0.0f, out_dir, NULL, &error));
  g_assert_no_error (error);
  theirs = temper_safetensors_open (peft_file, &error);
  g_assert_no_error (error);
  ours = temper_safetensors_open (out_file, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < temper_safetensors_get_n_tensors (theirs); i++)
    {
      const char *name = temper_safetensors_get_name (theirs, i);
      TemperSafetensorsInfo a, b;

      if (strstr (name, "vision_tower") != NULL)
        continue;
      g_assert_true (g_str_has_prefix (name, "base_model.model.model.language_model.layers."));
      g_assert_true (temper_safetensors_get_info (theirs, name, &a));
      if (!temper_safetensors_get_info (ours, name, &b))
        g_error ("Temper's export lacks %s", name);
      g_assert_cmpint (a.shape[0], ==, b.shape[0]);
      g_assert_cmpint (a.shape[1], ==, b.shape[1]);
      g_assert_cmpstr (b.dtype, ==, "F32");
      g_assert_cmpmem (a.data, a.n_bytes, b.data, b.n_bytes);
      n_text++;
    }
  g_assert_cmpuint (n_text, ==, 4 * 7 * 2);
  g_assert_cmpuint (temper_safetensors_get_n_tensors (ours), ==, n_text);
  g_assert_true (json_parser_load_from_file (parser, out_config, NULL));
  targets = json_object_get_member (json_node_get_object (json_parser_get_root (parser)), "target_modules");
  g_assert_true (JSON_NODE_HOLDS_VALUE (targets));
  g_assert_true (g_regex_match_simple (json_node_get_string (targets),
                                       "model.language_model.layers.0.self_attn.q_proj", G_REGEX_ANCHORED,
                                       G_REGEX_MATCH_ANCHORED));
  g_assert_false (g_regex_match_simple (json_node_get_string (targets),
                                        "model.vision_tower.encoder.layers.0.self_attn.q_proj", 0, 0));

  /* The merged folder keeps the base's layout (every tensor, the image
   * part as it was) and, loaded again, answers as PEFT does. */
  {
    g_autofree char *merged_dir = g_build_filename (tmp, "merged", NULL);
    g_autofree char *merged_file = g_build_filename (merged_dir, "model.safetensors", NULL);
    g_autofree char *base_dir = family_fixture ("gemma3-vlm");
    g_autofree char *base_file = g_build_filename (base_dir, "model.safetensors", NULL);
    g_autoptr(temper_safetensors_t) base = NULL, merged = NULL;
    g_autoptr(temper_model_t) reloaded = NULL;
    double err;

    g_assert_true (temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32, 0, merged_dir, NULL, &error));
    g_assert_no_error (error);
    base = temper_safetensors_open (base_file, &error);
    g_assert_no_error (error);
    merged = temper_safetensors_open (merged_file, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (temper_safetensors_get_n_tensors (merged), ==, temper_safetensors_get_n_tensors (base));
    for (guint i = 0; i < temper_safetensors_get_n_tensors (base); i++)
      {
        const char *name = temper_safetensors_get_name (base, i);
        TemperSafetensorsInfo a, b;

        g_assert_true (temper_safetensors_get_info (base, name, &a));
        if (!temper_safetensors_get_info (merged, name, &b))
          g_error ("the merged folder lacks %s", name);
        if (!g_str_has_prefix (name, "language_model."))
          g_assert_cmpmem (a.data, a.n_bytes, b.data, b.n_bytes);
      }
    reloaded = temper_model_load (merged_dir, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (temper_model_get_config (reloaded)->hf_layout, ==, TEMPER_HF_LAYOUT_VLM);
    err = worst_error (reloaded, NULL, "gemma3-vlm");
    g_test_message ("merged HF of gemma3-vlm vs PEFT: worst relative error %.2e", err);
    g_assert_cmpfloat (err, <=, 1e-4);
  }
  test_remove_tree (tmp);
}

/* The same Gemma 3 adapter as PEFT wrote it before transformers 4.52, when
 * the text model's modules were language_model.model.layers.… (and the
 * image tower's vision_tower.vision_model.…). */
static void
test_vlm_older_names (void)
{
  g_autoptr(temper_model_t) model = family_model ("gemma3-vlm", FALSE);
  g_autofree char *peft_dir = import_fixture ("gemma3-vlm");
  g_autofree char *peft_file = g_build_filename (peft_dir, "adapter_model.safetensors", NULL);
  g_autofree char *peft_config = g_build_filename (peft_dir, "adapter_config.json", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-import-XXXXXX", NULL);
  g_autofree char *out_file = g_build_filename (tmp, "adapter_model.safetensors", NULL);
  g_autofree char *out_config = g_build_filename (tmp, "adapter_config.json", NULL);
  g_autofree char *config_text = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GError) error = NULL;
  double err;

  st = temper_safetensors_open (peft_file, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < temper_safetensors_get_n_tensors (st); i++)
    {
      const char *name = temper_safetensors_get_name (st, i);
      g_autoptr(GString) older = g_string_new (name);
      TemperSafetensorsInfo info;
      int64_t shape[2];

      g_string_replace (older, "base_model.model.model.language_model.", "base_model.model.language_model.model.", 1);
      g_string_replace (older, "base_model.model.model.vision_tower.", "base_model.model.vision_tower.vision_model.", 1);
      g_assert_true (temper_safetensors_get_info (st, name, &info));
      shape[0] = info.shape[0];
      shape[1] = info.shape[1];
      g_ptr_array_add (names, g_string_free (g_steal_pointer (&older), FALSE));
      temper_safetensors_writer_add_tensor_static (w, names->pdata[names->len - 1], info.dtype, shape, 2, info.data,
                                                   info.n_bytes);
    }
  g_assert_true (temper_safetensors_writer_write (w, out_file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (peft_config, &config_text, NULL, NULL));
  g_assert_true (g_file_set_contents (out_config, config_text, -1, NULL));
  adapter = temper_lora_load_peft (tmp, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  err = worst_error (model, adapter, "gemma3-vlm");
  g_test_message ("gemma3-vlm adapter with the names of transformers < 4.52: worst relative error %.2e", err);
  g_assert_cmpfloat (err, <=, 1e-4);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  static const Case cases[] = {
    { "phi3", "phi3", FALSE },
    { "phi3", "phi3", TRUE },
    { "phi3", "phi3.gguf", TRUE },
    { "phi3", "phi3.gguf", FALSE },
    { "glm4", "glm4", FALSE },
    { "glm4", "glm4.gguf", FALSE },
    { "gemma3-vlm", "gemma3-vlm", FALSE },
    { "gemma3-vlm", "gemma3-vlm-modules", FALSE },
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/lora-import/%s%s/on-%s", cases[i].name,
                                               cases[i].gguf_adapter ? "-gguf" : "-peft", cases[i].base);

      g_test_add_data_func (path, &cases[i], test_import);
    }
  g_test_add_func ("/lora-import/own-fused-exports", test_own_fused_exports);
  g_test_add_func ("/lora-import/gemma3-vlm-peft-export", test_vlm_peft_export);
  g_test_add_func ("/lora-import/gemma3-vlm-older-names", test_vlm_older_names);
  return g_test_run ();
}
