/* SPDX-License-Identifier: MIT */
/* temper-preferences-window.c — edits TemperSettings; devices are listed on
 * a worker thread so opening Preferences never stalls. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-device-list.h"
#include "temper-preferences-window.h"
#include "temper-paths.h"

struct _TemperPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  TemperSettings       *settings;
  GCancellable         *cancellable;
  GPtrArray            *device_ids;   /* parallel to device_names; "" = automatic */
  GPtrArray            *device_notes; /* parallel too: why a device is not used, or NULL */
  GtkFileChooserNative *chooser;
  gboolean              filling;

  AdwComboRow          *device_row;
  GtkStringList        *device_names;
  GtkListBox           *folders_list;
};

G_DEFINE_FINAL_TYPE (TemperPreferencesWindow, temper_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* Under the row: why the chosen device is not trained on, if it is not. */
static void
show_device_note (TemperPreferencesWindow *self)
{
  guint selected = adw_combo_row_get_selected (self->device_row);
  const char *note = selected < self->device_notes->len
                       ? g_ptr_array_index (self->device_notes, selected) : NULL;

  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), note != NULL ? note : "");
}

static void
device_row_selected_cb (TemperPreferencesWindow *self)
{
  guint selected = adw_combo_row_get_selected (self->device_row);

  show_device_note (self);
  if (self->filling || self->settings == NULL || selected >= self->device_ids->len)
    return;
  temper_settings_set_default_device (self->settings, g_ptr_array_index (self->device_ids, selected));
}

static void
add_device_choice (TemperPreferencesWindow *self,
                   const char              *name,
                   const char              *id,
                   char                    *note)
{
  gtk_string_list_append (self->device_names, name);
  g_ptr_array_add (self->device_ids, g_strdup (id));
  g_ptr_array_add (self->device_notes, note);
}

static void
select_current_device (TemperPreferencesWindow *self)
{
  const char *current = temper_settings_get_default_device (self->settings);

  self->filling = TRUE;
  for (guint i = 0; i < self->device_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->device_ids, i), current) == 0)
      adw_combo_row_set_selected (self->device_row, i);
  self->filling = FALSE;
}

static const char *
device_kind_label (TemperDeviceType type)
{
  switch (type)
    {
    case TEMPER_DEVICE_CPU:            return _("processor");
    case TEMPER_DEVICE_DISCRETE_GPU:   return _("graphics card");
    case TEMPER_DEVICE_INTEGRATED_GPU: return _("built-in graphics");
    case TEMPER_DEVICE_VIRTUAL_GPU:    return _("virtual graphics card");
    case TEMPER_DEVICE_SOFTWARE:       return _("software emulation, slow");
    case TEMPER_DEVICE_OTHER:
    default:                           return _("other device");
    }
}

static void
devices_listed_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TemperPreferencesWindow) self = user_data;
  g_autoptr(GPtrArray) devices = NULL;
  gboolean found_current = FALSE;
  const char *current;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;

  devices = temper_device_list_finish (result, NULL, NULL);
  current = temper_settings_get_default_device (self->settings);

  self->filling = TRUE;
  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      const TemperDeviceInfo *device = g_ptr_array_index (devices, i);
      g_autofree char *id = temper_device_id (device);
      g_autofree char *size = g_format_size (device->memory_total);
      /* Translators: device name, its kind and memory, e.g. "RTX 4070 (graphics card, 12 GB)" */
      g_autofree char *label = g_strdup_printf (_("%s (%s, %s)"), device->name,
                                                device_kind_label (device->type), size);

      if (device->self_test == TEMPER_SELF_TEST_FAILED)
        {
          g_autofree char *marked = g_strdup_printf (_("%s — not used"), label);
          g_free (label);
          label = g_steal_pointer (&marked);
        }

      found_current |= g_strcmp0 (id, current) == 0;
      add_device_choice (self, label, id, temper_device_self_test_note (device));
    }
  /* A device that is gone (unplugged, driver removed) stays selectable so
   * the preference is not silently lost. */
  if (!found_current && current != NULL && *current != '\0')
    {
      /* Translators: %s is a device id such as "cuda:0" */
      g_autofree char *label = g_strdup_printf (_("%s (not found now)"), current);

      add_device_choice (self, label, current, NULL);
    }
  self->filling = FALSE;
  select_current_device (self);
  show_device_note (self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_row), TRUE);
}

