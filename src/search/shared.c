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

/* the public accessors only (mlpc.h): a dataset has labels (classify, its
 * outputs are the classes) or targets (regress) or neither */
static size_t set_bytes(const mlpc_dataset *d)
{
    if (!d) return 0;
    size_t n = mlpc_dataset_rows(d), n_in = mlpc_dataset_features(d), n_out = mlpc_dataset_outputs(d);
    size_t b = up64(n * n_in * sizeof(float));
    if (mlpc_dataset_labels(d)) b += up64(n * sizeof(int32_t));
    if (mlpc_dataset_targets(d)) b += up64(n * n_out * sizeof(float));
    return b;
}

static mlpc_dataset *place(const mlpc_dataset *d, char **at, mlpc_error *err)
{
    size_t n = mlpc_dataset_rows(d), n_in = mlpc_dataset_features(d), n_out = mlpc_dataset_outputs(d);
    const int32_t *labels = mlpc_dataset_labels(d);
    const float *targets = mlpc_dataset_targets(d);
    float *x = (float *)*at;
    memcpy(x, mlpc_dataset_x(d), n * n_in * sizeof(float));
    *at += up64(n * n_in * sizeof(float));
    int32_t *lab = NULL;
    float *tg = NULL;
    if (labels) {
        lab = (int32_t *)*at;
        memcpy(lab, labels, n * sizeof(int32_t));
        *at += up64(n * sizeof(int32_t));
    }
    if (targets) {
        tg = (float *)*at;
        memcpy(tg, targets, n * n_out * sizeof(float));
        *at += up64(n * n_out * sizeof(float));
    }
    return mlpc_dataset_view(n, n_in, x, lab, labels ? (int)n_out : 0, tg, targets ? n_out : 0,
                             mlpc_dataset_source(d), err);
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
