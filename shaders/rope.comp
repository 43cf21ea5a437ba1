/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary position embedding, in place, on rows of n_heads × head_dim; row t
// has position pos_offset + t % seq_len.
// Pairs are adjacent (x[2i], x[2i+1]) for the interleaved layout, or split
// halves (x[i], x[i+d/2]) with ROPE_HALVES.  The backward pass rotates the
// gradient by −θ (direction −1): a rotation's transpose is its inverse.

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer X { float x[]; };

layout (push_constant) uniform Params {
  uint n_tokens;
  uint n_heads;
  uint head_dim;
  uint x_offset;
  uint seq_len;
  uint pos_offset;
  float theta_base;
  float direction;   // +1 forward, −1 backward
} p;

#include "common.glsl"

void main ()
{
  uint half_dim = p.head_dim / 2u;
  uint idx = linear_invocation ();
  if (idx >= p.n_tokens * p.n_heads * half_dim)
    return;
  uint i = idx % half_dim;
  uint h = (idx / half_dim) % p.n_heads;
  uint t = idx / (half_dim * p.n_heads);
  float freq = pow (p.theta_base, -2.0 * float (i) / float (p.head_dim));
  float angle = float (p.pos_offset + t % p.seq_len) * freq;
  float cs = cos (angle);
  float sn = p.direction * sin (angle);
  uint base = p.x_offset + (t * p.n_heads + h) * p.head_dim;
#if defined(ROPE_HALVES)
  uint i0 = base + i;
  uint i1 = base + i + half_dim;
#else
  uint i0 = base + 2u * i;
  uint i1 = i0 + 1u;
#endif
  float x0 = x[i0];
  float x1 = x[i1];
  x[i0] = x0 * cs - x1 * sn;
  x[i1] = x0 * sn + x1 * cs;
}
