/* SPDX-License-Identifier: MIT */
/* generate.h — running a model: prompt tokens in, sampled tokens out.
 *
 * A generator holds a model on a compute device with a KV cache sized up
 * front.  Each call to temper_generator_generate() takes the whole prompt
 * (for a chat: the conversation so far, rendered by the chat template); the
 * part that matches what is already in the cache is not computed again, so a
 * conversation costs only its new turn.  Tokens stream out through a
 * callback as text, and generation stops at the model's stop tokens, at a
 * stop string, after max_tokens, or when the GCancellable is cancelled
 * (checked between tokens). */
#pragma once

#include <gio/gio.h>
#include "temper/adapter.h"
#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/op-profile.h"

G_BEGIN_DECLS

typedef struct temper_generator temper_generator_t;

typedef struct {
  int n_ctx;        /* tokens the KV cache holds; 0 = min(4096, the model's context) */
  int n_threads;    /* CPU threads; 0 = one per core */
  /* Keep activations in fp32 when decoding (slower); by default they are
   * rounded to 8 bits against 4/5/8-bit weights, as llama.cpp does. */
  gboolean exact;
} TemperGeneratorOptions;

typedef struct {
  float   temperature;     /* 0 = greedy (always the most likely token) */
  int     top_k;           /* keep the k most likely; 0 = off */
  float   top_p;           /* keep the smallest set with this much probability; 1 = off */
  float   repeat_penalty;  /* > 1 discourages tokens seen in the last repeat_last_n; 1 = off */
  int     repeat_last_n;
  guint64 seed;            /* same seed, same settings, same answer */
  int     max_tokens;      /* 0 = until a stop or the cache is full */
  const char *const *stop_strings; /* NULL-terminated; may be NULL */
} TemperSamplingParams;

typedef enum {
  TEMPER_STOP_TOKEN,       /* the model ended its answer */
  TEMPER_STOP_STRING,      /* a stop string appeared (it is not emitted) */
  TEMPER_STOP_MAX_TOKENS,
  TEMPER_STOP_CONTEXT_FULL,
  TEMPER_STOP_CALLBACK,    /* the callback returned FALSE */
} TemperStopReason;

typedef struct {
  TemperStopReason stop_reason;
  GArray          *tokens;          /* gint32 ids generated (stop token excluded) */
  int              n_prompt_tokens; /* prompt tokens that had to be computed */
  double           prompt_seconds;
  double           generate_seconds;
} TemperGenerateResult;

/* Defaults: temperature 0.7, top_k 40, top_p 0.95, repeat_penalty 1.1 over
 * 64 tokens, seed 0, max_tokens 512. */
void temper_sampling_params_init (TemperSamplingParams *params);

/* Receives each new piece of text (complete UTF-8, never part of a stop
 * string).  Return FALSE to stop. */
typedef gboolean (*TemperTextCallback) (const char *text, gsize len, gpointer user_data);

temper_generator_t *temper_generator_new  (const temper_model_t *model,
                                           const TemperGeneratorOptions *options,
                                           GError **error);
/* The same on backend @kind (TEMPER_BACKEND_CPU, _VULKAN, _CUDA or
 * TEMPER_BACKEND_BEST from temper/backend-choice.h) and its device @device
 * (-1: the backend's best); fails, saying what was found, when that backend
 * or device is not there.  options->n_threads and ->exact apply to the CPU. */
temper_generator_t *temper_generator_new_on (const temper_model_t *model,
                                             const TemperGeneratorOptions *options,
                                             TemperBackendKind kind, int device,
                                             GError **error);
void                temper_generator_free (temper_generator_t *gen);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_generator_t, temper_generator_free)

int         temper_generator_get_n_ctx   (const temper_generator_t *gen);
/* "cpu (AVX2+FMA+F16C, 2 threads)". */
const char *temper_generator_get_device  (const temper_generator_t *gen);
/* Adds the time of every op the generator runs from now on to @profile by
 * kind (NULL stops); only on the CPU backend, else FALSE with @error. */
gboolean    temper_generator_set_profile (temper_generator_t *gen, TemperOpProfile *profile,
                                          GError **error);

/* Applies @adapter (NULL for the base model) from the next token on; the
 * generator keeps a reference-free pointer, so keep the adapter alive while
 * it is set.  Clears the cache. */
gboolean temper_generator_set_adapter (temper_generator_t *gen, temper_adapter_t *adapter,
                                       GError **error);
/* Forgets the cached tokens. */
void     temper_generator_reset       (temper_generator_t *gen);

/* Appends @n tokens to the cache and writes the next-token logits (n_vocab
 * floats) to @logits when non-NULL. */
gboolean temper_generator_eval (temper_generator_t *gen, const gint32 *tokens, gsize n,
                                float *logits, GCancellable *cancellable, GError **error);

/* Generates the answer to @prompt.  @result (may be NULL) is filled on
 * success; clear it with temper_generate_result_clear(). */
gboolean temper_generator_generate (temper_generator_t *gen, const gint32 *prompt,
                                    gsize n_prompt, const TemperSamplingParams *params,
                                    TemperTextCallback callback, gpointer user_data,
                                    GCancellable *cancellable,
                                    TemperGenerateResult *result, GError **error);
void     temper_generate_result_clear (TemperGenerateResult *result);

G_END_DECLS
