/* SPDX-License-Identifier: MIT */
/* temper-ratings.c — the ratings of the Compare page, and their files. */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "temper/fs.h"
#include "temper/json.h"
#include "temper/metrics.h"
#include "temper/ratings.h"

typedef struct {
  char *text;
  int   scores[TEMPER_N_ASPECTS];
  guint cut_at;         /* tokens when the length limit cut it, 0 when the model ended it */
  guint complete : 1;
} Answer;

typedef struct {
  char               *text;
  TemperPromptOrigin  origin;
  GHashTable         *answers;   /* source id → Answer */
  char               *verdict;
  char               *note;
} Prompt;

struct _TemperRatings
{
  GObject    parent_instance;

  guint64    seed;
  GPtrArray *sources;   /* char * */
  GPtrArray *prompts;   /* Prompt * */
};

G_DEFINE_FINAL_TYPE (TemperRatings, temper_ratings, G_TYPE_OBJECT)

static const char *const aspect_names[TEMPER_N_ASPECTS] = { "relevance", "accuracy", "style" };

static void
answer_free (gpointer data)
{
  Answer *answer = data;

  g_free (answer->text);
  g_free (answer);
}

static void
prompt_free (gpointer data)
{
  Prompt *prompt = data;

  g_free (prompt->text);
  g_hash_table_unref (prompt->answers);
  g_free (prompt->verdict);
  g_free (prompt->note);
  g_free (prompt);
}

static Prompt *
prompt_new (const char         *text,
            TemperPromptOrigin  origin)
{
  Prompt *prompt = g_new0 (Prompt, 1);

  prompt->text = g_strdup (text);
  prompt->origin = origin;
  prompt->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, answer_free);
  return prompt;
}

static Answer *
lookup_answer (TemperRatings *self,
               guint          prompt,
               const char    *source,
               gboolean       create)
{
  Prompt *p;
  Answer *answer;

  g_return_val_if_fail (prompt < self->prompts->len, NULL);
  g_return_val_if_fail (source != NULL, NULL);

  p = self->prompts->pdata[prompt];
  answer = g_hash_table_lookup (p->answers, source);
  if (answer == NULL && create)
    {
      answer = g_new0 (Answer, 1);
      g_hash_table_insert (p->answers, g_strdup (source), answer);
    }
  return answer;
}

static void
temper_ratings_finalize (GObject *object)
{
  TemperRatings *self = TEMPER_RATINGS (object);

  g_ptr_array_unref (self->sources);
  g_ptr_array_unref (self->prompts);

  G_OBJECT_CLASS (temper_ratings_parent_class)->finalize (object);
}

static void
temper_ratings_class_init (TemperRatingsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = temper_ratings_finalize;
}

static void
temper_ratings_init (TemperRatings *self)
{
  const char *const two[] = { TEMPER_RATINGS_BASE, TEMPER_RATINGS_FINAL, NULL };

  self->sources = g_ptr_array_new_with_free_func (g_free);
  self->prompts = g_ptr_array_new_with_free_func (prompt_free);
  temper_ratings_set_sources (self, two);
}

TemperRatings *
temper_ratings_new (guint64 seed)
{
  TemperRatings *self = g_object_new (TEMPER_TYPE_RATINGS, NULL);

  self->seed = seed;
  return self;
}

char *
temper_ratings_dup_run_path (const char *run_dir)
{
  g_return_val_if_fail (run_dir != NULL, NULL);
  return g_build_filename (run_dir, "ratings.json", NULL);
}

guint64
temper_ratings_get_seed (TemperRatings *self)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  return self->seed;
}

void
temper_ratings_set_sources (TemperRatings     *self,
                            const char *const *ids)
{
  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (ids != NULL);

  g_ptr_array_set_size (self->sources, 0);
  for (guint i = 0; ids[i] != NULL && i < TEMPER_RATINGS_MAX_SOURCES; i++)
    g_ptr_array_add (self->sources, g_strdup (ids[i]));
}

guint
temper_ratings_get_n_sources (TemperRatings *self)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  return self->sources->len;
}

const char *
temper_ratings_get_source (TemperRatings *self,
                           guint          i)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), NULL);
  g_return_val_if_fail (i < self->sources->len, NULL);
  return self->sources->pdata[i];
}

