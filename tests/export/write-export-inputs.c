/* SPDX-License-Identifier: MIT */
/* write-export-inputs.c — writes Temper's PEFT export and merged Hugging
 * Face export of tests/fixtures/nn/tiny-qwen2 with the test adapter into
 * DIR/peft and DIR/merged (one safetensors file) and DIR/merged-sharded
 * (shards of about a third of the weights, with an index), for
 * make-export-fixtures.py to load in transformers and PEFT. */
#include "config.h"

#include <stdio.h>

#include "temper/export.h"
#include "export-test-util.h"

int
main (int argc, char **argv)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *model_dir = NULL, *peft = NULL, *merged = NULL, *sharded = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s OUT_DIR\n", argv[0]);
      return 2;
    }
  model_dir = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "nn",
                                "tiny-qwen2", NULL);
  peft = g_build_filename (argv[1], "peft", NULL);
  merged = g_build_filename (argv[1], "merged", NULL);
  sharded = g_build_filename (argv[1], "merged-sharded", NULL);
  model = temper_model_load (model_dir, NULL, &error);
  if (model != NULL)
    {
      adapter = export_test_adapter (model);
      if (temper_export_peft (model, adapter, 0.0f, peft, NULL, &error) &&
          temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32, 0, merged, NULL, &error))
        temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32,
                                 temper_model_get_file_size (model) / 3 + 1024, sharded, NULL,
                                 &error);
    }
  if (error != NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}
