/* SPDX-License-Identifier: MIT */
/* temper-train.c — the training loop: data order, gradient accumulation,
 * AdamW with a schedule, evaluation, early stopping, checkpoints, resume. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-model-base-id.h"
#include "temper-backend-open.h"
#include "temper-train-best.h"
#include "temper-train-replay.h"
#include "temper-train-fit.h"
#include "temper-train-step.h"

void
temper_train_options_init (TemperTrainOptions *options)
{
  memset (options, 0, sizeof *options);
  options->backend = TEMPER_BACKEND_CPU;
  options->device = -1;
}

/* Peak resident set size, from /proc (0 where there is none). */
static guint64
peak_rss (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoull (line + 6, NULL, 10) * 1024 : 0;
}

typedef struct {
  const TemperTrainSettings *settings;
  temper_dataset_t          *data;
  temper_dataset_t          *val_data;    /* a separate validation file, or NULL */
  /* The base model's answers mixed in against forgetting, or NULL; in
   * @train, record i of it is index n(data) + i. */
  temper_dataset_t          *replay;
  GArray                    *train;       /* record indices */
  GArray                    *val;
  char                      *val_stage;   /* what a validation pass is, for a person */
  guint32                   *order;       /* this epoch's order of train */
  int                        order_epoch;
  int                        T;           /* longest sequence, ≤ max_length */
  /* One optimizer step's micro-batches, sized up front. */
  gint32                    *ids, *targets;
  int                       *n_seq, *seq_len;
} Batcher;

static void
shuffle_epoch (Batcher *b, int epoch)
{
  TemperRng rng;

  for (guint i = 0; i < b->train->len; i++)
    b->order[i] = g_array_index (b->train, guint, i);
  /* The order of epoch e depends on the seed and e alone, so a resumed run
   * recreates it without storing it. */
  temper_rng_seed (&rng, b->settings->seed * 0x9e3779b97f4a7c15ull + 0x1000 + (guint64) epoch);
  temper_rng_shuffle (&rng, b->order, b->train->len);
  b->order_epoch = epoch;
}

/* Record @index of @data's indices: past the end of the training data, a
 * replay record. */
static void
record_tokens (const Batcher *b, const temper_dataset_t *data, guint index, const gint32 **ids,
               const guint8 **mask, gsize *len)
{
  gsize n_data = temper_dataset_get_n_records (data);

  if (data == b->data && b->replay != NULL && index >= n_data)
    temper_dataset_get_tokens (b->replay, index - n_data, ids, mask, len);
  else
    temper_dataset_get_tokens (data, index, ids, mask, len);
}

/* Fills micro-batch @k with records [first, first + n) of @indices; pads
 * every row to the longest of them. */
static int
fill_micro_batch (Batcher *b, const temper_dataset_t *data, int k, const guint32 *indices,
                  guint first, guint n)
{
  int mb = b->settings->micro_batch, T = 1;
  gint32 *ids = b->ids + (gsize) k * mb * b->T, *targets = b->targets + (gsize) k * mb * b->T;
  int count = 0;

  for (guint i = 0; i < n; i++)
    {
      const gint32 *rid;
      const guint8 *mask;
      gsize len;

      record_tokens (b, data, indices[first + i], &rid, &mask, &len);
      T = MAX (T, (int) MIN (len, (gsize) b->T));
    }
  for (guint i = 0; i < n; i++)
    {
      const gint32 *rid;
      const guint8 *mask;
      gsize len;

      record_tokens (b, data, indices[first + i], &rid, &mask, &len);
      len = MIN (len, (gsize) T);
      for (int t = 0; t < T; t++)
        {
          /* Row t predicts token t + 1; padding (token 0) predicts nothing
           * and, being after the real tokens, is never attended to by them. */
          ids[i * T + t] = (gsize) t < len ? rid[t] : 0;
          targets[i * T + t] = (gsize) (t + 1) < len && mask[t + 1] ? rid[t + 1] : -1;
          count += targets[i * T + t] >= 0;
        }
    }
  b->n_seq[k] = (int) n;
  b->seq_len[k] = T;
  return count;
}

