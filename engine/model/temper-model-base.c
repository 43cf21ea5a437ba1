/* SPDX-License-Identifier: MIT */
/* temper-model-base.c — holding a model's linear projections in another type
 * than the file's: NF4 for QLoRA-style training from F32/F16/BF16 weights.
 *
 * The new blocks live in one allocation the model owns; the layer views are
 * pointed at it, so every backend uploads (or, on the CPU, reads) the NF4
 * bytes exactly as it would a GGUF's quant blocks. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "temper/error.h"
#include "temper-model-private.h"

const char *
temper_base_weights_name (TemperBaseWeights base)
{
  return base == TEMPER_BASE_WEIGHTS_NF4 ? "nf4" : "stored";
}

gboolean
temper_base_weights_parse (const char *text, TemperBaseWeights *base, GError **error)
{
  if (g_ascii_strcasecmp (text, "stored") == 0)
    *base = TEMPER_BASE_WEIGHTS_STORED;
  else if (g_ascii_strcasecmp (text, "nf4") == 0)
    *base = TEMPER_BASE_WEIGHTS_NF4;
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a kind of base weights: use “stored” (as the model file holds them) "
                   "or “nf4” (4-bit NormalFloat, as QLoRA trains)."), text);
      return FALSE;
    }
  return TRUE;
}

TemperBaseWeights
temper_model_get_base_weights (const temper_model_t *model)
{
  return model->base_weights;
}

/* The seven projections of layer @l, in a fixed order.  In a
 * mixture-of-experts layer gate, up and down are empty views: its experts
 * stay as stored (NF4 holds the attention's projections only). */
static void
layer_linears (temper_model_t *model, int l, TemperTensorView *views[7])
{
  TemperLayerWeights *w = &model->layers[l];

  views[0] = &w->wq, views[1] = &w->wk, views[2] = &w->wv, views[3] = &w->wo;
  views[4] = &w->w_gate, views[5] = &w->w_up, views[6] = &w->w_down;
}

static guint64
view_bytes (const TemperTensorView *v)
{
  return v->data != NULL ? (guint64) v->row_bytes * (guint64) v->ne[1] : 0;
}

guint64
temper_model_get_linear_bytes (const temper_model_t *model)
{
  guint64 total = 0;

  for (int l = 0; l < model->config.n_layer; l++)
    {
      TemperTensorView *views[7];

      layer_linears ((temper_model_t *) model, l, views);
      for (int i = 0; i < 7; i++)
        total += view_bytes (views[i]);
    }
  return total;
}

guint64
temper_model_get_weight_bytes (const temper_model_t *model)
{
  guint64 total = temper_model_get_linear_bytes (model) + temper_model_get_expert_bytes (model);

  total += view_bytes (&model->token_embd) + view_bytes (&model->output_norm);
  if (!model->config.tied_embeddings)
    total += view_bytes (&model->output);
  for (int l = 0; l < model->config.n_layer; l++)
    {
      const TemperLayerWeights *w = &model->layers[l];

      total += view_bytes (&w->attn_norm) + view_bytes (&w->ffn_norm);
      total += view_bytes (&w->bq) + view_bytes (&w->bk) + view_bytes (&w->bv);
    }
  return total;
}

guint64
temper_model_get_stored_weight_bytes (const temper_model_t *model)
{
  return model->base_weights == TEMPER_BASE_WEIGHTS_STORED
         ? temper_model_get_weight_bytes (model) : model->stored_weight_bytes;
}

guint64
temper_model_get_stored_linear_bytes (const temper_model_t *model)
{
  return model->base_weights == TEMPER_BASE_WEIGHTS_STORED
         ? temper_model_get_linear_bytes (model) : model->stored_linear_bytes;
}

/* One tensor to convert: its rows are shared out among the threads. */
typedef struct {
  const TemperTensorView *src;
  guint8                 *dst;
  size_t                  dst_row_bytes;
} Job;

typedef struct {
  GArray       *jobs;        /* Job */
  gint64        total_rows;
  gint64       *first_row;   /* jobs->len + 1 prefix sums */
  gint          next_chunk;  /* atomically taken */
  GCancellable *cancellable;
} Work;

