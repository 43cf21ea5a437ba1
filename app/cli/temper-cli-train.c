/* SPDX-License-Identifier: MIT */
/* temper-cli train / resume — fine-tune a model with LoRA into a run folder. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/backend-choice.h"
#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/json.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-cli.h"

static void
print_progress (const TemperTrainProgress *p, gpointer user_data)
{
  gboolean *named_device = user_data;

  if (!*named_device && p->device_note != NULL)
    printf ("%s\n", p->device_note);
  if (!*named_device && p->device != NULL)
    printf (_("Training on %s\n"), p->device);
  *named_device = TRUE;
  printf (_("step %5" PRId64 "/%-5" PRId64 "  epoch %5.2f  loss %7.4f"),
          p->step, p->total_steps, p->epoch, p->loss);
  if (!isnan (p->val_loss))
    printf (_("  val loss %7.4f (perplexity %.2f)"), p->val_loss, exp (p->val_loss));
  printf (_("  lr %.2e  grad norm %6.3f  %6.1f tokens/s  %4.0f MiB\n"), p->lr, p->grad_norm,
          p->tokens_per_s, p->memory_bytes / 1048576.0);
  fflush (stdout);
}

/* Trains @run, printing a line per step; Ctrl+C stops with a checkpoint. */
static int
train_run (const char *command, temper_run_t *run, temper_model_t *model, int threads,
           TemperBackendKind backend, int device)
{
  gboolean named_device = FALSE;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *adapter = temper_run_dup_adapter_dir (run);
  TemperTrainOptions options;
  TemperCliProgress stages;
  gboolean ok;

  temper_cli_cancel_on_interrupt (cancellable);
  temper_cli_progress_init (&stages, NULL);
  temper_train_options_init (&options);
  options.n_threads = threads;
  options.cancellable = cancellable;
  options.progress = print_progress;
  options.progress_data = &named_device;
  options.stage = temper_cli_show_stage;
  options.stage_data = &stages;
  options.backend = backend;
  options.device = device;
  printf (_("Training in %s (press Ctrl+C to stop; “temper-cli resume” continues)\n"),
          temper_run_get_dir (run));
  {
    g_autofree char *scope = temper_model_describe_lora_scope (model);

    if (scope != NULL)
      printf ("%s\n", scope);
  }
  if (temper_model_get_base_weights (model) == TEMPER_BASE_WEIGHTS_NF4)
    {
      g_autofree char *now = g_format_size (temper_model_get_weight_bytes (model));
      g_autofree char *stored = g_format_size (temper_model_get_stored_weight_bytes (model));

      printf (_("Base weights NF4: %s (%s as stored); merged exports use the original weights\n"),
              now, stored);
    }
  ok = temper_train_run (run, model, &options, &error);
  temper_cli_progress_clear (&stages);
  if (!ok)
    {
      if (g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
        return temper_cli_fail (command, TEMPER_CLI_EXIT_FAILED,
                                _("stopped; continue with: temper-cli resume %s"),
                                temper_run_get_dir (run));
      return temper_cli_error (command, error);
    }
  {
    g_autofree char *outcome = temper_train_describe_outcome (run);
    if (outcome != NULL)
      printf ("%s\n", outcome);
  }
  printf (_("Done. The adapter (PEFT format) is in %s\n"), adapter);
  return TEMPER_CLI_EXIT_OK;
}

/* Loads and checks the dataset as training will; prints the problems on
 * stderr.  FALSE when training must not go on. */
typedef struct {
  const char *question, *answer, *system;   /* CSV/TSV column choices, or NULL */
} Columns;

/* Loads and checks the dataset as training will; prints the problems on
 * stderr.  With column choices for a table, writes the records as JSONL to
 * *@converted (in @tmpdir) so the run's snapshot needs no choices to be read
 * again.  FALSE when training must not go on. */
static gboolean
check_dataset_columns (const char *path, temper_model_t *model, const TemperTrainSettings *s,
                       gboolean accept_dropped, const Columns *columns, const char *tmpdir,
                       char **converted, guint64 *records, guint64 *tokens, int *code);

static gboolean
check_dataset (const char *path, temper_model_t *model, const TemperTrainSettings *s,
               gboolean accept_dropped, int *code)
{
  return check_dataset_columns (path, model, s, accept_dropped, NULL, NULL, NULL, NULL, NULL, code);
}

/* Adds the usable records and their tokens to *@records and *@tokens when
 * they are given (the time estimate's facts). */
static gboolean
check_dataset_columns (const char *path, temper_model_t *model, const TemperTrainSettings *s,
                       gboolean accept_dropped, const Columns *columns, const char *tmpdir,
                       char **converted, guint64 *records, guint64 *tokens, int *code)
{
  g_autoptr(temper_chat_template_t) tmpl =
    temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;
  const TemperDatasetReport *r;
  TemperDatasetOptions opts;
  TemperCliProgress progress;

  temper_cli_progress_init (&progress, _("Reading the dataset"));
  temper_dataset_options_init (&opts);
  opts.chat_template = tmpl;
  opts.max_length = s->max_length;
  opts.train_on_prompt = s->train_on_all_tokens;
  opts.progress = temper_cli_show_fraction;
  opts.progress_data = &progress;
  if (columns != NULL)
    {
      opts.question_column = columns->question;
      opts.answer_column = columns->answer;
      opts.system_column = columns->system;
    }
  ds = temper_dataset_load (path, &opts, &error);
  temper_cli_progress_clear (&progress);
  if (ds == NULL)
    {
      *code = temper_cli_error ("train", error);
      return FALSE;
    }
  r = temper_dataset_get_report (ds);
  printf (_("Dataset %s: %" PRIu64 " usable records of %" PRIu64
          " (%s), %" PRIu64 " tokens, %" PRIu64 " of them trained on, %"
          PRIu64 " cut at %d tokens\n"), path, r->n_valid, r->n_records,
          temper_dataset_format_label (r->format), r->tokens_total, r->tokens_trained,
          r->n_truncated, s->max_length);
  if (records != NULL)
    *records += r->n_valid;
  if (tokens != NULL)
    *tokens += r->tokens_total;
  if (r->n_dropped > 0)
    {
      fprintf (stderr, g_dngettext (GETTEXT_PACKAGE, "%s: %" PRIu64 " record cannot be used:\n",
                                    "%s: %" PRIu64 " records cannot be used:\n", r->n_dropped),
               path, r->n_dropped);
      for (guint i = 0; i < r->n_listed; i++)
        {
          g_autofree char *place = temper_dataset_describe_place (r->problems[i].line, r->problems[i].item);

          g_autofree char *message = temper_cli_printable (r->problems[i].message, FALSE);

          fprintf (stderr, "  ");
          fprintf (stderr, _("%s: %s"), place, message);
          fputc ('\n', stderr);
        }
      if (!accept_dropped)
        {
          *code = temper_cli_fail ("train", TEMPER_CLI_EXIT_FAILED,
                                   _("fix these records, or add --yes to train on the %" PRIu64
                                   " good ones"), r->n_valid);
          return FALSE;
        }
    }
  if (converted != NULL && columns != NULL &&
      (columns->question != NULL || columns->answer != NULL || columns->system != NULL))
    {
      g_autofree char *base = g_path_get_basename (path);
      char *dot = strrchr (base, '.');

      if (dot != NULL)
        *dot = '\0';
      *converted = g_strdup_printf ("%s/%s.jsonl", tmpdir, base);
      if (temper_dataset_write_jsonl (ds, NULL, *converted, &error) < 0)
        {
          *code = temper_cli_error ("train", error);
          return FALSE;
        }
    }
  return TRUE;
}

/* --data A --data B with weights as A.jsonl:0.7 or --mix 0.7,0.3 (equal
 * when neither).  Fills @paths and @weights; FALSE with a message. */
static gboolean
parse_data_list (char **list, const char *mix, GPtrArray *paths, GArray *weights, GError **error)
{
  gboolean any_suffix = FALSE;

  for (guint i = 0; list[i] != NULL; i++)
    {
      const char *colon = strrchr (list[i], ':');
      double w = 1.0;
      char *end = NULL;

      if (colon != NULL && !g_file_test (list[i], G_FILE_TEST_EXISTS))
        {
          w = g_ascii_strtod (colon + 1, &end);
          if (end == colon + 1 || *end != '\0' || !(w > 0) || !isfinite (w))
            {
              g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("--data %s: the share after “:” must be a positive number, as in data.jsonl:0.7"),
                           list[i]);
              return FALSE;
            }
          g_ptr_array_add (paths, g_strndup (list[i], colon - list[i]));
          any_suffix = TRUE;
        }
      else
        g_ptr_array_add (paths, g_strdup (list[i]));
      g_array_append_val (weights, w);
    }
  if (mix != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (mix, ",", -1);

      if (any_suffix || g_strv_length (parts) != paths->len)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("--mix needs one share per --data (%u), and no shares after “:”"), paths->len);
          return FALSE;
        }
      for (guint i = 0; parts[i] != NULL; i++)
        {
          char *end = NULL;
          double w = g_ascii_strtod (parts[i], &end);

          if (end == parts[i] || *end != '\0' || !(w > 0) || !isfinite (w))
            {
              g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("--mix: “%s” is not a positive number"), parts[i]);
              return FALSE;
            }
          g_array_index (weights, double, i) = w;
        }
    }
  return TRUE;
}

