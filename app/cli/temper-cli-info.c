/* SPDX-License-Identifier: MIT */
/* temper-cli info MODEL — what a model is and what it needs. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include "temper/discovery.h"
#include "temper/error.h"
#include "temper/model.h"
#include "temper/tokenizer.h"
#include "temper-cli.h"

static const char *
rope_layout_name (TemperRopeLayout layout)
{
  return layout == TEMPER_ROPE_INTERLEAVED ? _("interleaved pairs (GGUF llama)")
                                           : _("split halves (Hugging Face)");
}

/* A model Temper cannot load can still be described from its headers:
 * what discovery reads, then why it cannot be used. */
static int
show_unsupported (const char *path, const GError *error)
{
  g_autoptr(TemperDiscoveredModel) found = temper_discovery_inspect (path, TEMPER_MODEL_SOURCE_FOLDER, NULL);
  g_autofree char *size = g_format_size (found->size_on_disk);

  printf (_("Name:             %s\n"), found->display_name != NULL ? found->display_name : path);
  printf (_("File:             %s\n"), path);
  if (found->architecture != NULL)
    printf (_("Architecture:     %s\n"), found->architecture);
  if (found->n_params > 0)
    printf (_("Parameters:       %.1f M\n"), (double) found->n_params / 1e6);
  if (found->quantization != NULL)
    printf (_("Quantization:     %s\n"), found->quantization);
  printf (_("Size on disk:     %s\n"), size);
  return temper_cli_fail ("info", TEMPER_CLI_EXIT_FAILED,
                          _("Temper can neither chat with nor train this model. %s"), error->message);
}

int
temper_cli_info (int argc, char **argv)
{
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *size = NULL;
  g_autofree char *weights = NULL;
  g_autofree char *quantization = NULL;
  const TemperModelConfig *config;
  const char *template;
  temper_tokenizer_t *tokenizer;
  int exit_code;

  if (!temper_cli_parse (&argc, &argv, "info", "MODEL",
                         N_("Show a model's architecture, size, quantization, chat template and the memory it needs.\n"
                         "MODEL is a .gguf file or a Hugging Face folder (config.json + safetensors)."),
                         NULL, &exit_code))
    return exit_code;
  if (argc != 2)
    return temper_cli_fail ("info", TEMPER_CLI_EXIT_USAGE,
                            _("expected one MODEL (a .gguf file or a model folder), see --help"));

  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL && g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED))
    return show_unsupported (argv[1], error);
  if (model == NULL)
    return temper_cli_error ("info", error);

  config = temper_model_get_config (model);
  tokenizer = temper_model_get_tokenizer (model);
  template = temper_model_get_chat_template (model);
  size = g_format_size (temper_model_get_file_size (model));
  weights = g_format_size (temper_model_get_file_size (model));

  /* The name the model lists show: the GGUF's general.name only when the
   * converter did not make it up from a folder name ("Smollm2 135M 8k
   * Lc100K Mix1 Ep2" is the demo file's). */
  {
    g_autoptr(TemperDiscoveredModel) found = temper_discovery_inspect (argv[1], TEMPER_MODEL_SOURCE_FOLDER, NULL);

    printf (_("Name:             %s\n"), found->display_name != NULL ? found->display_name
                                                                  : temper_model_get_name (model));
  }
  printf (_("File:             %s\n"), temper_model_get_path (model));
  printf (_("Format:           %s\n"), temper_model_get_format (model) == TEMPER_MODEL_FORMAT_GGUF
                                      ? "GGUF" : _("Hugging Face folder"));
  printf (_("Architecture:     %s\n"), temper_model_get_arch_name (model));
  printf (_("Parameters:       %.1f M\n"), temper_model_get_n_params (model) / 1e6);
  quantization = temper_model_describe_quantization (model);
  printf (_("Quantization:     %s\n"), quantization);
  printf (_("Size on disk:     %s\n"), size);
  printf (_("Layers:           %d\n"), config->n_layer);
  printf (_("Hidden size:      %d\n"), config->n_embd);
  printf (_("Feed-forward:     %d\n"), config->n_ff);
  if (config->n_expert > 0)
    {
      g_autofree char *scope = temper_model_describe_lora_scope (model);

      printf (_("Experts:          %d, %d used per token, each %d wide\n"),
              config->n_expert, config->n_expert_used, config->n_ff_expert);
      printf (_("Training:         %s\n"), scope);
    }
  else if (config->hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM)
    {
      g_autofree char *scope = temper_model_describe_lora_scope (model);

      printf (_("Images:           %s\n"), scope);
    }
  printf (_("Attention heads:  %d (key/value heads: %d, head size %d)\n"),
          config->n_head, config->n_head_kv, config->head_dim);
  printf (_("Vocabulary:       %d tokens\n"), config->n_vocab);
  printf (_("Context length:   %d tokens\n"), config->n_ctx_train);
  printf (_("RoPE:             base %g, %s\n"), config->rope_theta, rope_layout_name (config->rope_layout));
  printf (_("RMSNorm epsilon:  %g\n"), config->rms_eps);
  printf (_("Embeddings:       %s\n"), config->tied_embeddings ? _("tied (shared with the output layer)") : _("separate output layer"));
  printf (_("Q/K/V bias:       %s\n"), config->qkv_bias ? _("yes") : _("no"));
  printf (_("Special tokens:   BOS %d, EOS %d\n"), temper_tokenizer_get_bos (tokenizer),
          temper_tokenizer_get_eos (tokenizer));
  printf (_("Chat template:    %s\n"), template != NULL ? _("stored with the model") : _("none (a plain format will be used)"));
  printf (_("Memory to chat:   about %s (weights, as stored)\n"), weights);
  return TEMPER_CLI_EXIT_OK;
}
