/* temper-backend-open.h — opening the compute backend a job asked for
 * (private to the engine).
 *
 * Training, generation and the benchmarks all go through here, so that
 * "--backend vulkan --device 1" means the same everywhere and a missing
 * driver or device is reported the same way. */
#pragma once

#include "cpu/temper-cpu-backend.h"
#include "nn/temper-backend.h"
#include "temper/backend-choice.h"
#include "temper/devices.h"

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

/* "vulkan (NVIDIA GeForce RTX 4070)", "cpu (AVX2+FMA+F16C, 2 threads)". */
char          *temper_backend_describe (TemperBackend *backend, const TemperDeviceInfo *info);

/* Fails with "… needs X GB, this GPU has Y GB free" when @needed bytes do
 * not fit in the free memory of the GPU @info describes.  Always succeeds on
 * the CPU (the system pages) and when the free memory is unknown. */
gboolean       temper_backend_check_memory (const TemperDeviceInfo *info, guint64 needed,
                                            const char *what, GError **error);

G_END_DECLS
