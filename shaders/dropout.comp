/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// y = x ⊙ mask / (1 − p), element-wise (y may alias x).  The mask repeats
// engine/backend/temper-dropout-mask.h in 32-bit unsigned arithmetic, which GLSL
// wraps modulo 2³² like C, so every backend drops the very same elements.

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) writeonly buffer Y { float y[]; };

layout (push_constant) uniform Params {
  uint n;
  uint x_offset;
  uint y_offset;
  uint key_lo;
  uint key_hi;
  uint threshold;   // on the top 24 bits; formed on the host from p
  float keep_scale; // 1 / (1 − p), formed on the host in float
} p;

#include "common.glsl"

uint mix_bits (uint z)
{
  z ^= z >> 16;
  z *= 0x7feb352du;
  z ^= z >> 15;
  z *= 0x846ca68bu;
  z ^= z >> 16;
  return z;
}

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  uint h = mix_bits (mix_bits (i * 0x9e3779b9u + p.key_lo) ^ p.key_hi);
  float v = x[p.x_offset + i];
  y[p.y_offset + i] = (h >> 8) >= p.threshold ? v * p.keep_scale : 0.0;
}
