/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// The few-rows case of matmul.comp (generation: one token at a time, and
// the lm_head of the last token): the same push constants and result, but
// each invocation owns one output column n and walks K alone, so every
// weight element is dequantized exactly once and no barrier is needed
// (software drivers pay dearly for workgroups that synchronize).  On a GPU
// the lanes of a wave then read different rows; where the device has
// subgroup arithmetic the host runs matvec-subgroup.comp instead, except
// for a transposed weight (b_trans), whose rows run along n so that
// neighbouring invocations here read neighbouring words.

#define MATVEC_MAX_M 16u

layout (local_size_x = 64) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { uint wdata[]; };
layout (std430, binding = 2) buffer C { float c[]; };
layout (std430, binding = 3) readonly buffer Bias { float bias[]; };

layout (push_constant) uniform Params {
  uint M;            // at most MATVEC_MAX_M
  uint N;
  uint K;
  uint a_offset;
  uint a_stride_m;
  uint a_stride_k;
  uint b_offset;
  uint b_row_bytes;
  uint b_trans;
  uint c_offset;
  uint c_stride_m;
  uint bias_offset;
  uint has_bias;
  float alpha;
  float beta;
} p;

#include "weight-load.glsl"

void main ()
{
  uint n = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
  if (n >= p.N)
    return;
  float acc[MATVEC_MAX_M];
  for (uint m = 0u; m < MATVEC_MAX_M; m++)
    acc[m] = 0.0;

  for (uint k = 0u; k < p.K; k++)
    {
      float w = p.b_trans != 0u ? weight_load (p.b_offset + k * p.b_row_bytes, n)
                                : weight_load (p.b_offset + n * p.b_row_bytes, k);
      // A constant trip count lets the compiler keep acc[] in registers.
      for (uint m = 0u; m < MATVEC_MAX_M; m++)
        if (m < p.M)
          acc[m] += w * a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k];
    }
  for (uint m = 0u; m < MATVEC_MAX_M; m++)
    {
      if (m >= p.M)
        break;
      uint at = p.c_offset + m * p.c_stride_m + n;
      float v = p.alpha * acc[m];
      if (p.has_bias != 0u)
        v += bias[p.bias_offset + n];
      if (p.beta != 0.0)
        v += p.beta * c[at];
      c[at] = v;
    }
}
