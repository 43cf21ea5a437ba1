/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// The few-rows case of matmul.comp for GPUs (generation: one token at a
// time), with the same push constants and result as matvec.comp, which the
// host keeps for devices without subgroup arithmetic, for software drivers
// (where it measured faster), and for a transposed weight (b_trans, where a
// row of B runs along n, not k).
//
// One subgroup owns one output column n, that is one row of the weight:
// its lanes split K into chunks, lane i taking chunks i, i + lanes, ..., so
// neighbouring lanes read neighbouring words of the row (coalesced reads,
// where one invocation walking a row alone makes every lane of a wave read a
// different row).  A chunk is one 32-bit word for the float types and an
// aligned part of a block for quantized ones, so a lane reads only the
// bytes of its own elements and their block's scales, and decodes them.
// The lanes' partial sums meet in subgroupAdd: no shared memory, no barrier.
//
// The workgroup is four subgroups of the size the device reports
// (specialization constant 0) and covers COLUMNS output columns.  Should the
// driver pick another subgroup size, the loops below still cover every
// column and every chunk, only with some lanes idle.

#define MATVEC_MAX_M 16u
#define COLUMNS 4u        // output columns per workgroup; matches the host

// A lane takes CHUNK elements at a time: one 32-bit word of a float type,
// or 8 elements of a block, which share one scale in every type (a 32-wide
// part of a K-quant, a 16-wide one of Q6_K, Q2_K and Q3_K).  Eight, not a whole block,
// keeps the unrolled loops (CHUNK × MATVEC_MAX_M multiply-adds) small
// enough to compile quickly, and spreads short rows over more lanes.
#if defined(WEIGHT_F32)
#  define CHUNK 1u
#  define BLOCK 1u        // elements per block of the type
#  define BLOCK_BYTES 4u
#elif defined(WEIGHT_F16) || defined(WEIGHT_BF16)
#  define CHUNK 2u
#  define BLOCK 1u
#  define BLOCK_BYTES 2u
#elif defined(WEIGHT_Q4_0)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 18u
#elif defined(WEIGHT_Q4_1)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 20u
#elif defined(WEIGHT_Q5_0)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 22u
#elif defined(WEIGHT_Q5_1)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 24u
#elif defined(WEIGHT_Q8_0)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 34u
#elif defined(WEIGHT_Q4_K)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 144u
#elif defined(WEIGHT_Q5_K)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 176u
#elif defined(WEIGHT_Q6_K)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 210u
#elif defined(WEIGHT_NF4)
#  define CHUNK 8u
#  define BLOCK 64u
#  define BLOCK_BYTES 36u
#elif defined(WEIGHT_Q2_K)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 84u
#elif defined(WEIGHT_Q3_K)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 110u
#elif defined(WEIGHT_IQ4_NL)
#  define CHUNK 8u
#  define BLOCK 32u
#  define BLOCK_BYTES 18u
#elif defined(WEIGHT_IQ4_XS)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 136u
#elif defined(WEIGHT_TQ2_0)
#  define CHUNK 8u
#  define BLOCK 256u
#  define BLOCK_BYTES 66u
#else
#  error "define one WEIGHT_<TYPE>"
#endif

layout (local_size_x_id = 0) in;

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
  uint b_trans;      // must be 0 here
  uint c_offset;
  uint c_stride_m;
  uint bias_offset;
  uint has_bias;
  float alpha;
  float beta;
} p;

#include "weight-load.glsl"

