/* SPDX-License-Identifier: MIT */
/* Picks the row kernels once per backend: AVX2 when the processor has it,
 * otherwise portable C built on the engine's reference dequantiser. */
#include "config.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "temper-cpu-avx2.h"
#ifdef TEMPER_HAVE_AVX512
#include "temper-cpu-avx512.h"
#endif
#include "temper-cpu-private.h"

/* Elements per step of the portable kernels: a multiple of every block size. */
#define TILE 256

static void
scalar_dequant_row (int type, const void *src, int64_t n, float *out)
{
  TemperTensorView view = { NULL, type, { n, 1 }, temper_type_row_bytes (type, n), src };

  temper_tensor_row_to_f32 (&view, 0, out);
}

static float
scalar_dot_f32 (const float *a, const float *b, int64_t n)
{
  float sum = 0.0f;

  for (int64_t i = 0; i < n; i++)
    sum += a[i] * b[i];
  return sum;
}

static void
scalar_axpy (float a, const float *x, float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] += a * x[i];
}

static float
scalar_dot_row (int type, const void *w, const float *x, int64_t n)
{
  const guint8 *p = w;
  float tile[TILE];
  float sum = 0.0f;

  if (type == TEMPER_TYPE_F32)
    return scalar_dot_f32 (w, x, n);
  for (int64_t i = 0; i < n; i += TILE)
    {
      int64_t len = MIN (TILE, n - i);

      scalar_dequant_row (type, p + temper_type_row_bytes (type, i), len, tile);
      sum += scalar_dot_f32 (tile, x + i, len);
    }
  return sum;
}

#if defined(__x86_64__) || defined(__i386__)
static void
avx2_or_scalar_dequant_row (int type, const void *src, int64_t n, float *out)
{
  if (temper_cpu_avx2_handles (type))
    temper_cpu_avx2_dequant_row (type, src, n, out);
  else
    scalar_dequant_row (type, src, n, out);
}

/* Types without their own AVX2 decoder (Q2_K, Q3_K, IQ4_NL, IQ4_XS,
 * TQ2_0) are decoded a tile at a time by the reference decoders, and the
 * tile meets x in the AVX2 dot product. */
static float
avx2_or_scalar_dot_row (int type, const void *w, const float *x, int64_t n)
{
  const guint8 *p = w;
  float tile[TILE];
  float sum = 0.0f;

  if (temper_cpu_avx2_handles (type))
    return temper_cpu_avx2_dot_row (type, w, x, n);
  for (int64_t i = 0; i < n; i += TILE)
    {
      int64_t len = MIN (TILE, n - i);

      scalar_dequant_row (type, p + temper_type_row_bytes (type, i), len, tile);
      sum += temper_cpu_avx2_dot_f32 (tile, x + i, len);
    }
  return sum;
}
#endif

#if defined(__x86_64__) || defined(__i386__)
/* Half-precision conversions (F16C).  Read from CPUID itself: clang's
 * __builtin_cpu_supports does not know the "f16c" name, GCC's does. */
static gboolean
cpu_has_f16c (void)
{
  unsigned int eax, ebx, ecx, edx;

  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return FALSE;
  return (ecx & bit_F16C) != 0;
}
#endif

void
temper_cpu_kernels_init (TemperCpuKernels *k, gboolean allow_simd, gboolean allow_avx512,
                         gboolean allow_q8)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  if (allow_simd && __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma") &&
      cpu_has_f16c ())
    {
      k->dot_row = avx2_or_scalar_dot_row;
      k->dequant_row = avx2_or_scalar_dequant_row;
      k->dot_f32 = temper_cpu_avx2_dot_f32;
      k->axpy = temper_cpu_avx2_axpy;
      k->gemm_tile = temper_cpu_avx2_gemm_tile;
      k->pack_b_transposed = temper_cpu_avx2_pack_b_transposed;
      k->handles_q8 = allow_q8 ? temper_cpu_avx2_handles_q8 : NULL;
      k->quantize_q8 = allow_q8 ? temper_cpu_avx2_quantize_q8 : NULL;
      k->dot_row_q8 = allow_q8 ? temper_cpu_avx2_dot_row_q8 : NULL;
      k->prefill_q8 = FALSE;
      k->name = allow_q8 ? "AVX2+FMA+F16C, 8-bit decoding" : "AVX2+FMA+F16C";
#ifdef TEMPER_HAVE_AVX512
      /* Only the GEMM tile gains from 512-bit vectors: the row kernels are
       * bound by memory, not arithmetic. */
      if (allow_avx512 && __builtin_cpu_supports ("avx512f"))
        {
          k->gemm_tile = temper_cpu_avx512_gemm_tile;
          k->name = allow_q8 ? "AVX-512+AVX2+FMA+F16C, 8-bit decoding" : "AVX-512+AVX2+FMA+F16C";
        }
#else
      (void) allow_avx512;
#endif
#ifdef TEMPER_HAVE_AVX512_VNNI
      if (allow_q8 && allow_avx512 && __builtin_cpu_supports ("avx512f") &&
          __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl") &&
          __builtin_cpu_supports ("avx512vnni"))
        {
          k->prefill_q8 = TRUE;
          k->name = "AVX-512 VNNI+AVX2+FMA+F16C, 8-bit decoding and prompts";
        }
#endif
      return;
    }
#endif
  k->dot_row = scalar_dot_row;
  k->dequant_row = scalar_dequant_row;
  k->dot_f32 = scalar_dot_f32;
  k->axpy = scalar_axpy;
  k->gemm_tile = temper_cpu_gemm_tile_scalar;
  k->pack_b_transposed = temper_cpu_pack_b_transposed_scalar;
  k->handles_q8 = NULL;
  k->quantize_q8 = NULL;
  k->dot_row_q8 = NULL;
  k->prefill_q8 = FALSE;
  k->name = "scalar";
}
