/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// The routing of a mixture of experts (engine/cpu/temper-cpu-moe.c is the
// reference), on one scratch buffer of 32-bit words whose regions the host
// lays out (engine/vulkan/temper-vk-ops-moe.c):
//
// default: one invocation per token turns its router logits into their
//   softmax p (in place), picks the n_used largest (the lower expert first on
//   a tie) and writes their ids, weights (÷ their sum when norm) and that sum.
// LISTS: one invocation per expert lists the places (t·n_used + j) that chose
//   it, in token order, and how many: the rows its products gather.
// ROUTER_BACKWARD: one invocation per token turns g (dout · each chosen
//   expert's output) into dz, the gradient of the router logits, through the
//   renormalisation and the softmax; the choice of experts is held fixed.

layout (local_size_x = 64) in;

layout (std430, binding = 0) buffer Scratch { uint s[]; };

layout (push_constant) uniform Params {
  uint T;
  uint n_expert;
  uint n_used;
  uint norm;
  // Word offsets of the regions in s.
  uint probs;       // {n_expert, T}
  uint chosen;      // {n_used, T}
  uint weight;      // {n_used, T}
  uint chosen_sum;  // {T}
  uint counts;      // {n_expert}
  uint lists;       // {T, n_expert}
  uint g;           // {n_used, T}
  uint dz;          // {n_expert, T}
} p;

float sf (uint at) { return uintBitsToFloat (s[at]); }
void  set_f (uint at, float v) { s[at] = floatBitsToUint (v); }

#if defined(LISTS)
void main ()
{
  uint e = gl_GlobalInvocationID.x;
  if (e >= p.n_expert)
    return;
  uint m = 0u;
  for (uint t = 0u; t < p.T; t++)
    for (uint j = 0u; j < p.n_used; j++)
      if (s[p.chosen + t * p.n_used + j] == e)
        {
          s[p.lists + e * p.T + m] = t * p.n_used + j;
          m++;
        }
  s[p.counts + e] = m;
}
#elif defined(ROUTER_BACKWARD)
void main ()
{
  uint t = gl_GlobalInvocationID.x;
  if (t >= p.T)
    return;
  uint pt = p.probs + t * p.n_expert, dz = p.dz + t * p.n_expert;
  uint at = t * p.n_used;
  float weighted_g = 0.0, p_dp = 0.0;
  float chosen_sum = sf (p.chosen_sum + t);

  for (uint e = 0u; e < p.n_expert; e++)
    set_f (dz + e, 0.0);
  if (p.norm != 0u)
    for (uint j = 0u; j < p.n_used; j++)
      weighted_g += sf (p.weight + at + j) * sf (p.g + at + j);
  for (uint j = 0u; j < p.n_used; j++)
    {
      float gj = sf (p.g + at + j);
      set_f (dz + s[p.chosen + at + j], p.norm != 0u ? (gj - weighted_g) / chosen_sum : gj);
    }
  for (uint e = 0u; e < p.n_expert; e++)
    p_dp += sf (pt + e) * sf (dz + e);
  for (uint e = 0u; e < p.n_expert; e++)
    set_f (dz + e, sf (pt + e) * (sf (dz + e) - p_dp));
}
#else
void main ()
{
  uint t = gl_GlobalInvocationID.x;
  if (t >= p.T)
    return;
  uint pt = p.probs + t * p.n_expert;
  uint at = t * p.n_used;
  float top = sf (pt), sum = 0.0, chosen_sum = 0.0;

  for (uint e = 1u; e < p.n_expert; e++)
    top = max (top, sf (pt + e));
  for (uint e = 0u; e < p.n_expert; e++)
    {
      float v = exp (sf (pt + e) - top);
      set_f (pt + e, v);
      sum += v;
    }
  for (uint e = 0u; e < p.n_expert; e++)
    set_f (pt + e, sf (pt + e) / sum);
  for (uint j = 0u; j < p.n_used; j++)
    {
      int best = -1;
      for (uint e = 0u; e < p.n_expert; e++)
        {
          bool taken = false;
          for (uint i = 0u; i < j; i++)
            taken = taken || s[p.chosen + at + i] == e;
          if (!taken && (best < 0 || sf (pt + e) > sf (pt + uint (best))))
            best = int (e);
        }
      s[p.chosen + at + j] = uint (best);
      set_f (p.weight + at + j, sf (pt + uint (best)));
      chosen_sum += sf (pt + uint (best));
    }
  set_f (p.chosen_sum + t, chosen_sum);
  if (p.norm != 0u)
    for (uint j = 0u; j < p.n_used; j++)
      set_f (p.weight + at + j, sf (p.weight + at + j) / chosen_sum);
}
#endif
