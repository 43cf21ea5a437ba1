/* SPDX-License-Identifier: MIT */
/* train.h — making LoRA adapters, their PEFT files, and the settings of a
 * training run.
 *
 * The adapter itself is a temper_adapter_t (temper/adapter.h): y = x·Wᵀ +
 * s·(x·Aᵀ)·Bᵀ with fp32 A {r × in}, B {out × r}.  B's rows follow the model's
 * own row order (llama.cpp's interleaved q/k rows for a llama-arch GGUF); they
 * are converted to Hugging Face order only when an adapter is written in PEFT
 * format and back when one is read, so PEFT files always match what PEFT and
 * transformers expect. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "temper/adapter.h"
#include "temper/dataset.h"
#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/op-profile.h"

G_BEGIN_DECLS

/* Target sets, as TEMPER_LORA_TARGET_BIT() masks (temper/adapter.h). */
#define TEMPER_LORA_TARGETS_ATTENTION \
  (TEMPER_LORA_TARGET_BIT (TEMPER_LORA_Q) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_V))
#define TEMPER_LORA_TARGETS_ALL_LINEAR TEMPER_LORA_ALL_TARGETS

/* Parses "attention", "all-linear" (or "all linear", "all_linear") or a comma
 * separated list of q, k, v, o, gate, up, down (the PEFT names q_proj, … are
 * accepted too) into a target mask.  Fails with a message listing the
 * accepted words. */
gboolean temper_lora_targets_parse (const char *text, guint *targets, GError **error);
/* "q,v", "q,k,v,o,gate,up,down": a string temper_lora_targets_parse() reads back. */
char    *temper_lora_targets_to_string (guint targets);

typedef struct {
  guint    targets;     /* TEMPER_LORA_TARGET_BIT() mask, not 0 */
  int      rank;        /* r ≥ 1 */
  float    alpha;       /* α > 0 */
  float    dropout;     /* on the LoRA input during training, in [0, 1) */
  gboolean use_rslora;  /* scaling α/√r instead of α/r */
} TemperLoraConfig;

/* rank 16, alpha 32, dropout 0.05, attention targets, no rsLoRA. */
void  temper_lora_config_init_default (TemperLoraConfig *config);
float temper_lora_config_get_scaling  (const TemperLoraConfig *config);

/* A fresh adapter for a model of @model_config, initialised as PEFT does: A
 * drawn from U(−1/√in, 1/√in) (Kaiming-uniform with a = √5), B = 0, from
 * @seed alone, so the same seed gives the same adapter. */
temper_adapter_t *temper_lora_adapter_new (const TemperModelConfig *model_config,
                                           const TemperLoraConfig  *config,
                                           guint64                  seed,
                                           GError                 **error);

/* The adapter's trainable parameters as one vector: layer by layer, targets
 * in enum order, A then B.  This order is the one of checkpoints' optimizer
 * state. */
guint64 temper_lora_count_params (const temper_adapter_t *adapter,
                                  const TemperModelConfig *model_config);
void    temper_lora_gather       (temper_adapter_t *adapter, const TemperModelConfig *model_config,
                                  float *flat);
void    temper_lora_scatter      (temper_adapter_t *adapter, const TemperModelConfig *model_config,
                                  const float *flat);

/* Writes @dir/adapter_config.json and @dir/adapter_model.safetensors as PEFT
 * does (names base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight,
 * …; q/k B rows in Hugging Face order).  @base_model_name goes into
 * base_model_name_or_path (may be NULL); @dropout is recorded as lora_dropout.
 * Each file is written under a temporary name and renamed, so a reader never
 * sees half a file. */
gboolean          temper_lora_save_peft (temper_adapter_t *adapter,
                                         const TemperModelConfig *model_config,
                                         float dropout, const char *dir,
                                         const char *base_model_name, GError **error);
