/* SPDX-License-Identifier: MIT */
/* test-lora.c — LoRA targets, PEFT-style init, PEFT files (against files
 * written by PEFT itself, tests/train/make-peft-fixtures.py). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/train.h"
#include "train/temper-lora-private.h"

/* The tiny Llama of the fixtures: hidden 64, 4 heads (2 kv) of 16, ff 96, 2 layers. */
static TemperModelConfig
tiny_config (TemperRopeLayout layout)
{
  TemperModelConfig c = { 0 };

  c.arch = TEMPER_ARCH_LLAMA;
  c.rope_layout = layout;
  c.n_layer = 2;
  c.n_embd = 64;
  c.n_ff = 96;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 16;
  c.n_vocab = 320;
  c.n_ctx_train = 128;
  c.rms_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.tied_embeddings = TRUE;
  return c;
}

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", name, NULL);
}

static void
test_targets (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *s = NULL;
  guint t = 0;

#define BIT TEMPER_LORA_TARGET_BIT
  g_assert_true (temper_lora_targets_parse ("attention", &t, NULL));
  g_assert_cmpuint (t, ==, BIT (TEMPER_LORA_Q) | BIT (TEMPER_LORA_V));
  g_assert_true (temper_lora_targets_parse ("All-Linear", &t, NULL));
  g_assert_cmpuint (t, ==, 0x7f);
  g_assert_true (temper_lora_targets_parse (" q, k ,down", &t, NULL));
  g_assert_cmpuint (t, ==, BIT (TEMPER_LORA_Q) | BIT (TEMPER_LORA_K) | BIT (TEMPER_LORA_DOWN));
  g_assert_true (temper_lora_targets_parse ("gate_proj,up_proj", &t, NULL));
  g_assert_cmpuint (t, ==, BIT (TEMPER_LORA_GATE) | BIT (TEMPER_LORA_UP));
  s = temper_lora_targets_to_string (TEMPER_LORA_TARGETS_ALL_LINEAR);
  g_assert_cmpstr (s, ==, "q,k,v,o,gate,up,down");
  g_assert_true (temper_lora_targets_parse (s, &t, NULL));
  g_assert_cmpuint (t, ==, TEMPER_LORA_TARGETS_ALL_LINEAR);

  g_assert_false (temper_lora_targets_parse ("q,qq", &t, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "qq"));
}

static void
test_scaling (void)
{
  TemperLoraConfig c;

  temper_lora_config_init_default (&c);
  c.rank = 16;
  c.alpha = 32;
  g_assert_cmpfloat_with_epsilon (temper_lora_config_get_scaling (&c), 2.0f, 1e-6);
  c.use_rslora = TRUE;
  g_assert_cmpfloat_with_epsilon (temper_lora_config_get_scaling (&c), 8.0f, 1e-6);
}

