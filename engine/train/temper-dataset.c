/* SPDX-License-Identifier: MIT */
/* temper-dataset.c — reading a dataset file record by record and keeping
 * the good records.
 *
 * The file is memory-mapped and cut into records without parsing it whole:
 * JSONL at line breaks, a JSON array at the commas between its items (found
 * by a small scanner that only tracks strings and brackets).  Each record is
 * then checked and parsed on its own, so one broken record costs only
 * itself, and memory holds the kept text rather than a JSON tree of the
 * whole file. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <unistd.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/json.h"
#include "temper-dataset-private.h"

#define DEFAULT_MAX_RECORD_BYTES (8u << 20)
#define DEFAULT_MAX_LISTED 1000
#define PROGRESS_EVERY 4096

void
temper_dataset_options_init (TemperDatasetOptions *options)
{
  memset (options, 0, sizeof *options);
  options->format = TEMPER_DATASET_FORMAT_AUTO;
  options->max_record_bytes = DEFAULT_MAX_RECORD_BYTES;
  options->max_listed = DEFAULT_MAX_LISTED;
  options->chunk_overlap = -1;
}

typedef TemperDatasetLoader Loader;

char *
temper_dataset_describe_place (guint64 line, gint64 item)
{
  if (item < 0)
    return g_strdup_printf (_("line %" PRIu64), line);
  /* People count list items from one. */
  return g_strdup_printf (_("item %" PRId64 " (line %" PRIu64 ")"), item + 1, line);
}

void
temper_dataset_loader_add_problem (Loader *l, TemperDatasetProblemKind kind, guint64 line, gint64 item,
                                   gint64 duplicate_of, char *message)
{
  temper_dataset_t *ds = l->ds;

  ds->report.n_dropped++;
  ds->report.n_problems++;
  if (ds->problems->len < ds->options.max_listed)
    {
      TemperDatasetProblem p = { kind, line, item, duplicate_of, message };
      g_array_append_val (ds->problems, p);
    }
  else
    g_free (message);
}

