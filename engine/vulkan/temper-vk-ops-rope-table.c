/* SPDX-License-Identifier: MIT */
/* RoPE from a frequency table on Vulkan (rope-table.comp).  The op gets its
 * table as host memory; the shader reads it from a device buffer.  Each
 * distinct table is uploaded the first time it is seen and kept, found again
 * by its contents (a model has one or two: global and local layers), so a
 * step after the first uploads nothing. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"

#define LOCAL 256u
/* More distinct tables than any model has: past this something is making a
 * new table per call, which would fill the device one buffer at a time. */
#define MAX_ROPE_TABLES 64

struct _TemperVkRopeTable {
  int                 n_pairs;
  float              *inv_freq;   /* the host copy it was made from */
  temper_vk_buffer_t *buffer;
};

void
temper_vk_rope_table_free (TemperVkRopeTable *table)
{
  temper_vk_buffer_free (table->buffer);
  g_free (table->inv_freq);
  g_free (table);
}

static temper_vk_buffer_t *
table_buffer (TemperVkBackend *vk, const float *inv_freq, int n_pairs)
{
  size_t size = (size_t) n_pairs * sizeof (float);
  TemperVkRopeTable *table;
  GError *error = NULL;

  if (vk->rope_tables == NULL)
    vk->rope_tables = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_vk_rope_table_free);
  for (guint i = 0; i < vk->rope_tables->len; i++)
    {
      table = g_ptr_array_index (vk->rope_tables, i);
      if (table->n_pairs == n_pairs && memcmp (table->inv_freq, inv_freq, size) == 0)
        return table->buffer;
    }
  if (vk->rope_tables->len >= MAX_ROPE_TABLES)
    {
      temper_vk_backend_fail (vk, g_error_new (TEMPER_ERROR, TEMPER_ERROR_FAILED,
                                               _("Too many different rotary position tables "
                                                 "for the graphics card (more than %d)."),
                                               MAX_ROPE_TABLES));
      return NULL;
    }
  table = g_new0 (TemperVkRopeTable, 1);
  table->n_pairs = n_pairs;
  table->inv_freq = g_memdup2 (inv_freq, size);
  table->buffer = temper_vk_buffer_new (vk->device, size, TEMPER_VK_MEMORY_DEVICE,
                                        _("the rotary position table"), &error);
  if (table->buffer == NULL
      || !temper_vk_buffer_write (table->buffer, 0, inv_freq, size, &error))
    {
      temper_vk_backend_fail (vk, error);
      g_clear_pointer (&table->buffer, temper_vk_buffer_free);
      g_free (table->inv_freq);
      g_free (table);
      return NULL;
    }
  g_ptr_array_add (vk->rope_tables, table);
  return table->buffer;
}

typedef struct {
  guint32 n_tokens, n_heads, head_dim, x_offset, seq_len, pos_offset, n_pairs;
  float mscale, direction;
} RopeTablePush;

static void
record_rope_table (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *t,
                   float direction)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  RopeTablePush push = {
    .n_tokens = (guint32) x->ne[1], .n_heads = (guint32) t->n_head,
    .head_dim = (guint32) t->head_dim, .x_offset = temper_vk_tensor_index (x),
    .seq_len = (guint32) t->seq_len, .pos_offset = (guint32) t->pos_offset,
    .n_pairs = (guint32) t->n_pairs, .mscale = t->mscale, .direction = direction,
  };
  temper_vk_buffer_t *buffers[2];
  guint64 n = (guint64) x->ne[1] * t->n_head * t->n_pairs;
  guint32 gx, gy;

  g_return_if_fail (x->ne[0] == (int64_t) t->n_head * t->head_dim);
  g_return_if_fail (t->n_pairs > 0 && 2 * t->n_pairs <= t->head_dim);
  g_return_if_fail (t->seq_len > 0 && t->pos_offset >= 0);
  if (!temper_vk_backend_prepare (vk))
    return;
  buffers[0] = temper_vk_tensor_buffer (x);
  buffers[1] = table_buffer (vk, t->inv_freq, t->n_pairs);
  if (buffers[1] == NULL)
    return;
  temper_vk_grid_2d (vk->device, (n + LOCAL - 1) / LOCAL, &gx, &gy);
  temper_vk_backend_dispatch (vk, t->layout == TEMPER_ROPE_HALVES
                                  ? TEMPER_VK_SHADER_ROPE_TABLE_HALVES
                                  : TEMPER_VK_SHADER_ROPE_TABLE_INTERLEAVED,
                              buffers, 2, &push, sizeof push, gx, gy);
}

void
temper_vk_op_rope_table (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table)
{
  record_rope_table (b, x, table, 1.0f);
}

/* The transpose of a rotation scaled by m is the opposite rotation scaled by m. */
void
temper_vk_op_rope_table_backward (TemperBackend *b, const TemperBTensor *dx,
                                  const TemperRopeTable *table)
{
  record_rope_table (b, dx, table, -1.0f);
}
