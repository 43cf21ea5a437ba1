/* SPDX-License-Identifier: MIT */
/* temper-presets.c — the Settings page's presets.  The presets themselves
 * live in the engine (temper_train_preset_apply(), engine/train/temper-train-auto.c),
 * shared with temper-cli; this maps the page's choice onto them. */
#include "config.h"

#include "temper-settings-page.h"

G_STATIC_ASSERT ((int) TEMPER_PRESET_QUICK == (int) TEMPER_TRAIN_PRESET_QUICK);
G_STATIC_ASSERT ((int) TEMPER_PRESET_BALANCED == (int) TEMPER_TRAIN_PRESET_BALANCED);
G_STATIC_ASSERT ((int) TEMPER_PRESET_THOROUGH == (int) TEMPER_TRAIN_PRESET_THOROUGH);

void
temper_preset_apply (TemperPreset         preset,
                     TemperTrainSettings *s)
{
  g_return_if_fail (s != NULL);

  if (preset >= TEMPER_PRESET_CUSTOM)
    {
      temper_train_settings_init_default (s);   /* Custom: the defaults, for the person to change */
      return;
    }
  temper_train_preset_apply ((TemperTrainPreset) preset, s);
}
