/* SPDX-License-Identifier: MIT */
/* temper-win-rate.c — the tuned model's share of blind ratings. */
#include "config.h"

#include <math.h>

#include "temper/metrics.h"

/* The 97.5% quantile of the standard normal distribution. */
#define Z_95 1.959963984540054

gboolean
temper_win_rate (guint wins, guint losses, guint ties, double *rate, double *low, double *high)
{
  double n = (double) wins + (double) losses + (double) ties;
  double p, z2, centre, half;

  if (n == 0.0)
    return FALSE;
  p = ((double) wins + 0.5 * (double) ties) / n;
  /* Wilson's interval stays inside [0, 1] and is sensible for the handful
   * of ratings a person gives, where the normal approximation is not. */
  z2 = Z_95 * Z_95;
  centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
  half = Z_95 / (1.0 + z2 / n) * sqrt (p * (1.0 - p) / n + z2 / (4.0 * n * n));
  if (rate != NULL)
    *rate = p;
  if (low != NULL)
    *low = MAX (0.0, centre - half);
  if (high != NULL)
    *high = MIN (1.0, centre + half);
  return TRUE;
}
