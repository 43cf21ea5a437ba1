/* SPDX-License-Identifier: MIT */
/* tensor.h — element types and read-only views of weight tensors.
 *
 * Types use ggml's numbering so GGUF files map onto them directly; Temper's
 * own types (NF4) take ids past ggml's and never appear in a file.  A view
 * never owns its bytes: they live in a memory-mapped model file or in a
 * buffer owned by the model. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_TYPE_F32  = 0,
  TEMPER_TYPE_F16  = 1,
  TEMPER_TYPE_Q4_0 = 2,
  TEMPER_TYPE_Q4_1 = 3,
  TEMPER_TYPE_Q5_0 = 6,
  TEMPER_TYPE_Q5_1 = 7,
  TEMPER_TYPE_Q8_0 = 8,
  TEMPER_TYPE_Q8_1 = 9,
  TEMPER_TYPE_Q2_K = 10,
  TEMPER_TYPE_Q3_K = 11,
  TEMPER_TYPE_Q4_K = 12,
  TEMPER_TYPE_Q5_K = 13,
  TEMPER_TYPE_Q6_K = 14,
  TEMPER_TYPE_IQ4_NL = 20,  /* 4-bit codes into a fixed non-linear book, blocks of 32 */
  TEMPER_TYPE_IQ4_XS = 23,  /* the same book, 256-element blocks with 6-bit sub-scales */
  TEMPER_TYPE_BF16 = 30,
  TEMPER_TYPE_TQ2_0 = 35,   /* ternary weights (-1, 0, 1) × one scale per 256 */
  TEMPER_TYPE_COUNT = 43,   /* one past the largest id ggml defines */
  /* NormalFloat4 as bitsandbytes stores it (QLoRA): blocks of 64 weights, an
   * fp32 absmax followed by 32 bytes of 4-bit codes, the first weight of each
   * pair in the high nibble.  Only made in memory, by quantizing a model's
   * F32/F16/BF16 weights at load; GGUF loaders refuse the id. */
  TEMPER_TYPE_NF4  = 64,
} TemperType;

/* Elements per block and bytes per block; both 0 for an id Temper cannot read. */
size_t      temper_type_block_elems (int type);
size_t      temper_type_block_bytes (int type);
const char *temper_type_name        (int type);   /* "Q4_K", or NULL if unknown */
gboolean    temper_type_is_quantized(int type);
/* Bytes of one row of @n elements; 0 when @n is not a multiple of the block. */
size_t      temper_type_row_bytes   (int type, int64_t n);

/* A 2-D (or 1-D, ne[1] == 1) weight.  ne[0] is the contiguous dimension, as in
 * GGUF: a linear layer mapping in→out has ne = {in, out}, one row per output. */
typedef struct {
  const char *name;
  int         type;       /* TemperType */
  int64_t     ne[2];
  size_t      row_bytes;  /* bytes from one row to the next */
  const void *data;
} TemperTensorView;

/* Converts @n elements of row @row of @t to float. */
void temper_tensor_row_to_f32 (const TemperTensorView *t, int64_t row,
                               float *out);

/* Scalar conversions (IEEE half and bfloat16, round to nearest even). */
float    temper_f16_to_f32  (uint16_t h);
uint16_t temper_f32_to_f16  (float f);
float    temper_bf16_to_f32 (uint16_t h);
uint16_t temper_f32_to_bf16 (float f);

/* Converts @n elements (a multiple of the type's block) stored as @type at
 * @src to float.  FALSE, leaving @out untouched, for a type Temper cannot read.
 * These are the scalar references every faster kernel is tested against. */
gboolean temper_dequantize_row (int type, const void *src, int64_t n, float *out);

/* Reference quantizers, used by exports.  @n is a multiple of the block;
 * @dst receives temper_type_row_bytes (type, n) bytes.  Q8_0, Q4_0 and Q4_1
 * give the same bytes as ggml's reference code; Q4_K and Q6_K follow ggml's
 * reference search (weighted least squares over candidate scales). */
void temper_quantize_row_q8_0 (const float *x, int64_t n, void *dst);
void temper_quantize_row_q4_0 (const float *x, int64_t n, void *dst);
void temper_quantize_row_q4_1 (const float *x, int64_t n, void *dst);
void temper_quantize_row_q4_k (const float *x, int64_t n, void *dst);
void temper_quantize_row_q6_k (const float *x, int64_t n, void *dst);
/* Gives the codes and absmax bitsandbytes' quantize_4bit (blocksize 64,
 * "nf4") gives, ties between two codes going to the lower one as it breaks
 * them. */
void temper_quantize_row_nf4  (const float *x, int64_t n, void *dst);
/* Any of the above, or F32/F16/BF16 by conversion.  FALSE for a type with no
 * quantizer (see temper_type_can_quantize). */
gboolean temper_type_can_quantize (int type);
gboolean temper_quantize_row (int type, const float *x, int64_t n, void *dst);

G_END_DECLS
