#version 450
#extension GL_GOOGLE_include_directive : require
// x *= s, element-wise, in place.

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer X { float x[]; };

layout (push_constant) uniform Params {
  uint n;
  uint x_offset;
  float s;
} p;

#include "common.glsl"

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  x[p.x_offset + i] *= p.s;
}