static void
remove_folder_clicked_cb (GtkButton               *button,
                          TemperPreferencesWindow *self)
{
  temper_settings_remove_model_folder (self->settings, g_object_get_data (G_OBJECT (button), "folder"));
}

static void
fill_folders (TemperPreferencesWindow *self)
{
  g_auto(GStrv) folders = temper_settings_dup_model_folders (self->settings);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->folders_list))) != NULL)
    gtk_list_box_remove (self->folders_list, child);

  for (guint i = 0; folders[i] != NULL; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      /* Translators: %s is a folder path */
      g_autofree char *label = g_strdup_printf (_("Stop looking for models in %s"), folders[i]);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), folders[i]);
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, _("Remove"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
      g_object_set_data_full (G_OBJECT (remove), "folder", g_strdup (folders[i]), g_free);
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_folder_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      gtk_list_box_append (self->folders_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->folders_list), folders[0] != NULL);
}

static void
chooser_response_cb (TemperPreferencesWindow *self,
                     int                      response,
                     GtkFileChooserNative    *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_settings_add_model_folder (self->settings, path);
  g_clear_object (&self->chooser);
}

static void
add_folder_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  TemperPreferencesWindow *self = TEMPER_PREFERENCES_WINDOW (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Add a Model Folder"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Add"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
temper_preferences_window_dispose (GObject *object)
{
  TemperPreferencesWindow *self = TEMPER_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (temper_preferences_window_parent_class)->dispose (object);
}

static void
temper_preferences_window_finalize (GObject *object)
{
  TemperPreferencesWindow *self = TEMPER_PREFERENCES_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->device_ids, g_ptr_array_unref);
  g_clear_pointer (&self->device_notes, g_ptr_array_unref);

  G_OBJECT_CLASS (temper_preferences_window_parent_class)->finalize (object);
}

static void
temper_preferences_window_class_init (TemperPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_preferences_window_dispose;
  object_class->finalize = temper_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, TemperPreferencesWindow, device_names);
  gtk_widget_class_bind_template_child (widget_class, TemperPreferencesWindow, folders_list);
  gtk_widget_class_bind_template_callback (widget_class, device_row_selected_cb);
  gtk_widget_class_install_action (widget_class, "prefs.add-folder", NULL, add_folder_action);
}

static void
temper_preferences_window_init (TemperPreferencesWindow *self)
{
  self->cancellable = g_cancellable_new ();
  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  self->device_notes = g_ptr_array_new_with_free_func (g_free);
  self->filling = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->filling = FALSE;
}

GtkWidget *
temper_preferences_window_new (GtkWindow      *parent,
                               TemperSettings *settings)
{
  TemperPreferencesWindow *self;

  g_return_val_if_fail (TEMPER_IS_SETTINGS (settings), NULL);

  self = g_object_new (TEMPER_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->settings = g_object_ref (settings);

  self->filling = TRUE;
  add_device_choice (self, _("Best available"), "", NULL);
  self->filling = FALSE;
  select_current_device (self);
  /* Until the devices are known, a choice could only be "automatic". */
  gtk_widget_set_sensitive (GTK_WIDGET (self->device_row), FALSE);
  temper_device_list_async (self->cancellable, devices_listed_cb, g_object_ref (self));

  g_signal_connect_object (settings, "notify::model-folders", G_CALLBACK (fill_folders),
                           self, G_CONNECT_SWAPPED);
  fill_folders (self);
  return GTK_WIDGET (self);
}
