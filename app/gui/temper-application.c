/* SPDX-License-Identifier: MIT */
/* temper-application.c — app actions (quit, about, preferences, shortcuts)
 * and their accelerators. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-application.h"
#include "temper-paths.h"
#include "temper-preferences-window.h"
#include "temper-window.h"

struct _TemperApplication
{
  AdwApplication  parent_instance;
  TemperSettings *settings;
};

G_DEFINE_FINAL_TYPE (TemperApplication, temper_application, ADW_TYPE_APPLICATION)

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  GList *windows = g_list_copy (gtk_application_get_windows (app));

  /* Closing each window lets it save its size before the app goes; the
   * references keep the list valid while windows are destroyed. */
  for (GList *l = windows; l != NULL; l = l->next)
    g_object_ref (l->data);
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
  g_list_free_full (windows, g_object_unref);
  g_application_quit (G_APPLICATION (app));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { _("The Temper developers"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", _("Temper"),
                        "application-icon", "io.github.temper.Temper",
                        "developer-name", _("The Temper developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Teach a language model on your own computer a task, with your own examples."),
                        "license-type", GTK_LICENSE_MIT_X11,
                        "developers", developers,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  TemperApplication *self = TEMPER_APPLICATION (user_data);
  GtkWidget *preferences;

  preferences = temper_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (self)),
                                               self->settings);
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
shortcuts_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/io/github/temper/Temper/temper-shortcuts-window.ui");
  GtkWindow *window = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));

  gtk_window_set_transient_for (window, gtk_application_get_active_window (app));
  gtk_window_present (window);
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_action },
  { .name = "about", .activate = about_action },
  { .name = "preferences", .activate = preferences_action },
  { .name = "shortcuts", .activate = shortcuts_action },
};

static void
temper_application_startup (GApplication *application)
{
  TemperApplication *self = TEMPER_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *shortcuts_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (temper_application_parent_class)->startup (application);

  temper_paths_add_icon_path (gdk_display_get_default ());

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.shortcuts", shortcuts_accels);
}

static void
temper_application_activate (GApplication *application)
{
  TemperApplication *self = TEMPER_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (temper_window_new (GTK_APPLICATION (self), self->settings));
  gtk_window_present (window);
}

/* "Open with Temper" on a dataset or a .gguf, or `temper FILE…`: each file
 * on its own page; the last one stays in view. */
static void
temper_application_open (GApplication  *application,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  TemperApplication *self = TEMPER_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (temper_window_new (GTK_APPLICATION (self), self->settings));
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);

      if (path != NULL)
        temper_window_open_file (TEMPER_WINDOW (window), path);
      else
        {
          g_autofree char *uri = g_file_get_uri (files[i]);

          g_message ("Temper opens files on this computer only, not %s", uri);
        }
    }
  gtk_window_present (window);
}

static void
temper_application_finalize (GObject *object)
{
  TemperApplication *self = TEMPER_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (temper_application_parent_class)->finalize (object);
}

static void
temper_application_class_init (TemperApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = temper_application_finalize;
  app_class->startup = temper_application_startup;
  app_class->activate = temper_application_activate;
  app_class->open = temper_application_open;
}

static void
temper_application_init (TemperApplication *self)
{
}

TemperApplication *
temper_application_new (TemperSettings *settings)
{
  TemperApplication *self;

  g_return_val_if_fail (TEMPER_IS_SETTINGS (settings), NULL);

  /* The Devel build has its own app id but shares the resources. */
  self = g_object_new (TEMPER_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/temper/Temper",
                       NULL);
  self->settings = g_object_ref (settings);
  return self;
}

TemperSettings *
temper_application_get_settings (TemperApplication *self)
{
  g_return_val_if_fail (TEMPER_IS_APPLICATION (self), NULL);
  return self->settings;
}
