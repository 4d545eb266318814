/*
 * shared.c - the search's one copy of the data: train and validation arrays
 * copied into a single MAP_SHARED anonymous mapping before the workers are
 * forked. Every worker maps the same physical pages (counted once in PSS as
 * shared memory); nothing is serialized or copied per trial. Workers make
 * the region read-only.
 */
#include "search/search.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static size_t up64(size_t v) { return (v + 63) & ~(size_t)63; }

static size_t set_bytes(const mlpc_dataset *d)
{
    if (!d) return 0;
    size_t b = up64(d->n * d->n_in * sizeof(float));
    if (d->labels) b += up64(d->n * sizeof(int32_t));
    if (d->targets) b += up64(d->n * d->n_out * sizeof(float));
    return b;
}

static mlpc_dataset *place(const mlpc_dataset *d, char **at, mlpc_error *err)
{
    float *x = (float *)*at;
    memcpy(x, d->x, d->n * d->n_in * sizeof(float));
    *at += up64(d->n * d->n_in * sizeof(float));
    int32_t *lab = NULL;
    float *tg = NULL;
    if (d->labels) {
        lab = (int32_t *)*at;
        memcpy(lab, d->labels, d->n * sizeof(int32_t));
        *at += up64(d->n * sizeof(int32_t));
    }
    if (d->targets) {
        tg = (float *)*at;
        memcpy(tg, d->targets, d->n * d->n_out * sizeof(float));
        *at += up64(d->n * d->n_out * sizeof(float));
    }
    return mlpc_dataset_view(d->n, d->n_in, x, lab, d->n_classes, tg, d->n_out, d->source, err);
}

int srch_share(srch_shared *sh, const mlpc_dataset *train, const mlpc_dataset *val, mlpc_error *err)
{
    memset(sh, 0, sizeof *sh);
    sh->size = set_bytes(train) + set_bytes(val);
    if (sh->size == 0) sh->size = 64;
    void *p = mmap(NULL, sh->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "shared memory for the data (%zu bytes): %s", sh->size, strerror(errno));
        return -1;
    }
    sh->base = p;
    char *at = p;
    sh->train = place(train, &at, err);
    if (sh->train && val) sh->val = place(val, &at, err);
    if (!sh->train || (val && !sh->val)) {
        srch_unshare(sh);
        return -1;
    }
    return 0;
}

void srch_share_readonly(srch_shared *sh)
{
    if (sh->base) mprotect(sh->base, sh->size, PROT_READ);
}

void srch_unshare(srch_shared *sh)
{
    mlpc_dataset_free(sh->train);
    mlpc_dataset_free(sh->val);
    if (sh->base) munmap(sh->base, sh->size);
    memset(sh, 0, sizeof *sh);
}
