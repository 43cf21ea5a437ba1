/* SPDX-License-Identifier: MIT */
/* temper-dataset-report.c — token statistics, the JSON report, and the
 * train/validation split. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-dataset-private.h"

static const int bucket_starts[TEMPER_DATASET_N_BUCKETS] = {
  0, 64, 128, 256, 512, 1024, 2048, 4096,
};

int
temper_dataset_bucket_start (guint i)
{
  g_return_val_if_fail (i < TEMPER_DATASET_N_BUCKETS, 0);
  return bucket_starts[i];
}

static guint
bucket_of (guint32 length)
{
  guint b = 0;

  while (b + 1 < TEMPER_DATASET_N_BUCKETS && length >= (guint32) bucket_starts[b + 1])
    b++;
  return b;
}

static gint
compare_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* Median and 95th percentile use the nearest-rank definition: the smallest
 * length with at least half (95%) of the records at or below it. */
void
temper_dataset_length_stats (const guint32 *lengths, gsize n, int max_length, TemperDatasetLengthStats *stats)
{
  g_autofree guint32 *sorted = NULL;

  g_return_if_fail (lengths != NULL || n == 0);
  g_return_if_fail (stats != NULL);
  memset (stats, 0, sizeof *stats);
  if (n == 0)
    return;
  sorted = g_memdup2 (lengths, n * sizeof (guint32));
  qsort (sorted, n, sizeof (guint32), compare_u32);
  stats->n = n;
  for (gsize i = 0; i < n; i++)
    {
      stats->total += sorted[i];
      stats->n_cut += max_length > 0 && sorted[i] > (guint32) max_length;
    }
  stats->min = (int) sorted[0];
  stats->max = (int) sorted[n - 1];
  stats->mean = (double) stats->total / n;
  stats->median = (int) sorted[(n + 1) / 2 - 1];
  stats->p95 = (int) sorted[(gsize) ceil (0.95 * n) - 1];
}

void
temper_dataset_compute_stats (temper_dataset_t *ds)
{
  TemperDatasetReport *r = &ds->report;
  TemperDatasetLengthStats stats;
  guint n = ds->lengths->len;

  memset (r->histogram, 0, sizeof r->histogram);
  r->has_token_stats = ds->has_tokens && n > 0;
  if (!r->has_token_stats)
    return;

  temper_dataset_length_stats ((const guint32 *) (gpointer) ds->lengths->data, n, 0, &stats);
  for (guint i = 0; i < n; i++)
    r->histogram[bucket_of (g_array_index (ds->lengths, guint32, i))]++;
  r->token_min = stats.min;
  r->token_max = stats.max;
  r->token_mean = stats.mean;
  r->token_median = stats.median;
  r->token_p95 = stats.p95;

  r->tokens_total = ds->token_ids->len;
  r->tokens_trained = 0;
  for (guint i = 0; i < ds->token_mask->len; i++)
    r->tokens_trained += ds->token_mask->data[i];
}

char *
temper_dataset_report_to_json (const temper_dataset_t *ds)
{
  return temper_dataset_report_to_json_with_findings (ds, NULL);
}

static void
add_findings (JsonBuilder *b, const GArray *findings)
{
  json_builder_set_member_name (b, "findings");
  json_builder_begin_array (b);
  for (guint i = 0; i < findings->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (findings, TemperDatasetFinding, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, temper_dataset_finding_kind_name (f->kind));
      json_builder_set_member_name (b, "line");
      json_builder_add_int_value (b, f->line);
      if (f->item >= 0)
        {
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, f->item);
        }
      if (f->other_line >= 0)
        {
          json_builder_set_member_name (b, "other_line");
          json_builder_add_int_value (b, f->other_line);
        }
      json_builder_set_member_name (b, "excerpt");
      json_builder_add_string_value (b, f->excerpt);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, f->message);
      json_builder_set_member_name (b, "fix");
      json_builder_add_string_value (b, f->fix);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

