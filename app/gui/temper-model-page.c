/* SPDX-License-Identifier: MIT */
/* temper-model-page.c — models found on this computer, the chosen model's
 * facts, and whether training it fits on each device. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-device-list.h"
#include "temper-error-banner.h"
#include "temper-fit-estimate.h"
#include "temper-model-list.h"
#include "temper-model-notes.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-settings.h"
#include "temper-paths.h"

struct _TemperModelPage
{
  AdwPreferencesPage  parent_instance;

  TemperSettings     *settings;
  TemperLoadedModel  *model;
  GCancellable       *load_cancellable;
  GCancellable       *scan_cancellable;
  GtkFileChooserNative *chooser;
  GPtrArray          *fit_rows;

  TemperErrorBanner  *error_banner;
  AdwPreferencesGroup *chosen_group;
  GtkWidget          *loading_row;
  GtkSpinner         *loading_spinner;
  GtkWidget          *name_row;
  GtkWidget          *arch_row;
  GtkWidget          *params_row;
  GtkWidget          *quant_row;
  GtkWidget          *context_row;
  AdwActionRow       *file_row;
  GtkLabel           *name_value;
  GtkLabel           *arch_value;
  GtkLabel           *params_value;
  GtkLabel           *quant_value;
  GtkLabel           *context_value;
  GtkLabel           *size_value;
  AdwPreferencesGroup *fit_group;
  GtkListBox         *models_list;
};

static void temper_model_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperModelPage, temper_model_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_model_page_page_iface_init))

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_MODEL,
  PROP_BUSY,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct {
  TemperLoadedModel *model;
  GPtrArray         *devices;
} LoadResult;

static void
load_result_free (gpointer data)
{
  LoadResult *result = data;

  g_clear_object (&result->model);
  g_clear_pointer (&result->devices, g_ptr_array_unref);
  g_free (result);
}

static void
set_busy (TemperModelPage *self,
          gboolean         busy)
{
  gtk_widget_set_visible (self->loading_row, busy);
  gtk_spinner_set_spinning (self->loading_spinner, busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.cancel", busy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_model (TemperModelPage   *self,
           TemperLoadedModel *model)
{
  gboolean was_complete = self->model != NULL;

  if (!g_set_object (&self->model, model))
    return;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
  if (was_complete != (self->model != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
show_facts (TemperModelPage *self,
            gboolean         visible)
{
  GtkWidget *rows[] = { self->name_row, self->arch_row, self->params_row,
                        self->quant_row, self->context_row, GTK_WIDGET (self->file_row) };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_widget_set_visible (rows[i], visible);
}

static char *
format_parameters (guint64 n_params)
{
  if (n_params >= 1000000000)
    /* Translators: a parameter count, e.g. "7.2 billion" */
    return g_strdup_printf (_("%.1f billion"), n_params / 1e9);
  /* Translators: a parameter count, e.g. "134.5 million" */
  return g_strdup_printf (_("%.1f million"), n_params / 1e6);
}

static void
clear_fit_rows (TemperModelPage *self)
{
  for (guint i = 0; i < self->fit_rows->len; i++)
    adw_preferences_group_remove (self->fit_group, g_ptr_array_index (self->fit_rows, i));
  g_ptr_array_set_size (self->fit_rows, 0);
}

static void
fill_fit (TemperModelPage   *self,
          TemperLoadedModel *loaded,
          GPtrArray         *devices)
{
  const temper_model_t *model = temper_loaded_model_get_model (loaded);

  clear_fit_rows (self);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      const TemperDeviceInfo *device = g_ptr_array_index (devices, i);
      g_autofree char *sentence = NULL;
      TemperFitEstimate estimate;
      TemperFitVerdict verdict;

      /* A GPU keeps other weights than the processor does (see
       * temper_train_plan_memory()), so each device is asked on its own. */
      temper_fit_estimate_default (model, device->backend, &estimate);
      sentence = temper_fit_describe (&estimate, device);
      verdict = temper_fit_judge (estimate.total, device->memory_total);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icon;
      const char *icon_name, *style;

      switch (verdict)
        {
        case TEMPER_FIT_COMFORTABLE: icon_name = "emblem-ok-symbolic"; style = "success"; break;
        case TEMPER_FIT_TIGHT:       icon_name = "dialog-warning-symbolic"; style = "warning"; break;
        case TEMPER_FIT_TOO_BIG:
        default:                     icon_name = "dialog-error-symbolic"; style = "error"; break;
        }
      icon = gtk_image_new_from_icon_name (icon_name);
      gtk_widget_add_css_class (icon, style);
      gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      verdict == TEMPER_FIT_COMFORTABLE ? _("Fits")
                                      : verdict == TEMPER_FIT_TIGHT ? _("Fits only just")
                                      : _("Does not fit"), -1);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), device->name);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sentence);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      adw_preferences_group_add (self->fit_group, row);
      g_ptr_array_add (self->fit_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->fit_group), self->fit_rows->len > 0);
}

