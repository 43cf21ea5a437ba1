/* SPDX-License-Identifier: MIT */
/* temper-types.c — element types: block geometry, 16-bit floats, and the
 * scalar reference dequantizers for ggml's block formats (the quantizers are
 * in temper-quantize.c).
 *
 * Blocks are read byte by byte (memcpy for the fp16 scales) because GGUF data
 * is only 32-byte aligned per tensor and a block of 18 or 34 bytes puts its
 * scale at any address. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-types-private.h"

#define QK TEMPER_QK
#define QK_K TEMPER_QK_K
#define K_SCALE_SIZE TEMPER_K_SCALE_SIZE

typedef struct {
  const char *name;
  size_t      block_elems;
  size_t      block_bytes;
} TypeTraits;

static const TypeTraits type_traits[TEMPER_TYPE_NF4 + 1] = {
  [TEMPER_TYPE_F32]  = { "F32",  1,    4 },
  [TEMPER_TYPE_F16]  = { "F16",  1,    2 },
  [TEMPER_TYPE_Q4_0] = { "Q4_0", QK,   18 },
  [TEMPER_TYPE_Q4_1] = { "Q4_1", QK,   20 },
  [TEMPER_TYPE_Q5_0] = { "Q5_0", QK,   22 },
  [TEMPER_TYPE_Q5_1] = { "Q5_1", QK,   24 },
  [TEMPER_TYPE_Q8_0] = { "Q8_0", QK,   34 },
  [TEMPER_TYPE_Q8_1] = { "Q8_1", QK,   36 },
  [TEMPER_TYPE_Q4_K] = { "Q4_K", QK_K, 144 },
  [TEMPER_TYPE_Q5_K] = { "Q5_K", QK_K, 176 },
  [TEMPER_TYPE_Q6_K] = { "Q6_K", QK_K, 210 },
  [TEMPER_TYPE_Q2_K] = { "Q2_K", QK_K, 84 },
  [TEMPER_TYPE_Q3_K] = { "Q3_K", QK_K, 110 },
  [TEMPER_TYPE_IQ4_NL] = { "IQ4_NL", QK, 18 },
  [TEMPER_TYPE_IQ4_XS] = { "IQ4_XS", QK_K, 136 },
  [TEMPER_TYPE_TQ2_0] = { "TQ2_0", QK_K, 66 },
  [TEMPER_TYPE_BF16] = { "BF16", 1,    2 },
  [TEMPER_TYPE_NF4]  = { "NF4",  TEMPER_NF4_BLOCK, TEMPER_NF4_BLOCK_BYTES },
};

static const TypeTraits *
traits (int type)
{
  if (type < 0 || type >= (int) G_N_ELEMENTS (type_traits) || type_traits[type].name == NULL)
    return NULL;
  return &type_traits[type];
}

size_t
temper_type_block_elems (int type)
{
  const TypeTraits *t = traits (type);
  return t != NULL ? t->block_elems : 0;
}

size_t
temper_type_block_bytes (int type)
{
  const TypeTraits *t = traits (type);
  return t != NULL ? t->block_bytes : 0;
}

const char *
temper_type_name (int type)
{
  const TypeTraits *t = traits (type);
  return t != NULL ? t->name : NULL;
}

gboolean
temper_type_is_quantized (int type)
{
  const TypeTraits *t = traits (type);
  return t != NULL && t->block_elems > 1;
}

size_t
temper_type_row_bytes (int type, int64_t n)
{
  const TypeTraits *t = traits (type);

  if (t == NULL || n < 0 || (guint64) n % t->block_elems != 0)
    return 0;
  return (size_t) ((guint64) n / t->block_elems) * t->block_bytes;
}

/* ---- 16-bit floats ---------------------------------------------------- */

