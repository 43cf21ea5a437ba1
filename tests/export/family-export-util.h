/* SPDX-License-Identifier: MIT */
/* family-export-util.h — the families whose exports are checked against
 * PEFT, transformers and llama.cpp, the adapter each gets, and the files
 * write-family-exports makes for make-family-export-fixtures.py. */
#pragma once

#include "config.h"

#include <json-glib/json-glib.h>

#include "temper/adapter.h"
#include "temper/export.h"
#include "temper/model.h"
#include "temper/train.h"
#include "../model/tiny-model.h"

static const char *const export_families[] = {
  "llama31", "qwen3", "mistral", "gemma2", "gemma3", "phi3", "phi35", "glm4", "qwen3moe", "mixtral",
  "qwen3-yarn", "phi35-long",
};

static inline char *
family_fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "families", name, NULL);
}

/* Rank 4, α 8, every target, values in ±0.1: it changes the answer clearly.
 * Deterministic, so the test and the writer make the same adapter. */
static inline temper_adapter_t *
family_adapter (temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  g_autoptr(GError) error = NULL;
  temper_adapter_t *adapter = temper_adapter_new (c, 4, 8.0f, FALSE, TEMPER_LORA_ALL_TARGETS, &error);
  guint salt = 300;

  g_assert_no_error (error);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;
        g_autofree float *va = NULL, *vb = NULL;

        /* A mixture of experts adapts its attention only. */
        if (temper_adapter_get_a (adapter, l, (TemperLoraTarget) t) == NULL)
          continue;
        temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
        va = tiny_values ((gsize) in * 4, salt++);
        vb = tiny_values ((gsize) out * 4, salt++);
        for (gsize i = 0; i < (gsize) in * 4; i++)
          temper_adapter_get_a (adapter, l, (TemperLoraTarget) t)[i] = 0.2f * va[i];
        for (gsize i = 0; i < (gsize) out * 4; i++)
          temper_adapter_get_b (adapter, l, (TemperLoraTarget) t)[i] = 0.2f * vb[i];
      }
  temper_adapter_changed (adapter);
  return adapter;
}

static inline temper_model_t *
family_model (const char *family, gboolean gguf)
{
  g_autofree char *name = g_strconcat (family, gguf ? ".gguf" : "", NULL);
  g_autofree char *path = family_fixture (name);
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

static inline void
family_write_cross_exports (temper_model_t *hf, temper_adapter_t *hf_adapter, temper_model_t *gguf,
                            temper_adapter_t *gguf_adapter, const char *dir)
{
  g_autofree char *cross = g_build_filename (dir, "cross.gguf", NULL);
  g_autofree char *cross_hf = g_build_filename (dir, "cross-hf", NULL);
  g_autofree char *gguf_peft = g_build_filename (dir, "gguf-peft", NULL);
  g_autoptr(GError) error = NULL;

  temper_export_merged_gguf (hf, hf_adapter, TEMPER_EXPORT_F16, cross, NULL, &error);
  g_assert_no_error (error);
  temper_export_merged_hf (gguf, gguf_adapter, TEMPER_EXPORT_HF_F32, 0, cross_hf, NULL, &error);
  g_assert_no_error (error);
  temper_export_peft (gguf, gguf_adapter, 0.0f, gguf_peft, NULL, &error);
  g_assert_no_error (error);
}

/* DIR/peft, DIR/lora.gguf and DIR/merged-hf from the Hugging Face model with
 * its adapter; DIR/merged.gguf (F16) from the GGUF model with its own.
 * Across formats: DIR/cross.gguf (F16) from the Hugging Face model with its
 * adapter, DIR/cross-hf (F32) from the GGUF model with its own, and that
 * adapter as PEFT (DIR/gguf-peft) for PEFT's reference on the Hugging Face
 * model. */
static inline void
family_write_exports (const char *family, const char *dir)
{
  g_autoptr(temper_model_t) hf = family_model (family, FALSE);
  g_autoptr(temper_model_t) gguf = family_model (family, TRUE);
  g_autoptr(temper_adapter_t) hf_adapter = family_adapter (hf);
  g_autoptr(temper_adapter_t) gguf_adapter = family_adapter (gguf);
  g_autofree char *peft = g_build_filename (dir, "peft", NULL);
  g_autofree char *lora = g_build_filename (dir, "lora.gguf", NULL);
  g_autofree char *merged_hf = g_build_filename (dir, "merged-hf", NULL);
  g_autofree char *merged = g_build_filename (dir, "merged.gguf", NULL);
  g_autoptr(GError) error = NULL;

  temper_export_peft (hf, hf_adapter, 0.0f, peft, NULL, &error);
  g_assert_no_error (error);
  temper_export_gguf_adapter (hf, hf_adapter, lora, NULL, &error);
  g_assert_no_error (error);
  temper_export_merged_hf (hf, hf_adapter, TEMPER_EXPORT_HF_F32, 0, merged_hf, NULL, &error);
  g_assert_no_error (error);
  temper_export_merged_gguf (gguf, gguf_adapter, TEMPER_EXPORT_F16, merged, NULL, &error);
  g_assert_no_error (error);
  family_write_cross_exports (hf, hf_adapter, gguf, gguf_adapter, dir);
}
