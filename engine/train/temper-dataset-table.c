/* SPDX-License-Identifier: MIT */
/* temper-dataset-table.c — datasets that are not JSON: tables (CSV, TSV)
 * whose columns hold the question and the answer, and plain text or
 * Markdown for continued pre-training, cut into overlapping chunks.
 *
 * CSV follows RFC 4180: fields between separators, a field in double quotes
 * may hold separators, line breaks and "" for one quote; lines end in LF or
 * CRLF.  The first row names the columns. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper-dataset-private.h"

#define DEFAULT_CHUNK_LENGTH 512
#define BYTES_PER_TOKEN_GUESS 4

const char *
temper_dataset_layout_name (TemperDatasetLayout layout)
{
  switch (layout)
    {
    case TEMPER_DATASET_LAYOUT_JSON_ARRAY: return "json-array";
    case TEMPER_DATASET_LAYOUT_JSONL:      return "jsonl";
    case TEMPER_DATASET_LAYOUT_CSV:        return "csv";
    case TEMPER_DATASET_LAYOUT_TSV:        return "tsv";
    case TEMPER_DATASET_LAYOUT_TEXT:       return "text";
    case TEMPER_DATASET_LAYOUT_AUTO:
    default:                               return "auto";
    }
}

TemperDatasetLayout
temper_dataset_layout_from_path (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".csv"))
    return TEMPER_DATASET_LAYOUT_CSV;
  if (g_str_has_suffix (lower, ".tsv") || g_str_has_suffix (lower, ".tab"))
    return TEMPER_DATASET_LAYOUT_TSV;
  if (g_str_has_suffix (lower, ".txt") || g_str_has_suffix (lower, ".text") ||
      g_str_has_suffix (lower, ".md") || g_str_has_suffix (lower, ".markdown"))
    return TEMPER_DATASET_LAYOUT_TEXT;
  return TEMPER_DATASET_LAYOUT_AUTO;
}

/* ---- CSV / TSV ---- */

/* Reads one row starting at *pos into @fields (new strings).  FALSE at the
 * end of the data.  *unclosed: a quoted field ran to the end of the data. */
static gboolean
next_row (const char *data, gsize size, gsize *pos, guint64 *line, char sep,
          GPtrArray *fields, gboolean *unclosed)
{
  gsize i = *pos;
  GString *field = g_string_new (NULL);

  g_ptr_array_set_size (fields, 0);
  *unclosed = FALSE;
  if (i >= size)
    {
      g_string_free (field, TRUE);
      return FALSE;
    }
  for (;;)
    {
      g_string_truncate (field, 0);
      if (i < size && data[i] == '"')
        {
          i++;
          for (;;)
            {
              if (i >= size)
                {
                  *unclosed = TRUE;
                  break;
                }
              if (data[i] == '"')
                {
                  if (i + 1 < size && data[i + 1] == '"')
                    {
                      g_string_append_c (field, '"');
                      i += 2;
                      continue;
                    }
                  i++;
                  break;
                }
              if (data[i] == '\n')
                (*line)++;
              g_string_append_c (field, data[i++]);
            }
          /* Text after the closing quote (against the RFC, but common) is kept. */
          while (i < size && data[i] != sep && data[i] != '\n' && data[i] != '\r')
            g_string_append_c (field, data[i++]);
        }
      else
        while (i < size && data[i] != sep && data[i] != '\n')
          g_string_append_c (field, data[i++]);
      if (field->len > 0 && field->str[field->len - 1] == '\r' && (i >= size || data[i] == '\n'))
        g_string_truncate (field, field->len - 1);
      if (i < size && data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
        i++;
      g_ptr_array_add (fields, g_strndup (field->str, field->len));
      if (i >= size)
        break;
      if (data[i] == sep)
        {
          i++;
          continue;
        }
      if (data[i] == '\n')
        {
          i++;
          (*line)++;
        }
      break;
    }
  *pos = i;
  g_string_free (field, TRUE);
  return TRUE;
}

static gboolean
row_is_blank (GPtrArray *fields)
{
  for (guint i = 0; i < fields->len; i++)
    {
      const char *f = g_ptr_array_index (fields, i);
      for (; *f != '\0'; f++)
        if (!g_ascii_isspace (*f))
          return FALSE;
    }
  return TRUE;
}

/* Header names Temper recognises, in the order it prefers them. */
static const char *const question_names[] = {
  "question", "prompt", "instruction", "input", "query", "q", "user",
  "问题", "提问", "问", "指令", "输入", NULL };
static const char *const answer_names[] = {
  "answer", "response", "output", "completion", "reply", "a", "assistant",
  "答案", "回答", "答", "回复", "输出", NULL };
static const char *const system_names[] = { "system", "system prompt", "系统", "系统提示", NULL };

static int
find_named (char **columns, guint n, const char *const *names)
{
  for (guint k = 0; names[k] != NULL; k++)
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *a = g_utf8_casefold (columns[i], -1);
        g_autofree char *b = g_utf8_casefold (names[k], -1);
        if (strcmp (a, b) == 0)
          return (int) i;
      }
  return -1;
}

