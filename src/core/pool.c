/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the worker threads of pool.h.
 *
 * Workers are started the first time a job needs them (never more than the
 * largest split asked for) and live until the library is unloaded or the
 * process exits. A job is published under the lock with a new generation
 * number; its parts are then claimed one by one, by the caller and by every
 * worker, from one counter that carries the generation in its high half
 * (a late worker cannot claim a part of the next job). Nothing waits for a
 * particular thread: when the other cores are busy with other programs and
 * a worker is not scheduled, the caller runs its parts itself, as fast as
 * one thread can, instead of stalling until the worker gets a core. Which
 * thread runs a part never changes what the part computes.
 *
 * A worker that has just finished a job spins a little on the generation
 * (the jobs of a training step follow each other within microseconds: a
 * futex wake-up would cost as much as a small part) and then sleeps on a
 * condition variable. One job at a time: a caller that finds the pool busy
 * runs its parts itself, in order (the same bits, see pool.h).
 *
 * Failures never reach the caller: a worker that cannot be started leaves
 * its parts to the caller. After fork() the child has no workers; a handler
 * forgets them so the child starts its own.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/pool.h"

/* Multiply-adds (or their equivalent in element operations) below which a
 * job stays on the calling thread: handing parts to a spinning worker and
 * joining it costs microseconds, a few percent of a job this size. Measured
 * on the dense AE with the first version of the pool (bench/README.md):
 * batch 32 and 64 trained 1.3-1.4x faster on 2 threads than with 2e6,
 * batch 8 and 16 no slower. */
#ifndef AE__POOL_MIN_WORK
#define AE__POOL_MIN_WORK 0.4e6
#endif
/* How long a worker (and a caller waiting for its workers) spins before it
 * sleeps: 1 ms spans the gaps between the jobs of a training step even at
 * small batches, where a futex wake-up (tens of microseconds) would cost
 * more than the part; pauses of ~25 ns, the clock read every 64. A worker
 * whose last job came after a longer gap sleeps at once. */
#define SPIN_NS 1000000L

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_mutex_t busy;           /* held by the caller running a job */
    atomic_uint gen;                /* bumped for each job */
    atomic_ullong claim;            /* gen << 32 | next part to claim */
    atomic_int completed;           /* parts of the job finished */
    ae__pool_fn *fn;
    void *arg;
    int parts;
    int started;                    /* workers running */
    int stop;
    pthread_t tid[AE__POOL_MAX_PARTS - 1];
    unsigned first_gen[AE__POOL_MAX_PARTS - 1]; /* gen when worker i was started */
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .busy = PTHREAD_MUTEX_INITIALIZER,
};

static _Thread_local int in_part; /* this thread runs a part now */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Spins until *value differs from `from` or SPIN_NS pass. */
static void spin_while_uint(atomic_uint *value, unsigned from)
{
    const long end = now_ns() + SPIN_NS;
    for (int i = 1; atomic_load_explicit(value, memory_order_acquire) == from; i++) {
        cpu_relax();
        if (i % 64 == 0 && now_ns() > end)
            break;
    }
}

/* Spins until *value reaches `target` or SPIN_NS pass. */
static void spin_until_int(atomic_int *value, int target)
{
    const long end = now_ns() + SPIN_NS;
    for (int i = 1; atomic_load_explicit(value, memory_order_acquire) < target; i++) {
        cpu_relax();
        if (i % 64 == 0 && now_ns() > end)
            break;
    }
}

static void run_part(ae__pool_fn *fn, void *arg, int part, int parts)
{
    int was_single = ae__blas_single(1), was_in = in_part;
    in_part = 1;
    fn(arg, part, parts);
    in_part = was_in;
    ae__blas_single(was_single);
}

/* Claims and runs parts of job `gen` until none is left; returns how many
 * this thread ran. The thread that finishes the last part wakes the caller
 * (it may be asleep on `done`). */
static int run_claimed(unsigned gen, ae__pool_fn *fn, void *arg, int parts)
{
    int ran = 0;
    unsigned long long c = atomic_load_explicit(&pool.claim, memory_order_acquire);
    for (;;) {
        if ((unsigned)(c >> 32) != gen || (int)(c & 0xffffffffu) >= parts)
            return ran;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* c holds the new value */
        run_part(fn, arg, (int)(c & 0xffffffffu), parts);
        ran++;
        if (atomic_fetch_add_explicit(&pool.completed, 1, memory_order_acq_rel) + 1 == parts) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
        c = atomic_load_explicit(&pool.claim, memory_order_acquire);
    }
}

