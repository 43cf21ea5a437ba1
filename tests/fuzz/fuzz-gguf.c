/* SPDX-License-Identifier: MIT */
/* GGUF files: the header, the metadata, the tensor infos, through the
 * model loader Temper uses (temper_model_load), after a pass over everything
 * the GGUF reader hands out. */
#include "config.h"

#include "temper/gguf.h"
#include "temper/model.h"
#include "temper/tokenizer.h"
#include "fuzz-util.h"

static void
touch_gguf (const char *path)
{
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, NULL);
  volatile unsigned sink = 0;

  if (gguf == NULL)
    return;
  for (guint64 i = 0; i < temper_gguf_get_n_kv (gguf); i++)
    {
      const char *key = temper_gguf_get_key (gguf, i);
      g_autofree char *s = temper_gguf_dup_string (gguf, key);
      TemperGgufValueType type;
      guint64 count;

      if (s != NULL)
        sink += (unsigned) strlen (s);
      if (temper_gguf_get_array_info (gguf, key, &type, &count) && type == TEMPER_GGUF_STRING)
        for (guint64 j = 0; j < count && j < 64; j++)
          {
            TemperGgufString str = temper_gguf_get_array_string (gguf, key, j);
            if (str.len > 0)
              sink += (unsigned char) str.data[str.len - 1];
          }
    }
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (gguf); i++)
    {
      TemperTensorView view;
      temper_gguf_get_tensor (gguf, i, &view);
      sink += (unsigned) view.type;
    }
  (void) sink;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init (FALSE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write (NULL, "model.gguf", data, size);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;

  touch_gguf (path);
  model = temper_model_load (path, NULL, &error);
  if (model == NULL)
    {
      g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  /* A model that loads has a tokenizer that can work. */
  {
    temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
    if (tok != NULL)
      {
        GArray *ids = temper_tokenizer_encode (tok, "Hello, world! 你好", -1, TRUE);
        g_autofree char *text = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);

        g_assert (g_utf8_validate (text, -1, NULL));
        g_array_unref (ids);
      }
  }
  return 0;
}
