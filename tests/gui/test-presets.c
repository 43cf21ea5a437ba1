/* SPDX-License-Identifier: MIT */
/* test-presets.c — every preset's fixed values (what the page shows before
 * a dataset is measured) are a valid set of training settings and grow from
 * Quick to Thorough, and durations are rounded into the words the estimate
 * uses.  The automatic values are tested in test-settings-auto.c. */
#include "config.h"

#include "gui-test-util.h"
#include "temper-format.h"
#include "temper-settings-page.h"

static void
test_valid (void)
{
  for (TemperPreset p = TEMPER_PRESET_QUICK; p < TEMPER_PRESET_CUSTOM; p++)
    {
      g_autoptr(GError) error = NULL;
      TemperTrainSettings s;

      temper_preset_apply (p, &s);
      g_assert_true (temper_train_settings_validate (&s, &error));
      g_assert_no_error (error);
    }
}

static void
test_promises (void)
{
  TemperTrainSettings quick, balanced, thorough;

  temper_preset_apply (TEMPER_PRESET_QUICK, &quick);
  temper_preset_apply (TEMPER_PRESET_BALANCED, &balanced);
  temper_preset_apply (TEMPER_PRESET_THOROUGH, &thorough);

  /* A short run of 50 steps. */
  g_assert_cmpint (quick.max_steps, ==, 50);
  /* "Two passes … with a larger adapter". */
  g_assert_cmpint (balanced.max_steps, ==, 0);
  g_assert_cmpint (balanced.epochs, ==, 2);
  g_assert_cmpint (balanced.lora.rank, >, quick.lora.rank);
  /* "Three passes, longer examples and the largest adapter". */
  g_assert_cmpint (thorough.max_steps, ==, 0);
  g_assert_cmpint (thorough.epochs, ==, 3);
  g_assert_cmpint (thorough.max_length, >, balanced.max_length);
  g_assert_cmpint (thorough.lora.rank, >, balanced.lora.rank);
}

static void
test_durations (void)
{
  g_autofree char *seconds = temper_format_duration (59);
  g_autofree char *minute = temper_format_duration (60);
  g_autofree char *minutes = temper_format_duration (12 * 60 + 20);
  g_autofree char *hours = temper_format_duration (3 * 3600 + 100);
  g_autofree char *unknown = temper_format_duration (-1);

  g_assert_cmpstr (seconds, ==, "less than a minute");
  g_assert_cmpstr (minute, ==, "about 1 minute");
  g_assert_cmpstr (minutes, ==, "about 12 minutes");
  g_assert_cmpstr (hours, ==, "about 3 hours");
  g_assert_cmpstr (unknown, ==, "unknown");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presets/valid", test_valid);
  g_test_add_func ("/presets/promises", test_promises);
  g_test_add_func ("/presets/durations", test_durations);
  return g_test_run ();
}
