/* SPDX-License-Identifier: MIT */
/* temper-settings-page.c — presets, every training option and the device;
 * temper-settings-page-estimate.c estimates the memory and time before
 * anything starts. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <glib/gi18n.h>

#include "temper/train-estimate.h"
#include "temper/train-figures.h"
#include "temper-device-list.h"
#include "temper-fit-estimate.h"
#include "temper-fit-ways-out.h"
#include "temper-lora-scope.h"
#include "temper-format.h"
#include "temper-page.h"
#include "temper-settings.h"
#include "temper-settings-page-private.h"
#include "temper-settings-fields.h"
#include "temper-time-estimate.h"

static void temper_settings_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperSettingsPage, temper_settings_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_settings_page_page_iface_init))

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_MODEL,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  TRAIN_ON_CLUSTER,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
read_fields (TemperSettingsPage  *self,
             TemperTrainSettings *s)
{
  temper_settings_fields_read (self->field_widgets, s);
}

static void
write_fields (TemperSettingsPage        *self,
              const TemperTrainSettings *s)
{
  self->updating = TRUE;
  temper_settings_fields_write (self->field_widgets, s);
  self->updating = FALSE;
}

static TemperPreset
checked_preset (TemperSettingsPage *self)
{
  if (gtk_check_button_get_active (self->quick_check))
    return TEMPER_PRESET_QUICK;
  if (gtk_check_button_get_active (self->balanced_check))
    return TEMPER_PRESET_BALANCED;
  if (gtk_check_button_get_active (self->thorough_check))
    return TEMPER_PRESET_THOROUGH;
  return TEMPER_PRESET_CUSTOM;
}

/* The sentence under field @i: the person's own value, why the automatic
 * settings chose it, or what the field is. */
static const char *
field_note (TemperSettingsPage *self,
            guint               i)
{
  int why = temper_settings_field_why (i);

  /* With a check file the run splits nothing (temper-train.c), whatever
   * the share says or who set it. */
  if (self->uses_check_file && temper_settings_fields[i].unused_with_check_file)
    return _("Not used: progress is checked on your check file, and every example is learned from.");
  if (self->user_set[i])
    return _("Set by you.");
  if (why >= 0 && self->reasons.sentence[why] != NULL)
    return self->reasons.sentence[why];
  return _(temper_settings_fields[i].subtitle);
}

static void
update_field_notes (TemperSettingsPage *self)
{
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    {
      GtkWidget *w = self->field_widgets[i];
      GtkWidget *row = ADW_IS_ACTION_ROW (w) ? w : gtk_widget_get_ancestor (w, ADW_TYPE_ACTION_ROW);

      /* That row says what this model allows (update_base_weights_row()). */
      if (temper_settings_fields[i].kind == TEMPER_FIELD_BASE_WEIGHTS)
        continue;
      if (temper_settings_fields[i].unused_with_check_file)
        gtk_widget_set_sensitive (w, !self->uses_check_file);
      if (temper_settings_fields[i].kind == TEMPER_FIELD_TARGETS && !self->user_set[i])
        temper_lora_scope_show (w, self->model, field_note (self, i));  /* an MoE model's scope comes first */
      else
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), field_note (self, i));
    }
}

/* The automatic settings for the model, the dataset and the checked
 * preset, keeping every value the person set. */
static void
apply_automatic (TemperSettingsPage *self)
{
  TemperPreset preset = checked_preset (self);
  TemperTrainSettings shown, chosen;
  TemperTrainFacts facts = self->facts;
  gboolean have_facts = self->have_facts && self->model != NULL;

  if (preset == TEMPER_PRESET_CUSTOM)
    return;
  if (have_facts)
    facts.n_params = temper_model_get_n_params (temper_loaded_model_get_model (self->model));
  read_fields (self, &shown);
  temper_preset_choose (preset, have_facts ? &facts : NULL, &chosen, &self->reasons);
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    if (self->user_set[i])
      memcpy ((guint8 *) &chosen + temper_settings_fields[i].offset, (const guint8 *) &shown + temper_settings_fields[i].offset,
              temper_settings_field_size (temper_settings_fields[i].kind));
  write_fields (self, &chosen);
  update_field_notes (self);
  settings_page_update_estimate (self);
}

