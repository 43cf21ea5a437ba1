/* SPDX-License-Identifier: MIT */
/* temper-length-histogram.h — how long the examples are, in tokens. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_LENGTH_HISTOGRAM (temper_length_histogram_get_type ())
G_DECLARE_FINAL_TYPE (TemperLengthHistogram, temper_length_histogram, TEMPER, LENGTH_HISTOGRAM, GtkWidget)

/* The plot area inside the widget: the counts' and lengths' labels live in
 * the margins.  Exposed so tests can measure the drawn bars. */
#define TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT   44.0
#define TEMPER_LENGTH_HISTOGRAM_MARGIN_RIGHT  12.0
#define TEMPER_LENGTH_HISTOGRAM_MARGIN_TOP    22.0
#define TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM 26.0

GtkWidget *temper_length_histogram_new         (void);
/* @lengths: one token count per example (copied).  @limit: the training
 * sequence length, drawn as a marker; examples beyond it are cut short.
 * 0 hides the marker. */
void       temper_length_histogram_set_lengths (TemperLengthHistogram *self,
                                                const guint           *lengths,
                                                gsize                  n_lengths,
                                                guint                  limit);
guint      temper_length_histogram_get_n_bins  (TemperLengthHistogram *self);
/* Where the marker is drawn: the limit last set (0: none). */
guint      temper_length_histogram_get_limit   (TemperLengthHistogram *self);
/* Examples in bin @bin, and the token range it covers [*first, *last]. */
guint      temper_length_histogram_get_bin     (TemperLengthHistogram *self,
                                                guint                  bin,
                                                guint                 *first,
                                                guint                 *last);

G_END_DECLS
