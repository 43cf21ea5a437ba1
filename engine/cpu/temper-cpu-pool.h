/* SPDX-License-Identifier: MIT */
/* temper-cpu-pool.h — a small persistent thread pool for the CPU backend.
 *
 * Threads are created once; each op is split into as many parts as there
 * are threads, and every thread, the caller's included, claims parts until
 * none is left: a thread the system has not scheduled yet leaves its part
 * to the others instead of holding them up.  Idle workers spin briefly (ops
 * come back to back during a step) and then sleep, so an idle app burns no
 * CPU.  Nothing is allocated per call. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TemperCpuPool TemperCpuPool;

/* Runs part @ith of @nth of some work on @ctx.  @ith names a part, not a
 * thread (one thread may run several parts of a run, one after the other);
 * per-part working memory indexed by @ith stays private to the part. */
typedef void (*TemperCpuTask) (void *ctx, int ith, int nth);

TemperCpuPool *temper_cpu_pool_new           (int n_threads);
void           temper_cpu_pool_free          (TemperCpuPool *pool);
int            temper_cpu_pool_get_n_threads (const TemperCpuPool *pool);
/* Returns when every thread has finished its part. */
void           temper_cpu_pool_run           (TemperCpuPool *pool, TemperCpuTask task, void *ctx);

/* With @timing, the pool adds up how long the calling thread waits for the
 * other threads at the end of each run (for a profile; off by default, and
 * then it costs one test per run). */
void           temper_cpu_pool_set_timing    (TemperCpuPool *pool, gboolean timing);
/* Nanoseconds waited so far while timing was on. */
gint64         temper_cpu_pool_get_wait_ns   (const TemperCpuPool *pool);

/* Works on the items [begin, end) of some range. */
typedef void (*TemperCpuRangeTask) (void *ctx, gint64 begin, gint64 end);

/* Splits @n items (rows, elements) evenly over the threads and runs @task on
 * each part; below @min_per_thread items per thread the caller's thread does
 * them all, since waking the others would cost more than it saves. */
void           temper_cpu_pool_run_range     (TemperCpuPool *pool, gint64 n, gint64 min_per_thread,
                                              TemperCpuRangeTask task, void *ctx);

/* Runs @task on chunks of the items [0, @n) that the threads claim one
 * after the other, whichever is free, largest first: each chunk is a share
 * of what is left (never below @min_chunk items), its boundaries multiples
 * of @unit except @n itself.  Unlike an even split, the threads finish
 * together when one starts late, is interrupted or meets slower items, at
 * the cost of one atomic operation per chunk (a few dozen per run).  For
 * short work read once (decoding's one-token products); @task must not
 * keep per-thread state, since one thread may run several chunks.  Below
 * two chunks' worth the caller's thread does it all. */
void           temper_cpu_pool_run_shared    (TemperCpuPool *pool, gint64 n, gint64 unit, gint64 min_chunk,
                                              TemperCpuRangeTask task, void *ctx);

/* The half-open range [*begin, *end) of @n items that part @ith of @nth owns. */
static inline void
temper_cpu_split (gint64 n, int ith, int nth, gint64 *begin, gint64 *end)
{
  gint64 per = (n + nth - 1) / nth;

  *begin = MIN (n, per * ith);
  *end = MIN (n, *begin + per);
}

/* Like temper_cpu_split (), but every boundary except @n itself is a
 * multiple of @unit, so parts start on whole tiles or blocks. */
static inline void
temper_cpu_split_aligned (gint64 n, gint64 unit, int ith, int nth, gint64 *begin, gint64 *end)
{
  gint64 units = (n + unit - 1) / unit, u0, u1;

  temper_cpu_split (units, ith, nth, &u0, &u1);
  *begin = MIN (n, u0 * unit);
  *end = MIN (n, u1 * unit);
}

G_END_DECLS
