#version 450
#extension GL_GOOGLE_include_directive : require
// C[m,n] = alpha · Σ_k A[m,k] · B[n,k] + bias[n] + beta · C[m,n]
//
// A is f32 addressed through two strides, so a transposed A costs nothing.
// B is a weight in its stored type (WEIGHT_<TYPE>), dequantized as each tile
// is loaded into shared memory: B[n,k] is stored row n, column k, or, with
// b_trans, row k, column n (the backward pass dX = dY · W).  Each 16×16
// workgroup computes a 32×32 tile of C, 2×2 outputs per invocation.

#define TILE 32u

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

shared float tile_a[TILE][TILE + 1u];
shared float tile_b[TILE][TILE + 1u];

void main ()
{
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  uint tid = ty * 16u + tx;
  uint m0 = gl_WorkGroupID.y * TILE;
  uint n0 = gl_WorkGroupID.x * TILE;
  float acc00 = 0.0, acc01 = 0.0, acc10 = 0.0, acc11 = 0.0;

  for (uint k0 = 0u; k0 < p.K; k0 += TILE)
    {
      for (uint i = tid; i < TILE * TILE; i += 256u)
        {
          uint r = i / TILE;
          uint kk = i % TILE;
          uint m = m0 + r;
          uint n = n0 + r;
          uint k = k0 + kk;
          tile_a[r][kk] = (m < p.M && k < p.K)
                            ? a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k]
                            : 0.0;
          float b = 0.0;
          if (n < p.N && k < p.K)
            b = p.b_trans != 0u ? weight_load (p.b_offset + k * p.b_row_bytes, n)
                                : weight_load (p.b_offset + n * p.b_row_bytes, k);
          tile_b[r][kk] = b;
        }
      barrier ();
      for (uint kk = 0u; kk < TILE; kk++)
        {
          float a0 = tile_a[ty][kk];
          float a1 = tile_a[ty + 16u][kk];
          float b0 = tile_b[tx][kk];
          float b1 = tile_b[tx + 16u][kk];
          acc00 += a0 * b0;
          acc01 += a0 * b1;
          acc10 += a1 * b0;
          acc11 += a1 * b1;
        }
      barrier ();
    }

  float accs[4] = float[4] (acc00, acc01, acc10, acc11);
  for (uint i = 0u; i < 4u; i++)
    {
      uint m = m0 + ty + 16u * (i >> 1);
      uint n = n0 + tx + 16u * (i & 1u);
      if (m >= p.M || n >= p.N)
        continue;
      uint at = p.c_offset + m * p.c_stride_m + n;
      float v = p.alpha * accs[i];
      if (p.has_bias != 0u)
        v += bias[p.bias_offset + n];
      if (p.beta != 0.0)
        v += p.beta * c[at];
      c[at] = v;
    }
}