// The CHUNK weights of the chunk at element `first` of the block at byte
// `block`.  The float types and the blocks that generation models mostly
// use (Q4_0, Q4_1, Q8_0) are decoded from 32- or 16-bit reads, each read
// once, with the block's scales read once; the other types go element by
// element through weight_load, whose scale reads are then the same for the
// whole chunk.  Values are computed exactly as weight_load does.
void load_chunk (uint block, uint first, out float w[CHUNK])
{
#if defined(WEIGHT_F16)
  vec2 pair = unpackHalf2x16 (wdata[block >> 2]);   // chunks are whole words
  w[0] = pair.x;
  w[1] = pair.y;
#elif defined(WEIGHT_BF16)
  uint word = wdata[block >> 2];
  w[0] = uintBitsToFloat (word << 16);
  w[1] = uintBitsToFloat (word & 0xFFFF0000u);
#elif defined(WEIGHT_Q4_0) || defined(WEIGHT_Q4_1)
  // Byte i of the codes holds element i in its low nibble and element
  // i + 16 in its high one: the chunk is 8 bytes' low or high nibbles.
  float d = wl_f16 (block);
#  if defined(WEIGHT_Q4_0)
  uint qs = block + 2u;
#  else
  float low = wl_f16 (block + 2u);
  uint qs = block + 4u;
#  endif
  uint shift = first >= 16u ? 4u : 0u;
  for (uint i = 0u; i < 8u; i += 2u)
    {
      uint two = wl_u16 (qs + (first & 15u) + i) >> shift;
      vec2 q = vec2 (float (two & 0x0Fu), float ((two >> 8) & 0x0Fu));
#  if defined(WEIGHT_Q4_0)
      vec2 v = d * (q - 8.0);
#  else
      vec2 v = d * q + low;
#  endif
      w[i] = v.x;
      w[i + 1u] = v.y;
    }
#elif defined(WEIGHT_Q8_0)
  float d = wl_f16 (block);
  for (uint i = 0u; i < 8u; i += 2u)
    {
      uint two = wl_u16 (block + 2u + first + i);
      w[i] = d * float (int (two << 24) >> 24);
      w[i + 1u] = d * float (int (two << 16) >> 24);
    }
#else
  for (uint e = 0u; e < CHUNK; e++)
    w[e] = weight_load (block, first + e);
#endif
}

void main ()
{
  // Counted among the lanes actually running, so a partial subgroup (a
  // driver that chose a larger size than reported) still splits K exactly.
  uint lane = subgroupExclusiveAdd (1u);
  uint lanes = subgroupAdd (1u);
  uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;

  for (uint column = gl_SubgroupID; column < COLUMNS; column += gl_NumSubgroups)
    {
      uint n = group * COLUMNS + column;
      if (n >= p.N)
        break;   // the same for the whole subgroup
      uint row = p.b_offset + n * p.b_row_bytes;
#if defined(WEIGHT_F16) || defined(WEIGHT_BF16)
      // A row of odd length can start in the middle of a word.  The chunks
      // are then the words from the one holding element 0, and element k is
      // element k + skew of the chunk sequence.
      uint skew = (row & 2u) >> 1;
#else
      uint skew = 0u;
#endif
      uint first_block = row - skew * BLOCK_BYTES;
      uint n_chunks = (p.K + skew + CHUNK - 1u) / CHUNK;
      float acc[MATVEC_MAX_M];
      for (uint m = 0u; m < MATVEC_MAX_M; m++)
        acc[m] = 0.0;

      for (uint chunk = lane; chunk < n_chunks; chunk += lanes)
        {
          uint k0 = chunk * CHUNK;
          // The block that holds this chunk, and where the chunk starts in it.
          float w[CHUNK];
          load_chunk (first_block + (k0 / BLOCK) * BLOCK_BYTES, k0 % BLOCK, w);
          for (uint e = 0u; e < CHUNK; e++)
            {
              if (k0 + e < skew)
                continue;
              uint k = k0 + e - skew;
              if (k >= p.K)
                break;
              // A constant trip count lets the compiler keep acc[] in registers.
              for (uint m = 0u; m < MATVEC_MAX_M; m++)
                if (m < p.M)
                  acc[m] += w[e] * a[p.a_offset + m * p.a_stride_m + k * p.a_stride_k];
            }
        }

      for (uint m = 0u; m < MATVEC_MAX_M; m++)
        {
          if (m >= p.M)
            break;
          float total = subgroupAdd (acc[m]);
          if (lane == 0u)
            {
              uint at = p.c_offset + m * p.c_stride_m + n;
              float v = p.alpha * total;
              if (p.has_bias != 0u)
                v += bias[p.bias_offset + n];
              if (p.beta != 0.0)
                v += p.beta * c[at];
              c[at] = v;
            }
        }
    }
}
