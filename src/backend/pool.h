/* pool.h - an explicit thread pool: exactly n compute threads, the caller
 * being thread 0. No process-wide state; every pool is its own object. */
#ifndef MLPC_POOL_H
#define MLPC_POOL_H

#include "core/core.h"

#include <stdatomic.h>

typedef struct mlpc_pool mlpc_pool;

/* fn runs once on every thread: tid in [0, n). */
typedef void (*mlpc_pool_fn)(void *arg, int tid, int n);

/* n >= 1; n-1 worker threads are started. */
mlpc_pool *mlpc_pool_create(int n, mlpc_error *err);
void mlpc_pool_free(mlpc_pool *p);
int mlpc_pool_size(const mlpc_pool *p);
/* Runs fn on all n threads and returns when all are done. Not reentrant. */
void mlpc_pool_run(mlpc_pool *p, mlpc_pool_fn fn, void *arg);

/* Inside a region: returns once all n threads of it have called it with
 * the same counter (zero before the region, used for one wait only). */
void mlpc_pool_barrier(atomic_int *arrived, int n);

/* Splits [0, total) into n parts aligned to `align`; part tid is [*lo, *hi). */
static inline void mlpc_split(long total, long align, int tid, int n, long *lo, long *hi)
{
    long units = (total + align - 1) / align;
    long per = units / n, rem = units % n;
    long u0 = tid * per + (tid < rem ? tid : rem);
    long u1 = u0 + per + (tid < rem ? 1 : 0);
    *lo = u0 * align < total ? u0 * align : total;
    *hi = u1 * align < total ? u1 * align : total;
}

#endif
