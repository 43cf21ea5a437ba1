/* SPDX-License-Identifier: MIT */
/* temper-dataset-findings.c — records that load but would teach the wrong
 * thing (near-duplicates, leakage into validation, empty-ish answers,
 * markup, mojibake, mixed languages, length outliers), and writing a
 * cleaned copy without the ones a person chose to drop.
 *
 * Near-duplicates are found in two ways: texts equal once normalised
 * (NFKC folds full-width forms, then case folding, then only letters and
 * digits are kept), and, for long texts, a Jaccard similarity of at least
 * 0.9 between their sets of 5-character shingles.  Candidate pairs for the
 * latter come from MinHash signatures split into bands (locality-sensitive
 * hashing), so the cost grows with the number of records, not its square;
 * each candidate is then confirmed with the exact Jaccard. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper-dataset-private.h"

#define SHINGLE 5
#define MIN_SHINGLED_CHARS 64
#define N_HASHES 64
#define N_BANDS 16
#define ROWS_PER_BAND (N_HASHES / N_BANDS)
#define NEAR_JACCARD 0.9
#define EXCERPT_CHARS 60

static const struct {
  const char *name;
  const char *label;
} kinds[TEMPER_DATASET_N_FINDING_KINDS] = {
  { "near-duplicate", N_("Near-duplicates") },
  { "leakage",        N_("Also in the validation data") },
  { "short-answer",   N_("Empty or one-character answers") },
  { "markup",         N_("HTML or markup") },
  { "mojibake",       N_("Garbled text (wrong encoding)") },
  { "mixed-language", N_("Answer in another language") },
  { "length-outlier", N_("Too long") },
};

const char *
temper_dataset_finding_kind_name (TemperDatasetFindingKind kind)
{
  return kind < TEMPER_DATASET_N_FINDING_KINDS ? kinds[kind].name : "unknown";
}

gboolean
temper_dataset_finding_kind_from_name (const char *name, TemperDatasetFindingKind *out)
{
  for (guint i = 0; i < TEMPER_DATASET_N_FINDING_KINDS; i++)
    if (g_ascii_strcasecmp (name, kinds[i].name) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

const char *
temper_dataset_finding_kind_label (TemperDatasetFindingKind kind)
{
  return kind < TEMPER_DATASET_N_FINDING_KINDS ? _(kinds[kind].label) : "";
}

static const char *
fix_for (TemperDatasetFindingKind kind)
{
  switch (kind)
    {
    case TEMPER_DATASET_FINDING_NEAR_DUPLICATE:
      return _("Drop this copy and keep the first: repeats weigh the same fact more than the others.");
    case TEMPER_DATASET_FINDING_LEAKAGE:
      return _("Drop it from the training data: otherwise the validation loss looks better than the model is.");
    case TEMPER_DATASET_FINDING_SHORT_ANSWER:
      return _("Write a full answer, or drop the record.");
    case TEMPER_DATASET_FINDING_MARKUP:
      return _("Remove the tags, or keep it if the model should answer with markup.");
    case TEMPER_DATASET_FINDING_MOJIBAKE:
      return _("Export the source again as UTF-8, or drop the record.");
    case TEMPER_DATASET_FINDING_MIXED_LANGUAGE:
      return _("Answer in the question's language, or keep it if the mix is intended.");
    case TEMPER_DATASET_FINDING_LENGTH_OUTLIER:
    default:
      return _("Shorten or split it, raise the maximum length, or drop it.");
    }
}

/* ---- text helpers ---- */

static const char *
answer_of (const TemperDatasetRecord *r)
{
  for (gsize i = r->n_messages; i > 0; i--)
    if (r->messages[i - 1].role == TEMPER_CHAT_ROLE_ASSISTANT)
      return r->messages[i - 1].content;
  return NULL;
}

static const char *
question_of (const TemperDatasetRecord *r)
{
  const char *q = NULL;

  for (gsize i = 0; i < r->n_messages; i++)
    if (r->messages[i].role == TEMPER_CHAT_ROLE_USER)
      q = r->messages[i].content;
    else if (r->messages[i].role == TEMPER_CHAT_ROLE_ASSISTANT && q != NULL)
      break;
  return q;
}

