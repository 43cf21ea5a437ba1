/* SPDX-License-Identifier: MIT */
/* temper-settings.c — GSettings behind GObject properties. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "temper-paths.h"
#include "temper-settings.h"

struct _TemperSettings
{
  GObject    parent_instance;

  GSettings *settings;
  char      *default_device;
  char     **model_folders;
  int        window_width;
  int        window_height;
  gboolean   window_maximized;
  gboolean   seen_welcome;
  char      *last_run;
};

G_DEFINE_FINAL_TYPE (TemperSettings, temper_settings, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DEFAULT_DEVICE,
  PROP_MODEL_FOLDERS,
  PROP_WINDOW_WIDTH,
  PROP_WINDOW_HEIGHT,
  PROP_WINDOW_MAXIMIZED,
  PROP_SEEN_WELCOME,
  PROP_LAST_RUN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Property names equal key names, so one loop binds them all. */
static const char *const bound_keys[] = {
  "default-device", "model-folders", "window-width", "window-height",
  "window-maximized", "seen-welcome", "last-run",
};

static GSettingsSchema *
lookup_schema (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  GSettingsSchema *schema = NULL;
  const char *build_dir = temper_paths_schema_dir ();

  /* Uninstalled, the freshly compiled schema in the build tree wins over any
   * older installed copy. */
  if (build_dir != NULL)
    {
      g_autoptr(GSettingsSchemaSource) build_source =
        g_settings_schema_source_new_from_directory (build_dir, source, FALSE, NULL);

      if (build_source != NULL)
        schema = g_settings_schema_source_lookup (build_source, TEMPER_SETTINGS_SCHEMA_ID, FALSE);
    }
  if (schema == NULL && source != NULL)
    schema = g_settings_schema_source_lookup (source, TEMPER_SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("Temper’s settings schema “%s” is not installed. Reinstalling Temper should fix this."),
                 TEMPER_SETTINGS_SCHEMA_ID);
  return schema;
}

static void
temper_settings_finalize (GObject *object)
{
  TemperSettings *self = TEMPER_SETTINGS (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->default_device, g_free);
  g_clear_pointer (&self->model_folders, g_strfreev);
  g_clear_pointer (&self->last_run, g_free);

  G_OBJECT_CLASS (temper_settings_parent_class)->finalize (object);
}

static void
temper_settings_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TemperSettings *self = TEMPER_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_DEFAULT_DEVICE:   g_value_set_string (value, self->default_device); break;
    case PROP_MODEL_FOLDERS:    g_value_set_boxed (value, self->model_folders); break;
    case PROP_WINDOW_WIDTH:     g_value_set_int (value, self->window_width); break;
    case PROP_WINDOW_HEIGHT:    g_value_set_int (value, self->window_height); break;
    case PROP_WINDOW_MAXIMIZED: g_value_set_boolean (value, self->window_maximized); break;
    case PROP_SEEN_WELCOME:     g_value_set_boolean (value, self->seen_welcome); break;
    case PROP_LAST_RUN:         g_value_set_string (value, self->last_run); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_settings_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TemperSettings *self = TEMPER_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_DEFAULT_DEVICE:
      g_free (self->default_device);
      self->default_device = g_value_dup_string (value);
      break;
    case PROP_MODEL_FOLDERS:
      g_strfreev (self->model_folders);
      self->model_folders = g_value_dup_boxed (value);
      if (self->model_folders == NULL)
        self->model_folders = g_new0 (char *, 1);
      break;
    case PROP_WINDOW_WIDTH:     self->window_width = g_value_get_int (value); break;
    case PROP_WINDOW_HEIGHT:    self->window_height = g_value_get_int (value); break;
    case PROP_WINDOW_MAXIMIZED: self->window_maximized = g_value_get_boolean (value); break;
    case PROP_SEEN_WELCOME:     self->seen_welcome = g_value_get_boolean (value); break;
    case PROP_LAST_RUN:
      g_free (self->last_run);
      self->last_run = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_settings_class_init (TemperSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = temper_settings_finalize;
  object_class->get_property = temper_settings_get_property;
  object_class->set_property = temper_settings_set_property;

  properties[PROP_DEFAULT_DEVICE] =
    g_param_spec_string ("default-device", NULL, NULL, "", flags);
  properties[PROP_MODEL_FOLDERS] =
    g_param_spec_boxed ("model-folders", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_WINDOW_WIDTH] =
    g_param_spec_int ("window-width", NULL, NULL, 0, G_MAXINT, 1100, flags);
  properties[PROP_WINDOW_HEIGHT] =
    g_param_spec_int ("window-height", NULL, NULL, 0, G_MAXINT, 760, flags);
  properties[PROP_WINDOW_MAXIMIZED] =
    g_param_spec_boolean ("window-maximized", NULL, NULL, FALSE, flags);
  properties[PROP_SEEN_WELCOME] =
    g_param_spec_boolean ("seen-welcome", NULL, NULL, FALSE, flags);
  properties[PROP_LAST_RUN] =
    g_param_spec_string ("last-run", NULL, NULL, "", flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
temper_settings_init (TemperSettings *self)
{
  self->default_device = g_strdup ("");
  self->model_folders = g_new0 (char *, 1);
  self->last_run = g_strdup ("");
}

TemperSettings *
temper_settings_new (GError **error)
{
  g_autoptr(GSettingsSchema) schema = lookup_schema (error);
  TemperSettings *self;

  if (schema == NULL)
    return NULL;

  self = g_object_new (TEMPER_TYPE_SETTINGS, NULL);
  self->settings = g_settings_new_full (schema, NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bound_keys); i++)
    g_settings_bind (self->settings, bound_keys[i], self, bound_keys[i], G_SETTINGS_BIND_DEFAULT);
  return self;
}

const char *
temper_settings_get_default_device (TemperSettings *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), NULL);
  return self->default_device;
}

