/* SPDX-License-Identifier: MIT */
/* temper-compare-worker.c — reading a run and generating answers on worker
 * threads for the Compare page. */
#include "config.h"


#include "temper/answer.h"
#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/generate.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-compare-worker.h"

void
temper_compare_run_info_free (TemperCompareRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->run_dir);
  g_free (info->model_path);
  g_clear_pointer (&info->prompts, g_ptr_array_unref);
  g_clear_pointer (&info->training_prompts, g_ptr_array_unref);
  g_clear_pointer (&info->checkpoints, g_ptr_array_unref);
  g_clear_pointer (&info->checkpoint_steps, g_array_unref);
  g_free (info);
}

/* ---- Reading a run ---------------------------------------------------------- */

/* What a record asks: its last question before the answer. */
static const char *
record_question (const TemperDatasetRecord *record)
{
  gsize n = record->n_messages;

  while (n > 0 && record->messages[n - 1].role == TEMPER_CHAT_ROLE_ASSISTANT)
    n--;
  while (n > 0 && record->messages[n - 1].role != TEMPER_CHAT_ROLE_USER)
    n--;
  return n > 0 ? record->messages[n - 1].content : NULL;
}

/* The questions of @records (indices into @data), at most @max, into @out. */
static void
add_questions (const temper_dataset_t *data,
               GArray                 *records,
               guint                   max,
               GPtrArray              *out)
{
  for (guint i = 0; i < records->len && out->len < max; i++)
    {
      const TemperDatasetRecord *record = temper_dataset_get_record (data, g_array_index (records, guint, i));
      const char *question = record_question (record);

      if (question != NULL && *question != '\0')
        g_ptr_array_add (out, g_strdup (question));
    }
}

static GArray *
all_records (const temper_dataset_t *data)
{
  GArray *records = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < temper_dataset_get_n_records (data); i++)
    g_array_append_val (records, i);
  return records;
}

static gboolean
read_prompts (const temper_run_t    *run,
              TemperCompareRunInfo  *info,
              GCancellable          *cancellable,
              GError               **error)
{
  const TemperTrainSettings *settings = temper_run_get_settings (run);
  const char *val_path = temper_run_get_val_path (run);
  g_autoptr(temper_dataset_t) data = NULL;
  g_autoptr(temper_dataset_t) val_data = NULL;
  g_autoptr(GArray) train = NULL;
  g_autoptr(GArray) validation = NULL;
  TemperDatasetOptions options;

  temper_dataset_options_init (&options);
  options.cancellable = cancellable;
  data = temper_dataset_load (temper_run_get_data_path (run), &options, error);
  if (data == NULL)
    return FALSE;

  /* The same split training made, from the run's own seed. */
  if (val_path != NULL)
    {
      val_data = temper_dataset_load (val_path, &options, error);
      if (val_data == NULL)
        return FALSE;
      train = all_records (data);
      validation = all_records (val_data);
    }
  else
    {
      double fraction = settings->val_fraction >= 0
                        ? settings->val_fraction
                        : temper_dataset_default_validation_fraction (temper_dataset_get_n_records (data));

      temper_dataset_split (data, fraction, settings->seed, &train, &validation);
    }

  add_questions (val_data != NULL ? val_data : data, validation, TEMPER_COMPARE_MAX_PROMPTS, info->prompts);
  add_questions (data, train, TEMPER_COMPARE_TRAINING_PROMPTS, info->training_prompts);
  return TRUE;
}

