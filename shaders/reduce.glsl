/* SPDX-License-Identifier: MIT */
// reduce.glsl — workgroup reductions.  The includer sets local_size_x to
// REDUCE_SIZE (a power of two, 256 unless defined before the include).
//
// By default through shared memory (a tree of barriers, no subgroup
// operations, so every device runs them).  With REDUCE_SUBGROUP each
// subgroup reduces in registers (subgroupAdd/subgroupMax) and one shared
// slot per subgroup combines them: two barriers instead of nine.  The host
// picks that variant where the device has subgroup arithmetic.

#ifndef REDUCE_SIZE
#define REDUCE_SIZE 256u
#endif

shared float reduce_scratch[REDUCE_SIZE];

#if defined(REDUCE_SUBGROUP)
#extension GL_KHR_shader_subgroup_arithmetic : require

float workgroup_sum (float v)
{
  float part = subgroupAdd (v);
  if (subgroupElect ())
    reduce_scratch[gl_SubgroupID] = part;
  barrier ();
  float total = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; i++)
    total += reduce_scratch[i];
  barrier ();
  return total;
}

float workgroup_max (float v)
{
  float part = subgroupMax (v);
  if (subgroupElect ())
    reduce_scratch[gl_SubgroupID] = part;
  barrier ();
  float total = reduce_scratch[0];
  for (uint i = 1u; i < gl_NumSubgroups; i++)
    total = max (total, reduce_scratch[i]);
  barrier ();
  return total;
}

#else

// Every invocation of the workgroup must call these; all get the result.
float workgroup_sum (float v)
{
  uint t = gl_LocalInvocationID.x;
  reduce_scratch[t] = v;
  barrier ();
  for (uint s = REDUCE_SIZE / 2u; s > 0u; s >>= 1)
    {
      if (t < s)
        reduce_scratch[t] += reduce_scratch[t + s];
      barrier ();
    }
  float total = reduce_scratch[0];
  barrier ();
  return total;
}

float workgroup_max (float v)
{
  uint t = gl_LocalInvocationID.x;
  reduce_scratch[t] = v;
  barrier ();
  for (uint s = REDUCE_SIZE / 2u; s > 0u; s >>= 1)
    {
      if (t < s)
        reduce_scratch[t] = max (reduce_scratch[t], reduce_scratch[t + s]);
      barrier ();
    }
  float total = reduce_scratch[0];
  barrier ();
  return total;
}
#endif
