/* SPDX-License-Identifier: MIT */
/* temper-train-layer.c — one transformer layer of the training step: the
 * block generation runs too (nn/temper-block.h), with the activations the
 * backward needs kept, LoRA dropout, and the backward that mirrors it. */
#include "config.h"

#include <string.h>

#include "temper-train-step.h"
#include "temper-train-step-private.h"

/* Layer @l's call on @n_seq sequences of t_cur tokens: what it is, and
 * where it keeps each value. */
static void
layer_call (TemperTrainStep *s, int l, int n_seq, gboolean train, gboolean recompute,
            TemperBlockPass *p, TemperBlockActs *a)
{
  int64_t n = (int64_t) n_seq * s->t_cur;
  TemperBlockPass pass = {
    .backend = s->backend, .c = s->c, .rope = &s->rope, .layer = l,
    .n_seq = n_seq, .n_query = s->t_cur, .pos = 0, .lora_scale = s->scale,
    .dropout = s->dropout, .drop_keys = s->drop_keys + (size_t) l * TEMPER_LORA_N_TARGETS,
    .drop_first_row = (guint32) ((guint64) s->first_seq * (guint64) s->t_cur), .drop = s->drop,
    .train = train, .recompute = recompute, .lora_h_kept = recompute, .stack_lora = s->stack_lora,
  };

  *p = pass;
  *a = s->la[s->recompute ? 0 : l];
  memcpy (a->h, s->la_h + (size_t) l * TEMPER_LORA_N_TARGETS, sizeof a->h);
  a->x = s->x_in[l];
  a->out = s->x_in[l + 1];
  /* Each sublayer's output is formed where its residual sum goes. */
  a->o = a->x2;
  a->f = a->out;
  a->k_all = rows (&a->k, n);
  a->v_all = rows (&a->v, n);
}

void
temper_train_layer_forward (TemperTrainStep *s, int l, int n_seq, gboolean train)
{
  TemperBlockPass p;
  TemperBlockActs a;

  layer_call (s, l, n_seq, train, FALSE, &p, &a);
  temper_block_forward (&p, &s->layers[l], &a);
}

void
temper_train_layer_recompute (TemperTrainStep *s, int l, int n_seq)
{
  TemperBlockPass p;
  TemperBlockActs a;

  layer_call (s, l, n_seq, TRUE, TRUE, &p, &a);
  temper_block_forward (&p, &s->layers[l], &a);
}

void
temper_train_layer_backward (TemperTrainStep *s, int l, int n_seq)
{
  TemperBlockPass p;
  TemperBlockActs a;

  layer_call (s, l, n_seq, TRUE, FALSE, &p, &a);
  temper_block_backward (&p, &s->layers[l], &a, &s->g);
}