static void
fill_facts (TemperModelPage   *self,
            TemperLoadedModel *loaded)
{
  const temper_model_t *model = temper_loaded_model_get_model (loaded);
  const TemperModelConfig *config = temper_model_get_config (model);
  g_autofree char *params = format_parameters (temper_model_get_n_params (model));
  g_autofree char *context = NULL;
  g_autofree char *size = g_format_size (temper_model_get_file_size (model));
  g_autofree char *arch = NULL;
  g_autofree char *quantization = temper_model_describe_quantization (model);
  g_autofree char *family_line = temper_model_family_line (temper_model_get_family_name (model));
  g_autofree char *quantization_line = temper_model_quantization_line (temper_model_get_quantization (model));

  context = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d token", "%d tokens",
                                          config->n_ctx_train),
                             config->n_ctx_train);
  /* Translators: architecture name, layer count, e.g. "llama, 30 layers" */
  arch = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s, %d layer", "%s, %d layers",
                                       config->n_layer),
                          temper_model_get_arch_name (model), config->n_layer);

  gtk_label_set_text (self->name_value, temper_model_get_name (model));
  gtk_label_set_text (self->arch_value, arch);
  gtk_label_set_text (self->params_value, params);
  gtk_label_set_text (self->quant_value, quantization);
  /* What the names mean, in a plain line under each. */
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->arch_row), family_line);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->quant_row), quantization_line);
  gtk_label_set_text (self->context_value, context);
  gtk_label_set_text (self->size_value, size);
  adw_action_row_set_subtitle (self->file_row, temper_model_get_path (model));
  show_facts (self, TRUE);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GError) error = NULL;
  LoadResult *result;
  TemperLoadedModel *model;

  model = temper_loaded_model_load (path, cancellable, &error);
  if (model == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  result = g_new0 (LoadResult, 1);
  result->model = model;
  result->devices = temper_devices_list (NULL);
  g_task_return_pointer (task, result, load_result_free);
}