static void
test_init (void)
{
  TemperModelConfig mc = tiny_config (TEMPER_ROPE_HALVES);
  TemperLoraConfig c;
  g_autoptr(temper_adapter_t) a = NULL;
  g_autoptr(temper_adapter_t) b = NULL;
  g_autoptr(temper_adapter_t) other = NULL;
  g_autofree float *fa = NULL, *fb = NULL, *fo = NULL;
  guint64 expected_params = 0;
  guint n_pairs = 0;

  temper_lora_config_init_default (&c);
  c.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  c.rank = 8;
  a = temper_lora_adapter_new (&mc, &c, 1, NULL);
  b = temper_lora_adapter_new (&mc, &c, 1, NULL);
  other = temper_lora_adapter_new (&mc, &c, 2, NULL);
  g_assert_nonnull (a);
  g_assert_cmpfloat (temper_adapter_get_scale (a), ==, 4.0f);

  for (int l = 0; l < mc.n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        const float *pa = temper_adapter_get_a (a, l, t);
        const float *pb = temper_adapter_get_b (a, l, t);
        int in, out;
        double bound, sum = 0, sumsq = 0;
        gsize n;

        g_assert_nonnull (pa);
        n_pairs++;
        temper_lora_target_dims (&mc, t, &in, &out);
        bound = 1.0 / sqrt (in);
        n = (gsize) c.rank * in;
        expected_params += (guint64) c.rank * (in + out);
        for (gsize j = 0; j < n; j++)
          {
            g_assert_cmpfloat (fabs (pa[j]), <=, bound);
            sum += pa[j];
            sumsq += pa[j] * pa[j];
          }
        /* U(−b, b): mean 0, variance b²/3; n ≥ 512 draws. */
        g_assert_cmpfloat (fabs (sum / n), <, 0.15 * bound);
        g_assert_cmpfloat (fabs (sumsq / n / (bound * bound / 3.0) - 1.0), <, 0.2);
        for (gsize j = 0; j < (gsize) c.rank * out; j++)
          g_assert_cmpfloat (pb[j], ==, 0.0f);
      }
  g_assert_cmpuint (n_pairs, ==, 14);
  g_assert_cmpuint (temper_lora_count_params (a, &mc), ==, expected_params);

  fa = g_new (float, expected_params);
  fb = g_new (float, expected_params);
  fo = g_new (float, expected_params);
  temper_lora_gather (a, &mc, fa);
  temper_lora_gather (b, &mc, fb);
  temper_lora_gather (other, &mc, fo);
  g_assert_cmpmem (fa, expected_params * 4, fb, expected_params * 4);
  g_assert_true (memcmp (fa, fo, expected_params * 4) != 0);
  /* The flat order starts with layer 0's q A, then q B. */
  g_assert_cmpfloat (fa[0], ==, temper_adapter_get_a (a, 0, TEMPER_LORA_Q)[0]);
  temper_lora_scatter (b, &mc, fo);
  temper_lora_gather (b, &mc, fb);
  g_assert_cmpmem (fb, expected_params * 4, fo, expected_params * 4);
  g_assert_cmpfloat (temper_adapter_get_a (b, 1, TEMPER_LORA_DOWN)[3], ==,
                     temper_adapter_get_a (other, 1, TEMPER_LORA_DOWN)[3]);
}