static guint64
content_hash (const GArray *messages)
{
  guint64 h = 14695981039346656037ull;

  for (guint i = 0; i < messages->len; i++)
    {
      const TemperChatMessage *m = &g_array_index (messages, TemperChatMessage, i);
      h = (h ^ (guint64) (m->role + 1)) * 1099511628211ull;
      for (const guchar *p = (const guchar *) m->content; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
      h = (h ^ 0xff) * 1099511628211ull;
    }
  return h;
}

static gboolean
same_messages (const temper_dataset_t *ds, gsize record, const GArray *messages)
{
  const TemperDatasetRecord *r = &g_array_index (ds->records, TemperDatasetRecord, record);
  guint64 first = g_array_index (ds->first_message, guint64, record);

  if (r->n_messages != messages->len)
    return FALSE;
  for (guint i = 0; i < messages->len; i++)
    {
      const TemperChatMessage *a = &g_array_index (ds->messages, TemperChatMessage, first + i);
      const TemperChatMessage *b = &g_array_index (messages, TemperChatMessage, i);
      if (a->role != b->role || strcmp (a->content, b->content) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Tokens of a plain-text record: the whole text is learned, then EOS. */
static void
tokenize_text (const temper_tokenizer_t *tok, const char *text, TemperChatTokens *out)
{
  g_autoptr(GArray) ids = temper_tokenizer_encode (tok, text, -1, FALSE);
  gint32 bos = temper_tokenizer_get_bos (tok);
  gint32 eos = temper_tokenizer_get_eos (tok);
  guint8 zero = 0;
  guint first_learned;

  out->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint32), ids->len + 2);
  out->mask = g_array_sized_new (FALSE, FALSE, sizeof (guint8), ids->len + 2);
  if (bos >= 0 && temper_tokenizer_adds_bos (tok))
    {
      g_array_append_val (out->ids, bos);
      g_array_append_val (out->mask, zero);
    }
  first_learned = out->ids->len;
  g_array_append_vals (out->ids, ids->data, ids->len);
  if (eos >= 0)
    g_array_append_val (out->ids, eos);
  g_array_set_size (out->mask, out->ids->len);
  memset (out->mask->data + first_learned, 1, out->ids->len - first_learned);
}

/* Renders the scratch record to tokens, cut at max_length.  FALSE when the
 * answer lies wholly beyond max_length, or with @error set when the
 * template cannot tokenize at all. */
static gboolean
tokenize_record (Loader *l, TemperChatTokens *tokens, guint32 *full_length,
                 GError **error)
{
  temper_dataset_t *ds = l->ds;
  const TemperChatMessage *m = (const TemperChatMessage *) l->scratch->data;
  gsize n = l->scratch->len;
  gboolean any = FALSE;

  if (l->format == TEMPER_DATASET_FORMAT_TEXT)
    tokenize_text (l->tokenizer, m[0].content, tokens);
  else if (!temper_chat_template_tokenize (ds->options.chat_template, m, n, FALSE, tokens, error))
    return FALSE;

  /* The first token is never a target: nothing before it predicts it. */
  if (ds->options.train_on_prompt && tokens->mask->len > 1)
    memset (tokens->mask->data + 1, 1, tokens->mask->len - 1);
  if (tokens->mask->len > 0)
    tokens->mask->data[0] = 0;

  *full_length = tokens->ids->len;
  if (ds->options.max_length > 0 && tokens->ids->len > (guint) ds->options.max_length)
    {
      g_array_set_size (tokens->ids, ds->options.max_length);
      g_array_set_size (tokens->mask, ds->options.max_length);
    }
  for (guint i = 0; i < tokens->mask->len && !any; i++)
    any = tokens->mask->data[i] != 0;
  return any;
}

static void
keep_record (Loader *l, guint64 line, gint64 item, guint64 hash,
             const TemperChatTokens *tokens, guint32 full_length)
{
  temper_dataset_t *ds = l->ds;
  TemperDatasetRecord r = { 0 };
  guint64 first = ds->messages->len;
  gsize index = ds->records->len;

  for (guint i = 0; i < l->scratch->len; i++)
    {
      TemperChatMessage m = g_array_index (l->scratch, TemperChatMessage, i);
      m.content = g_string_chunk_insert (ds->strings, m.content);
      g_array_append_val (ds->messages, m);
    }
  r.line = line;
  r.item = item;
  r.n_messages = l->scratch->len;
  r.n_tokens = -1;
  if (tokens != NULL)
    {
      guint64 start = ds->token_ids->len;
      guint32 count = tokens->ids->len;

      r.n_tokens = full_length;
      r.truncated = full_length > count;
      if (r.truncated)
        ds->report.n_truncated++;
      g_array_append_vals (ds->token_ids, tokens->ids->data, count);
      g_array_append_vals (ds->token_mask, tokens->mask->data, count);
      g_array_append_val (ds->token_start, start);
      g_array_append_val (ds->token_count, count);
      g_array_append_val (ds->lengths, full_length);
    }
  g_array_append_val (ds->records, r);
  g_array_append_val (ds->first_message, first);
  if (!g_hash_table_contains (ds->seen, GSIZE_TO_POINTER ((gsize) hash)))
    g_hash_table_insert (ds->seen, GSIZE_TO_POINTER ((gsize) hash), GSIZE_TO_POINTER (index + 1));
  ds->report.n_valid++;
}

static gboolean
formats_agree (TemperDatasetFormat a, TemperDatasetFormat b)
{
  gboolean a_instr = a == TEMPER_DATASET_FORMAT_ALPACA || a == TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT;
  gboolean b_instr = b == TEMPER_DATASET_FORMAT_ALPACA || b == TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT;

  return a == b || (a_instr && b_instr);
}

/* json-glib says "<data>:1:5: Parse error: unexpected …"; keep where in the
 * record and what went wrong. */
static char *
json_error_text (const GError *error)
{
  const char *msg = error->message;
  const char *detail;
  unsigned line = 0, column = 0;

  if (g_str_has_prefix (msg, "<data>:"))
    msg += strlen ("<data>:");
  detail = strstr (msg, "error: ");
  if (sscanf (msg, "%u:%u:", &line, &column) == 2 && detail != NULL)
    {
      detail += strlen ("error: ");
      if (line <= 1)
        return g_strdup_printf (_("it is not valid JSON (at character %u: %s); check for missing "
                                "quotes, commas or brackets"), column, detail);
      return g_strdup_printf (_("it is not valid JSON (%u lines further down, at character %u: %s); "
                              "check for missing quotes, commas or brackets"), line - 1, column, detail);
    }
  return g_strdup_printf (_("it is not valid JSON (%s); check for missing quotes, commas or brackets"), msg);
}

static void
handle_record (Loader *l, const char *data, gsize len, guint64 line, gint64 item,
               GError **error)
{
  temper_dataset_t *ds = l->ds;
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) document = NULL;
  const char *bad = NULL;
  JsonNode *root;
  JsonObject *object;
  TemperDatasetFormat detected;
  TemperDatasetProblemKind kind;
  char *message = NULL;

  ds->report.n_records++;
  if (len > ds->options.max_record_bytes)
    {
      g_autofree char *size = g_format_size (len);
      g_autofree char *limit = g_format_size (ds->options.max_record_bytes);
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_TOO_LARGE, line, item, -1,
                   g_strdup_printf (_("the record is %s, more than the %s one record may have"), size, limit));
      return;
    }
  if (!g_utf8_validate_len (data, len, &bad))
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_INVALID_UTF8, line, item, -1,
                   g_strdup_printf (*bad == '\0'
                                      ? _("it has bytes that are not UTF-8 text (byte %zu of the record, a zero byte); save the file as UTF-8")
                                      : _("it has bytes that are not UTF-8 text (byte %zu of the record); save the file as UTF-8"),
                                    (gsize) (bad - data) + 1));
      return;
    }
  /* json-glib's words for an unclosed object are confusing; this case is
   * common (a record split over lines, a file cut short) and easy to name. */
  if (data[0] == '{' && data[len - 1] != '}')
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_NOT_JSON, line, item, -1,
                   g_strdup (_("it is not valid JSON: it starts with { but does not end with }, "
                             "so it is unfinished or split over several lines")));
      return;
    }
  document = temper_json_parse_data (data, (gssize) len, _("This record"), 0, &local);
  if (document == NULL)
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_NOT_JSON, line, item, -1,
                   local->domain == JSON_PARSER_ERROR ? json_error_text (local) : g_strdup (local->message));
      return;
    }
  root = document;
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_NOT_OBJECT, line, item, -1,
                   g_strdup (_("it is not an object {…} with named fields")));
      return;
    }
  object = json_node_get_object (root);

  detected = temper_dataset_detect_format (object);
  if (l->format == TEMPER_DATASET_FORMAT_AUTO)
    {
      if (detected == TEMPER_DATASET_FORMAT_AUTO)
        {
          temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_MISSING_FIELD, line, item, -1,
                       g_strdup (_("it has none of the fields Temper knows: “instruction” and “output”, "
                                 "“prompt” and “response”, “messages”, “conversations” or “text”")));
          return;
        }
      l->format = detected;
      l->format_line = line;
      l->format_item = item;
      ds->report.format = detected;
    }
  else if (!l->format_fixed && detected != TEMPER_DATASET_FORMAT_AUTO &&
           !formats_agree (detected, l->format))
    {
      g_autofree char *place = temper_dataset_describe_place (l->format_line, l->format_item);
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_OTHER_FORMAT, line, item, -1,
                   g_strdup_printf (_("it is in another format (%s) than the rest of the file (%s, from %s)"),
                                    temper_dataset_format_label (detected),
                                    temper_dataset_format_label (l->format), place));
      return;
    }
  else if (l->format == TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT &&
           detected == TEMPER_DATASET_FORMAT_ALPACA && !l->format_fixed)
    ds->report.format = l->format = TEMPER_DATASET_FORMAT_ALPACA;

  g_array_set_size (l->scratch, 0);
  g_ptr_array_set_size (l->owned, 0);
  if (!temper_dataset_parse_record (object, l->format, l->scratch, l->owned, &kind, &message))
    {
      temper_dataset_loader_add_problem (l, kind, line, item, -1, message);
      return;
    }
  temper_dataset_loader_accept (l, line, item, error);
}

