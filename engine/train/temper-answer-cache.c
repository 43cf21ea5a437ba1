/* SPDX-License-Identifier: MIT */
/* temper-answer-cache.c — the base model's greedy answers, kept between runs
 * (see temper-answer-cache.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>

#include "temper/fs.h"
#include "temper/json.h"
#include "temper-answer-cache.h"

struct TemperAnswerCache {
  char       *key;
  char       *path;
  GHashTable *answers;   /* conversation digest → answer */
  gboolean    changed;
  guint       hits;
};

void
temper_answer_cache_free (TemperAnswerCache *cache)
{
  if (cache == NULL)
    return;
  g_free (cache->key);
  g_free (cache->path);
  g_clear_pointer (&cache->answers, g_hash_table_unref);
  g_free (cache);
}

static char *
file_identity (const char *path, const struct stat *st)
{
  return g_strdup_printf ("%s|%" G_GINT64_FORMAT " bytes|mtime %" G_GINT64_FORMAT ".%09ld|inode %" G_GUINT64_FORMAT,
                          path, (gint64) st->st_size, (gint64) st->st_mtim.tv_sec,
                          (long) st->st_mtim.tv_nsec, (guint64) st->st_ino);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* What makes a model this one: where its file is, its size, when it was
 * last written and its inode (a copy put in its place has another).  A
 * folder (a Hugging Face model) is every file in it, in name order. */
static char *
model_identity (const char *model_path)
{
  g_autofree char *absolute = g_canonicalize_filename (model_path, NULL);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GString) identity = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  struct stat st;

  if (stat (absolute, &st) != 0)
    return NULL;
  if (!S_ISDIR (st.st_mode))
    return file_identity (absolute, &st);
  if ((dir = g_dir_open (absolute, 0, NULL)) == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  identity = g_string_new (absolute);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (absolute, names->pdata[i], NULL);
      g_autofree char *one = NULL;

      if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      one = file_identity (names->pdata[i], &st);
      g_string_append_printf (identity, "|%s", one);
    }
  return g_string_free (g_steal_pointer (&identity), FALSE);
}

static void
read_file (TemperAnswerCache *cache)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj, *answers;
  GList *members;

  if (!g_file_test (cache->path, G_FILE_TEST_IS_REGULAR))
    return;
  root = temper_json_parse_file (cache->path, TEMPER_JSON_MAX_SETTINGS_SIZE, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  obj = json_node_get_object (root);
  /* Two keys with the same digest: the file is someone else's. */
  if (g_strcmp0 (json_object_get_string_member_with_default (obj, "key", NULL), cache->key) != 0
      || !json_object_has_member (obj, "answers")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "answers")))
    return;
  answers = json_object_get_object_member (obj, "answers");
  members = json_object_get_members (answers);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (answers, l->data);

      if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
        g_hash_table_insert (cache->answers, g_strdup (l->data), g_strdup (json_node_get_string (value)));
    }
  g_list_free (members);
}

/* The program answering: a rebuilt or updated Temper may round its
 * generation kernels differently, and a greedy answer can turn on one
 * rounding (a near tie between two tokens), so answers are kept per build. */
static char *
program_identity (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  struct stat st;

  if (exe == NULL || stat (exe, &st) != 0)
    return g_strdup ("unknown program");
  return g_strdup_printf ("%s|%" G_GINT64_FORMAT " bytes|mtime %" G_GINT64_FORMAT ".%09ld", exe,
                          (gint64) st.st_size, (gint64) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec);
}

TemperAnswerCache *
temper_answer_cache_open (const char *model_path, const char *settings)
{
  g_autofree char *program = NULL;
  g_autofree char *identity = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *name = NULL;
  TemperAnswerCache *cache;

  g_return_val_if_fail (model_path != NULL && settings != NULL, NULL);

  if (g_getenv ("TEMPER_NO_ANSWER_CACHE") != NULL || (identity = model_identity (model_path)) == NULL)
    return NULL;
  cache = g_new0 (TemperAnswerCache, 1);
  program = program_identity ();
  cache->key = g_strdup_printf ("%s|%s|Temper %s|%s", identity, settings, PACKAGE_VERSION, program);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, cache->key, -1);
  name = g_strdup_printf ("%s.json", digest);
  cache->path = g_build_filename (g_get_user_cache_dir (), "temper", "base-answers", name, NULL);
  cache->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  read_file (cache);
  return cache;
}

/* Every role and text of the conversation, with separators no text holds
 * (a text cannot end where another begins). */
static char *
conversation_digest (const TemperChatMessage *messages, gsize n_messages)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (gsize i = 0; i < n_messages; i++)
    {
      char role = (char) ('0' + (int) messages[i].role);
      const char *content = messages[i].content != NULL ? messages[i].content : "";

      g_checksum_update (sum, (const guchar *) &role, 1);
      g_checksum_update (sum, (const guchar *) "\x1f", 1);
      g_checksum_update (sum, (const guchar *) content, (gssize) strlen (content));
      g_checksum_update (sum, (const guchar *) "\x1e", 1);
    }
  return g_strdup (g_checksum_get_string (sum));
}

const char *
temper_answer_cache_lookup (TemperAnswerCache *cache, const TemperChatMessage *messages, gsize n_messages)
{
  g_autofree char *digest = NULL;
  const char *answer;

  if (cache == NULL)
    return NULL;
  digest = conversation_digest (messages, n_messages);
  answer = g_hash_table_lookup (cache->answers, digest);
  cache->hits += answer != NULL;
  return answer;
}

void
temper_answer_cache_store (TemperAnswerCache *cache, const TemperChatMessage *messages, gsize n_messages,
                           const char *answer)
{
  if (cache == NULL || answer == NULL)
    return;
  g_hash_table_replace (cache->answers, conversation_digest (messages, n_messages), g_strdup (answer));
  cache->changed = TRUE;
}

void
temper_answer_cache_save (TemperAnswerCache *cache)
{
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GList) keys = NULL;

  if (cache == NULL || !cache->changed)
    return;
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, cache->key);
  json_builder_set_member_name (b, "answers");
  json_builder_begin_object (b);
  keys = g_list_sort (g_hash_table_get_keys (cache->answers), (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_string_value (b, g_hash_table_lookup (cache->answers, l->data));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = temper_json_to_text (root, TRUE, NULL);
  dir = g_path_get_dirname (cache->path);
  if (g_mkdir_with_parents (dir, 0700) != 0 || !temper_fs_write_file (cache->path, text, -1, &error))
    {
      g_info ("The base model's answers could not be kept in %s: %s", cache->path,
              error != NULL ? error->message : g_strerror (errno));
      return;
    }
  cache->changed = FALSE;
}

guint
temper_answer_cache_get_hits (const TemperAnswerCache *cache)
{
  return cache != NULL ? cache->hits : 0;
}

const char *
temper_answer_cache_get_path (const TemperAnswerCache *cache)
{
  return cache != NULL ? cache->path : NULL;
}