/* Reads a PEFT LoRA adapter folder for a model of @model_config.  Refuses,
 * naming the file, adapters whose shapes do not fit the model, DoRA,
 * per-module rank patterns, bias training and embedding LoRA.  @config, when
 * non-NULL, receives rank, alpha, dropout, rsLoRA and targets. */
temper_adapter_t *temper_lora_load_peft (const char *dir, const TemperModelConfig *model_config,
                                         TemperLoraConfig *config, GError **error);

/* ---- Training settings --------------------------------------------------- */

typedef enum {
  TEMPER_LR_CONSTANT,
  TEMPER_LR_LINEAR,   /* warmup, then linear decay to 0 at the last step */
  TEMPER_LR_COSINE,   /* warmup, then half a cosine down to 0 at the last step */
} TemperLrSchedule;

/* "constant", "linear", "cosine". */
const char *temper_lr_schedule_name  (TemperLrSchedule schedule);
gboolean    temper_lr_schedule_parse (const char *text, TemperLrSchedule *schedule,
                                      GError **error);
/* The learning rate for optimizer step @step (0-based) of @total_steps, as
 * transformers' get_{constant,linear,cosine}_schedule_with_warmup give it:
 * during the first @warmup_steps it rises linearly from 0. */
double      temper_lr_at (TemperLrSchedule schedule, double base_lr, gint64 step,
                          gint64 warmup_steps, gint64 total_steps);

/* The bundled general prompts (data/train/replay-prompts.jsonl). */
#define TEMPER_TRAIN_MAX_REPLAY_RECORDS 48

typedef struct {
  TemperLoraConfig lora;
  double           learning_rate;
  TemperLrSchedule schedule;
  gint64           warmup_steps;
  double           beta1, beta2, eps;
  double           weight_decay;
  double           max_grad_norm;      /* 0: no clipping */
  int              epochs;             /* used when max_steps is 0 */
  gint64           max_steps;          /* optimizer steps; 0: run @epochs */
  int              micro_batch;        /* sequences per forward/backward */
  int              grad_accum;         /* micro-batches per optimizer step */
  int              max_length;         /* tokens per sequence */
  guint64          seed;
  gint64           eval_every;         /* steps; 0: only at the end */
  gint64           checkpoint_every;   /* steps; 0: only at the end */
  int              patience;           /* evaluations without improvement; 0: no early stop */
  gboolean         recompute;          /* recompute activations per layer in backward */
  /* The frozen weights' products (forward and input gradient) in fp32 on
   * the CPU, as the tests against transformers/PEFT run them; FALSE (the
   * default) rounds them to bfloat16 with fp32 sums where the processor
   * has AMX or AVX512-BF16, several times faster. */
  gboolean         exact;
  double           val_fraction;       /* of the dataset, when no validation file; < 0: automatic */
  gboolean         train_on_all_tokens;/* loss on every token, not just the assistant's */
  /* How the base model's linear projections are held while training and
   * whenever the run's model is loaded again (resume, evaluate, compare,
   * chat with the run's adapter): see temper_model_set_base_weights(). */
  TemperBaseWeights base_weights;
  /* Records of general prompts (data/train/replay-prompts.jsonl) answered
   * greedily by the base model itself when the run starts and mixed into
   * the training records, so that the tuned model keeps answering what the
   * dataset does not teach as the base model did (replay against
   * forgetting); 0: none. */
  int              replay_records;
} TemperTrainSettings;

void        temper_train_settings_init_default (TemperTrainSettings *settings);
/* Checks every value's range; the message names the setting and its range. */
gboolean    temper_train_settings_validate (const TemperTrainSettings *settings, GError **error);
JsonNode   *temper_train_settings_to_json  (const TemperTrainSettings *settings);
/* Members missing from @node keep the values already in @settings, so a
 * settings file may name only what it changes.  Unknown members are errors
 * (a misspelt setting should not silently do nothing). */
gboolean    temper_train_settings_from_json (TemperTrainSettings *settings, JsonNode *node,
                                             GError **error);