typedef struct {
  temper_run_t             *run;
  const temper_model_t     *model;
  const TemperModelConfig  *c;
  const TemperTrainSettings *s;
  const TemperTrainOptions *options;
  TemperTrainFit            fit;         /* fit.step: the training step */
  temper_adapter_t         *adapter;
  Batcher                   batcher;
  TemperTrainState          state;
  gint64                    total_steps;
  gint64                    steps_per_epoch;
  float                    *m, *v;
  gint64                    start_us;
  double                    elapsed_before;
} Trainer;

static double
elapsed (Trainer *t)
{
  return t->elapsed_before + (double) (g_get_monotonic_time () - t->start_us) / 1e6;
}

static gboolean
save_checkpoint (Trainer *t, GError **error)
{
  if (!temper_train_step_download_adapter (t->fit.step, error) ||
      !temper_train_step_get_moments (t->fit.step, t->m, t->v, error))
    return FALSE;
  t->state.elapsed_s = elapsed (t);
  return temper_run_save_checkpoint (t->run, t->adapter, t->c, t->m, t->v, &t->state, error);
}

static void
report_stage (Trainer *t, const char *stage, double fraction)
{
  if (t->options->stage != NULL)
    t->options->stage (stage, fraction, t->options->stage_data);
}

static void
report_loading (double fraction, gpointer user_data)
{
  report_stage (user_data, _("Reading the dataset"), fraction);
}

static gboolean
evaluate (Trainer *t, double *val_loss, GError **error)
{
  Batcher *b = &t->batcher;
  int mb = t->s->micro_batch;
  double sum = 0, count = 0;

  for (guint first = 0; first < b->val->len; first += (guint) mb)
    {
      guint n = MIN ((guint) mb, b->val->len - first);
      double ls, lc;

      report_stage (t, t->batcher.val_stage, (double) first / b->val->len);
      if (fill_micro_batch (b, b->val_data != NULL ? b->val_data : b->data, 0,
                            (const guint32 *) b->val->data, first, n) == 0)
        continue;
      if (!temper_train_fit_run (&t->fit, b->ids, b->targets, b->n_seq[0], b->seq_len[0],
                                 FALSE, 1.0f, NULL, &ls, &lc, error))
        return FALSE;
      sum += ls;
      count += lc;
    }
  report_stage (t, t->batcher.val_stage, 1.0);
  *val_loss = count > 0 ? sum / count : NAN;
  return TRUE;
}

static gboolean
cancelled (Trainer *t)
{
  return t->options->cancellable != NULL && g_cancellable_is_cancelled (t->options->cancellable);
}

/* One optimizer step.  FALSE with *stop set when the data ran out (epochs
 * done) or on error / cancel. */
