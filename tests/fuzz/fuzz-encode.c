/* SPDX-License-Identifier: MIT */
/* Encoding arbitrary bytes.  The first byte picks the tokenizer (the demo
 * model's byte-level BPE, or the Qwen2 fixture's when the demo model is not
 * downloaded; a SentencePiece one from GGUF; the same from tokenizer.json;
 * Llama 3's) and whether special-token text is recognised; the rest is the
 * text.  Every id must be in the vocabulary and decoding must give UTF-8. */
#include "config.h"

#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "fuzz-util.h"

static temper_tokenizer_t *tokenizers[4];

static temper_tokenizer_t *
from_gguf (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, &error);
  temper_tokenizer_t *tok = gguf != NULL ? temper_tokenizer_new_from_gguf (gguf, &error) : NULL;

  if (tok == NULL)
    g_error ("%s: %s", path, error->message);
  return tok;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *demo = g_build_filename (TEMPER_SOURCE_DIR, "data", "models",
                                            "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *qwen2 = fuzz_fixture ("tokenizer/qwen2.gguf");
  g_autofree char *spm = fuzz_fixture ("tokenizer/spm.gguf");
  g_autofree char *spm_json = fuzz_fixture ("chat/spm/tokenizer.json");
  g_autofree char *spm_config = fuzz_fixture ("chat/spm/tokenizer_config.json");
  g_autofree char *llama3 = fuzz_fixture ("tokenizer/llama3.gguf");
  g_autoptr(GError) error = NULL;

  fuzz_init (FALSE);
  tokenizers[0] = from_gguf (g_file_test (demo, G_FILE_TEST_EXISTS) ? demo : qwen2);
  tokenizers[1] = from_gguf (spm);
  tokenizers[2] = temper_tokenizer_new_from_hf (spm_json, spm_config, &error);
  if (tokenizers[2] == NULL)
    g_error ("%s: %s", spm_json, error->message);
  tokenizers[3] = from_gguf (llama3);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const temper_tokenizer_t *tok;
  gboolean special;
  GArray *ids;
  g_autofree char *text = NULL;

  if (size == 0)
    return 0;
  tok = tokenizers[data[0] % G_N_ELEMENTS (tokenizers)];
  special = (data[0] & 0x80) != 0;
  ids = temper_tokenizer_encode (tok, (const char *) data + 1, (gssize) size - 1, special);
  for (guint i = 0; i < ids->len; i++)
    {
      gint32 id = g_array_index (ids, gint32, i);
      g_assert (id >= 0 && id < temper_tokenizer_get_n_vocab (tok));
    }
  text = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
  g_assert (text != NULL && g_utf8_validate (text, -1, NULL));
  g_array_unref (ids);
  return 0;
}