/* Writes the mixed records to @out; says how many came from each file. */
static gboolean
write_mix (GPtrArray *paths, GArray *weights, const Columns *columns, guint64 seed,
           const char *out, GError **error)
{
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_dataset_free);
  g_autofree guint64 *counts = g_new0 (guint64, paths->len);
  double sum = 0;
  gint64 written;

  for (guint i = 0; i < paths->len; i++)
    {
      TemperDatasetOptions opts;
      temper_dataset_t *ds;

      temper_dataset_options_init (&opts);
      opts.question_column = columns->question;
      opts.answer_column = columns->answer;
      opts.system_column = columns->system;
      ds = temper_dataset_load (g_ptr_array_index (paths, i), &opts, error);
      if (ds == NULL)
        return FALSE;
      g_ptr_array_add (loaded, ds);
      sum += g_array_index (weights, double, i);
    }
  written = temper_dataset_write_mix ((temper_dataset_t *const *) loaded->pdata, (const double *) weights->data,
                                      paths->len, seed, out, counts, error);
  if (written < 0)
    return FALSE;
  printf (_("Mixing %" PRId64 " records:\n"), written);
  for (guint i = 0; i < paths->len; i++)
    printf (_("  %s: %.0f %%, %" PRIu64 " of its %zu records\n"), (const char *) g_ptr_array_index (paths, i),
            100.0 * g_array_index (weights, double, i) / sum, counts[i],
            temper_dataset_get_n_records (g_ptr_array_index (loaded, i)));
  return TRUE;
}