static gboolean
train_one_step (Trainer *t, double *loss, double *grad_norm, double *lr, gint64 *tokens,
                gboolean *finished, GError **error)
{
  Batcher *b = &t->batcher;
  const TemperTrainSettings *s = t->s;
  TemperTrainState start = t->state;
  int K = s->grad_accum, mb = s->micro_batch, filled = 0, total_targets = 0;
  double sum = 0, count = 0;
  TemperAdamWParams p = { 0 };

  *finished = FALSE;
  /* Gather the step's micro-batches first: the loss is averaged over all of
   * their targets, so the gradient scale must be known before any backward. */
  for (int k = 0; k < K; k++)
    {
      guint first, n;

      if ((guint) (t->state.position * mb) >= b->train->len)
        {
          /* A step never straddles two epochs, as in transformers' Trainer. */
          if (filled > 0)
            break;
          t->state.epoch++;
          t->state.position = 0;
          if (s->max_steps == 0 && t->state.epoch >= s->epochs)
            break;
        }
      if (b->order_epoch != t->state.epoch)
        shuffle_epoch (b, t->state.epoch);
      first = (guint) (t->state.position * mb);
      n = MIN ((guint) mb, b->train->len - first);
      total_targets += fill_micro_batch (b, b->data, k, b->order, first, n);
      t->state.position++;
      filled++;
    }
  if (filled == 0)
    {
      *finished = TRUE;
      return TRUE;
    }

  *tokens = 0;
  for (int k = 0; k < filled; k++)
    {
      double ls, lc;
      gsize off = (gsize) k * mb * b->T;

      if (cancelled (t))
        {
          /* Drop the half-done step: the checkpoint is of the last whole one. */
          t->state = start;
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("Training was stopped"));
          temper_train_step_zero_grad (t->fit.step, NULL);
          return FALSE;
        }
      if (!temper_train_fit_run (&t->fit, b->ids + off, b->targets + off, b->n_seq[k],
                                 b->seq_len[k], TRUE, 1.0f / (float) MAX (total_targets, 1),
                                 (TemperRng *) t->state.rng, &ls, &lc, error))
        {
          /* The caller may retry the step in smaller passes: start it over. */
          t->state = start;
          return FALSE;
        }
      sum += ls;
      count += lc;
      *tokens += (gint64) b->n_seq[k] * b->seq_len[k];
    }
  *loss = count > 0 ? sum / count : 0.0;
  if (!isfinite (*loss))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NUMERIC,
                   _("Training diverged at step %" PRId64 ": the loss is no longer a "
                   "number.  Try a lower learning rate (it is %g now); the last checkpoint "
                   "was kept"), t->state.step + 1, s->learning_rate);
      return FALSE;
    }
  if (!temper_train_step_grad_norm (t->fit.step, grad_norm, error))
    return FALSE;
  if (!isfinite (*grad_norm))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_NUMERIC,
                   _("Training diverged at step %" PRId64 ": the gradients overflowed.  "
                   "Try a lower learning rate (it is %g now); the last checkpoint was kept"),
                   t->state.step + 1, s->learning_rate);
      return FALSE;
    }
  *lr = temper_lr_at (s->schedule, s->learning_rate, t->state.step, s->warmup_steps, t->total_steps);
  p.lr = (float) *lr;
  p.beta1 = (float) s->beta1;
  p.beta2 = (float) s->beta2;
  p.eps = (float) s->eps;
  p.weight_decay = (float) s->weight_decay;
  p.step = t->state.step + 1;
  p.max_grad_norm = (float) s->max_grad_norm;
  if (!temper_train_step_optimize (t->fit.step, &p, error))
    return FALSE;
  t->state.step++;
  t->state.tokens_seen += *tokens;
  return TRUE;
}

