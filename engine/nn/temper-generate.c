/* SPDX-License-Identifier: MIT */
/* The generator: a forward pass on a backend, the tokens in its KV
 * cache, sampling, stop handling and text streaming. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper-backend-open.h"
#include "temper/error.h"
#include "temper/generate.h"
#include "temper/tokenizer.h"
#include "temper-forward.h"
#include "temper-sampler.h"

/* Prompt tokens per forward pass: long enough that each dequantised weight
 * tile is reused many times, short enough to keep activations small. */
#define N_BATCH 64

struct temper_generator {
  const temper_model_t *model;
  TemperForward  *fwd;
  GArray         *cached;   /* gint32: the tokens whose K/V are in the cache */
  gboolean        cached_long; /* LongRoPE: their keys were rotated with the long factors */
  float          *logits;
  char           *device;
};

void
temper_sampling_params_init (TemperSamplingParams *p)
{
  p->temperature = 0.7f;
  p->top_k = 40;
  p->top_p = 0.95f;
  p->repeat_penalty = 1.1f;
  p->repeat_last_n = 64;
  p->seed = 0;
  p->max_tokens = 512;
  p->stop_strings = NULL;
}

temper_generator_t *
temper_generator_new (const temper_model_t *model, const TemperGeneratorOptions *options,
                      GError **error)
{
  return temper_generator_new_on (model, options, TEMPER_BACKEND_CPU, -1, error);
}

temper_generator_t *
temper_generator_new_on (const temper_model_t *model, const TemperGeneratorOptions *options,
                         TemperBackendKind kind, int device, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  TemperGeneratorOptions defaults = { 0, 0, FALSE };
  TemperBackendOpenOptions open_options;
  g_autoptr(TemperDeviceInfo) info = NULL;
  temper_generator_t *gen;
  TemperBackend *backend;
  TemperForward *fwd;
  int n_ctx;

  if (options == NULL)
    options = &defaults;
  n_ctx = options->n_ctx > 0 ? options->n_ctx : MIN (4096, c->n_ctx_train > 0 ? c->n_ctx_train : 4096);
  open_options.n_threads = options->n_threads;
  open_options.cpu_kernels = options->exact ? TEMPER_CPU_KERNELS_BEST : TEMPER_CPU_KERNELS_FAST_DECODE;
  backend = temper_backend_open (kind, device, &open_options, &info, error);
  if (backend == NULL)
    return NULL;
  fwd = temper_forward_new (model, backend, n_ctx, N_BATCH, error);
  if (fwd == NULL)
    return NULL;
  gen = g_new0 (temper_generator_t, 1);
  gen->model = model;
  gen->fwd = fwd;
  gen->cached = g_array_new (FALSE, FALSE, sizeof (gint32));
  gen->logits = g_new (float, c->n_vocab);
  gen->device = temper_backend_describe (backend, info);
  return gen;
}

void
temper_generator_free (temper_generator_t *gen)
{
  if (gen == NULL)
    return;
  temper_forward_free (gen->fwd);
  g_array_unref (gen->cached);
  g_free (gen->logits);
  g_free (gen->device);
  g_free (gen);
}

int
temper_generator_get_n_ctx (const temper_generator_t *gen)
{
  return temper_forward_get_n_ctx (gen->fwd);
}

const char *
temper_generator_get_device (const temper_generator_t *gen)
{
  return gen->device;
}

gboolean
temper_generator_set_profile (temper_generator_t *gen, TemperOpProfile *profile, GError **error)
{
  TemperBackend *backend = temper_forward_get_backend (gen->fwd);

  if (backend->kind != TEMPER_BACKEND_CPU)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("A profile by kind of operation can only be taken on the CPU backend."));
      return FALSE;
    }
  temper_cpu_backend_set_profile (backend, profile);
  return TRUE;
}

gboolean
temper_generator_set_adapter (temper_generator_t *gen, temper_adapter_t *adapter, GError **error)
{
  temper_generator_reset (gen);
  return temper_forward_set_adapter (gen->fwd, adapter, error);
}

void
temper_generator_reset (temper_generator_t *gen)
{
  g_array_set_size (gen->cached, 0);
}

static gboolean
check_cancelled (GCancellable *cancellable, GError **error)
{
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("Generation was stopped."));
      return TRUE;
    }
  return FALSE;
}

/* LongRoPE switches factors for a whole forward that passes the original
 * context; the cached keys of the other set are computed again, as
 * transformers' generate() does (it drops its cache on crossing).  llama.cpp
 * instead fixes the set for a whole run by its context size. */