/* Keeps the mixed files in RUN/dataset/sources/ and the mix in
 * RUN/dataset/mix.json, so the run says what it was trained on. */
static gboolean
record_mix (temper_run_t *run, GPtrArray *paths, GArray *weights, GError **error)
{
  g_autofree char *dir = g_build_filename (temper_run_get_dir (run), "dataset", "sources", NULL);
  g_autofree char *json_path = g_build_filename (temper_run_get_dir (run), "dataset", "mix.json", NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO, _("Could not create “%s”"), dir);
      return FALSE;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sources");
  json_builder_begin_array (b);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *name = g_strdup_printf ("%u-%s", i + 1, base);
      g_autofree char *copy = g_build_filename (dir, name, NULL);
      g_autoptr(GFile) from = g_file_new_for_path (path);
      g_autoptr(GFile) to = g_file_new_for_path (copy);

      if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
        return FALSE;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "copy");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "share");
      json_builder_add_double_value (b, g_array_index (weights, double, i));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  return g_file_set_contents (json_path, text, -1, error);
}

/* The automatic settings, one line each with the sentence saying why;
 * those the person set with a flag are said to be theirs. */
static void
print_choices (TemperTrainPreset preset, const TemperTrainSettings *s,
               const TemperTrainReasons *reasons, const gboolean *given)
{
  g_autofree char *targets = temper_lora_targets_to_string (s->lora.targets);
  const char *labels[TEMPER_TRAIN_N_WHY];
  char *values[TEMPER_TRAIN_N_WHY];

  labels[TEMPER_TRAIN_WHY_LEARNING_RATE] = _("Learning rate");
  values[TEMPER_TRAIN_WHY_LEARNING_RATE] = g_strdup_printf ("%.2g", s->learning_rate);
  labels[TEMPER_TRAIN_WHY_SCHEDULE] = _("Schedule");
  values[TEMPER_TRAIN_WHY_SCHEDULE] = g_strdup_printf (_("%s, %lld warm-up steps"),
                                                       temper_lr_schedule_name (s->schedule),
                                                       (long long) s->warmup_steps);
  labels[TEMPER_TRAIN_WHY_EPOCHS] = _("Passes");
  values[TEMPER_TRAIN_WHY_EPOCHS] = s->max_steps > 0 ? g_strdup_printf (_("%lld steps"), (long long) s->max_steps)
                                                     : g_strdup_printf ("%d", s->epochs);
  labels[TEMPER_TRAIN_WHY_RANK] = _("Rank, alpha");
  values[TEMPER_TRAIN_WHY_RANK] = g_strdup_printf ("%d, %g", s->lora.rank, (double) s->lora.alpha);
  labels[TEMPER_TRAIN_WHY_TARGETS] = _("Layers");
  values[TEMPER_TRAIN_WHY_TARGETS] = g_strdup (targets);
  labels[TEMPER_TRAIN_WHY_BATCH] = _("Batch");
  values[TEMPER_TRAIN_WHY_BATCH] = g_strdup_printf (_("%d records at a time × %d"), s->micro_batch, s->grad_accum);
  labels[TEMPER_TRAIN_WHY_MAX_LENGTH] = _("Length");
  values[TEMPER_TRAIN_WHY_MAX_LENGTH] = g_strdup_printf (_("%d tokens"), s->max_length);
  labels[TEMPER_TRAIN_WHY_VALIDATION] = _("Validation");
  values[TEMPER_TRAIN_WHY_VALIDATION] = s->val_fraction == 0.0 ? g_strdup (_("none"))
                                      : s->val_fraction < 0 ? g_strdup (_("automatic"))
                                      : g_strdup_printf ("%g", s->val_fraction);
  labels[TEMPER_TRAIN_WHY_REPLAY] = _("General answers");
  values[TEMPER_TRAIN_WHY_REPLAY] = s->replay_records == 0 ? g_strdup (_("none"))
                                  : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d of the base model's own",
                                                                  "%d of the base model's own", s->replay_records),
                                                     s->replay_records);

  /* Translators: %s is quick, balanced or thorough (kept in English: it is the --preset word) */
  printf (_("Settings chosen for this model and data (preset %s; a flag overrides any of them):\n"),
          temper_train_preset_name (preset));
  for (int i = 0; i < TEMPER_TRAIN_N_WHY; i++)
    {
      const char *why = given[i] ? _("Set by you.") : reasons->sentence[i];

      /* Translators: a setting, its value and why it was chosen: "Learning rate: 0.003 — The rate that …" */
      printf (_("  %s: %s — %s\n"), labels[i], values[i], why != NULL ? why : "");
      g_free (values[i]);
    }
}

