/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Dequantizes whole rows of a weight to f32: the rows named by `ids` (the
// token embedding lookup) or rows 0..n_rows-1 (plain dequantization).

layout (local_size_x = 256) in;

layout (std430, binding = 0) readonly buffer Weights { uint wdata[]; };
layout (std430, binding = 1) readonly buffer Ids { int ids[]; };
layout (std430, binding = 2) writeonly buffer Out { float y[]; };

layout (push_constant) uniform Params {
  uint n_rows;
  uint n_cols;
  uint w_offset;    // bytes
  uint row_bytes;
  uint use_ids;
  uint ids_offset;  // elements
  uint y_offset;    // elements
  uint n_src_rows;  // rows in the weight, to refuse ids out of range
} p;

#include "common.glsl"
#include "weight-load.glsl"

void main ()
{
  uint r = linear_workgroup ();
  if (r >= p.n_rows)
    return;
  uint src = r;
  if (p.use_ids != 0u)
    src = uint (ids[p.ids_offset + r]);
  uint out_row = p.y_offset + r * p.n_cols;
  // An id outside the vocabulary reads nothing: the row is zeroed, and the
  // host validates ids before they get here.
  if (src >= p.n_src_rows)
    {
      for (uint c = gl_LocalInvocationID.x; c < p.n_cols; c += 256u)
        y[out_row + c] = 0.0;
      return;
    }
  uint row = p.w_offset + src * p.row_bytes;
  for (uint c = gl_LocalInvocationID.x; c < p.n_cols; c += 256u)
    y[out_row + c] = weight_load (row, c);
}
