/* SPDX-License-Identifier: MIT */
/* What the validators cannot know: the desktop entry, the AppStream
 * metainfo, the icons and the build agree with one another. */
#include "config.h"

#include <string.h>

#include <glib.h>

static char *
build_path (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_BUILD_DIR"), "data", name, NULL);
}

static void
test_desktop_entry (void)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strconcat (APP_ID, ".desktop", NULL);
  g_autofree char *path = build_path (name);
  g_autofree char *icon = NULL;
  g_autofree char *exec = NULL;
  g_auto(GStrv) categories = NULL;
  g_auto(GStrv) mime_types = NULL;
  g_autofree char *mime_package = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data",
                                                    "io.github.temper.Temper.mime.xml", NULL);
  g_autofree char *mime_text = NULL;

  g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  icon = g_key_file_get_string (key_file, "Desktop Entry", "Icon", &error);
  g_assert_no_error (error);
  exec = g_key_file_get_string (key_file, "Desktop Entry", "Exec", &error);
  g_assert_no_error (error);
  categories = g_key_file_get_string_list (key_file, "Desktop Entry", "Categories", NULL, &error);
  g_assert_no_error (error);

  /* The icon is installed under the id of this build, .Devel included. */
  g_assert_cmpstr (icon, ==, APP_ID);
  /* The same binary the Flatpak manifest and the metainfo name, given the
   * files of "Open with Temper". */
  g_assert_cmpstr (exec, ==, "temper %F");
  g_assert_true (g_strv_contains ((const char *const *) categories, "ArtificialIntelligence"));

  /* Datasets (JSON, JSON Lines, CSV/TSV tables, Markdown for continued
   * pre-training) and GGUF models; the types shared-mime-info 2.2 lacks
   * are declared by Temper's own MIME package. */
  mime_types = g_key_file_get_string_list (key_file, "Desktop Entry", "MimeType", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (mime_package, &mime_text, NULL, NULL));
  for (const char *const *type = (const char *const[]) { "application/json", "application/jsonl",
                                                         "application/x-ndjson", "text/csv",
                                                         "text/tab-separated-values", "text/markdown",
                                                         "application/x-gguf", NULL };
       *type != NULL; type++)
    g_assert_true (g_strv_contains ((const char *const *) mime_types, *type));
  g_assert_nonnull (strstr (mime_text, "<mime-type type=\"application/x-gguf\">"));
  g_assert_nonnull (strstr (mime_text, "<mime-type type=\"application/jsonl\">"));
  g_assert_nonnull (strstr (mime_text, "<alias type=\"application/x-ndjson\"/>"));
}

typedef struct {
  GString   *text;          /* text of the element being read */
  char      *id;
  char      *launchable;
  GPtrArray *binaries;
  GPtrArray *release_versions;   /* in document order: newest first */
  GPtrArray *release_dates;
  gboolean   has_content_rating;
  gboolean   has_description;
} Metainfo;

static void
metainfo_start (GMarkupParseContext *context, const char *element,
                const char **names, const char **values,
                gpointer user_data, GError **error)
{
  Metainfo *info = user_data;

  g_string_truncate (info->text, 0);
  if (strcmp (element, "release") == 0)
    {
      for (guint i = 0; names[i] != NULL; i++)
        {
          if (strcmp (names[i], "version") == 0)
            g_ptr_array_add (info->release_versions, g_strdup (values[i]));
          else if (strcmp (names[i], "date") == 0)
            g_ptr_array_add (info->release_dates, g_strdup (values[i]));
        }
    }
  else if (strcmp (element, "content_rating") == 0)
    info->has_content_rating = TRUE;
  else if (strcmp (element, "description") == 0)
    info->has_description = TRUE;
}

static void
metainfo_end (GMarkupParseContext *context, const char *element,
              gpointer user_data, GError **error)
{
  Metainfo *info = user_data;
  const GSList *stack = g_markup_parse_context_get_element_stack (context);
  const char *parent = stack->next != NULL ? stack->next->data : "";

  if (strcmp (element, "id") == 0 && strcmp (parent, "component") == 0)
    info->id = g_strdup (info->text->str);
  else if (strcmp (element, "launchable") == 0)
    info->launchable = g_strdup (info->text->str);
  else if (strcmp (element, "binary") == 0 && strcmp (parent, "provides") == 0)
    g_ptr_array_add (info->binaries, g_strdup (info->text->str));
}

static void
metainfo_text (GMarkupParseContext *context, const char *text, gsize len,
               gpointer user_data, GError **error)
{
  Metainfo *info = user_data;

  g_string_append_len (info->text, text, (gssize) len);
}

