/* SPDX-License-Identifier: MIT */
/* temper-fit-ways-out.c — the ways out of "Too big", each checked against
 * the engine's own memory plan (temper_fit_estimate_run()), so the page
 * never suggests a change that would not fit either. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-fit-estimate.h"
#include "temper-fit-ways-out.h"

/* Shortest examples worth suggesting: below this a conversation hardly fits. */
#define SHORTEST_USEFUL_LENGTH 128

static guint64
needs (const temper_model_t *model, const TemperTrainSettings *s, TemperBackendKind kind)
{
  TemperFitEstimate fit;

  temper_fit_estimate_run (model, s, kind, &fit);
  return fit.total;
}

static void
add_way (GString *ways, const char *what, guint64 bytes)
{
  g_autofree char *size = g_format_size (bytes);

  if (ways->len > 0)
    g_string_append (ways, _(", "));
  /* Translators: a change that makes training fit and the memory it would
   * then need, e.g. "a 4-bit base model (about 3.1 GB)" */
  g_string_append_printf (ways, _("%s (about %s)"), what, size);
}

char *
temper_fit_ways_out (const temper_model_t      *model,
                     const TemperTrainSettings *settings,
                     TemperBackendKind          kind,
                     guint64                    available)
{
  g_autoptr(GString) ways = g_string_new (NULL);
  TemperTrainSettings s;
  guint64 bytes;

  g_return_val_if_fail (model != NULL && settings != NULL, NULL);

  if (settings->base_weights != TEMPER_BASE_WEIGHTS_NF4
      && temper_model_can_hold_base_weights (model, TEMPER_BASE_WEIGHTS_NF4))
    {
      s = *settings;
      s.base_weights = TEMPER_BASE_WEIGHTS_NF4;
      if ((bytes = needs (model, &s, kind)) <= available)
        add_way (ways, _("a 4-bit base model"), bytes);
    }
  if (!settings->recompute)
    {
      s = *settings;
      s.recompute = TRUE;
      if ((bytes = needs (model, &s, kind)) <= available)
        add_way (ways, _("“Save memory”"), bytes);
    }
  s = *settings;
  for (s.max_length = settings->max_length / 2; s.max_length >= SHORTEST_USEFUL_LENGTH;
       s.max_length /= 2)
    if ((bytes = needs (model, &s, kind)) <= available)
      {
        /* Translators: %d is a number of tokens */
        g_autofree char *what = g_strdup_printf (_("examples of at most %d tokens"), s.max_length);

        add_way (ways, what, bytes);
        break;
      }

  if (ways->len == 0)
    return g_strdup (_("None of the memory savings here is enough: use Train on a Cluster… to "
                       "train it on machines with several GPUs."));
  /* Translators: %s lists the changes that make training fit, e.g.
   * "a 4-bit base model (about 3.1 GB), “Save memory” (about 5.0 GB)" */
  return g_strdup_printf (_("It fits with %s, or use Train on a Cluster…"), ways->str);
}
