/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
// C[m,n] = alpha · Σ_k A[m,k] · B[n,k] + bias[n] + beta · C[m,n]
//
// The cooperative-matrix twin of matmul.comp: same bindings, same push
// constants, so the host swaps one for the other.  It serves the products
// with a frozen weight (y = x·Wᵀ and dx = dy·W), where B is a weight in its
// stored type (WEIGHT_<TYPE>), dequantized into shared memory as float16.
//
// Shapes come from specialization constants the host fills from what the
// device reports (vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR): S is the
// side of one square f16×f16→f32 multiply (16 on NVIDIA and AMD, 8 on
// lavapipe), and the workgroup is exactly four subgroups.  Each subgroup owns
// a 2S×2S quadrant of C (four fp32 accumulators), so a workgroup computes a
// 4S×4S tile: 64×64 with S = 16.
//
// Why A is scaled: float16 holds magnitudes from about 6e-8 to 65504.
// Activations can exceed the top, and the gradients of the backward pass
// (dy, often 1e-6…1e-8) sink under the bottom or lose their digits to
// subnormals.  So every row m of A is multiplied by 2^s[m], a power of two
// that brings the row's largest |A| just under 2^14, before it is rounded to
// float16; the accumulated row of C is multiplied back by 2^-s[m].  Powers of
// two are exact, so the only error left is float16's 11-bit rounding of each
// input, the same relative error for tiny and huge rows.  Weights need no
// scale: dequantized GGUF values are float16 scales times small integers.

layout (local_size_x_id = 0) in;
layout (constant_id = 1) const uint S = 16u;

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

// Shared memory is sized for the largest S (16); a smaller S uses part of it.
#define MAX_TILE 64u         // 4 · S
#define TILE_K 32u           // a multiple of every S
#define ROW 40u              // TILE_K plus padding; keeps rows 16-byte aligned
#define F16_MAX 65504.0
// The largest row of A lands in [2^13, 2^14): products of two such values
// stay far from float16's ceiling whatever the weights hold.
#define TARGET_EXPONENT 14

shared float16_t tile_a[MAX_TILE * ROW];  // [m][k]
shared float16_t tile_b[MAX_TILE * ROW];  // [n][k]
shared uint row_max_bits[MAX_TILE];       // max |A| of each row, as float bits
shared int row_shift[MAX_TILE];
shared float out_stage[4u * 16u * 16u];   // one S×S block per subgroup

float a_at (uint m, uint k)
{
  return a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k];
}

