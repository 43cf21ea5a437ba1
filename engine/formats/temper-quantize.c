/* SPDX-License-Identifier: MIT */
/* temper-quantize.c — reference quantizers from f32 rows to ggml blocks,
 * used by exports (merged GGUF).  Q8_0, Q4_0 and Q4_1 reproduce ggml's
 * reference bytes; Q4_K and Q6_K follow its weighted least-squares search. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-types-private.h"

#define QK TEMPER_QK
#define QK_K TEMPER_QK_K
#define K_SCALE_SIZE TEMPER_K_SCALE_SIZE


/* Round half away from zero, like C's roundf used by ggml's Q8_0. */
static inline int
round_away (float v)
{
  return (int) roundf (v);
}

/* Round to nearest, ties to even, for ggml's K-quant searches. */
static inline int
nearest_int (float v)
{
  return (int) lrintf (v);
}

void
temper_quantize_row_q8_0 (const float *x, int64_t n, void *dst)
{
  uint8_t *b = dst;

  g_return_if_fail (n % QK == 0);
  for (int64_t i = 0; i < n / QK; i++, x += QK, b += 34)
    {
      float amax = 0.0f, d, id;

      for (int j = 0; j < QK; j++)
        amax = MAX (amax, fabsf (x[j]));
      d = amax / 127.0f;
      id = d != 0.0f ? 1.0f / d : 0.0f;
      temper_store_f16 (b, d);
      for (int j = 0; j < QK; j++)
        b[2 + j] = (uint8_t) (int8_t) round_away (x[j] * id);
    }
}

void
temper_quantize_row_q4_0 (const float *x, int64_t n, void *dst)
{
  uint8_t *b = dst;

  g_return_if_fail (n % QK == 0);
  for (int64_t i = 0; i < n / QK; i++, x += QK, b += 18)
    {
      /* The largest magnitude keeps its sign so that it maps exactly to -8,
       * the one level with no positive counterpart. */
      float amax = 0.0f, max = 0.0f, d, id;

      for (int j = 0; j < QK; j++)
        if (fabsf (x[j]) > amax)
          {
            amax = fabsf (x[j]);
            max = x[j];
          }
      d = max / -8.0f;
      id = d != 0.0f ? 1.0f / d : 0.0f;
      temper_store_f16 (b, d);
      for (int j = 0; j < QK / 2; j++)
        {
          int q0 = MIN (15, (int) (int8_t) (x[j] * id + 8.5f));
          int q1 = MIN (15, (int) (int8_t) (x[j + QK / 2] * id + 8.5f));
          b[2 + j] = (uint8_t) (q0 | (q1 << 4));
        }
    }
}

void
temper_quantize_row_q4_1 (const float *x, int64_t n, void *dst)
{
  uint8_t *b = dst;

  g_return_if_fail (n % QK == 0);
  for (int64_t i = 0; i < n / QK; i++, x += QK, b += 20)
    {
      float min = x[0], max = x[0], d, id;

      for (int j = 1; j < QK; j++)
        {
          min = MIN (min, x[j]);
          max = MAX (max, x[j]);
        }
      d = (max - min) / 15.0f;
      id = d != 0.0f ? 1.0f / d : 0.0f;
      temper_store_f16 (b, d);
      temper_store_f16 (b + 2, min);
      for (int j = 0; j < QK / 2; j++)
        {
          int q0 = MIN (15, (int) (int8_t) ((x[j] - min) * id + 0.5f));
          int q1 = MIN (15, (int) (int8_t) ((x[j + QK / 2] - min) * id + 0.5f));
          b[4 + j] = (uint8_t) (q0 | (q1 << 4));
        }
    }
}

/* Weighted least-squares fit of x ≈ scale·L − min with L in [0, nmax],
 * trying @nstep candidate scales around nmax/(max−min) (ggml's
 * make_qkx2_quants).  Returns the scale; *the_min receives min ≥ 0. */
static float
fit_scale_min (int n, int nmax, const float *x, const float *weights,
               uint8_t *L, float *the_min, uint8_t *Laux,
               float rmin, float rdelta, int nstep)
{
  float min = x[0], max = x[0];
  float sum_w = weights[0], sum_x = sum_w * x[0];
  float iscale, scale, best_error = 0.0f;

  for (int i = 1; i < n; i++)
    {
      min = MIN (min, x[i]);
      max = MAX (max, x[i]);
      sum_w += weights[i];
      sum_x += weights[i] * x[i];
    }
  if (min > 0.0f)
    min = 0.0f;
  if (max == min)
    {
      memset (L, 0, (size_t) n);
      *the_min = -min;
      return 0.0f;
    }

  iscale = (float) nmax / (max - min);
  scale = 1.0f / iscale;
  for (int i = 0; i < n; i++)
    {
      int l = CLAMP (nearest_int (iscale * (x[i] - min)), 0, nmax);
      float diff = scale * (float) l + min - x[i];
      L[i] = (uint8_t) l;
      best_error += weights[i] * diff * diff;
    }

  for (int step = 0; step <= nstep; step++)
    {
      float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f, D;

      iscale = (rmin + rdelta * (float) step + (float) nmax) / (max - min);
      for (int i = 0; i < n; i++)
        {
          int l = CLAMP (nearest_int (iscale * (x[i] - min)), 0, nmax);
          float w = weights[i];
          Laux[i] = (uint8_t) l;
          sum_l += w * (float) l;
          sum_l2 += w * (float) l * (float) l;
          sum_xl += w * (float) l * x[i];
        }
      D = sum_w * sum_l2 - sum_l * sum_l;
      if (D > 0.0f)
        {
          float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
          float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
          float cur_error = 0.0f;

          if (this_min > 0.0f)
            {
              this_min = 0.0f;
              this_scale = sum_xl / sum_l2;
            }
          for (int i = 0; i < n; i++)
            {
              float diff = this_scale * (float) Laux[i] + this_min - x[i];
              cur_error += weights[i] * diff * diff;
            }
          if (cur_error < best_error)
            {
              memcpy (L, Laux, (size_t) n);
              best_error = cur_error;
              scale = this_scale;
              min = this_min;
            }
        }
    }
  *the_min = -min;
  return scale;
}