/* The stored bytes of a converted tensor live in the read-only mapping of
 * the model file: telling the kernel they are no longer needed lets it drop
 * the pages quantizing read in, so the process holds only the NF4 copy (they
 * would be read from the file again if anything touched them, so this is
 * safe even before the views change or when quantizing is cancelled).  Only
 * whole pages inside the range are dropped. */
static void
release_stored (const void *data, size_t n_bytes)
{
  guintptr page = (guintptr) sysconf (_SC_PAGESIZE);
  guintptr start = ((guintptr) data + page - 1) / page * page;
  guintptr end = ((guintptr) data + n_bytes) / page * page;

  if (end > start)
    madvise ((void *) start, end - start, MADV_DONTNEED);
}

#define ROWS_PER_CHUNK 64

static gpointer
quantize_worker (gpointer data)
{
  Work *work = data;
  int64_t width = 0;
  g_autofree float *row = NULL;

  for (guint j = 0; j < work->jobs->len; j++)
    width = MAX (width, g_array_index (work->jobs, Job, j).src->ne[0]);
  row = g_new (float, MAX (width, 1));

  for (;;)
    {
      gint64 start = (gint64) g_atomic_int_add (&work->next_chunk, 1) * ROWS_PER_CHUNK;
      gint64 end = MIN (start + ROWS_PER_CHUNK, work->total_rows);
      guint j = 0;

      if (start >= work->total_rows || g_cancellable_is_cancelled (work->cancellable))
        break;
      for (gint64 r = start; r < end; r++)
        {
          const Job *job;
          gint64 local;

          while (work->first_row[j + 1] <= r)
            j++;
          job = &g_array_index (work->jobs, Job, j);
          local = r - work->first_row[j];
          temper_tensor_row_to_f32 (job->src, local, row);
          temper_quantize_row_nf4 (row, job->src->ne[0], job->dst + (size_t) local * job->dst_row_bytes);
          /* Drop the rows read so far as soon as a tensor's part of the
           * chunk is done, so loading never holds the whole stored model. */
          if (r + 1 == end || work->first_row[j + 1] == r + 1)
            {
              gint64 first = MAX (start, work->first_row[j]) - work->first_row[j];

              release_stored ((const guint8 *) job->src->data + (size_t) first * job->src->row_bytes,
                              (size_t) (local + 1 - first) * job->src->row_bytes);
            }
        }
    }
  return NULL;
}

gboolean
temper_model_can_hold_base_weights (const temper_model_t *model, TemperBaseWeights base)
{
  if (base == TEMPER_BASE_WEIGHTS_STORED || base == model->base_weights)
    return TRUE;
  for (int l = 0; l < model->config.n_layer; l++)
    {
      TemperTensorView *views[7];

      layer_linears ((temper_model_t *) model, l, views);
      for (int i = 0; i < 7; i++)
        if (views[i]->type != TEMPER_TYPE_F32 && views[i]->type != TEMPER_TYPE_F16
            && views[i]->type != TEMPER_TYPE_BF16)
          return FALSE;
    }
  return TRUE;
}

guint64
temper_model_estimate_weight_bytes (const temper_model_t *model, TemperBaseWeights base)
{
  guint64 total;

  if (base == model->base_weights || !temper_model_can_hold_base_weights (model, base))
    return temper_model_get_weight_bytes (model);
  if (base == TEMPER_BASE_WEIGHTS_STORED)
    return temper_model_get_stored_weight_bytes (model);
  /* NF4 from stored: every projection whose rows tile into NF4 blocks
   * shrinks to NF4's row size, as temper_model_set_base_weights() does it. */
  total = temper_model_get_weight_bytes (model);
  for (int l = 0; l < model->config.n_layer; l++)
    {
      TemperTensorView *views[7];

      layer_linears ((temper_model_t *) model, l, views);
      for (int i = 0; i < 7; i++)
        {
          size_t nf4_row = temper_type_row_bytes (TEMPER_TYPE_NF4, views[i]->ne[0]);

          if (nf4_row != 0 && views[i]->data != NULL)
            total -= view_bytes (views[i]) - (guint64) nf4_row * (guint64) views[i]->ne[1];
        }
    }
  return total;
}

