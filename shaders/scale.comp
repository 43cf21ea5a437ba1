/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// x *= s, element-wise, in place; SOFTCAP: x = s·tanh(x/s) (Gemma 2's
// final logits).

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer X { float x[]; };

layout (push_constant) uniform Params {
  uint n;
  uint x_offset;
  float s;
} p;

#include "common.glsl"

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
#if defined(SOFTCAP)
  x[p.x_offset + i] = p.s * tanh (clamp (x[p.x_offset + i] / p.s, -15.0, 15.0));
#else
  x[p.x_offset + i] *= p.s;
#endif
}