static char *
list_columns (char **columns, guint n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (s, ", ");
      g_string_append_printf (s, "%u “%s”", i + 1, columns[i]);
    }
  return g_string_free (s, FALSE);
}

/* A column given by name (any case) or by number from 1; -1 with @error
 * set when the header has no such column. */
static int
resolve_column (const char *spec, const char *what, char **columns, guint n,
                const char *path, GError **error)
{
  g_autofree char *all = NULL;
  guint64 number;
  const char *const names[] = { spec, NULL };
  int found;

  if (g_ascii_string_to_unsigned (spec, 10, 1, n, &number, NULL))
    return (int) number - 1;
  found = find_named (columns, n, names);
  if (found >= 0)
    return found;
  all = list_columns (columns, n);
  /* Translators: %s are the option (“question”), the column asked for, the file and its columns. */
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("The %s column “%s” is not in “%s”. Its columns are: %s. Give a name or a number."),
               what, spec, path, all);
  return -1;
}

static gboolean
map_columns (TemperDatasetLoader *l, GError **error)
{
  TemperDatasetReport *r = &l->ds->report;
  const TemperDatasetOptions *o = &l->ds->options;
  const char *path = l->ds->path;
  guint n = r->n_columns;

  if (o->question_column != NULL)
    r->question_column = resolve_column (o->question_column, _("question"), r->columns, n, path, error);
  else
    r->question_column = find_named (r->columns, n, question_names);
  if (r->question_column < 0 && o->question_column != NULL)
    return FALSE;
  if (o->answer_column != NULL)
    r->answer_column = resolve_column (o->answer_column, _("answer"), r->columns, n, path, error);
  else
    r->answer_column = find_named (r->columns, n, answer_names);
  if (r->answer_column < 0 && o->answer_column != NULL)
    return FALSE;
  if (o->system_column != NULL && o->system_column[0] != '\0')
    {
      r->system_column = resolve_column (o->system_column, _("system"), r->columns, n, path, error);
      if (r->system_column < 0)
        return FALSE;
    }
  else if (o->system_column == NULL)
    r->system_column = find_named (r->columns, n, system_names);

  /* Two columns and no names Temper knows: question, then answer. */
  if (n == 2 && r->question_column < 0 && r->answer_column < 0)
    {
      r->question_column = 0;
      r->answer_column = 1;
    }
  if (r->question_column < 0 || r->answer_column < 0)
    {
      g_autofree char *all = list_columns (r->columns, n);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("Temper cannot tell which column of “%s” is the question and which the answer. "
                     "Its columns are: %s. Choose them (on the command line with --question-column "
                     "and --answer-column)."), path, all);
      return FALSE;
    }
  if (r->question_column == r->answer_column)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The question and the answer are both column %d of “%s”; choose two different columns."),
                   r->question_column + 1, path);
      return FALSE;
    }
  if (r->system_column == r->question_column || r->system_column == r->answer_column)
    r->system_column = -1;
  return TRUE;
}

static void
push (TemperDatasetLoader *l, TemperChatRole role, char *text)
{
  TemperChatMessage m = { 0 };

  g_ptr_array_add (l->owned, text);
  m.role = role;
  m.content = text;
  g_array_append_val (l->scratch, m);
}