static inline uint32_t
f32_bits (float f)
{
  uint32_t u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static inline float
bits_f32 (uint32_t u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

float
temper_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;

  if (exponent == 0x1f)   /* Inf or NaN: keep the payload */
    return bits_f32 (sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0)
    {
      /* Zero or subnormal: the value is mantissa · 2^-24, exact in f32. */
      float v = (float) mantissa * 0x1p-24f;
      return sign ? -v : v;
    }
  return bits_f32 (sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t
temper_f32_to_f16 (float f)
{
  uint32_t u = f32_bits (f);
  uint16_t sign = (uint16_t) ((u >> 16) & 0x8000);
  uint32_t abs_bits = u & 0x7fffffffu;
  int32_t exponent;
  uint32_t mantissa, shifted, rest, halfway;

  if (abs_bits > 0x7f800000u)   /* NaN: keep it quiet and keep the top payload bits */
    return sign | 0x7e00 | (uint16_t) ((abs_bits >> 13) & 0x1ff);
  if (abs_bits >= 0x477ff000u)  /* rounds to a value past 65504: infinity */
    return sign | 0x7c00;

  exponent = (int32_t) (abs_bits >> 23) - 127;
  mantissa = abs_bits & 0x7fffff;

  if (exponent >= -14)
    {
      /* Normal half: drop 13 mantissa bits, rounding to nearest even.  A carry
       * out of the mantissa correctly bumps the exponent. */
      uint32_t h = ((uint32_t) (exponent + 15) << 10) | (mantissa >> 13);
      rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        h++;
      return sign | (uint16_t) h;
    }
  if (exponent < -25)   /* below half the smallest subnormal: zero */
    return sign;

  /* Subnormal half: value = m · 2^-24 with the implicit bit restored. */
  mantissa |= 0x800000;
  {
    int shift = -exponent - 1;   /* 14 … 24 */
    shifted = mantissa >> shift;
    rest = mantissa & ((1u << shift) - 1);
    halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (shifted & 1)))
      shifted++;
  }
  return sign | (uint16_t) shifted;
}

float
temper_bf16_to_f32 (uint16_t h)
{
  return bits_f32 ((uint32_t) h << 16);
}

uint16_t
temper_f32_to_bf16 (float f)
{
  uint32_t u = f32_bits (f);

  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((u >> 16) | 0x40);   /* force a quiet NaN */
  return (uint16_t) ((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}


/* ---- dequantizers ------------------------------------------------------ */

static void
dequant_q4_0 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  const uint8_t *qs = b + 2;

  for (int j = 0; j < QK / 2; j++)
    {
      y[j]          = d * (float) ((qs[j] & 0x0f) - 8);
      y[j + QK / 2] = d * (float) ((qs[j] >> 4) - 8);
    }
}

static void
dequant_q4_1 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  float m = temper_load_f16 (b + 2);
  const uint8_t *qs = b + 4;

  for (int j = 0; j < QK / 2; j++)
    {
      y[j]          = d * (float) (qs[j] & 0x0f) + m;
      y[j + QK / 2] = d * (float) (qs[j] >> 4) + m;
    }
}

static inline uint32_t
load_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static void
dequant_q5_0 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  uint32_t qh = load_u32 (b + 2);
  const uint8_t *qs = b + 6;

  for (int j = 0; j < QK / 2; j++)
    {
      int lo = (qs[j] & 0x0f) | (int) (((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4)   | (int) (((qh >> (j + 16)) & 1) << 4);
      y[j]          = d * (float) (lo - 16);
      y[j + QK / 2] = d * (float) (hi - 16);
    }
}

static void
dequant_q5_1 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  float m = temper_load_f16 (b + 2);
  uint32_t qh = load_u32 (b + 4);
  const uint8_t *qs = b + 8;

  for (int j = 0; j < QK / 2; j++)
    {
      int lo = (qs[j] & 0x0f) | (int) (((qh >> j) & 1) << 4);
      int hi = (qs[j] >> 4)   | (int) (((qh >> (j + 16)) & 1) << 4);
      y[j]          = d * (float) lo + m;
      y[j + QK / 2] = d * (float) hi + m;
    }
}

static void
dequant_q8_0 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  const int8_t *qs = (const int8_t *) (b + 2);

  for (int j = 0; j < QK; j++)
    y[j] = d * (float) qs[j];
}

static void
dequant_q8_1 (const uint8_t *b, float *y)
{
  /* The second fp16 (s = d · Σq) is a cache for dot products, not needed here. */
  float d = temper_load_f16 (b);
  const int8_t *qs = (const int8_t *) (b + 4);

  for (int j = 0; j < QK; j++)
    y[j] = d * (float) qs[j];
}


