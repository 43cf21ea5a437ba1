/* SPDX-License-Identifier: MIT */
/* BPE merging: a merge table keyed by id pairs and the merge loop.
 *
 * The loop follows the Hugging Face tokenizers BPE model: symbols sit in a
 * linked list, candidate pairs in a binary heap ordered by (rank, position);
 * the lowest rank merges first and ties go to the leftmost pair.  A popped
 * candidate is checked against the current neighbours and skipped when they
 * changed since it was pushed.  Long words therefore cost O(n log n). */
#include "config.h"

#include "temper-tokenizer-private.h"

typedef struct {
  gint32 rank;
  gint32 pos;     /* left symbol */
  gint32 right;   /* right symbol when pushed */
  gint32 result;
} TemperBpeCandidate;

static inline guint64
merge_key (gint32 left, gint32 right)
{
  /* +1 keeps every key non-zero, so zero can mark an empty slot. */
  return ((guint64) (guint32) left + 1) << 32 | (guint32) right;
}

static inline gsize
merge_hash (guint64 key)
{
  key ^= key >> 33;
  key *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  key ^= key >> 33;
  return (gsize) key;
}

void
temper_merge_table_init (TemperMergeTable *table, gsize expected)
{
  gsize size = 16;

  while (size < expected * 2)
    size <<= 1;
  table->keys = g_new0 (guint64, size);
  table->ranks = g_new (gint32, size);
  table->results = g_new (gint32, size);
  table->mask = size - 1;
  table->count = 0;
}

void
temper_merge_table_clear (TemperMergeTable *table)
{
  g_clear_pointer (&table->keys, g_free);
  g_clear_pointer (&table->ranks, g_free);
  g_clear_pointer (&table->results, g_free);
  table->mask = 0;
  table->count = 0;
}

static void
merge_table_grow (TemperMergeTable *table)
{
  TemperMergeTable bigger;
  gsize old_size = table->mask + 1;

  temper_merge_table_init (&bigger, old_size);
  for (gsize i = 0; i < old_size; i++)
    if (table->keys[i] != 0)
      {
        gsize slot = merge_hash (table->keys[i]) & bigger.mask;
        while (bigger.keys[slot] != 0)
          slot = (slot + 1) & bigger.mask;
        bigger.keys[slot] = table->keys[i];
        bigger.ranks[slot] = table->ranks[i];
        bigger.results[slot] = table->results[i];
        bigger.count++;
      }
  temper_merge_table_clear (table);
  *table = bigger;
}

void
temper_merge_table_insert (TemperMergeTable *table, gint32 left, gint32 right,
                           gint32 rank, gint32 result)
{
  guint64 key = merge_key (left, right);
  gsize slot;

  if ((table->count + 1) * 2 > table->mask + 1)
    merge_table_grow (table);
  slot = merge_hash (key) & table->mask;
  while (table->keys[slot] != 0 && table->keys[slot] != key)
    slot = (slot + 1) & table->mask;
  if (table->keys[slot] == 0)
    table->count++;
  /* A repeated pair takes its later rank, as in the tokenizers library,
   * which collects the merges into a map. */
  table->keys[slot] = key;
  table->ranks[slot] = rank;
  table->results[slot] = result;
}

gboolean
temper_merge_table_lookup (const TemperMergeTable *table, gint32 left, gint32 right,
                           gint32 *rank, gint32 *result)
{
  guint64 key = merge_key (left, right);
  gsize slot;

  if (table->count == 0)
    return FALSE;
  slot = merge_hash (key) & table->mask;
  while (table->keys[slot] != 0)
    {
      if (table->keys[slot] == key)
        {
          *rank = table->ranks[slot];
          *result = table->results[slot];
          return TRUE;
        }
      slot = (slot + 1) & table->mask;
    }
  return FALSE;
}

void
temper_bpe_scratch_init (TemperBpeScratch *scratch)
{
  scratch->ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  scratch->prev = g_array_new (FALSE, FALSE, sizeof (gint32));
  scratch->next = g_array_new (FALSE, FALSE, sizeof (gint32));
  scratch->heap = g_array_new (FALSE, FALSE, sizeof (TemperBpeCandidate));
}

void
temper_bpe_scratch_clear (TemperBpeScratch *scratch)
{
  g_array_unref (scratch->ids);
  g_array_unref (scratch->prev);
  g_array_unref (scratch->next);
  g_array_unref (scratch->heap);
}

