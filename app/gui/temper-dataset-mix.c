/* SPDX-License-Identifier: MIT */
/* temper-dataset-mix.c — several datasets in one run, each with a share;
 * the engine's temper_dataset_write_mix() writes the mixed records. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper-dataset-chooser.h"
#include "temper-dataset-mix.h"
#include "temper-fit-estimate.h"
#include "temper-paths.h"

#define MIX_SEED TEMPER_DATASET_MIX_SEED

struct _TemperMixRead {
  temper_dataset_t *dataset;
};

typedef struct {
  char             *path;
  TemperMixRead    *read;      /* NULL while it is read, or when it was refused */
  guint             reading;   /* which read the row waits for (0: none) */
  GtkWidget        *row;
  GtkSpinButton    *share;
  GtkWidget        *remove;    /* insensitive while the file is read */
} MixSource;

struct _TemperDatasetMix
{
  AdwPreferencesGroup   parent_instance;

  GtkListBox           *list;
  GtkWidget            *main_row;
  GtkSpinButton        *main_share;
  GPtrArray            *sources;       /* MixSource */
  guint                 n_reading;
  char                 *mix_path;      /* written for the current choices */
  char                 *mixed_clean;   /* the cleaned copy it was written from */
  const temper_dataset_t *mixed_main;  /* the page's dataset it was written from */
  GCancellable         *cancellable;
  GtkFileChooserNative *chooser;
  /* Sources are read with its chat template, so that their records'
   * tokens are counted as the main dataset's are. */
  TemperLoadedModel    *model;
  guint                 read_serial;
};

G_DEFINE_FINAL_TYPE (TemperDatasetMix, temper_dataset_mix, ADW_TYPE_PREFERENCES_GROUP)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
mix_read_clear (gpointer data)
{
  TemperMixRead *read = data;

  g_clear_pointer (&read->dataset, temper_dataset_free);
}

static TemperMixRead *
mix_read_new (temper_dataset_t *dataset)
{
  TemperMixRead *read = g_atomic_rc_box_new0 (TemperMixRead);

  read->dataset = dataset;
  return read;
}

TemperMixRead *
temper_mix_read_ref (TemperMixRead *read)
{
  return g_atomic_rc_box_acquire (read);
}

void
temper_mix_read_unref (gpointer read)
{
  g_atomic_rc_box_release_full (read, mix_read_clear);
}

const temper_dataset_t *
temper_mix_read_get_dataset (TemperMixRead *read)
{
  return read->dataset;
}

static void
mix_source_free (gpointer data)
{
  MixSource *source = data;

  g_free (source->path);
  /* A worker may still look at it: it goes with the last reference. */
  g_clear_pointer (&source->read, temper_mix_read_unref);
  g_free (source);
}

static double
share_of (TemperDatasetMix *self, guint i)
{
  return gtk_spin_button_get_value (i == 0 ? self->main_share
                                           : ((MixSource *) self->sources->pdata[i - 1])->share);
}

/* Each row says what part of the training records its share is. */
static void
update_rows (TemperDatasetMix *self)
{
  double sum = share_of (self, 0);

  for (guint i = 0; i < self->sources->len; i++)
    if (((MixSource *) self->sources->pdata[i])->read != NULL)
      sum += share_of (self, i + 1);
  for (guint i = 0; i <= self->sources->len; i++)
    {
      MixSource *source = i > 0 ? self->sources->pdata[i - 1] : NULL;
      GtkWidget *row = source != NULL ? source->row : self->main_row;
      g_autofree char *text = NULL;

      if (source != NULL && source->read == NULL)
        continue;
      if (source != NULL)
        /* Translators: a dataset mixed into the run: its records, then its part of the mix */
        text = g_strdup_printf (_("%zu records · %.0f %% of the mix"),
                                temper_dataset_get_n_records (source->read->dataset), 100.0 * share_of (self, i) / sum);
      else
        /* Translators: the dataset opened above, mixed with others: its part of the mix */
        text = g_strdup_printf (_("The dataset above · %.0f %% of the mix"), 100.0 * share_of (self, 0) / sum);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->list), self->sources->len > 0);
}

