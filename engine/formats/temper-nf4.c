/* SPDX-License-Identifier: MIT */
/* temper-nf4.c — NormalFloat4, the 4-bit type of the QLoRA paper (Dettmers
 * et al., 2023), laid out as bitsandbytes stores it.
 *
 * Facts taken from bitsandbytes (functional.get_4bit_type("nf4") and the
 * default backend's quantize_4bit / dequantize_4bit):
 *  - the 16 values below, sorted, with code 7 exactly 0;
 *  - one absmax per block of 64 weights (quantize_4bit's default blocksize),
 *    kept as fp32;
 *  - a weight is scaled by x · (1 / absmax), clamped to [-1, 1], and given
 *    the code whose bucket holds it, the buckets being split at the fp32
 *    midpoints of neighbouring values; a value on a midpoint takes the lower
 *    code (torch.bucketize with right=False);
 *  - two codes share a byte, the first element of the pair in the high
 *    nibble.
 * A Temper block puts the absmax before the codes: 4 bytes of little-endian
 * fp32, then 32 bytes of codes, 36 bytes for 64 weights (4.5 bits each). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-types-private.h"

static const float temper_nf4_values[16] = {
  -1.0f,
  -0.6961928009986877f,
  -0.5250730514526367f,
  -0.39491748809814453f,
  -0.28444138169288635f,
  -0.18477343022823334f,
  -0.09105003625154495f,
  0.0f,
  0.07958029955625534f,
  0.16093020141124725f,
  0.24611230194568634f,
  0.33791524171829224f,
  0.44070982933044434f,
  0.5626170039176941f,
  0.7229568362236023f,
  1.0f,
};

void
temper_dequant_nf4_block (const uint8_t *block, float *y)
{
  float absmax;
  const uint8_t *codes = block + 4;

  memcpy (&absmax, block, sizeof absmax);
  for (int j = 0; j < TEMPER_NF4_BLOCK / 2; j++)
    {
      y[2 * j]     = temper_nf4_values[codes[j] >> 4] * absmax;
      y[2 * j + 1] = temper_nf4_values[codes[j] & 0x0f] * absmax;
    }
}

/* The bucket edges bitsandbytes computes in fp32, (v[i] + v[i + 1]) / 2. */
static void
nf4_edges (float edges[15])
{
  for (int i = 0; i < 15; i++)
    edges[i] = (temper_nf4_values[i] + temper_nf4_values[i + 1]) / 2.0f;
}

/* The code of a weight already scaled into [-1, 1]: how many edges lie
 * strictly below it, found in four comparisons. */
static inline int
nf4_code (const float edges[15], float scaled)
{
  int code = 0;

  for (int step = 8; step > 0; step /= 2)
    if (code + step <= 15 && edges[code + step - 1] < scaled)
      code += step;
  return code;
}

static void
quantize_nf4_block (const float edges[15], const float *x, uint8_t *block)
{
  float absmax = 0.0f;
  float inverse;
  uint8_t *codes = block + 4;

  for (int j = 0; j < TEMPER_NF4_BLOCK; j++)
    absmax = fmaxf (absmax, fabsf (x[j]));
  /* bitsandbytes stores the true absmax (0 for an all-zero block) but
   * divides by at least 1e-38, so zeros scale to 0 and take code 7. */
  inverse = 1.0f / fmaxf (absmax, 1e-38f);
  memcpy (block, &absmax, sizeof absmax);
  for (int j = 0; j < TEMPER_NF4_BLOCK / 2; j++)
    {
      float a = fminf (fmaxf (x[2 * j] * inverse, -1.0f), 1.0f);
      float b = fminf (fmaxf (x[2 * j + 1] * inverse, -1.0f), 1.0f);
      codes[j] = (uint8_t) ((nf4_code (edges, a) << 4) | nf4_code (edges, b));
    }
}

void
temper_quantize_row_nf4 (const float *x, int64_t n, void *dst)
{
  uint8_t *p = dst;
  float edges[15];

  g_return_if_fail (n % TEMPER_NF4_BLOCK == 0);
  nf4_edges (edges);
  for (int64_t i = 0; i < n / TEMPER_NF4_BLOCK; i++)
    quantize_nf4_block (edges, x + i * TEMPER_NF4_BLOCK, p + (size_t) i * TEMPER_NF4_BLOCK_BYTES);
}
