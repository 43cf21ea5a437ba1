/* SPDX-License-Identifier: MIT */
/* temper-dataset-page-findings.c — the Dataset page's findings: drop, keep,
 * drop all like this; training then uses a cleaned copy written to the
 * cache, and the person's file is never touched. */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "temper/dataset.h"
#include "temper-dataset-labels.h"
#include "temper-dataset-page-private.h"

gsize
dataset_page_n_dropped (TemperDatasetPage *self)
{
  gsize n = 0;

  if (self->drop == NULL || self->checked == NULL)
    return 0;
  for (gsize i = 0; i < temper_dataset_get_n_records (self->checked->dataset); i++)
    n += self->drop[i];
  return n;
}

/* Writes the kept records to a new file in the cache; the run copies it
 * into its dataset folder.  The person's file is never touched. */
gboolean
dataset_page_ensure_clean_copy (TemperDatasetPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "temper", "cleaned", NULL);
  g_autofree char *base = g_path_get_basename (self->path);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  char *dot;

  if (self->clean_path != NULL)
    return TRUE;
  if ((dot = strrchr (base, '.')) != NULL)
    *dot = '\0';
  g_mkdir_with_parents (dir, 0700);
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *name = attempt == 0
                              ? g_strdup_printf ("%s-cleaned-%s.jsonl", base, stamp)
                              : g_strdup_printf ("%s-cleaned-%s-%u.jsonl", base, stamp, attempt);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_clear_error (&error);
      if (temper_dataset_write_jsonl (self->checked->dataset, self->drop, path, &error) >= 0)
        {
          self->clean_path = g_steal_pointer (&path);
          return TRUE;
        }
    }
  temper_error_banner_show (self->error_banner, _("Temper could not write the cleaned copy"),
                            error, self->path);
  return FALSE;
}

static void
update_findings_summary (TemperDatasetPage *self)
{
  gsize dropped = dataset_page_n_dropped (self);
  g_autofree char *text = NULL;

  if (dropped > 0)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%zu record will be left out of a cleaned copy used for training; "
                                         "your file stays as it is.",
                                         "%zu records will be left out of a cleaned copy used for training; "
                                         "your file stays as it is.", dropped), dropped);
  else
    text = g_strdup (_("These records load, but may teach the model the wrong thing. Drop them here "
                       "(your file stays as it is), or keep them."));
  adw_preferences_group_set_description (self->findings_group, text);
}

static void
set_dropped (TemperDatasetPage *self, gsize record, gboolean dropped)
{
  g_clear_pointer (&self->clean_path, g_free);   /* a new choice, a new copy */
  self->drop[record] = dropped;
}

/* Every Drop/Keep button says what pressing it would do. */
static void
sync_buttons (TemperDatasetPage *self)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->findings_list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *button = g_object_get_data (G_OBJECT (row), "drop-button");
      gsize record = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "record"));

      if (button == NULL)
        continue;
      gtk_button_set_label (GTK_BUTTON (button), self->drop[record] ? _("Keep") : _("Drop"));
      if (self->drop[record])
        gtk_widget_add_css_class (row, "dim-label");
      else
        gtk_widget_remove_css_class (row, "dim-label");
    }
  update_findings_summary (self);
  dataset_page_training_changed (self);
}

static void
drop_clicked_cb (GtkButton *button, TemperDatasetPage *self)
{
  GtkWidget *row = g_object_get_data (G_OBJECT (button), "row");
  gsize record = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "record"));

  set_dropped (self, record, !self->drop[record]);
  sync_buttons (self);
}

void
dataset_page_forget_undo (TemperDatasetPage *self)
{
  AdwToast *toast = g_steal_pointer (&self->undo_toast);

  g_clear_pointer (&self->undo_records, g_array_unref);
  if (toast != NULL)
    {
      adw_toast_dismiss (toast);
      g_object_unref (toast);
    }
}

/* Keeps again exactly the records the last "Drop All Like This" dropped;
 * those dropped before it stay dropped. */
static void
undo_clicked_cb (AdwToast *toast, TemperDatasetPage *self)
{
  if (toast != self->undo_toast || self->undo_records == NULL)
    return;
  for (guint i = 0; i < self->undo_records->len; i++)
    set_dropped (self, g_array_index (self->undo_records, guint, i), FALSE);
  g_clear_object (&self->undo_toast);
  g_clear_pointer (&self->undo_records, g_array_unref);
  sync_buttons (self);
}

static void
undo_dismissed_cb (AdwToast *toast, TemperDatasetPage *self)
{
  if (toast == self->undo_toast)
    {
      g_clear_object (&self->undo_toast);
      g_clear_pointer (&self->undo_records, g_array_unref);
    }
}