void
temper_dataset_loader_accept (Loader *l, guint64 line, gint64 item, GError **error)
{
  temper_dataset_t *ds = l->ds;
  guint64 hash;
  gpointer found;
  TemperChatTokens tokens = { 0 };
  guint32 full_length = 0;
  gboolean has_tokens;

  hash = content_hash (l->scratch);
  found = g_hash_table_lookup (ds->seen, GSIZE_TO_POINTER ((gsize) hash));
  if (found != NULL && same_messages (ds, GPOINTER_TO_SIZE (found) - 1, l->scratch))
    {
      const TemperDatasetRecord *first =
        &g_array_index (ds->records, TemperDatasetRecord, GPOINTER_TO_SIZE (found) - 1);
      g_autofree char *place = temper_dataset_describe_place (first->line, first->item);
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_DUPLICATE, line, item, (gint64) first->line,
                   g_strdup_printf (_("it is the same as %s"), place));
      return;
    }

  has_tokens = ds->has_tokens;
  if (has_tokens && !tokenize_record (l, &tokens, &full_length, error))
    {
      temper_chat_tokens_clear (&tokens);
      if (error != NULL && *error != NULL)
        return;
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_NO_ANSWER_LEFT, line, item, -1,
                   g_strdup_printf (_("the answer starts after the first %d tokens (the length limit), "
                                    "so nothing would be learned; shorten the question or raise the limit"),
                                    ds->options.max_length));
      return;
    }
  keep_record (l, line, item, hash, has_tokens ? &tokens : NULL, full_length);
  temper_chat_tokens_clear (&tokens);
}

