/* SPDX-License-Identifier: MIT */
/* temper-presets.c — the Settings page's presets.  The presets themselves
 * live in the engine (engine/train/temper-train-auto.c), shared with
 * temper-cli: the automatic settings (temper_train_settings_choose()) once
 * the dataset is measured, the fixed values (temper_train_preset_apply())
 * before.  This maps the page's choice onto them. */
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

void
temper_preset_choose (TemperPreset               preset,
                      const TemperTrainFacts    *facts,
                      TemperTrainSettings       *s,
                      TemperTrainReasons        *reasons)
{
  g_return_if_fail (s != NULL);

  if (reasons != NULL)
    temper_train_reasons_clear (reasons);
  if (facts == NULL || preset >= TEMPER_PRESET_CUSTOM)
    {
      temper_preset_apply (preset, s);
      return;
    }
  temper_train_settings_choose (facts, (TemperTrainPreset) preset, s, reasons);
}