/* The flags of `train`, as given (-1 or NULL: not given). */
typedef struct {
  char   *model_path, *config, *backend, *mix, *targets, *out, *schedule, *val_data;
  char   *base_weights, *from, *preset_name, *question_column, *answer_column, *system_column;
  char  **data_list;
  int     epochs, rank, batch, grad_accum, max_length, threads, patience, device, replay;
  gint64  max_steps, seed, eval_every, checkpoint_every, warmup;
  double  alpha, lr, dropout;
  gboolean yes, recompute, exact, all_tokens, rslora, dry_run;
} TrainFlags;

static void
train_flags_clear (TrainFlags *f)
{
  g_free (f->model_path); g_free (f->config); g_free (f->backend); g_free (f->mix);
  g_free (f->targets); g_free (f->out); g_free (f->schedule); g_free (f->val_data);
  g_free (f->base_weights); g_free (f->from); g_free (f->preset_name);
  g_free (f->question_column); g_free (f->answer_column); g_free (f->system_column);
  g_strfreev (f->data_list);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrainFlags, train_flags_clear)

/* Lays the flags the person gave over @s (the automatic or --config
 * settings) and checks the result. */
static gboolean
apply_flags (const TrainFlags *f, TemperTrainSettings *s, GError **error)
{
  if (f->epochs >= 0) { s->epochs = f->epochs; s->max_steps = 0; }
  if (f->max_steps >= 0) s->max_steps = f->max_steps;
  if (f->rank >= 0) s->lora.rank = f->rank;
  if (f->alpha >= 0) s->lora.alpha = (float) f->alpha;
  if (f->dropout >= 0) s->lora.dropout = (float) f->dropout;
  if (f->rslora) s->lora.use_rslora = TRUE;
  if (f->lr >= 0) s->learning_rate = f->lr;
  if (f->warmup >= 0) s->warmup_steps = f->warmup;
  if (f->batch >= 0) s->micro_batch = f->batch;
  if (f->grad_accum >= 0) s->grad_accum = f->grad_accum;
  if (f->max_length >= 0) s->max_length = f->max_length;
  if (f->seed >= 0) s->seed = (guint64) f->seed;
  if (f->eval_every >= 0) s->eval_every = f->eval_every;
  if (f->checkpoint_every >= 0) s->checkpoint_every = f->checkpoint_every;
  if (f->patience >= 0) s->patience = f->patience;
  if (f->replay >= 0) s->replay_records = f->replay;
  if (f->recompute) s->recompute = TRUE;
  if (f->exact) s->exact = TRUE;
  if (f->all_tokens) s->train_on_all_tokens = TRUE;
  return (f->targets == NULL || temper_lora_targets_parse (f->targets, &s->lora.targets, error))
         && (f->schedule == NULL || temper_lr_schedule_parse (f->schedule, &s->schedule, error))
         && (f->base_weights == NULL || temper_base_weights_parse (f->base_weights, &s->base_weights, error))
         && temper_train_settings_validate (s, error);
}