static void *worker(void *p)
{
    const int me = (int)(size_t)p;
    /* The generation before the job it was started for: a worker that
     * starts late still sees that job as new. */
    pthread_mutex_lock(&pool.lock);
    unsigned seen = pool.first_gen[me];
    pthread_mutex_unlock(&pool.lock);
    /* Spin only while jobs come closer together than the spin lasts: a
     * worker of a step whose only split is, say, its batch gather would
     * otherwise burn its core (the other hardware thread of the caller's,
     * on some machines) between steps for nothing. */
    int spin = 1;
    long done_at = 0;
    for (;;) {
        if (spin)
            spin_while_uint(&pool.gen, seen);
        unsigned g;
        pthread_mutex_lock(&pool.lock);
        while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen && !pool.stop)
            pthread_cond_wait(&pool.wake, &pool.lock);
        const int stop = pool.stop, parts = pool.parts;
        ae__pool_fn *fn = pool.fn;
        void *arg = pool.arg;
        pthread_mutex_unlock(&pool.lock);
        if (stop)
            return NULL;
        seen = g;
        spin = now_ns() - done_at < SPIN_NS;
        if (run_claimed(g, fn, arg, parts) > 0)
            done_at = now_ns();
    }
}

/* The child of a fork has the caller's thread only. */
static void forget_workers(void)
{
    pool.started = 0;
    pool.stop = 0;
    pthread_mutex_init(&pool.lock, NULL);
    pthread_mutex_init(&pool.busy, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_workers); }

/* Starts workers until `want` run (or one cannot be started); called with
 * busy held. Returns how many run. */
static int start_workers(int want)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool.lock);
    while (pool.started < want) {
        pthread_attr_t attr;
        int ok = pthread_attr_init(&attr) == 0;
        /* Parts call the GEMM kernels and OpenBLAS: a modest stack does. */
        if (ok)
            pthread_attr_setstacksize(&attr, (size_t)1 << 20);
        pool.first_gen[pool.started] = atomic_load_explicit(&pool.gen, memory_order_relaxed);
        ok = ok && pthread_create(&pool.tid[pool.started], &attr, worker,
                                  (void *)(size_t)pool.started) == 0;
        pthread_attr_destroy(&attr);
        if (!ok)
            break;
        pool.started++;
    }
    int n = pool.started;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

/* Processors online, read once: more parts than that only oversubscribe the
 * cores with spinning workers (a setting above it still sizes OpenBLAS). */
static size_t cpus = AE__POOL_MAX_PARTS;
static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;
static void read_cpus(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n >= 1 && n < AE__POOL_MAX_PARTS)
        cpus = (size_t)n;
}

int ae__pool_cpus(void)
{
    pthread_once(&cpus_once, read_cpus);
    return (int)cpus;
}

int ae__pool_parts(size_t rows, size_t min_rows, double work)
{
    if (in_part || work < AE__POOL_MIN_WORK)
        return 1;
    size_t t = (size_t)ae__threads();
    pthread_once(&cpus_once, read_cpus);
    if (t > cpus)
        t = cpus;
    if (min_rows == 0)
        min_rows = 1;
    if (t > rows / min_rows)
        t = rows / min_rows;
    return t < 1 ? 1 : (int)t;
}

void ae__pool_range(size_t n, int part, int parts, size_t align, size_t *lo, size_t *hi)
{
    if (align == 0)
        align = 1;
    const size_t blocks = (n + align - 1) / align, p = (size_t)part, q = (size_t)parts;
    /* Blocks spread evenly, the first parts taking one more. */
    const size_t base = blocks / q, extra = blocks % q;
    size_t b0 = p * base + (p < extra ? p : extra);
    size_t b1 = b0 + base + (p < extra ? 1 : 0);
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

void ae__pool_run(ae__pool_fn *fn, void *arg, int parts)
{
    if (parts <= 1) {
        fn(arg, 0, 1);
        return;
    }
    if (parts > AE__POOL_MAX_PARTS)
        parts = AE__POOL_MAX_PARTS;
    if (in_part || pthread_mutex_trylock(&pool.busy) != 0) {
        for (int p = 0; p < parts; p++)
            run_part(fn, arg, p, parts);
        return;
    }
    if (start_workers(parts - 1) == 0) {
        pthread_mutex_unlock(&pool.busy);
        for (int p = 0; p < parts; p++)
            run_part(fn, arg, p, parts);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    const unsigned g = atomic_load_explicit(&pool.gen, memory_order_relaxed) + 1;
    pool.fn = fn;
    pool.arg = arg;
    pool.parts = parts;
    atomic_store_explicit(&pool.completed, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (unsigned long long)g << 32, memory_order_release);
    atomic_store_explicit(&pool.gen, g, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_claimed(g, fn, arg, parts);
    /* Parts claimed by workers may still run. */
    spin_until_int(&pool.completed, parts);
    pthread_mutex_lock(&pool.lock);
    while (atomic_load_explicit(&pool.completed, memory_order_acquire) < parts)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.busy);
}

/* Unloading the library (or exit) stops and joins the workers, unless a
 * job is running on another thread at that moment. */
__attribute__((destructor)) static void pool_stop(void)
{
    if (pthread_mutex_trylock(&pool.busy) != 0)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.wake);
    int n = pool.started;
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < n; i++)
        pthread_join(pool.tid[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.started = 0;
    pool.stop = 0;
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.busy);
}
