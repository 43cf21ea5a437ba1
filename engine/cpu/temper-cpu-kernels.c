/* SPDX-License-Identifier: MIT */
/* Picks the row kernels once per backend: AVX2 when the processor has it,
 * otherwise portable C built on the engine's reference dequantiser. */
#include "config.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "temper-cpu-avx2.h"
#include "temper-cpu-avx2-exp.h"
#include "temper-cpu-avx512.h"
#include "temper-cpu-kquant.h"
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
/* 8-bit decoding: the 32-element block types in temper-cpu-avx2.c, the
 * super-block types and IQ4_NL in temper-cpu-kquant-dot.c. */
static gboolean
avx2_handles_q8 (int type)
{
  return temper_cpu_avx2_handles_q8 (type) || temper_cpu_kquant_handles (type);
}

static float
avx2_dot_row_q8 (int type, const void *w, const int8_t *q, const float *d, const float *s,
                 int64_t n)
{
  if (temper_cpu_kquant_handles (type))
    return temper_cpu_kquant_dot_avx2 (type, w, q, d, s, n);
  return temper_cpu_avx2_dot_row_q8 (type, w, q, d, s, n);
}

/* Four rows at once: the 4- and 5-bit block types in temper-cpu-avx2.c,
 * Q4_K, Q5_K and the IQ4 types in temper-cpu-kquant-dot.c. */
static gboolean
avx2_handles_q8_4rows (int type)
{
  return temper_cpu_avx2_handles_q8_4rows (type) || temper_cpu_kquant_handles_4rows_avx2 (type);
}

static void
avx2_dot_4rows_q8 (int type, const void *w, size_t row_bytes, const int8_t *q, const float *d,
                   const float *s, int64_t n, float *out)
{
  if (temper_cpu_kquant_handles_4rows_avx2 (type))
    temper_cpu_kquant_dot_4rows_avx2 (type, w, row_bytes, q, d, s, n, out);
  else
    temper_cpu_avx2_dot_4rows_q8 (type, w, row_bytes, q, d, s, n, out);
}

#ifdef TEMPER_HAVE_AVX512_VNNI
static gboolean
cpu_has_avx512_vnni (void)
{
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
         __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512vnni");
}

static float
vnni_dot_row_q8 (int type, const void *w, const int8_t *q, const float *d, const float *s,
                 int64_t n)
{
  if (temper_cpu_kquant_handles (type))
    return temper_cpu_kquant_dot_vnni (type, w, q, d, s, n);
  return temper_cpu_avx512_dot_row_q8 (type, w, q, d, s, n);
}

/* AVX512-BF16 (CPUID leaf 7, sub-leaf 1, EAX bit 5): read from CPUID, as
 * not every compiler knows the name. */
static gboolean
cpu_has_avx512_bf16 (void)
{
  unsigned int eax, ebx, ecx, edx;

  if (!__get_cpuid_count (7, 1, &eax, &ebx, &ecx, &edx))
    return FALSE;
  return (eax & (1u << 5)) != 0;
}

/* Decoding: BF16 rows against x rounded to bfloat16; the rest exact. */
static float
avx512_bf16_decode_dot_row (int type, const void *w, const float *x, int64_t n)
{
  if (type == TEMPER_TYPE_BF16)
    return temper_cpu_avx512_dot_bf16_rounded (w, x, n);
  if (type == TEMPER_TYPE_F16)
    return temper_cpu_avx512_dot_half (type, w, x, n);
  return avx2_or_scalar_dot_row (type, w, x, n);
}

/* F16 and BF16 rows sixteen at a time; the rest as with AVX2. */
static float
avx512_dot_row (int type, const void *w, const float *x, int64_t n)
{
  if (type == TEMPER_TYPE_F16 || type == TEMPER_TYPE_BF16)
    return temper_cpu_avx512_dot_half (type, w, x, n);
  return avx2_or_scalar_dot_row (type, w, x, n);
}
#endif

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

static double
scalar_exp_sub_sum (float *x, int64_t n, float sub)
{
  double sum = 0.0;

  for (int64_t i = 0; i < n; i++)
    {
      x[i] = expf (x[i] - sub);
      sum += x[i];
    }
  return sum;
}

static void
scalar_swiglu (const float *g, const float *u, float *o, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    o[i] = g[i] / (1.0f + expf (-g[i])) * u[i];
}