/* Loads the model (into *@model, once) for the automatic settings. */
static gboolean
load_model (const TrainFlags *f, temper_model_t **model, int *code)
{
  g_autoptr(GError) error = NULL;

  if (*model != NULL)
    return TRUE;
  *model = temper_model_load (f->model_path, NULL, &error);
  if (*model == NULL && g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED))
    *code = temper_cli_fail ("train", TEMPER_CLI_EXIT_FAILED, _("Temper cannot train this model. %s"),
                             error->message);
  else if (*model == NULL)
    *code = temper_cli_error ("train", error);
  return *model != NULL;
}

/* The settings chosen for the model and the measured data (@preset: how
 * long it may take), with the reasons, before the flags are laid over. */
static gboolean
choose_settings (const TrainFlags *f, GPtrArray *data_paths, TemperTrainPreset preset,
                 temper_model_t **model, TemperTrainSettings *s, TemperTrainReasons *reasons, int *code)
{
  g_autoptr(GError) error = NULL;
  TemperTrainFacts facts = { 0 };
  TemperDatasetOptions column_opts;
  TemperBaseWeights held = s->base_weights;

  temper_dataset_options_init (&column_opts);
  column_opts.question_column = f->question_column;
  column_opts.answer_column = f->answer_column;
  column_opts.system_column = f->system_column;
  if (!load_model (f, model, code))
    return FALSE;
  for (guint i = 0; i < data_paths->len; i++)
    if (!temper_train_facts_measure (*model, g_ptr_array_index (data_paths, i), &column_opts, &facts, &error))
      {
        *code = temper_cli_error ("train", error);
        return FALSE;
      }
  temper_train_reasons_clear (reasons);
  temper_train_settings_choose (&facts, preset, s, reasons);
  s->base_weights = held;
  if (f->rank >= 0 && f->alpha < 0)
    s->lora.alpha = 2.0f * (float) f->rank;   /* the scaling the automatic rank has */
  return TRUE;
}

/* Which values the person set with a flag (print_choices says so). */
static void
note_given (const TrainFlags *f, gboolean given[TEMPER_TRAIN_N_WHY])
{
  given[TEMPER_TRAIN_WHY_LEARNING_RATE] = f->lr >= 0;
  given[TEMPER_TRAIN_WHY_SCHEDULE] = f->schedule != NULL || f->warmup >= 0;
  given[TEMPER_TRAIN_WHY_EPOCHS] = f->epochs >= 0 || f->max_steps >= 0;
  given[TEMPER_TRAIN_WHY_RANK] = f->rank >= 0 || f->alpha >= 0;
  given[TEMPER_TRAIN_WHY_TARGETS] = f->targets != NULL;
  given[TEMPER_TRAIN_WHY_BATCH] = f->batch >= 0 || f->grad_accum >= 0;
  given[TEMPER_TRAIN_WHY_MAX_LENGTH] = f->max_length >= 0;
  given[TEMPER_TRAIN_WHY_VALIDATION] = f->val_data != NULL;
  given[TEMPER_TRAIN_WHY_REPLAY] = f->replay >= 0;
}

/* Checks every data file (and the validation file) against the model; a
 * table read with chosen columns, or several files mixed, become one JSONL
 * in a temporary folder (*@converted, *@tmpdir), the person's files
 * untouched. */
static gboolean
prepare_data (const TrainFlags *f, GPtrArray *data_paths, GArray *data_weights, temper_model_t *model,
              TemperTrainSettings *s, char **converted, char **tmpdir, guint64 *records,
              guint64 *tokens, int *code)
{
  g_autoptr(GError) error = NULL;
  Columns columns = { f->question_column, f->answer_column, f->system_column };

  if (f->question_column != NULL || f->answer_column != NULL || f->system_column != NULL
      || data_paths->len > 1)
    {
      *tmpdir = g_dir_make_tmp ("temper-train-XXXXXX", &error);
      if (*tmpdir == NULL)
        {
          *code = temper_cli_error ("train", error);
          return FALSE;
        }
    }
  for (guint i = 0; i < data_paths->len; i++)
    if (!check_dataset_columns (g_ptr_array_index (data_paths, i), model, s, f->yes, &columns, *tmpdir,
                                data_paths->len == 1 ? converted : NULL, records, tokens, code))
      return FALSE;
  if (data_paths->len > 1)
    {
      *converted = g_build_filename (*tmpdir, "mix.jsonl", NULL);
      if (!write_mix (data_paths, data_weights, &columns, s->seed, *converted, &error))
        {
          *code = temper_cli_error ("train", error);
          return FALSE;
        }
    }
  return f->val_data == NULL || check_dataset (f->val_data, model, s, f->yes, code);
}