static gboolean
setup_data (Trainer *t, GError **error)
{
  const TemperTrainSettings *s = t->s;
  Batcher *b = &t->batcher;
  g_autoptr(temper_chat_template_t) tmpl =
    temper_chat_template_new (temper_model_get_chat_template (t->model),
                              temper_model_get_tokenizer (t->model));
  TemperDatasetOptions opts;
  double fraction;
  int longest = 1;

  temper_dataset_options_init (&opts);
  opts.chat_template = tmpl;
  opts.max_length = s->max_length;
  opts.train_on_prompt = s->train_on_all_tokens;
  opts.cancellable = t->options->cancellable;
  opts.progress = report_loading;
  opts.progress_data = t;
  b->settings = s;
  b->data = temper_dataset_load (temper_run_get_data_path (t->run), &opts, error);
  if (b->data == NULL)
    return FALSE;
  if (temper_run_get_val_path (t->run) != NULL)
    {
      b->val_data = temper_dataset_load (temper_run_get_val_path (t->run), &opts, error);
      if (b->val_data == NULL)
        return FALSE;
      temper_dataset_split (b->data, 0.0, s->seed, &b->train, &b->val);
      g_array_set_size (b->val, 0);
      for (guint i = 0; i < temper_dataset_get_n_records (b->val_data); i++)
        g_array_append_val (b->val, i);
    }
  else
    {
      fraction = s->val_fraction >= 0 ? s->val_fraction
                 : temper_dataset_default_validation_fraction (temper_dataset_get_n_records (b->data));
      temper_dataset_split (b->data, fraction, s->seed, &b->train, &b->val);
    }
  if (b->val->len > TEMPER_TRAIN_MAX_VALIDATION_RECORDS)
    {
      guint held_out = b->val->len;

      for (guint i = 0; i < TEMPER_TRAIN_MAX_VALIDATION_RECORDS; i++)
        g_array_index (b->val, guint, i) =
          g_array_index (b->val, guint, (guint64) i * held_out / TEMPER_TRAIN_MAX_VALIDATION_RECORDS);
      g_array_set_size (b->val, TEMPER_TRAIN_MAX_VALIDATION_RECORDS);
      t->batcher.val_stage = g_strdup_printf (_("Validation loss on a sample of %u of the %u held-out records"),
                                      TEMPER_TRAIN_MAX_VALIDATION_RECORDS, held_out);
    }
  else
    t->batcher.val_stage = g_strdup_printf (_("Validation loss on %u held-out records"), b->val->len);
  if (b->train->len == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s leaves no record to train on after the validation split"),
                   temper_run_get_data_path (t->run));
      return FALSE;
    }
  if (s->replay_records > 0)
    {
      TemperTrainReplayOptions ro = { t->options->backend, t->options->device, t->options->n_threads,
                                      t->options->cancellable, t->options->stage, t->options->stage_data };
      guint n_data = temper_dataset_get_n_records (b->data);

      if (!temper_train_replay_load (t->run, t->model, s, &opts, &ro, &b->replay, error))
        return FALSE;
      /* Only ever trained on: the validation split stays the person's. */
      for (guint i = 0; b->replay != NULL && i < temper_dataset_get_n_records (b->replay); i++)
        {
          guint index = n_data + i;
          g_array_append_val (b->train, index);
        }
    }
  for (int which = 0; which < 3; which++)
    {
      const temper_dataset_t *d = which == 0 ? b->data : which == 1 ? b->val_data : b->replay;

      for (gsize i = 0; d != NULL && i < temper_dataset_get_n_records (d); i++)
        {
          const gint32 *ids;
          const guint8 *mask;
          gsize n;

          temper_dataset_get_tokens (d, i, &ids, &mask, &n);
          longest = MAX (longest, (int) n);
        }
    }
  b->T = MIN (longest, s->max_length);
  b->order = g_new (guint32, b->train->len);
  b->order_epoch = -1;
  b->ids = g_new0 (gint32, (gsize) s->grad_accum * s->micro_batch * b->T);
  b->targets = g_new0 (gint32, (gsize) s->grad_accum * s->micro_batch * b->T);
  b->n_seq = g_new0 (int, s->grad_accum);
  b->seq_len = g_new0 (int, s->grad_accum);

  t->steps_per_epoch = ((gint64) b->train->len + (gint64) s->micro_batch * s->grad_accum - 1) /
                       ((gint64) s->micro_batch * s->grad_accum);
  t->total_steps = s->max_steps > 0 ? s->max_steps : t->steps_per_epoch * s->epochs;
  return TRUE;
}

static void
batcher_clear (Batcher *b)
{
  g_clear_pointer (&b->data, temper_dataset_free);
  g_clear_pointer (&b->val_data, temper_dataset_free);
  g_clear_pointer (&b->replay, temper_dataset_free);
  g_clear_pointer (&b->train, g_array_unref);
  g_clear_pointer (&b->val, g_array_unref);
  g_clear_pointer (&b->val_stage, g_free);
  g_free (b->order);
  g_free (b->ids);
  g_free (b->targets);
  g_free (b->n_seq);
  g_free (b->seq_len);
}

