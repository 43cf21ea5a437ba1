/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Partial sums (of squares with SQUARES): workgroup g adds elements g·256+l,
// (g + G)·256+l, … and writes one partial, or adds it to the output with
// accumulate.  Run once over the data into partials and once more with one
// workgroup over the partials: a total without float atomics.

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) buffer Partial { float partial[]; };

layout (push_constant) uniform Params {
  uint n;
  uint x_offset;
  uint out_offset;
  uint accumulate;
} p;

#include "reduce.glsl"

void main ()
{
  uint stride = gl_NumWorkGroups.x * REDUCE_SIZE;
  float acc = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride)
    {
      float v = x[p.x_offset + i];
#if defined(SQUARES)
      acc += v * v;
#else
      acc += v;
#endif
    }
  float total = workgroup_sum (acc);
  if (gl_LocalInvocationID.x == 0u)
    {
      uint at = p.out_offset + gl_WorkGroupID.x;
      partial[at] = p.accumulate != 0u ? partial[at] + total : total;
    }
}