static char *
excerpt (const char *text, const char *from)
{
  GString *s = g_string_new (NULL);
  const char *p = from != NULL ? from : text;
  guint n = 0;

  /* Start a little before the place found, for context. */
  for (guint back = 0; back < 15 && p > text; back++)
    p = g_utf8_prev_char (p);
  if (p > text)
    g_string_append (s, "…");
  for (; *p != '\0' && n < EXCERPT_CHARS; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '\n' || c == '\r' || c == '\t')
        c = ' ';
      g_string_append_unichar (s, c);
    }
  if (*p != '\0')
    g_string_append (s, "…");
  return g_string_free (s, FALSE);
}

/* Letters and digits only, after NFKC and case folding; messages are kept
 * apart by a separator so that moving text between them differs. */
static char *
normalise_record (const TemperDatasetRecord *r)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < r->n_messages; i++)
    {
      g_autofree char *nfkc = g_utf8_normalize (r->messages[i].content, -1, G_NORMALIZE_NFKC);
      g_autofree char *folded = g_utf8_casefold (nfkc != NULL ? nfkc : "", -1);

      if (i > 0)
        g_string_append_c (s, '\x1f');
      for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          if (g_unichar_isalnum (c))
            g_string_append_unichar (s, c);
        }
    }
  return g_string_free (s, FALSE);
}

static guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

static gint
compare_gsize (gconstpointer a, gconstpointer b)
{
  gsize x = *(const gsize *) a, y = *(const gsize *) b;
  return x < y ? -1 : x > y;
}

typedef struct {
  char   *norm;
  GArray *shingles;          /* sorted distinct guint64; NULL for short texts */
  guint64 signature[N_HASHES];
} Entry;

static void
entry_init (Entry *e, const TemperDatasetRecord *r)
{
  glong n_chars;
  g_autofree gunichar *chars = NULL;

  e->norm = normalise_record (r);
  e->shingles = NULL;
  chars = g_utf8_to_ucs4_fast (e->norm, -1, &n_chars);
  if (n_chars < MIN_SHINGLED_CHARS)
    return;
  e->shingles = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n_chars);
  for (glong i = 0; i + SHINGLE <= n_chars; i++)
    {
      guint64 h = 14695981039346656037ull;
      for (int k = 0; k < SHINGLE; k++)
        h = (h ^ chars[i + k]) * 1099511628211ull;
      g_array_append_val (e->shingles, h);
    }
  g_array_sort (e->shingles, compare_u64);
  {
    guint out = 0;
    for (guint i = 0; i < e->shingles->len; i++)
      if (out == 0 || g_array_index (e->shingles, guint64, i) != g_array_index (e->shingles, guint64, out - 1))
        g_array_index (e->shingles, guint64, out++) = g_array_index (e->shingles, guint64, i);
    g_array_set_size (e->shingles, out);
  }
  for (int k = 0; k < N_HASHES; k++)
    {
      guint64 seed = mix64 (0x9e3779b97f4a7c15ull * (k + 1));
      guint64 best = G_MAXUINT64;
      for (guint i = 0; i < e->shingles->len; i++)
        best = MIN (best, mix64 (g_array_index (e->shingles, guint64, i) ^ seed));
      e->signature[k] = best;
    }
}

static void
entry_clear (Entry *e)
{
  g_free (e->norm);
  if (e->shingles != NULL)
    g_array_unref (e->shingles);
}

static double
jaccard (const GArray *a, const GArray *b)
{
  guint i = 0, j = 0, both = 0;

  while (i < a->len && j < b->len)
    {
      guint64 x = g_array_index (a, guint64, i), y = g_array_index (b, guint64, j);
      if (x == y)
        both++, i++, j++;
      else if (x < y)
        i++;
      else
        j++;
    }
  return (double) both / (a->len + b->len - both);
}

static guint64
band_key (const Entry *e, int band)
{
  guint64 h = mix64 ((guint64) band + 1);
  for (int r = 0; r < ROWS_PER_BAND; r++)
    h = mix64 (h ^ e->signature[band * ROWS_PER_BAND + r]);
  return h;
}

/* The index of a dataset's records: normalised text → first record, and
 * band keys → records (GArray of guint). */
typedef struct {
  guint       n;
  Entry      *entries;
  GHashTable *by_text;
  GHashTable *by_band;
} Index;

static void
index_build (Index *x, const temper_dataset_t *ds)
{
  x->n = temper_dataset_get_n_records (ds);
  x->entries = g_new0 (Entry, MAX (x->n, 1));
  x->by_text = g_hash_table_new (g_str_hash, g_str_equal);
  x->by_band = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_array_unref);
  for (guint i = 0; i < x->n; i++)
    entry_init (&x->entries[i], temper_dataset_get_record (ds, i));
}