static void
preset_toggled_cb (TemperSettingsPage *self,
                   GtkCheckButton     *check)
{
  if (self->updating || !gtk_check_button_get_active (check))
    return;
  apply_automatic (self);
}

/* A field the person changed is theirs: the preset (how long training may
 * take) stays, and choosing again keeps the value, as temper-cli's flags are. */
static void
field_edited (TemperSettingsPage *self,
              GtkWidget          *widget)
{
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (widget), "temper-field")) - 1;

  if (self->updating)
    return;
  g_return_if_fail (i < TEMPER_SETTINGS_N_FIELDS);
  if (!self->user_set[i])
    {
      self->user_set[i] = TRUE;
      update_field_notes (self);
    }
  settings_page_update_estimate (self);
}

static void
field_changed_cb (GtkWidget          *widget,
                  TemperSettingsPage *self)
{
  field_edited (self, widget);
}

static void
field_notify_cb (GtkWidget          *widget,
                 GParamSpec         *pspec,
                 TemperSettingsPage *self)
{
  field_edited (self, widget);
}

/* Under the device row: why the chosen device is not trained on (its
 * self-test failed), or why it cannot train the chosen model. */
static void
update_device_note (TemperSettingsPage *self)
{
  const TemperDeviceInfo *device = settings_page_selected_device (self);
  g_autofree char *note = NULL;

  if (device == NULL)
    return;
  note = temper_device_self_test_note (device);
  if (note == NULL && self->model != NULL)
    note = temper_device_model_note (device, temper_loaded_model_get_model (self->model));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), note != NULL ? note : "");
}

static void
device_selected_cb (TemperSettingsPage *self)
{
  const TemperDeviceInfo *device = settings_page_selected_device (self);

  if (device == NULL)
    return;
  update_device_note (self);
  if (!self->updating && self->settings != NULL)
    {
      g_autofree char *id = temper_device_id (device);

      temper_settings_set_default_device (self->settings, id);
    }
  settings_page_update_estimate (self);
}

static void
devices_listed_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TemperSettingsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) devices = temper_device_list_finish (result, NULL, &error);
  g_autoptr(GtkStringList) names = NULL;
  const char *wanted;
  guint selected = 0;

  if (devices == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), error->message);
      g_object_unref (self);
      return;
    }

  wanted = self->settings != NULL ? temper_settings_get_default_device (self->settings) : NULL;
  names = gtk_string_list_new (NULL);
  for (guint i = 0; i < devices->len; i++)
    {
      const TemperDeviceInfo *d = g_ptr_array_index (devices, i);
      g_autofree char *id = temper_device_id (d);
      g_autofree char *memory = g_format_size (d->memory_total);
      /* Translators: a device and its memory, e.g. "AMD Ryzen 7 5800X (31.2 GB)" */
      g_autofree char *label = d->memory_total > 0 ? g_strdup_printf (_("%s (%s)"), d->name, memory)
                                                   : g_strdup (d->name);

      if (d->self_test == TEMPER_SELF_TEST_FAILED)
        {
          /* Translators: a device that failed the self-test, e.g. "Radeon RX 7600 (8 GB) — not used" */
          g_autofree char *marked = g_strdup_printf (_("%s — not used"), label);
          g_free (label);
          label = g_steal_pointer (&marked);
        }

      gtk_string_list_append (names, label);
      if (wanted != NULL && g_str_equal (id, wanted))
        selected = i;
    }

  g_clear_pointer (&self->devices, g_ptr_array_unref);
  self->devices = g_steal_pointer (&devices);
  self->updating = TRUE;
  adw_combo_row_set_model (self->device_row, G_LIST_MODEL (names));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->device_row), "");
  adw_combo_row_set_selected (self->device_row, selected);
  /* Shows the self-test note of the selected device, saving nothing. */
  device_selected_cb (self);
  self->updating = FALSE;
  settings_page_update_estimate (self);
  g_object_unref (self);
}

