/* SPDX-License-Identifier: MIT */
/* temper-loss-chart.h — training and validation loss against the step. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_LOSS_CHART (temper_loss_chart_get_type ())
G_DECLARE_FINAL_TYPE (TemperLossChart, temper_loss_chart, TEMPER, LOSS_CHART, GtkWidget)

/* The plot area inside the widget: the axes' labels and names live in the
 * margins.  Exposed so tests can find the drawn curves. */
#define TEMPER_LOSS_CHART_MARGIN_LEFT   64.0
#define TEMPER_LOSS_CHART_MARGIN_RIGHT  16.0
#define TEMPER_LOSS_CHART_MARGIN_TOP    28.0
#define TEMPER_LOSS_CHART_MARGIN_BOTTOM 44.0
/* The training loss is drawn as faint raw points under a line smoothed by
 * an exponential moving average with this weight on the past, corrected
 * for its start at zero (s_i = w·s_{i-1} + (1-w)·x_i, shown as
 * s_i / (1 - w^i)), as TensorBoard does. */
#define TEMPER_LOSS_CHART_SMOOTHING     0.8

typedef enum {
  TEMPER_LOSS_SERIES_TRAINING,
  TEMPER_LOSS_SERIES_VALIDATION,
} TemperLossSeries;

GtkWidget *temper_loss_chart_new        (void);
/* @total_steps fixes the x axis so the line grows towards the right edge
 * instead of the axis rescaling at every step; 0 lets it follow the data. */
void       temper_loss_chart_set_total  (TemperLossChart *self, gint64 total_steps);
/* Points that are not finite numbers are ignored; a point at or before
 * the last one of its series replaces the points from there on. */
void       temper_loss_chart_add_point  (TemperLossChart *self, TemperLossSeries series,
                                         gint64 step, double loss);
/* The same, with what the point's tooltip shows besides the loss: the
 * epoch (fractional) and the training speed (NaN or 0 when unknown). */
void       temper_loss_chart_add_point_full (TemperLossChart *self, TemperLossSeries series,
                                             gint64 step, double loss, double epoch,
                                             double tokens_per_s);
void       temper_loss_chart_clear      (TemperLossChart *self);
/* The tooltip text for the pointer at @x (widget coordinates), or NULL
 * away from any point.  Valid once the chart has been drawn. */
char      *temper_loss_chart_dup_tooltip_at (TemperLossChart *self, double x);
guint      temper_loss_chart_get_n_points (TemperLossChart *self, TemperLossSeries series);

G_END_DECLS
