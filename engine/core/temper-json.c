/* SPDX-License-Identifier: MIT */
/* temper-json.c — the one entry point for reading JSON (see temper/json.h). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/json.h"

gboolean
temper_json_depth_within (const char *data, gsize length, guint max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;        /* whatever is escaped cannot end the string */
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > max_depth)
            return FALSE;
          break;
        case ']':
        case '}':
          /* Unbalanced closers are json-glib's to report; never wrap. */
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return TRUE;
}

/* JSON may spell a lone UTF-16 surrogate (“\udc00”); json-glib turns it
 * into bytes that are not UTF-8, and a name or message quoting such a string
 * would be neither.  Every string and member name is made valid here, the
 * damaged character read as U+FFFD, as a text editor shows it.  The nesting
 * is bounded by TEMPER_JSON_MAX_DEPTH, so the recursion is too. */
static void
make_strings_valid (JsonNode *node)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0, n = json_array_get_length (array); i < n; i++)
        make_strings_valid (json_array_get_element (array, i));
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) names = json_object_get_members (object);
      gboolean names_valid = TRUE;

      for (GList *l = names; l != NULL; l = l->next)
        {
          make_strings_valid (json_object_get_member (object, l->data));
          names_valid = names_valid && g_utf8_validate (l->data, -1, NULL);
        }
      if (!names_valid)
        {
          /* A member cannot be renamed in place: the object is rebuilt in
           * its order, a repaired name that meets an earlier one replacing
           * it as a repeated name does when parsed. */
          g_autoptr(JsonObject) rebuilt = json_object_new ();

          for (GList *l = names; l != NULL; l = l->next)
            {
              g_autofree char *name = g_utf8_make_valid (l->data, -1);

              json_object_set_member (rebuilt, name,
                                      json_node_copy (json_object_get_member (object, l->data)));
            }
          json_node_set_object (node, rebuilt);
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);

      if (!g_utf8_validate (text, -1, NULL))
        {
          g_autofree char *valid = g_utf8_make_valid (text, -1);

          json_node_set_string (node, valid);
        }
    }
}

/* Whether parsing @data may have left a string that is not UTF-8: only a
 * document that escapes a surrogate (“\ud800” to “\udfff”) or is not
 * UTF-8 itself can (json-glib 1.6 refuses the latter, but that is its
 * choice to make).  Almost no document does either, and a tokenizer.json
 * holds hundreds of thousands of strings, so the walk above is saved for
 * those that may need it; a false alarm (an escaped backslash before “ud”)
 * only costs the walk. */
static gboolean
may_hold_damaged_strings (const char *data, gsize size)
{
  const char *end = data + size;

  if (!g_utf8_validate (data, (gssize) size, NULL))
    return TRUE;
  for (const char *p = data; (p = memchr (p, '\\', (gsize) (end - p))) != NULL && end - p >= 3; p++)
    if (p[1] == 'u' && (p[2] == 'd' || p[2] == 'D'))
      return TRUE;
  return FALSE;
}

JsonNode *
temper_json_parse_data (const char *data, gssize length, const char *what, gsize max_size,
                        GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  gsize size;

  g_return_val_if_fail (data != NULL && what != NULL, NULL);

  size = length < 0 ? strlen (data) : (gsize) length;
  if (max_size > 0 && size > max_size)
    {
      g_autofree char *have = g_format_size (size);
      g_autofree char *limit = g_format_size (max_size);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s is %s, more than the %s such a document can be; it is not a file Temper can use."),
                   what, have, limit);
      return NULL;
    }
  if (!temper_json_depth_within (data, size, TEMPER_JSON_MAX_DEPTH))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s is nested too deeply (more than %d levels of [ and {); "
                     "it is not valid data for Temper."), what, TEMPER_JSON_MAX_DEPTH);
      return NULL;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize) size, error))
    {
      /* json-glib quotes the text around the fault, which may end inside a
       * multi-byte character of the file: every message Temper shows is
       * UTF-8, so the quote is made valid here, for every reader at once. */
      if (error != NULL && *error != NULL && !g_utf8_validate ((*error)->message, -1, NULL))
        {
          char *valid = g_utf8_make_valid ((*error)->message, -1);

          g_free ((*error)->message);
          (*error)->message = valid;
        }
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
                   _("%s is empty."), what);
      return NULL;
    }
  root = json_parser_steal_root (parser);
  if (may_hold_damaged_strings (data, size))
    make_strings_valid (root);
  return root;
}

JsonNode *
temper_json_parse_file (const char *path, gsize max_size, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *what = NULL;
  g_autofree char *contents = NULL;
  gsize size = 0, done = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  name = g_path_get_basename (path);
  what = g_strdup_printf ("“%s”", name);
  fd = temper_input_open_file (path, _("The file"), max_size, &size, error);
  if (fd < 0)
    return NULL;
  contents = g_malloc (size + 1);
  while (done < size)
    {
      ssize_t n = read (fd, contents + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       _("Could not read “%s”: %s"), path, g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;          /* shrank while being read: parse what is there */
      done += (gsize) n;
    }
  close (fd);
  contents[done] = '\0';
  return temper_json_parse_data (contents, (gssize) done, what, max_size, error);
}

char *
temper_json_to_text (JsonNode *root, gboolean pretty, gsize *length)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  GString *out;
  gsize len = 0;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  text = json_generator_to_data (gen, &len);
  out = g_string_sized_new (len + 16);
  /* Outside strings the generator writes no control byte but the newlines
   * of indentation, and inside strings it escapes newlines itself: any
   * other control byte is one it left raw inside a string. */
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (c < 0x20 && c != '\n')
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}
