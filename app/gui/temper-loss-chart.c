/* SPDX-License-Identifier: MIT */
/* temper-loss-chart.c — the loss curves, drawn with cairo in the style's
 * colours (foreground for axes and labels, accent for training, success
 * for validation), so they read well in light and dark mode.
 *
 * Each new point only queues a redraw; GTK draws at most once per frame, so
 * a fast run does not cost more than the screen can show. */
#include "config.h"

#include <math.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "temper-loss-chart.h"

#define MARGIN_LEFT   TEMPER_LOSS_CHART_MARGIN_LEFT
#define MARGIN_RIGHT  TEMPER_LOSS_CHART_MARGIN_RIGHT
#define MARGIN_TOP    TEMPER_LOSS_CHART_MARGIN_TOP
#define MARGIN_BOTTOM TEMPER_LOSS_CHART_MARGIN_BOTTOM
#define N_SERIES      2
/* Fewer points than this are drawn as they are: nothing to smooth yet. */
#define MIN_SMOOTHED  4

typedef struct {
  double step;
  double loss;
  double smoothed;       /* the moving average up to this point */
  double epoch;          /* NaN: unknown */
  double tokens_per_s;   /* NaN or 0: unknown */
} LossPoint;

struct _TemperLossChart
{
  GtkWidget parent_instance;

  GArray   *series[N_SERIES];   /* LossPoint */
  gint64    total_steps;
  /* The plot's scale as last drawn, for tooltips. */
  double    drawn_max_step, drawn_lo, drawn_hi;
};

G_DEFINE_FINAL_TYPE (TemperLossChart, temper_loss_chart, GTK_TYPE_WIDGET)

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

/* 1, 2 or 5 times a power of ten: grid lines at values people read at a
 * glance. */
static double
nice_step (double span,
           int    max_lines)
{
  double raw = span / MAX (1, max_lines);
  double power = pow (10.0, floor (log10 (raw)));

  if (raw <= power)
    return power;
  if (raw <= 2 * power)
    return 2 * power;
  if (raw <= 5 * power)
    return 5 * power;
  return 10 * power;
}

static void
show_text (cairo_t     *cr,
           PangoLayout *layout,
           const char  *text,
           double       x,
           double       y,
           double       x_align,
           double       y_align)
{
  int width, height;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - x_align * width, y - y_align * height);
  pango_cairo_show_layout (cr, layout);
}

