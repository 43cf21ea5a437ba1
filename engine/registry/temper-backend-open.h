/* SPDX-License-Identifier: MIT */
/* temper-backend-open.h — opening the compute backend a job asked for
 * (private to the engine).
 *
 * Training, generation and the benchmarks all go through here, so that
 * "--backend vulkan --device 1" means the same everywhere and a missing
 * driver or device is reported the same way. */
#pragma once

#include "temper-cpu-backend.h"
#include "temper-backend.h"
#include "temper/backend-choice.h"
#include "temper/device-info.h"
#include "temper-memory-limit.h"

G_BEGIN_DECLS

typedef struct {
  int                   n_threads;    /* CPU backend threads; <= 0: one per core */
  TemperCpuKernelChoice cpu_kernels;
} TemperBackendOpenOptions;

/* Opens @kind (TEMPER_BACKEND_CPU, _VULKAN, _CUDA or TEMPER_BACKEND_BEST) on
 * @device, an index within that backend as "temper-cli devices" lists it, or
 * -1 for the backend's best device.  @options may be NULL (all cores, best
 * kernels).  @info, when non-NULL, receives the device's description
 * (memory_free 0 when unknown); free it with temper_device_info_free().
 * Fails, naming what was found instead, when the backend was not built in,
 * has no driver, or has no such device. */
TemperBackend *temper_backend_open (TemperBackendKind kind, int device,
                                    const TemperBackendOpenOptions *options,
                                    TemperDeviceInfo **info, GError **error);

/* temper_backend_open() for a training job: a GPU is used only once its
 * self-test has passed (run now when this device and driver were never
 * tested; see temper-self-test.c).  A device that fails is left for the next
 * backend (CUDA, then Vulkan, then the CPU, as with TEMPER_BACKEND_BEST; the
 * CPU when a GPU backend was named) and *@note, otherwise NULL, says so in
 * words for the person training. */
TemperBackend *temper_backend_open_for_training (TemperBackendKind kind, int device,
                                                 const TemperBackendOpenOptions *options,
                                                 TemperDeviceInfo **info, char **note,
                                                 GError **error);

/* Runs the self-test on the GPU @backend now: TRUE when every op matched the
 * CPU backend; otherwise *@reason (free it) says which op went wrong. */
gboolean temper_backend_self_test (TemperBackend *backend, char **reason);
/* The remembered self-test of @info's device and driver, or a run of it now
 * (then remembered) when there is none.  @info may be NULL (not remembered).
 * TRUE for the CPU; FALSE with *@reason set when the device must not train. */
gboolean temper_backend_check_device (TemperBackend *backend, TemperDeviceInfo *info,
                                      char **reason);

/* The most GPU memory @backend's buffers have held at once, in bytes; 0 on
 * the CPU, whose memory is the process's (peak RSS). */
guint64        temper_backend_get_peak_memory (TemperBackend *backend);

/* The dense (no sparsity) bf16 tensor-core peak of the GPU named @device_name
 * in TFLOP/s, from its maker's data sheet (GeForce cards at their
 * fp32-accumulate rate), for the MFU that benchmarks report; 0 for a GPU not
 * in the table. */
double         temper_device_peak_tflops (const char *device_name);

/* "vulkan (NVIDIA GeForce RTX 4070)", "cpu (AVX2+FMA+F16C, 2 threads)". */
char          *temper_backend_describe (TemperBackend *backend, const TemperDeviceInfo *info);

/* Fails with "… needs X GB, this GPU has Y GB free" when @needed bytes do
 * not fit in the free memory of the GPU @info describes, or in the limit
 * TEMPER_MEMORY_LIMIT sets.  Otherwise succeeds on the CPU (the system
 * pages) and when the free memory is unknown. */
gboolean       temper_backend_check_memory (const TemperDeviceInfo *info, guint64 needed,
                                            const char *what, GError **error);

G_END_DECLS
