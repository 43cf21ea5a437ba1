/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE from a frequency table (TEMPER_OP_ROPE_TABLE), in place, on rows of
// n_heads × head_dim; row t has position pos_offset + t % seq_len.  Pair i
// of the first 2·n_pairs dimensions of each head turns by pos·inv_freq[i]
// (llama3 factors, linear scaling, partial rotary), cos and sin both times
// mscale (LongRoPE).  Pairs are (x[2i], x[2i+1]) for the interleaved layout
// or (x[i], x[i+n_pairs]) with ROPE_HALVES; the rest of the head is left as
// it is.  The backward turns by the opposite angle (direction −1).

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer Freq { float inv_freq[]; };

layout (push_constant) uniform Params {
  uint n_tokens;
  uint n_heads;
  uint head_dim;
  uint x_offset;
  uint seq_len;
  uint pos_offset;
  uint n_pairs;
  float mscale;
  float direction;   // +1 forward, −1 backward
} p;

#include "common.glsl"

// Two floats that together hold 2π to about 48 bits.
const float TWO_PI_HI = 6.28318548202514648;
const float TWO_PI_LO = -1.7484555314695172e-7;

void main ()
{
  uint idx = linear_invocation ();
  if (idx >= p.n_tokens * p.n_heads * p.n_pairs)
    return;
  uint i = idx % p.n_pairs;
  uint h = (idx / p.n_pairs) % p.n_heads;
  uint t = idx / (p.n_pairs * p.n_heads);
  float pos = float (p.pos_offset + t % p.seq_len);
  float freq = inv_freq[i];
  // pos·freq far from 0 loses the angle's low bits in one float (the CPU
  // reference takes the product in double): keep the product's rounding
  // error and take whole turns off before adding it back.
  precise float product = pos * freq;
  precise float product_error = fma (pos, freq, -product);
  precise float turns = round (product / TWO_PI_HI);
  precise float reduced = fma (-turns, TWO_PI_HI, product);
  precise float angle = fma (-turns, TWO_PI_LO, reduced) + product_error;
  float cs = p.mscale * cos (angle);
  float sn = p.mscale * p.direction * sin (angle);
  uint base = p.x_offset + (t * p.n_heads + h) * p.head_dim;
#if defined(ROPE_HALVES)
  uint i0 = base + i;
  uint i1 = base + i + p.n_pairs;
#else
  uint i0 = base + 2u * i;
  uint i1 = i0 + 1u;
#endif
  float x0 = x[i0];
  float x1 = x[i1];
  x[i0] = x0 * cs - x1 * sn;
  x[i1] = x0 * sn + x1 * cs;
}
