/* SPDX-License-Identifier: MIT */
// common.glsl — helpers shared by the compute shaders.

// Element-wise shaders run 256 invocations per workgroup and may be
// dispatched on a 2-D grid of workgroups, because one dimension is limited to
// 65535 groups on many devices.
#define ELEMENTWISE_LOCAL 256u

uint linear_invocation ()
{
  return gl_GlobalInvocationID.x
         + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * ELEMENTWISE_LOCAL;
}

// Row-wise shaders use one workgroup per row, on a 2-D grid for the same reason.
uint linear_workgroup ()
{
  return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}