static gboolean
check_one (const char *path, const char *key, gint64 value, gint64 high, GError **error)
{
  if (value <= high)
    return TRUE;
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("%s does not belong to this run: “%s” is %lld, but the run’s settings "
                 "allow 0 to %lld."), path, key, (long long) value, (long long) high);
  return FALSE;
}

/* A checkpoint's step, epoch and data position must lie within what the
 * run's settings and data make possible. */
static gboolean
check_state_fits (Trainer *t, const char *checkpoint_dir, GError **error)
{
  g_autofree char *path = g_build_filename (checkpoint_dir, "state.json", NULL);
  gint64 epochs = t->s->max_steps > 0 ? t->total_steps : t->s->epochs;
  gint64 micro_batches = ((gint64) t->batcher.train->len + t->s->micro_batch - 1) / t->s->micro_batch;

  return check_one (path, "step", t->state.step, t->total_steps, error) &&
         check_one (path, "epoch", t->state.epoch, epochs, error) &&
         check_one (path, "position", t->state.position, micro_batches, error);
}

static gboolean
setup_adapter (Trainer *t, GError **error)
{
  g_autofree char *latest = temper_run_find_latest_checkpoint (t->run);
  guint64 n;

  if (latest != NULL)
    {
      if (!temper_run_load_checkpoint (latest, t->c, &t->adapter, &t->m, &t->v, &t->state, error) ||
          !check_state_fits (t, latest, error) ||
          !temper_run_truncate_metrics (t->run, t->state.step, error))
        return FALSE;
      t->elapsed_before = t->state.elapsed_s;
      return TRUE;
    }
  /* Started before, but stopped before its first checkpoint: it starts over,
   * and so do its metrics. */
  if (!temper_run_truncate_metrics (t->run, 0, error))
    return FALSE;
  {
    gboolean continues = FALSE;

    t->adapter = temper_train_load_start_adapter (t->run, t->c, &continues, error);
    if (!continues)
      t->adapter = temper_lora_adapter_new (t->c, &t->s->lora, t->s->seed, error);
  }
  if (t->adapter == NULL)
    return FALSE;
  n = temper_lora_count_params (t->adapter, t->c);
  t->m = g_new0 (float, n);
  t->v = g_new0 (float, n);
  memset (&t->state, 0, sizeof t->state);
  temper_rng_seed ((TemperRng *) t->state.rng, t->s->seed ^ 0xd1b54a32d192ed03ull);
  t->state.best_val_loss = INFINITY;
  return TRUE;
}

/* The model to train on, holding its base as the run's settings say.  When
 * @model's base weights are not the run's, @convertible (@model itself,
 * handed over by a caller that owns it) is converted in place; without it
 * @model is only read, since other code (the app's other pages) may be
 * answering with it, and a model of the training's own is loaded from the
 * same file (*own) and converted.  NF4 weights write what they take, before
 * and after, to RUN/train.log; a run on the stored weights writes nothing
 * there (the log stays for what changed the run's course). */
static const temper_model_t *
hold_base_weights (temper_run_t *run, const temper_model_t *model, temper_model_t *convertible,
                   temper_model_t **own, GCancellable *cancellable, GError **error)
{
  TemperBaseWeights base = temper_run_get_settings (run)->base_weights;
  g_autofree char *linear = NULL, *all = NULL, *stored_linear = NULL, *stored_all = NULL;

  if (temper_model_get_base_weights (model) != base || convertible != NULL)
    {
      if (convertible == NULL)
        convertible = *own = temper_model_load (temper_model_get_path (model), cancellable, error);
      if (convertible == NULL || !temper_model_set_base_weights (convertible, base, cancellable, error))
        return NULL;
      model = convertible;
    }
  if (base == TEMPER_BASE_WEIGHTS_STORED)
    return model;
  linear = g_format_size (temper_model_get_linear_bytes (model));
  all = g_format_size (temper_model_get_weight_bytes (model));
  stored_linear = g_format_size (temper_model_get_stored_linear_bytes (model));
  stored_all = g_format_size (temper_model_get_stored_weight_bytes (model));
  temper_train_log (run,
                    _("Base weights NF4: linear layers %s (%s as stored), all weights %s (%s as stored); "
                    "embeddings, norms and the output layer stay as stored. Merged exports merge "
                    "into the original weights, not the NF4 ones."),
                    linear, stored_linear, all, stored_all);
  return model;
}