static void
dequant_q4_k (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  float dmin = temper_load_f16 (b + 2);
  const uint8_t *scales = b + 4;
  const uint8_t *qs = b + 4 + K_SCALE_SIZE;

  for (int g = 0; g < 4; g++)
    {
      int sc0, m0, sc1, m1;
      float d0, d1, min0, min1;

      temper_k_scale_min (2 * g, scales, &sc0, &m0);
      temper_k_scale_min (2 * g + 1, scales, &sc1, &m1);
      d0 = d * (float) sc0; min0 = dmin * (float) m0;
      d1 = d * (float) sc1; min1 = dmin * (float) m1;
      for (int l = 0; l < 32; l++)
        {
          y[64 * g + l]      = d0 * (float) (qs[32 * g + l] & 0x0f) - min0;
          y[64 * g + 32 + l] = d1 * (float) (qs[32 * g + l] >> 4) - min1;
        }
    }
}

static void
dequant_q5_k (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  float dmin = temper_load_f16 (b + 2);
  const uint8_t *scales = b + 4;
  const uint8_t *qh = b + 4 + K_SCALE_SIZE;
  const uint8_t *qs = qh + QK_K / 8;

  for (int g = 0; g < 4; g++)
    {
      int sc0, m0, sc1, m1;
      float d0, d1, min0, min1;

      temper_k_scale_min (2 * g, scales, &sc0, &m0);
      temper_k_scale_min (2 * g + 1, scales, &sc1, &m1);
      d0 = d * (float) sc0; min0 = dmin * (float) m0;
      d1 = d * (float) sc1; min1 = dmin * (float) m1;
      for (int l = 0; l < 32; l++)
        {
          int lo = (qs[32 * g + l] & 0x0f) + (((qh[l] >> (2 * g)) & 1) << 4);
          int hi = (qs[32 * g + l] >> 4)   + (((qh[l] >> (2 * g + 1)) & 1) << 4);
          y[64 * g + l]      = d0 * (float) lo - min0;
          y[64 * g + 32 + l] = d1 * (float) hi - min1;
        }
    }
}

static void
dequant_q6_k (const uint8_t *b, float *y)
{
  const uint8_t *ql = b;
  const uint8_t *qh = b + QK_K / 2;
  const int8_t *sc = (const int8_t *) (b + QK_K / 2 + QK_K / 4);
  float d = temper_load_f16 (b + QK_K / 2 + QK_K / 4 + QK_K / 16);

  for (int t = 0; t < 2; t++)
    {
      const uint8_t *L = ql + 64 * t;
      const uint8_t *H = qh + 32 * t;
      const int8_t *S = sc + 8 * t;
      float *out = y + 128 * t;

      for (int l = 0; l < 32; l++)
        {
          int k = l / 16;
          int q1 = ((L[l] & 0x0f)      | (((H[l] >> 0) & 3) << 4)) - 32;
          int q2 = ((L[l + 32] & 0x0f) | (((H[l] >> 2) & 3) << 4)) - 32;
          int q3 = ((L[l] >> 4)        | (((H[l] >> 4) & 3) << 4)) - 32;
          int q4 = ((L[l + 32] >> 4)   | (((H[l] >> 6) & 3) << 4)) - 32;
          out[l]      = d * (float) S[k]     * (float) q1;
          out[l + 32] = d * (float) S[k + 2] * (float) q2;
          out[l + 64] = d * (float) S[k + 4] * (float) q3;
          out[l + 96] = d * (float) S[k + 6] * (float) q4;
        }
    }
}

/* Q2_K: 16 sub-blocks of 16, each with a 4-bit scale (low nibble) and a
 * 4-bit min (high nibble) times the fp16 d and dmin at the block's end.  The
 * 2-bit codes of output 128h + 32s + l sit at bits 2s of qs[32h + l]. */
static void
dequant_q2_k (const uint8_t *b, float *y)
{
  const uint8_t *scales = b;
  const uint8_t *qs = b + QK_K / 16;
  float d = temper_load_f16 (b + QK_K / 16 + QK_K / 4);
  float dmin = temper_load_f16 (b + QK_K / 16 + QK_K / 4 + 2);

  for (int e = 0; e < QK_K; e++)
    {
      int half = e / 128, shift = 2 * ((e / 32) % 4), l = e % 32;
      int sc = scales[e / 16];
      int q = (qs[32 * half + l] >> shift) & 3;

      y[e] = d * (float) (sc & 0x0f) * (float) q - dmin * (float) (sc >> 4);
    }
}

/* The signed 6-bit scale of Q3_K sub-block j (of 16): its low four bits in
 * a nibble of bytes 0-7, its high two in bytes 8-11, minus 32. */