static gboolean
refuse_quantized (temper_model_t *model, const TemperTensorView *v, GError **error)
{
  g_autofree char *file = g_path_get_basename (model->path);

  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("“%s” is already quantized: its linear layers hold %s blocks (%s), so they cannot "
               "be made NF4. Train on it as it is (its weights already stay 4-, 5- or 8-bit), or "
               "choose the model's F16, BF16 or F32 version to train with NF4 base weights."),
               file, temper_type_name (v->type), v->name != NULL ? v->name : _("a linear layer"));
  return FALSE;
}

gboolean
temper_model_set_base_weights (temper_model_t *model, TemperBaseWeights base,
                               GCancellable *cancellable, GError **error)
{
  g_autoptr(GArray) jobs = g_array_new (FALSE, FALSE, sizeof (Job));
  g_autofree gint64 *first_row = NULL;
  g_autofree guint8 *memory = NULL;
  GPtrArray *threads;
  Work work = { 0 };
  size_t total_bytes = 0, offset = 0;
  int n_threads;

  if (base == model->base_weights)
    return TRUE;
  if (base != TEMPER_BASE_WEIGHTS_NF4)
    {
      g_autofree char *file = g_path_get_basename (model->path);

      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("“%s” already holds NF4 base weights; load it again to use the stored ones."), file);
      return FALSE;
    }

  for (int l = 0; l < model->config.n_layer; l++)
    {
      TemperTensorView *views[7];

      layer_linears (model, l, views);
      for (int i = 0; i < 7; i++)
        {
          const TemperTensorView *v = views[i];
          Job job = { v, NULL, temper_type_row_bytes (TEMPER_TYPE_NF4, v->ne[0]) };

          if (v->type != TEMPER_TYPE_F32 && v->type != TEMPER_TYPE_F16 && v->type != TEMPER_TYPE_BF16)
            return refuse_quantized (model, v, error);
          if (job.dst_row_bytes == 0)
            continue;   /* rows of a length NF4 blocks do not tile: kept as stored */
          total_bytes += job.dst_row_bytes * (size_t) v->ne[1];
          g_array_append_val (jobs, job);
        }
    }

  memory = g_try_malloc (MAX (total_bytes, 1));
  if (memory == NULL)
    {
      g_autofree char *human = g_format_size (total_bytes);

      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Could not set aside %s of memory for the NF4 weights. Close other programs "
                   "or choose a smaller model."), human);
      return FALSE;
    }
  first_row = g_new0 (gint64, jobs->len + 1);
  for (guint j = 0; j < jobs->len; j++)
    {
      Job *job = &g_array_index (jobs, Job, j);

      job->dst = memory + offset;
      offset += job->dst_row_bytes * (size_t) job->src->ne[1];
      first_row[j + 1] = first_row[j] + job->src->ne[1];
    }

  work.jobs = jobs;
  work.total_rows = first_row[jobs->len];
  work.first_row = first_row;
  work.cancellable = cancellable;
  n_threads = CLAMP ((int) g_get_num_processors (), 1, 64);
  threads = g_ptr_array_new ();
  for (int t = 1; t < n_threads; t++)
    g_ptr_array_add (threads, g_thread_new ("temper-nf4", quantize_worker, &work));
  quantize_worker (&work);
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (threads->pdata[t]);
  g_ptr_array_free (threads, TRUE);
  if (!temper_model_check_cancelled (cancellable, error))
    return FALSE;

  model->stored_weight_bytes = temper_model_get_weight_bytes (model);
  model->stored_linear_bytes = temper_model_get_linear_bytes (model);
  /* Only now that every row is done do the views change. */
  for (guint j = 0; j < jobs->len; j++)
    {
      Job *job = &g_array_index (jobs, Job, j);
      TemperTensorView *v = (TemperTensorView *) job->src;

      release_stored (v->data, v->row_bytes * (size_t) v->ne[1]);
      v->type = TEMPER_TYPE_NF4;
      v->row_bytes = job->dst_row_bytes;
      v->data = job->dst;
    }
  g_free (model->owned_weights);
  model->owned_weights = g_steal_pointer (&memory);
  model->base_weights = base;
  if (jobs->len > 0)
    {
      g_free (model->quantization);
      model->quantization = g_strdup ("NF4");
      g_clear_pointer (&model->quantization_mix, g_free);
    }
  return TRUE;
}
