/* SPDX-License-Identifier: MIT */
// attention.glsl — shapes shared by the attention shaders.
//
// q, out and dq hold rows of n_head × head_dim, k and v rows of
// n_head_kv × head_dim; sequence s owns query rows s·n_query … and key rows
// s·n_key ….  Query i (absolute position q_offset + i) sees keys
// 0 … q_offset + i, or with a window only the last `window` of those.
// Scores are soft-capped (softcap·tanh(s/softcap)) when softcap > 0.
// Query head h reads key/value head h / (n_head / n_head_kv).
// One workgroup of ATT_LOCAL invocations works on one row and head; each
// invocation owns the dimensions d = lid and lid + ATT_LOCAL, so head_dim is
// at most 2·ATT_LOCAL.

#define ATT_LOCAL 128u
#define REDUCE_SIZE ATT_LOCAL
#define MAX_HEAD_DIM (2u * ATT_LOCAL)
// Stands for −∞ without producing infinities in exp().
#define NEG_BIG (-3.0e38)

layout (local_size_x = 128) in;

layout (push_constant) uniform Params {
  uint n_head;
  uint n_head_kv;
  uint head_dim;
  uint n_seq;
  uint n_query;
  uint n_key;
  uint q_offset;
  uint q_at;      // element offsets of each tensor in its buffer
  uint k_at;
  uint v_at;
  uint out_at;
  uint lse_at;
  uint dout_at;
  uint grad_at;   // dq, or dk
  uint grad2_at;  // dv
  uint has_lse;
  float scale;
  uint window;    // 0: every earlier key
  float softcap;  // 0: none
} p;

// The first key the query at absolute position pos sees.
uint first_visible_key (uint pos)
{
  return p.window > 0u && pos + 1u > p.window ? pos + 1u - p.window : 0u;
}

// The score as the softmax sees it, from the scaled one.
float cap_score (float s)
{
  return p.softcap > 0.0 ? p.softcap * tanh (clamp (s / p.softcap, -15.0, 15.0)) : s;
}

// ∂(capped score)/∂(scaled score), from the capped one.
float cap_slope (float capped)
{
  if (p.softcap <= 0.0)
    return 1.0;
  float t = capped / p.softcap;
  return 1.0 - t * t;
}

uint q_index (uint row, uint h, uint d)
{
  return (row * p.n_head + h) * p.head_dim + d;
}

uint kv_index (uint row, uint g, uint d)
{
  return (row * p.n_head_kv + g) * p.head_dim + d;
}