static void
trace (cairo_t *cr, GArray *points, gboolean smoothed,
       double x0, double y0, double w, double h, double max_step, double lo, double hi)
{
  for (guint i = 0; i < points->len; i++)
    {
      const LossPoint *p = &g_array_index (points, LossPoint, i);
      double value = smoothed ? p->smoothed : p->loss;
      double x = x0 + w * p->step / max_step;
      double y = y0 + h - h * (value - lo) / (hi - lo);

      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
}

/* With @smooth (and enough points): the raw values as a faint thin line
 * with small dots, and the moving average as the solid line over them. */
static void
draw_series (cairo_t       *cr,
             GArray        *points,
             const GdkRGBA *color,
             double         line_width,
             gboolean       smooth,
             double x0, double y0, double w, double h,
             double max_step, double lo, double hi)
{
  gboolean smoothed = smooth && points->len >= MIN_SMOOTHED;

  if (points->len == 0)
    return;

  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  if (smoothed)
    {
      cairo_set_source_rgba (cr, color->red, color->green, color->blue, 0.3);
      cairo_set_line_width (cr, 1.0);
      trace (cr, points, FALSE, x0, y0, w, h, max_step, lo, hi);
      cairo_stroke (cr);
      if (points->len <= 200)
        for (guint i = 0; i < points->len; i++)
          {
            const LossPoint *p = &g_array_index (points, LossPoint, i);
            cairo_arc (cr, x0 + w * p->step / max_step, y0 + h - h * (p->loss - lo) / (hi - lo),
                       1.5, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, 1.0);
  cairo_set_line_width (cr, smoothed ? line_width + 0.5 : line_width);
  trace (cr, points, smoothed, x0, y0, w, h, max_step, lo, hi);
  cairo_stroke (cr);

  /* Dots, so a single point (the first step, a rare evaluation) shows. */
  for (guint i = 0; i < points->len; i++)
    {
      const LossPoint *p = &g_array_index (points, LossPoint, i);
      double value = smoothed ? p->smoothed : p->loss;

      if (points->len > 1 && (points->len > 40 || smoothed) && i + 1 < points->len)
        continue;
      cairo_arc (cr, x0 + w * p->step / max_step, y0 + h - h * (value - lo) / (hi - lo),
                 line_width + 1.0, 0, 2 * G_PI);
      cairo_fill (cr);
    }
}

/* The grid and its numbers (loss up the left, steps along the bottom), and
 * the axes' names. */
static void
draw_axes (cairo_t       *cr,
           PangoLayout   *layout,
           const GdkRGBA *fg,
           gboolean       dark,
           double lo, double hi, double step, double max_step,
           double plot_w, double plot_h, int height)
{
  double x_step;

  cairo_set_line_width (cr, 1.0);
  for (double y = lo; y <= hi + step / 2; y += step)
    {
      char label[32];
      double py = floor (MARGIN_TOP + plot_h - plot_h * (y - lo) / (hi - lo)) + 0.5;

      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, dark ? 0.18 : 0.12);
      cairo_move_to (cr, MARGIN_LEFT, py);
      cairo_line_to (cr, MARGIN_LEFT + plot_w, py);
      cairo_stroke (cr);
      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.7);
      g_snprintf (label, sizeof label, step < 0.1 ? "%.2f" : "%.1f", y);
      show_text (cr, layout, label, MARGIN_LEFT - 6, py, 1.0, 0.5);
    }

  x_step = MAX (1.0, nice_step (max_step, 6));
  for (double x = 0; x <= max_step + x_step / 2; x += x_step)
    {
      char label[32];
      double px = MARGIN_LEFT + plot_w * MIN (x, max_step) / max_step;

      if (x > max_step)
        break;
      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.7);
      g_snprintf (label, sizeof label, "%.0f", x);
      show_text (cr, layout, label, px, MARGIN_TOP + plot_h + 4, 0.5, 0.0);
    }

  /* The axes' names: “Step” under the step numbers, “Loss” up the left. */
  cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.8);
  show_text (cr, layout, _("Step"), MARGIN_LEFT + plot_w / 2, height - 2, 0.5, 1.0);
  {
    int tw, th;

    pango_layout_set_text (layout, _("Loss"), -1);
    pango_layout_get_pixel_size (layout, &tw, &th);
    cairo_save (cr);
    cairo_translate (cr, 2, MARGIN_TOP + plot_h / 2 + tw / 2.0);
    cairo_rotate (cr, -G_PI / 2);
    cairo_move_to (cr, 0, 0);
    pango_cairo_show_layout (cr, layout);
    cairo_restore (cr);
  }
}

/* The legend, top left: colour and name of each series. */
static void
draw_legend (cairo_t       *cr,
             PangoLayout   *layout,
             const GdkRGBA *fg,
             const GdkRGBA *train_color,
             const GdkRGBA *val_color)
{
  const char *names[N_SERIES] = { _("Training"), _("Validation") };
  const GdkRGBA *colors[N_SERIES] = { train_color, val_color };
  double x = MARGIN_LEFT;

  for (guint s = 0; s < N_SERIES; s++)
    {
      int tw, th;

      cairo_set_source_rgba (cr, colors[s]->red, colors[s]->green, colors[s]->blue, 1.0);
      cairo_rectangle (cr, x, 8, 14, 4);
      cairo_fill (cr);
      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.8);
      pango_layout_set_text (layout, names[s], -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, x + 20, 10 - th / 2.0);
      pango_cairo_show_layout (cr, layout);
      x += 20 + tw + 24;
    }
}