/* The first record of @x before @limit that @e nearly duplicates, or -1. */
static gint64
index_match (Index *x, const Entry *e, guint limit)
{
  gpointer found = g_hash_table_lookup (x->by_text, e->norm);

  if (found != NULL && GPOINTER_TO_UINT (found) - 1 < limit)
    return GPOINTER_TO_UINT (found) - 1;
  if (e->shingles == NULL)
    return -1;
  {
    gint64 best = -1;
    for (int b = 0; b < N_BANDS; b++)
      {
        guint64 key = band_key (e, b);
        GArray *list = g_hash_table_lookup (x->by_band, &key);
        for (guint i = 0; list != NULL && i < list->len; i++)
          {
            guint other = g_array_index (list, guint, i);
            if (other < limit && (best < 0 || other < best) &&
                jaccard (e->shingles, x->entries[other].shingles) >= NEAR_JACCARD)
              best = other;
          }
      }
    return best;
  }
}

static void
index_add (Index *x, guint i)
{
  Entry *e = &x->entries[i];

  if (!g_hash_table_contains (x->by_text, e->norm))
    g_hash_table_insert (x->by_text, e->norm, GUINT_TO_POINTER (i + 1));
  if (e->shingles == NULL)
    return;
  for (int b = 0; b < N_BANDS; b++)
    {
      guint64 key = band_key (e, b);
      GArray *list = g_hash_table_lookup (x->by_band, &key);
      if (list == NULL)
        {
          list = g_array_new (FALSE, FALSE, sizeof (guint));
          g_hash_table_insert (x->by_band, g_memdup2 (&key, sizeof key), list);
        }
      g_array_append_val (list, i);
    }
}

static void
index_clear (Index *x)
{
  g_hash_table_unref (x->by_text);
  g_hash_table_unref (x->by_band);
  for (guint i = 0; i < x->n; i++)
    entry_clear (&x->entries[i]);
  g_free (x->entries);
}

/* ---- the checks on one record ---- */

static gboolean
is_empty_ish (const char *answer)
{
  static const char *const placeholders[] = {
    "n/a", "na", "none", "null", "nil", "todo", "tbd", "...", "…", "无", "略", "同上", "待定", NULL };
  g_autofree char *trimmed = g_strstrip (g_utf8_casefold (answer, -1));
  guint alnum = 0;

  for (guint i = 0; placeholders[i] != NULL; i++)
    if (strcmp (trimmed, placeholders[i]) == 0)
      return TRUE;
  for (const char *p = trimmed; *p != '\0'; p = g_utf8_next_char (p))
    alnum += g_unichar_isalnum (g_utf8_get_char (p));
  return alnum <= 1;
}

/* Where text decoded with the wrong encoding shows: UTF-8 read as Latin-1
 * or Windows-1252 (Ã©, â€™, Â ), read as GBK (锟斤拷, 鈥), or replaced
 * characters (U+FFFD). */
static const char *
find_mojibake (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gunichar next = g_utf8_get_char (g_utf8_next_char (p));

      if (c == 0xfffd || c == 0x9225 /* 鈥 */)
        return p;
      if (c == 0x951f && g_str_has_prefix (p, "锟斤拷"))
        return p;
      if ((c == 0xc3 || c == 0xc2) && next >= 0x80 && next <= 0xbf)   /* Ã©  Â° */
        return p;
      if (c == 0xe2 && (next == 0x20ac || next == 0x0080))           /* â€ */
        return p;
      if (c == 0xef && next == 0xbb)                                 /* ï» (a BOM) */
        return p;
    }
  return NULL;
}

static const char *
find_markup (GRegex *regex, const char *text)
{
  g_autoptr(GMatchInfo) info = NULL;
  int start;

  if (!g_regex_match (regex, text, 0, &info))
    return NULL;
  g_match_info_fetch_pos (info, 0, &start, NULL);
  return text + start;
}

typedef enum { LANG_UNKNOWN, LANG_ZH, LANG_EN, LANG_MIXED } Lang;

/* Han characters against words in Latin letters: enough of one and little
 * of the other says the language; enough of both says mixed. */
