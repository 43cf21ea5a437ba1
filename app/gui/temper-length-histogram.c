/* SPDX-License-Identifier: MIT */
/* temper-length-histogram.c — a bar chart of example lengths, drawn with
 * cairo in the style's colours so it reads well in light and dark mode. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "temper-length-histogram.h"

#define MAX_BINS      24
#define MARGIN_LEFT   TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT
#define MARGIN_RIGHT  TEMPER_LENGTH_HISTOGRAM_MARGIN_RIGHT
#define MARGIN_TOP    TEMPER_LENGTH_HISTOGRAM_MARGIN_TOP
#define MARGIN_BOTTOM TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM

struct _TemperLengthHistogram
{
  GtkWidget parent_instance;

  guint     counts[MAX_BINS];
  guint     cut[MAX_BINS];       /* of counts[]: longer than limit, so cut short */
  guint     n_bins;
  guint     bin_width;
  guint     limit;
  guint     max_count;         /* the tallest bar drawn (a kept or a cut part) */
  gsize     n_lengths;
};

G_DEFINE_FINAL_TYPE (TemperLengthHistogram, temper_length_histogram, GTK_TYPE_WIDGET)

/* Bin widths of 1, 2 or 5 times a power of ten give axis labels people can
 * read at a glance. */
static guint
nice_bin_width (guint span)
{
  guint step = 1;

  for (;;)
    {
      if (step * MAX_BINS >= span)
        return step;
      if (step * 2 * MAX_BINS >= span)
        return step * 2;
      if (step * 5 * MAX_BINS >= span)
        return step * 5;
      step *= 10;
    }
}

static void
lookup_color (GtkWidget  *widget,
              const char *name,
              GdkRGBA    *color,
              const char *fallback)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);

  if (!gtk_style_context_lookup_color (context, name, color))
    gdk_rgba_parse (color, fallback);
}

static void
show_text (cairo_t    *cr,
           PangoLayout *layout,
           const char *text,
           double      x,
           double      y,
           double      x_align)
{
  int width, height;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - x_align * width, y);
  pango_cairo_show_layout (cr, layout);
}

/* A bar from @left to @right (at least a pixel wide), @height up from
 * @floor_y. */
static void
draw_bar (cairo_t *cr, const GdkRGBA *c, double left, double right, double floor_y, double height)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha);
  cairo_rectangle (cr, left, floor_y - height, MAX (1.0, right - left), height);
  cairo_fill (cr);
}

static void
temper_length_histogram_snapshot (GtkWidget   *widget,
                                  GtkSnapshot *snapshot)
{
  TemperLengthHistogram *self = TEMPER_LENGTH_HISTOGRAM (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(PangoLayout) layout = NULL;
  GdkRGBA fg, bar, over;
  double plot_w, plot_h, bar_w, marker_x;
  guint range, y_step;
  cairo_t *cr;

  if (self->n_bins == 0 || width <= MARGIN_LEFT + MARGIN_RIGHT || height <= MARGIN_TOP + MARGIN_BOTTOM)
    return;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  lookup_color (widget, "accent_bg_color", &bar, "#3584e4");
  lookup_color (widget, "warning_color", &over, dark ? "#f8e45c" : "#9c6e03");

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  layout = gtk_widget_create_pango_layout (widget, NULL);

  plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
  plot_h = height - MARGIN_TOP - MARGIN_BOTTOM;
  range = self->n_bins * self->bin_width;
  bar_w = plot_w / self->n_bins;

  /* Horizontal grid lines at round counts, with their labels. */
  y_step = MAX (1, nice_bin_width (self->max_count * MAX_BINS / 4 + 1));
  cairo_set_line_width (cr, 1.0);
  for (guint y = 0; y <= self->max_count; y += y_step)
    {
      char label[32];
      double py = MARGIN_TOP + plot_h - plot_h * y / MAX (1u, self->max_count);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, dark ? 0.18 : 0.12);
      cairo_move_to (cr, MARGIN_LEFT, floor (py) + 0.5);
      cairo_line_to (cr, MARGIN_LEFT + plot_w, floor (py) + 0.5);
      cairo_stroke (cr);
      g_snprintf (label, sizeof label, "%u", y);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      show_text (cr, layout, label, MARGIN_LEFT - 6, py - 8, 1.0);
    }

  /* The marker stands between the longest length kept whole and the
   * shortest cut (a length t spans [t, t + 1) on the axis). */
  marker_x = floor (MARGIN_LEFT + plot_w * (self->limit + 1) / range) + 0.5;
  for (guint i = 0; i < self->n_bins; i++)
    {
      guint kept = self->counts[i] - self->cut[i];
      double left = MARGIN_LEFT + i * bar_w + 1, right = MARGIN_LEFT + (i + 1) * bar_w - 1;

      /* A bin holding lengths on both sides of the cut-off is drawn as
       * two bars split at the marker, each as tall as its own count: the
       * examples kept whole, and those cut short in the warning colour. */
      if (kept > 0 && self->cut[i] > 0)
        {
          draw_bar (cr, &bar, left, MIN (right, marker_x - 1.5), MARGIN_TOP + plot_h,
                    plot_h * kept / self->max_count);
          draw_bar (cr, &over, MAX (left, marker_x + 1.5), right, MARGIN_TOP + plot_h,
                    plot_h * self->cut[i] / self->max_count);
        }
      else if (self->counts[i] > 0)
        draw_bar (cr, kept > 0 ? &bar : &over, left, right, MARGIN_TOP + plot_h,
                  plot_h * self->counts[i] / self->max_count);
    }

  /* Token counts under round bin edges, about six of them. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
  for (guint edge = 0, step = (self->n_bins + 5) / 6; edge <= self->n_bins; edge += step)
    {
      char label[32];
      double px = MARGIN_LEFT + bar_w * edge;

      g_snprintf (label, sizeof label, "%u", edge * self->bin_width);
      show_text (cr, layout, label, px, MARGIN_TOP + plot_h + 4,
                 edge == 0 ? 0.0 : px > MARGIN_LEFT + plot_w - 20 ? 1.0 : 0.5);
    }

  if (self->limit > 0 && self->limit < range)
    {
      g_autofree char *text = NULL;
      double px = marker_x;
      double dashes[] = { 4.0, 3.0 };

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
      cairo_move_to (cr, px, MARGIN_TOP - 4);
      cairo_line_to (cr, px, MARGIN_TOP + plot_h);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      /* Translators: %u is a number of tokens; the label marks where examples get cut short */
      text = g_strdup_printf (_("Training length %u"), self->limit);
      show_text (cr, layout, text, px, 0, px > MARGIN_LEFT + plot_w / 2 ? 1.0 : 0.0);
    }

  cairo_destroy (cr);
}