guint
temper_ratings_add_prompt (TemperRatings      *self,
                           const char         *text,
                           TemperPromptOrigin  origin)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  g_return_val_if_fail (text != NULL, 0);

  for (guint i = 0; i < self->prompts->len; i++)
    if (g_str_equal (((Prompt *) self->prompts->pdata[i])->text, text))
      return i;
  g_ptr_array_add (self->prompts, prompt_new (text, origin));
  return self->prompts->len - 1;
}

guint
temper_ratings_get_n_prompts (TemperRatings *self)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  return self->prompts->len;
}

const char *
temper_ratings_get_prompt (TemperRatings *self,
                           guint          prompt)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), NULL);
  g_return_val_if_fail (prompt < self->prompts->len, NULL);
  return ((Prompt *) self->prompts->pdata[prompt])->text;
}

TemperPromptOrigin
temper_ratings_get_origin (TemperRatings *self,
                           guint          prompt)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), TEMPER_PROMPT_FROM_PERSON);
  g_return_val_if_fail (prompt < self->prompts->len, TEMPER_PROMPT_FROM_PERSON);
  return ((Prompt *) self->prompts->pdata[prompt])->origin;
}

/* splitmix64: the same sequence for a seed on every platform, so an order
 * recorded in a file can be drawn again from its seed. */
static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void
temper_ratings_get_order (TemperRatings *self,
                          guint          prompt,
                          guint         *order)
{
  guint n;
  guint64 state;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (order != NULL);

  n = self->sources->len;
  /* Each prompt has its own stream: the order of one does not depend on
   * how many prompts came before it was shown. */
  state = self->seed ^ ((guint64) (prompt + 1) * G_GUINT64_CONSTANT (0xD1B54A32D192ED03));
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) (splitmix64 (&state) % i);
      guint t = order[i - 1];

      order[i - 1] = order[j];
      order[j] = t;
    }
}

const char *
temper_ratings_get_answer (TemperRatings *self,
                           guint          prompt,
                           const char    *source)
{
  Answer *answer;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), NULL);
  answer = lookup_answer (self, prompt, source, FALSE);
  return answer != NULL ? answer->text : NULL;
}

void
temper_ratings_set_answer (TemperRatings *self,
                           guint          prompt,
                           const char    *source,
                           const char    *text)
{
  Answer *answer;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  answer = lookup_answer (self, prompt, source, TRUE);
  g_return_if_fail (answer != NULL);
  g_free (answer->text);
  answer->text = g_strdup (text);
  answer->complete = text != NULL;
  answer->cut_at = 0;   /* a new answer: whether it is cut is said again */
}

void
temper_ratings_append_answer (TemperRatings *self,
                              guint          prompt,
                              const char    *source,
                              const char    *text,
                              gsize          len)
{
  Answer *answer;
  char *joined;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  answer = lookup_answer (self, prompt, source, TRUE);
  g_return_if_fail (answer != NULL);
  joined = g_strdup_printf ("%s%.*s", answer->text != NULL ? answer->text : "", (int) len, text);
  g_free (answer->text);
  answer->text = joined;
  answer->complete = FALSE;
}

void
temper_ratings_set_complete (TemperRatings *self,
                             guint          prompt,
                             const char    *source,
                             gboolean       complete)
{
  Answer *answer;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  answer = lookup_answer (self, prompt, source, TRUE);
  g_return_if_fail (answer != NULL);
  if (answer->text == NULL && complete)
    answer->text = g_strdup ("");
  answer->complete = complete;
}

guint
temper_ratings_get_cut_at (TemperRatings *self,
                           guint          prompt,
                           const char    *source)
{
  Answer *answer;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  answer = lookup_answer (self, prompt, source, FALSE);
  return answer != NULL ? answer->cut_at : 0;
}

void
temper_ratings_set_cut_at (TemperRatings *self,
                           guint          prompt,
                           const char    *source,
                           guint          n_tokens)
{
  Answer *answer;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  answer = lookup_answer (self, prompt, source, TRUE);
  g_return_if_fail (answer != NULL);
  answer->cut_at = n_tokens;
}

