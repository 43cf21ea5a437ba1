/* SPDX-License-Identifier: MIT */
/* test-model-notes.c — the Model page's one plain line per family and per
 * weight type: every weight type the engine reads (temper_type_name()
 * names it) and every llama.cpp file type made of those, and every family
 * the engine loads, has a line of its own; anything else gets the generic
 * line with its name in it. */
#include "config.h"

#include <string.h>

#include "temper/tensor.h"
#include "temper-model-notes.h"

/* The families temper_model_get_family_name() returns today, plus the
 * mixture-of-experts families being added. */
static const char *const families[] = {
  "Llama", "Llama 3.1", "Qwen2", "Qwen3", "Qwen3 MoE", "Mistral", "Mixtral",
  "Gemma 2", "Gemma 3", "Phi-3", "GLM-4",
};

/* llama.cpp's general.file_type names whose blocks the engine reads. */
static const char *const file_types[] = {
  "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
  "Q2_K", "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M",
  "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "TQ2_0",
};

static void
test_weight_types (void)
{
  guint n_read = 0;

  for (int type = 0; type <= TEMPER_TYPE_NF4; type++)
    {
      const char *name = temper_type_name (type);
      g_autofree char *line = NULL;
      g_autofree char *prefix = NULL;

      if (name == NULL)
        continue;
      n_read++;
      line = temper_model_quantization_line (name);
      prefix = g_strconcat (name, " — ", NULL);
      g_test_message ("%s", line);
      g_assert_true (temper_model_quantization_is_described (name));
      g_assert_true (g_str_has_prefix (line, prefix));
      g_assert_null (strstr (line, "no description"));
    }
  /* F32 F16 BF16, Q4_0 … Q8_1, the K types, IQ4_NL IQ4_XS TQ2_0, NF4. */
  g_assert_cmpuint (n_read, >=, 18);

  for (guint i = 0; i < G_N_ELEMENTS (file_types); i++)
    g_assert_true (temper_model_quantization_is_described (file_types[i]));
  {
    g_autofree char *q4km = temper_model_quantization_line ("Q4_K_M");
    g_autofree char *q8 = temper_model_quantization_line ("Q8_0");

    g_assert_cmpstr (q4km, ==, "Q4_K_M — 4-bit, about a quarter of the original size; small loss of quality");
    g_assert_cmpstr (q8, ==, "Q8_0 — 8-bit, about half the original size; almost no loss of quality");
  }
  {
    g_autofree char *unknown = temper_model_quantization_line ("IQ1_S");

    g_assert_false (temper_model_quantization_is_described ("IQ1_S"));
    g_assert_cmpstr (unknown, ==, "IQ1_S — a weight type Temper can read; it has no description here yet.");
  }
}

static void
test_families (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autofree char *line = temper_model_family_line (families[i]);
      g_autofree char *prefix = g_strconcat (families[i], " — ", NULL);

      g_test_message ("%s", line);
      g_assert_true (temper_model_family_is_described (families[i]));
      g_assert_true (g_str_has_prefix (line, prefix));
      g_assert_null (strstr (line, "no description"));
    }
  {
    g_autofree char *qwen3 = temper_model_family_line ("Qwen3");
    g_autofree char *other = temper_model_family_line ("Falcon");

    g_assert_cmpstr (qwen3, ==, "Qwen3 — Alibaba's 2025 family; chats in Chinese and English, can think step by step.");
    g_assert_false (temper_model_family_is_described ("Falcon"));
    g_assert_cmpstr (other, ==, "Falcon — a model family Temper can read; it has no description here yet.");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-notes/weight-types", test_weight_types);
  g_test_add_func ("/model-notes/families", test_families);
  return g_test_run ();
}