static Lang
language_of (const char *text)
{
  guint han = 0, words = 0;
  gboolean in_word = FALSE;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeScript script = g_unichar_get_script (c);
      gboolean latin = script == G_UNICODE_SCRIPT_LATIN && g_unichar_isalpha (c);

      if (script == G_UNICODE_SCRIPT_HAN)
        han++;
      if (latin && !in_word)
        words++;
      in_word = latin;
    }
  if (han >= 4 && han >= 4 * words)
    return LANG_ZH;
  if (words >= 4 && han * 3 <= words)
    return LANG_EN;
  if (han >= 8 && words >= 8)
    return LANG_MIXED;
  return LANG_UNKNOWN;
}

static guint
median_length (const temper_dataset_t *ds, gboolean tokens)
{
  guint n = temper_dataset_get_n_records (ds);
  g_autofree guint *v = g_new (guint, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (ds, i);
      guint len = 0;
      if (tokens)
        len = (guint) MAX (r->n_tokens, 0);
      else
        for (gsize m = 0; m < r->n_messages; m++)
          len += g_utf8_strlen (r->messages[m].content, -1);
      v[i] = len;
    }
  /* A partial selection would do; datasets are small enough to sort. */
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && v[j - 1] > v[j]; j--)
      {
        guint t = v[j];
        v[j] = v[j - 1];
        v[j - 1] = t;
      }
  return n > 0 ? v[(n - 1) / 2] : 0;
}

static void
add (GArray *out, TemperDatasetFindingKind kind, const temper_dataset_t *ds, gsize record,
     gint64 other_line, const char *text, const char *at, char *message)
{
  const TemperDatasetRecord *r = temper_dataset_get_record (ds, record);
  TemperDatasetFinding f = { kind, record, r->line, r->item, other_line,
                             excerpt (text, at), message, fix_for (kind) };
  g_array_append_val (out, f);
}

static void
clear_finding (gpointer data)
{
  TemperDatasetFinding *f = data;
  g_free (f->excerpt);
  g_free (f->message);
}

static gint
by_record (gconstpointer a, gconstpointer b)
{
  const TemperDatasetFinding *x = a, *y = b;
  if (x->record != y->record)
    return x->record < y->record ? -1 : 1;
  return (int) x->kind - (int) y->kind;
}

#define PICK_DATASET(pick) ((guint) ((pick) >> 40))
#define PICK_RECORD(pick)  ((gsize) ((pick) & ((G_GUINT64_CONSTANT (1) << 40) - 1)))

/* A held-back record that nearly duplicates a record trained on: the
 * check then measures what was memorised.  Reported on the record trained
 * on, as leakage into a validation file is. */
GArray *
temper_dataset_find_leakage (temper_dataset_t *const *datasets, guint n_datasets, const GArray *trained,
                             const GArray *held_back, gboolean held_back_is_file)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (TemperDatasetFinding));
  const temper_dataset_t *ds = datasets[0];
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (gsize));   /* trained records of datasets[0] */
  Index index = { 0 };

  g_array_set_clear_func (out, clear_finding);
  for (guint k = 0; k < trained->len; k++)
    {
      guint64 pick = g_array_index (trained, guint64, k);

      if (PICK_DATASET (pick) == 0 && PICK_RECORD (pick) < temper_dataset_get_n_records (ds))
        {
          gsize record = PICK_RECORD (pick);

          g_array_append_val (first, record);
        }
    }
  /* In record order, so that a held-back record is reported on the first
   * trained copy. */
  g_array_sort (first, compare_gsize);
  index.n = first->len;
  index.entries = g_new0 (Entry, MAX (index.n, 1));
  index.by_text = g_hash_table_new (g_str_hash, g_str_equal);
  index.by_band = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_array_unref);
  for (guint k = 0; k < index.n; k++)
    {
      entry_init (&index.entries[k], temper_dataset_get_record (ds, g_array_index (first, gsize, k)));
      index_add (&index, k);
    }
  for (guint k = 0; k < held_back->len; k++)
    {
      guint64 pick = g_array_index (held_back, guint64, k);
      guint d = PICK_DATASET (pick);
      const TemperDatasetRecord *held, *tr;
      g_autofree char *place = NULL;
      Entry e;
      gint64 twin;

      if (d >= n_datasets || PICK_RECORD (pick) >= temper_dataset_get_n_records (datasets[d]))
        continue;
      held = temper_dataset_get_record (datasets[d], PICK_RECORD (pick));
      entry_init (&e, held);
      twin = index_match (&index, &e, index.n);
      entry_clear (&e);
      if (twin < 0)
        continue;
      tr = temper_dataset_get_record (ds, g_array_index (first, gsize, twin));
      place = temper_dataset_describe_place (held->line, held->item);
      if (d != 0)
        {
          g_autofree char *name = g_path_get_basename (temper_dataset_get_path (datasets[d]));
          /* Translators: a place in a file, then the file's name: "line 4 of general.jsonl" */
          char *in_file = g_strdup_printf (_("%s of %s"), place, name);

          g_free (place);
          place = in_file;
        }
      add (out, TEMPER_DATASET_FINDING_LEAKAGE, ds, g_array_index (first, gsize, twin), (gint64) held->line,
           question_of (tr) != NULL ? question_of (tr) : tr->messages[0].content, NULL,
           held_back_is_file
           /* Translators: %s is a place in the file such as "line 57" */
           ? g_strdup_printf (_("the same or nearly the same record is in your check file (%s)"), place)
           /* Translators: %s is a place in the file such as "line 57" */
           : g_strdup_printf (_("the same or nearly the same record (%s) is held back to check the training"), place));
    }
  index_clear (&index);
  g_array_sort (out, by_record);
  return out;
}

