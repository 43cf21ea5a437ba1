/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// dx = s·(w⊙dy) − x·s³·mean(w⊙dy⊙x), s the saved 1/rms of the row; one
// workgroup per row.  With accumulate, dx is added to (the residual stream
// carries its own gradient).

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer DY { float dy[]; };
layout (std430, binding = 1) readonly buffer X { float x[]; };
layout (std430, binding = 2) readonly buffer W { float w[]; };
layout (std430, binding = 3) readonly buffer Rstd { float rstd[]; };
layout (std430, binding = 4) buffer DX { float dx[]; };

layout (push_constant) uniform Params {
  uint rows;
  uint n;
  uint accumulate;
  uint dy_offset;
  uint x_offset;
  uint w_offset;
  uint rstd_offset;
  uint dx_offset;
} p;

#include "common.glsl"
#include "reduce.glsl"

void main ()
{
  uint r = linear_workgroup ();
  if (r >= p.rows)
    return;
  uint dyr = p.dy_offset + r * p.n;
  uint xr = p.x_offset + r * p.n;
  float dot = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += REDUCE_SIZE)
    dot += w[p.w_offset + i] * dy[dyr + i] * x[xr + i];
  float s = rstd[p.rstd_offset + r];
  float k = workgroup_sum (dot) / float (p.n) * s * s * s;
  uint dxr = p.dx_offset + r * p.n;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += REDUCE_SIZE)
    {
      float g = s * w[p.w_offset + i] * dy[dyr + i] - k * x[xr + i];
      dx[dxr + i] = p.accumulate != 0u ? dx[dxr + i] + g : g;
    }
}
