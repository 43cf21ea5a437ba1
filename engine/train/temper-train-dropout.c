/* temper-train-dropout.c — counter-based dropout masks on host memory. */
#include "config.h"

#include "temper-train-dropout.h"

gboolean
temper_train_dropout_supported (const TemperBTensor *t)
{
  return t->buffer != NULL && t->buffer->host != NULL;
}

/* splitmix64's finaliser: a good 64-bit mix of (key, index). */
static inline guint64
mix (guint64 z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
temper_train_dropout (const TemperBTensor *out, const TemperBTensor *x, float p, guint64 key)
{
  float *y = (float *) (out->buffer->host + out->offset);
  const float *in = (const float *) (x->buffer->host + x->offset);
  gsize n = (gsize) (x->ne[0] * x->ne[1]);
  /* Keep when the top 24 bits, as a fraction, are at least p. */
  guint32 threshold = (guint32) ((double) p * 16777216.0);
  float keep_scale = 1.0f / (1.0f - p);

  g_assert (out->ne[0] * out->ne[1] == (int64_t) n);
  for (gsize i = 0; i < n; i++)
    {
      guint32 r = (guint32) (mix (key + 0x9e3779b97f4a7c15ull * (i + 1)) >> 40);

      y[i] = r >= threshold ? in[i] * keep_scale : 0.0f;
    }
}