static inline gboolean
candidate_less (const TemperBpeCandidate *a, const TemperBpeCandidate *b)
{
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void
heap_push (GArray *heap, const TemperBpeCandidate *c)
{
  TemperBpeCandidate *h;
  gsize i;

  g_array_append_vals (heap, c, 1);
  h = (TemperBpeCandidate *) heap->data;
  i = heap->len - 1;
  while (i > 0)
    {
      gsize parent = (i - 1) / 2;
      TemperBpeCandidate tmp;
      if (!candidate_less (&h[i], &h[parent]))
        break;
      tmp = h[i];
      h[i] = h[parent];
      h[parent] = tmp;
      i = parent;
    }
}

static TemperBpeCandidate
heap_pop (GArray *heap)
{
  TemperBpeCandidate *h = (TemperBpeCandidate *) heap->data;
  TemperBpeCandidate top = h[0];
  gsize n = heap->len - 1, i = 0;

  h[0] = h[n];
  g_array_set_size (heap, n);
  for (;;)
    {
      gsize l = 2 * i + 1, r = l + 1, m = i;
      TemperBpeCandidate tmp;
      if (l < n && candidate_less (&h[l], &h[m]))
        m = l;
      if (r < n && candidate_less (&h[r], &h[m]))
        m = r;
      if (m == i)
        break;
      tmp = h[i];
      h[i] = h[m];
      h[m] = tmp;
      i = m;
    }
  return top;
}

static void
push_pair (const TemperMergeTable *merges, GArray *heap, const gint32 *ids,
           gint32 left, gint32 right)
{
  TemperBpeCandidate c;

  if (left < 0 || right < 0)
    return;
  if (!temper_merge_table_lookup (merges, ids[left], ids[right], &c.rank, &c.result))
    return;
  c.pos = left;
  c.right = right;
  heap_push (heap, &c);
}

void
temper_bpe_merge (const TemperMergeTable *merges, TemperBpeScratch *scratch, GArray *out)
{
  gint32 n = (gint32) scratch->ids->len;
  gint32 *ids, *prev, *next;

  if (n == 0)
    return;
  if (n == 1 || merges->count == 0)
    {
      g_array_append_vals (out, scratch->ids->data, (guint) n);
      return;
    }
  g_array_set_size (scratch->prev, (guint) n);
  g_array_set_size (scratch->next, (guint) n);
  g_array_set_size (scratch->heap, 0);
  ids = (gint32 *) scratch->ids->data;
  prev = (gint32 *) scratch->prev->data;
  next = (gint32 *) scratch->next->data;
  for (gint32 i = 0; i < n; i++)
    {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
  for (gint32 i = 0; i + 1 < n; i++)
    push_pair (merges, scratch->heap, ids, i, i + 1);

  while (scratch->heap->len > 0)
    {
      TemperBpeCandidate c = heap_pop (scratch->heap);
      gint32 rank, result, right;

      /* Stale: the left symbol was absorbed, or its neighbour changed. */
      if (ids[c.pos] < 0 || next[c.pos] != c.right || ids[c.right] < 0)
        continue;
      if (!temper_merge_table_lookup (merges, ids[c.pos], ids[c.right], &rank, &result) ||
          rank != c.rank || result != c.result)
        continue;

      right = c.right;
      ids[c.pos] = result;
      ids[right] = -1;
      next[c.pos] = next[right];
      if (next[right] >= 0)
        prev[next[right]] = c.pos;

      push_pair (merges, scratch->heap, ids, prev[c.pos], c.pos);
      push_pair (merges, scratch->heap, ids, c.pos, next[c.pos]);
    }

  for (gint32 i = 0; i >= 0; i = next[i])
    g_array_append_val (out, ids[i]);
}

/* GPT-2's map: printable bytes stand for themselves, the other 68 bytes take
 * U+0100 upwards in byte order. */
guint32
temper_byte_to_unicode (guint8 byte)
{
  guint32 shifted = 0;

  if ((byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE)
    return byte;
  for (guint b = 0; b < byte; b++)
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE))
      shifted++;
  return 0x100 + shifted;
}

int
temper_unicode_to_byte (guint32 cp)
{
  static gint16 table[0x144];
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      for (guint i = 0; i < G_N_ELEMENTS (table); i++)
        table[i] = -1;
      for (guint b = 0; b < 256; b++)
        table[temper_byte_to_unicode ((guint8) b)] = (gint16) b;
      g_once_init_leave (&initialised, 1);
    }
  return cp < G_N_ELEMENTS (table) ? table[cp] : -1;
}
