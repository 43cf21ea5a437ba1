/* SPDX-License-Identifier: MIT */
/* temper-cpu-backend.h — the CPU backend: the reference for every other
 * backend, and the one that runs everywhere. */
#pragma once

#include "temper-backend.h"
#include "temper/op-profile.h"

G_BEGIN_DECLS

typedef enum {
  /* AVX2/FMA/F16C where the processor has them (and AVX-512 for the GEMM
   * tile where it has that too), fp32 activations: what training and
   * comparisons with other implementations use. */
  TEMPER_CPU_KERNELS_BEST,
  /* Portable C only, fp32 activations (tests compare it with the others). */
  TEMPER_CPU_KERNELS_SCALAR,
  /* BEST, but activations are rounded to 8 bits when decoding a few tokens
   * against 4/5/8-bit weights, as llama.cpp does: the fastest for chatting;
   * logits move by about 1e-2. */
  TEMPER_CPU_KERNELS_FAST_DECODE,
  /* BEST without AVX-512, so tests cover the AVX2 kernels on processors
   * that have both. */
  TEMPER_CPU_KERNELS_AVX2,
  /* BEST, but the frozen-weight products of training (matmul and its input
   * gradient, many tokens) round x and W to bfloat16 and sum in fp32, on AMX
   * tiles or AVX512-BF16 where the processor has them: training's default;
   * products move by about 1e-2 of |x|·|W| (BEST is training's exact mode). */
  TEMPER_CPU_KERNELS_FAST_TRAIN,
  /* FAST_TRAIN without AMX, so tests cover the AVX512-BF16 kernel on
   * processors that have both. */
  TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16,
} TemperCpuKernelChoice;

/* What the CPU backend runs: every op, every weight type Temper reads. */
extern const TemperOpSupport temper_cpu_op_support;

/* @n_threads <= 0 picks one per available core. */
TemperBackend *temper_cpu_backend_new (int n_threads, TemperCpuKernelChoice kernels);
/* "AVX-512+AVX2+FMA+F16C", "AVX2+FMA+F16C, 8-bit decoding", "scalar"… */
const char    *temper_cpu_backend_get_kernels_name (TemperBackend *backend);
int            temper_cpu_backend_get_n_threads    (TemperBackend *backend);

/* From now on, adds the time of each op @backend runs to @profile by kind
 * (temper/op-profile.h); NULL stops.  @profile must outlive the profiling. */
void           temper_cpu_backend_set_profile      (TemperBackend *backend, TemperOpProfile *profile);
/* The fp32 GEMM rate of @backend's threads, in GFLOP/s, measured over about
 * @seconds with the backend's own GEMM. */
double         temper_cpu_backend_measure_gemm_gflops (TemperBackend *backend, double seconds);

G_END_DECLS