int
temper_cli_train (int argc, char **argv)
{
  g_auto(TrainFlags) f = {
    .epochs = -1, .rank = -1, .batch = -1, .grad_accum = -1, .max_length = -1, .patience = -1, .device = -1,
    .max_steps = -1, .seed = -1, .eval_every = -1, .checkpoint_every = -1, .warmup = -1,
    .alpha = -1, .lr = -1, .dropout = -1, .replay = -1,
  };
  g_autoptr(GPtrArray) data_paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) data_weights = g_array_new (FALSE, FALSE, sizeof (double));
  const char *data = NULL;
  g_autofree char *converted = NULL, *tmpdir = NULL, *out = NULL;
  TemperTrainPreset preset = TEMPER_TRAIN_PRESET_BALANCED;
  TemperBackendKind backend_kind = TEMPER_BACKEND_CPU;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainSettings s;
  g_auto(TemperTrainReasons) reasons = { { NULL } };
  gboolean given[TEMPER_TRAIN_N_WHY];
  guint64 records = 0, tokens = 0;
  int code;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &f.model_path, N_("The model: a .gguf file or a Hugging Face folder"), "M" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &f.data_list,
      N_("The training data (JSON, JSONL, CSV, TSV, text); give it more than once to mix datasets, "
         "each as FILE or FILE:SHARE"), "D" },
    { "mix", 0, 0, G_OPTION_ARG_STRING, &f.mix,
      N_("The shares of the --data files, in order, e.g. 0.7,0.3 (default: equal)"), "SHARES" },
    { "val-data", 0, 0, G_OPTION_ARG_FILENAME, &f.val_data, N_("A separate validation file (default: a split of the data)"), "V" },
    { "question-column", 0, 0, G_OPTION_ARG_STRING, &f.question_column,
      N_("CSV/TSV data: the column holding the question, by name or number from 1"), "COLUMN" },
    { "answer-column", 0, 0, G_OPTION_ARG_STRING, &f.answer_column,
      N_("CSV/TSV data: the column holding the answer, by name or number from 1"), "COLUMN" },
    { "system-column", 0, 0, G_OPTION_ARG_STRING, &f.system_column,
      N_("CSV/TSV data: the column holding a system prompt (optional)"), "COLUMN" },
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &f.from,
      N_("Start from this adapter instead of a fresh one: a run folder (its kept adapter), a PEFT "
         "adapter folder or a GGUF LoRA file; its rank, alpha and targets are used"), "RUN_OR_ADAPTER" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &f.out, N_("The run folder (default: ~/.local/share/temper/runs/<date>)"), "RUN" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &f.config,
      N_("Settings as JSON (flags override it); without it the settings are chosen for the model and the data"), "FILE" },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &f.preset_name,
      N_("How long training may take: quick, balanced (default) or thorough"), "P" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &f.epochs, N_("Passes over the data (default: automatic)"), "N" },
    { "max-steps", 0, 0, G_OPTION_ARG_INT64, &f.max_steps, N_("Stop after N optimizer steps instead (1 or more)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &f.backend, N_("cpu, vulkan, cuda or auto (default cpu)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &f.device, N_("Device number within the backend, as “temper-cli devices” lists them (default: its best)"), "N" },
    { "rank", 0, 0, G_OPTION_ARG_INT, &f.rank, N_("LoRA rank (default: automatic)"), "R" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &f.alpha, N_("LoRA alpha (default: twice the rank)"), "A" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &f.dropout, N_("LoRA dropout (default: automatic)"), "P" },
    { "rslora", 0, 0, G_OPTION_ARG_NONE, &f.rslora, N_("Scale by alpha/√rank (rsLoRA)"), NULL },
    { "targets", 0, 0, G_OPTION_ARG_STRING, &f.targets, N_("attention, all-linear or a list such as q,k,v,o (default: all-linear)"), "T" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &f.lr, N_("Learning rate (default: automatic)"), "LR" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &f.schedule, N_("constant, linear or cosine (default: automatic)"), "S" },
    { "warmup", 0, 0, G_OPTION_ARG_INT64, &f.warmup, N_("Warm-up steps (default: automatic)"), "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &f.batch, N_("Sequences per micro-batch (default: automatic)"), "B" },
    { "grad-accum", 0, 0, G_OPTION_ARG_INT, &f.grad_accum, N_("Micro-batches per optimizer step (default: automatic)"), "K" },
    { "max-length", 0, 0, G_OPTION_ARG_INT, &f.max_length, N_("Tokens per record; longer ones are cut (default: the longest record)"), "L" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &f.seed, N_("Random seed (default 42)"), "S" },
    { "eval-every", 0, 0, G_OPTION_ARG_INT64, &f.eval_every, N_("Validation loss every N steps (default 50)"), "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT64, &f.checkpoint_every, N_("Checkpoint every N steps (default 100)"), "N" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &f.patience, N_("Stop after N evaluations without improvement (default off)"), "N" },
    { "replay", 0, 0, G_OPTION_ARG_INT, &f.replay, N_("Mix N general questions answered by the base model itself into training, against forgetting (0: none; default: automatic)"), "N" },
    { "recompute", 0, 0, G_OPTION_ARG_NONE, &f.recompute, N_("Recompute activations to save memory"), NULL },
    { "exact", 0, 0, G_OPTION_ARG_NONE, &f.exact,
      N_("Multiply by the frozen weights in fp32 throughout, as the tests against PyTorch do: slower (by default bfloat16 where the processor has AMX or AVX512-BF16: in the backward pass and the output layer, and with AMX in the forward pass as pairs of bfloat16 numbers, about as exact as fp32)"), NULL },
    { "base-weights", 0, 0, G_OPTION_ARG_STRING, &f.base_weights,
      N_("stored (default) or nf4: hold the linear layers 4-bit, as QLoRA does (see below)"), "W" },
    { "all-tokens", 0, 0, G_OPTION_ARG_NONE, &f.all_tokens, N_("Train on every token, not only the answers"), NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &f.threads, N_("CPU threads (default: one per core)"), "N" },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &f.yes, N_("Train even if some records must be left out"), NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &f.dry_run,
      N_("Check the data, print the settings and the time the run would take, and stop before training"), NULL },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "train", NULL,
                         N_("Fine-tune a model with LoRA on a dataset.\n\n"
                         "--base-weights nf4 quantizes every linear layer of an F32, F16 or BF16 model\n"
                         "(a Hugging Face folder, or such a GGUF) to 4-bit NormalFloat (NF4) when it is\n"
                         "loaded: the base weights take about a quarter of the memory of BF16.\n"
                         "Embeddings, norms and the output layer stay as stored.  A GGUF that is\n"
                         "already quantized (Q4/Q5/Q8) is refused: its weights already stay 4- to\n"
                         "8-bit.  The run remembers the choice, so resume, evaluate, compare and\n"
                         "chat --adapter RUN load the base the same way.  Merged exports merge the\n"
                         "adapter into the original weights, not the NF4 ones."), entries, &code))
    return code;
  if (argc != 1)
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("unexpected argument “%s” (see --help)"), argv[1]);
  if (f.data_list != NULL && !parse_data_list (f.data_list, f.mix, data_paths, data_weights, &error))
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);
  if (data_paths->len > 0)
    data = g_ptr_array_index (data_paths, 0);
  if (f.mix != NULL && data_paths->len < 2)
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("--mix needs two or more --data files"));
  if (f.model_path == NULL || data == NULL)
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("--model and --data are required (see --help)"));
  if (f.backend != NULL && !temper_backend_choice_parse (f.backend, &backend_kind, &error))
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  if (f.epochs >= 0 && f.max_steps >= 0)
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("give --epochs or --max-steps, not both"));
  if (f.preset_name != NULL && !temper_train_preset_parse (f.preset_name, &preset, &error))
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("--preset: %s"), error->message);
  if (f.preset_name != NULL && f.config != NULL)
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("give --preset or --config, not both"));

  temper_train_settings_init_default (&s);
  if (f.config != NULL)
    {
      g_autoptr(JsonNode) root = temper_json_parse_file (f.config, TEMPER_JSON_MAX_SETTINGS_SIZE, &error);

      if (root == NULL)
        return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("%s: %s"), f.config, error->message);
      if (!temper_train_settings_from_json (&s, root, &error))
        return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, _("%s: %s"), f.config, error->message);
    }
  /* The flags are checked before the model loads; then, without --config,
   * laid over the automatic settings once the data has been measured. */
  if (!apply_flags (&f, &s, &error))
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);
  if (f.config == NULL)
    {
      if (!choose_settings (&f, data_paths, preset, &model, &s, &reasons, &code))
        return code;
      if (!apply_flags (&f, &s, &error))
        return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);
    }

  if (f.from != NULL && (f.rank >= 0 || f.alpha >= 0 || f.targets != NULL || f.rslora))
    return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE,
                            _("--from takes rank, alpha and targets from the adapter; leave out --rank, "
                              "--alpha, --targets and --rslora"));
  if (!load_model (&f, &model, &code))
    return code;
  note_given (&f, given);
  if (f.config == NULL && f.from == NULL)
    print_choices (preset, &s, &reasons, given);
  /* Before the run folder exists, so a model that cannot be held so leaves nothing behind. */
  if (!temper_model_set_base_weights (model, s.base_weights, NULL, &error))
    return temper_cli_error ("train", error);
  if (f.from != NULL)
    {
      TemperLoraConfig lora;

      if (!temper_train_read_start_adapter (f.from, temper_model_get_config (model), &lora, &error))
        return temper_cli_fail ("train", TEMPER_CLI_EXIT_FAILED, "%s", error->message);
      s.lora = lora;
      if (f.dropout >= 0)
        s.lora.dropout = (float) f.dropout;
      if (!temper_train_settings_validate (&s, &error))
        return temper_cli_fail ("train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);
    }
  if (!prepare_data (&f, data_paths, data_weights, model, &s, &converted, &tmpdir, &records, &tokens,
                     &code))
    {
      /* Only what this command wrote into its own temporary folder. */
      if (converted != NULL)
        g_unlink (converted);
      if (tmpdir != NULL)
        g_rmdir (tmpdir);
      return code;
    }

  /* The time is known on the processor only: a GPU's speed is measured
   * once it runs. */
  if (backend_kind == TEMPER_BACKEND_CPU)
    temper_cli_print_time_estimate (model, &s, records, tokens, f.val_data != NULL, f.threads);
  if (f.dry_run)
    {
      if (converted != NULL)
        g_unlink (converted);
      if (tmpdir != NULL)
        g_rmdir (tmpdir);
      return TEMPER_CLI_EXIT_OK;
    }

  out = g_strdup (f.out);
  if (out == NULL)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *model_name = temper_run_dup_model_name (f.model_path);
      g_autofree char *name = temper_run_make_name (now, model_name, data);

      out = temper_run_find_free_dir (NULL, name);
    }
  /* A table read with chosen columns goes into the run as the JSONL it
   * was read as; the person's file is not changed. */
  run = temper_run_create (out, &s, f.model_path, converted != NULL ? converted : data, f.val_data, &error);
  if (converted != NULL)
    {
      g_unlink (converted);
      g_rmdir (tmpdir);
    }
  if (run == NULL)
    return temper_cli_error ("train", error);
  if (data_paths->len > 1 && !record_mix (run, data_paths, data_weights, &error))
    return temper_cli_error ("train", error);
  if (f.from != NULL && !temper_train_set_start_adapter (run, f.from, temper_model_get_config (model), &error))
    return temper_cli_error ("train", error);
  if (f.from != NULL)
    printf (_("Starting from the adapter in %s (rank %d, alpha %g)\n"), f.from, s.lora.rank, s.lora.alpha);
  return train_run ("train", run, model, f.threads, backend_kind, f.device);
}

int
temper_cli_resume (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autofree char *backend = NULL;
  TemperBackendKind backend_kind = TEMPER_BACKEND_CPU;
  int threads = 0, device = -1, code;
  const GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu); a run may continue on another backend"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "resume", "RUN",
                         N_("Continue a training run from its newest checkpoint."), entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("resume", TEMPER_CLI_EXIT_USAGE, _("give one run folder (see --help)"));
  if (backend != NULL && !temper_backend_choice_parse (backend, &backend_kind, &error))
    return temper_cli_fail ("resume", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  run = temper_run_open (argv[1], &error);
  /* Before the model loads: a second resume of the same run says so at once. */
  if (run == NULL || !temper_run_lock (run, TEMPER_RUN_USE_TRAINING, &error))
    return temper_cli_error ("resume", error);
  model = temper_run_load_model (run, NULL, &error);
  if (model == NULL)
    return temper_cli_error ("resume", error);
  return train_run ("resume", run, model, threads, backend_kind, device);
}