static void
changed (TemperDatasetMix *self)
{
  g_clear_pointer (&self->mix_path, g_free);
  g_clear_pointer (&self->mixed_clean, g_free);
  update_rows (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static GtkSpinButton *
new_share_button (TemperDatasetMix *self, const char *name)
{
  GtkWidget *spin = gtk_spin_button_new_with_range (1, 100, 5);

  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 50);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (spin, _("Share: how much of the training records this dataset makes up"));
  /* Translators: %s is a dataset's file name */
  {
    g_autofree char *label = g_strdup_printf (_("Share of %s"), name);

    gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  }
  g_signal_connect_object (spin, "value-changed", G_CALLBACK (changed), self, G_CONNECT_SWAPPED);
  return GTK_SPIN_BUTTON (spin);
}

static void
remove_clicked_cb (GtkButton *button, TemperDatasetMix *self)
{
  MixSource *source = g_object_get_data (G_OBJECT (button), "source");

  gtk_list_box_remove (self->list, source->row);
  g_ptr_array_remove (self->sources, source);
  changed (self);
}

typedef struct {
  char              *path;
  TemperLoadedModel *model;
  guint              serial;
} ReadInput;

static void
read_input_free (gpointer data)
{
  ReadInput *input = data;

  g_free (input->path);
  g_clear_object (&input->model);
  g_free (input);
}

static void
read_thread (GTask *task, gpointer object, gpointer task_data, GCancellable *cancellable)
{
  ReadInput *input = task_data;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  TemperDatasetOptions options;
  GError *error = NULL;
  temper_dataset_t *dataset;

  temper_dataset_options_init (&options);
  options.cancellable = cancellable;
  /* As the Dataset page checks the main file: the same template and limit. */
  options.max_length = TEMPER_FIT_SEQ_LEN;
  if (input->model != NULL)
    {
      const temper_model_t *m = temper_loaded_model_get_model (input->model);

      tmpl = temper_chat_template_new (temper_model_get_chat_template (m), temper_model_get_tokenizer (m));
      options.chat_template = tmpl;
    }
  dataset = temper_dataset_load (input->path, &options, &error);
  if (dataset == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, dataset, (GDestroyNotify) temper_dataset_free);
}

static void
read_done_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  MixSource *source = user_data;
  g_autoptr(GError) error = NULL;
  temper_dataset_t *dataset = g_task_propagate_pointer (G_TASK (result), &error);
  ReadInput *input = g_task_get_task_data (G_TASK (result));
  TemperDatasetMix *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
    return;   /* the group is going away, and the source with it */
  self = TEMPER_DATASET_MIX (object);
  self->n_reading--;
  if (input->serial != source->reading)
    {
      /* Read for another model: the newer read counts. */
      g_clear_pointer (&dataset, temper_dataset_free);
      return;
    }
  source->reading = 0;
  g_clear_pointer (&source->read, temper_mix_read_unref);
  source->read = dataset != NULL ? mix_read_new (dataset) : NULL;
  gtk_widget_set_sensitive (source->remove, TRUE);
  if (dataset == NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (source->row), error->message);
      gtk_widget_set_sensitive (GTK_WIDGET (source->share), FALSE);
    }
  changed (self);
}

/* Reads @source's file (again) with the current model's template. */
static void
read_source (TemperDatasetMix *self, MixSource *source)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, read_done_cb, source);
  ReadInput *input = g_new0 (ReadInput, 1);

  input->path = g_strdup (source->path);
  input->model = self->model != NULL ? g_object_ref (self->model) : NULL;
  input->serial = ++self->read_serial;
  source->reading = input->serial;
  gtk_widget_set_sensitive (source->remove, FALSE);
  self->n_reading++;
  g_task_set_task_data (task, input, read_input_free);
  g_task_run_in_thread (task, read_thread);
}

void
temper_dataset_mix_add (TemperDatasetMix *self, const char *path)
{
  g_autofree char *name = g_path_get_basename (path);
  MixSource *source = g_new0 (MixSource, 1);
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");

  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  source->path = g_strdup (path);
  source->row = adw_action_row_new ();
  source->share = new_share_button (self, name);
  gtk_spin_button_set_value (source->share, gtk_spin_button_get_value (self->main_share));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (source->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (source->row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (source->row), _("Reading…"));
  gtk_widget_set_tooltip_text (source->row, path);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _("Leave this dataset out of the mix"));
  gtk_widget_set_name (remove, "mix-remove");
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Leave this dataset out of the mix"), -1);
  g_object_set_data (G_OBJECT (remove), "source", source);
  source->remove = remove;
  g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_clicked_cb), self, 0);
  /* The share last, so that every row's share lines up with the first's. */
  adw_action_row_add_suffix (ADW_ACTION_ROW (source->row), remove);
  adw_action_row_add_suffix (ADW_ACTION_ROW (source->row), GTK_WIDGET (source->share));
  gtk_list_box_append (self->list, source->row);
  g_ptr_array_add (self->sources, source);
  update_rows (self);
  read_source (self, source);
}

void
temper_dataset_mix_set_main_name (TemperDatasetMix *self, const char *name)
{
  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->main_row), name);
}

void
temper_dataset_mix_set_share (TemperDatasetMix *self, guint i, double share)
{
  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  g_return_if_fail (i <= self->sources->len);
  gtk_spin_button_set_value (i == 0 ? self->main_share : ((MixSource *) self->sources->pdata[i - 1])->share,
                             share);
}

