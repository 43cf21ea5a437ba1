/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "temper-cpu-pool.h"

/* How long an idle worker polls before it sleeps: long enough to bridge the
 * gap between two ops of one decode step, short next to a human pause. */
#define SPIN_ITERATIONS 200000
/* Polls before a waiting thread starts yielding its core. */
#define YIELD_AFTER 2000

typedef struct {
  TemperCpuPool *pool;
  int            index;
  pthread_t      thread;
} Worker;

struct _TemperCpuPool {
  int             n_threads;
  Worker         *workers;          /* n_threads - 1 of them */

  pthread_mutex_t mutex;
  pthread_cond_t  wake;
  atomic_uint     generation;       /* bumped once per run */
  /* The run's generation (high 32 bits) and the next unclaimed part (low
   * 32): a thread that wakes late for a run that has moved on sees another
   * generation and claims nothing. */
  atomic_ullong   claim;
  atomic_int      n_done;           /* parts finished in this run */
  atomic_bool     quit;

  TemperCpuTask   task;
  void           *ctx;

  /* With a profile: nanoseconds the calling thread has waited for the
   * others, read by the CPU backend around each op. */
  bool            timing;
  gint64          wait_ns;
};

static inline gint64
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Pause for a moment; after a while, hand the core to another thread, so a
 * busy computer (more runnable threads than cores) lets the thread we wait
 * for run instead of watching us spin. */
static inline void
relax_or_yield (int spins)
{
  if (spins < YIELD_AFTER)
    cpu_relax ();
  else
    sched_yield ();
}

/* Runs parts of run @generation until none is left unclaimed.  Which thread
 * runs a part does not matter: part i is always task (ctx, i, nth), so the
 * results are the same whoever runs it, and one part is run by one thread
 * at a time (per-part scratch stays private).  The caller's thread does the
 * parts of a thread that the system has not scheduled yet instead of
 * waiting for it: on a busy computer that wait is most of a step. */
static void
run_parts (TemperCpuPool *pool, unsigned generation)
{
  unsigned long long word = atomic_load_explicit (&pool->claim, memory_order_acquire);

  for (;;)
    {
      guint32 part = (guint32) word;

      if ((unsigned) (word >> 32) != generation || part >= (guint32) pool->n_threads)
        return;
      /* Acquire: task and ctx were written before this generation's claim
       * word, and stay until every part of it is done. */
      if (!atomic_compare_exchange_weak_explicit (&pool->claim, &word, word + 1,
                                                  memory_order_acq_rel, memory_order_acquire))
        continue;
      pool->task (pool->ctx, (int) part, pool->n_threads);
      atomic_fetch_add_explicit (&pool->n_done, 1, memory_order_release);
      word = atomic_load_explicit (&pool->claim, memory_order_acquire);
    }
}

static void *
worker_main (void *data)
{
  Worker *worker = data;
  TemperCpuPool *pool = worker->pool;
  unsigned seen = 0;   /* the generation before any run, even one that started before this thread */

  for (;;)
    {
      int spins = 0;

      while (atomic_load_explicit (&pool->generation, memory_order_acquire) == seen &&
             !atomic_load (&pool->quit) && spins < SPIN_ITERATIONS)
        {
          relax_or_yield (spins);
          spins++;
        }
      if (atomic_load_explicit (&pool->generation, memory_order_acquire) == seen &&
          !atomic_load (&pool->quit))
        {
          pthread_mutex_lock (&pool->mutex);
          while (atomic_load (&pool->generation) == seen && !atomic_load (&pool->quit))
            pthread_cond_wait (&pool->wake, &pool->mutex);
          pthread_mutex_unlock (&pool->mutex);
        }
      if (atomic_load (&pool->quit))
        break;
      seen = atomic_load_explicit (&pool->generation, memory_order_acquire);
      run_parts (pool, seen);
    }
  return NULL;
}

TemperCpuPool *
temper_cpu_pool_new (int n_threads)
{
  TemperCpuPool *pool = g_new0 (TemperCpuPool, 1);

  g_return_val_if_fail (n_threads >= 1, NULL);
  pool->n_threads = n_threads;
  pthread_mutex_init (&pool->mutex, NULL);
  pthread_cond_init (&pool->wake, NULL);
  atomic_init (&pool->generation, 0);
  atomic_init (&pool->claim, 0);
  atomic_init (&pool->n_done, 0);
  atomic_init (&pool->quit, false);
  pool->workers = g_new0 (Worker, n_threads);
  for (int i = 1; i < n_threads; i++)
    {
      pool->workers[i].pool = pool;
      pool->workers[i].index = i;
      pthread_create (&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]);
    }
  return pool;
}

