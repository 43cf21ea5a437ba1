/* temper-presets.c — the three presets of the Settings page, as changes to
 * the engine's defaults.  Kept apart from the page so the values can be read
 * (and tested, tests/gui/test-presets.c) without any widgets. */
#include "config.h"

#include "temper-settings-page.h"

/* The presets, as changes to temper_train_settings_init_default():
 *
 *   Quick try  rank 8, alpha 16, attention (q, v), lr 2e-4 constant after 5
 *              warm-up steps, 50 steps at most, micro-batch 2 × accumulate 2,
 *              512 tokens, check every 10 steps, save every 25.
 *   Balanced   rank 16, alpha 32, all linear layers, lr 2e-4 cosine, 10
 *              warm-up steps, 2 epochs, micro-batch 2 × accumulate 4, 1024
 *              tokens, check every 50, save every 100, stop after 3 checks
 *              without improvement.
 *   Thorough   rank 32, alpha 64, all linear layers, lr 1e-4 cosine, 30
 *              warm-up steps, 3 epochs, micro-batch 2 × accumulate 8, 2048
 *              tokens, check every 50, save every 100, patience 5, activations
 *              recomputed to make room for the longer examples. */
void
temper_preset_apply (TemperPreset         preset,
                     TemperTrainSettings *s)
{
  g_return_if_fail (s != NULL);

  temper_train_settings_init_default (s);
  switch (preset)
    {
    case TEMPER_PRESET_QUICK:
      s->lora.rank = 8;
      s->lora.alpha = 16;
      s->lora.targets = TEMPER_LORA_TARGETS_ATTENTION;
      s->learning_rate = 2e-4;
      s->schedule = TEMPER_LR_CONSTANT;
      s->warmup_steps = 5;
      s->epochs = 1;
      s->max_steps = 50;
      s->micro_batch = 2;
      s->grad_accum = 2;
      s->max_length = 512;
      s->eval_every = 10;
      s->checkpoint_every = 25;
      s->patience = 0;
      break;
    case TEMPER_PRESET_BALANCED:
      s->lora.rank = 16;
      s->lora.alpha = 32;
      s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
      s->learning_rate = 2e-4;
      s->schedule = TEMPER_LR_COSINE;
      s->warmup_steps = 10;
      s->epochs = 2;
      s->max_steps = 0;
      s->micro_batch = 2;
      s->grad_accum = 4;
      s->max_length = 1024;
      s->eval_every = 50;
      s->checkpoint_every = 100;
      s->patience = 3;
      break;
    case TEMPER_PRESET_THOROUGH:
      s->lora.rank = 32;
      s->lora.alpha = 64;
      s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
      s->learning_rate = 1e-4;
      s->schedule = TEMPER_LR_COSINE;
      s->warmup_steps = 30;
      s->epochs = 3;
      s->max_steps = 0;
      s->micro_batch = 2;
      s->grad_accum = 8;
      s->max_length = 2048;
      s->eval_every = 50;
      s->checkpoint_every = 100;
      s->patience = 5;
      s->recompute = TRUE;
      break;
    case TEMPER_PRESET_CUSTOM:
    default:
      break;
    }
}