static void
drop_all_clicked_cb (GtkButton *button, TemperDatasetPage *self)
{
  TemperDatasetFindingKind kind = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "kind"));
  GPtrArray *findings = self->shown_findings;
  GArray *dropped = g_array_new (FALSE, FALSE, sizeof (guint));
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  g_autofree char *title = NULL;

  dataset_page_forget_undo (self);
  for (guint i = 0; i < findings->len; i++)
    {
      const TemperDatasetFinding *f = findings->pdata[i];
      guint record = (guint) f->record;

      if (f->kind == kind && !self->drop[record])
        {
          set_dropped (self, record, TRUE);
          g_array_append_val (dropped, record);
        }
    }
  sync_buttons (self);
  if (dropped->len == 0)
    {
      g_array_unref (dropped);
      return;
    }

  /* As GNOME apps do: the change is made at once, and a toast offers to undo it. */
  self->undo_records = dropped;
  /* Translators: a kind of finding such as "Near-duplicates", then how many records were dropped */
  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %u record dropped", "%s: %u records dropped",
                                        dropped->len),
                           dataset_page_finding_label (self, kind), dropped->len);
  self->undo_toast = adw_toast_new (title);
  adw_toast_set_button_label (self->undo_toast, _("_Undo"));
  adw_toast_set_priority (self->undo_toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_object (self->undo_toast, "button-clicked", G_CALLBACK (undo_clicked_cb), self, 0);
  g_signal_connect_object (self->undo_toast, "dismissed", G_CALLBACK (undo_dismissed_cb), self, 0);
  /* The overlay takes a reference of its own; the page keeps the first. */
  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), g_object_ref (self->undo_toast));
}

const char *
dataset_page_finding_label (TemperDatasetPage *self, TemperDatasetFindingKind kind)
{
  if (kind != TEMPER_DATASET_FINDING_LEAKAGE)
    return temper_dataset_finding_kind_label (kind);
  return self->check != NULL ? _("Also in your check file") : _("Also among the records held back for checking");
}

static gint
by_record (gconstpointer a, gconstpointer b)
{
  const TemperDatasetFinding *x = *(const TemperDatasetFinding *const *) a;
  const TemperDatasetFinding *y = *(const TemperDatasetFinding *const *) b;

  if (x->record != y->record)
    return x->record < y->record ? -1 : 1;
  return (int) x->kind - (int) y->kind;
}

void
dataset_page_list_findings (TemperDatasetPage *self)
{
  GArray *found = self->checked->findings;
  guint shown;

  dataset_page_remove_all_rows (self->findings_list);
  g_clear_pointer (&self->shown_findings, g_ptr_array_unref);
  self->shown_findings = g_ptr_array_new ();
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (self->shown_findings, &g_array_index (found, TemperDatasetFinding, i));
  for (guint i = 0; self->leakage != NULL && i < self->leakage->len; i++)
    g_ptr_array_add (self->shown_findings, &g_array_index (self->leakage, TemperDatasetFinding, i));
  g_ptr_array_sort (self->shown_findings, by_record);
  shown = MIN (self->shown_findings->len, (guint) MAX_PROBLEM_ROWS);
  for (guint i = 0; i < shown; i++)
    {
      const TemperDatasetFinding *f = self->shown_findings->pdata[i];
      g_autofree char *place = temper_dataset_page_describe_place (f->line, f->item);
      g_autofree char *title = g_strdup_printf (_("%s: %s"), place, dataset_page_finding_label (self, f->kind));
      /* Translators: what is wrong, an excerpt in quotes, then the suggested fix */
      g_autofree char *subtitle = g_strdup_printf (_("%s: “%s”\n%s"), f->message, f->excerpt, f->fix);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *drop = gtk_button_new_with_label (_("Drop"));
      GtkWidget *drop_all = gtk_button_new_with_label (_("Drop All Like This"));

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 4);
      gtk_widget_set_valign (drop, GTK_ALIGN_CENTER);
      gtk_widget_set_valign (drop_all, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (drop_all, "flat");
      g_object_set_data (G_OBJECT (row), "record", GSIZE_TO_POINTER (f->record));
      g_object_set_data (G_OBJECT (row), "finding-kind", GUINT_TO_POINTER (f->kind));
      g_object_set_data (G_OBJECT (row), "drop-button", drop);
      g_object_set_data (G_OBJECT (row), "drop-all-button", drop_all);
      g_object_set_data (G_OBJECT (drop), "row", row);
      g_object_set_data (G_OBJECT (drop_all), "kind", GUINT_TO_POINTER (f->kind));
      g_signal_connect_object (drop, "clicked", G_CALLBACK (drop_clicked_cb), self, 0);
      g_signal_connect_object (drop_all, "clicked", G_CALLBACK (drop_all_clicked_cb), self, 0);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), drop_all);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), drop);
      gtk_list_box_append (self->findings_list, row);
    }
  /* The buttons and dimming say what is dropped; the counts stay. */
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->findings_list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      gsize record = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "record"));

      gtk_button_set_label (GTK_BUTTON (g_object_get_data (G_OBJECT (row), "drop-button")),
                            self->drop[record] ? _("Keep") : _("Drop"));
      if (self->drop[record])
        gtk_widget_add_css_class (row, "dim-label");
    }
  update_findings_summary (self);
  gtk_widget_set_visible (GTK_WIDGET (self->findings_group), self->shown_findings->len > 0);
}

void
dataset_page_show_findings (TemperDatasetPage *self)
{
  dataset_page_forget_undo (self);
  g_clear_pointer (&self->drop, g_free);
  self->drop = g_new0 (gboolean, MAX (temper_dataset_get_n_records (self->checked->dataset), 1));
  dataset_page_list_findings (self);
}
