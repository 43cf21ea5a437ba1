/* temper-fit-estimate.c — memory needed to train a LoRA adapter.
 *
 * total = 1.1 × (weights + activations + adapter), where, with B = batch (4),
 * T = sequence length (512), L layers, H hidden size, F feed-forward size,
 * q = n_head·head_dim, kv = n_head_kv·head_dim, r = LoRA rank (16) on all
 * seven projections of every layer, and 4-byte floats:
 *
 *   weights     = the bytes of the weights as stored (quantized stays quantized)
 *   per_token   = 4H (norm outputs and residual inputs) + 2q + 2kv (Q, K, V,
 *                 attention output) + 3F (gate, up, their product)
 *                 + n_head·T (attention probabilities)
 *   activations = 4·B·T·(L·per_token + H) + 4·B·T·per_token (one layer of
 *                 gradients in flight) + 4·B·T·min(V, 4096) (one lm_head chunk)
 *   adapter     = 16 bytes × r·Σ(in + out) over the projections (fp32 weight,
 *                 gradient and the two AdamW moments)
 *
 * The 10 % margin covers dequantization tiles and allocator slack. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-fit-estimate.h"

void
temper_fit_estimate_training (const TemperModelConfig *config,
                              guint64                  weight_bytes,
                              TemperFitEstimate       *estimate)
{
  temper_fit_estimate_training_shape (config, weight_bytes, TEMPER_FIT_BATCH,
                                      TEMPER_FIT_SEQ_LEN, TEMPER_FIT_LORA_RANK, estimate);
}

void
temper_fit_estimate_training_shape (const TemperModelConfig *config,
                                    guint64                  weight_bytes,
                                    guint                    batch,
                                    guint                    seq_len,
                                    guint                    rank,
                                    TemperFitEstimate       *estimate)
{
  guint64 B = batch, T = seq_len, r = rank;
  guint64 L, H, F, q, kv, per_token, tokens, lm_chunk, lora_params;

  g_return_if_fail (config != NULL);
  g_return_if_fail (estimate != NULL);

  L = (guint64) config->n_layer;
  H = (guint64) config->n_embd;
  F = (guint64) config->n_ff;
  q = (guint64) config->n_head * (guint64) config->head_dim;
  kv = (guint64) config->n_head_kv * (guint64) config->head_dim;
  tokens = B * T;
  lm_chunk = MIN ((guint64) config->n_vocab, 4096);

  per_token = 4 * H + 2 * q + 2 * kv + 3 * F + (guint64) config->n_head * T;
  lora_params = L * r * ((H + q) + 2 * (H + kv) + (q + H) + 2 * (H + F) + (F + H));

  estimate->weights = weight_bytes;
  estimate->activations = 4 * tokens * (L * per_token + H) + 4 * tokens * per_token
                          + 4 * tokens * lm_chunk;
  estimate->adapter = 16 * lora_params;
  estimate->total = (estimate->weights + estimate->activations + estimate->adapter) * 11 / 10;
}

double
temper_fit_flops_per_token (guint64  n_params,
                            gboolean recompute)
{
  return (recompute ? 6.0 : 4.0) * (double) n_params;
}

TemperFitVerdict
temper_fit_judge (guint64 needed,
                  guint64 available)
{
  if (available == 0 || needed > available)
    return TEMPER_FIT_TOO_BIG;
  if (needed <= available / 5 * 4)
    return TEMPER_FIT_COMFORTABLE;
  return TEMPER_FIT_TIGHT;
}

char *
temper_fit_describe (const TemperFitEstimate *estimate,
                     const TemperDeviceInfo  *device)
{
  g_autofree char *needed = NULL;
  g_autofree char *available = NULL;

  g_return_val_if_fail (estimate != NULL, NULL);
  g_return_val_if_fail (device != NULL, NULL);

  needed = g_format_size (estimate->total);
  available = g_format_size (device->memory_total);

  if (device->memory_total == 0)
    /* Translators: %s is an amount of memory such as "3.9 GB" */
    return g_strdup_printf (_("Unknown: this device does not say how much memory it has. Training needs about %s."),
                            needed);

  switch (temper_fit_judge (estimate->total, device->memory_total))
    {
    case TEMPER_FIT_COMFORTABLE:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Fits comfortably: training needs about %s of the %s here."),
                              needed, available);
    case TEMPER_FIT_TIGHT:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Fits, but only just: training needs about %s of the %s here. Close other programs first, or use shorter examples."),
                              needed, available);
    case TEMPER_FIT_TOO_BIG:
    default:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Too big: training needs about %s, but this device has %s. Choose a smaller model or a device with more memory."),
                              needed, available);
    }
}
