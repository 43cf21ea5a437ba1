/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// One expert's product for the rows routed to it (a mixture of experts;
// engine/vulkan/temper-vk-ops-moe.c records it once per expert and
// projection): C[m,n] = Σ_k A[m,k] · B[n,k], m over the expert's list of
// places (t·n_used + j, token t) and its length, both read from the route
// buffer the routing shaders wrote, so the host never waits for them.
//
// A (a_mode): 0 the token's row of a full {K, T} tensor (x, or dout);
//   1 row m of a gathered batch; 2 silu(gate) ⊙ up of the gathered rows at
//   a_offset and a2_offset (the expert's activation, computed as it loads).
// B: the expert's weight in its stored type, read by weight-load.glsl (row
//   n, column k, or with b_trans row k, column n).
// C (c_mode): 0 row m of a gathered batch, overwritten; 1 added into the
//   token's row, times the place's routing weight unless weight is ~0.
//
// The tiling is matmul.comp's (64×64 per workgroup, 4×4 per invocation);
// a workgroup whose rows lie past the list's length returns at once, so a
// dispatch sized for every token costs an idle expert almost nothing.

#define TILE 64u
#define K_STEP 16u
#define ROW_PAD 2u
#define PER_INVOCATION 4u
#define SIDE 16u
#define INVOCATIONS (SIDE * SIDE)
#define UNWEIGHTED 0xFFFFFFFFu

layout (local_size_x = 16, local_size_y = 16) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { uint wdata[]; };
layout (std430, binding = 2) buffer C { float c[]; };
layout (std430, binding = 3) readonly buffer Route { uint route[]; };

layout (push_constant) uniform Params {
  uint N;
  uint K;
  uint list;        // words in route: the expert's places,
  uint count;       // and how many
  uint n_used;
  uint a_mode;
  uint a_offset;    // elements
  uint a2_offset;
  uint b_offset;    // bytes
  uint b_row_bytes;
  uint b_trans;
  uint c_mode;
  uint c_offset;    // elements
  uint weight;      // words in route: the routing weights {n_used, T}, or UNWEIGHTED
} p;

#include "weight-load.glsl"

shared float tile_a[K_STEP][TILE + ROW_PAD];
shared float tile_b[K_STEP][TILE + ROW_PAD];

float load_a (uint m, uint k)
{
  if (p.a_mode == 0u)
    return a[p.a_offset + (route[p.list + m] / p.n_used) * p.K + k];
  if (p.a_mode == 1u)
    return a[p.a_offset + m * p.K + k];
  float g = a[p.a_offset + m * p.K + k];
  return g / (1.0 + exp (-g)) * a[p.a2_offset + m * p.K + k];
}

void main ()
{
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  uint tid = ty * SIDE + tx;
  uint M = route[p.count];
  uint m0 = gl_WorkGroupID.y * TILE;
  uint n0 = gl_WorkGroupID.x * TILE;
  bool b_k_contiguous = p.b_trans == 0u;
  float acc[PER_INVOCATION][PER_INVOCATION];

  if (m0 >= M)
    return;   // the whole workgroup: no barrier is skipped by some only
  bool has_rows = m0 + PER_INVOCATION * ty < M;

  for (uint i = 0u; i < PER_INVOCATION; i++)
    for (uint j = 0u; j < PER_INVOCATION; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += K_STEP)
    {
      for (uint i = tid; i < TILE * K_STEP; i += INVOCATIONS)
        {
          uint row = i / K_STEP, kk = i % K_STEP;
          uint m = m0 + row, k = k0 + kk;
          tile_a[kk][row] = (m < M && k < p.K) ? load_a (m, k) : 0.0;
        }
      for (uint i = tid; i < TILE * K_STEP; i += INVOCATIONS)
        {
          uvec2 at = b_k_contiguous ? uvec2 (i / K_STEP, i % K_STEP) : uvec2 (i % TILE, i / TILE);
          uint n = n0 + at.x;
          uint k = k0 + at.y;
          float b = 0.0;
          if (n < p.N && k < p.K)
            b = b_k_contiguous ? weight_load (p.b_offset + n * p.b_row_bytes, k)
                               : weight_load (p.b_offset + k * p.b_row_bytes, n);
          tile_b[at.y][at.x] = b;
        }
      barrier ();
      if (has_rows)
        for (uint kk = 0u; kk < K_STEP; kk++)
          {
            float av[PER_INVOCATION], bv[PER_INVOCATION];
            for (uint i = 0u; i < PER_INVOCATION; i++)
              {
                av[i] = tile_a[kk][PER_INVOCATION * ty + i];
                bv[i] = tile_b[kk][tx + SIDE * i];
              }
            for (uint i = 0u; i < PER_INVOCATION; i++)
              for (uint j = 0u; j < PER_INVOCATION; j++)
                acc[i][j] += av[i] * bv[j];
          }
      barrier ();
    }

  for (uint i = 0u; i < PER_INVOCATION; i++)
    {
      uint m = m0 + PER_INVOCATION * ty + i;
      if (m >= M)
        break;
      uint place = route[p.list + m];
      uint row = p.c_mode == 0u ? m : place / p.n_used;
      float scale = (p.c_mode == 0u || p.weight == UNWEIGHTED) ? 1.0 : uintBitsToFloat (route[p.weight + place]);
      for (uint j = 0u; j < PER_INVOCATION; j++)
        {
          uint n = n0 + tx + SIDE * j;
          if (n >= p.N)
            break;
          uint at = p.c_offset + row * p.N + n;
          if (p.c_mode == 0u)
            c[at] = acc[i][j];
          else
            c[at] += scale * acc[i][j];
        }
    }
}