static void
temper_length_histogram_measure (GtkWidget      *widget,
                                 GtkOrientation  orientation,
                                 int             for_size,
                                 int            *minimum,
                                 int            *natural,
                                 int            *minimum_baseline,
                                 int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 480;
    }
  else
    {
      *minimum = 160;
      *natural = 200;
    }
}

static void
temper_length_histogram_css_changed (GtkWidget         *widget,
                                     GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (temper_length_histogram_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
dark_changed_cb (TemperLengthHistogram *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
temper_length_histogram_class_init (TemperLengthHistogramClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = temper_length_histogram_snapshot;
  widget_class->measure = temper_length_histogram_measure;
  widget_class->css_changed = temper_length_histogram_css_changed;
  gtk_widget_class_set_css_name (widget_class, "lengthhistogram");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
temper_length_histogram_init (TemperLengthHistogram *self)
{
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
}

GtkWidget *
temper_length_histogram_new (void)
{
  return g_object_new (TEMPER_TYPE_LENGTH_HISTOGRAM, NULL);
}

void
temper_length_histogram_set_lengths (TemperLengthHistogram *self,
                                     const guint           *lengths,
                                     gsize                  n_lengths,
                                     guint                  limit)
{
  g_autofree char *description = NULL;
  guint longest = 0, shortest = G_MAXUINT;

  g_return_if_fail (TEMPER_IS_LENGTH_HISTOGRAM (self));
  g_return_if_fail (lengths != NULL || n_lengths == 0);

  memset (self->counts, 0, sizeof self->counts);
  memset (self->cut, 0, sizeof self->cut);
  self->n_lengths = n_lengths;
  self->limit = limit;
  self->max_count = 0;
  self->n_bins = 0;

  for (gsize i = 0; i < n_lengths; i++)
    {
      longest = MAX (longest, lengths[i]);
      shortest = MIN (shortest, lengths[i]);
    }

  if (n_lengths > 0)
    {
      /* The limit marker is only worth showing when examples come near it;
       * otherwise it would squash every bar to the left. */
      guint top = limit > 0 && longest >= limit / 4 * 3 ? MAX (longest, limit) : longest;

      self->bin_width = nice_bin_width (top + 1);
      self->n_bins = MIN ((guint) MAX_BINS, top / self->bin_width + 1);
      for (gsize i = 0; i < n_lengths; i++)
        {
          guint bin = MIN (lengths[i] / self->bin_width, self->n_bins - 1);

          self->counts[bin]++;
          /* As the run cuts (temper_dataset_length_stats()): longer than
           * the limit. */
          self->cut[bin] += limit > 0 && lengths[i] > limit;
        }
      for (guint b = 0; b < self->n_bins; b++)
        self->max_count = MAX (self->max_count, MAX (self->cut[b], self->counts[b] - self->cut[b]));
      description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                  "%zu example, from %u to %u tokens long",
                                                  "%zu examples, from %u to %u tokens long",
                                                  n_lengths),
                                     (size_t) n_lengths, shortest, longest);
    }
  else
    description = g_strdup (_("No examples"));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Example lengths in tokens"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
temper_length_histogram_get_limit (TemperLengthHistogram *self)
{
  g_return_val_if_fail (TEMPER_IS_LENGTH_HISTOGRAM (self), 0);
  return self->limit;
}

guint
temper_length_histogram_get_n_bins (TemperLengthHistogram *self)
{
  g_return_val_if_fail (TEMPER_IS_LENGTH_HISTOGRAM (self), 0);
  return self->n_bins;
}

guint
temper_length_histogram_get_bin (TemperLengthHistogram *self,
                                 guint                  bin,
                                 guint                 *first,
                                 guint                 *last)
{
  g_return_val_if_fail (TEMPER_IS_LENGTH_HISTOGRAM (self), 0);
  g_return_val_if_fail (bin < self->n_bins, 0);

  if (first != NULL)
    *first = bin * self->bin_width;
  if (last != NULL)
    *last = bin == self->n_bins - 1 ? G_MAXUINT : (bin + 1) * self->bin_width - 1;
  return self->counts[bin];
}