GArray *
temper_dataset_find_with_split (const temper_dataset_t *ds, const GArray *held_back)
{
  GArray *out = temper_dataset_find (ds, NULL);

  if (held_back != NULL && held_back->len > 0)
    {
      guint n = temper_dataset_get_n_records (ds);
      g_autofree gboolean *is_held = g_new0 (gboolean, MAX (n, 1));
      g_autoptr(GArray) trained = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GArray) held = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GArray) leaks = NULL;

      for (guint k = 0; k < held_back->len; k++)
        if (g_array_index (held_back, guint, k) < n)
          is_held[g_array_index (held_back, guint, k)] = TRUE;
      for (guint64 i = 0; i < n; i++)
        g_array_append_val (is_held[i] ? held : trained, i);
      leaks = temper_dataset_find_leakage ((temper_dataset_t *const *) &ds, 1, trained, held, FALSE);
      /* The findings move over; the emptied array frees none of them. */
      g_array_append_vals (out, leaks->data, leaks->len);
      g_array_set_clear_func (leaks, NULL);
      g_array_sort (out, by_record);
    }
  return out;
}

GArray *
temper_dataset_find (const temper_dataset_t *ds, const temper_dataset_t *validation)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (TemperDatasetFinding));
  g_autoptr(GRegex) markup = g_regex_new ("</?[A-Za-z][A-Za-z0-9]*(\\s[^<>]*)?/?>|"
                                          "&(amp|lt|gt|nbsp|quot|apos|#[0-9]{2,6}|#x[0-9a-fA-F]{2,5});",
                                          0, 0, NULL);
  const TemperDatasetReport *report = temper_dataset_get_report (ds);
  gboolean tokens = report->has_token_stats;
  guint median = median_length (ds, tokens);
  int max_length = ds->options.max_length;
  Index index;
  guint n = temper_dataset_get_n_records (ds);

  g_array_set_clear_func (out, clear_finding);
  index_build (&index, ds);
  for (guint i = 0; i < n; i++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (ds, i);
      const char *answer = answer_of (r);
      const char *question = question_of (r);
      gint64 twin = index_match (&index, &index.entries[i], i);
      const char *at;
      guint length = 0;

      if (twin >= 0)
        {
          const TemperDatasetRecord *first = temper_dataset_get_record (ds, twin);
          g_autofree char *place = temper_dataset_describe_place (first->line, first->item);
          add (out, TEMPER_DATASET_FINDING_NEAR_DUPLICATE, ds, i, (gint64) first->line,
               question != NULL ? question : r->messages[0].content, NULL,
               g_strdup_printf (_("nearly the same as %s"), place));
        }
      index_add (&index, i);

      if (answer != NULL && is_empty_ish (answer))
        add (out, TEMPER_DATASET_FINDING_SHORT_ANSWER, ds, i, -1, answer, NULL,
             g_strdup (_("the answer is empty or a placeholder: the model learns to say nothing")));

      for (gsize m = 0; m < r->n_messages; m++)
        if ((at = find_mojibake (r->messages[m].content)) != NULL)
          {
            add (out, TEMPER_DATASET_FINDING_MOJIBAKE, ds, i, -1, r->messages[m].content, at,
                 g_strdup (_("the text looks garbled, as when UTF-8 is read with another encoding")));
            break;
          }
      for (gsize m = 0; m < r->n_messages && markup != NULL; m++)
        if ((at = find_markup (markup, r->messages[m].content)) != NULL)
          {
            add (out, TEMPER_DATASET_FINDING_MARKUP, ds, i, -1, r->messages[m].content, at,
                 g_strdup (_("it holds HTML tags or entities")));
            break;
          }
      if (answer != NULL && question != NULL)
        {
          Lang q = language_of (question), a = language_of (answer);
          if ((q == LANG_ZH && (a == LANG_EN || a == LANG_MIXED)) ||
              (q == LANG_EN && (a == LANG_ZH || a == LANG_MIXED)))
            add (out, TEMPER_DATASET_FINDING_MIXED_LANGUAGE, ds, i, -1, answer, NULL,
                 g_strdup (q == LANG_ZH ? _("the question is in Chinese, the answer is not (or only partly)")
                                        : _("the question is in English, the answer is not (or only partly)")));
        }

      if (tokens)
        length = (guint) MAX (r->n_tokens, 0);
      else
        for (gsize m = 0; m < r->n_messages; m++)
          length += g_utf8_strlen (r->messages[m].content, -1);
      if (tokens && r->truncated)
        add (out, TEMPER_DATASET_FINDING_LENGTH_OUTLIER, ds, i, -1, r->messages[r->n_messages - 1].content,
             NULL, g_strdup_printf (_("it is %u tokens long and is cut at %d: the rest is not learned"),
                                    length, max_length));
      else if (report->format != TEMPER_DATASET_FORMAT_TEXT && n >= 5 && length > 4 * median &&
               length >= (tokens ? 256u : 1024u))
        add (out, TEMPER_DATASET_FINDING_LENGTH_OUTLIER, ds, i, -1, r->messages[r->n_messages - 1].content,
             NULL, tokens ? g_strdup_printf (_("it is %u tokens long, more than four times the usual %u"),
                                             length, median)
                          : g_strdup_printf (_("it is %u characters long, more than four times the usual %u"),
                                             length, median));
    }

  if (validation != NULL)
    {
      Index vindex;
      index_build (&vindex, validation);
      for (guint v = 0; v < vindex.n; v++)
        {
          gint64 twin = index_match (&index, &vindex.entries[v], n);
          const TemperDatasetRecord *vr = temper_dataset_get_record (validation, v);
          const TemperDatasetRecord *tr;
          g_autofree char *place = NULL;

          if (twin < 0)
            continue;
          tr = temper_dataset_get_record (ds, twin);
          place = temper_dataset_describe_place (vr->line, vr->item);
          add (out, TEMPER_DATASET_FINDING_LEAKAGE, ds, twin, (gint64) vr->line,
               question_of (tr) != NULL ? question_of (tr) : tr->messages[0].content, NULL,
               g_strdup_printf (_("the same or nearly the same record is in the validation data (%s)"), place));
        }
      index_clear (&vindex);
    }
  index_clear (&index);
  g_array_sort (out, by_record);
  return out;
}

