/* SPDX-License-Identifier: MIT */
/* temper-show-in-files.c — asks the file manager, over D-Bus, to show a
 * file; opens its folder instead where no file manager answers.
 * (GtkFileLauncher does this from GTK 4.10; Temper builds on 4.8.) */
#include "config.h"

#include "temper-show-in-files.h"

typedef struct {
  char     *uri;          /* the file itself, selected in the file manager */
  char     *folder_uri;   /* its folder, for a plain "open" where there is none */
  GWeakRef  widget;
} ShowRequest;

static void
show_request_free (ShowRequest *request)
{
  g_free (request->uri);
  g_free (request->folder_uri);
  g_weak_ref_clear (&request->widget);
  g_free (request);
}

/* Where no file manager answers on the bus, open the folder with whatever
 * the desktop uses for folders. */
static void
open_folder_instead (ShowRequest *request)
{
  g_autoptr(GtkWidget) widget = g_weak_ref_get (&request->widget);
  GtkRoot *root = widget != NULL ? gtk_widget_get_root (widget) : NULL;

  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, request->folder_uri, GDK_CURRENT_TIME);
}

static void
show_items_done_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ShowRequest *request = user_data;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);

  if (reply == NULL)
    open_folder_instead (request);
  show_request_free (request);
}

static void
session_bus_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ShowRequest *request = user_data;
  g_autoptr(GDBusConnection) bus = g_bus_get_finish (result, NULL);
  const char *uris[] = { request->uri, NULL };

  if (bus == NULL)
    {
      open_folder_instead (request);
      show_request_free (request);
      return;
    }
  /* The freedesktop file manager interface opens the folder with the
   * export selected (Nautilus, Dolphin, Nemo and others implement it). */
  g_dbus_connection_call (bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1", "ShowItems",
                          g_variant_new ("(^ass)", uris, ""), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, show_items_done_cb, request);
}

void
temper_show_in_files (GtkWidget  *widget,
                      const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  ShowRequest *request = g_new0 (ShowRequest, 1);

  request->uri = g_file_get_uri (file);
  request->folder_uri = g_file_get_uri (parent != NULL ? parent : file);
  g_weak_ref_init (&request->widget, widget);
  g_bus_get (G_BUS_TYPE_SESSION, NULL, session_bus_cb, request);
}