// Finds s[m] for the rows of this tile; see the comment at the top.
void compute_row_shifts (uint m0, uint tile, uint tid, uint n_threads)
{
  for (uint r = tid; r < tile; r += n_threads)
    row_max_bits[r] = 0u;
  barrier ();
  // Consecutive invocations read consecutive k; a running maximum is flushed
  // with one shared atomic whenever the row changes.  Non-negative floats
  // order like their bit patterns, so an integer atomicMax is a float max.
  uint rows = min (tile, p.M > m0 ? p.M - m0 : 0u);
  uint total = rows * p.K;
  uint cur_row = 0xFFFFFFFFu;
  float cur_max = 0.0;
  for (uint i = tid; i < total; i += n_threads)
    {
      uint r = i / p.K;
      if (r != cur_row)
        {
          if (cur_row != 0xFFFFFFFFu)
            atomicMax (row_max_bits[cur_row], floatBitsToUint (cur_max));
          cur_row = r;
          cur_max = 0.0;
        }
      cur_max = max (cur_max, abs (a_at (m0 + r, i - r * p.K)));
    }
  if (cur_row != 0xFFFFFFFFu)
    atomicMax (row_max_bits[cur_row], floatBitsToUint (cur_max));
  barrier ();
  for (uint r = tid; r < tile; r += n_threads)
    {
      float row_max = uintBitsToFloat (row_max_bits[r]);
      int e = 0;
      // row_max = f · 2^e with f in [0.5, 1): row_max · 2^(14 - e) < 2^14.
      if (row_max > 0.0 && !isinf (row_max) && !isnan (row_max))
        frexp (row_max, e);
      row_shift[r] = row_max > 0.0 ? clamp (TARGET_EXPONENT - e, -120, 120) : 0;
    }
  barrier ();
}

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint n_threads = gl_WorkGroupSize.x;
  uint sg = gl_SubgroupID;             // 0..3, the quadrant this subgroup owns
  uint tile = 4u * S;
  uint m0 = gl_WorkGroupID.y * tile;
  uint n0 = gl_WorkGroupID.x * tile;
  uint qm = (sg >> 1) * 2u * S;        // quadrant origin inside the tile
  uint qn = (sg & 1u) * 2u * S;
  // The host sizes the workgroup as four of the device's subgroups.  Should
  // a driver run narrower subgroups than it reports (AMD runs 32 or 64), the
  // extra subgroups only help load the tiles; the branch is uniform in each
  // subgroup, as cooperative operations need.
  bool owns_quadrant = sg < 4u;

  compute_row_shifts (m0, tile, tid, n_threads);

  coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[2][2];
  for (uint i = 0u; i < 2u; i++)
    for (uint j = 0u; j < 2u; j++)
      acc[i][j] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> (0.0);

  for (uint k0 = 0u; k0 < p.K; k0 += TILE_K)
    {
      for (uint i = tid; i < tile * TILE_K; i += n_threads)
        {
          uint r = i / TILE_K;
          uint kk = i % TILE_K;
          uint m = m0 + r;
          uint n = n0 + r;
          uint k = k0 + kk;
          float av = 0.0;
          if (m < p.M && k < p.K)
            av = ldexp (a_at (m, k), row_shift[r]);
          tile_a[r * ROW + kk] = float16_t (clamp (av, -F16_MAX, F16_MAX));
          float bv = 0.0;
          if (n < p.N && k < p.K)
            bv = p.b_trans != 0u ? weight_load (p.b_offset + k * p.b_row_bytes, n)
                                 : weight_load (p.b_offset + n * p.b_row_bytes, k);
          tile_b[r * ROW + kk] = float16_t (clamp (bv, -F16_MAX, F16_MAX));
        }
      barrier ();
      for (uint kk = 0u; owns_quadrant && kk < TILE_K; kk += S)
        {
          coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> ma[2];
          coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> mb[2];
          for (uint i = 0u; i < 2u; i++)
            {
              // A is [m][k]: row-major M×K.  B is kept [n][k], which read as
              // the K×N operand is column-major.
              coopMatLoad (ma[i], tile_a, (qm + i * S) * ROW + kk, ROW,
                           gl_CooperativeMatrixLayoutRowMajor);
              coopMatLoad (mb[i], tile_b, (qn + i * S) * ROW + kk, ROW,
                           gl_CooperativeMatrixLayoutColumnMajor);
            }
          for (uint i = 0u; i < 2u; i++)
            for (uint j = 0u; j < 2u; j++)
              acc[i][j] = coopMatMulAdd (ma[i], mb[j], acc[i][j]);
        }
      barrier ();
    }

  // Each subgroup passes its blocks through its own S×S of shared memory to
  // apply the row scale, alpha, bias and beta, and to skip the padding.
  if (!owns_quadrant)
    return;
  uint stage = sg * S * S;
  for (uint i = 0u; i < 2u; i++)
    for (uint j = 0u; j < 2u; j++)
      {
        coopMatStore (acc[i][j], out_stage, stage, S, gl_CooperativeMatrixLayoutRowMajor);
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
        for (uint e = gl_SubgroupInvocationID; e < S * S; e += gl_SubgroupSize)
          {
            uint r = qm + i * S + e / S;
            uint m = m0 + r;
            uint n = n0 + qn + j * S + e % S;
            if (m >= p.M || n >= p.N)
              continue;
            uint at = p.c_offset + m * p.c_stride_m + n;
            float v = p.alpha * ldexp (out_stage[stage + e], -row_shift[r]);
            if (p.has_bias != 0u)
              v += bias[p.bias_offset + n];
            if (p.beta != 0.0)
              v += p.beta * c[at];
            c[at] = v;
          }
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
      }
}
