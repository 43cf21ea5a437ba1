/* temper-length-histogram.h — how long the examples are, in tokens. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEMPER_TYPE_LENGTH_HISTOGRAM (temper_length_histogram_get_type ())
G_DECLARE_FINAL_TYPE (TemperLengthHistogram, temper_length_histogram, TEMPER, LENGTH_HISTOGRAM, GtkWidget)

GtkWidget *temper_length_histogram_new         (void);
/* @lengths: one token count per example (copied).  @limit: the training
 * sequence length, drawn as a marker; examples beyond it are cut short.
 * 0 hides the marker. */
void       temper_length_histogram_set_lengths (TemperLengthHistogram *self,
                                                const guint           *lengths,
                                                gsize                  n_lengths,
                                                guint                  limit);
guint      temper_length_histogram_get_n_bins  (TemperLengthHistogram *self);
/* Examples in bin @bin, and the token range it covers [*first, *last]. */
guint      temper_length_histogram_get_bin     (TemperLengthHistogram *self,
                                                guint                  bin,
                                                guint                 *first,
                                                guint                 *last);

G_END_DECLS