/* ---- Presets and automatic settings ------------------------------------ *
 *
 * A preset says how long training may take; the automatic settings choose
 * the rest from the model and the dataset, by rules measured with
 * tests/bench/sweep-settings.py (the table: tests/bench/learning/sweep-results.md). */

typedef enum {
  TEMPER_TRAIN_PRESET_QUICK,
  TEMPER_TRAIN_PRESET_BALANCED,
  TEMPER_TRAIN_PRESET_THOROUGH,
} TemperTrainPreset;

/* "quick", "balanced", "thorough". */
const char *temper_train_preset_name  (TemperTrainPreset preset);
gboolean    temper_train_preset_parse (const char *text, TemperTrainPreset *preset, GError **error);

/* The preset's fixed settings, as they were before automatic settings (rank,
 * targets, learning rate, steps chosen without looking at model or data):
 * temper_train_settings_init_default() with the preset's changes.  Kept for
 * a page that has not measured a dataset yet. */
void        temper_train_preset_apply (TemperTrainPreset preset, TemperTrainSettings *settings);

/* What the automatic settings look at. */
typedef struct {
  guint64  n_params;        /* the model's parameters */
  guint64  n_records;       /* usable training records */
  guint64  tokens_total;    /* over those records */
  int      token_max;       /* the longest record, in tokens */
  int      token_p95;
} TemperTrainFacts;

/* Reads the dataset at @path as training will (with @model's chat template;
 * @options, may be NULL, gives CSV/TSV column choices) and adds it to
 * @facts (zero it first; several files add up), with @model's size. */
gboolean temper_train_facts_measure (temper_model_t *model, const char *path,
                                     const TemperDatasetOptions *options,
                                     TemperTrainFacts *facts, GError **error);

/* One plain sentence per chosen value, saying why (translated). */
typedef enum {
  TEMPER_TRAIN_WHY_LEARNING_RATE,
  TEMPER_TRAIN_WHY_SCHEDULE,
  TEMPER_TRAIN_WHY_EPOCHS,
  TEMPER_TRAIN_WHY_RANK,
  TEMPER_TRAIN_WHY_TARGETS,
  TEMPER_TRAIN_WHY_BATCH,
  TEMPER_TRAIN_WHY_MAX_LENGTH,
  TEMPER_TRAIN_WHY_VALIDATION,
  TEMPER_TRAIN_WHY_REPLAY,
  TEMPER_TRAIN_N_WHY
} TemperTrainWhy;

typedef struct {
  char *sentence[TEMPER_TRAIN_N_WHY];
} TemperTrainReasons;

void temper_train_reasons_clear (TemperTrainReasons *reasons);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TemperTrainReasons, temper_train_reasons_clear)

/* Fills @settings (from temper_train_settings_init_default()) with the
 * learning rate, schedule, warm-up, epochs, rank, alpha, targets, batch,
 * accumulation, max length and validation share that suit @facts, within
 * the time @preset allows.  @reasons (may be NULL) receives a sentence for
 * each; free them with temper_train_reasons_clear(). */
void temper_train_settings_choose (const TemperTrainFacts *facts, TemperTrainPreset preset,
                                   TemperTrainSettings *settings, TemperTrainReasons *reasons);

/* ---- Training ----------------------------------------------------------- */

typedef struct temper_run temper_run_t;

/* Sent after every optimizer step (and after each evaluation) from the
 * training thread. */
typedef struct {
  gint64   step;          /* optimizer steps done */
  gint64   total_steps;
  double   epoch;         /* fractional */
  double   loss;          /* this step's mean loss */
  double   val_loss;      /* NaN unless this step evaluated */
  double   lr;
  double   grad_norm;     /* before clipping */
  double   tokens_per_s;
  double   elapsed_s;
  guint64  memory_bytes;  /* peak resident memory of the process */
  const char *device;     /* "vulkan (AMD Radeon RX 7600)": where the run trains */
  const char *device_note;/* why a GPU is not used (it failed its self-test), or NULL */
} TemperTrainProgress;

