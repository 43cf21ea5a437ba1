/* RoPE in place, for both pair layouts; the backward rotates back. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

#define MAX_HALF 256

static void
rope_apply (const TemperBTensor *x, int n_head, int head_dim, int seq_len,
            int pos_offset, float theta, TemperRopeLayout layout, float sign)
{
  float *v = cpu_f32 (x);
  int half = head_dim / 2;
  float cs[MAX_HALF], sn[MAX_HALF];
  double inv_freq[MAX_HALF];

  g_assert (head_dim % 2 == 0 && half <= MAX_HALF);
  g_assert (x->ne[0] == (int64_t) n_head * head_dim && seq_len > 0);
  for (int i = 0; i < half; i++)
    inv_freq[i] = pow ((double) theta, -2.0 * i / head_dim);

  for (int64_t r = 0; r < x->ne[1]; r++)
    {
      double pos = (double) (pos_offset + r % seq_len);
      float *row = v + r * x->ne[0];

      for (int i = 0; i < half; i++)
        {
          double angle = pos * inv_freq[i];

          cs[i] = (float) cos (angle);
          sn[i] = sign * (float) sin (angle);
        }
      for (int h = 0; h < n_head; h++)
        {
          float *hv = row + (int64_t) h * head_dim;

          for (int i = 0; i < half; i++)
            {
              int a = layout == TEMPER_ROPE_INTERLEAVED ? 2 * i : i;
              int c = layout == TEMPER_ROPE_INTERLEAVED ? 2 * i + 1 : i + half;
              float x0 = hv[a], x1 = hv[c];

              hv[a] = x0 * cs[i] - x1 * sn[i];
              hv[c] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

void
temper_cpu_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                 int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  rope_apply (x, n_head, head_dim, seq_len, pos_offset, theta, layout, 1.0f);
}

/* A rotation's transpose is the rotation by the opposite angle. */
void
temper_cpu_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
                          int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  rope_apply (dx, n_head, head_dim, seq_len, pos_offset, theta, layout, -1.0f);
}