static inline int
q3_k_scale (const uint8_t *s, int j)
{
  int low = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
  int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;

  return (low | (high << 4)) - 32;
}

/* Q3_K: 2-bit low parts laid out as Q2_K's, plus a high bit per output in
 * hmask (bit e / 32 of hmask[e % 32]); a clear high bit subtracts 4. */
static void
dequant_q3_k (const uint8_t *b, float *y)
{
  const uint8_t *hmask = b;
  const uint8_t *qs = b + QK_K / 8;
  const uint8_t *scales = qs + QK_K / 4;
  float d = temper_load_f16 (scales + 12);

  for (int e = 0; e < QK_K; e++)
    {
      int half = e / 128, shift = 2 * ((e / 32) % 4), l = e % 32;
      int low = (qs[32 * half + l] >> shift) & 3;
      int high = (hmask[l] >> (e / 32)) & 1;

      y[e] = d * (float) q3_k_scale (scales, e / 16) * (float) (low - (high ? 0 : 4));
    }
}

/* IQ4_NL and IQ4_XS map 4-bit codes to this non-uniform book (ggml's
 * kvalues_iq4nl), then scale. */
static const int8_t temper_iq4_values[16] = {
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* IQ4_NL: fp16 d, then 16 bytes: output l in the low nibble of byte l,
 * output l + 16 in its high nibble (as Q4_0). */
static void
dequant_iq4_nl (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  const uint8_t *qs = b + 2;

  for (int l = 0; l < QK / 2; l++)
    {
      y[l]          = d * (float) temper_iq4_values[qs[l] & 0x0f];
      y[l + QK / 2] = d * (float) temper_iq4_values[qs[l] >> 4];
    }
}

/* IQ4_XS: fp16 d, a u16 of high scale bits, 4 bytes of low scale nibbles,
 * then eight IQ4_NL-style groups of 32 codes with the 6-bit scale ib
 * (low nibble ib of the 4 bytes, bits 2ib of the u16, minus 32). */
static void
dequant_iq4_xs (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b);
  unsigned scales_h = (unsigned) b[2] | ((unsigned) b[3] << 8);
  const uint8_t *scales_l = b + 4;
  const uint8_t *qs = b + 8;

  for (int ib = 0; ib < QK_K / 32; ib++)
    {
      int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((scales_h >> (2 * ib)) & 3) << 4);
      float dl = d * (float) (ls - 32);
      const uint8_t *q = qs + 16 * ib;

      for (int l = 0; l < 16; l++)
        {
          y[32 * ib + l]      = dl * (float) temper_iq4_values[q[l] & 0x0f];
          y[32 * ib + 16 + l] = dl * (float) temper_iq4_values[q[l] >> 4];
        }
    }
}

/* TQ2_0: 2-bit codes c (laid out as Q2_K's) meaning c - 1, so -1, 0, 1
 * (and 2, which ggml's quantizer never writes), then fp16 d. */
static void
dequant_tq2_0 (const uint8_t *b, float *y)
{
  float d = temper_load_f16 (b + QK_K / 4);

  for (int e = 0; e < QK_K; e++)
    {
      int half = e / 128, shift = 2 * ((e / 32) % 4), l = e % 32;

      y[e] = d * (float) (((b[32 * half + l] >> shift) & 3) - 1);
    }
}

typedef void (*DequantBlockFunc) (const uint8_t *block, float *out);

static DequantBlockFunc
dequant_block_func (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return dequant_q4_0;
    case TEMPER_TYPE_Q4_1: return dequant_q4_1;
    case TEMPER_TYPE_Q5_0: return dequant_q5_0;
    case TEMPER_TYPE_Q5_1: return dequant_q5_1;
    case TEMPER_TYPE_Q8_0: return dequant_q8_0;
    case TEMPER_TYPE_Q8_1: return dequant_q8_1;
    case TEMPER_TYPE_Q4_K: return dequant_q4_k;
    case TEMPER_TYPE_Q5_K: return dequant_q5_k;
    case TEMPER_TYPE_Q6_K: return dequant_q6_k;
    case TEMPER_TYPE_Q2_K: return dequant_q2_k;
    case TEMPER_TYPE_Q3_K: return dequant_q3_k;
    case TEMPER_TYPE_IQ4_NL: return dequant_iq4_nl;
    case TEMPER_TYPE_IQ4_XS: return dequant_iq4_xs;
    case TEMPER_TYPE_TQ2_0: return dequant_tq2_0;
    case TEMPER_TYPE_NF4:  return temper_dequant_nf4_block;
    default: return NULL;
    }
}