static void
temper_loss_chart_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  TemperLossChart *self = TEMPER_LOSS_CHART (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(PangoLayout) layout = NULL;
  GdkRGBA fg, train_color, val_color;
  double lo = INFINITY, hi = -INFINITY, max_step = 1, plot_w, plot_h, step;
  guint n_points = 0;
  cairo_t *cr;

  if (width <= MARGIN_LEFT + MARGIN_RIGHT || height <= MARGIN_TOP + MARGIN_BOTTOM)
    return;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  lookup_color (widget, "accent_color", &train_color, dark ? "#78aeed" : "#1c71d8");
  lookup_color (widget, "success_color", &val_color, dark ? "#8ff0a4" : "#1b8553");

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  layout = gtk_widget_create_pango_layout (widget, NULL);
  plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
  plot_h = height - MARGIN_TOP - MARGIN_BOTTOM;

  for (guint s = 0; s < N_SERIES; s++)
    for (guint i = 0; i < self->series[s]->len; i++)
      {
        const LossPoint *p = &g_array_index (self->series[s], LossPoint, i);

        lo = MIN (lo, p->loss);
        hi = MAX (hi, p->loss);
        max_step = MAX (max_step, p->step);
        n_points++;
      }
  max_step = MAX (max_step, (double) self->total_steps);

  if (n_points == 0)
    {
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.55);
      show_text (cr, layout, _("The loss appears here after the first step"),
                 width / 2.0, height / 2.0, 0.5, 0.5);
      cairo_destroy (cr);
      return;
    }

  /* Loss starts high and falls: zoom on the range it covers, with a little
   * room so a flat line is not stuck to an edge. */
  if (hi - lo < 1e-3)
    {
      lo -= 0.5;
      hi += 0.5;
    }
  step = nice_step (hi - lo, 5);
  lo = floor (lo / step) * step;
  hi = ceil (hi / step) * step;
  lo = MAX (lo, 0.0);

  draw_axes (cr, layout, &fg, dark, lo, hi, step, max_step, plot_w, plot_h, height);
  draw_legend (cr, layout, &fg, &train_color, &val_color);

  cairo_save (cr);
  cairo_rectangle (cr, MARGIN_LEFT - 4, MARGIN_TOP - 4, plot_w + 8, plot_h + 8);
  cairo_clip (cr);
  self->drawn_max_step = max_step;
  self->drawn_lo = lo;
  self->drawn_hi = hi;
  draw_series (cr, self->series[TEMPER_LOSS_SERIES_TRAINING], &train_color, 2.0, TRUE,
               MARGIN_LEFT, MARGIN_TOP, plot_w, plot_h, max_step, lo, hi);
  draw_series (cr, self->series[TEMPER_LOSS_SERIES_VALIDATION], &val_color, 2.5, FALSE,
               MARGIN_LEFT, MARGIN_TOP, plot_w, plot_h, max_step, lo, hi);
  cairo_restore (cr);

  cairo_destroy (cr);
}

static void
temper_loss_chart_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 180;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 600 : 280;
}

static char *
temper_loss_chart_describe_point (const LossPoint *p, const LossPoint *v)
{
  GString *s;

  if (p == NULL && v == NULL)
    return NULL;
  s = g_string_new (NULL);
  if (p != NULL)
    {
      /* Translators: the step under the pointer, its loss and the smoothed loss. */
      g_string_append_printf (s, _("Step %.0f: loss %.3f (smoothed %.3f)"), p->step, p->loss, p->smoothed);
      if (isfinite (p->epoch))
        {
          g_string_append_c (s, '\n');
          g_string_append_printf (s, _("Epoch %.2f"), p->epoch);
        }
      if (isfinite (p->tokens_per_s) && p->tokens_per_s > 0)
        {
          g_string_append (s, isfinite (p->epoch) ? " · " : "\n");
          g_string_append_printf (s, _("%.0f tokens/s"), p->tokens_per_s);
        }
    }
  if (v != NULL)
    {
      if (s->len > 0)
        g_string_append_c (s, '\n');
      g_string_append_printf (s, _("Validation loss at step %.0f: %.3f"), v->step, v->loss);
    }
  return g_string_free (s, FALSE);
}

/* The point of a series nearest to @x on screen, or NULL. */
static const LossPoint *
nearest_point (TemperLossChart *self, TemperLossSeries series, double x)
{
  double plot_w = gtk_widget_get_width (GTK_WIDGET (self)) - MARGIN_LEFT - MARGIN_RIGHT;
  const LossPoint *best = NULL;
  double best_distance = INFINITY;

  if (self->drawn_max_step <= 0 || plot_w <= 0)
    return NULL;
  for (guint i = 0; i < self->series[series]->len; i++)
    {
      const LossPoint *p = &g_array_index (self->series[series], LossPoint, i);
      double distance = fabs (MARGIN_LEFT + plot_w * p->step / self->drawn_max_step - x);
      if (distance < best_distance)
        best_distance = distance, best = p;
    }
  return best_distance <= 24 ? best : NULL;
}

