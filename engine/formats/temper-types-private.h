/* SPDX-License-Identifier: MIT */
/* temper-types-private.h — geometry of every ggml type id, including those
 * Temper cannot compute with, so that a GGUF file holding them can still be
 * checked and described (a Q2_K model is listed, then refused at load). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "temper/tensor.h"

G_BEGIN_DECLS

/* FALSE for an id ggml does not define. */
gboolean temper_ggml_type_geometry (int type, const char **name,
                                    size_t *block_elems, size_t *block_bytes);

/* "Q4_K_M", "Q8_0", … for a GGUF general.file_type, or NULL. */
const char *temper_file_type_name (guint32 file_type);

#define TEMPER_QK 32      /* elements in a 32-element block */
#define TEMPER_QK_K 256   /* elements in a K-quant super-block */
#define TEMPER_K_SCALE_SIZE 12

/* NF4 (temper-nf4.c): 64 weights per block, an fp32 absmax then 32 bytes of
 * 4-bit codes. */
#define TEMPER_NF4_BLOCK 64
#define TEMPER_NF4_BLOCK_BYTES 36

void temper_dequant_nf4_block (const uint8_t *block, float *y);

/* Block scales are fp16 at any byte address. */
static inline float
temper_load_f16 (const uint8_t *p)
{
  uint16_t h = (uint16_t) (p[0] | (p[1] << 8));
  return temper_f16_to_f32 (h);
}

static inline void
temper_store_f16 (uint8_t *p, float v)
{
  uint16_t h = temper_f32_to_f16 (v);
  p[0] = (uint8_t) (h & 0xff);
  p[1] = (uint8_t) (h >> 8);
}

/* The 6-bit scale and min of sub-block @j from a Q4_K/Q5_K scales array. */
static inline void
temper_k_scale_min (int j, const uint8_t *s, int *sc, int *mn)
{
  if (j < 4)
    {
      *sc = s[j] & 63;
      *mn = s[j + 4] & 63;
    }
  else
    {
      *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
      *mn = (s[j + 4] >> 4)   | ((s[j] >> 6) << 4);
    }
}

G_END_DECLS
