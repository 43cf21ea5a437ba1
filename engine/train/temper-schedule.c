/* SPDX-License-Identifier: MIT */
/* temper-schedule.c — learning-rate schedules with linear warmup, defined as
 * transformers' get_*_schedule_with_warmup define them so that settings
 * carry over from a Hugging Face recipe unchanged. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/train.h"

static const char *const schedule_names[] = { "constant", "linear", "cosine" };

const char *
temper_lr_schedule_name (TemperLrSchedule schedule)
{
  g_return_val_if_fail ((guint) schedule < G_N_ELEMENTS (schedule_names), "constant");
  return schedule_names[schedule];
}

gboolean
temper_lr_schedule_parse (const char *text, TemperLrSchedule *schedule, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (schedule_names); i++)
    if (g_ascii_strcasecmp (text, schedule_names[i]) == 0)
      {
        *schedule = (TemperLrSchedule) i;
        return TRUE;
      }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a learning-rate schedule: use constant, linear or cosine"), text);
  return FALSE;
}

double
temper_lr_at (TemperLrSchedule schedule, double base_lr, gint64 step,
              gint64 warmup_steps, gint64 total_steps)
{
  double progress;

  if (step < warmup_steps)
    return base_lr * (double) step / (double) MAX (1, warmup_steps);

  switch (schedule)
    {
    case TEMPER_LR_CONSTANT:
      return base_lr;
    case TEMPER_LR_LINEAR:
      return base_lr * MAX (0.0, (double) (total_steps - step) /
                                 (double) MAX (1, total_steps - warmup_steps));
    case TEMPER_LR_COSINE:
      progress = (double) (step - warmup_steps) / (double) MAX (1, total_steps - warmup_steps);
      return base_lr * MAX (0.0, 0.5 * (1.0 + cos (G_PI * progress)));
    default:
      g_return_val_if_reached (base_lr);
    }
}