gboolean
temper_ratings_has_answers (TemperRatings *self,
                            guint          prompt)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), FALSE);
  g_return_val_if_fail (prompt < self->prompts->len, FALSE);

  for (guint i = 0; i < self->sources->len; i++)
    {
      Answer *answer = lookup_answer (self, prompt, self->sources->pdata[i], FALSE);

      if (answer == NULL || !answer->complete)
        return FALSE;
    }
  return TRUE;
}

const char *
temper_ratings_get_verdict (TemperRatings *self,
                            guint          prompt)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), NULL);
  g_return_val_if_fail (prompt < self->prompts->len, NULL);
  return ((Prompt *) self->prompts->pdata[prompt])->verdict;
}

void
temper_ratings_set_verdict (TemperRatings *self,
                            guint          prompt,
                            const char    *verdict)
{
  Prompt *p;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (prompt < self->prompts->len);
  p = self->prompts->pdata[prompt];
  g_free (p->verdict);
  p->verdict = g_strdup (verdict);
}

int
temper_ratings_get_score (TemperRatings *self,
                          guint          prompt,
                          const char    *source,
                          TemperAspect   aspect)
{
  Answer *answer;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  g_return_val_if_fail (aspect < TEMPER_N_ASPECTS, 0);
  answer = lookup_answer (self, prompt, source, FALSE);
  return answer != NULL ? answer->scores[aspect] : 0;
}

void
temper_ratings_set_score (TemperRatings *self,
                          guint          prompt,
                          const char    *source,
                          TemperAspect   aspect,
                          int            score)
{
  Answer *answer;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (aspect < TEMPER_N_ASPECTS);
  g_return_if_fail (score >= 0 && score <= 5);
  answer = lookup_answer (self, prompt, source, TRUE);
  g_return_if_fail (answer != NULL);
  answer->scores[aspect] = score;
}

const char *
temper_ratings_get_note (TemperRatings *self,
                         guint          prompt)
{
  g_return_val_if_fail (TEMPER_IS_RATINGS (self), NULL);
  g_return_val_if_fail (prompt < self->prompts->len, NULL);
  return ((Prompt *) self->prompts->pdata[prompt])->note;
}

void
temper_ratings_set_note (TemperRatings *self,
                         guint          prompt,
                         const char    *note)
{
  Prompt *p;

  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (prompt < self->prompts->len);
  p = self->prompts->pdata[prompt];
  g_free (p->note);
  p->note = note != NULL && *note != '\0' ? g_strdup (note) : NULL;
}

void
temper_ratings_get_summary (TemperRatings        *self,
                            TemperRatingsSummary *summary)
{
  g_return_if_fail (TEMPER_IS_RATINGS (self));
  g_return_if_fail (summary != NULL);

  memset (summary, 0, sizeof *summary);
  summary->n_prompts = self->prompts->len;
  for (guint i = 0; i < self->prompts->len; i++)
    {
      const char *verdict = ((Prompt *) self->prompts->pdata[i])->verdict;

      if (verdict == NULL)
        continue;
      summary->n_judged++;
      if (g_str_equal (verdict, TEMPER_RATINGS_TIE))
        summary->ties++;
      else if (g_str_equal (verdict, TEMPER_RATINGS_BASE))
        summary->losses++;
      else
        summary->wins++;
    }
  summary->has_rate = temper_win_rate (summary->wins, summary->losses, summary->ties,
                                       &summary->rate, &summary->low, &summary->high);
}

guint
temper_ratings_count_picks (TemperRatings *self,
                            const char    *source)
{
  guint n = 0;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), 0);
  g_return_val_if_fail (source != NULL, 0);

  for (guint i = 0; i < self->prompts->len; i++)
    n += g_strcmp0 (((Prompt *) self->prompts->pdata[i])->verdict, source) == 0;
  return n;
}

const char *
temper_aspect_name (TemperAspect aspect)
{
  g_return_val_if_fail (aspect < TEMPER_N_ASPECTS, NULL);
  return aspect_names[aspect];
}

/* ---- Files ---------------------------------------------------------------- */

static const char *
origin_name (TemperPromptOrigin origin)
{
  switch (origin)
    {
    case TEMPER_PROMPT_FROM_VALIDATION: return "validation";
    case TEMPER_PROMPT_FROM_TRAINING:   return "training";
    case TEMPER_PROMPT_FROM_PERSON:
    default:                            return "own";
    }
}

