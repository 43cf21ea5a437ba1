/* SPDX-License-Identifier: MIT */
/* temper-cpu-avx2-exp.h — the exponential eight floats at a time, for the
 * softmaxes (attention, cross-entropy) and SwiGLU, built with -mavx2 -mfma
 * in the AVX2 library.  Call only after temper_cpu_kernels_init() saw AVX2
 * and FMA. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* x[i] = exp(x[i] − sub) for i < n; returns Σ x[i] after. */
double temper_cpu_avx2_exp_sub_sum     (float *x, int64_t n, float sub);
/* o[i] = silu(g[i])·u[i]. */
void   temper_cpu_avx2_swiglu          (const float *g, const float *u, float *o, int64_t n);
/* dg[i] += d[i]·u[i]·silu'(g[i]), du[i] += d[i]·silu(g[i]). */
void   temper_cpu_avx2_swiglu_backward (const float *g, const float *u, const float *d,
                                        float *dg, float *du, int64_t n);

G_END_DECLS