static int
compare_steps (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Checkpoints hold a PEFT adapter each (run.h); a folder without its
 * adapter_config.json is one being written. */
static void
read_checkpoints (const char           *run_dir,
                  TemperCompareRunInfo *info)
{
  g_autofree char *folder = g_build_filename (run_dir, "checkpoints", NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *config = g_build_filename (folder, name, "adapter_config.json", NULL);
      guint64 step;

      if (g_str_has_prefix (name, "step-") &&
          g_ascii_string_to_unsigned (name + 5, 10, 1, G_MAXINT64, &step, NULL) &&
          g_file_test (config, G_FILE_TEST_IS_REGULAR))
        {
          gint64 s = (gint64) step;

          g_array_append_val (steps, s);
        }
    }
  g_array_sort (steps, compare_steps);
  for (guint i = 0; i < steps->len; i++)
    {
      gint64 step = g_array_index (steps, gint64, i);
      g_autofree char *leaf = g_strdup_printf ("step-%08" G_GINT64_FORMAT, step);

      g_ptr_array_add (info->checkpoints, g_build_filename (folder, leaf, NULL));
      g_array_append_val (info->checkpoint_steps, step);
    }
}

static void
read_run_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  const char *run_dir = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);
  g_autoptr(TemperCompareRunInfo) info = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autofree char *adapter_config = NULL;

  if (run == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  info = g_new0 (TemperCompareRunInfo, 1);
  info->run_dir = g_strdup (temper_run_get_dir (run));
  info->model_path = g_strdup (temper_run_get_model_path (run));
  info->prompts = g_ptr_array_new_with_free_func (g_free);
  info->training_prompts = g_ptr_array_new_with_free_func (g_free);
  info->checkpoints = g_ptr_array_new_with_free_func (g_free);
  info->checkpoint_steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  adapter_dir = temper_run_dup_adapter_dir (run);
  adapter_config = g_build_filename (adapter_dir, "adapter_config.json", NULL);
  info->has_adapter = g_file_test (adapter_config, G_FILE_TEST_IS_REGULAR);

  if (!read_prompts (run, info, cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  read_checkpoints (info->run_dir, info);
  g_task_return_pointer (task, g_steal_pointer (&info), (GDestroyNotify) temper_compare_run_info_free);
}

void
temper_compare_read_run_async (const char          *run_dir,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_return_if_fail (run_dir != NULL);

  g_task_set_source_tag (task, temper_compare_read_run_async);
  g_task_set_task_data (task, g_strdup (run_dir), g_free);
  g_task_run_in_thread (task, read_run_thread);
}

TemperCompareRunInfo *
temper_compare_read_run_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Generating ---------------------------------------------------------------- */

typedef struct {
  TemperLoadedModel      *model;
  GPtrArray              *adapter_dirs;   /* char *, NULL for the base model */
  GPtrArray              *prompt_texts;
  GArray                 *prompt_ids;
  int                     max_tokens;
  TemperBackendKind       backend;
  int                     device;
  TemperComparePieceFunc  piece;
  GCancellable           *cancellable;
  GWeakRef                owner;
  /* Where the worker is, for the pieces it posts. */
  guint                   prompt;
  guint                   source;
} GenerateJob;

static void
generate_job_free (gpointer data)
{
  GenerateJob *job = data;

  g_clear_object (&job->model);
  g_ptr_array_unref (job->adapter_dirs);
  g_ptr_array_unref (job->prompt_texts);
  g_array_unref (job->prompt_ids);
  g_clear_object (&job->cancellable);
  g_weak_ref_clear (&job->owner);
  g_free (job);
}

typedef struct {
  GWeakRef                owner;
  GCancellable           *cancellable;
  TemperComparePieceFunc  piece;
  guint                   prompt;
  guint                   source;
  char                   *text;    /* NULL: the answer is whole */
  gsize                   len;
  guint                   cut_at;  /* once whole: tokens at the length limit, or 0 */
} Piece;

static void
piece_free (gpointer data)
{
  Piece *piece = data;

  g_weak_ref_clear (&piece->owner);
  g_clear_object (&piece->cancellable);
  g_free (piece->text);
  g_free (piece);
}

static gboolean
piece_idle (gpointer data)
{
  Piece *piece = data;
  g_autoptr(GObject) owner = g_weak_ref_get (&piece->owner);

  if (owner != NULL)
    piece->piece (owner, piece->cancellable, piece->prompt, piece->source, piece->text, piece->len,
                  piece->cut_at);
  return G_SOURCE_REMOVE;
}

static void
post_piece (GenerateJob *job,
            const char  *text,
            gsize        len,
            guint        cut_at)
{
  Piece *piece = g_new0 (Piece, 1);
  g_autoptr(GObject) owner = g_weak_ref_get (&job->owner);

  g_weak_ref_init (&piece->owner, owner);
  piece->cancellable = g_object_ref (job->cancellable);
  piece->piece = job->piece;
  piece->prompt = g_array_index (job->prompt_ids, guint, job->prompt);
  piece->source = job->source;
  piece->text = text != NULL ? g_strndup (text, len) : NULL;
  piece->len = len;
  piece->cut_at = cut_at;
  g_idle_add_full (G_PRIORITY_DEFAULT, piece_idle, piece, piece_free);
}

static gboolean
text_cb (const char *text,
         gsize       len,
         gpointer    user_data)
{
  post_piece (user_data, text, len, 0);
  return TRUE;
}

/* Generates one answer; @cut_at receives the number of tokens when the
 * length limit (or the context) cut it, 0 when the model ended it. */
static gboolean
answer_one (GenerateJob                  *job,
            temper_generator_t           *gen,
            const temper_chat_template_t *tmpl,
            const char                   *prompt,
            guint                        *cut_at,
            GError                      **error)
{
  TemperChatMessage message = { TEMPER_CHAT_ROLE_USER, prompt };

  return temper_answer_stream (gen, tmpl, &message, 1, job->max_tokens, text_cb, job,
                               job->cancellable, cut_at, error);
}

static void
generate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GenerateJob *job = task_data;
  const temper_model_t *model = temper_loaded_model_get_model (job->model);
  g_autoptr(GPtrArray) adapters = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_adapter_free);
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  TemperGeneratorOptions options = { 0 };

  for (guint s = 0; s < job->adapter_dirs->len; s++)
    {
      const char *dir = job->adapter_dirs->pdata[s];
      temper_adapter_t *adapter = NULL;

      if (dir != NULL)
        {
          adapter = temper_lora_load_peft (dir, temper_model_get_config (model), NULL, &error);
          if (adapter == NULL)
            {
              g_task_return_error (task, g_steal_pointer (&error));
              return;
            }
        }
      g_ptr_array_add (adapters, adapter);
    }

  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  /* The loaded model is shared read-only and outlives the worker through
   * job->model. */
  gen = temper_generator_new_on (model, &options, job->backend, job->device, &error);
  if (gen == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  for (job->prompt = 0; job->prompt < job->prompt_texts->len; job->prompt++)
    for (job->source = 0; job->source < adapters->len; job->source++)
      {
        guint cut_at = 0;

        if (g_cancellable_set_error_if_cancelled (cancellable, &error) ||
            !temper_generator_set_adapter (gen, adapters->pdata[job->source], &error) ||
            !answer_one (job, gen, tmpl, job->prompt_texts->pdata[job->prompt], &cut_at, &error))
          {
            g_task_return_error (task, g_steal_pointer (&error));
            return;
          }
        post_piece (job, NULL, 0, cut_at);
      }
  g_task_return_boolean (task, TRUE);
}

void
temper_compare_generate_async (GObject                *owner,
                               TemperLoadedModel      *model,
                               TemperBackendKind       backend,
                               int                     device,
                               const char *const      *adapter_dirs,
                               guint                   n_sources,
                               GPtrArray              *prompt_texts,
                               GArray                 *prompt_ids,
                               int                     max_tokens,
                               TemperComparePieceFunc  piece,
                               GCancellable           *cancellable,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  GenerateJob *job;

  g_return_if_fail (G_IS_OBJECT (owner));
  g_return_if_fail (TEMPER_IS_LOADED_MODEL (model));
  g_return_if_fail (G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (prompt_texts->len == prompt_ids->len);

  job = g_new0 (GenerateJob, 1);
  job->model = g_object_ref (model);
  job->adapter_dirs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_sources; i++)
    g_ptr_array_add (job->adapter_dirs, g_strdup (adapter_dirs[i]));
  job->prompt_texts = g_ptr_array_ref (prompt_texts);
  job->prompt_ids = g_array_ref (prompt_ids);
  job->max_tokens = max_tokens;
  job->backend = backend;
  job->device = device;
  job->piece = piece;
  job->cancellable = g_object_ref (cancellable);
  g_weak_ref_init (&job->owner, owner);

  task = g_task_new (owner, cancellable, callback, user_data);
  g_task_set_source_tag (task, temper_compare_generate_async);
  g_task_set_task_data (task, job, generate_job_free);
  g_task_run_in_thread (task, generate_thread);
}

gboolean
temper_compare_generate_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