static void
scalar_swiglu_backward (const float *g, const float *u, const float *d, float *dg, float *du,
                        int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    {
      float gi = g[i], s = 1.0f / (1.0f + expf (-gi));

      /* silu'(g) = s·(1 + g·(1 − s)) */
      dg[i] += d[i] * u[i] * s * (1.0f + gi * (1.0f - s));
      du[i] += d[i] * gi * s;
    }
}

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
      k->exp_sub_sum = temper_cpu_avx2_exp_sub_sum;
      k->swiglu = temper_cpu_avx2_swiglu;
      k->swiglu_backward = temper_cpu_avx2_swiglu_backward;
      k->handles_q8 = allow_q8 ? avx2_handles_q8 : NULL;
      k->quantize_q8 = allow_q8 ? temper_cpu_avx2_quantize_q8 : NULL;
      k->dot_row_q8 = allow_q8 ? avx2_dot_row_q8 : NULL;
      k->handles_q8_2rows = NULL;
      k->dot_2rows_q8 = NULL;
      k->handles_q8_4rows = allow_q8 ? avx2_handles_q8_4rows : NULL;
      k->dot_4rows_q8 = allow_q8 ? avx2_dot_4rows_q8 : NULL;
      k->round_bf16 = NULL;
      k->dot_bf16_pre = NULL;
      k->dot_bf16_pre_2rows = NULL;
      /* Generation's prompts with 8-bit activations, as on AVX-512 VNNI
       * (allow_q8: generation's fast mode only, never training). */
      k->prefill_q8 = allow_q8 ? &temper_cpu_q8_gemm_avx2 : NULL;
      k->attention_avx512 = FALSE;
      k->name = allow_q8 ? "AVX2+FMA+F16C, 8-bit decoding and prompts" : "AVX2+FMA+F16C";
#ifdef TEMPER_HAVE_AVX512
      /* Only the GEMM tile gains from 512-bit vectors: the row kernels are
       * bound by memory, not arithmetic. */
      if (allow_avx512 && __builtin_cpu_supports ("avx512f"))
        {
          k->gemm_tile = temper_cpu_avx512_gemm_tile;
          k->attention_avx512 = TRUE;
          k->name = allow_q8 ? "AVX-512+AVX2+FMA+F16C, 8-bit decoding and prompts" : "AVX-512+AVX2+FMA+F16C";
        }
#else
      (void) allow_avx512;
#endif
#ifdef TEMPER_HAVE_AVX512_VNNI
      if (allow_avx512 && cpu_has_avx512_vnni ())
        {
          k->dot_row = avx512_dot_row;
          if (allow_q8)
            {
              k->dot_row_q8 = vnni_dot_row_q8;
              k->handles_q8_2rows = temper_cpu_avx512_handles_q8_2rows;
              k->dot_2rows_q8 = temper_cpu_avx512_dot_2rows_q8;
              k->handles_q8_4rows = temper_cpu_avx512_handles_q8_4rows;
              k->dot_4rows_q8 = temper_cpu_avx512_dot_4rows_q8;
              k->prefill_q8 = &temper_cpu_q8_gemm_vnni;
            }
          if (allow_q8 && cpu_has_avx512_bf16 ())
            {
              k->dot_row = avx512_bf16_decode_dot_row;
              k->round_bf16 = temper_cpu_avx512_round_bf16;
              k->dot_bf16_pre = temper_cpu_avx512_dot_bf16_pre;
              k->dot_bf16_pre_2rows = temper_cpu_avx512_dot_bf16_pre_2rows;
            }
          k->name = allow_q8 ? "AVX-512 VNNI+AVX2+FMA+F16C, 8-bit decoding and prompts"
                             : "AVX-512 VNNI+AVX2+FMA+F16C";
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
  k->exp_sub_sum = scalar_exp_sub_sum;
  k->swiglu = scalar_swiglu;
  k->swiglu_backward = scalar_swiglu_backward;
  k->handles_q8 = NULL;
  k->quantize_q8 = NULL;
  k->dot_row_q8 = NULL;
  k->handles_q8_2rows = NULL;
  k->dot_2rows_q8 = NULL;
  k->handles_q8_4rows = NULL;
  k->dot_4rows_q8 = NULL;
  k->round_bf16 = NULL;
  k->dot_bf16_pre = NULL;
  k->dot_bf16_pre_2rows = NULL;
  k->prefill_q8 = NULL;
  k->attention_avx512 = FALSE;
  k->name = "scalar";
}
