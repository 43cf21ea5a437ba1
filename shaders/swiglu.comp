/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Forward: h = silu(g) ⊙ u.
// BACKWARD: dg += dh ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du += dh ⊙ silu(g).
// GELU (GeGLU, Gemma): gelu_tanh(g) = g/2·(1 + tanh(√(2/π)(g + 0.044715g³)))
// in place of silu, with its own derivative.

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer G { float g[]; };
layout (std430, binding = 1) readonly buffer U { float u[]; };
#if defined(BACKWARD)
layout (std430, binding = 2) readonly buffer DH { float dh[]; };
layout (std430, binding = 3) buffer DG { float dg[]; };
layout (std430, binding = 4) buffer DU { float du[]; };
#else
layout (std430, binding = 2) writeonly buffer H { float h[]; };
#endif

layout (push_constant) uniform Params {
  uint n;
  uint g_offset;
  uint u_offset;
  uint out_offset;  // h, or dh
  uint dg_offset;
  uint du_offset;
} p;

#include "common.glsl"

#define GELU_K 0.7978845608028654
#define GELU_C 0.044715

// tanh without the inf/inf some drivers' exp-based tanh give for large |x|.
float safe_tanh (float x)
{
  return tanh (clamp (x, -15.0, 15.0));
}

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  float gv = g[p.g_offset + i];
  float uv = u[p.u_offset + i];
#if defined(GELU)
  float t = safe_tanh (GELU_K * (gv + GELU_C * gv * gv * gv));
  float act = 0.5 * gv * (1.0 + t);
#if defined(BACKWARD)
  float d = dh[p.out_offset + i];
  float slope = 0.5 * (1.0 + t) + 0.5 * gv * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * gv * gv);
  dg[p.dg_offset + i] += d * uv * slope;
  du[p.du_offset + i] += d * act;
#else
  h[p.out_offset + i] = act * uv;
#endif
#else
  float sig = 1.0 / (1.0 + exp (-gv));
#if defined(BACKWARD)
  float d = dh[p.out_offset + i];
  dg[p.dg_offset + i] += d * uv * sig * (1.0 + gv * (1.0 - sig));
  du[p.du_offset + i] += d * gv * sig;
#else
  h[p.out_offset + i] = gv * sig * uv;
#endif
#endif
}