static void
test_bad_config (void)
{
  TemperModelConfig mc = tiny_config (TEMPER_ROPE_HALVES);
  TemperLoraConfig c;
  g_autoptr(GError) error = NULL;

  temper_lora_config_init_default (&c);
  c.rank = 0;
  g_assert_null (temper_lora_adapter_new (&mc, &c, 1, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  c.rank = 4;
  c.dropout = 1.0f;
  g_assert_null (temper_lora_adapter_new (&mc, &c, 1, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
}

/* Parses a safetensors header with json-glib, independently of the engine. */
static JsonObject *
read_header (const char *path, char **contents, gsize *data_offset, JsonParser *parser)
{
  gsize len;
  guint64 n;

  g_assert_true (g_file_get_contents (path, contents, &len, NULL));
  memcpy (&n, *contents, 8);
  g_assert_true (json_parser_load_from_data (parser, *contents + 8, (gssize) n, NULL));
  *data_offset = 8 + n;
  return json_node_get_object (json_parser_get_root (parser));
}

/* Our PEFT file must hold exactly PEFT's tensors: names, shapes, bytes. */
static void
assert_same_safetensors (const char *ours, const char *theirs)
{
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  g_autofree char *c1 = NULL, *c2 = NULL;
  gsize d1, d2;
  JsonObject *h1 = read_header (ours, &c1, &d1, p1);
  JsonObject *h2 = read_header (theirs, &c2, &d2, p2);
  g_autoptr(GList) names = json_object_get_members (h2);

  g_assert_cmpuint (json_object_get_size (h1), ==, json_object_get_size (h2));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (h1, "__metadata__"), "format"),
                   ==, "pt");
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *t1, *t2;
      JsonArray *o1, *o2, *s1, *s2;

      if (strcmp (l->data, "__metadata__") == 0)
        continue;
      g_assert_true (json_object_has_member (h1, l->data));
      t1 = json_object_get_object_member (h1, l->data);
      t2 = json_object_get_object_member (h2, l->data);
      g_assert_cmpstr (json_object_get_string_member (t1, "dtype"), ==, "F32");
      s1 = json_object_get_array_member (t1, "shape");
      s2 = json_object_get_array_member (t2, "shape");
      g_assert_cmpint (json_array_get_int_element (s1, 0), ==, json_array_get_int_element (s2, 0));
      g_assert_cmpint (json_array_get_int_element (s1, 1), ==, json_array_get_int_element (s2, 1));
      o1 = json_object_get_array_member (t1, "data_offsets");
      o2 = json_object_get_array_member (t2, "data_offsets");
      g_assert_cmpint (json_array_get_int_element (o1, 1) - json_array_get_int_element (o1, 0), ==,
                       json_array_get_int_element (o2, 1) - json_array_get_int_element (o2, 0));
      g_assert_cmpmem (c1 + d1 + json_array_get_int_element (o1, 0),
                       json_array_get_int_element (o1, 1) - json_array_get_int_element (o1, 0),
                       c2 + d2 + json_array_get_int_element (o2, 0),
                       json_array_get_int_element (o2, 1) - json_array_get_int_element (o2, 0));
    }
}

static void
assert_same_adapter (temper_adapter_t *x, temper_adapter_t *y, const TemperModelConfig *mc,
                     gboolean expect_equal)
{
  guint64 n = temper_lora_count_params (x, mc);
  g_autofree float *fx = g_new (float, n);
  g_autofree float *fy = g_new (float, n);

  g_assert_cmpuint (temper_lora_count_params (y, mc), ==, n);
  temper_lora_gather (x, mc, fx);
  temper_lora_gather (y, mc, fy);
  if (expect_equal)
    g_assert_cmpmem (fx, n * 4, fy, n * 4);
  else
    g_assert_true (memcmp (fx, fy, n * 4) != 0);
}

static void
test_peft_fixture (void)
{
  g_autofree char *hf_dir = fixture ("tiny-llama-adapter");
  g_autofree char *gguf_dir = fixture ("tiny-llama-adapter-gguf-order");
  TemperModelConfig halves = tiny_config (TEMPER_ROPE_HALVES);
  TemperModelConfig interleaved = tiny_config (TEMPER_ROPE_INTERLEAVED);
  g_autoptr(GError) error = NULL;
  TemperLoraConfig c;
  g_autoptr(temper_adapter_t) hf = temper_lora_load_peft (hf_dir, &halves, &c, &error);
  g_autoptr(temper_adapter_t) as_gguf = NULL;
  g_autoptr(temper_adapter_t) raw_gguf = NULL;
  g_autoptr(temper_adapter_t) back = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("temper-lora-XXXXXX", NULL);
  g_autofree char *ours = g_build_filename (tmp, "adapter_model.safetensors", NULL);
  g_autofree char *theirs = g_build_filename (hf_dir, "adapter_model.safetensors", NULL);
  g_autofree char *ours_config = g_build_filename (tmp, "adapter_config.json", NULL);

  g_assert_no_error (error);
  g_assert_cmpint (c.rank, ==, 4);
  g_assert_cmpfloat (c.alpha, ==, 8.0f);
  g_assert_cmpuint (c.targets, ==, TEMPER_LORA_TARGETS_ALL_LINEAR);
  g_assert_false (c.use_rslora);
  g_assert_cmpint (temper_adapter_get_rank (hf), ==, 4);
  g_assert_cmpfloat (temper_adapter_get_scale (hf), ==, 2.0f);

  /* Writing it back gives PEFT's own tensors, and reads back the same. */
  g_assert_true (temper_lora_save_peft (hf, &halves, 0.1f, tmp, "tiny-llama", &error));
  g_assert_no_error (error);
  assert_same_safetensors (ours, theirs);
  back = temper_lora_load_peft (tmp, &halves, &c, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (c.dropout, ==, 0.1f);
  assert_same_adapter (back, hf, &halves, TRUE);

  /* For a llama-arch GGUF model, q/k B rows must come out in llama.cpp's
   * order, which the fixture made with llama.cpp's permute formula. */
  as_gguf = temper_lora_load_peft (hf_dir, &interleaved, NULL, &error);
  g_assert_no_error (error);
  raw_gguf = temper_lora_load_peft (gguf_dir, &halves, NULL, &error);
  g_assert_no_error (error);
  assert_same_adapter (as_gguf, raw_gguf, &halves, TRUE);
  assert_same_adapter (as_gguf, hf, &halves, FALSE);

  /* …and saving from GGUF order gives HF order again. */
  g_assert_true (temper_lora_save_peft (as_gguf, &interleaved, 0.0f, tmp, NULL, &error));
  g_assert_no_error (error);
  assert_same_safetensors (ours, theirs);

  g_unlink (ours);
  g_unlink (ours_config);
  g_rmdir (tmp);
}

static void
write_file (const char *dir, const char *name, const char *contents, gssize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, contents, len, NULL));
}

