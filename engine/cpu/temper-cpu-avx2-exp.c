/* SPDX-License-Identifier: MIT */
/* The exponential eight floats at a time.  exp(x) = 2ⁿ·exp(r) with
 * n = round(x/ln 2) and r = x − n·ln 2 (ln 2 in two parts, so r keeps its
 * low bits), |r| ≤ ln 2 / 2; exp(r) is its Taylor polynomial to r⁷, whose
 * remainder (< 7e-9 relative) is below a float's rounding, and 2ⁿ is built
 * in the exponent bits.  Inputs are clamped so 2ⁿ stays a normal float
 * (above 88.3 the result stays exp(88.3), which no softmax here reaches);
 * below −87.3 the result is 0, as expf's is within a denormal.  Agrees with
 * expf to a couple of units in the last place. */
#include "config.h"

#include <immintrin.h>
#include <math.h>

#include "temper-cpu-avx2-exp.h"

static inline __m256
exp8 (__m256 x)
{
  const __m256 log2e = _mm256_set1_ps (1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps (0.693145751953125f);
  const __m256 ln2_lo = _mm256_set1_ps (1.428606765330187045e-06f);
  __m256 tiny = _mm256_cmp_ps (x, _mm256_set1_ps (-87.33654f), _CMP_LT_OQ);
  __m256 n, r, p;
  __m256i bits;

  x = _mm256_min_ps (x, _mm256_set1_ps (88.3f));
  x = _mm256_max_ps (x, _mm256_set1_ps (-87.33654f));
  n = _mm256_round_ps (_mm256_mul_ps (x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm256_fnmadd_ps (n, ln2_hi, x);
  r = _mm256_fnmadd_ps (n, ln2_lo, r);
  p = _mm256_set1_ps (1.0f / 5040.0f);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 720.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 120.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 24.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 6.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (0.5f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  bits = _mm256_slli_epi32 (_mm256_add_epi32 (_mm256_cvtps_epi32 (n), _mm256_set1_epi32 (127)), 23);
  p = _mm256_mul_ps (p, _mm256_castsi256_ps (bits));
  return _mm256_andnot_ps (tiny, p);
}

double
temper_cpu_avx2_exp_sub_sum (float *x, int64_t n, float sub)
{
  /* The sum in doubles, as the portable kernel keeps it. */
  __m256 vsub = _mm256_set1_ps (sub);
  __m256d acc_lo = _mm256_setzero_pd (), acc_hi = _mm256_setzero_pd ();
  double lanes[4], sum = 0.0;
  int64_t i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 e = exp8 (_mm256_sub_ps (_mm256_loadu_ps (x + i), vsub));

      _mm256_storeu_ps (x + i, e);
      acc_lo = _mm256_add_pd (acc_lo, _mm256_cvtps_pd (_mm256_castps256_ps128 (e)));
      acc_hi = _mm256_add_pd (acc_hi, _mm256_cvtps_pd (_mm256_extractf128_ps (e, 1)));
    }
  _mm256_storeu_pd (lanes, _mm256_add_pd (acc_lo, acc_hi));
  for (int l = 0; l < 4; l++)
    sum += lanes[l];
  for (; i < n; i++)
    {
      x[i] = expf (x[i] - sub);
      sum += x[i];
    }
  return sum;
}

void
temper_cpu_avx2_swiglu (const float *g, const float *u, float *o, int64_t n)
{
  const __m256 one = _mm256_set1_ps (1.0f);
  int64_t i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 gv = _mm256_loadu_ps (g + i);
      __m256 s = _mm256_div_ps (one, _mm256_add_ps (one, exp8 (_mm256_sub_ps (_mm256_setzero_ps (), gv))));

      _mm256_storeu_ps (o + i, _mm256_mul_ps (_mm256_mul_ps (gv, s), _mm256_loadu_ps (u + i)));
    }
  for (; i < n; i++)
    o[i] = g[i] / (1.0f + expf (-g[i])) * u[i];
}

void
temper_cpu_avx2_swiglu_backward (const float *g, const float *u, const float *d,
                                 float *dg, float *du, int64_t n)
{
  const __m256 one = _mm256_set1_ps (1.0f);
  int64_t i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 gv = _mm256_loadu_ps (g + i), dv = _mm256_loadu_ps (d + i);
      __m256 s = _mm256_div_ps (one, _mm256_add_ps (one, exp8 (_mm256_sub_ps (_mm256_setzero_ps (), gv))));
      /* silu'(g) = s·(1 + g·(1 − s)) */
      __m256 slope = _mm256_mul_ps (s, _mm256_fmadd_ps (gv, _mm256_sub_ps (one, s), one));

      _mm256_storeu_ps (dg + i, _mm256_fmadd_ps (_mm256_mul_ps (dv, _mm256_loadu_ps (u + i)), slope,
                                                 _mm256_loadu_ps (dg + i)));
      _mm256_storeu_ps (du + i, _mm256_fmadd_ps (_mm256_mul_ps (dv, gv), s, _mm256_loadu_ps (du + i)));
    }
  for (; i < n; i++)
    {
      float gi = g[i], s = 1.0f / (1.0f + expf (-gi));

      dg[i] += d[i] * u[i] * s * (1.0f + gi * (1.0f - s));
      du[i] += d[i] * gi * s;
    }
}