/* Blind position @i as people read it: A, B, C, D. */
static char
position_letter (guint i)
{
  return (char) ('A' + i);
}

static int
order_position (TemperRatings *self,
                guint          prompt,
                guint          source)
{
  guint order[TEMPER_RATINGS_MAX_SOURCES];

  temper_ratings_get_order (self, prompt, order);
  for (guint i = 0; i < self->sources->len; i++)
    if (order[i] == source)
      return (int) i;
  return -1;
}

static void
build_ratings (TemperRatings *self,
               JsonBuilder   *b)
{
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  /* The seed goes as text: JSON readers keep only 53 bits of a number. */
  json_builder_set_member_name (b, "seed");
  {
    g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, self->seed);
    json_builder_add_string_value (b, seed);
  }
  json_builder_set_member_name (b, "sources");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->sources->len; i++)
    json_builder_add_string_value (b, self->sources->pdata[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "prompts");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->prompts->len; i++)
    {
      Prompt *p = self->prompts->pdata[i];
      guint order[TEMPER_RATINGS_MAX_SOURCES];
      GHashTableIter iter;
      gpointer key, value;
      g_autoptr(GList) keys = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "prompt");
      json_builder_add_string_value (b, p->text);
      json_builder_set_member_name (b, "origin");
      json_builder_add_string_value (b, origin_name (p->origin));
      /* The order blind mode shows, written so a reader need not redraw it. */
      temper_ratings_get_order (self, i, order);
      json_builder_set_member_name (b, "blind_order");
      json_builder_begin_array (b);
      for (guint k = 0; k < self->sources->len; k++)
        json_builder_add_string_value (b, self->sources->pdata[order[k]]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "verdict");
      if (p->verdict != NULL)
        json_builder_add_string_value (b, p->verdict);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "note");
      if (p->note != NULL)
        json_builder_add_string_value (b, p->note);
      else
        json_builder_add_null_value (b);

      json_builder_set_member_name (b, "answers");
      json_builder_begin_object (b);
      /* Sorted, so the file does not change when nothing did. */
      g_hash_table_iter_init (&iter, p->answers);
      while (g_hash_table_iter_next (&iter, &key, &value))
        keys = g_list_prepend (keys, key);
      keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          Answer *answer = g_hash_table_lookup (p->answers, l->data);

          json_builder_set_member_name (b, l->data);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "text");
          /* A half-streamed answer is not worth keeping. */
          if (answer->text != NULL && answer->complete)
            json_builder_add_string_value (b, answer->text);
          else
            json_builder_add_null_value (b);
          for (int a = 0; a < TEMPER_N_ASPECTS; a++)
            {
              json_builder_set_member_name (b, aspect_names[a]);
              if (answer->scores[a] > 0)
                json_builder_add_int_value (b, answer->scores[a]);
              else
                json_builder_add_null_value (b);
            }
          /* Optional: only a whole answer that the length limit cut has it. */
          if (answer->text != NULL && answer->complete && answer->cut_at > 0)
            {
              json_builder_set_member_name (b, "cut_at_tokens");
              json_builder_add_int_value (b, answer->cut_at);
            }
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static gboolean
write_text (const char  *path,
            const char  *text,
            GError     **error)
{
  g_autoptr(GError) local = NULL;

  /* Flushed to disk and renamed into place: a crash keeps the old ratings or the new. */
  if (!temper_fs_write_file (path, text, -1, &local))
    {
      g_set_error (error, local->domain, local->code,
                   _("The ratings could not be saved to %s: %s"), path, local->message);
      return FALSE;
    }
  return TRUE;
}

