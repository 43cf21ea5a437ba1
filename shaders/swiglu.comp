#version 450
#extension GL_GOOGLE_include_directive : require
// Forward: h = silu(g) ⊙ u.
// BACKWARD: dg += dh ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du += dh ⊙ silu(g).

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

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  float gv = g[p.g_offset + i];
  float uv = u[p.u_offset + i];
  float sig = 1.0 / (1.0 + exp (-gv));
#if defined(BACKWARD)
  float d = dh[p.out_offset + i];
  dg[p.dg_offset + i] += d * uv * sig * (1.0 + gv * (1.0 - sig));
  du[p.du_offset + i] += d * gv * sig;
#else
  h[p.out_offset + i] = gv * sig * uv;
#endif
}