static GtkWidget *
create_field_row (TemperSettingsPage *self,
                  guint               i)
{
  const TemperSettingsField *f = &temper_settings_fields[i];
  GtkWidget *row, *w;

  if (f->kind == TEMPER_FIELD_SCHEDULE)
    {
      const char *names[] = { _("Constant"), _("Linear decay"), _("Cosine decay"), NULL };

      row = adw_combo_row_new ();
      adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (gtk_string_list_new (names)));
      g_object_unref (adw_combo_row_get_model (ADW_COMBO_ROW (row)));
      g_signal_connect_object (row, "notify::selected", G_CALLBACK (field_notify_cb), self, 0);
      w = row;
    }
  else
    {
      row = adw_action_row_new ();
      if (f->kind == TEMPER_FIELD_BOOL || f->kind == TEMPER_FIELD_BASE_WEIGHTS ||
          f->kind == TEMPER_FIELD_FAST_PRODUCTS)
        {
          w = gtk_switch_new ();
          g_signal_connect_object (w, "notify::active", G_CALLBACK (field_notify_cb), self, 0);
          adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), w);
        }
      else if (f->kind == TEMPER_FIELD_TARGETS)
        {
          w = gtk_entry_new ();
          gtk_editable_set_width_chars (GTK_EDITABLE (w), 18);
          g_signal_connect_object (w, "changed", G_CALLBACK (field_changed_cb), self, 0);
        }
      else
        {
          w = gtk_spin_button_new_with_range (f->min, f->max, f->step);
          gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), f->kind == TEMPER_FIELD_FLOAT || f->kind == TEMPER_FIELD_DOUBLE ? 6 : 0);
          gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (w), FALSE);
          gtk_editable_set_width_chars (GTK_EDITABLE (w), 10);
          if (f->kind == TEMPER_FIELD_DOUBLE || f->kind == TEMPER_FIELD_FLOAT)
            {
              g_signal_connect (w, "output", G_CALLBACK (temper_settings_spin_output_cb), NULL);
              g_signal_connect (w, "input", G_CALLBACK (temper_settings_spin_input_cb), NULL);
            }
          g_signal_connect_object (w, "value-changed", G_CALLBACK (field_changed_cb), self, 0);
        }
      gtk_widget_set_valign (w, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), w);
    }

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _(f->title));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _(f->subtitle));
  gtk_widget_set_name (w, f->name);
  g_object_set_data (G_OBJECT (w), "temper-field", GUINT_TO_POINTER (i + 1));
  /* The subtitle becomes why the value was chosen; what the field is stays at hand. */
  gtk_widget_set_tooltip_text (row, _(f->subtitle));
  if (w != row)
    gtk_accessible_update_property (GTK_ACCESSIBLE (w), GTK_ACCESSIBLE_PROPERTY_LABEL, _(f->title),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, _(f->subtitle), -1);
  self->field_widgets[i] = w;
  return row;
}

void
temper_settings_page_set_preset (TemperSettingsPage *self,
                                 TemperPreset        preset)
{
  GtkCheckButton *checks[] = { self->quick_check, self->balanced_check, self->thorough_check };

  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  g_return_if_fail (preset <= TEMPER_PRESET_CUSTOM);

  if (preset == TEMPER_PRESET_CUSTOM)
    {
      TemperPreset checked = checked_preset (self);

      if (checked != TEMPER_PRESET_CUSTOM)
        {
          self->updating = TRUE;
          gtk_check_button_set_active (checks[checked], FALSE);
          self->updating = FALSE;
        }
      return;
    }
  if (gtk_check_button_get_active (checks[preset]))
    apply_automatic (self);
  else
    gtk_check_button_set_active (checks[preset], TRUE);
}

TemperPreset
temper_settings_page_get_preset (TemperSettingsPage *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), TEMPER_PRESET_CUSTOM);
  return checked_preset (self);
}