static gboolean
is_blank_text (const char *s)
{
  for (; *s != '\0'; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

static void
handle_row (TemperDatasetLoader *l, GPtrArray *fields, guint64 line, gboolean unclosed,
            GError **error)
{
  TemperDatasetReport *r = &l->ds->report;
  const char *bad = NULL;

  r->n_records++;
  if (unclosed)
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_BAD_ROW, line, -1, -1,
                                         g_strdup (_("a field opens a quote (\") that is never closed, "
                                                     "so the rest of the file ran into it")));
      return;
    }
  if (fields->len != r->n_columns)
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_BAD_ROW, line, -1, -1,
                                         g_strdup_printf (_("it has %u fields where the header has %u; a field "
                                                            "holding the separator must be in double quotes"),
                                                          fields->len, r->n_columns));
      return;
    }
  for (guint i = 0; i < fields->len; i++)
    if (!g_utf8_validate (g_ptr_array_index (fields, i), -1, &bad))
      {
        temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_INVALID_UTF8, line, -1, -1,
                                           g_strdup_printf (_("column %u has bytes that are not UTF-8 text; "
                                                              "save the file as UTF-8"), i + 1));
        return;
      }
  if (is_blank_text (g_ptr_array_index (fields, r->question_column)))
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_MISSING_FIELD, line, -1, -1,
                                         g_strdup_printf (_("the question (column “%s”) is empty"),
                                                          r->columns[r->question_column]));
      return;
    }
  if (is_blank_text (g_ptr_array_index (fields, r->answer_column)))
    {
      temper_dataset_loader_add_problem (l, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER, line, -1, -1,
                                         g_strdup_printf (_("the answer (column “%s”) is empty"),
                                                          r->columns[r->answer_column]));
      return;
    }
  g_array_set_size (l->scratch, 0);
  g_ptr_array_set_size (l->owned, 0);
  if (r->system_column >= 0 && !is_blank_text (g_ptr_array_index (fields, r->system_column)))
    push (l, TEMPER_CHAT_ROLE_SYSTEM, g_strdup (g_ptr_array_index (fields, r->system_column)));
  push (l, TEMPER_CHAT_ROLE_USER, g_strdup (g_ptr_array_index (fields, r->question_column)));
  push (l, TEMPER_CHAT_ROLE_ASSISTANT, g_strdup (g_ptr_array_index (fields, r->answer_column)));
  temper_dataset_loader_accept (l, line, -1, error);
}

/* Reads the header row; *pos and *line move past it. */
static char **
read_header (const char *data, gsize size, char sep, gsize *pos, guint64 *line, guint *n)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  gboolean unclosed;
  char **columns;

  do
    if (!next_row (data, size, pos, line, sep, fields, &unclosed))
      return NULL;
  while (row_is_blank (fields));
  *n = fields->len;
  columns = g_new0 (char *, fields->len + 1);
  for (guint i = 0; i < fields->len; i++)
    {
      const char *name = g_ptr_array_index (fields, i);
      columns[i] = g_utf8_validate (name, -1, NULL) ? g_strstrip (g_strdup (name))
                                                    : g_utf8_make_valid (name, -1);
    }
  return columns;
}

gboolean
temper_dataset_read_table (TemperDatasetLoader *l, const char *data, gsize size, char sep,
                           GError **error)
{
  TemperDatasetReport *r = &l->ds->report;
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  gsize pos = 0;
  guint64 line = 1;

  r->columns = read_header (data, size, sep, &pos, &line, &r->n_columns);
  if (r->columns == NULL)
    return TRUE;   /* no records: said by the caller */
  if (!map_columns (l, error))
    return FALSE;
  l->format = r->format = TEMPER_DATASET_FORMAT_PROMPT_RESPONSE;
  for (;;)
    {
      guint64 start = line;
      gboolean unclosed;

      if (!next_row (data, size, &pos, &line, sep, fields, &unclosed))
        break;
      if (row_is_blank (fields))
        continue;
      handle_row (l, fields, start, unclosed, error);
      if (error != NULL && *error != NULL)
        return FALSE;
      if (!temper_dataset_loader_tick (l, data + pos, error))
        return FALSE;
    }
  return TRUE;
}

char **
temper_dataset_read_columns (const char *path, TemperDatasetLayout layout, GError **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local = NULL;
  const char *data;
  gsize size, pos = 0;
  guint64 line = 1;
  guint n = 0;
  char **columns;
  int fd;

  if (layout == TEMPER_DATASET_LAYOUT_AUTO)
    layout = temper_dataset_layout_from_path (path);
  if (layout != TEMPER_DATASET_LAYOUT_CSV && layout != TEMPER_DATASET_LAYOUT_TSV)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a table (CSV or TSV), so it has no columns."), path);
      return NULL;
    }
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
  data = g_mapped_file_get_contents (mapped);
  size = g_mapped_file_get_length (mapped);
  if (size >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  columns = read_header (data, size, layout == TEMPER_DATASET_LAYOUT_TSV ? '\t' : ',', &pos, &line, &n);
  if (columns == NULL)
    g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                 _("“%s” is empty: a table needs a first row naming its columns."), path);
  return columns;
}

