/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// C[m,n] = alpha · Σ_k A[m,k] · B[n,k] + bias[n] + beta · C[m,n]
//
// A is f32 addressed through two strides, so a transposed A costs nothing.
// B is a weight in its stored type (WEIGHT_<TYPE>), dequantized as each tile
// is loaded into shared memory: B[n,k] is stored row n, column k, or, with
// b_trans, row k, column n (the backward pass dX = dY · W).
//
// The shape is chosen for GPUs without cooperative matrices (most AMD and
// Intel ones).  Each workgroup of 16×16 invocations computes a 64×64 tile of
// C, 4×4 outputs per invocation held in registers: per step of k an
// invocation reads 4 values of A and 4 of B from shared memory and does 16
// multiply-adds, two per shared load where a 2×2 block does one, and a
// workgroup loads each weight of its tile once for 64 rows, not 32.
//
// Its columns are strided by 16 (tx, tx+16, ...) so the 16 invocations of a
// row read 16 consecutive floats of B; its rows are 4 adjacent ones (4ty ...
// 4ty+3), which the 16 invocations of a row all read alike (a broadcast).
// Invocations whose rows all lie past M skip the arithmetic: with 17 to 63
// rows (short prompts, small batches) a tile is partly empty, and whole
// waves then idle instead of multiplying zeros.
//
// The tiles are stored k-major and the k step is 16 (8 KiB of shared memory
// for both, so several workgroups fit a compute unit).  A tile row holds
// 64 + 2 floats: loads from memory walk k fastest, and with that stride the
// 32 invocations of a wave that store 16 values of k for two rows hit 32
// different banks.

#define TILE 64u
#define K_STEP 16u
#define ROW_PAD 2u
#define PER_INVOCATION 4u
#define SIDE 16u                  // invocations along each side of the tile
#define INVOCATIONS (SIDE * SIDE)

layout (local_size_x = 16, local_size_y = 16) in;

layout (std430, binding = 0) readonly buffer A { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { uint wdata[]; };
layout (std430, binding = 2) buffer C { float c[]; };
layout (std430, binding = 3) readonly buffer Bias { float bias[]; };

layout (push_constant) uniform Params {
  uint M;
  uint N;
  uint K;
  uint a_offset;     // elements
  uint a_stride_m;
  uint a_stride_k;
  uint b_offset;     // bytes
  uint b_row_bytes;
  uint b_trans;
  uint c_offset;     // elements
  uint c_stride_m;
  uint bias_offset;
  uint has_bias;
  float alpha;
  float beta;        // 0 overwrites C without reading it
} p;

#include "weight-load.glsl"

shared float tile_a[K_STEP][TILE + ROW_PAD];
shared float tile_b[K_STEP][TILE + ROW_PAD];

// Element i (of TILE·K_STEP) of the tile as (row of the tile, k within the
// step): k fastest when memory runs along k, else the row fastest, so that
// neighbouring invocations read neighbouring words either way.
uvec2 tile_coord (uint i, bool k_contiguous)
{
  return k_contiguous ? uvec2 (i / K_STEP, i % K_STEP) : uvec2 (i % TILE, i / TILE);
}

void main ()
{
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  uint tid = ty * SIDE + tx;
  uint m0 = gl_WorkGroupID.y * TILE;
  uint n0 = gl_WorkGroupID.x * TILE;
  bool a_k_contiguous = p.a_stride_k == 1u;
  bool b_k_contiguous = p.b_trans == 0u;
  bool has_rows = m0 + PER_INVOCATION * ty < p.M;
  float acc[PER_INVOCATION][PER_INVOCATION];

  for (uint i = 0u; i < PER_INVOCATION; i++)
    for (uint j = 0u; j < PER_INVOCATION; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += K_STEP)
    {
      for (uint i = tid; i < TILE * K_STEP; i += INVOCATIONS)
        {
          uvec2 at = tile_coord (i, a_k_contiguous);
          uint m = m0 + at.x;
          uint k = k0 + at.y;
          tile_a[at.y][at.x] = (m < p.M && k < p.K)
                                 ? a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k]
                                 : 0.0;
        }
      for (uint i = tid; i < TILE * K_STEP; i += INVOCATIONS)
        {
          uvec2 at = tile_coord (i, b_k_contiguous);
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
      if (m >= p.M)
        break;
      for (uint j = 0u; j < PER_INVOCATION; j++)
        {
          uint n = n0 + tx + SIDE * j;
          if (n >= p.N)
            break;
          uint at = p.c_offset + m * p.c_stride_m + n;
          float v = p.alpha * acc[i][j];
          if (p.has_bias != 0u)
            v += bias[p.bias_offset + n];
          if (p.beta != 0.0)
            v += p.beta * c[at];
          c[at] = v;
        }
    }
}