typedef void (*TemperTrainProgressFunc) (const TemperTrainProgress *progress, gpointer user_data);

/* Sent during the long phases between steps, from the training thread:
 * @stage names the phase for a person (“Reading the dataset”, “Validation
 * loss on 200 of 100000 held-out records”), @fraction of it is done. */
typedef void (*TemperTrainStageFunc) (const char *stage, double fraction, gpointer user_data);

/* A validation pass reads at most this many held-out records, evenly spaced
 * over them: past a few hundred the loss estimate barely changes while each
 * pass over, say, 100,000 records would take an hour. */
#define TEMPER_TRAIN_MAX_VALIDATION_RECORDS 200

typedef struct {
  int                      n_threads;    /* CPU threads; 0: one per core */
  /* TEMPER_BACKEND_CPU (the default), _VULKAN, _CUDA or TEMPER_BACKEND_BEST
   * (temper/backend-choice.h), and the device within it; -1 (the default):
   * the backend's best device. */
  TemperBackendKind        backend;
  int                      device;
  GCancellable            *cancellable;  /* stops after the current micro-batch, with a checkpoint */
  TemperTrainProgressFunc  progress;
  gpointer                 progress_data;
  TemperTrainStageFunc     stage;        /* may be NULL */
  gpointer                 stage_data;
} TemperTrainOptions;

void     temper_train_options_init (TemperTrainOptions *options);

/* Trains the run's adapter on the backend @options names: from its newest checkpoint
 * when it has one (continuing exactly where it stopped), else from a fresh
 * adapter.  @model is the run's model, already loaded; its base weights are
 * first held as the run's settings say (temper_model_set_base_weights(),
 * which refuses NF4 for an already quantized model), converting @model in
 * place; NF4 weights write their size before and after to RUN/train.log.  Writes metrics,
 * checkpoints and, at the end, RUN/adapter.  Fails with
 * TEMPER_ERROR_CANCELLED when cancelled (a checkpoint of the last finished
 * step is kept) and TEMPER_ERROR_NUMERIC when the loss stops being a number
 * (the last checkpoint is kept; the message suggests a lower learning rate).
 * A micro-batch that does not fit in the device's memory (by the estimate
 * up front, or by an out-of-memory error during a step) is run in passes of
 * fewer sequences whose gradients add up, so the effective batch and the
 * results do not change; each such retry is written to RUN/train.log.  A run
 * that does not fit even one sequence at a time is refused, saying how much
 * it needs (TEMPER_MEMORY_LIMIT lowers what a device may be asked for).
 * Checkpoints do not depend on the backend, so a run stopped on one may
 * continue on another. */
gboolean temper_train_run (temper_run_t *run, temper_model_t *model,
                           const TemperTrainOptions *options, GError **error);
/* The same for a model other code holds and may use meanwhile (the app's
 * other pages answer with it): @model is only read, and when its base
 * weights are not as the run's settings say, training loads a model of its
 * own from the same file and holds that one so. */
gboolean temper_train_run_shared (temper_run_t *run, const temper_model_t *model,
                                  const TemperTrainOptions *options, GError **error);

/* The run's adapter (RUN/adapter/) is the one with the lowest validation
 * loss, which may be from before the last step.  This says so in a sentence
 * when it is, or when training stopped early (“Stopped early at step 120:
 * the validation loss had not improved for 3 evaluations; kept the adapter
 * from step 80 (validation loss 1.23).”); NULL otherwise, or before the
 * run has finished. */
char    *temper_train_describe_outcome (temper_run_t *run);

