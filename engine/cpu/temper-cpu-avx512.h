/* SPDX-License-Identifier: MIT */
/* temper-cpu-avx512.h — kernels built with -mavx512f in their own static
 * library; call them only after __builtin_cpu_supports ("avx512f"). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The 12×16 register tile of temper_cpu_sgemm () (see
 * TemperCpuKernels.gemm_tile). */
void temper_cpu_avx512_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                                  const float *pb, float *c, int64_t ldc, float alpha);

G_END_DECLS