static gboolean
ptr_array_has_string (GPtrArray *array, const char *value)
{
  for (guint i = 0; i < array->len; i++)
    if (g_strcmp0 (array->pdata[i], value) == 0)
      return TRUE;
  return FALSE;
}

static void
test_metainfo (void)
{
  static const GMarkupParser parser = { metainfo_start, metainfo_end, metainfo_text, NULL, NULL };
  g_autofree char *name = g_strconcat (APP_ID, ".metainfo.xml", NULL);
  g_autofree char *path = build_path (name);
  g_autofree char *desktop_id = g_strconcat (APP_ID, ".desktop", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  Metainfo info = { 0 };

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  info.text = g_string_new (NULL);
  info.binaries = g_ptr_array_new_with_free_func (g_free);
  info.release_versions = g_ptr_array_new_with_free_func (g_free);
  info.release_dates = g_ptr_array_new_with_free_func (g_free);
  context = g_markup_parse_context_new (&parser, 0, &info, NULL);
  g_markup_parse_context_parse (context, contents, -1, &error);
  g_assert_no_error (error);
  g_markup_parse_context_end_parse (context, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (info.id, ==, APP_ID);
  g_assert_cmpstr (info.launchable, ==, desktop_id);
  g_assert_true (ptr_array_has_string (info.binaries, "temper"));
  g_assert_true (info.has_content_rating);
  g_assert_true (info.has_description);

  /* A release that forgot its metainfo entry would reach software centres
   * with the notes of the previous one. */
  g_assert_cmpuint (info.release_versions->len, >=, 1);
  g_assert_cmpstr (info.release_versions->pdata[0], ==, PACKAGE_VERSION);
  g_assert_cmpuint (info.release_dates->len, ==, info.release_versions->len);
  for (guint i = 0; i < info.release_dates->len; i++)
    {
      g_autoptr(GDateTime) date = NULL;
      g_autofree char *midnight = g_strconcat (info.release_dates->pdata[i], "T00:00:00Z", NULL);

      date = g_date_time_new_from_iso8601 (midnight, NULL);
      g_assert_nonnull (date);
    }

  g_string_free (info.text, TRUE);
  g_free (info.id);
  g_free (info.launchable);
  g_ptr_array_unref (info.binaries);
  g_ptr_array_unref (info.release_versions);
  g_ptr_array_unref (info.release_dates);
}

typedef struct {
  const char *file;
  double      size;        /* width and height in pixels */
} Icon;

static const Icon icons[] = {
  { "scalable/apps/io.github.temper.Temper.svg", 128 },
  { "scalable/apps/io.github.temper.Temper.Devel.svg", 128 },
  { "symbolic/apps/io.github.temper.Temper-symbolic.svg", 16 },
};

static void
svg_start (GMarkupParseContext *context, const char *element,
           const char **names, const char **values,
           gpointer user_data, GError **error)
{
  double *size = user_data;

  if (strcmp (element, "svg") != 0)
    return;
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], "width") == 0)
      size[0] = g_ascii_strtod (values[i], NULL);
    else if (strcmp (names[i], "height") == 0)
      size[1] = g_ascii_strtod (values[i], NULL);
}

static void
test_icon (gconstpointer data)
{
  static const GMarkupParser parser = { svg_start, NULL, NULL, NULL, NULL };
  const Icon *icon = data;
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "icons",
                                            "hicolor", icon->file, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  double size[2] = { 0, 0 };

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  context = g_markup_parse_context_new (&parser, 0, size, NULL);
  g_markup_parse_context_parse (context, contents, -1, &error);
  g_assert_no_error (error);
  g_markup_parse_context_end_parse (context, &error);
  g_assert_no_error (error);
  /* GNOME's icon grid: 128 px app icons, 16 px symbolic ones. */
  g_assert_cmpfloat (size[0], ==, icon->size);
  g_assert_cmpfloat (size[1], ==, icon->size);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("TEMPER_SOURCE_DIR"));
  g_assert_nonnull (g_getenv ("TEMPER_BUILD_DIR"));

  g_test_add_func ("/data/desktop-entry", test_desktop_entry);
  g_test_add_func ("/data/metainfo", test_metainfo);
  for (gsize i = 0; i < G_N_ELEMENTS (icons); i++)
    {
      g_autofree char *test_path = g_strdup_printf ("/data/icon/%s", strrchr (icons[i].file, '/') + 1);

      g_test_add_data_func (test_path, &icons[i], test_icon);
    }
  return g_test_run ();
}
