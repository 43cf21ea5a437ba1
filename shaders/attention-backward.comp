/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Causal grouped-query attention, backward, from the forward's out and
// log-sum-exp: with p = exp(cap(scale·q·k) − lse), dp = dout·v and
// D = dout·out,  ds = p·(dp − D)·cap′ (cap′ = 1 without soft-capping),
// over the keys each query sees (a window, where there is one),
//   dq += scale · Σ_keys ds·k          (GRAD_QUERY: a workgroup per query row and head)
//   dk += scale · Σ_queries ds·q,
//   dv += Σ_queries p·dout            (otherwise: a workgroup per key row and kv head,
//                                      over every query head of its group)
// Each workgroup owns the rows it writes, so no atomics are needed.

#include "common.glsl"
#include "attention.glsl"
#include "reduce.glsl"

layout (std430, binding = 0) readonly buffer Q { float q[]; };
layout (std430, binding = 1) readonly buffer K { float k[]; };
layout (std430, binding = 2) readonly buffer V { float v[]; };
layout (std430, binding = 3) readonly buffer Out { float o[]; };
layout (std430, binding = 4) readonly buffer Lse { float lse[]; };
layout (std430, binding = 5) readonly buffer DOut { float dout[]; };
#if defined(GRAD_QUERY)
layout (std430, binding = 6) buffer DQ { float dq[]; };
#else
layout (std430, binding = 6) buffer DK { float dk[]; };
layout (std430, binding = 7) buffer DV { float dv[]; };
#endif

shared float row_a[MAX_HEAD_DIM];
shared float row_b[MAX_HEAD_DIM];
shared float coef_a[ATT_LOCAL];
shared float coef_b[ATT_LOCAL];

