/* SPDX-License-Identifier: MIT */
// weight-load.glsl — reading one element of a stored weight tensor.
//
// The includer declares `uint wdata[]` (the raw bytes of the weights, any
// GGUF type, as 32-bit words) and defines exactly one WEIGHT_<TYPE>.  Bytes
// are extracted from words so the shaders need neither 8- nor 16-bit storage
// support: every device can run them.  Blocks of every GGUF type have an even
// size, so 16-bit fields always start on an even byte.

uint wl_u8 (uint b)
{
  return (wdata[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu;
}

uint wl_u16 (uint b)
{
  return (wdata[b >> 2] >> ((b & 2u) * 8u)) & 0xFFFFu;
}

float wl_f16 (uint b)
{
  return unpackHalf2x16 (wl_u16 (b)).x;
}

// Unpacks the 6-bit scale (x) and min (y) of sub-block j of a Q4_K/Q5_K
// super-block whose 12 scale bytes start at byte s.
uvec2 wl_scale_min_k4 (uint s, uint j)
{
  if (j < 4u)
    return uvec2 (wl_u8 (s + j) & 63u, wl_u8 (s + j + 4u) & 63u);
  uint lo = wl_u8 (s + j + 4u);
  return uvec2 ((lo & 0x0Fu) | ((wl_u8 (s + j - 4u) >> 6) << 4),
                (lo >> 4) | ((wl_u8 (s + j) >> 6) << 4));
}

// The 2-bit code of element e (0-255) of a Q2_K/Q3_K/TQ2_0 block whose codes
// start at byte qs: bits 2·((e / 32) mod 4) of byte 32·(e / 128) + e mod 32.
uint wl_code2 (uint qs, uint e)
{
  return (wl_u8 (qs + 32u * (e >> 7) + (e & 31u)) >> (2u * ((e >> 5) & 3u))) & 3u;
}

// Element `col` of the row whose first byte is `row`.
float weight_load (uint row, uint col)
{
#if defined(WEIGHT_F32)
  return uintBitsToFloat (wdata[(row >> 2) + col]);
#elif defined(WEIGHT_F16)
  return wl_f16 (row + 2u * col);
#elif defined(WEIGHT_BF16)
  return uintBitsToFloat (wl_u16 (row + 2u * col) << 16);
#elif defined(WEIGHT_Q8_0)
  uint blk = row + (col >> 5) * 34u;
  uint q = wl_u8 (blk + 2u + (col & 31u));
  return wl_f16 (blk) * float (int (q << 24) >> 24);
#elif defined(WEIGHT_Q4_0) || defined(WEIGHT_Q4_1)
#  if defined(WEIGHT_Q4_0)
  uint blk = row + (col >> 5) * 18u;
  uint qs = blk + 2u;
#  else
  uint blk = row + (col >> 5) * 20u;
  uint qs = blk + 4u;
#  endif
  uint j = col & 31u;
  uint q = wl_u8 (qs + (j & 15u));
  q = j < 16u ? (q & 0x0Fu) : (q >> 4);
#  if defined(WEIGHT_Q4_0)
  return wl_f16 (blk) * (float (q) - 8.0);
#  else
  return wl_f16 (blk) * float (q) + wl_f16 (blk + 2u);
#  endif
#elif defined(WEIGHT_Q5_0) || defined(WEIGHT_Q5_1)
#  if defined(WEIGHT_Q5_0)
  uint blk = row + (col >> 5) * 22u;
  uint qh_at = blk + 2u;
#  else
  uint blk = row + (col >> 5) * 24u;
  uint qh_at = blk + 4u;
#  endif
  uint qh = wl_u16 (qh_at) | (wl_u16 (qh_at + 2u) << 16);
  uint j = col & 31u;
  uint q = wl_u8 (qh_at + 4u + (j & 15u));
  q = (j < 16u ? (q & 0x0Fu) : (q >> 4)) | (((qh >> j) & 1u) << 4);
#  if defined(WEIGHT_Q5_0)
  return wl_f16 (blk) * (float (q) - 16.0);
#  else
  return wl_f16 (blk) * float (q) + wl_f16 (blk + 2u);
#  endif
#elif defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
#  if defined(WEIGHT_Q4_K)
  uint blk = row + (col >> 8) * 144u;
  uint qs = blk + 16u;
#  else
  uint blk = row + (col >> 8) * 176u;
  uint qs = blk + 48u;
#  endif
  uint e = col & 255u;
  uint g = e >> 6;          // group of 64
  uint hi = (e >> 5) & 1u;  // high-nibble half of the group
  uint l = e & 31u;
  uvec2 sm = wl_scale_min_k4 (blk + 4u, 2u * g + hi);
  uint q = wl_u8 (qs + 32u * g + l);
  q = hi == 0u ? (q & 0x0Fu) : (q >> 4);
#  if defined(WEIGHT_Q5_K)
  q |= ((wl_u8 (blk + 16u + l) >> (2u * g + hi)) & 1u) << 4;
#  endif
  return wl_f16 (blk) * float (sm.x) * float (q) - wl_f16 (blk + 2u) * float (sm.y);
#elif defined(WEIGHT_Q6_K)
  uint blk = row + (col >> 8) * 210u;
  uint e = col & 255u;
  uint t = e >> 7;          // half of 128
  uint r = e & 127u;
  uint quarter = r >> 5;    // which of the four 32-wide lanes
  uint l = r & 31u;
  uint ql = wl_u8 (blk + 64u * t + l + ((quarter & 1u) != 0u ? 32u : 0u));
  ql = quarter < 2u ? (ql & 0x0Fu) : (ql >> 4);
  uint qh = (wl_u8 (blk + 128u + 32u * t + l) >> (2u * quarter)) & 3u;
  int sc = int (wl_u8 (blk + 192u + 8u * t + (l >> 4) + 2u * quarter) << 24) >> 24;
  return wl_f16 (blk + 208u) * float (sc) * (float (ql | (qh << 4)) - 32.0);
#elif defined(WEIGHT_Q2_K)
  // scales[16] (4-bit scale, 4-bit min per 16 elements), qs[64], d, dmin.
  uint blk = row + (col >> 8) * 84u;
  uint e = col & 255u;
  uint sc = wl_u8 (blk + (e >> 4));
  return wl_f16 (blk + 80u) * float (sc & 0x0Fu) * float (wl_code2 (blk + 16u, e))
         - wl_f16 (blk + 82u) * float (sc >> 4);
#elif defined(WEIGHT_Q3_K)
  // hmask[32], qs[64], 12 bytes of signed 6-bit scales, d.  A clear bit in
  // hmask subtracts 4 from the 2-bit code.
  uint blk = row + (col >> 8) * 110u;
  uint e = col & 255u;
  uint j = e >> 4;
  uint low = j < 8u ? (wl_u8 (blk + 96u + j) & 0x0Fu) : (wl_u8 (blk + 88u + j) >> 4);
  uint high = (wl_u8 (blk + 104u + (j & 3u)) >> (2u * (j >> 2))) & 3u;
  int scale = int (low | (high << 4)) - 32;
  uint hbit = (wl_u8 (blk + (e & 31u)) >> (e >> 5)) & 1u;
  int q = int (wl_code2 (blk + 32u, e)) - (hbit != 0u ? 0 : 4);
  return wl_f16 (blk + 108u) * float (scale) * float (q);
#elif defined(WEIGHT_IQ4_NL) || defined(WEIGHT_IQ4_XS)
  // 4-bit codes into ggml's non-linear book (kvalues_iq4nl), nibbles laid
  // out as Q4_0's within each 32 elements.
  const float iq4_values[16] = float[16] (
    -127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
    1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
#  if defined(WEIGHT_IQ4_NL)
  uint blk = row + (col >> 5) * 18u;
  uint j = col & 31u;
  uint q = wl_u8 (blk + 2u + (j & 15u));
  q = j < 16u ? (q & 0x0Fu) : (q >> 4);
  return wl_f16 (blk) * iq4_values[q];
#  else
  // d, a u16 of high scale bits, 4 bytes of low scale nibbles, qs[128].
  uint blk = row + (col >> 8) * 136u;
  uint e = col & 255u;
  uint ib = e >> 5;
  uint ls = ((wl_u8 (blk + 4u + (ib >> 1)) >> (4u * (ib & 1u))) & 0x0Fu)
            | (((wl_u16 (blk + 2u) >> (2u * ib)) & 3u) << 4);
  uint j = e & 31u;
  uint q = wl_u8 (blk + 8u + 16u * ib + (j & 15u));
  q = j < 16u ? (q & 0x0Fu) : (q >> 4);
  return wl_f16 (blk) * float (int (ls) - 32) * iq4_values[q];
#  endif
#elif defined(WEIGHT_TQ2_0)
  // Ternary: 2-bit codes meaning code − 1, then d.
  uint blk = row + (col >> 8) * 66u;
  return wl_f16 (blk + 64u) * (float (wl_code2 (blk, col & 255u)) - 1.0);
#elif defined(WEIGHT_NF4)
  // Temper's NF4 (engine/formats/temper-nf4.c): 36-byte blocks of 64, an fp32
  // absmax then the codes, the first weight of a pair in the high nibble;
  // the values are bitsandbytes' NF4 code book.
  const float nf4_values[16] = float[16] (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0);
  uint blk = row + (col >> 6) * 36u;
  uint j = col & 63u;
  uint q = wl_u8 (blk + 4u + (j >> 1));
  q = (j & 1u) == 0u ? (q >> 4) : (q & 0x0Fu);
  return nf4_values[q] * uintBitsToFloat (wl_u16 (blk) | (wl_u16 (blk + 2u) << 16));
#else
#  error "define one WEIGHT_<TYPE>"
#endif
}
