/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// y = w ⊙ x / sqrt(mean(x²) + eps), one workgroup per row; the reciprocal
// root of each row is kept for the backward pass.

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer X { float x[]; };
layout (std430, binding = 1) readonly buffer W { float w[]; };
layout (std430, binding = 2) writeonly buffer Y { float y[]; };
layout (std430, binding = 3) writeonly buffer Rstd { float rstd[]; };

layout (push_constant) uniform Params {
  uint rows;
  uint n;
  float eps;
  uint x_offset;
  uint w_offset;
  uint y_offset;
  uint rstd_offset;
} p;

#include "common.glsl"
#include "reduce.glsl"

void main ()
{
  uint r = linear_workgroup ();
  if (r >= p.rows)
    return;
  uint xr = p.x_offset + r * p.n;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += REDUCE_SIZE)
    ss += x[xr + i] * x[xr + i];
  float s = 1.0 / sqrt (workgroup_sum (ss) / float (p.n) + p.eps);
  uint yr = p.y_offset + r * p.n;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += REDUCE_SIZE)
    y[yr + i] = w[p.w_offset + i] * x[xr + i] * s;
  if (gl_LocalInvocationID.x == 0u)
    rstd[p.rstd_offset + r] = s;
}
