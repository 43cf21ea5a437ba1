/* SPDX-License-Identifier: MIT */
/* temper-lora-modules.c — the LoRA targets as a family's own files name
 * them.  Temper trains q, k, v, gate and up as separate LoRAs even where the
 * model stores them as one matrix (Phi-3's qkv_proj and gate_up_proj,
 * GLM-4's gate_up_proj); PEFT and llama.cpp adapt the stored matrix.  The
 * separate LoRAs are exactly one LoRA of the fused matrix whose A stacks
 * the parts' A matrices and whose B places each part's B on the part's rows
 * (block diagonal): its rank is the sum of the parts' ranks. */
#include "config.h"

#include <string.h>

#include "temper-lora-private.h"

int
temper_lora_modules (const TemperModelConfig *config, TemperLoraModule modules[TEMPER_LORA_N_TARGETS])
{
  static const char *const peft_names[TEMPER_LORA_N_TARGETS] = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
  };
  static const char *const gguf_names[TEMPER_LORA_N_TARGETS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
  };
  int n = 0;

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    {
      TemperLoraModule *m = &modules[n];

      if (config->fused_qkv && (t == TEMPER_LORA_K || t == TEMPER_LORA_V))
        continue;
      if (config->fused_gate_up && t == TEMPER_LORA_UP)
        continue;
      memset (m, 0, sizeof *m);
      m->attention = t <= TEMPER_LORA_O;
      if (config->fused_qkv && t == TEMPER_LORA_Q)
        {
          m->peft_name = "qkv_proj";
          m->gguf_name = "attn_qkv";
          m->n_parts = 3;
          m->parts[0] = TEMPER_LORA_Q, m->parts[1] = TEMPER_LORA_K, m->parts[2] = TEMPER_LORA_V;
        }
      else if (config->fused_gate_up && t == TEMPER_LORA_GATE)
        {
          /* Gate rows first, as transformers splits them and llama.cpp
           * reads its fused ffn_up. */
          m->peft_name = "gate_up_proj";
          m->gguf_name = "ffn_up";
          m->n_parts = 2;
          m->parts[0] = TEMPER_LORA_GATE, m->parts[1] = TEMPER_LORA_UP;
        }
      else
        {
          m->peft_name = peft_names[t];
          m->gguf_name = gguf_names[t];
          m->n_parts = 1;
          m->parts[0] = (TemperLoraTarget) t;
        }
      n++;
    }
  return n;
}

int
temper_lora_module_n_trained (const TemperLoraModule *module, guint targets)
{
  int n = 0;

  for (int p = 0; p < module->n_parts; p++)
    if (targets & TEMPER_LORA_TARGET_BIT (module->parts[p]))
      n++;
  return n;
}

int
temper_lora_module_fuse (temper_adapter_t *adapter, const TemperModelConfig *config, int layer,
                         const TemperLoraModule *module, float b_scale,
                         float **a_out, float **b_out, int *in_out, int *out_out)
{
  guint targets = temper_adapter_get_targets (adapter);
  int rank = temper_adapter_get_rank (adapter);
  int n_trained = temper_lora_module_n_trained (module, targets);
  int fused_rank = n_trained * rank, in = 0, out = 0, row = 0, col = 0;
  float *a, *b;

  for (int p = 0; p < module->n_parts; p++)
    {
      int part_in, part_out;

      temper_lora_target_dims (config, module->parts[p], &part_in, &part_out);
      in = part_in;
      out += part_out;
    }
  *in_out = in;
  *out_out = out;
  if (n_trained == 0)
    {
      *a_out = *b_out = NULL;
      return 0;
    }
  a = g_new (float, (gsize) fused_rank * (gsize) in);
  b = g_new0 (float, (gsize) out * (gsize) fused_rank);
  for (int p = 0; p < module->n_parts; p++)
    {
      TemperLoraTarget t = module->parts[p];
      const float *part_a, *part_b;
      int part_in, part_out;

      temper_lora_target_dims (config, t, &part_in, &part_out);
      if (targets & TEMPER_LORA_TARGET_BIT (t))
        {
          part_a = temper_adapter_get_a (adapter, layer, t);
          part_b = temper_adapter_get_b (adapter, layer, t);
          memcpy (a + (gsize) col * (gsize) in, part_a, sizeof (float) * (gsize) rank * (gsize) in);
          for (int r = 0; r < part_out; r++)
            for (int k = 0; k < rank; k++)
              b[(gsize) (row + r) * (gsize) fused_rank + (gsize) (col + k)] =
                b_scale * part_b[(gsize) r * (gsize) rank + (gsize) k];
          col += rank;
        }
      row += part_out;
    }
  *a_out = a;
  *b_out = b;
  return fused_rank;
}
