/* pool.c - persistent worker threads woken per parallel region.
 * Workers spin briefly on a generation counter (small steps come back to
 * back), then sleep on a condition variable. */
#include "backend/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct mlpc_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;     /* bumped for every parallel region */
    atomic_int pending;  /* workers still running the current region */
    atomic_int quit;
    mlpc_pool_fn fn;
    void *arg;
};

typedef struct {
    mlpc_pool *p;
    int tid;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *a)
{
    worker_arg wa = *(worker_arg *)a;
    free(a);
    mlpc_pool *p = wa.p;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load(&p->quit)) {
            if (++spins < 20000) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = g;
        p->fn(p->arg, wa.tid, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

mlpc_pool *mlpc_pool_create(int n, mlpc_error *err)
{
    if (n < 1 || n > MLPC_MAX_THREADS) {
        mlpc_seterr(err, MLPC_ERR_ARG, "threads %d: must be between 1 and %d", n, MLPC_MAX_THREADS);
        return NULL;
    }
    mlpc_pool *p = calloc(1, sizeof *p);
    if (!p) goto nomem;
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (n > 1) {
        p->threads = calloc((size_t)n - 1, sizeof *p->threads);
        if (!p->threads) goto nomem;
    }
    for (int i = 1; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) {
            p->n = i; /* join only those started */
            mlpc_pool_free(p);
            mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory starting compute thread %d", i);
            return NULL;
        }
        wa->p = p;
        wa->tid = i;
        int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, wa);
        if (rc != 0) {
            free(wa);
            p->n = i; /* join only those started */
            mlpc_pool_free(p);
            mlpc_seterr(err, MLPC_ERR_NOMEM, "cannot start compute thread %d: %s", i, strerror(rc));
            return NULL;
        }
    }
    return p;
nomem:
    if (p) {
        free(p->threads);
        free(p);
    }
    mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory creating a %d-thread pool", n);
    return NULL;
}

void mlpc_pool_free(mlpc_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int mlpc_pool_size(const mlpc_pool *p) { return p ? p->n : 1; }

void mlpc_pool_run(mlpc_pool *p, mlpc_pool_fn fn, void *arg)
{
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    /* spin briefly (regions are microseconds apart), then yield the core so
     * a descheduled worker can finish when the machine is oversubscribed */
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < 4000)
            cpu_relax();
        else
            sched_yield();
    }
}

void mlpc_pool_barrier(atomic_int *arrived, int n)
{
    atomic_fetch_add_explicit(arrived, 1, memory_order_acq_rel);
    for (int spins = 0; atomic_load_explicit(arrived, memory_order_acquire) < n; spins++) {
        if (spins < 4000)
            cpu_relax();
        else
            sched_yield(); /* as mlpc_pool_run: a descheduled thread can arrive */
    }
}