/* ---- plain text and Markdown ---- */

typedef struct {
  gsize   start, end;   /* bytes of the paragraph, without the line break after it */
  guint64 line;
  int     tokens;
} Paragraph;

static int
count_tokens (TemperDatasetLoader *l, const char *text, gsize len)
{
  if (l->tokenizer != NULL)
    {
      g_autoptr(GArray) ids = temper_tokenizer_encode (l->tokenizer, text, (gssize) len, FALSE);
      return (int) ids->len;
    }
  return (int) ((len + BYTES_PER_TOKEN_GUESS - 1) / BYTES_PER_TOKEN_GUESS);
}

static guint64
lines_between (const char *data, gsize from, gsize to)
{
  guint64 n = 0;

  for (gsize i = from; i < to; i++)
    n += data[i] == '\n';
  return n;
}

static void
emit_chunk (TemperDatasetLoader *l, const char *data, gsize start, gsize end, guint64 line,
            GError **error)
{
  l->ds->report.n_records++;
  g_array_set_size (l->scratch, 0);
  g_ptr_array_set_size (l->owned, 0);
  push (l, TEMPER_CHAT_ROLE_USER, g_strndup (data + start, end - start));
  temper_dataset_loader_accept (l, line, -1, error);
}

/* Moves @at back to the start of a UTF-8 character. */
static gsize
char_start (const char *data, gsize at)
{
  while (at > 0 && ((guchar) data[at] & 0xc0) == 0x80)
    at--;
  return at;
}

/* A paragraph longer than a chunk: pieces of at most @budget tokens, cut
 * after a sentence or a space where one lies near the end, each starting
 * about @overlap tokens before the previous one ended. */
static void
emit_long_paragraph (TemperDatasetLoader *l, const char *data, const Paragraph *p,
                     int budget, int overlap, GError **error)
{
  double bytes_per_token = (double) (p->end - p->start) / MAX (p->tokens, 1);
  gsize pos = p->start;

  while (pos < p->end && (error == NULL || *error == NULL))
    {
      guint64 line = p->line + lines_between (data, p->start, pos);
      gsize cut, search_from, next;

      if (count_tokens (l, data + pos, p->end - pos) <= budget)
        {
          emit_chunk (l, data, pos, p->end, line, error);
          return;
        }
      cut = char_start (data, MIN (p->end, pos + (gsize) (budget * bytes_per_token * 0.9) + 1));
      while (cut > pos + 1 && count_tokens (l, data + pos, cut - pos) > budget)
        cut = char_start (data, pos + (cut - pos) * 9 / 10);
      if (cut <= pos)
        cut = char_start (data, MIN (p->end, pos + 4)) > pos ? char_start (data, MIN (p->end, pos + 4)) : p->end;
      /* A sentence end (or else a space) in the last third ends the piece. */
      search_from = pos + (cut - pos) * 2 / 3;
      for (gsize i = cut; i > search_from; i--)
        {
          const char *c = data + i;
          if (c[-1] == '\n' || ((c[-1] == '.' || c[-1] == '!' || c[-1] == '?') && g_ascii_isspace (c[0])) ||
              (i >= 3 && (memcmp (c - 3, "。", 3) == 0 || memcmp (c - 3, "！", 3) == 0 ||
                          memcmp (c - 3, "？", 3) == 0)))
            {
              cut = i;
              break;
            }
        }
      emit_chunk (l, data, pos, cut, line, error);
      if (cut >= p->end)
        return;
      next = cut - MIN (cut - pos - 1, (gsize) (overlap * bytes_per_token));
      next = char_start (data, next);
      if (next <= pos)
        next = cut;
      pos = next;
    }
}