void
temper_settings_page_set_train_settings (TemperSettingsPage        *self,
                                         const TemperTrainSettings *settings)
{
  TemperTrainFacts facts;

  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  g_return_if_fail (settings != NULL);

  facts = self->facts;
  /* The run's values, none of them chosen here: a preset picked next
   * chooses them all again.  A preset is checked only when the automatic
   * settings for the measured dataset give exactly these values; before the
   * dataset is measured none is, so that its facts arriving later do not
   * choose over the run's values. */
  memset (self->user_set, 0, sizeof self->user_set);
  temper_train_reasons_clear (&self->reasons);
  write_fields (self, settings);
  temper_settings_page_set_preset (self, TEMPER_PRESET_CUSTOM);
  if (self->have_facts && self->model != NULL)
    facts.n_params = temper_model_get_n_params (temper_loaded_model_get_model (self->model));
  /* Balanced first: for small sets Quick chooses the same values (the
   * passes that learn them), and those are then shown as the default. */
  static const TemperPreset order[] = { TEMPER_PRESET_BALANCED, TEMPER_PRESET_QUICK, TEMPER_PRESET_THOROUGH };
  for (guint i = 0; i < G_N_ELEMENTS (order) && facts.n_params > 0; i++)
    {
      TemperPreset p = order[i];
      TemperTrainSettings preset_settings;

      temper_preset_choose (p, &facts, &preset_settings, &self->reasons);
      if (temper_train_settings_equal (settings, &preset_settings))
        {
          GtkCheckButton *checks[] = { self->quick_check, self->balanced_check, self->thorough_check };

          self->updating = TRUE;
          gtk_check_button_set_active (checks[p], TRUE);
          self->updating = FALSE;
          break;
        }
      temper_train_reasons_clear (&self->reasons);
    }
  update_field_notes (self);
  settings_page_update_estimate (self);
}

void
temper_settings_page_get_train_settings (TemperSettingsPage  *self,
                                         TemperTrainSettings *settings)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  g_return_if_fail (settings != NULL);
  read_fields (self, settings);
}

void
temper_settings_page_set_dataset_facts (TemperSettingsPage     *self,
                                        const TemperTrainFacts *facts)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  if (facts == NULL ? !self->have_facts
                    : self->have_facts && memcmp (facts, &self->facts, sizeof *facts) == 0)
    return;
  self->have_facts = facts != NULL;
  memset (&self->facts, 0, sizeof self->facts);
  if (facts != NULL)
    self->facts = *facts;
  apply_automatic (self);
}

void
temper_settings_page_set_uses_check_file (TemperSettingsPage *self,
                                          gboolean            uses_check_file)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  if (self->uses_check_file == !!uses_check_file)
    return;
  self->uses_check_file = !!uses_check_file;
  update_field_notes (self);
}

const char *
temper_settings_page_get_field_note (TemperSettingsPage *self,
                                     const char         *name)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), NULL);
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    if (g_str_equal (temper_settings_fields[i].name, name))
      return field_note (self, i);
  g_return_val_if_reached (NULL);
}

void
temper_settings_page_set_dataset_size (TemperSettingsPage *self,
                                       guint               n_train,
                                       double              mean_tokens)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  self->n_train = n_train;
  self->mean_tokens = mean_tokens;
  settings_page_update_estimate (self);
}

/* The 4-bit switch only where the model's layers are F32, F16 or BF16: a
 * quantized GGUF's layers are already 4-, 5- or 8-bit and stay so. */
static void
update_base_weights_row (TemperSettingsPage *self)
{
  const TemperSettingsField *f = NULL;
  GtkWidget *w = NULL, *row;
  gboolean can = TRUE;

  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    if (temper_settings_fields[i].kind == TEMPER_FIELD_BASE_WEIGHTS)
      f = &temper_settings_fields[i], w = self->field_widgets[i];
  row = gtk_widget_get_ancestor (w, ADW_TYPE_ACTION_ROW);
  if (self->model != NULL)
    can = temper_model_can_hold_base_weights (temper_loaded_model_get_model (self->model),
                                              TEMPER_BASE_WEIGHTS_NF4);
  if (!can && gtk_switch_get_active (GTK_SWITCH (w)))
    {
      self->updating = TRUE;   /* the model's doing, not the person's */
      gtk_switch_set_active (GTK_SWITCH (w), FALSE);
      self->updating = FALSE;
    }
  gtk_widget_set_sensitive (w, can);
  if (can)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _(f->subtitle));
  else
    {
      /* Translators: %s is a weight format such as "Q4_1" */
      g_autofree char *text = g_strdup_printf (_("This model's layers are already quantized (%s), so they already take little memory"),
                                               temper_model_get_quantization (temper_loaded_model_get_model (self->model)));

      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
    }
}

