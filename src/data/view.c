/*
 * view.c - datasets over caller-owned arrays (no copy), for data that lives
 * in memory shared between processes, and over caller arrays with row strides
 * (copied unless dense and borrowed: the bindings).
 */
#include "data.h"

#include <math.h>
#include <stdint.h>
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

/* The first non-finite value of n rows of `cols` floats (row i at a + i *
 * stride) as an MLPC_ERR_ARG naming the array, row and column. */
static mlpc_status check_finite(const char *src, const char *what, const float *a, size_t n, size_t cols,
                                size_t stride, mlpc_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cols; j++) {
            float v = a[i * stride + j];
            if (!isfinite(v))
                return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %s[%zu][%zu] is %s: every value must be finite", src,
                                   what, i, j, isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
        }
    return MLPC_OK;
}

/* The arguments of mlpc_dataset_from_strided, strides resolved (0: dense). */
static mlpc_status check_strided(const char *src, size_t n, size_t n_in, const float *x, size_t xs,
                                 const int32_t *labels, int n_classes, const float *targets, size_t n_out,
                                 size_t ts, mlpc_error *err)
{
    if (n_in == 0) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: 0 features per row", src);
    if (n > 0 && !x) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: no feature array given", src);
    if (labels && targets) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: give labels or targets, not both", src);
    if (labels && (n_classes < 2 || n_classes > MLPC_DATA_MAX_LABEL + 1))
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: n_classes %d: must be between 2 and %d", src, n_classes,
                           MLPC_DATA_MAX_LABEL + 1);
    if (targets && (n_out == 0 || n_out > MLPC_MAX_WIDTH))
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %zu target columns: must be between 1 and %d", src, n_out,
                           MLPC_MAX_WIDTH);
    if (xs < n_in) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: x row stride %zu is less than the %zu features", src, xs, n_in);
    if (targets && ts < n_out)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: target row stride %zu is less than the %zu columns", src, ts, n_out);
    size_t end;
    if (n > 0 && (!mlpc_mul_ok(n - 1, xs > ts ? xs : ts, &end) || end > SIZE_MAX / sizeof(float) - n_in - n_out))
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %zu rows of these strides overflow the address space", src, n);
    if (check_finite(src, "x", x, n, n_in, xs, err)) return MLPC_ERR_ARG;
    if (targets && check_finite(src, "targets", targets, n, n_out, ts, err)) return MLPC_ERR_ARG;
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return mlpc_seterr(err, MLPC_ERR_ARG, "%s: labels[%zu] is %ld, outside 0..%d", src, i, (long)labels[i],
                               n_classes - 1);
    return MLPC_OK;
}

/* n rows of `cols` floats at stride `stride` into dense rows at dst */
static void copy_rows(float *dst, const float *src, size_t n, size_t cols, size_t stride)
{
    for (size_t i = 0; i < n; i++) memcpy(dst + i * cols, src + i * stride, cols * sizeof(float));
}

mlpc_dataset *mlpc_dataset_from_strided(size_t n, size_t n_in, const float *x, size_t x_stride,
                                        const int32_t *labels, int n_classes, const float *targets,
                                        size_t n_out, size_t t_stride, int borrow, const char *source,
                                        mlpc_error *err)
{
    const char *src = source && *source ? source : "arrays";
    size_t xs = x_stride ? x_stride : n_in, ts = t_stride ? t_stride : n_out;
    if (check_strided(src, n, n_in, x, xs, labels, n_classes, targets, n_out, ts, err)) return NULL;
    if (borrow && xs == n_in && (!targets || ts == n_out)) /* dense: used in place */
        return mlpc_dataset_view(n, n_in, x, labels, n_classes, targets, n_out, src, err);
    mlpc_task task = targets ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    size_t out = targets ? n_out : labels ? (size_t)n_classes : 0;
    mlpc_dataset *d = mlpc_dataset_alloc(n, n_in, task, out, src, err);
    if (!d) return NULL;
    copy_rows(d->x, x, n, n_in, xs);
    if (targets) copy_rows(d->targets, targets, n, n_out, ts);
    if (labels && n > 0) memcpy(d->labels, labels, n * sizeof(int32_t));
    mlpc_clearerr(err);
    return d;
}

int mlpc_dataset_borrowed(const mlpc_dataset *d) { return d && d->borrowed; }

const mlpc_error *mlpc_dataset_error(const mlpc_dataset *d) { return &d->err; }
