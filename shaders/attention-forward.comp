/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Causal grouped-query attention, forward: out = softmax(scale·q·kᵀ)·v with
// the softmax computed online over blocks of keys, and the log-sum-exp of
// each row's scaled scores kept for the backward pass.

#include "common.glsl"
#include "attention.glsl"
#include "reduce.glsl"

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
layout (std430, binding = 3) writeonly buffer Out { float o[]; };
layout (std430, binding = 4) writeonly buffer Lse { float lse[]; };

shared float q_row[MAX_HEAD_DIM];
shared float probs[ATT_LOCAL];

void main ()
{
  uint wg = linear_workgroup ();
  if (wg >= p.n_seq * p.n_query * p.n_head)
    return;
  uint lid = gl_LocalInvocationID.x;
  uint h = wg % p.n_head;
  uint row = wg / p.n_head;
  uint seq = row / p.n_query;
  uint i = row % p.n_query;
  uint g = h / (p.n_head / p.n_head_kv);
  uint n_visible = min (p.q_offset + i + 1u, p.n_key);
  uint first = first_visible_key (p.q_offset + i);
  uint key0 = seq * p.n_key;

  for (uint d = lid; d < p.head_dim; d += ATT_LOCAL)
    q_row[d] = q[p.q_at + q_index (row, h, d)];
  barrier ();

  float m = NEG_BIG;
  float l = 0.0;
  float acc0 = 0.0, acc1 = 0.0;
  for (uint j0 = first; j0 < n_visible; j0 += ATT_LOCAL)
    {
      uint j = j0 + lid;
      float s = NEG_BIG;
      if (j < n_visible)
        {
          s = 0.0;
          for (uint d = 0u; d < p.head_dim; d++)
            s += q_row[d] * k[p.k_at + kv_index (key0 + j, g, d)];
          s = cap_score (s * p.scale);
        }
      float m_new = max (m, workgroup_max (s));
      float pj = j < n_visible ? exp (s - m_new) : 0.0;
      probs[lid] = pj;
      float rescale = exp (m - m_new);
      l = l * rescale + workgroup_sum (pj);
      m = m_new;
      uint n_block = min (ATT_LOCAL, n_visible - j0);
      acc0 *= rescale;
      acc1 *= rescale;
      for (uint jj = 0u; jj < n_block; jj++)
        {
          uint base = p.v_at + kv_index (key0 + j0 + jj, g, 0u);
          if (lid < p.head_dim)
            acc0 += probs[jj] * v[base + lid];
          if (lid + ATT_LOCAL < p.head_dim)
            acc1 += probs[jj] * v[base + lid + ATT_LOCAL];
        }
      barrier ();
    }

  if (lid < p.head_dim)
    o[p.out_at + q_index (row, h, lid)] = acc0 / l;
  if (lid + ATT_LOCAL < p.head_dim)
    o[p.out_at + q_index (row, h, lid + ATT_LOCAL)] = acc1 / l;
  if (p.has_lse != 0u && lid == 0u)
    lse[p.lse_at + row * p.n_head + h] = m + log (l);
}