gboolean
temper_dataset_read_text (TemperDatasetLoader *l, const char *data, gsize size, GError **error)
{
  temper_dataset_t *ds = l->ds;
  g_autoptr(GArray) paragraphs = g_array_new (FALSE, FALSE, sizeof (Paragraph));
  int length = ds->options.max_length > 0 ? ds->options.max_length : DEFAULT_CHUNK_LENGTH;
  int budget = MAX (8, length - 2);   /* room for BOS and EOS */
  int overlap = ds->options.chunk_overlap >= 0 ? ds->options.chunk_overlap : budget / 8;
  const char *bad = NULL;
  gsize i = 0;
  guint64 line = 1;
  guint k = 0;

  overlap = MIN (overlap, budget / 2);
  ds->report.chunk_length = length;
  ds->report.chunk_overlap = overlap;
  l->format = ds->report.format = TEMPER_DATASET_FORMAT_TEXT;
  if (!g_utf8_validate_len (data, size, &bad))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has bytes that are not UTF-8 text on line %" PRIu64
                     "; save it as UTF-8 and open it again."),
                   ds->path, (guint64) (1 + lines_between (data, 0, bad - data)));
      return FALSE;
    }

  /* Paragraphs: runs of lines that are not blank; a Markdown heading
   * starts one of its own. */
  while (i < size)
    {
      const char *eol = memchr (data + i, '\n', size - i);
      gsize stop = eol != NULL ? (gsize) (eol - data) : size;
      gsize len = stop - i;
      gboolean blank = TRUE;

      for (gsize j = i; j < stop && blank; j++)
        blank = g_ascii_isspace (data[j]);
      if (!blank)
        {
          Paragraph *last = paragraphs->len > 0
                            ? &g_array_index (paragraphs, Paragraph, paragraphs->len - 1) : NULL;
          gboolean joins = last != NULL && last->end + 1 == i && data[i] != '#';
          gsize end = len > 0 && data[stop - 1] == '\r' ? stop - 1 : stop;

          if (joins)
            last->end = end;
          else
            {
              Paragraph p = { i, end, line, 0 };
              g_array_append_val (paragraphs, p);
            }
        }
      line++;
      i = stop + 1;
    }
  for (guint p = 0; p < paragraphs->len; p++)
    {
      Paragraph *par = &g_array_index (paragraphs, Paragraph, p);
      par->tokens = count_tokens (l, data + par->start, par->end - par->start);
    }

  /* Whole paragraphs go together while they fit; the next chunk starts
   * with the last paragraphs of this one that fit in the overlap. */
  while (k < paragraphs->len)
    {
      const Paragraph *first = &g_array_index (paragraphs, Paragraph, k);
      guint end = k;
      int total = 0;

      if (first->tokens > budget)
        {
          emit_long_paragraph (l, data, first, budget, overlap, error);
          if (error != NULL && *error != NULL)
            return FALSE;
          k++;
          continue;
        }
      while (end < paragraphs->len)
        {
          const Paragraph *p = &g_array_index (paragraphs, Paragraph, end);
          int more = p->tokens + (end > k ? 1 : 0);
          if (p->tokens > budget || total + more > budget)
            break;
          total += more;
          end++;
        }
      /* A heading or short lead-in before a paragraph too long for any
       * chunk goes with the start of that paragraph, not alone. */
      if (end < paragraphs->len && end > k && total < budget / 2 &&
          g_array_index (paragraphs, Paragraph, end).tokens > budget)
        {
          const Paragraph *next = &g_array_index (paragraphs, Paragraph, end);
          Paragraph joined = { first->start, next->end, first->line, total + 1 + next->tokens };

          emit_long_paragraph (l, data, &joined, budget, overlap, error);
          if (error != NULL && *error != NULL)
            return FALSE;
          k = end + 1;
          continue;
        }
      /* The estimate counts a paragraph break as one token; check. */
      while (end > k + 1 &&
             count_tokens (l, data + first->start,
                           g_array_index (paragraphs, Paragraph, end - 1).end - first->start) > budget)
        end--;
      emit_chunk (l, data, first->start, g_array_index (paragraphs, Paragraph, end - 1).end,
                  first->line, error);
      if (error != NULL && *error != NULL)
        return FALSE;
      if (!temper_dataset_loader_tick (l, data + first->start, error))
        return FALSE;
      if (end >= paragraphs->len)
        break;
      {
        guint next = end;
        int shared = 0;
        while (next - 1 > k &&
               shared + g_array_index (paragraphs, Paragraph, next - 1).tokens <= overlap)
          shared += g_array_index (paragraphs, Paragraph, --next).tokens;
        k = next;
      }
    }
  return TRUE;
}