void
temper_cpu_pool_free (TemperCpuPool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->mutex);
  atomic_store (&pool->quit, true);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->mutex);
  for (int i = 1; i < pool->n_threads; i++)
    pthread_join (pool->workers[i].thread, NULL);
  pthread_cond_destroy (&pool->wake);
  pthread_mutex_destroy (&pool->mutex);
  g_free (pool->workers);
  g_free (pool);
}

int
temper_cpu_pool_get_n_threads (const TemperCpuPool *pool)
{
  return pool->n_threads;
}

void
temper_cpu_pool_run (TemperCpuPool *pool, TemperCpuTask task, void *ctx)
{
  unsigned generation;

  if (pool->n_threads == 1)
    {
      task (ctx, 0, 1);
      return;
    }
  /* Only this thread starts runs, so the next generation is known here. */
  generation = atomic_load_explicit (&pool->generation, memory_order_relaxed) + 1;
  pool->task = task;
  pool->ctx = ctx;
  atomic_store (&pool->n_done, 0);
  atomic_store_explicit (&pool->claim, (guint64) generation << 32, memory_order_release);
  pthread_mutex_lock (&pool->mutex);
  atomic_store_explicit (&pool->generation, generation, memory_order_release);
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->mutex);

  run_parts (pool, generation);

  /* What is left are parts other threads claimed and still run. */
  if (G_UNLIKELY (pool->timing))
    {
      gint64 wait_start = monotonic_ns ();

      for (int spins = 0;
           atomic_load_explicit (&pool->n_done, memory_order_acquire) < pool->n_threads;
           spins++)
        relax_or_yield (spins);
      pool->wait_ns += monotonic_ns () - wait_start;
      return;
    }
  for (int spins = 0;
       atomic_load_explicit (&pool->n_done, memory_order_acquire) < pool->n_threads;
       spins++)
    relax_or_yield (spins);
}

void
temper_cpu_pool_set_timing (TemperCpuPool *pool, gboolean timing)
{
  pool->timing = timing;
}

gint64
temper_cpu_pool_get_wait_ns (const TemperCpuPool *pool)
{
  return pool->wait_ns;
}

typedef struct {
  TemperCpuRangeTask task;
  void              *ctx;
  gint64             n;
} RangeWork;

static void
range_task (void *data, int ith, int nth)
{
  RangeWork *r = data;
  gint64 begin, end;

  temper_cpu_split (r->n, ith, nth, &begin, &end);
  if (begin < end)
    r->task (r->ctx, begin, end);
}

void
temper_cpu_pool_run_range (TemperCpuPool *pool, gint64 n, gint64 min_per_thread,
                           TemperCpuRangeTask task, void *ctx)
{
  RangeWork r = { task, ctx, n };

  if (n <= 0)
    return;
  if (pool->n_threads == 1 || n < min_per_thread * 2)
    {
      task (ctx, 0, n);
      return;
    }
  temper_cpu_pool_run (pool, range_task, &r);
}

typedef struct {
  TemperCpuRangeTask task;
  void              *ctx;
  gint64             n, unit, n_units, min_units;
  /* The first unit no chunk has claimed yet, alone on its cache line: the
   * threads write it, and the output rows beside it must not bounce. */
  alignas (64) atomic_llong next_unit;
  char               pad[64 - sizeof (atomic_llong)];
} SharedWork;

static void
shared_task (void *data, int ith, int nth)
{
  SharedWork *s = data;
  long long u0 = atomic_load_explicit (&s->next_unit, memory_order_relaxed);

  (void) ith;
  while (u0 < s->n_units)
    {
      /* A quarter of what is left with two threads: early chunks are large
       * (few claims), the last ones small (the threads end together). */
      long long take = MAX (s->min_units, (s->n_units - u0) / (2 * nth));
      long long u1 = MIN (s->n_units, u0 + take);

      if (!atomic_compare_exchange_weak_explicit (&s->next_unit, &u0, u1,
                                                  memory_order_relaxed, memory_order_relaxed))
        continue;   /* u0 now holds the new first free unit */
      s->task (s->ctx, u0 * s->unit, MIN (s->n, u1 * s->unit));
      u0 = atomic_load_explicit (&s->next_unit, memory_order_relaxed);
    }
}

void
temper_cpu_pool_run_shared (TemperCpuPool *pool, gint64 n, gint64 unit, gint64 min_chunk,
                            TemperCpuRangeTask task, void *ctx)
{
  SharedWork s;

  g_return_if_fail (unit >= 1);
  if (n <= 0)
    return;
  if (pool->n_threads == 1 || n < 2 * MAX (min_chunk, unit))
    {
      task (ctx, 0, n);
      return;
    }
  s.task = task;
  s.ctx = ctx;
  s.n = n;
  s.unit = unit;
  s.n_units = (n + unit - 1) / unit;
  s.min_units = MAX (1, (min_chunk + unit - 1) / unit);
  atomic_init (&s.next_unit, 0);
  temper_cpu_pool_run (pool, shared_task, &s);
}
