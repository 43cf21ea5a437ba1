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

#define MARGIN_LEFT   48.0
#define MARGIN_RIGHT  16.0
#define MARGIN_TOP    28.0
#define MARGIN_BOTTOM 28.0
#define N_SERIES      2

typedef struct {
  double step;
  double loss;
} LossPoint;

struct _TemperLossChart
{
  GtkWidget parent_instance;

  GArray   *series[N_SERIES];   /* LossPoint */
  gint64    total_steps;
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
draw_series (cairo_t       *cr,
             GArray        *points,
             const GdkRGBA *color,
             double         line_width,
             double x0, double y0, double w, double h,
             double max_step, double lo, double hi)
{
  if (points->len == 0)
    return;

  cairo_set_source_rgba (cr, color->red, color->green, color->blue, 1.0);
  cairo_set_line_width (cr, line_width);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < points->len; i++)
    {
      const LossPoint *p = &g_array_index (points, LossPoint, i);
      double x = x0 + w * p->step / max_step;
      double y = y0 + h - h * (p->loss - lo) / (hi - lo);

      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);

  /* Dots, so a single point (the first step, a rare evaluation) shows. */
  for (guint i = 0; i < points->len; i++)
    {
      const LossPoint *p = &g_array_index (points, LossPoint, i);

      if (points->len > 1 && points->len > 40 && i + 1 < points->len)
        continue;
      cairo_arc (cr, x0 + w * p->step / max_step, y0 + h - h * (p->loss - lo) / (hi - lo),
                 line_width + 1.0, 0, 2 * G_PI);
      cairo_fill (cr);
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
  double lo = INFINITY, hi = -INFINITY, max_step = 1, plot_w, plot_h, step, x_step;
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

  cairo_set_line_width (cr, 1.0);
  for (double y = lo; y <= hi + step / 2; y += step)
    {
      char label[32];
      double py = floor (MARGIN_TOP + plot_h - plot_h * (y - lo) / (hi - lo)) + 0.5;

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, dark ? 0.18 : 0.12);
      cairo_move_to (cr, MARGIN_LEFT, py);
      cairo_line_to (cr, MARGIN_LEFT + plot_w, py);
      cairo_stroke (cr);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
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
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      g_snprintf (label, sizeof label, "%.0f", x);
      show_text (cr, layout, label, px, MARGIN_TOP + plot_h + 4, 0.5, 0.0);
    }

  /* Legend, top left: colour and name of each series. */
  {
    const char *names[N_SERIES] = { _("Training"), _("Validation") };
    const GdkRGBA *colors[N_SERIES] = { &train_color, &val_color };
    double x = MARGIN_LEFT;

    for (guint s = 0; s < N_SERIES; s++)
      {
        int tw, th;

        cairo_set_source_rgba (cr, colors[s]->red, colors[s]->green, colors[s]->blue, 1.0);
        cairo_rectangle (cr, x, 8, 14, 4);
        cairo_fill (cr);
        cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
        pango_layout_set_text (layout, names[s], -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        cairo_move_to (cr, x + 20, 10 - th / 2.0);
        pango_cairo_show_layout (cr, layout);
        x += 20 + tw + 24;
      }
  }

  cairo_save (cr);
  cairo_rectangle (cr, MARGIN_LEFT - 4, MARGIN_TOP - 4, plot_w + 8, plot_h + 8);
  cairo_clip (cr);
  draw_series (cr, self->series[TEMPER_LOSS_SERIES_TRAINING], &train_color, 2.0,
               MARGIN_LEFT, MARGIN_TOP, plot_w, plot_h, max_step, lo, hi);
  draw_series (cr, self->series[TEMPER_LOSS_SERIES_VALIDATION], &val_color, 2.5,
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
  LossPoint point = { (double) step, loss };

  g_return_if_fail (TEMPER_IS_LOSS_CHART (self));
  g_return_if_fail ((guint) series < N_SERIES);

  if (!isfinite (loss))
    return;
  /* A resumed run repeats the steps after its checkpoint: the new values
   * replace the old ones instead of doubling back over them. */
  while (self->series[series]->len > 0 &&
         g_array_index (self->series[series], LossPoint, self->series[series]->len - 1).step >= point.step)
    g_array_set_size (self->series[series], self->series[series]->len - 1);
  g_array_append_val (self->series[series], point);
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

guint
temper_loss_chart_get_n_points (TemperLossChart  *self,
                                TemperLossSeries  series)
{
  g_return_val_if_fail (TEMPER_IS_LOSS_CHART (self), 0);
  g_return_val_if_fail ((guint) series < N_SERIES, 0);
  return self->series[series]->len;
}