void main ()
{
  uint lid = gl_LocalInvocationID.x;
  uint wg = linear_workgroup ();
  uint group_size = p.n_head / p.n_head_kv;
  float acc_a0 = 0.0, acc_a1 = 0.0, acc_b0 = 0.0, acc_b1 = 0.0;

#if defined(GRAD_QUERY)
  if (wg >= p.n_seq * p.n_query * p.n_head)
    return;
  uint h = wg % p.n_head;
  uint row = wg / p.n_head;
  uint seq = row / p.n_query;
  uint i = row % p.n_query;
  uint g = h / group_size;
  uint n_visible = min (p.q_offset + i + 1u, p.n_key);
  uint first = first_visible_key (p.q_offset + i);
  uint key0 = seq * p.n_key;

  // row_a = q, row_b = dout of this query row and head.
  float partial = 0.0;
  for (uint d = lid; d < p.head_dim; d += ATT_LOCAL)
    {
      row_a[d] = q[p.q_at + q_index (row, h, d)];
      row_b[d] = dout[p.dout_at + q_index (row, h, d)];
      partial += row_b[d] * o[p.out_at + q_index (row, h, d)];
    }
  float delta = workgroup_sum (partial);
  float row_lse = lse[p.lse_at + row * p.n_head + h];

  for (uint j0 = first; j0 < n_visible; j0 += ATT_LOCAL)
    {
      uint j = j0 + lid;
      float ds = 0.0;
      if (j < n_visible)
        {
          float s = 0.0, dp = 0.0;
          for (uint d = 0u; d < p.head_dim; d++)
            {
              s += row_a[d] * k[p.k_at + kv_index (key0 + j, g, d)];
              dp += row_b[d] * v[p.v_at + kv_index (key0 + j, g, d)];
            }
          float capped = cap_score (s * p.scale);
          float pj = exp (capped - row_lse);
          ds = pj * (dp - delta) * cap_slope (capped);
        }
      coef_a[lid] = ds;
      barrier ();
      uint n_block = min (ATT_LOCAL, n_visible - j0);
      for (uint jj = 0u; jj < n_block; jj++)
        {
          uint base = p.k_at + kv_index (key0 + j0 + jj, g, 0u);
          if (lid < p.head_dim)
            acc_a0 += coef_a[jj] * k[base + lid];
          if (lid + ATT_LOCAL < p.head_dim)
            acc_a1 += coef_a[jj] * k[base + lid + ATT_LOCAL];
        }
      barrier ();
    }
  if (lid < p.head_dim)
    dq[p.grad_at + q_index (row, h, lid)] += p.scale * acc_a0;
  if (lid + ATT_LOCAL < p.head_dim)
    dq[p.grad_at + q_index (row, h, lid + ATT_LOCAL)] += p.scale * acc_a1;
#else
  if (wg >= p.n_seq * p.n_key * p.n_head_kv)
    return;
  uint g = wg % p.n_head_kv;
  uint krow = wg / p.n_head_kv;
  uint seq = krow / p.n_key;
  uint j = krow % p.n_key;
  uint q0 = seq * p.n_query;
  // Queries before key j's position cannot see it, nor, with a window,
  // those `window` or more positions after it.
  uint first = j > p.q_offset ? j - p.q_offset : 0u;
  uint end = p.n_query;
  if (p.window > 0u)
    end = j + p.window > p.q_offset ? min (p.n_query, j + p.window - p.q_offset) : 0u;
  uint n_pairs = first < end ? (end - first) * group_size : 0u;

  // row_a = k, row_b = v of this key row and kv head.
  for (uint d = lid; d < p.head_dim; d += ATT_LOCAL)
    {
      row_a[d] = k[p.k_at + kv_index (krow, g, d)];
      row_b[d] = v[p.v_at + kv_index (krow, g, d)];
    }
  barrier ();

  for (uint t0 = 0u; t0 < n_pairs; t0 += ATT_LOCAL)
    {
      uint t = t0 + lid;
      float pt = 0.0, ds = 0.0;
      if (t < n_pairs)
        {
          uint qrow = q0 + first + t / group_size;
          uint h = g * group_size + t % group_size;
          float s = 0.0, dp = 0.0, delta = 0.0;
          for (uint d = 0u; d < p.head_dim; d++)
            {
              float dod = dout[p.dout_at + q_index (qrow, h, d)];
              s += q[p.q_at + q_index (qrow, h, d)] * row_a[d];
              dp += dod * row_b[d];
              delta += dod * o[p.out_at + q_index (qrow, h, d)];
            }
          float capped = cap_score (s * p.scale);
          pt = exp (capped - lse[p.lse_at + qrow * p.n_head + h]);
          ds = pt * (dp - delta) * cap_slope (capped);
        }
      coef_a[lid] = ds;
      coef_b[lid] = pt;
      barrier ();
      uint n_block = min (ATT_LOCAL, n_pairs - t0);
      for (uint tt = 0u; tt < n_block; tt++)
        {
          uint qrow = q0 + first + (t0 + tt) / group_size;
          uint h = g * group_size + (t0 + tt) % group_size;
          uint qbase = q_index (qrow, h, 0u);
          if (lid < p.head_dim)
            {
              acc_a0 += coef_a[tt] * q[p.q_at + qbase + lid];
              acc_b0 += coef_b[tt] * dout[p.dout_at + qbase + lid];
            }
          if (lid + ATT_LOCAL < p.head_dim)
            {
              acc_a1 += coef_a[tt] * q[p.q_at + qbase + lid + ATT_LOCAL];
              acc_b1 += coef_b[tt] * dout[p.dout_at + qbase + lid + ATT_LOCAL];
            }
        }
      barrier ();
    }
  if (lid < p.head_dim)
    {
      dk[p.grad_at + kv_index (krow, g, lid)] += p.scale * acc_a0;
      dv[p.grad2_at + kv_index (krow, g, lid)] += acc_b0;
    }
  if (lid + ATT_LOCAL < p.head_dim)
    {
      dk[p.grad_at + kv_index (krow, g, lid + ATT_LOCAL)] += p.scale * acc_a1;
      dv[p.grad2_at + kv_index (krow, g, lid + ATT_LOCAL)] += acc_b1;
    }
#endif
}