static char *
builder_to_text (JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

gboolean
temper_ratings_save (TemperRatings  *self,
                     const char     *path,
                     GError        **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *text = NULL;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  json_builder_begin_object (b);
  build_ratings (self, b);
  json_builder_end_object (b);
  text = builder_to_text (b);
  return write_text (path, text, error);
}

gboolean
temper_ratings_export_json (TemperRatings  *self,
                            const char     *path,
                            GError        **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *text = NULL;
  TemperRatingsSummary s;

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  temper_ratings_get_summary (self, &s);
  json_builder_begin_object (b);
  build_ratings (self, b);
  json_builder_set_member_name (b, "summary");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "prompts");
  json_builder_add_int_value (b, s.n_prompts);
  json_builder_set_member_name (b, "judged");
  json_builder_add_int_value (b, s.n_judged);
  json_builder_set_member_name (b, "tuned_better");
  json_builder_add_int_value (b, s.wins);
  json_builder_set_member_name (b, "base_better");
  json_builder_add_int_value (b, s.losses);
  json_builder_set_member_name (b, "ties");
  json_builder_add_int_value (b, s.ties);
  json_builder_set_member_name (b, "win_rate");
  if (s.has_rate)
    json_builder_add_double_value (b, s.rate);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "win_rate_95");
  if (s.has_rate)
    {
      json_builder_begin_array (b);
      json_builder_add_double_value (b, s.low);
      json_builder_add_double_value (b, s.high);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "picked");
  json_builder_begin_object (b);
  for (guint i = 0; i < self->sources->len; i++)
    {
      json_builder_set_member_name (b, self->sources->pdata[i]);
      json_builder_add_int_value (b, temper_ratings_count_picks (self, self->sources->pdata[i]));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);

  text = builder_to_text (b);
  return write_text (path, text, error);
}

/* RFC 4180: a field with a comma, quote or line break goes in quotes, its
 * quotes doubled.  A field a spreadsheet would run as a formula (it starts
 * with = + - @, a tab or a carriage return: a prompt or an answer such as
 * "=HYPERLINK(…)" or "=cmd|…") starts with an apostrophe, which spreadsheets
 * take as "this is text" and do not show. */
static void
append_csv_field (GString    *out,
                  const char *field,
                  gboolean    last)
{
  gboolean formula;

  if (field == NULL)
    field = "";
  formula = field[0] != '\0' && strchr ("=+-@\t\r", field[0]) != NULL;
  if (strpbrk (field, ",\"\r\n") != NULL)
    {
      g_string_append_c (out, '"');
      if (formula)
        g_string_append_c (out, '\'');
      for (const char *c = field; *c != '\0'; c++)
        {
          if (*c == '"')
            g_string_append_c (out, '"');
          g_string_append_c (out, *c);
        }
      g_string_append_c (out, '"');
    }
  else
    {
      if (formula)
        g_string_append_c (out, '\'');
      g_string_append (out, field);
    }
  g_string_append (out, last ? "\r\n" : ",");
}

