// reduce.glsl — workgroup reductions through shared memory (no subgroup
// operations, so every device runs them).  The includer sets local_size_x to
// REDUCE_SIZE (a power of two, 256 unless defined before the include).

#ifndef REDUCE_SIZE
#define REDUCE_SIZE 256u
#endif

shared float reduce_scratch[REDUCE_SIZE];

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
