/* SPDX-License-Identifier: MIT */
/* temper-cuda-backend.h — the CUDA backend: NVIDIA GPUs through the CUDA
 * module (kernels/), loaded at run time. */
#pragma once

#include "temper-backend.h"

G_BEGIN_DECLS

/* What the CUDA backend runs (its supports_op() answers from it). */
extern const TemperOpSupport temper_cuda_op_support;

/* A backend on CUDA device @device (as listed by temper_devices_list).
 * NULL with an error a person can act on when there is no driver, no
 * module, no such GPU, or the GPU cannot start. */
TemperBackend *temper_cuda_backend_new (int device, GError **error);

/* The most device memory the backend's buffers have held at once, in bytes
 * (what Temper asked for; cuBLAS and the CUDA context take some more). */
guint64        temper_cuda_backend_get_peak_memory (TemperBackend *backend);

G_END_DECLS