char *
temper_dataset_report_to_json_with_findings (const temper_dataset_t *ds, const GArray *findings)
{
  const TemperDatasetReport *r = &ds->report;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, ds->path);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, temper_dataset_format_name (r->format));
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, temper_dataset_layout_name (r->layout));
  if (r->columns != NULL)
    {
      json_builder_set_member_name (b, "columns");
      json_builder_begin_array (b);
      for (guint i = 0; i < r->n_columns; i++)
        json_builder_add_string_value (b, r->columns[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "question_column");
      json_builder_add_int_value (b, r->question_column + 1);
      json_builder_set_member_name (b, "answer_column");
      json_builder_add_int_value (b, r->answer_column + 1);
      if (r->system_column >= 0)
        {
          json_builder_set_member_name (b, "system_column");
          json_builder_add_int_value (b, r->system_column + 1);
        }
    }
  if (r->layout == TEMPER_DATASET_LAYOUT_TEXT)
    {
      json_builder_set_member_name (b, "chunk_length");
      json_builder_add_int_value (b, r->chunk_length);
      json_builder_set_member_name (b, "chunk_overlap");
      json_builder_add_int_value (b, r->chunk_overlap);
    }
  json_builder_set_member_name (b, "records");
  json_builder_add_int_value (b, r->n_records);
  json_builder_set_member_name (b, "valid");
  json_builder_add_int_value (b, r->n_valid);
  json_builder_set_member_name (b, "dropped");
  json_builder_add_int_value (b, r->n_dropped);
  json_builder_set_member_name (b, "truncated");
  json_builder_add_int_value (b, r->n_truncated);
  json_builder_set_member_name (b, "max_length");
  json_builder_add_int_value (b, ds->options.max_length);
  json_builder_set_member_name (b, "loss_on");
  json_builder_add_string_value (b, ds->options.train_on_prompt ? "all-tokens" : "answers");

  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->n_listed; i++)
    {
      const TemperDatasetProblem *p = &r->problems[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "line");
      json_builder_add_int_value (b, p->line);
      if (p->item >= 0)
        {
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, p->item);
        }
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, temper_dataset_problem_kind_name (p->kind));
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, p->message);
      if (p->duplicate_of >= 0)
        {
          json_builder_set_member_name (b, "duplicate_of_line");
          json_builder_add_int_value (b, p->duplicate_of);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "problems_not_listed");
  json_builder_add_int_value (b, r->n_problems - r->n_listed);
  if (findings != NULL)
    add_findings (b, findings);

  if (r->has_token_stats)
    {
      json_builder_set_member_name (b, "tokens");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "total");
      json_builder_add_int_value (b, r->tokens_total);
      json_builder_set_member_name (b, "trained");
      json_builder_add_int_value (b, r->tokens_trained);
      json_builder_set_member_name (b, "min");
      json_builder_add_int_value (b, r->token_min);
      json_builder_set_member_name (b, "mean");
      json_builder_add_double_value (b, r->token_mean);
      json_builder_set_member_name (b, "median");
      json_builder_add_int_value (b, r->token_median);
      json_builder_set_member_name (b, "p95");
      json_builder_add_int_value (b, r->token_p95);
      json_builder_set_member_name (b, "max");
      json_builder_add_int_value (b, r->token_max);
      json_builder_set_member_name (b, "histogram");
      json_builder_begin_array (b);
      for (guint i = 0; i < TEMPER_DATASET_N_BUCKETS; i++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "from");
          json_builder_add_int_value (b, bucket_starts[i]);
          if (i + 1 < TEMPER_DATASET_N_BUCKETS)
            {
              json_builder_set_member_name (b, "to");
              json_builder_add_int_value (b, bucket_starts[i + 1]);
            }
          json_builder_set_member_name (b, "count");
          json_builder_add_int_value (b, r->histogram[i]);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

double
temper_dataset_default_validation_fraction (gsize n_records)
{
  return n_records >= 50 ? 0.1 : 0.0;
}

/* splitmix64: a stable sequence for a seed on every platform and GLib
 * version, so a split can be reproduced from the seed stored with a run. */
static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a;
  guint y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

guint
temper_dataset_split_count (guint n, double fraction)
{
  guint n_val = 0;

  if (fraction > 0.0 && n >= 2)
    {
      n_val = (guint) floor (n * fraction + 0.5);
      n_val = CLAMP (n_val, 1, n - 1);
    }
  return n_val;
}

void
temper_dataset_split (const temper_dataset_t *ds, double fraction, guint64 seed,
                      GArray **train, GArray **validation)
{
  temper_dataset_split_n (ds->records->len, fraction, seed, train, validation);
}

void
temper_dataset_split_n (guint n, double fraction, guint64 seed, GArray **train, GArray **validation)
{
  g_autofree guint *order = g_new (guint, MAX (n, 1));
  guint64 state = seed;
  guint n_val;

  g_return_if_fail (fraction >= 0.0 && fraction < 1.0);

  n_val = temper_dataset_split_count (n, fraction);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  /* A partial Fisher–Yates shuffle: the first n_val places are a uniform
   * random choice of records. */
  for (guint i = 0; i < n_val; i++)
    {
      guint j = i + (guint) (splitmix64 (&state) % (n - i));
      guint t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  *validation = g_array_sized_new (FALSE, FALSE, sizeof (guint), n_val);
  *train = g_array_sized_new (FALSE, FALSE, sizeof (guint), n - n_val);
  g_array_append_vals (*validation, order, n_val);
  g_array_append_vals (*train, order + n_val, n - n_val);
  g_array_sort (*validation, compare_uint);
  g_array_sort (*train, compare_uint);
}