void
temper_dataset_mix_set_model (TemperDatasetMix *self, TemperLoadedModel *model)
{
  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  if (!g_set_object (&self->model, model))
    return;
  /* Token counts depend on the model: read the sources again. */
  for (guint i = 0; i < self->sources->len; i++)
    read_source (self, self->sources->pdata[i]);
}

/* What the mix is made of, the page's own dataset first (@main, of which
 * @n_main records are left after drops), each with its record count and
 * share: what temper_dataset_mix_pick() and temper_dataset_write_mix() are
 * given, so that counting the mix and writing it agree.  @reads (may be
 * NULL) gets a reference to each other dataset as read. */
static void
gather (TemperDatasetMix *self, const temper_dataset_t *main, gsize n_main, GPtrArray *datasets,
        GArray *sizes, GArray *shares, GPtrArray *reads)
{
  double share = share_of (self, 0);

  g_ptr_array_add (datasets, (gpointer) main);
  g_array_append_val (sizes, n_main);
  g_array_append_val (shares, share);
  for (guint i = 0; i < self->sources->len; i++)
    {
      MixSource *source = self->sources->pdata[i];
      gsize n;

      if (source->read == NULL)
        continue;
      n = temper_dataset_get_n_records (source->read->dataset);
      share = share_of (self, i + 1);
      g_ptr_array_add (datasets, source->read->dataset);
      g_array_append_val (sizes, n);
      g_array_append_val (shares, share);
      if (reads != NULL)
        g_ptr_array_add (reads, temper_mix_read_ref (source->read));
    }
}

void
temper_dataset_mix_get_sources (TemperDatasetMix *self, GPtrArray *reads, GArray *shares)
{
  g_autoptr(GPtrArray) datasets = g_ptr_array_new ();
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));

  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  gather (self, NULL, 0, datasets, sizes, shares, reads);
}

void
temper_dataset_mix_measure (TemperDatasetMix *self, const temper_dataset_t *main, const gboolean *drop,
                            int max_length, TemperDatasetMixSize *size, GArray **lengths_out)
{
  g_autoptr(GPtrArray) datasets = g_ptr_array_new ();
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) shares = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) kept = g_array_new (FALSE, FALSE, sizeof (guint));   /* the main's records not dropped */
  g_autoptr(GArray) picks = NULL;
  g_autofree guint32 *lengths = NULL;

  g_return_if_fail (TEMPER_IS_DATASET_MIX (self));
  memset (size, 0, sizeof *size);
  /* The mix is made from the cleaned copy: the main's records not dropped. */
  for (guint r = 0; r < temper_dataset_get_n_records (main); r++)
    if (drop == NULL || !drop[r])
      g_array_append_val (kept, r);
  gather (self, main, kept->len, datasets, sizes, shares, NULL);
  if (datasets->len == 1)
    {
      /* Nothing mixed in: the cleaned copy's records, in order. */
      picks = g_array_sized_new (FALSE, FALSE, sizeof (guint64), kept->len);
      for (guint64 k = 0; k < kept->len; k++)
        g_array_append_val (picks, k);
    }
  else   /* the very records temper_dataset_mix_get_path() writes */
    picks = temper_dataset_mix_pick ((const gsize *) sizes->data, (const double *) shares->data, datasets->len,
                                     MIX_SEED, NULL);
  size->n_records = picks->len;
  size->has_tokens = picks->len > 0;
  lengths = g_new (guint32, MAX (picks->len, 1));
  for (guint i = 0; i < picks->len; i++)
    {
      guint64 pick = g_array_index (picks, guint64, i);
      guint d = (guint) (pick >> 40);
      gsize r = (gsize) (pick & ((G_GUINT64_CONSTANT (1) << 40) - 1));
      const TemperDatasetRecord *record = temper_dataset_get_record (datasets->pdata[d],
                                                                     d == 0 ? g_array_index (kept, guint, r) : r);

      if (record->n_tokens < 0)
        size->has_tokens = FALSE;
      lengths[i] = (guint32) MAX (record->n_tokens, 0);
    }
  G_STATIC_ASSERT (sizeof (guint) == sizeof (guint32));
  if (lengths_out != NULL)
    {
      *lengths_out = g_array_sized_new (FALSE, FALSE, sizeof (guint), picks->len);
      if (size->has_tokens)
        g_array_append_vals (*lengths_out, lengths, picks->len);
    }
  if (size->has_tokens)
    temper_dataset_length_stats (lengths, picks->len, max_length, &size->tokens);
}

gboolean
temper_dataset_mix_is_busy (TemperDatasetMix *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_MIX (self), FALSE);
  return self->n_reading > 0;
}

