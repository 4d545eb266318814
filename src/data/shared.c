/*
 * shared.c - datasets over caller-owned arrays (no copy), for data that lives
 * in memory shared between processes.
 */
#include "data.h"

#include <stdlib.h>
#include <string.h>

mlpc_dataset *mlpc_dataset_view(size_t n, size_t n_in, const float *x, const int32_t *labels,
                                int n_classes, const float *targets, size_t n_out,
                                const char *source, mlpc_error *err)
{
    if (n_in == 0 || (n > 0 && !x)) {
        mlpc_seterr(err, MLPC_ERR_ARG, "view: no features given");
        return NULL;
    }
    if (labels && targets) {
        mlpc_seterr(err, MLPC_ERR_ARG, "view: give labels or targets, not both");
        return NULL;
    }
    if ((labels && n_classes < 2) || (targets && n_out == 0)) {
        mlpc_seterr(err, MLPC_ERR_ARG, "view: labels need n_classes >= 2, targets n_out >= 1");
        return NULL;
    }
    mlpc_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "view: out of memory");
        return NULL;
    }
    d->n = n;
    d->n_in = n_in;
    d->task = targets ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    d->n_classes = labels ? n_classes : 0;
    d->n_out = targets ? n_out : labels ? (size_t)n_classes : 0;
    /* the handle never writes through these: the casts only fit the struct */
    d->x = (float *)(uintptr_t)x;
    d->labels = (int32_t *)(uintptr_t)labels;
    d->targets = (float *)(uintptr_t)targets;
    d->borrowed = 1;
    snprintf(d->source, sizeof d->source, "%s", source ? source : "view");
    return d;
}
