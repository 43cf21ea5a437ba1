/* temper-train-dropout.h — dropout on the LoRA input (private).
 *
 * The backend interface has no dropout op yet, so this one runs on backends
 * whose buffers live in host memory (the CPU backend) and is a candidate to
 * move into the backend table.  The mask is a pure function of (@key, element
 * index), so the backward pass regenerates exactly the forward's mask
 * without storing it. */
#pragma once

#include "nn/temper-backend.h"

G_BEGIN_DECLS

/* TRUE when @t's buffer is host memory this op can touch. */
gboolean temper_train_dropout_supported (const TemperBTensor *t);

/* out = x ⊙ mask / (1 − p), mask[i] = 1 with probability 1 − p.  F32,
 * same shape; @out may be @x. */
void     temper_train_dropout (const TemperBTensor *out, const TemperBTensor *x,
                               float p, guint64 key);

G_END_DECLS