/* Called between records: progress and cancellation. */
gboolean
temper_dataset_loader_tick (Loader *l, const char *at, GError **error)
{
  if (++l->since_progress < PROGRESS_EVERY)
    return TRUE;
  l->since_progress = 0;
  if (l->ds->options.progress != NULL && l->size > 0)
    l->ds->options.progress ((double) (at - l->base) / l->size, l->ds->options.progress_data);
  if (g_cancellable_is_cancelled (l->ds->options.cancellable))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("Reading the dataset was cancelled."));
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_blank_span (const char *p, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (p[i]))
      return FALSE;
  return TRUE;
}

static gboolean
read_jsonl (Loader *l, const char *data, gsize size, GError **error)
{
  const char *p = data;
  const char *end = data + size;
  guint64 line = 1;

  l->ds->report.jsonl = TRUE;
  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *stop = eol != NULL ? eol : end;
      gsize len = stop - p;

      if (len > 0 && p[len - 1] == '\r')
        len--;
      if (!is_blank_span (p, len))
        {
          handle_record (l, p, len, line, -1, error);
          if (error != NULL && *error != NULL)
            return FALSE;
        }
      if (!temper_dataset_loader_tick (l, stop, error))
        return FALSE;
      line++;
      p = stop + 1;
    }
  return TRUE;
}

/* Finds the end of the JSON value starting at *pos: the first ',' or ']' at
 * bracket depth zero outside strings.  Advances *pos and *line.  FALSE when
 * the file ends first. */
static gboolean
scan_value (const char *data, gsize size, gsize *pos, guint64 *line)
{
  int depth = 0;
  gboolean in_string = FALSE;
  gsize i = *pos;

  for (; i < size; i++)
    {
      char c = data[i];

      if (c == '\n')
        (*line)++;
      if (in_string)
        {
          if (c == '\\')
            {
              if (i + 1 < size && data[i + 1] == '\n')
                (*line)++;
              i++;
            }
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
      else if (depth == 0 && (c == ',' || c == ']'))
        break;
    }
  *pos = i;
  return i < size;
}

static gboolean
read_array (Loader *l, const char *data, gsize size, gsize pos, guint64 line, GError **error)
{
  gint64 item = 0;

  pos++;   /* the '[' */
  for (;;)
    {
      gsize start, stop;
      guint64 start_line;
      gboolean complete;

      while (pos < size && g_ascii_isspace (data[pos]))
        if (data[pos++] == '\n')
          line++;
      if (pos >= size || data[pos] == ']')
        return TRUE;

      start = pos;
      start_line = line;
      complete = scan_value (data, size, &pos, &line);
      stop = pos;
      while (stop > start && g_ascii_isspace (data[stop - 1]))
        stop--;
      if (!complete)
        {
          l->ds->report.n_records++;
          temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_NOT_JSON, start_line, item, -1,
                       g_strdup (_("the file ends in the middle of this item: it may have been cut off")));
          return TRUE;
        }
      handle_record (l, data + start, stop - start, start_line, item, error);
      if (error != NULL && *error != NULL)
        return FALSE;
      item++;
      if (!temper_dataset_loader_tick (l, data + pos, error))
        return FALSE;
      if (data[pos] == ']')
        return TRUE;
      pos++;   /* the ',' */
    }
}