static void
load_done_cb (GObject      *object,
              GAsyncResult *async_result,
              gpointer      user_data)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);
  GTask *task = G_TASK (async_result);
  g_autoptr(GError) error = NULL;
  LoadResult *result;

  /* A newer choice (or the page going away) cancelled this load. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return;

  g_clear_object (&self->load_cancellable);
  set_busy (self, FALSE);

  result = g_task_propagate_pointer (task, &error);
  if (result == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->chosen_group), FALSE);
      temper_error_banner_show (self->error_banner, _("Temper could not open this model"),
                                error, g_task_get_task_data (task));
      return;
    }

  fill_facts (self, result->model);
  fill_fit (self, result->model, result->devices);
  set_model (self, result->model);
  load_result_free (result);
}

void
temper_model_page_choose (TemperModelPage *self,
                          const char      *path)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TEMPER_IS_MODEL_PAGE (self));
  g_return_if_fail (path != NULL);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  temper_error_banner_dismiss (self->error_banner);
  set_model (self, NULL);
  show_facts (self, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->fit_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->chosen_group), TRUE);
  set_busy (self, TRUE);

  task = g_task_new (self, self->load_cancellable, load_done_cb, NULL);
  g_task_set_source_tag (task, temper_model_page_choose);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, load_thread);
}

static void
models_list_row_activated_cb (TemperModelPage *self,
                              GtkListBoxRow   *row)
{
  const char *path = g_object_get_data (G_OBJECT (row), "path");

  if (path != NULL)
    temper_model_page_choose (self, path);
}

static GtkWidget *
create_model_row (const TemperModelListEntry *entry)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *subtitle = temper_model_list_entry_describe (entry);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), entry->name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);

  if (entry->problem == NULL)
    {
      GtkWidget *arrow = gtk_image_new_from_icon_name ("go-next-symbolic");

      gtk_accessible_update_property (GTK_ACCESSIBLE (arrow), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), arrow);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "path", g_strdup (entry->path), g_free);
    }
  else
    {
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_widget_add_css_class (row, "dim-label");
    }
  if (entry->bundled)
    gtk_widget_set_name (row, "demo-model");
  gtk_widget_set_tooltip_text (row, entry->path);
  return row;
}

static void
set_placeholder (TemperModelPage *self,
                 const char      *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_list_box_set_placeholder (self->models_list, label);
}

static void
scan_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_object (&self->scan_cancellable);

  entries = temper_model_list_scan_finish (result, &error);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->models_list))) != NULL)
    gtk_list_box_remove (self->models_list, child);

  set_placeholder (self, _("No models found. Open a model file or folder instead."));
  if (entries == NULL)
    {
      temper_error_banner_show (self->error_banner, _("Temper could not look for models"), error, NULL);
      return;
    }

  for (guint i = 0; i < entries->len; i++)
    gtk_list_box_append (self->models_list, create_model_row (g_ptr_array_index (entries, i)));
}

static void
rescan (TemperModelPage *self)
{
  g_auto(GStrv) folders = NULL;

  if (self->scan_cancellable != NULL)
    g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  self->scan_cancellable = g_cancellable_new ();

  folders = self->settings != NULL ? temper_settings_dup_model_folders (self->settings) : NULL;
  set_placeholder (self, _("Looking for models…"));
  temper_model_list_scan_async (G_OBJECT (self), (const char *const *) folders,
                                self->scan_cancellable, scan_done_cb, NULL);
}

static void
chooser_response_cb (TemperModelPage      *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_model_page_choose (self, path);
  g_clear_object (&self->chooser);
}

static void
open_chooser (TemperModelPage      *self,
              GtkFileChooserAction  action)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  gboolean folder = action == GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER;

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (folder ? _("Open a Model Folder") : _("Open a Model File"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               action, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (!folder)
    {
      GtkFileFilter *gguf = gtk_file_filter_new ();
      GtkFileFilter *all = gtk_file_filter_new ();

      gtk_file_filter_set_name (gguf, _("GGUF models"));
      gtk_file_filter_add_pattern (gguf, "*.gguf");
      gtk_file_filter_add_pattern (gguf, "*.GGUF");
      gtk_file_filter_set_name (all, _("All files"));
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), gguf);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
      g_object_unref (gguf);
      g_object_unref (all);
    }
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  open_chooser (TEMPER_MODEL_PAGE (widget), GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  open_chooser (TEMPER_MODEL_PAGE (widget), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (widget);

  if (self->load_cancellable == NULL)
    return;
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  set_busy (self, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->chosen_group), FALSE);
}

static void
temper_model_page_constructed (GObject *object)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);

  G_OBJECT_CLASS (temper_model_page_parent_class)->constructed (object);

  if (self->settings != NULL)
    g_signal_connect_object (self->settings, "notify::model-folders",
                             G_CALLBACK (rescan), self, G_CONNECT_SWAPPED);
  rescan (self);
}

static void
temper_model_page_dispose (GObject *object)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  if (self->scan_cancellable != NULL)
    g_cancellable_cancel (self->scan_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->scan_cancellable);
  g_clear_object (&self->model);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_MODEL_PAGE);

  G_OBJECT_CLASS (temper_model_page_parent_class)->dispose (object);
}

static void
temper_model_page_finalize (GObject *object)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);

  g_clear_pointer (&self->fit_rows, g_ptr_array_unref);

  G_OBJECT_CLASS (temper_model_page_parent_class)->finalize (object);
}

static void
temper_model_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->settings); break;
    case PROP_MODEL:    g_value_set_object (value, self->model); break;
    case PROP_BUSY:     g_value_set_boolean (value, self->load_cancellable != NULL); break;
    case PROP_COMPLETE: g_value_set_boolean (value, self->model != NULL); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_model_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  TemperModelPage *self = TEMPER_MODEL_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_model_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_model_page_class_init (TemperModelPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = temper_model_page_constructed;
  object_class->dispose = temper_model_page_dispose;
  object_class->finalize = temper_model_page_finalize;
  object_class->get_property = temper_model_page_get_property;
  object_class->set_property = temper_model_page_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, TEMPER_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, TEMPER_TYPE_LOADED_MODEL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-model-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, error_banner);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, chosen_group);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, loading_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, arch_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, params_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, quant_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, context_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, file_row);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, name_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, arch_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, params_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, quant_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, context_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, size_value);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, fit_group);
  gtk_widget_class_bind_template_child (widget_class, TemperModelPage, models_list);
  gtk_widget_class_bind_template_callback (widget_class, models_list_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "page.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "page.open-folder", NULL, open_folder_action);
  gtk_widget_class_install_action (widget_class, "page.cancel", NULL, cancel_action);

  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
}

static void
temper_model_page_init (TemperModelPage *self)
{
  self->fit_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.cancel", FALSE);
  show_facts (self, FALSE);
}

TemperLoadedModel *
temper_model_page_get_model (TemperModelPage *self)
{
  g_return_val_if_fail (TEMPER_IS_MODEL_PAGE (self), NULL);
  return self->model;
}

gboolean
temper_model_page_is_busy (TemperModelPage *self)
{
  g_return_val_if_fail (TEMPER_IS_MODEL_PAGE (self), FALSE);
  return self->load_cancellable != NULL;
}
