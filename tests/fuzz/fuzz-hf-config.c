/* SPDX-License-Identifier: MIT */
/* A Hugging Face folder's config.json (architecture, sizes, RoPE, biases …),
 * loaded with the real weights and tokenizer of
 * tests/fixtures/model/hf-tiny-llama, through the model loader. */
#include "config.h"

#include "temper/model.h"
#include "fuzz-util.h"

static char *folder;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *fixture = fuzz_fixture ("model/hf-tiny-llama");

  fuzz_init (FALSE);
  folder = g_build_filename (fuzz_scratch_dir (), "llama", NULL);
  fuzz_copy_dir (fixture, folder);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;

  if (fuzz_json_too_deep (data, size, FUZZ_JSON_DEPTH))
    return 0;
  path = fuzz_write (folder, "config.json", data, size);
  model = temper_model_load (folder, NULL, &error);
  if (model == NULL)
    {
      g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  /* A model that loads has consistent sizes: every layer's weights exist. */
  {
    const TemperModelConfig *c = temper_model_get_config (model);
    for (int l = 0; l < c->n_layer; l++)
      g_assert (temper_model_get_layer (model, l) != NULL);
  }
  return 0;
}
