/* SPDX-License-Identifier: MIT */
#version 450
#extension GL_GOOGLE_include_directive : require
// Cross-entropy over one chunk of logits, a workgroup per row: writes the
// row's −log p(target) and 1 (or 0 and 0 when the target is masked, −1) to
// row_loss, and with has_grad turns the logits into their gradient in place,
// grad_scale·(softmax − onehot(target)), for the lm_head backward matmul.
// With SOFTCAP (Gemma 2) the logits y are first capped in place,
// z = cap·tanh(y/cap), and the gradient is taken back through the cap,
// ∂z/∂y = 1 − (z/cap)².

layout (local_size_x = 256) in;

layout (std430, binding = 0) buffer Logits { float logits[]; };
layout (std430, binding = 1) readonly buffer Targets { int targets[]; };
layout (std430, binding = 2) writeonly buffer RowLoss { float row_loss[]; };

layout (push_constant) uniform Params {
  uint n_rows;
  uint n_vocab;
  uint logits_offset;
  uint targets_offset;
  uint loss_offset;   // losses at loss_offset + r, counts at loss_offset + n_rows + r
  uint has_grad;
  float grad_scale;
  float cap;          // read with SOFTCAP only
} p;

#include "common.glsl"
#include "reduce.glsl"

void main ()
{
  uint r = linear_workgroup ();
  if (r >= p.n_rows)
    return;
  uint lid = gl_LocalInvocationID.x;
  uint base = p.logits_offset + r * p.n_vocab;
  int target = targets[p.targets_offset + r];

  if (target < 0 || uint (target) >= p.n_vocab)
    {
      if (p.has_grad != 0u)
        for (uint c = lid; c < p.n_vocab; c += REDUCE_SIZE)
          logits[base + c] = 0.0;
      if (lid == 0u)
        {
          row_loss[p.loss_offset + r] = 0.0;
          row_loss[p.loss_offset + p.n_rows + r] = 0.0;
        }
      return;
    }

#if defined(SOFTCAP)
  for (uint c = lid; c < p.n_vocab; c += REDUCE_SIZE)
    logits[base + c] = p.cap * tanh (logits[base + c] / p.cap);
  // The target's capped logit is read by every invocation below.
  memoryBarrierBuffer ();
  barrier ();
#endif
  float mx = -3.0e38;
  for (uint c = lid; c < p.n_vocab; c += REDUCE_SIZE)
    mx = max (mx, logits[base + c]);
  mx = workgroup_max (mx);
  float se = 0.0;
  for (uint c = lid; c < p.n_vocab; c += REDUCE_SIZE)
    se += exp (logits[base + c] - mx);
  float lse = mx + log (workgroup_sum (se));
  // Every invocation reads the target's logit before any overwrites it.
  float target_logit = logits[base + uint (target)];
  barrier ();
  if (lid == 0u)
    {
      row_loss[p.loss_offset + r] = lse - target_logit;
      row_loss[p.loss_offset + p.n_rows + r] = 1.0;
    }
  if (p.has_grad != 0u)
    for (uint c = lid; c < p.n_vocab; c += REDUCE_SIZE)
      {
        float z = logits[base + c];
        float g = exp (z - lse);
        if (c == uint (target))
          g -= 1.0;
#if defined(SOFTCAP)
        float t = z / p.cap;
        g *= 1.0 - t * t;
#endif
        logits[base + c] = p.grad_scale * g;
      }
}
