/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// The backward of one expert's SwiGLU for the rows routed to it (one
// workgroup per row m of its gathered batch).  In: gate and up (the row's
// gate·x and up·x) and da = dout·down (the gradient of the activation before
// the routing weight w).  Out, in place: gate ← w·da ⊙ up ⊙ silu'(gate) and
// up ← w·da ⊙ silu(gate), the gradients that go back through the expert's
// gate and up projections; and g[place] = da · silu(gate) ⊙ up, which is
// dout · the expert's output, the gradient of its weight w.

#define REDUCE_SIZE 64u
layout (local_size_x = 64) in;

layout (std430, binding = 0) buffer Scratch { uint s[]; };

layout (push_constant) uniform Params {
  uint T;        // rows each expert's list can hold
  uint F;        // the expert's width
  uint list;     // word offsets: this expert's list of places,
  uint count;    // its length,
  uint weight;   // the routing weights {n_used, T},
  uint g;        // g {n_used, T},
  uint gate;     // and the gathered batch's rows {F, T} ×3
  uint up;
  uint da;
} p;

#include "common.glsl"
#include "reduce.glsl"

float sf (uint at) { return uintBitsToFloat (s[at]); }

void main ()
{
  uint m = linear_workgroup ();
  if (m >= s[p.count])
    return;
  uint place = s[p.list + m];
  float w = sf (p.weight + place);
  float partial = 0.0;

  for (uint f = gl_LocalInvocationID.x; f < p.F; f += REDUCE_SIZE)
    {
      uint at = m * p.F + f;
      float g = sf (p.gate + at), u = sf (p.up + at), da = sf (p.da + at);
      float sig = 1.0 / (1.0 + exp (-g));
      partial += da * g * sig * u;
      // silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
      s[p.gate + at] = floatBitsToUint (w * da * u * sig * (1.0 + g * (1.0 - sig)));
      s[p.up + at] = floatBitsToUint (w * da * g * sig);
    }
  float total = workgroup_sum (partial);
  if (gl_LocalInvocationID.x == 0u)
    s[p.g + place] = floatBitsToUint (total);
}