void
temper_settings_page_set_model (TemperSettingsPage *self,
                                TemperLoadedModel  *model)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  if (g_set_object (&self->model, model))
    {
      settings_page_find_rates (self);
      update_base_weights_row (self);
      update_device_note (self);
      if (self->have_facts)
        apply_automatic (self);   /* for this model's size */
      else
        update_field_notes (self);
      settings_page_update_estimate (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
    }
}

char *
temper_settings_page_dup_device_id (TemperSettingsPage *self)
{
  const TemperDeviceInfo *device;

  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), NULL);
  device = settings_page_selected_device (self);
  return device != NULL ? temper_device_id (device) : NULL;
}

gboolean
temper_settings_page_get_device (TemperSettingsPage *self,
                                 TemperBackendKind  *backend,
                                 int                *index)
{
  const TemperDeviceInfo *device;

  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), FALSE);
  device = settings_page_selected_device (self);
  *backend = device != NULL ? device->backend : TEMPER_BACKEND_CPU;
  *index = device != NULL ? device->index : -1;
  return device != NULL;
}

static void
temper_settings_page_constructed (GObject *object)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (object);

  G_OBJECT_CLASS (temper_settings_page_parent_class)->constructed (object);

  self->cancellable = g_cancellable_new ();
  temper_device_list_async (self->cancellable, devices_listed_cb, g_object_ref (self));
}

static void
temper_settings_page_dispose (GObject *object)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_SETTINGS_PAGE);

  G_OBJECT_CLASS (temper_settings_page_parent_class)->dispose (object);
}

static void
temper_settings_page_finalize (GObject *object)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);
  g_clear_object (&self->model);
  g_clear_pointer (&self->devices, g_ptr_array_unref);
  temper_train_reasons_clear (&self->reasons);

  G_OBJECT_CLASS (temper_settings_page_parent_class)->finalize (object);
}

static void
temper_settings_page_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->settings); break;
    case PROP_MODEL:    g_value_set_object (value, self->model); break;
    case PROP_COMPLETE: g_value_set_boolean (value, self->valid); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_settings_page_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_MODEL:
      temper_settings_page_set_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_settings_page_page_iface_init (TemperPageInterface *iface)
{
}

/* A run may have measured this device's speed since the page was last
 * shown: estimate again with it. */
static void
temper_settings_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (temper_settings_page_parent_class)->map (widget);
  settings_page_update_estimate (TEMPER_SETTINGS_PAGE (widget));
}

/* The window knows the model and dataset the run would start from. */
static void
train_on_cluster_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_signal_emit (widget, signals[TRAIN_ON_CLUSTER], 0);
}

static void
temper_settings_page_class_init (TemperSettingsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = temper_settings_page_constructed;
  object_class->dispose = temper_settings_page_dispose;
  object_class->finalize = temper_settings_page_finalize;
  object_class->get_property = temper_settings_page_get_property;
  object_class->set_property = temper_settings_page_set_property;
  widget_class->map = temper_settings_page_map;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, TEMPER_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, TEMPER_TYPE_LOADED_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-settings-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, quick_check);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, balanced_check);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, thorough_check);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, device_row);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, memory_row);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, cluster_button);
  gtk_widget_class_install_action (widget_class, "page.train-on-cluster", NULL, train_on_cluster_action);
  signals[TRAIN_ON_CLUSTER] = g_signal_new ("train-on-cluster", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, time_row);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, advanced_row);
  gtk_widget_class_bind_template_child (widget_class, TemperSettingsPage, invalid_label);
  gtk_widget_class_bind_template_callback (widget_class, preset_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, device_selected_cb);
}

static void
temper_settings_page_init (TemperSettingsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    adw_expander_row_add_row (self->advanced_row, create_field_row (self, i));
  self->valid = FALSE;
  self->measure_rates = TRUE;
  self->rates_exact = TRUE;
  temper_settings_page_set_preset (self, TEMPER_PRESET_QUICK);
  settings_page_update_estimate (self);
}