gboolean
temper_ratings_export_csv (TemperRatings  *self,
                           const char     *path,
                           GError        **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_return_val_if_fail (TEMPER_IS_RATINGS (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  g_string_append (out, "prompt_number,prompt,origin,model,blind_position,answer,"
                        "relevance,accuracy,style,verdict,note\r\n");
  for (guint i = 0; i < self->prompts->len; i++)
    {
      Prompt *p = self->prompts->pdata[i];

      for (guint s = 0; s < self->sources->len; s++)
        {
          const char *source = self->sources->pdata[s];
          Answer *answer = g_hash_table_lookup (p->answers, source);
          g_autofree char *number = g_strdup_printf ("%u", i + 1);
          char position[2] = { position_letter ((guint) order_position (self, i, s)), '\0' };

          append_csv_field (out, number, FALSE);
          append_csv_field (out, p->text, FALSE);
          append_csv_field (out, origin_name (p->origin), FALSE);
          append_csv_field (out, source, FALSE);
          append_csv_field (out, position, FALSE);
          append_csv_field (out, answer != NULL && answer->complete ? answer->text : NULL, FALSE);
          for (int a = 0; a < TEMPER_N_ASPECTS; a++)
            {
              g_autofree char *score = answer != NULL && answer->scores[a] > 0
                                       ? g_strdup_printf ("%d", answer->scores[a]) : NULL;

              append_csv_field (out, score, FALSE);
            }
          append_csv_field (out, p->verdict, FALSE);
          append_csv_field (out, p->note, TRUE);
        }
    }
  return write_text (path, out->str, error);
}

/* ---- Reading ---------------------------------------------------------------- */

static gboolean
fail_format (GError     **error,
             const char  *path,
             const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("%s is not a ratings file Temper can read: %s"), path, what);
  return FALSE;
}

static const char *
string_member (JsonObject *o,
               const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
read_answers (TemperRatings *self,
              guint          prompt,
              JsonObject    *answers)
{
  g_autoptr(GList) members = json_object_get_members (answers);

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (answers, l->data);
      JsonObject *o;
      const char *text;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return FALSE;
      o = json_node_get_object (node);
      text = string_member (o, "text");
      temper_ratings_set_answer (self, prompt, l->data, text);
      for (int a = 0; a < TEMPER_N_ASPECTS; a++)
        {
          JsonNode *score = json_object_get_member (o, aspect_names[a]);

          if (score != NULL && JSON_NODE_HOLDS_VALUE (score))
            {
              gint64 v = json_node_get_int (score);

              if (v < 1 || v > 5)
                return FALSE;
              temper_ratings_set_score (self, prompt, l->data, a, (int) v);
            }
        }
      /* Absent from files written before it existed. */
      {
        JsonNode *cut = json_object_get_member (o, "cut_at_tokens");

        if (cut != NULL && !JSON_NODE_HOLDS_NULL (cut))
          {
            gint64 v;

            if (!JSON_NODE_HOLDS_VALUE (cut) || json_node_get_value_type (cut) != G_TYPE_INT64)
              return FALSE;
            v = json_node_get_int (cut);
            if (v < 1 || v > G_MAXUINT)
              return FALSE;
            temper_ratings_set_cut_at (self, prompt, l->data, (guint) v);
          }
      }
    }
  return TRUE;
}

TemperRatings *
temper_ratings_load (const char  *path,
                     GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(TemperRatings) self = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *o;
  JsonArray *sources, *prompts;
  const char *seed;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  g_return_val_if_fail (path != NULL, NULL);

  root = temper_json_parse_file (path, TEMPER_JSON_MAX_DOCUMENT_SIZE, &local);
  if (root == NULL)
    {
      fail_format (error, path, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      fail_format (error, path, _("it does not hold a JSON object"));
      return NULL;
    }
  o = json_node_get_object (root);
  seed = string_member (o, "seed");
  if (seed == NULL || !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, NULL, NULL) ||
      !json_object_has_member (o, "sources") || !json_object_has_member (o, "prompts") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "sources")) ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "prompts")))
    {
      fail_format (error, path, _("the seed, the models or the prompts are missing"));
      return NULL;
    }
  self = temper_ratings_new (g_ascii_strtoull (seed, NULL, 10));

  sources = json_object_get_array_member (o, "sources");
  for (guint i = 0; i < json_array_get_length (sources); i++)
    {
      JsonNode *node = json_array_get_element (sources, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          fail_format (error, path, _("a model name is not text"));
          return NULL;
        }
      g_ptr_array_add (ids, (gpointer) json_node_get_string (node));
    }
  if (ids->len < 2)
    {
      fail_format (error, path, _("it compares fewer than two models"));
      return NULL;
    }
  g_ptr_array_add (ids, NULL);
  temper_ratings_set_sources (self, (const char *const *) ids->pdata);

  prompts = json_object_get_array_member (o, "prompts");
  for (guint i = 0; i < json_array_get_length (prompts); i++)
    {
      JsonNode *node = json_array_get_element (prompts, i);
      JsonObject *p;
      const char *text, *origin;
      JsonNode *answers;
      guint index;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          fail_format (error, path, _("a prompt is not a JSON object"));
          return NULL;
        }
      p = json_node_get_object (node);
      text = string_member (p, "prompt");
      origin = string_member (p, "origin");
      if (text == NULL)
        {
          fail_format (error, path, _("a prompt has no text"));
          return NULL;
        }
      index = temper_ratings_add_prompt (self, text,
                                         g_strcmp0 (origin, "validation") == 0 ? TEMPER_PROMPT_FROM_VALIDATION
                                         : g_strcmp0 (origin, "training") == 0 ? TEMPER_PROMPT_FROM_TRAINING
                                                                               : TEMPER_PROMPT_FROM_PERSON);
      temper_ratings_set_verdict (self, index, string_member (p, "verdict"));
      temper_ratings_set_note (self, index, string_member (p, "note"));
      answers = json_object_get_member (p, "answers");
      if (answers != NULL && (!JSON_NODE_HOLDS_OBJECT (answers) ||
                              !read_answers (self, index, json_node_get_object (answers))))
        {
          fail_format (error, path, _("the answers of a prompt are not as Temper writes them"));
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}
