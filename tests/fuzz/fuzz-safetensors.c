/* SPDX-License-Identifier: MIT */
/* A safetensors file: the length prefix, the JSON header (dtypes, shapes,
 * offsets, metadata) and its checks against the file's size. */
#include "config.h"

#include "temper/safetensors.h"
#include "fuzz-util.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init (FALSE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  g_autoptr(GError) error = NULL;
  volatile unsigned sink = 0;

  /* The header is JSON after an 8-byte length. */
  if (size > 8 && fuzz_json_too_deep (data + 8, size - 8, FUZZ_JSON_DEPTH))
    return 0;
  path = fuzz_write (NULL, "model.safetensors", data, size);
  st = temper_safetensors_open (path, &error);
  if (st == NULL)
    {
      g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  for (guint i = 0; i < temper_safetensors_get_n_tensors (st); i++)
    {
      const char *name = temper_safetensors_get_name (st, i);
      TemperSafetensorsInfo info;
      TemperTensorView view;

      /* The last byte of every tensor is inside the mapping. */
      if (temper_safetensors_get_info (st, name, &info) && info.n_bytes > 0)
        sink += ((const unsigned char *) info.data)[info.n_bytes - 1];
      if (temper_safetensors_get_view (st, name, &view, NULL) && view.ne[0] > 0 && view.ne[1] > 0
          && view.ne[0] <= 4096)
        {
          float row[4096];
          temper_tensor_row_to_f32 (&view, view.ne[1] - 1, row);
          sink += row[0] == row[0];
        }
    }
  sink += temper_safetensors_get_metadata (st, "format") != NULL;
  (void) sink;
  return 0;
}