/* ---- the cleaned copy ---- */

static const char *
role_name (TemperChatRole role)
{
  switch (role)
    {
    case TEMPER_CHAT_ROLE_SYSTEM:    return "system";
    case TEMPER_CHAT_ROLE_ASSISTANT: return "assistant";
    case TEMPER_CHAT_ROLE_USER:
    default:                         return "user";
    }
}

static char *
record_line (const temper_dataset_t *ds, const TemperDatasetRecord *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  if (temper_dataset_get_report (ds)->format == TEMPER_DATASET_FORMAT_TEXT)
    {
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, r->messages[0].content);
    }
  else
    {
      json_builder_set_member_name (b, "messages");
      json_builder_begin_array (b);
      for (gsize m = 0; m < r->n_messages; m++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "role");
          json_builder_add_string_value (b, role_name (r->messages[m].role));
          json_builder_set_member_name (b, "content");
          json_builder_add_string_value (b, r->messages[m].content);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static gboolean write_new_file (const char *path, GString *text, GError **error);

gint64
temper_dataset_write_jsonl (const temper_dataset_t *ds, const gboolean *drop, const char *path,
                            GError **error)
{
  GString *text = g_string_new (NULL);
  gint64 written = 0;

  for (guint i = 0; i < temper_dataset_get_n_records (ds); i++)
    {
      g_autofree char *line = NULL;
      if (drop != NULL && drop[i])
        continue;
      line = record_line (ds, temper_dataset_get_record (ds, i));
      g_string_append (text, line);
      g_string_append_c (text, '\n');
      written++;
    }
  return write_new_file (path, text, error) ? written : -1;
}

static guint64
next_random (guint64 *state)
{
  return mix64 (*state += 0x9e3779b97f4a7c15ull);
}

static void
shuffle (guint64 *items, guint64 n, guint64 *state)
{
  for (guint64 i = n; i > 1; i--)
    {
      guint64 j = next_random (state) % i, t = items[i - 1];
      items[i - 1] = items[j];
      items[j] = t;
    }
}

GArray *
temper_dataset_mix_pick (const gsize *n_records, const double *weights, guint n, guint64 seed,
                         guint64 *counts)
{
  GArray *picks = g_array_new (FALSE, FALSE, sizeof (guint64));   /* dataset << 40 | record */
  guint64 total = 0, state = seed;
  double sum = 0;

  /* The largest mix in which no dataset is asked for more records than it
   * has: repeating a record would make it an exact duplicate, which
   * loading drops. */
  double largest = INFINITY;

  for (guint d = 0; d < n; d++)
    sum += weights[d];
  for (guint d = 0; d < n; d++)
    if (weights[d] > 0)
      largest = MIN (largest, n_records[d] / (weights[d] / sum));
  total = isfinite (largest) ? (guint64) floor (largest + 1e-9) : 0;
  for (guint d = 0; d < n; d++)
    {
      guint64 have = n_records[d];
      guint64 want = MIN (have, (guint64) floor (weights[d] / sum * (double) total + 0.5));
      g_autofree guint64 *order = g_new (guint64, MAX (have, 1));

      for (guint64 r = 0; r < have; r++)
        order[r] = r;
      shuffle (order, have, &state);
      for (guint64 k = 0; k < want; k++)
        {
          guint64 pick = ((guint64) d << 40) | order[k];
          g_array_append_val (picks, pick);
        }
      if (counts != NULL)
        counts[d] = want;
    }
  shuffle ((guint64 *) picks->data, picks->len, &state);
  return picks;
}

gint64
temper_dataset_write_mix (temper_dataset_t *const *datasets, const double *weights, guint n,
                          guint64 seed, const char *path, guint64 *counts, GError **error)
{
  GString *text = g_string_new (NULL);
  g_autofree gsize *sizes = g_new (gsize, MAX (n, 1));
  g_autoptr(GArray) picks = NULL;

  for (guint d = 0; d < n; d++)
    sizes[d] = temper_dataset_get_n_records (datasets[d]);
  picks = temper_dataset_mix_pick (sizes, weights, n, seed, counts);
  for (guint i = 0; i < picks->len; i++)
    {
      guint64 pick = g_array_index (picks, guint64, i);
      const temper_dataset_t *ds = datasets[pick >> 40];
      g_autofree char *line = record_line (ds, temper_dataset_get_record (ds, pick & ((1ull << 40) - 1)));

      g_string_append (text, line);
      g_string_append_c (text, '\n');
    }
  return write_new_file (path, text, error) ? (gint64) picks->len : -1;
}

/* Writes @text (and frees it) to @path, which must not exist. */
static gboolean
write_new_file (const char *path, GString *text, GError **error)
{
  gsize done = 0;
  int fd;
  /* O_EXCL: an existing file — the dataset itself, or anything else — is
   * never replaced. */
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      if (saved == EEXIST)
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                     _("“%s” exists already; the cleaned copy is written to a new file, never over one. "
                       "Choose another name."), path);
      else
        temper_set_error_from_errno (error, saved, _("Could not create “%s”"), path);
      g_string_free (text, TRUE);
      return FALSE;
    }
  while (done < text->len)
    {
      gssize n = write (fd, text->str + done, text->len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += n;
    }
  if (done < text->len || fsync (fd) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not write “%s”"), path);
      close (fd);
      unlink (path);   /* our own half-written file */
      g_string_free (text, TRUE);
      return FALSE;
    }
  close (fd);
  g_string_free (text, TRUE);
  return TRUE;
}
