/* SPDX-License-Identifier: MIT */
/* temper-evaluate-report.c — evaluation.json and evaluation.html. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper-evaluate-private.h"

static const char *const model_names[2] = { "base", "tuned" };

/* NaN (nothing measured) becomes null: JSON has no NaN. */
static void
add_number (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isnan (value) || isinf (value))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, value);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value == NULL)
    json_builder_add_null_value (b);
  else
    json_builder_add_string_value (b, value);
}

static void
add_pair (JsonBuilder *b, const char *name, const double v[2])
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  add_number (b, model_names[0], v[0]);
  add_number (b, model_names[1], v[1]);
  json_builder_end_object (b);
}

static void
add_record (JsonBuilder *b, const TemperEvalRecord *r)
{
  json_builder_begin_object (b);
  add_string (b, "question", r->question);
  add_string (b, "reference", r->reference);
  add_string (b, "expect", r->expect);
  for (int m = 0; m < 2; m++)
    {
      json_builder_set_member_name (b, model_names[m]);
      json_builder_begin_object (b);
      add_string (b, "answer", r->answer[m]);
      add_number (b, "nll", r->nll[m]);
      if (r->scored)
        {
          add_number (b, "exact", r->exact[m]);
          add_number (b, "contains", r->contains[m]);
          add_number (b, "bleu", r->bleu[m]);
          add_number (b, "rouge_l", r->rouge_l[m]);
          add_number (b, "chrf", r->chrf[m]);
        }
      json_builder_end_object (b);
    }
  /* What a list sorts by: positive when the tuned answer scores better. */
  if (r->scored)
    add_number (b, "chrf_change", r->chrf[1] - r->chrf[0]);
  json_builder_end_object (b);
}