gboolean
temper_dequantize_row (int type, const void *src, int64_t n, float *out)
{
  const uint8_t *p = src;
  const TypeTraits *t = traits (type);
  DequantBlockFunc func;

  if (t == NULL || n < 0 || (guint64) n % t->block_elems != 0)
    return FALSE;

  switch (type)
    {
    case TEMPER_TYPE_F32:
      memcpy (out, src, (size_t) n * sizeof (float));
      return TRUE;
    case TEMPER_TYPE_F16:
      for (int64_t i = 0; i < n; i++)
        out[i] = temper_load_f16 (p + 2 * i);
      return TRUE;
    case TEMPER_TYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        out[i] = temper_bf16_to_f32 ((uint16_t) (p[2 * i] | (p[2 * i + 1] << 8)));
      return TRUE;
    default:
      break;
    }

  func = dequant_block_func (type);
  g_return_val_if_fail (func != NULL, FALSE);
  for (int64_t i = 0; i < n / (int64_t) t->block_elems; i++)
    func (p + (size_t) i * t->block_bytes, out + i * (int64_t) t->block_elems);
  return TRUE;
}

void
temper_tensor_row_to_f32 (const TemperTensorView *t, int64_t row, float *out)
{
  const uint8_t *base;

  g_return_if_fail (t != NULL && t->data != NULL);
  g_return_if_fail (row >= 0 && row < t->ne[1]);

  base = (const uint8_t *) t->data + (size_t) row * t->row_bytes;
  if (!temper_dequantize_row (t->type, base, t->ne[0], out))
    g_return_if_reached ();
}

/* Types Temper can describe but not compute with (sizes from ggml-common.h). */
static const TypeTraits foreign_traits[TEMPER_TYPE_COUNT] = {
  [15] = { "Q8_K",    QK_K, 292 },
  [16] = { "IQ2_XXS", QK_K, 66 },
  [17] = { "IQ2_XS",  QK_K, 74 },
  [18] = { "IQ3_XXS", QK_K, 98 },
  [19] = { "IQ1_S",   QK_K, 50 },
  [21] = { "IQ3_S",   QK_K, 110 },
  [22] = { "IQ2_S",   QK_K, 82 },
  [24] = { "I8",      1,    1 },
  [25] = { "I16",     1,    2 },
  [26] = { "I32",     1,    4 },
  [27] = { "I64",     1,    8 },
  [28] = { "F64",     1,    8 },
  [29] = { "IQ1_M",   QK_K, 56 },
  [34] = { "TQ1_0",   QK_K, 54 },
  [39] = { "MXFP4",   QK,   17 },
  [40] = { "NVFP4",   64,   36 },
  [41] = { "Q1_0",    128,  18 },
};

/* llama.cpp's names for general.file_type (enum llama_ftype), the names
 * people see in file names: Q4_K_M is a mix of Q4_K and Q6_K blocks. */
const char *
temper_file_type_name (guint32 file_type)
{
  static const char *const names[] = {
    [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0",
    [8] = "Q5_0", [9] = "Q5_1", [10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M",
    [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M", [16] = "Q5_K_S",
    [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS", [20] = "IQ2_XS",
    [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS", [24] = "IQ1_S",
    [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M", [28] = "IQ2_S",
    [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16",
    [36] = "TQ1_0", [37] = "TQ2_0", [38] = "MXFP4_MOE",
  };

  /* llama.cpp sets 1024 when it guessed the type rather than wrote it. */
  file_type &= ~1024u;
  return file_type < G_N_ELEMENTS (names) ? names[file_type] : NULL;
}

gboolean
temper_ggml_type_geometry (int type, const char **name,
                           size_t *block_elems, size_t *block_bytes)
{
  const TypeTraits *t;

  /* Temper's own ids are no ggml type: a file naming one is refused. */
  if (type < 0 || type >= TEMPER_TYPE_COUNT)
    return FALSE;
  t = traits (type);
  if (t == NULL && foreign_traits[type].name != NULL)
    t = &foreign_traits[type];
  if (t == NULL)
    return FALSE;
  if (name != NULL)
    *name = t->name;
  if (block_elems != NULL)
    *block_elems = t->block_elems;
  if (block_bytes != NULL)
    *block_bytes = t->block_bytes;
  return TRUE;
}