static gboolean
query_tooltip_cb (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  gpointer    user_data)
{
  TemperLossChart *self = TEMPER_LOSS_CHART (widget);
  const LossPoint *p = nearest_point (self, TEMPER_LOSS_SERIES_TRAINING, x);
  const LossPoint *v = nearest_point (self, TEMPER_LOSS_SERIES_VALIDATION, x);
  g_autofree char *text = temper_loss_chart_describe_point (p, v);

  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
dark_changed_cb (TemperLossChart *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
temper_loss_chart_finalize (GObject *object)
{
  TemperLossChart *self = TEMPER_LOSS_CHART (object);

  for (guint s = 0; s < N_SERIES; s++)
    g_clear_pointer (&self->series[s], g_array_unref);

  G_OBJECT_CLASS (temper_loss_chart_parent_class)->finalize (object);
}

static void
temper_loss_chart_class_init (TemperLossChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = temper_loss_chart_finalize;
  widget_class->snapshot = temper_loss_chart_snapshot;
  widget_class->measure = temper_loss_chart_measure;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
temper_loss_chart_init (TemperLossChart *self)
{
  for (guint s = 0; s < N_SERIES; s++)
    self->series[s] = g_array_new (FALSE, FALSE, sizeof (LossPoint));
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip_cb), NULL);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Loss chart: how far the model's answers are from the examples, step by step; lower is better"),
                                  -1);
}

GtkWidget *
temper_loss_chart_new (void)
{
  return g_object_new (TEMPER_TYPE_LOSS_CHART, NULL);
}

void
temper_loss_chart_set_total (TemperLossChart *self,
                             gint64           total_steps)
{
  g_return_if_fail (TEMPER_IS_LOSS_CHART (self));
  self->total_steps = MAX (0, total_steps);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
temper_loss_chart_add_point (TemperLossChart  *self,
                             TemperLossSeries  series,
                             gint64            step,
                             double            loss)
{
  temper_loss_chart_add_point_full (self, series, step, loss, NAN, NAN);
}

void
temper_loss_chart_add_point_full (TemperLossChart  *self,
                                  TemperLossSeries  series,
                                  gint64            step,
                                  double            loss,
                                  double            epoch,
                                  double            tokens_per_s)
{
  LossPoint point = { (double) step, loss, loss, epoch, tokens_per_s };
  GArray *points;
  double average = 0, weight = TEMPER_LOSS_CHART_SMOOTHING;

  g_return_if_fail (TEMPER_IS_LOSS_CHART (self));
  g_return_if_fail ((guint) series < N_SERIES);

  if (!isfinite (loss))
    return;
  /* A resumed run repeats the steps after its checkpoint: the new values
   * replace the old ones instead of doubling back over them. */
  while (self->series[series]->len > 0 &&
         g_array_index (self->series[series], LossPoint, self->series[series]->len - 1).step >= point.step)
    g_array_set_size (self->series[series], self->series[series]->len - 1);
  /* The moving average, from the start of the series (it is short). */
  points = self->series[series];
  g_array_append_val (points, point);
  for (guint i = 0; i < points->len; i++)
    {
      LossPoint *p = &g_array_index (points, LossPoint, i);
      average = weight * average + (1 - weight) * p->loss;
      p->smoothed = average / (1 - pow (weight, i + 1));
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
temper_loss_chart_clear (TemperLossChart *self)
{
  g_return_if_fail (TEMPER_IS_LOSS_CHART (self));
  for (guint s = 0; s < N_SERIES; s++)
    g_array_set_size (self->series[s], 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

char *
temper_loss_chart_dup_tooltip_at (TemperLossChart *self, double x)
{
  g_return_val_if_fail (TEMPER_IS_LOSS_CHART (self), NULL);
  return temper_loss_chart_describe_point (nearest_point (self, TEMPER_LOSS_SERIES_TRAINING, x),
                                           nearest_point (self, TEMPER_LOSS_SERIES_VALIDATION, x));
}

guint
temper_loss_chart_get_n_points (TemperLossChart  *self,
                                TemperLossSeries  series)
{
  g_return_val_if_fail (TEMPER_IS_LOSS_CHART (self), 0);
  g_return_val_if_fail ((guint) series < N_SERIES, 0);
  return self->series[series]->len;
}
