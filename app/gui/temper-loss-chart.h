/* temper-loss-chart.h — training and validation loss against the step. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_LOSS_CHART (temper_loss_chart_get_type ())
G_DECLARE_FINAL_TYPE (TemperLossChart, temper_loss_chart, TEMPER, LOSS_CHART, GtkWidget)

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
void       temper_loss_chart_clear      (TemperLossChart *self);
guint      temper_loss_chart_get_n_points (TemperLossChart *self, TemperLossSeries series);

G_END_DECLS