static gboolean train_run (temper_run_t *run, const temper_model_t *model, temper_model_t *convertible,
                           const TemperTrainOptions *options, GError **error);

gboolean
temper_train_run (temper_run_t *run, temper_model_t *model,
                  const TemperTrainOptions *options, GError **error)
{
  return train_run (run, model, model, options, error);
}

gboolean
temper_train_run_shared (temper_run_t *run, const temper_model_t *model,
                         const TemperTrainOptions *options, GError **error)
{
  return train_run (run, model, NULL, options, error);
}

static gboolean
train_run (temper_run_t *run, const temper_model_t *model, temper_model_t *convertible,
           const TemperTrainOptions *options, GError **error)
{
  g_autoptr(temper_model_t) own_model = NULL;
  TemperTrainOptions default_options;
  Trainer t = { 0 };
  TemperBackend *backend = NULL;
  TemperBackendOpenOptions open_options = { 0, TEMPER_CPU_KERNELS_BEST };
  g_autoptr(TemperDeviceInfo) device = NULL;
  gboolean ok = FALSE, finished = FALSE, stopped_early = FALSE;
  g_autofree char *device_name = NULL, *base_id = NULL, *device_note = NULL;

  G_STATIC_ASSERT (sizeof (((TemperTrainState *) NULL)->rng) == sizeof (TemperRng));

  if (options == NULL)
    {
      temper_train_options_init (&default_options);
      options = &default_options;
    }
  t.run = run;
  t.s = temper_run_get_settings (run);
  t.options = options;
  t.start_us = g_get_monotonic_time ();

  if (!temper_run_lock (run, TEMPER_RUN_USE_TRAINING, error) ||
      !temper_train_settings_validate (t.s, error) ||
      (model = hold_base_weights (run, model, convertible, &own_model, options->cancellable, error)) == NULL)
    goto out;
  t.model = model;
  t.c = temper_model_get_config (model);
  if (!setup_data (&t, error) || !setup_adapter (&t, error))
    goto out;

  open_options.n_threads = options->n_threads;
  open_options.cpu_kernels = t.s->exact ? TEMPER_CPU_KERNELS_BEST : TEMPER_CPU_KERNELS_FAST_TRAIN;
  /* A GPU trains only once it has passed its self-test on this driver. */
  backend = temper_backend_open_for_training (options->backend, options->device, &open_options,
                                              &device, &device_note, error);
  if (backend == NULL)
    goto out;
  device_name = temper_backend_describe (backend, device);
  t.fit.model = model;
  t.fit.backend = backend;
  t.fit.device = device;
  t.fit.adapter = t.adapter;
  t.fit.dropout = t.s->lora.dropout;
  t.fit.micro_batch = t.s->micro_batch;
  t.fit.seq_len = t.batcher.T;
  t.fit.recompute = t.s->recompute;
  t.fit.run = run;
  t.fit.device_name = device_name;
  if (!temper_train_fit_open (&t.fit, error) ||
      !temper_train_step_set_moments (t.fit.step, t.m, t.v, error))
    goto out;

  while (t.state.step < t.total_steps)
    {
      TemperTrainProgress progress = { 0 };
      TemperRunMetrics metrics = { 0 };
      gint64 step_start = g_get_monotonic_time (), tokens = 0;
      double loss = 0, grad_norm = 0, lr = 0, val_loss = NAN, seconds;
      g_autoptr(GError) local = NULL;
      gboolean evaluated = FALSE;

      if (!train_one_step (&t, &loss, &grad_norm, &lr, &tokens, &finished, &local))
        {
          /* Out of memory in the middle of a step: run it again in smaller passes. */
          if (g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY) &&
              t.fit.pass_rows > 1)
            {
              if (!temper_train_fit_shrink (&t.fit, local, error))
                goto out;
              continue;
            }
          if (g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
            {
              /* Keep what was learnt up to the last whole step. */
              g_autoptr(GError) save_error = NULL;

              if (!save_checkpoint (&t, &save_error))
                {
                  g_propagate_error (error, g_steal_pointer (&save_error));
                  goto out;
                }
            }
          g_propagate_error (error, g_steal_pointer (&local));
          goto out;
        }
      if (finished)
        break;
      seconds = (double) (g_get_monotonic_time () - step_start) / 1e6;

      if (t.batcher.val->len > 0 &&
          ((t.s->eval_every > 0 && t.state.step % t.s->eval_every == 0) ||
           t.state.step == t.total_steps))
        {
          if (!evaluate (&t, &val_loss, error))
            goto out;
          evaluated = TRUE;
          if (val_loss < t.state.best_val_loss)
            {
              g_autofree char *best_base = temper_model_base_model_id (model);

              t.state.best_val_loss = val_loss;
              t.state.evals_without_improvement = 0;
              if (!temper_train_step_download_adapter (t.fit.step, error) ||
                  !temper_train_best_save (run, t.adapter, t.c, t.s->lora.dropout, best_base,
                                           t.state.step, val_loss, error))
                goto out;
            }
          else
            t.state.evals_without_improvement++;
        }

      metrics.step = t.state.step;
      metrics.epoch = t.state.epoch + (double) t.state.position / (double) MAX (1, t.steps_per_epoch * t.s->grad_accum);
      metrics.loss = loss;
      metrics.val_loss = val_loss;
      metrics.lr = lr;
      metrics.grad_norm = grad_norm;
      metrics.tokens_per_s = seconds > 0 ? (double) tokens / seconds : 0;
      metrics.elapsed_s = elapsed (&t);
      metrics.memory_bytes = peak_rss ();
      if (!temper_run_append_metrics (run, &metrics, error))
        goto out;
      if (options->progress != NULL)
        {
          progress.step = metrics.step;
          progress.total_steps = t.total_steps;
          progress.epoch = metrics.epoch;
          progress.loss = loss;
          progress.val_loss = val_loss;
          progress.lr = lr;
          progress.grad_norm = grad_norm;
          progress.tokens_per_s = metrics.tokens_per_s;
          progress.elapsed_s = metrics.elapsed_s;
          progress.memory_bytes = metrics.memory_bytes;
          progress.device = device_name;
          progress.device_note = device_note;
          options->progress (&progress, options->progress_data);
        }

      if (evaluated && t.s->patience > 0 && t.state.evals_without_improvement >= t.s->patience)
        {
          stopped_early = TRUE;
          break;   /* the validation loss stopped improving */
        }
      if (t.s->checkpoint_every > 0 && t.state.step % t.s->checkpoint_every == 0 &&
          t.state.step < t.total_steps && !save_checkpoint (&t, error))
        goto out;
    }

  if (!save_checkpoint (&t, error))
    goto out;
  base_id = temper_model_base_model_id (model);
  ok = temper_run_save_adapter (run, t.adapter, t.c, base_id, error) &&
       temper_train_best_keep (run, t.c, t.s->lora.dropout, base_id, t.state.step, stopped_early,
                               t.s->patience, error);

out:
  temper_train_fit_close (&t.fit);
  if (backend != NULL)
    temper_backend_free (backend);
  temper_adapter_free (t.adapter);
  g_free (t.m);
  g_free (t.v);
  batcher_clear (&t.batcher);
  return ok;
}