void
temper_quantize_row_q4_k (const float *x, int64_t n, void *dst)
{
  uint8_t *b = dst;

  g_return_if_fail (n % QK_K == 0);
  for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, b += 144)
    {
      uint8_t L[QK_K], Laux[32];
      float weights[32], mins[8], scales[8];
      float max_scale = 0.0f, max_min = 0.0f, inv_scale, inv_min, d, dmin;
      uint8_t *packed = b + 4;
      uint8_t *qs = b + 4 + K_SCALE_SIZE;

      for (int j = 0; j < 8; j++)
        {
          float sum_x2 = 0.0f, av_x;

          for (int l = 0; l < 32; l++)
            sum_x2 += x[32 * j + l] * x[32 * j + l];
          av_x = sqrtf (sum_x2 / 32.0f);
          for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf (x[32 * j + l]);
          scales[j] = fit_scale_min (32, 15, x + 32 * j, weights, L + 32 * j,
                                     &mins[j], Laux, -1.0f, 0.1f, 20);
          max_scale = MAX (max_scale, scales[j]);
          max_min = MAX (max_min, mins[j]);
        }

      inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
      inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
      memset (packed, 0, K_SCALE_SIZE);
      for (int j = 0; j < 8; j++)
        {
          int ls = MIN (63, nearest_int (inv_scale * scales[j]));
          int lm = MIN (63, nearest_int (inv_min * mins[j]));

          if (j < 4)
            {
              packed[j] = (uint8_t) ls;
              packed[j + 4] = (uint8_t) lm;
            }
          else
            {
              packed[j + 4] = (uint8_t) ((ls & 0x0f) | ((lm & 0x0f) << 4));
              packed[j - 4] |= (uint8_t) ((ls >> 4) << 6);
              packed[j] |= (uint8_t) ((lm >> 4) << 6);
            }
        }
      temper_store_f16 (b, max_scale / 63.0f);
      temper_store_f16 (b + 2, max_min / 63.0f);
      d = temper_load_f16 (b);
      dmin = temper_load_f16 (b + 2);

      /* Re-pick every level against the scales as they will be decoded. */
      for (int j = 0; j < 8; j++)
        {
          int sc, m;
          float ds, dm;

          temper_k_scale_min (j, packed, &sc, &m);
          ds = d * (float) sc;
          if (ds == 0.0f)
            continue;
          dm = dmin * (float) m;
          for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t) CLAMP (nearest_int ((x[32 * j + l] + dm) / ds), 0, 15);
        }
      for (int g = 0; g < 4; g++)
        for (int l = 0; l < 32; l++)
          qs[32 * g + l] = (uint8_t) (L[64 * g + l] | (L[64 * g + 32 + l] << 4));
    }
}

/* Symmetric fit of x ≈ scale·(L − nmax), L in [0, 2·nmax), weighted by x²,
 * trying scales around −nmax/max (ggml's make_qx_quants, rmse_type 1). */
static float
fit_scale_symmetric (int n, int nmax, const float *x, uint8_t *L)
{
  float max = 0.0f, amax = 0.0f, iscale, sumlx = 0.0f, suml2 = 0.0f, scale, best;

  for (int i = 0; i < n; i++)
    if (fabsf (x[i]) > amax)
      {
        amax = fabsf (x[i]);
        max = x[i];
      }
  if (amax < 1e-15f)
    {
      memset (L, 0, (size_t) n);
      return 0.0f;
    }

  iscale = -(float) nmax / max;
  for (int i = 0; i < n; i++)
    {
      int l = CLAMP (nearest_int (iscale * x[i]), -nmax, nmax - 1);
      float w = x[i] * x[i];
      L[i] = (uint8_t) (l + nmax);
      sumlx += w * x[i] * (float) l;
      suml2 += w * (float) l * (float) l;
    }
  scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  best = scale * sumlx;

  for (int step = -9; step <= 9; step++)
    {
      if (step == 0)
        continue;
      iscale = -((float) nmax + 0.1f * (float) step) / max;
      sumlx = suml2 = 0.0f;
      for (int i = 0; i < n; i++)
        {
          int l = CLAMP (nearest_int (iscale * x[i]), -nmax, nmax - 1);
          float w = x[i] * x[i];
          sumlx += w * x[i] * (float) l;
          suml2 += w * (float) l * (float) l;
        }
      if (suml2 > 0.0f && sumlx * sumlx > best * suml2)
        {
          for (int i = 0; i < n; i++)
            L[i] = (uint8_t) (nmax + CLAMP (nearest_int (iscale * x[i]), -nmax, nmax - 1));
          scale = sumlx / suml2;
          best = scale * sumlx;
        }
    }
  return scale;
}