static gboolean
rope_set_changes (temper_generator_t *gen, gsize n)
{
  const TemperModelConfig *c = temper_model_get_config (gen->model);
  gboolean reach_long = temper_model_get_rope_long_factors (gen->model) != NULL && c->rope_long_after > 0
                        && gen->cached->len + n > (gsize) c->rope_long_after;

  return gen->cached->len > 0 && reach_long != gen->cached_long;
}

gboolean
temper_generator_eval (temper_generator_t *gen, const gint32 *tokens, gsize n,
                       float *logits, GCancellable *cancellable, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (gen->model);
  int pos = (int) gen->cached->len;
  gboolean ok = TRUE;

  if (rope_set_changes (gen, n))
    {
      g_autoptr(GArray) all = g_array_copy (gen->cached);

      g_array_append_vals (all, tokens, (guint) n);
      g_array_set_size (gen->cached, 0);
      gen->cached_long = FALSE;
      return temper_generator_eval (gen, (const gint32 *) all->data, all->len, logits, cancellable, error);
    }
  temper_forward_set_reach (gen->fwd, pos + (int) n);
  gen->cached_long = temper_model_get_rope_long_factors (gen->model) != NULL && c->rope_long_after > 0
                     && pos + (int) n > c->rope_long_after;
  /* Long prompts go in batches so a cancel is noticed between them. */
  for (gsize done = 0; done < n && ok; )
    {
      int chunk = (int) MIN ((gsize) N_BATCH, n - done);
      gboolean last = done + (gsize) chunk == n;

      if (check_cancelled (cancellable, error)
          || !temper_forward_eval (gen->fwd, tokens + done, chunk, pos, last ? logits : NULL, error))
        {
          ok = FALSE;
          break;
        }
      g_array_append_vals (gen->cached, tokens + done, (guint) chunk);
      pos += chunk;
      done += (gsize) chunk;
    }
  temper_forward_set_reach (gen->fwd, 0);
  return ok;
}

/* Streams text while holding back what might still turn into a stop string
 * or is the start of an unfinished UTF-8 character. */
typedef struct {
  GString            *text;
  gsize               emitted;
  const char *const  *stops;
  TemperTextCallback  callback;
  gpointer            user_data;
} TextStream;

static gsize
utf8_complete_prefix (const char *s, gsize len)
{
  gsize i = len;

  /* Walk back over at most 3 continuation bytes to the last lead byte. */
  for (int back = 0; back < 4 && i > 0; back++)
    {
      guchar ch = (guchar) s[i - 1];

      if ((ch & 0xC0) != 0x80)
        {
          gsize need = ch < 0x80 ? 1 : ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC0 ? 2 : 1;

          return (len - (i - 1) >= need) ? len : i - 1;
        }
      i--;
    }
  return len;
}

static gboolean
stream_emit (TextStream *ts, gsize end)
{
  gboolean go_on = TRUE;

  if (end > ts->emitted && ts->callback != NULL)
    {
      const char *piece = ts->text->str + ts->emitted;
      gsize len = end - ts->emitted;

      /* A model can emit byte tokens that never form a character. */
      if (g_utf8_validate_len (piece, len, NULL))
        go_on = ts->callback (piece, len, ts->user_data);
      else
        {
          g_autofree char *valid = g_utf8_make_valid (piece, (gssize) len);

          go_on = ts->callback (valid, strlen (valid), ts->user_data);
        }
    }
  ts->emitted = MAX (ts->emitted, end);
  return go_on;
}

/* Returns FALSE when a stop string was found (the text before it emitted) or
 * the callback asked to stop; *hit_stop tells which. */
static gboolean
stream_push (TextStream *ts, const char *bytes, gsize len, gboolean *hit_stop)
{
  gsize hold = 0, end;

  g_string_append_len (ts->text, bytes, (gssize) len);
  for (int i = 0; ts->stops != NULL && ts->stops[i] != NULL; i++)
    {
      const char *stop = ts->stops[i];
      gsize slen = strlen (stop);
      const char *found;

      if (slen == 0)
        continue;
      found = g_strstr_len (ts->text->str + ts->emitted, (gssize) (ts->text->len - ts->emitted), stop);
      if (found != NULL)
        {
          *hit_stop = TRUE;
          stream_emit (ts, (gsize) (found - ts->text->str));
          return FALSE;
        }
      /* The longest tail of the text that begins the stop string. */
      for (gsize k = MIN (slen - 1, ts->text->len - ts->emitted); k > hold; k--)
        if (memcmp (ts->text->str + ts->text->len - k, stop, k) == 0)
          {
            hold = k;
            break;
          }
    }
  end = utf8_complete_prefix (ts->text->str, ts->text->len - hold);
  return stream_emit (ts, MAX (end, ts->emitted));
}

