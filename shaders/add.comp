/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// y = a + alpha · b, element-wise (y may alias a: the residual add).

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer B { float b[]; };
layout (std430, binding = 2) writeonly buffer Y { float y[]; };

layout (push_constant) uniform Params {
  uint n;
  uint a_offset;
  uint b_offset;
  uint y_offset;
  float alpha;
} p;

#include "common.glsl"

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  y[p.y_offset + i] = a[p.a_offset + i] + p.alpha * b[p.b_offset + i];
}