void
temper_quantize_row_q6_k (const float *x, int64_t n, void *dst)
{
  uint8_t *b = dst;

  g_return_if_fail (n % QK_K == 0);
  for (int64_t i = 0; i < n / QK_K; i++, x += QK_K, b += 210)
    {
      uint8_t L[QK_K];
      float scales[16], max_scale = 0.0f, max_abs_scale = 0.0f, iscale, d;
      uint8_t *ql = b;
      uint8_t *qh = b + QK_K / 2;
      int8_t *sc = (int8_t *) (b + QK_K / 2 + QK_K / 4);
      uint8_t *dp = b + QK_K / 2 + QK_K / 4 + QK_K / 16;

      for (int ib = 0; ib < 16; ib++)
        {
          scales[ib] = fit_scale_symmetric (16, 32, x + 16 * ib, L + 16 * ib);
          if (fabsf (scales[ib]) > max_abs_scale)
            {
              max_abs_scale = fabsf (scales[ib]);
              max_scale = scales[ib];
            }
        }
      if (max_abs_scale < 1e-15f)
        {
          memset (b, 0, 210);
          continue;
        }

      iscale = -128.0f / max_scale;
      temper_store_f16 (dp, 1.0f / iscale);
      for (int ib = 0; ib < 16; ib++)
        sc[ib] = (int8_t) MIN (127, nearest_int (iscale * scales[ib]));
      d = temper_load_f16 (dp);

      for (int j = 0; j < 16; j++)
        {
          float ds = d * (float) sc[j];
          if (ds == 0.0f)
            continue;
          for (int l = 0; l < 16; l++)
            L[16 * j + l] = (uint8_t) (32 + CLAMP (nearest_int (x[16 * j + l] / ds), -32, 31));
        }

      for (int t = 0; t < 2; t++)
        {
          const uint8_t *Lt = L + 128 * t;
          uint8_t *qlt = ql + 64 * t;
          uint8_t *qht = qh + 32 * t;

          for (int l = 0; l < 32; l++)
            {
              qlt[l]      = (uint8_t) ((Lt[l] & 0x0f)      | ((Lt[l + 64] & 0x0f) << 4));
              qlt[l + 32] = (uint8_t) ((Lt[l + 32] & 0x0f) | ((Lt[l + 96] & 0x0f) << 4));
              qht[l] = (uint8_t) ((Lt[l] >> 4) | ((Lt[l + 32] >> 4) << 2)
                                  | ((Lt[l + 64] >> 4) << 4) | ((Lt[l + 96] >> 4) << 6));
            }
        }
    }
}

gboolean
temper_type_can_quantize (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_F32: case TEMPER_TYPE_F16: case TEMPER_TYPE_BF16:
    case TEMPER_TYPE_Q8_0: case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q4_1:
    case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q6_K: case TEMPER_TYPE_NF4:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
temper_quantize_row (int type, const float *x, int64_t n, void *dst)
{
  uint8_t *p = dst;

  if (!temper_type_can_quantize (type) || n < 0
      || (guint64) n % temper_type_block_elems (type) != 0)
    return FALSE;

  switch (type)
    {
    case TEMPER_TYPE_F32:
      memcpy (dst, x, (size_t) n * sizeof (float));
      break;
    case TEMPER_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        temper_store_f16 (p + 2 * i, x[i]);
      break;
    case TEMPER_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        {
          uint16_t h = temper_f32_to_bf16 (x[i]);
          p[2 * i] = (uint8_t) (h & 0xff);
          p[2 * i + 1] = (uint8_t) (h >> 8);
        }
      break;
    case TEMPER_TYPE_Q8_0: temper_quantize_row_q8_0 (x, n, dst); break;
    case TEMPER_TYPE_Q4_0: temper_quantize_row_q4_0 (x, n, dst); break;
    case TEMPER_TYPE_Q4_1: temper_quantize_row_q4_1 (x, n, dst); break;
    case TEMPER_TYPE_Q4_K: temper_quantize_row_q4_k (x, n, dst); break;
    case TEMPER_TYPE_Q6_K: temper_quantize_row_q6_k (x, n, dst); break;
    case TEMPER_TYPE_NF4:  temper_quantize_row_nf4 (x, n, dst); break;
    default: g_assert_not_reached ();
    }
  return TRUE;
}