static void
summarise_failure (temper_dataset_t *ds, GError **error)
{
  GString *msg = g_string_new (NULL);
  const char *name = ds->path;

  if (ds->report.n_records == 0)
    g_string_append_printf (msg, _("“%s” has no records. A dataset is a JSON list [ {…}, {…} ] "
                            "or one JSON object per line."), name);
  else
    {
      g_string_append_printf (msg, _("None of the %" PRIu64 " records in “%s” can be used for "
                              "training:"), ds->report.n_records, name);
      for (guint i = 0; i < ds->problems->len && i < 5; i++)
        {
          const TemperDatasetProblem *p = &g_array_index (ds->problems, TemperDatasetProblem, i);
          g_autofree char *place = temper_dataset_describe_place (p->line, p->item);
          g_string_append (msg, "\n  ");
          /* Translators: where in the file (“line 3”), then what is wrong there. */
          g_string_append_printf (msg, _("%s: %s"), place, p->message);
        }
      if (ds->report.n_problems > 5)
        {
          g_string_append (msg, "\n  ");
          g_string_append_printf (msg, _("… and %" PRIu64 " more."), ds->report.n_problems - 5);
        }
    }
  g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE, msg->str);
  g_string_free (msg, TRUE);
}

static void
clear_problem (gpointer data)
{
  TemperDatasetProblem *p = data;
  g_free (p->message);
}

static temper_dataset_t *
dataset_new (const char *path, const TemperDatasetOptions *options)
{
  temper_dataset_t *ds = g_new0 (temper_dataset_t, 1);

  ds->path = g_strdup (path);
  if (options != NULL)
    ds->options = *options;
  else
    temper_dataset_options_init (&ds->options);
  if (ds->options.max_record_bytes == 0)
    ds->options.max_record_bytes = DEFAULT_MAX_RECORD_BYTES;
  if (ds->options.max_listed == 0)
    ds->options.max_listed = DEFAULT_MAX_LISTED;
  if (ds->options.cancellable != NULL)
    g_object_ref (ds->options.cancellable);
  ds->problems = g_array_new (FALSE, FALSE, sizeof (TemperDatasetProblem));
  g_array_set_clear_func (ds->problems, clear_problem);
  ds->strings = g_string_chunk_new (64 * 1024);
  ds->messages = g_array_new (FALSE, FALSE, sizeof (TemperChatMessage));
  ds->records = g_array_new (FALSE, FALSE, sizeof (TemperDatasetRecord));
  ds->first_message = g_array_new (FALSE, FALSE, sizeof (guint64));
  ds->token_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  ds->token_mask = g_array_new (FALSE, FALSE, sizeof (guint8));
  ds->token_start = g_array_new (FALSE, FALSE, sizeof (guint64));
  ds->token_count = g_array_new (FALSE, FALSE, sizeof (guint32));
  ds->lengths = g_array_new (FALSE, FALSE, sizeof (guint32));
  ds->seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  ds->has_tokens = ds->options.chat_template != NULL &&
                   temper_chat_template_get_tokenizer (ds->options.chat_template) != NULL;
  ds->report.format = ds->options.format;
  ds->report.question_column = ds->report.answer_column = ds->report.system_column = -1;
  return ds;
}

static gboolean
read_mapped (Loader *l, const char *data, gsize size, GError **error)
{
  const char *name = l->ds->path;
  gsize pos = 0;
  guint64 line = 1;

  /* An empty file maps to no memory at all: give the readers an empty text. */
  if (data == NULL)
    data = "";
  if (size >= 2 && (((guchar) data[0] == 0xff && (guchar) data[1] == 0xfe) ||
                    ((guchar) data[0] == 0xfe && (guchar) data[1] == 0xff)))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is saved as UTF-16 text. Save it as UTF-8 (most editors offer this "
                   "under “Save As…”) and open it again."), name);
      return FALSE;
    }
  /* A UTF-8 byte order mark carries no meaning; editors on Windows add one. */
  if (size >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  l->base = data;
  l->size = size;

  switch (l->ds->report.layout)
    {
    case TEMPER_DATASET_LAYOUT_CSV:
      return temper_dataset_read_table (l, data + pos, size - pos, ',', error);
    case TEMPER_DATASET_LAYOUT_TSV:
      return temper_dataset_read_table (l, data + pos, size - pos, '\t', error);
    case TEMPER_DATASET_LAYOUT_TEXT:
      return temper_dataset_read_text (l, data + pos, size - pos, error);
    case TEMPER_DATASET_LAYOUT_JSONL:
      return read_jsonl (l, data + pos, size - pos, error);
    case TEMPER_DATASET_LAYOUT_JSON_ARRAY:
    case TEMPER_DATASET_LAYOUT_AUTO:
    default:
      break;
    }
  {
    gsize first = pos;
    while (first < size && g_ascii_isspace (data[first]))
      if (data[first++] == '\n')
        line++;
    if (first < size && data[first] == '[')
      {
        l->ds->report.layout = TEMPER_DATASET_LAYOUT_JSON_ARRAY;
        return read_array (l, data, size, first, line, error);
      }
  }
  l->ds->report.layout = TEMPER_DATASET_LAYOUT_JSONL;
  return read_jsonl (l, data + pos, size - pos, error);
}

