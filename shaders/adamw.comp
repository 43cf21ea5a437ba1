/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// One AdamW step with decoupled weight decay.  With max_grad_norm > 0 the
// gradient is clipped by min(1, max_grad_norm / ‖g‖), ‖g‖² read from the
// device (the sum of squares of all gradients), so clipping needs no trip
// to the host.

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer Param { float param[]; };
layout (std430, binding = 1) readonly buffer Grad { float grad[]; };
layout (std430, binding = 2) buffer M { float m[]; };
layout (std430, binding = 3) buffer V { float v[]; };
layout (std430, binding = 4) readonly buffer SumSq { float grad_sumsq[]; };

layout (push_constant) uniform Params {
  uint n;
  uint param_offset;
  uint grad_offset;
  uint m_offset;
  uint v_offset;
  uint sumsq_offset;
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;
  float bias_correction1; // 1 − beta1^t
  float bias_correction2; // 1 − beta2^t
  float max_grad_norm;
} p;

#include "common.glsl"

void main ()
{
  uint i = linear_invocation ();
  if (i >= p.n)
    return;
  float clip = 1.0;
  if (p.max_grad_norm > 0.0)
    {
      float norm = sqrt (grad_sumsq[p.sumsq_offset]);
      if (norm > p.max_grad_norm)
        clip = p.max_grad_norm / norm;
    }
  float gr = grad[p.grad_offset + i] * clip;
  float mi = p.beta1 * m[p.m_offset + i] + (1.0 - p.beta1) * gr;
  float vi = p.beta2 * v[p.v_offset + i] + (1.0 - p.beta2) * gr * gr;
  m[p.m_offset + i] = mi;
  v[p.v_offset + i] = vi;
  float mhat = mi / p.bias_correction1;
  float vhat = vi / p.bias_correction2;
  float w = param[p.param_offset + i];
  param[p.param_offset + i] = w - p.lr * (mhat / (sqrt (vhat) + p.eps) + p.weight_decay * w);
}
