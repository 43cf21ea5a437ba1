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
typedef struct {
  int               rank;
  float             alpha;
  guint             targets;
  double            learning_rate;
  TemperLrSchedule  schedule;
  gint64            warmup_steps;
  int               epochs;
  gint64            max_steps;
  int               micro_batch, grad_accum, max_length;
  gint64            eval_every, checkpoint_every;
  int               patience;
  gboolean          recompute;
} Preset;

/* Indexed by TemperPreset. */
static const Preset presets[] = {
  [TEMPER_PRESET_QUICK] = {
    .rank = 8, .alpha = 16, .targets = TEMPER_LORA_TARGETS_ATTENTION,
    .learning_rate = 2e-4, .schedule = TEMPER_LR_CONSTANT, .warmup_steps = 5,
    .epochs = 1, .max_steps = 50, .micro_batch = 2, .grad_accum = 2, .max_length = 512,
    .eval_every = 10, .checkpoint_every = 25, .patience = 0, .recompute = FALSE,
  },
  [TEMPER_PRESET_BALANCED] = {
    .rank = 16, .alpha = 32, .targets = TEMPER_LORA_TARGETS_ALL_LINEAR,
    .learning_rate = 2e-4, .schedule = TEMPER_LR_COSINE, .warmup_steps = 10,
    .epochs = 2, .max_steps = 0, .micro_batch = 2, .grad_accum = 4, .max_length = 1024,
    .eval_every = 50, .checkpoint_every = 100, .patience = 3, .recompute = FALSE,
  },
  [TEMPER_PRESET_THOROUGH] = {
    .rank = 32, .alpha = 64, .targets = TEMPER_LORA_TARGETS_ALL_LINEAR,
    .learning_rate = 1e-4, .schedule = TEMPER_LR_COSINE, .warmup_steps = 30,
    .epochs = 3, .max_steps = 0, .micro_batch = 2, .grad_accum = 8, .max_length = 2048,
    .eval_every = 50, .checkpoint_every = 100, .patience = 5, .recompute = TRUE,
  },
};

void
temper_preset_apply (TemperPreset         preset,
                     TemperTrainSettings *s)
{
  const Preset *p;

  g_return_if_fail (s != NULL);

  temper_train_settings_init_default (s);
  if (preset >= G_N_ELEMENTS (presets))
    return;   /* Custom: the defaults, for the person to change */
  p = &presets[preset];
  s->lora.rank = p->rank;
  s->lora.alpha = p->alpha;
  s->lora.targets = p->targets;
  s->learning_rate = p->learning_rate;
  s->schedule = p->schedule;
  s->warmup_steps = p->warmup_steps;
  s->epochs = p->epochs;
  s->max_steps = p->max_steps;
  s->micro_batch = p->micro_batch;
  s->grad_accum = p->grad_accum;
  s->max_length = p->max_length;
  s->eval_every = p->eval_every;
  s->checkpoint_every = p->checkpoint_every;
  s->patience = p->patience;
  s->recompute = p->recompute;
}
