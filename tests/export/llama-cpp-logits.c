/* SPDX-License-Identifier: MIT */
/* llama-cpp-logits.c — llama.cpp's answer for a prompt: the next-token logits
 * after it and N greedy tokens, as JSON on stdout.  Built and run by
 * tests/export/make-family-export-fixtures.py against libllama (never part of
 * the build or of make check).
 *
 *   llama-cpp-logits MODEL.gguf LORA.gguf|- N_GREEDY TOKEN…
 */
#include <stdio.h>
#include <stdlib.h>

#include "llama.h"

static void
quiet (enum ggml_log_level level, const char *text, void *data)
{
  (void) data;
  if (level == GGML_LOG_LEVEL_ERROR)
    fputs (text, stderr);
}

int
main (int argc, char **argv)
{
  struct llama_model_params mp = llama_model_default_params ();
  struct llama_context_params cp = llama_context_default_params ();
  struct llama_model *model;
  struct llama_context *ctx;
  const struct llama_vocab *vocab;
  llama_token tokens[512];
  int n_prompt, n_greedy, n_vocab;

  if (argc < 5 || argc - 4 > 256)
    {
      fprintf (stderr, "usage: %s MODEL.gguf LORA.gguf|- N_GREEDY TOKEN...\n", argv[0]);
      return 2;
    }
  llama_log_set (quiet, NULL);
  llama_backend_init ();
  mp.n_gpu_layers = 0;
  model = llama_model_load_from_file (argv[1], mp);
  if (model == NULL)
    return 1;
  cp.n_ctx = 512;
  cp.n_batch = 512;
  cp.n_threads = 1;
  cp.n_threads_batch = 1;
  cp.type_k = GGML_TYPE_F32;
  cp.type_v = GGML_TYPE_F32;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  ctx = llama_init_from_model (model, cp);
  if (ctx == NULL)
    return 1;
  if (argv[2][0] != '-')
    {
      struct llama_adapter_lora *lora = llama_adapter_lora_init (model, argv[2]);
      float scale = 1.0f;

      if (lora == NULL || llama_set_adapters_lora (ctx, &lora, 1, &scale) != 0)
        return 1;
    }
  vocab = llama_model_get_vocab (model);
  n_vocab = llama_vocab_n_tokens (vocab);
  n_greedy = atoi (argv[3]);
  n_prompt = argc - 4;
  for (int i = 0; i < n_prompt; i++)
    tokens[i] = atoi (argv[4 + i]);

  printf ("{\"logits\": [");
  if (llama_decode (ctx, llama_batch_get_one (tokens, n_prompt)) != 0)
    return 1;
  for (int step = 0; step <= n_greedy; step++)
    {
      const float *logits = llama_get_logits_ith (ctx, -1);
      llama_token best = 0;

      for (int v = 0; v < n_vocab; v++)
        {
          if (step == 0)
            printf ("%s%.7g", v ? ", " : "", logits[v]);
          if (logits[v] > logits[best])
            best = v;
        }
      if (step == 0)
        printf ("], \"greedy\": [");
      if (step == n_greedy)
        break;
      printf ("%s%d", step ? ", " : "", best);
      if (llama_decode (ctx, llama_batch_get_one (&best, 1)) != 0)
        return 1;
    }
  printf ("]}\n");
  llama_free (ctx);
  llama_model_free (model);
  return 0;
}