void
temper_settings_set_default_device (TemperSettings *self,
                                    const char     *device)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "default-device", device != NULL ? device : "", NULL);
}

char **
temper_settings_dup_model_folders (TemperSettings *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), NULL);
  return g_strdupv (self->model_folders);
}

void
temper_settings_set_model_folders (TemperSettings    *self,
                                   const char *const *folders)
{
  const char *const empty[] = { NULL };

  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "model-folders", folders != NULL ? folders : empty, NULL);
}

void
temper_settings_add_model_folder (TemperSettings *self,
                                  const char     *folder)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) folders = NULL;

  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_return_if_fail (folder != NULL);

  if (g_strv_contains ((const char *const *) self->model_folders, folder))
    return;
  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) self->model_folders);
  g_strv_builder_add (builder, folder);
  folders = g_strv_builder_end (builder);
  temper_settings_set_model_folders (self, (const char *const *) folders);
}

void
temper_settings_remove_model_folder (TemperSettings *self,
                                     const char     *folder)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) folders = NULL;

  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_return_if_fail (folder != NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; self->model_folders[i] != NULL; i++)
    if (g_strcmp0 (self->model_folders[i], folder) != 0)
      g_strv_builder_add (builder, self->model_folders[i]);
  folders = g_strv_builder_end (builder);
  temper_settings_set_model_folders (self, (const char *const *) folders);
}

void
temper_settings_get_window_size (TemperSettings *self,
                                 int            *width,
                                 int            *height)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  if (width != NULL)
    *width = self->window_width;
  if (height != NULL)
    *height = self->window_height;
}

void
temper_settings_set_window_size (TemperSettings *self,
                                 int             width,
                                 int             height)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "window-width", width, "window-height", height, NULL);
}

gboolean
temper_settings_get_window_maximized (TemperSettings *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), FALSE);
  return self->window_maximized;
}

void
temper_settings_set_window_maximized (TemperSettings *self,
                                      gboolean        maximized)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "window-maximized", !!maximized, NULL);
}

gboolean
temper_settings_get_seen_welcome (TemperSettings *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), FALSE);
  return self->seen_welcome;
}

void
temper_settings_set_seen_welcome (TemperSettings *self,
                                  gboolean        seen)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "seen-welcome", !!seen, NULL);
}

const char *
temper_settings_get_last_run (TemperSettings *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), NULL);
  return self->last_run;
}

void
temper_settings_set_last_run (TemperSettings *self,
                              const char     *run_folder)
{
  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_object_set (self, "last-run", run_folder != NULL ? run_folder : "", NULL);
}

double
temper_settings_get_measured_speed (TemperSettings *self,
                                    const char     *device_id)
{
  g_autoptr(GVariant) speeds = NULL;
  double flops_per_s = 0;

  g_return_val_if_fail (TEMPER_IS_SETTINGS (self), 0);
  g_return_val_if_fail (device_id != NULL, 0);

  speeds = g_settings_get_value (self->settings, "measured-speeds");
  if (!g_variant_lookup (speeds, device_id, "d", &flops_per_s) || !(flops_per_s > 0))
    return 0;
  return flops_per_s;
}

void
temper_settings_set_measured_speed (TemperSettings *self,
                                    const char     *device_id,
                                    double          flops_per_s)
{
  g_autoptr(GVariant) old = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key;
  double value;

  g_return_if_fail (TEMPER_IS_SETTINGS (self));
  g_return_if_fail (device_id != NULL);

  old = g_settings_get_value (self->settings, "measured-speeds");
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sd}"));
  g_variant_iter_init (&iter, old);
  while (g_variant_iter_next (&iter, "{&sd}", &key, &value))
    if (!g_str_equal (key, device_id))
      g_variant_builder_add (&builder, "{sd}", key, value);
  if (flops_per_s > 0 && isfinite (flops_per_s))
    g_variant_builder_add (&builder, "{sd}", device_id, flops_per_s);
  g_settings_set_value (self->settings, "measured-speeds", g_variant_builder_end (&builder));
}