gboolean
temper_generator_generate (temper_generator_t *gen, const gint32 *prompt, gsize n_prompt,
                           const TemperSamplingParams *params,
                           TemperTextCallback callback, gpointer user_data,
                           GCancellable *cancellable, TemperGenerateResult *result,
                           GError **error)
{
  temper_tokenizer_t *tok = temper_model_get_tokenizer (gen->model);
  const int *stop_tokens = temper_model_get_stop_tokens (gen->model);
  const TemperModelConfig *c = temper_model_get_config (gen->model);
  int n_ctx = temper_forward_get_n_ctx (gen->fwd);
  g_autoptr(TemperSampler) sampler = NULL;
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) recent = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GString) text = g_string_new (NULL);
  TextStream ts = { text, 0, params->stop_strings, callback, user_data };
  TemperStopReason reason = TEMPER_STOP_MAX_TOKENS;
  gsize keep = 0;
  gint64 t0, t1;

  if (n_prompt == 0)
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("The prompt is empty."));
      return FALSE;
    }
  if (n_prompt >= (gsize) n_ctx)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The prompt is %zu tokens long, but this session holds at most %d. Shorten it or start a new conversation."),
                   n_prompt, n_ctx);
      return FALSE;
    }

  /* Reuse the cached prefix, but always compute at least the last prompt
   * token: its logits are the first ones sampled from. */
  while (keep < gen->cached->len && keep + 1 < n_prompt &&
         g_array_index (gen->cached, gint32, keep) == prompt[keep])
    keep++;
  g_array_set_size (gen->cached, (guint) keep);

  sampler = temper_sampler_new (c->n_vocab, params);
  g_array_append_vals (recent, prompt, (guint) n_prompt);

  t0 = g_get_monotonic_time ();
  if (!temper_generator_eval (gen, prompt + keep, n_prompt - keep, gen->logits, cancellable, error))
    return FALSE;
  t1 = g_get_monotonic_time ();

  for (;;)
    {
      gint32 id;
      gboolean is_stop = FALSE, hit_stop = FALSE;
      const char *bytes;
      gsize len;

      if (params->max_tokens > 0 && (int) out->len >= params->max_tokens)
        {
          reason = TEMPER_STOP_MAX_TOKENS;
          break;
        }
      id = temper_sampler_sample (sampler, gen->logits,
                                  (const gint32 *) recent->data, (int) recent->len);
      for (int i = 0; stop_tokens != NULL && stop_tokens[i] >= 0; i++)
        is_stop |= stop_tokens[i] == id;
      if (is_stop)
        {
          reason = TEMPER_STOP_TOKEN;
          break;
        }
      g_array_append_val (out, id);
      g_array_append_val (recent, id);
      bytes = temper_tokenizer_token_bytes (tok, id, &len);
      if (!stream_push (&ts, bytes, len, &hit_stop))
        {
          reason = hit_stop ? TEMPER_STOP_STRING : TEMPER_STOP_CALLBACK;
          break;
        }
      if ((int) gen->cached->len >= n_ctx)
        {
          reason = TEMPER_STOP_CONTEXT_FULL;
          break;
        }
      if (!temper_generator_eval (gen, &id, 1, gen->logits, cancellable, error))
        return FALSE;
    }
  /* The rest of the text, less a character the answer stopped in the middle of. */
  if (reason != TEMPER_STOP_STRING && reason != TEMPER_STOP_CALLBACK)
    stream_emit (&ts, utf8_complete_prefix (text->str, text->len));

  if (result != NULL)
    {
      result->stop_reason = reason;
      result->tokens = g_steal_pointer (&out);
      result->n_prompt_tokens = (int) (n_prompt - keep);
      result->prompt_seconds = (double) (t1 - t0) / G_USEC_PER_SEC;
      result->generate_seconds = (double) (g_get_monotonic_time () - t1) / G_USEC_PER_SEC;
    }
  return TRUE;
}

void
temper_generate_result_clear (TemperGenerateResult *result)
{
  g_clear_pointer (&result->tokens, g_array_unref);
}