/* Continuing from an earlier adapter.  @source is a run folder (its kept
 * adapter is used) or a PEFT adapter folder.  read_start_adapter() checks
 * that it fits a model of @model_config and gives its rank, alpha, dropout
 * and targets (the new run's settings must use them).  set_start_adapter()
 * copies it into @run (RUN/start-adapter/, with from.json naming @source):
 * the run's first step then starts from its weights instead of a fresh
 * adapter.  Call it after temper_run_create(), before training. */
gboolean temper_train_read_start_adapter (const char *source, const TemperModelConfig *model_config,
                                          TemperLoraConfig *lora, GError **error);
gboolean temper_train_set_start_adapter  (temper_run_t *run, const char *source,
                                          const TemperModelConfig *model_config, GError **error);

/* The memory a run with @settings (LoRA rank, targets and dropout,
 * micro-batch, max_length as the sequence length, recompute, base weights)
 * holds on a device of @kind, computed as the training step lays it out,
 * with nothing allocated: the frozen weights the device keeps (the
 * projections as NF4 when the settings say so; on a GPU the embedding table
 * only when it is the lm_head too) and the training buffers (activations,
 * the adapter, its gradients and AdamW moments).  On the CPU the weights are
 * the model's own memory. */
void temper_train_plan_memory (const temper_model_t *model, const TemperTrainSettings *settings,
                               TemperBackendKind kind, guint64 *weight_bytes,
                               guint64 *buffer_bytes);

/* Speed of training steps on synthetic data (random tokens, loss on every
 * token): @settings gives the LoRA, micro-batch, max_length (the sequence
 * length used) and recompute; grad_accum is taken as 1.  The first step is a
 * warm-up and is not timed.  With no steps, only the training step is built
 * on the device: the memory figures are those a run of this shape holds
 * (speeds are 0). */
typedef struct {
  double   tokens_per_s;
  double   seconds_per_step;
  guint64  peak_rss_bytes;     /* of the whole process, model mapping included */
  guint64  train_memory_bytes; /* buffers the training step allocated */
  guint64  peak_device_bytes;  /* most GPU memory Temper's buffers held at once; 0 on the CPU */
  guint64  n_params;           /* trainable LoRA parameters */
  /* Model FLOPs per trained token (temper_train_flops_per_token() without
   * recomputation, temper/train-figures.h): 4 × frozen matmul parameters (forward
   * and input gradient) + 6 × adapter parameters (forward, input and
   * weight gradients) + causal attention, 6 × layers × n_head·head_dim ×
   * sequence length (12 for full attention, halved by the causal mask).
   * tokens_per_s × this / the device's peak FLOP/s is the MFU. */
  double   flops_per_token;
  /* The GPU's dense bf16 peak in TFLOP/s when Temper knows the model of
   * GPU, else 0 (then pass it to temper-cli bench train --peak-tflops). */
  double   peak_tflops;
  char     device[160];        /* "vulkan (llvmpipe (LLVM 15.0.6, 256 bits))" */
  /* With a profile: the CPU's fp32 GEMM rate in GFLOP/s, measured after the
   * steps with the same threads (the MFU's denominator on the CPU); else 0. */
  double   gemm_gflops;
  /* With a profile, in fast mode on a processor with AMX or AVX512-BF16: the
   * same product's rate as the frozen matmul in bfloat16; else 0. */
  double   bf16_gemm_gflops;
} TemperTrainBenchResult;

/* On the backend and device @options names (n_threads, backend, device;
 * may be NULL for the CPU). */
gboolean temper_train_bench (const temper_model_t *model, const TemperTrainSettings *settings,
                             int n_steps, const TemperTrainOptions *options,
                             TemperTrainBenchResult *result, GError **error);
/* The same on the CPU backend, adding the time of each op of the timed steps
 * to @profile by kind (cleared first); fails on another backend. */
gboolean temper_train_bench_profiled (const temper_model_t *model, const TemperTrainSettings *settings,
                                      int n_steps, const TemperTrainOptions *options,
                                      TemperTrainBenchResult *result, TemperOpProfile *profile,
                                      GError **error);

G_END_DECLS