temper_dataset_t *
temper_dataset_load (const char                 *path,
                     const TemperDatasetOptions *options,
                     GError                    **error)
{
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local = NULL;
  Loader l = { 0 };
  gboolean ok;
  gsize size = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  /* Through temper_input: a FIFO or a device named as the dataset would
   * block the reader or never end. */
  fd = temper_input_open_file (path, _("The dataset"), 0, &size, error);
  if (fd < 0)
    return NULL;
  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (mapped == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("Could not read the dataset “%s”: %s"),
                   path, local->message);
      return NULL;
    }
  ds = dataset_new (path, options);
  ds->report.layout = ds->options.layout != TEMPER_DATASET_LAYOUT_AUTO
                      ? ds->options.layout : temper_dataset_layout_from_path (path);
  l.ds = ds;
  l.format = ds->options.format;
  l.format_fixed = ds->options.format != TEMPER_DATASET_FORMAT_AUTO;
  l.scratch = g_array_new (FALSE, FALSE, sizeof (TemperChatMessage));
  l.owned = g_ptr_array_new_with_free_func (g_free);
  l.tokenizer = ds->has_tokens ? temper_chat_template_get_tokenizer (ds->options.chat_template) : NULL;

  ok = read_mapped (&l, g_mapped_file_get_contents (mapped), g_mapped_file_get_length (mapped), error);

  g_array_unref (l.scratch);
  g_ptr_array_unref (l.owned);
  /* The template is only needed while loading; keep no pointer that may
   * outlive it. */
  ds->options.chat_template = NULL;
  if (!ok)
    return NULL;

  if (ds->report.n_valid == 0)
    {
      summarise_failure (ds, error);
      return NULL;
    }

  for (guint i = 0; i < ds->records->len; i++)
    {
      TemperDatasetRecord *r = &g_array_index (ds->records, TemperDatasetRecord, i);
      guint64 first = g_array_index (ds->first_message, guint64, i);
      r->messages = &g_array_index (ds->messages, TemperChatMessage, first);
    }
  ds->report.problems = (const TemperDatasetProblem *) ds->problems->data;
  ds->report.n_listed = ds->problems->len;
  g_clear_pointer (&ds->seen, g_hash_table_unref);
  temper_dataset_compute_stats (ds);
  if (ds->options.progress != NULL)
    ds->options.progress (1.0, ds->options.progress_data);
  return g_steal_pointer (&ds);
}

void
temper_dataset_free (temper_dataset_t *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->path);
  g_strfreev (ds->report.columns);
  g_clear_object (&ds->options.cancellable);
  g_array_unref (ds->problems);
  g_string_chunk_free (ds->strings);
  g_array_unref (ds->messages);
  g_array_unref (ds->records);
  g_array_unref (ds->first_message);
  g_array_unref (ds->token_ids);
  g_array_unref (ds->token_mask);
  g_array_unref (ds->token_start);
  g_array_unref (ds->token_count);
  g_array_unref (ds->lengths);
  if (ds->seen != NULL)
    g_hash_table_unref (ds->seen);
  g_free (ds);
}

const char *
temper_dataset_get_path (const temper_dataset_t *ds)
{
  return ds->path;
}

const TemperDatasetReport *
temper_dataset_get_report (const temper_dataset_t *ds)
{
  return &ds->report;
}

gsize
temper_dataset_get_n_records (const temper_dataset_t *ds)
{
  return ds->records->len;
}

const TemperDatasetRecord *
temper_dataset_get_record (const temper_dataset_t *ds, gsize i)
{
  g_return_val_if_fail (i < ds->records->len, NULL);
  return &g_array_index (ds->records, TemperDatasetRecord, i);
}

gboolean
temper_dataset_get_tokens (const temper_dataset_t *ds, gsize i,
                           const gint32 **ids, const guint8 **mask, gsize *n)
{
  guint64 start;

  g_return_val_if_fail (i < ds->records->len, FALSE);
  if (!ds->has_tokens)
    return FALSE;
  start = g_array_index (ds->token_start, guint64, i);
  *n = g_array_index (ds->token_count, guint32, i);
  *ids = &g_array_index (ds->token_ids, gint32, start);
  *mask = &g_array_index (ds->token_mask, guint8, start);
  return TRUE;
}
