/* SPDX-License-Identifier: MIT */
/* temper-cuda-private.h — the engine's side of the CUDA module. */
#pragma once

#include <glib.h>

#include "temper-cuda-module.h"

G_BEGIN_DECLS

/* The CUDA module, loaded on first use and kept for the life of the process.
 * NULL, with an error saying why in words a person can act on, when there is
 * no NVIDIA driver, no module in this build, or a module from another
 * version.  Later calls give the same answer without trying again. */
const TemperCudaModule *temper_cuda_module_get (GError **error);

/* Turns a failed @status of @module into *error (TEMPER_ERROR_DEVICE,
 * _OUT_OF_MEMORY or _INVALID_ARGUMENT), with @what (“copying the weights”)
 * saying what was being done.  Returns TRUE when @status is TEMPER_CUDA_OK. */
gboolean temper_cuda_check (const TemperCudaModule *module, TemperCudaStatus status,
                            const char *what, GError **error);

/* Appends a TemperDeviceInfo for every CUDA device to @out.  FALSE with
 * *error when no device can be listed (no driver, no GPU, no module). */
gboolean temper_cuda_list_devices (GPtrArray *out, GError **error);

G_END_DECLS