static void
test_peft_bad (void)
{
  g_autofree char *hf_dir = fixture ("tiny-llama-adapter");
  g_autofree char *weights = g_build_filename (hf_dir, "adapter_model.safetensors", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-lora-XXXXXX", NULL);
  g_autofree char *blob = NULL;
  TemperModelConfig mc = tiny_config (TEMPER_ROPE_HALVES);
  TemperModelConfig wider = tiny_config (TEMPER_ROPE_HALVES);
  g_autoptr(GError) error = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (weights, &blob, &len, NULL));

  /* No adapter_config.json. */
  g_assert_null (temper_lora_load_peft (tmp, &mc, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "adapter_config.json"));
  g_clear_error (&error);

  /* DoRA. */
  write_file (tmp, "adapter_config.json",
              "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"use_dora\":true,"
              "\"target_modules\":[\"q_proj\"]}", -1);
  g_assert_null (temper_lora_load_peft (tmp, &mc, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* A module Temper cannot adapt. */
  write_file (tmp, "adapter_config.json",
              "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,"
              "\"target_modules\":[\"q_proj\",\"lm_head\"]}", -1);
  g_assert_null (temper_lora_load_peft (tmp, &mc, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* Config lists fewer modules than the file holds: refused, not dropped. */
  write_file (tmp, "adapter_config.json",
              "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,"
              "\"target_modules\":[\"q_proj\",\"v_proj\"]}", -1);
  write_file (tmp, "adapter_model.safetensors", blob, (gssize) len);
  g_assert_null (temper_lora_load_peft (tmp, &mc, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* Another model's shapes. */
  write_file (tmp, "adapter_config.json",
              "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":\"all-linear\"}", -1);
  wider.n_ff = 128;
  g_assert_null (temper_lora_load_peft (tmp, &wider, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, "shape"));
  g_clear_error (&error);

  /* Truncated weights, at several lengths. */
  for (gsize cut = 0; cut < len; cut += len / 7 + 1)
    {
      g_autoptr(temper_adapter_t) l = NULL;

      write_file (tmp, "adapter_model.safetensors", blob, (gssize) cut);
      l = temper_lora_load_peft (tmp, &mc, NULL, &error);
      g_assert_null (l);
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
      g_clear_error (&error);
    }

  {
    g_autofree char *a = g_build_filename (tmp, "adapter_config.json", NULL);
    g_autofree char *b = g_build_filename (tmp, "adapter_model.safetensors", NULL);

    g_unlink (a);
    g_unlink (b);
    g_rmdir (tmp);
  }
}

static void
test_permute_inverse (void)
{
  float rows[32 * 3], copy[32 * 3];

  for (int i = 0; i < 32 * 3; i++)
    rows[i] = copy[i] = (float) i;
  temper_lora_permute_rows (rows, 32, 3, 16, TRUE);
  /* HF row s·8 + i comes from GGUF row 2i + s: HF row 8 (s=1, i=0) = GGUF row 1. */
  g_assert_cmpfloat (rows[8 * 3], ==, copy[1 * 3]);
  g_assert_cmpfloat (rows[(16 + 1) * 3 + 2], ==, copy[(16 + 2) * 3 + 2]);
  temper_lora_permute_rows (rows, 32, 3, 16, FALSE);
  g_assert_cmpmem (rows, sizeof rows, copy, sizeof copy);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lora/targets", test_targets);
  g_test_add_func ("/lora/scaling", test_scaling);
  g_test_add_func ("/lora/init", test_init);
  g_test_add_func ("/lora/bad-config", test_bad_config);
  g_test_add_func ("/lora/permute-inverse", test_permute_inverse);
  g_test_add_func ("/lora/peft-fixture", test_peft_fixture);
  g_test_add_func ("/lora/peft-bad", test_peft_bad);
  return g_test_run ();
}