static gboolean
save (const char *path, const char *text, GError **error)
{
  GError *local = NULL;

  if (!temper_fs_write_file (path, text, -1, &local))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("%s could not be written: %s"), path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_evaluation_write_json (const TemperEvaluation *ev, GPtrArray *records, GPtrArray *general,
                              const char *path, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);

  json_builder_set_member_name (b, "sets");
  json_builder_begin_array (b);
  for (guint i = 0; i < ev->sets->len; i++)
    {
      const TemperEvaluationSet *s = &g_array_index (ev->sets, TemperEvaluationSet, i);
      GPtrArray *recs = records->pdata[i];

      json_builder_begin_object (b);
      add_string (b, "name", s->name);
      add_string (b, "path", s->path);
      json_builder_set_member_name (b, "n_records");
      json_builder_add_int_value (b, s->n_records);
      json_builder_set_member_name (b, "n_with_reference");
      json_builder_add_int_value (b, s->n_with_reference);
      json_builder_set_member_name (b, "n_identical");
      json_builder_add_int_value (b, s->n_identical);
      add_pair (b, "perplexity", s->perplexity);
      if (s->n_with_reference > 0)
        {
          add_pair (b, "exact", s->exact);
          add_pair (b, "contains", s->contains);
          add_pair (b, "bleu", s->bleu);
          add_pair (b, "rouge_l", s->rouge_l);
          add_pair (b, "chrf", s->chrf);
        }
      json_builder_set_member_name (b, "records");
      json_builder_begin_array (b);
      for (guint r = 0; r < recs->len; r++)
        add_record (b, recs->pdata[r]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "general");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n_questions");
  json_builder_add_int_value (b, ev->n_general);
  for (int m = 0; m < 2; m++)
    {
      g_autofree char *name = g_strdup_printf ("%s_right", model_names[m]);
      json_builder_set_member_name (b, name);
      json_builder_add_int_value (b, ev->general_right[m]);
    }
  json_builder_set_member_name (b, "forgotten");
  json_builder_add_int_value (b, ev->general_forgotten);
  json_builder_set_member_name (b, "gained");
  json_builder_add_int_value (b, ev->general_gained);
  json_builder_set_member_name (b, "forgetting");
  json_builder_add_boolean_value (b, ev->forgetting);
  json_builder_set_member_name (b, "questions");
  json_builder_begin_array (b);
  for (guint i = 0; i < general->len; i++)
    {
      const TemperEvalGeneral *g = general->pdata[i];

      json_builder_begin_object (b);
      add_string (b, "question", g->question);
      add_string (b, "expect", g->expect);
      for (int m = 0; m < 2; m++)
        {
          json_builder_set_member_name (b, model_names[m]);
          json_builder_begin_object (b);
          add_string (b, "answer", g->answer[m]);
          json_builder_set_member_name (b, "right");
          json_builder_add_boolean_value (b, g->right[m]);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "n_asked");
  json_builder_add_int_value (b, ev->n_asked);
  json_builder_set_member_name (b, "n_identical");
  json_builder_add_int_value (b, ev->n_identical);
  json_builder_set_member_name (b, "loss_fell");
  json_builder_add_boolean_value (b, ev->loss_fell);
  json_builder_set_member_name (b, "no_effect");
  json_builder_add_boolean_value (b, ev->no_effect);
  json_builder_set_member_name (b, "findings");
  json_builder_begin_array (b);
  for (guint i = 0; ev->findings[i] != NULL; i++)
    json_builder_add_string_value (b, ev->findings[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  return save (path, text, error);
}

/* ---- HTML ---------------------------------------------------------------- */

static void
append_escaped (GString *out, const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text != NULL ? text : "", -1);
  g_string_append (out, escaped);
}

/* <tag attributes>text</tag> and a line break, with the (translated) text
 * escaped; @tag may carry attributes after a space. */
static void
append_element (GString *out, const char *tag, const char *text)
{
  g_string_append_printf (out, "<%s>", tag);
  append_escaped (out, text);
  g_string_append_printf (out, "</%.*s>\n", (int) strcspn (tag, " "), tag);
}

static void
append_cell_number (GString *out, double value, gboolean percent)
{
  if (isnan (value))
    g_string_append (out, "<td>–</td>");
  else if (percent)
    g_string_append_printf (out, "<td>%.1f%%</td>", 100.0 * value);
  else
    g_string_append_printf (out, "<td>%.3f</td>", value);
}

/* The training loss per step as an inline SVG line chart, so the report
 * needs no image file beside it. */
static void
append_loss_chart (GString *out, GArray *metrics)
{
  const double width = 640, height = 240, pad = 40;
  double lo = INFINITY, hi = -INFINITY;
  gint64 first_step = G_MAXINT64, last_step = G_MININT64;
  gboolean first = TRUE;
  g_autofree char *label = NULL;
  g_autofree char *step = NULL;
  g_autofree char *step_escaped = NULL;

  for (guint i = 0; metrics != NULL && i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);
      if (isnan (m->loss))
        continue;
      lo = MIN (lo, m->loss);
      hi = MAX (hi, m->loss);
      first_step = MIN (first_step, m->step);
      last_step = MAX (last_step, m->step);
    }
  if (!(lo <= hi))
    {
      append_element (out, "p", _("The run has no training steps to draw."));
      return;
    }
  if (hi - lo < 1e-9)
    hi = lo + 1.0;
  if (last_step == first_step)
    last_step = first_step + 1;
  label = g_markup_escape_text (_("Training loss by step"), -1);
  step = g_strdup_printf (_("step %" PRId64), last_step);
  step_escaped = g_markup_escape_text (step, -1);
  g_string_append_printf (out,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                          "role=\"img\" aria-label=\"%s\">\n"
                          "<rect x=\"%.0f\" y=\"10\" width=\"%.0f\" height=\"%.0f\" class=\"frame\"/>\n"
                          "<text x=\"4\" y=\"20\">%.2f</text><text x=\"4\" y=\"%.0f\">%.2f</text>\n"
                          "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n"
                          "<polyline class=\"loss\" points=\"",
                          width, height, label, pad, width - pad - 10, height - pad - 10,
                          hi, height - pad, lo, width - pad - 60, height - 12, step_escaped);
  for (guint i = 0; i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);
      double x, y;

      if (isnan (m->loss))
        continue;
      x = pad + (width - pad - 10) * (double) (m->step - first_step)
                / (double) (last_step - first_step);
      y = 10 + (height - pad - 10) * (hi - m->loss) / (hi - lo);
      g_string_append_printf (out, "%s%.1f,%.1f", first ? "" : " ", x, y);
      first = FALSE;
    }
  g_string_append (out, "\"/>\n</svg>\n");
}

/* Orders scored records by how much the tuned answer gained in chrF, the
 * largest gain first; unscored records go last.  g_ptr_array_sort() hands
 * pointers to the elements. */
static int
compare_change (gconstpointer a, gconstpointer b)
{
  const TemperEvalRecord *ra = *(TemperEvalRecord *const *) a;
  const TemperEvalRecord *rb = *(TemperEvalRecord *const *) b;
  double ca = ra->scored ? ra->chrf[1] - ra->chrf[0] : -INFINITY;
  double cb = rb->scored ? rb->chrf[1] - rb->chrf[0] : -INFINITY;

  return (ca < cb) - (ca > cb);
}

static const char style[] =
  "body{font-family:system-ui,'Cantarell','Noto Sans','Noto Sans CJK SC',sans-serif;"
  "margin:2em auto;max-width:60em;color:#222;padding:0 1em}"
  "table{border-collapse:collapse;margin:1em 0;width:100%}"
  "th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
  "th{background:#f3f3f3}.better{background:#e6f4ea}.worse{background:#fce8e6}"
  ".frame{fill:none;stroke:#999}.loss{fill:none;stroke:#3584e4;stroke-width:2}"
  "svg text{font-size:12px;fill:#555}.flag{font-weight:bold;color:#c01c28}";

/* One data set's section: its measures for both models, then its
 * records, largest improvement first. */
static void
append_set (GString *out, const TemperEvaluationSet *s, GPtrArray *recs)
{
  static const char *const metric_names[] = { N_("Exact match"), N_("Contains the reference"),
                                              "BLEU-4", "ROUGE-L", "chrF" };
  g_autoptr(GPtrArray) by_change = NULL;
  const double *values[] = { s->exact, s->contains, s->bleu, s->rouge_l, s->chrf };
  g_autofree char *counts = g_strdup_printf (_("%u records, %u with a reference answer."),
                                             s->n_records, s->n_with_reference);

  append_element (out, "h2", s->name);
  append_element (out, "p", counts);
  g_string_append (out, "<table>\n<tr>");
  append_element (out, "th", _("Measure"));
  append_element (out, "th", _("Base"));
  append_element (out, "th", _("Tuned"));
  g_string_append (out, "</tr>\n<tr>");
  append_element (out, "td", _("Perplexity (lower is better)"));
  append_cell_number (out, s->perplexity[0], FALSE);
  append_cell_number (out, s->perplexity[1], FALSE);
  g_string_append (out, "</tr>\n");
  for (guint m = 0; s->n_with_reference > 0 && m < G_N_ELEMENTS (metric_names); m++)
    {
      g_string_append (out, "<tr>");
      append_element (out, "td", _(metric_names[m]));
      append_cell_number (out, values[m][0], TRUE);
      append_cell_number (out, values[m][1], TRUE);
      g_string_append (out, "</tr>\n");
    }
  g_string_append (out, "</table>\n");
  if (s->n_with_reference == 0)
    return;
  append_element (out, "p", _("Largest improvement first, largest regression last."));
  g_string_append (out, "<table>\n<tr>");
  append_element (out, "th", _("Question"));
  append_element (out, "th", _("Reference"));
  append_element (out, "th", _("Base answer"));
  append_element (out, "th", _("Tuned answer"));
  append_element (out, "th", _("chrF base → tuned"));
  g_string_append (out, "</tr>\n");
  /* A copy that borrows the records (a copy would inherit the free function). */
  by_change = g_ptr_array_sized_new (recs->len);
  for (guint r = 0; r < recs->len; r++)
    g_ptr_array_add (by_change, recs->pdata[r]);
  g_ptr_array_sort (by_change, compare_change);
  for (guint r = 0; r < by_change->len; r++)
    {
      const TemperEvalRecord *rec = by_change->pdata[r];
      const char *cls;

      if (!rec->scored)
        continue;
      cls = rec->chrf[1] > rec->chrf[0] + 1e-9 ? " class=\"better\""
            : rec->chrf[1] < rec->chrf[0] - 1e-9 ? " class=\"worse\"" : "";
      g_string_append_printf (out, "<tr%s><td>", cls);
      append_escaped (out, rec->question);
      g_string_append (out, "</td><td>");
      append_escaped (out, rec->reference);
      g_string_append (out, "</td><td>");
      append_escaped (out, rec->answer[0]);
      g_string_append (out, "</td><td>");
      append_escaped (out, rec->answer[1]);
      g_string_append_printf (out, "</td><td>%.1f → %.1f</td></tr>\n",
                              100.0 * rec->chrf[0], 100.0 * rec->chrf[1]);
    }
  g_string_append (out, "</table>\n");
}

/* The forgetting check's section: counts, then every general question
 * with both models' answers. */
static void
append_general (GString *out, const TemperEvaluation *ev, GPtrArray *general)
{
  g_autofree char *general_counts =
    g_strdup_printf (_("Base model right: %u of %u. Tuned model right: %u of %u. "
                       "Forgotten: %u. Newly right: %u."),
                     ev->general_right[0], ev->n_general, ev->general_right[1],
                     ev->n_general, ev->general_forgotten, ev->general_gained);

  append_element (out, "h2", _("General questions (forgetting check)"));
  append_element (out, "p", general_counts);
  g_string_append (out, "<table>\n<tr>");
  append_element (out, "th", _("Question"));
  append_element (out, "th", _("Expected"));
  append_element (out, "th", _("Base answer"));
  append_element (out, "th", _("Tuned answer"));
  g_string_append (out, "</tr>\n");
  for (guint i = 0; i < general->len; i++)
    {
      const TemperEvalGeneral *g = general->pdata[i];
      const char *cls = g->right[0] && !g->right[1] ? " class=\"worse\""
                        : !g->right[0] && g->right[1] ? " class=\"better\"" : "";

      g_string_append_printf (out, "<tr%s><td>", cls);
      append_escaped (out, g->question);
      g_string_append (out, "</td><td>");
      append_escaped (out, g->expect);
      for (int m = 0; m < 2; m++)
        {
          g_string_append_printf (out, "</td><td>%s ", g->right[m] ? "✔" : "✘");
          append_escaped (out, g->answer[m]);
        }
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</table>\n");
}

gboolean
temper_evaluation_write_html (const TemperEvaluation *ev, GPtrArray *records, GPtrArray *general,
                              GArray *metrics, const char *run_name, const char *path,
                              GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *title = g_strdup_printf (_("%s — evaluation"), run_name);
  g_autofree char *heading = g_strdup_printf (_("%s: base model against tuned model"), run_name);

  g_string_append (out, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n");
  append_element (out, "title", title);
  g_string_append_printf (out, "<style>%s</style>\n</head>\n<body>\n", style);
  append_element (out, "h1", heading);
  if (ev->forgetting)
    append_element (out, "p class=\"flag\"", _("Warning: the tuned model forgot general knowledge."));
  if (ev->no_effect)
    append_element (out, "p class=\"flag\"", _("Warning: the training changed the model little."));
  append_element (out, "h2", _("Findings"));
  g_string_append (out, "<ul>\n");
  for (guint i = 0; ev->findings[i] != NULL; i++)
    {
      g_string_append (out, "<li>");
      append_escaped (out, ev->findings[i]);
      g_string_append (out, "</li>\n");
    }
  g_string_append (out, "</ul>\n");
  append_element (out, "h2", _("Training loss"));
  append_loss_chart (out, metrics);

  for (guint i = 0; i < ev->sets->len; i++)
    append_set (out, &g_array_index (ev->sets, TemperEvaluationSet, i), records->pdata[i]);
  append_general (out, ev, general);
  g_string_append (out, "</body>\n</html>\n");
  return save (path, out->str, error);
}