gboolean
temper_dataset_mix_has_sources (TemperDatasetMix *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_MIX (self), FALSE);
  for (guint i = 0; i < self->sources->len; i++)
    if (((MixSource *) self->sources->pdata[i])->read != NULL)
      return TRUE;
  return FALSE;
}

const char *
temper_dataset_mix_get_path (TemperDatasetMix *self, const temper_dataset_t *main, const char *clean_path,
                             GError **error)
{
  g_autoptr(temper_dataset_t) clean = NULL;
  g_autoptr(GPtrArray) datasets = g_ptr_array_new ();
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) shares = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "temper", "mixed", NULL);
  g_autofree char *base = g_path_get_basename (temper_dataset_get_path (main));
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autoptr(GError) last = NULL;
  const temper_dataset_t *page_dataset = main;
  char *dot;

  g_return_val_if_fail (TEMPER_IS_DATASET_MIX (self), NULL);
  /* Another file, or the same one read with other columns, is a new
   * dataset: the mix is written again. */
  if (self->mix_path != NULL && main == self->mixed_main && g_strcmp0 (clean_path, self->mixed_clean) == 0)
    return self->mix_path;
  g_clear_pointer (&self->mix_path, g_free);
  if (clean_path != NULL)
    {
      TemperDatasetOptions options;

      temper_dataset_options_init (&options);
      if ((clean = temper_dataset_load (clean_path, &options, error)) == NULL)
        return NULL;
      main = clean;
    }
  gather (self, main, temper_dataset_get_n_records (main), datasets, sizes, shares, NULL);
  if ((dot = strrchr (base, '.')) != NULL)
    *dot = '\0';
  g_mkdir_with_parents (dir, 0700);
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autofree char *name = attempt == 0 ? g_strdup_printf ("%s-mixed-%s.jsonl", base, stamp)
                                           : g_strdup_printf ("%s-mixed-%s-%u.jsonl", base, stamp, attempt);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_clear_error (&last);
      if (temper_dataset_write_mix ((temper_dataset_t *const *) datasets->pdata, (const double *) shares->data,
                                    datasets->len, MIX_SEED, path, NULL, &last) >= 0)
        {
          self->mix_path = g_steal_pointer (&path);
          g_free (self->mixed_clean);
          self->mixed_clean = g_strdup (clean_path);
          self->mixed_main = page_dataset;
          return self->mix_path;
        }
    }
  g_propagate_error (error, g_steal_pointer (&last));
  return NULL;
}

static void
chooser_response_cb (TemperDatasetMix *self, int response, GtkFileChooserNative *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_dataset_mix_add (self, path);
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
add_clicked_cb (TemperDatasetMix *self)
{
  if (self->chooser != NULL)
    return;
  self->chooser = temper_dataset_chooser_new (GTK_WIDGET (self), _("Add a Dataset to the Mix"), _("_Add"));
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
temper_dataset_mix_dispose (GObject *object)
{
  TemperDatasetMix *self = TEMPER_DATASET_MIX (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->model);
  G_OBJECT_CLASS (temper_dataset_mix_parent_class)->dispose (object);
}

static void
temper_dataset_mix_finalize (GObject *object)
{
  TemperDatasetMix *self = TEMPER_DATASET_MIX (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->sources);
  g_free (self->mix_path);
  g_free (self->mixed_clean);
  G_OBJECT_CLASS (temper_dataset_mix_parent_class)->finalize (object);
}

static void
temper_dataset_mix_class_init (TemperDatasetMixClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = temper_dataset_mix_dispose;
  object_class->finalize = temper_dataset_mix_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
temper_dataset_mix_init (TemperDatasetMix *self)
{
  GtkWidget *add = gtk_button_new_with_mnemonic (_("_Add a Dataset…"));

  self->sources = g_ptr_array_new_with_free_func (mix_source_free);
  self->cancellable = g_cancellable_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self), _("Mix In More Data"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self),
                                         _("Train on other datasets in the same run. Each share says how much "
                                           "of the training records a dataset makes up; no record is used twice."));
  gtk_widget_set_name (add, "mix-add");
  gtk_widget_add_css_class (add, "flat");
  gtk_widget_set_valign (add, GTK_ALIGN_CENTER);
  g_signal_connect_object (add, "clicked", G_CALLBACK (add_clicked_cb), self, G_CONNECT_SWAPPED);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (self), add);

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_set_name (GTK_WIDGET (self->list), "mix-list");
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), GTK_WIDGET (self->list));
  self->main_row = adw_action_row_new ();
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->main_row), FALSE);
  self->main_share = new_share_button (self, _("the dataset above"));
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->main_row), GTK_WIDGET (self->main_share));
  gtk_list_box_append (self->list, self->main_row);
  update_rows (self);
}
