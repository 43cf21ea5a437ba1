/* SPDX-License-Identifier: MIT */
/* A Hugging Face tokenizer.json and its tokenizer_config.json (the input is
 * the first, a NUL byte, then the second; without a NUL there is no
 * tokenizer_config.json).  A tokenizer that loads must then encode and decode
 * text with ids inside its vocabulary. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "temper/tokenizer.h"
#include "fuzz-util.h"

static char *folder;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init (FALSE);
  folder = g_build_filename (fuzz_scratch_dir (), "tok", NULL);
  g_mkdir_with_parents (folder, 0700);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char sample[] = "Hello world! <s> <|im_start|> ünïcödé 你好 \t\n  123 4567 'll";
  const uint8_t *nul = memchr (data, 0, size);
  size_t json_len = nul != NULL ? (size_t) (nul - data) : size;
  g_autofree char *json_path = NULL;
  g_autofree char *config_path = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GError) error = NULL;

  if (fuzz_json_too_deep (data, json_len, FUZZ_JSON_DEPTH)
      || (nul != NULL && fuzz_json_too_deep (nul + 1, size - json_len - 1, FUZZ_JSON_DEPTH)))
    return 0;
  json_path = fuzz_write (folder, "tokenizer.json", data, json_len);
  config_path = g_build_filename (folder, "tokenizer_config.json", NULL);
  if (nul != NULL)
    g_free (fuzz_write (folder, "tokenizer_config.json", nul + 1, size - json_len - 1));
  else
    remove (config_path);
  tok = temper_tokenizer_new_from_hf (json_path, nul != NULL ? config_path : NULL, &error);
  if (tok == NULL)
    {
      g_assert (error != NULL && g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  for (int special = 0; special < 2; special++)
    {
      GArray *ids = temper_tokenizer_encode (tok, sample, -1, special);
      g_autofree char *text = NULL;

      for (guint i = 0; i < ids->len; i++)
        {
          gint32 id = g_array_index (ids, gint32, i);
          gsize len;
          g_assert (id >= 0 && id < temper_tokenizer_get_n_vocab (tok));
          temper_tokenizer_token_bytes (tok, id, &len);
        }
      text = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, special);
      g_assert (text != NULL && g_utf8_validate (text, -1, NULL));
      g_array_unref (ids);
    }
  return 0;
}
