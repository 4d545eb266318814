/*
 * dataset.c - the dataset handle (allocation, copies, accessors) and reading
 * whole files with transparent gunzip. The bottom of src/data/: the loaders
 * (idx.c, csv.c, npy.c, lorenz.c) call it, it calls none of them (the format
 * dispatch is load.c).
 */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ allocation */

mlpc_dataset *mlpc_dataset_alloc(size_t n, size_t n_in, mlpc_task task, size_t n_out,
                                 const char *source, mlpc_error *err)
{
    size_t nx, bx, nt = 0, bt = 0;
    if (!mlpc_mul_ok(n, n_in, &nx) || !mlpc_mul_ok(nx, sizeof(float), &bx) ||
        !mlpc_mul_ok(n, n_out, &nt) || !mlpc_mul_ok(nt, sizeof(float), &bt) ||
        n_out > INT_MAX) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: dataset of %zu rows x %zu features is too large",
                    source ? source : "dataset", n, n_in);
        return NULL;
    }
    mlpc_dataset *d = calloc(1, sizeof *d);
    if (!d) goto nomem;
    d->n = n;
    d->n_in = n_in;
    d->n_out = n_out;
    d->task = task;
    snprintf(d->source, sizeof d->source, "%s", source ? source : "");
    d->x = mlpc_big_alloc(bx, 1); /* MNIST's 188 MB: on huge pages (core/mem.c) */
    if (!d->x) goto nomem;
    if (n_out > 0 && task == MLPC_TASK_CLASSIFY) {
        d->n_classes = (int)n_out;
        d->labels = calloc(n ? n : 1, sizeof *d->labels);
        if (!d->labels) goto nomem;
    } else if (n_out > 0) {
        d->targets = mlpc_big_alloc(bt, 1);
        if (!d->targets) goto nomem;
    }
    return d;
nomem:
    mlpc_dataset_free(d);
    mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for %zu rows x %zu features",
                source ? source : "dataset", n, n_in);
    return NULL;
}

void mlpc_dataset_free(mlpc_dataset *d)
{
    if (!d) return;
    if (!d->borrowed) {
        free(d->x);
        free(d->labels);
        free(d->targets);
    }
    mlpc_data_free_names(d->class_names, d->n_names);
    free(d);
}

mlpc_status mlpc_data_finish_labels(mlpc_dataset *d, const char *name, mlpc_error *err)
{
    int32_t max = 0;
    for (size_t i = 0; i < d->n; i++) {
        int32_t v = d->labels[i];
        if (v < 0 || v > MLPC_DATA_MAX_LABEL)
            return mlpc_seterr(err, MLPC_ERR_FORMAT,
                               "%s: label %ld of row %zu is out of range (0..%d)", name,
                               (long)v, i + 1, MLPC_DATA_MAX_LABEL);
        if (v > max) max = v;
    }
    d->n_classes = max + 1 < 2 ? 2 : max + 1;
    d->n_out = (size_t)d->n_classes;
    if (strcmp(name, d->source) != 0) snprintf(d->label_source, sizeof d->label_source, "%s", name);
    return MLPC_OK;
}

/* ------------------------------------------------------------ class names */

void mlpc_data_free_names(char **names, int n)
{
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

mlpc_status mlpc_data_copy_names(mlpc_dataset *d, const char *const *names, int n, mlpc_error *err)
{
    mlpc_data_free_names(d->class_names, d->n_names);
    d->class_names = NULL;
    d->n_names = 0;
    if (!names || n <= 0) return MLPC_OK;
    d->class_names = calloc((size_t)n, sizeof *d->class_names);
    if (!d->class_names) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for class names", d->source);
    d->n_names = n;
    for (int i = 0; i < n; i++)
        if (!(d->class_names[i] = strdup(names[i] ? names[i] : "")))
            return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for class names", d->source);
    return MLPC_OK;
}

const char *mlpc_dataset_label_source(const mlpc_dataset *d)
{
    return d->label_source[0] ? d->label_source : d->source;
}

mlpc_dataset *mlpc_dataset_slice(const mlpc_dataset *d, size_t start, size_t count,
                                 mlpc_error *err)
{
    if (!d) {
        mlpc_seterr(err, MLPC_ERR_ARG, "slice: no dataset given");
        return NULL;
    }
    if (start > d->n || count > d->n - start) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: slice of rows [%zu, %zu+%zu) is outside the %zu rows",
                    d->source, start, start, count, d->n);
        return NULL;
    }
    mlpc_dataset *s = mlpc_dataset_alloc(count, d->n_in, d->task, d->n_out, d->source, err);
    if (!s) return NULL;
    s->n_classes = d->n_classes;
    memcpy(s->label_source, d->label_source, sizeof s->label_source);
    if (mlpc_data_copy_names(s, (const char *const *)d->class_names, d->n_names, err) != MLPC_OK) {
        mlpc_dataset_free(s);
        return NULL;
    }
    if (count == 0) return s;
    memcpy(s->x, d->x + start * d->n_in, count * d->n_in * sizeof(float));
    if (d->labels && s->labels) memcpy(s->labels, d->labels + start, count * sizeof(int32_t));
    if (d->targets && s->targets)
        memcpy(s->targets, d->targets + start * d->n_out, count * d->n_out * sizeof(float));
    return s;
}

/* Rows picked by mask (1: into the part) copied, in order, into a new set. */
static mlpc_dataset *gather_rows(const mlpc_dataset *d, const unsigned char *mask, unsigned char want,
                                 size_t count, mlpc_error *err)
{
    mlpc_dataset *s = mlpc_dataset_alloc(count, d->n_in, d->task, d->n_out, d->source, err);
    if (!s) return NULL;
    s->n_classes = d->n_classes;
    memcpy(s->label_source, d->label_source, sizeof s->label_source);
    memcpy(s->describe, d->describe, sizeof s->describe);
    if (mlpc_data_copy_names(s, (const char *const *)d->class_names, d->n_names, err) != MLPC_OK) {
        mlpc_dataset_free(s);
        return NULL;
    }
    for (size_t i = 0, k = 0; i < d->n; i++) {
        if (mask[i] != want) continue;
        memcpy(s->x + k * d->n_in, d->x + i * d->n_in, d->n_in * sizeof(float));
        if (d->labels && s->labels) s->labels[k] = d->labels[i];
        if (d->targets && s->targets) memcpy(s->targets + k * d->n_out, d->targets + i * d->n_out, d->n_out * sizeof(float));
        k++;
    }
    return s;
}

/* mask[i] = 1 for the n_val validation rows: per class (one class for
 * regression) a share of n_val by largest remainder, drawn at random. */
static mlpc_status pick_val(const mlpc_dataset *d, size_t n_val, uint64_t seed, unsigned char *mask, mlpc_error *err)
{
    int K = d->labels ? d->n_classes : 1;
    size_t *count = calloc((size_t)K, sizeof *count), *take = calloc((size_t)K, sizeof *take);
    double *rem = calloc((size_t)K, sizeof *rem);
    uint32_t *idx = malloc(d->n * sizeof *idx);
    mlpc_status st = MLPC_OK;
    if (!count || !take || !rem || !idx) {
        st = mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory splitting the rows", d->source);
        goto out;
    }
    for (size_t i = 0; i < d->n; i++) count[d->labels ? d->labels[i] : 0]++;
    size_t given = 0;
    for (int k = 0; k < K; k++) {
        double share = (double)n_val * (double)count[k] / (double)d->n;
        take[k] = (size_t)share;
        rem[k] = share - (double)take[k];
        given += take[k];
    }
    for (; given < n_val; given++) { /* the largest remainders get one more */
        int best = -1;
        for (int k = 0; k < K; k++)
            if (take[k] < count[k] && (best < 0 || rem[k] > rem[best])) best = k;
        take[best]++;
        rem[best] = -1.0;
    }
    mlpc_rng rng;
    mlpc_rng_seed(&rng, seed ^ 0x5eed5511ULL);
    for (int k = 0; k < K; k++) {
        size_t m = 0;
        for (size_t i = 0; i < d->n; i++)
            if ((d->labels ? d->labels[i] : 0) == k) idx[m++] = (uint32_t)i;
        mlpc_rng_shuffle(&rng, idx, m);
        for (size_t j = 0; j < take[k]; j++) mask[idx[j]] = 1;
    }
out:
    free(count);
    free(take);
    free(rem);
    free(idx);
    return st;
}

mlpc_status mlpc_dataset_split(const mlpc_dataset *d, size_t n_val, int shuffle, uint64_t seed,
                               mlpc_dataset **train, mlpc_dataset **val, mlpc_error *err)
{
    *train = *val = NULL;
    if (!d) return mlpc_seterr(err, MLPC_ERR_ARG, "split: no dataset given");
    if (n_val == 0 || n_val >= d->n)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: a validation split of %zu rows must leave training rows (of %zu)",
                           d->source, n_val, d->n);
    if (d->n > UINT32_MAX) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: more than 2^32 rows", d->source);
    unsigned char *mask = calloc(d->n, 1);
    if (!mask) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory splitting the rows", d->source);
    mlpc_status st = MLPC_OK;
    if (shuffle)
        st = pick_val(d, n_val, seed, mask, err);
    else
        memset(mask + (d->n - n_val), 1, n_val);
    if (st == MLPC_OK) {
        *train = gather_rows(d, mask, 0, d->n - n_val, err);
        *val = *train ? gather_rows(d, mask, 1, n_val, err) : NULL;
        if (!*val) {
            mlpc_dataset_free(*train);
            *train = NULL;
            st = err ? err->code : MLPC_ERR_NOMEM;
        }
    }
    free(mask);
    return st;
}

static mlpc_status check_arrays(size_t n, size_t n_in, const float *x, const int32_t *labels,
                                const float *targets, size_t n_out, mlpc_error *err)
{
    if (n_in == 0) return mlpc_seterr(err, MLPC_ERR_ARG, "arrays: 0 features per row");
    if (n > 0 && !x) return mlpc_seterr(err, MLPC_ERR_ARG, "arrays: no feature array given");
    if (labels && targets)
        return mlpc_seterr(err, MLPC_ERR_ARG, "arrays: give labels or targets, not both");
    if (targets && n_out == 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "arrays: targets given with 0 target columns");
    return MLPC_OK;
}

mlpc_dataset *mlpc_dataset_from_arrays(size_t n, size_t n_in, const float *x, const int32_t *labels,
                                       int n_classes, const float *targets, size_t n_out,
                                       mlpc_error *err)
{
    if (check_arrays(n, n_in, x, labels, targets, n_out, err) != MLPC_OK) return NULL;
    mlpc_task task = targets ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    size_t out = targets ? n_out : labels ? 2 : 0;
    mlpc_dataset *d = mlpc_dataset_alloc(n, n_in, task, out, "arrays", err);
    if (!d) return NULL;
    if (n > 0) memcpy(d->x, x, n * n_in * sizeof(float));
    if (targets && n > 0) memcpy(d->targets, targets, n * n_out * sizeof(float));
    if (!labels) return d;
    if (n > 0) memcpy(d->labels, labels, n * sizeof(int32_t));
    if (mlpc_data_finish_labels(d, "arrays", err) != MLPC_OK) goto fail;
    if (n_classes <= 0) return d; /* inferred: max label + 1 */
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= n_classes) {
            mlpc_seterr(err, MLPC_ERR_ARG, "arrays: label %ld of row %zu is not below n_classes %d",
                        (long)labels[i], i + 1, n_classes);
            goto fail;
        }
    }
    d->n_classes = n_classes;
    d->n_out = (size_t)n_classes;
    return d;
fail:
    mlpc_dataset_free(d);
    return NULL;
}

/* ------------------------------------------------------------ accessors */

size_t mlpc_dataset_rows(const mlpc_dataset *d) { return d ? d->n : 0; }
size_t mlpc_dataset_features(const mlpc_dataset *d) { return d ? d->n_in : 0; }
size_t mlpc_dataset_outputs(const mlpc_dataset *d) { return d ? d->n_out : 0; }
mlpc_task mlpc_dataset_task(const mlpc_dataset *d) { return d ? d->task : MLPC_TASK_CLASSIFY; }
int mlpc_dataset_has_targets(const mlpc_dataset *d)
{
    return d && d->n_out > 0 && (d->labels || d->targets);
}
const float *mlpc_dataset_x(const mlpc_dataset *d) { return d ? d->x : NULL; }
const int32_t *mlpc_dataset_labels(const mlpc_dataset *d) { return d ? d->labels : NULL; }
const float *mlpc_dataset_targets(const mlpc_dataset *d) { return d ? d->targets : NULL; }
const char *mlpc_dataset_source(const mlpc_dataset *d) { return d ? d->source : ""; }
const char *mlpc_dataset_describe(const mlpc_dataset *d) { return d ? d->describe : ""; }

void mlpc_csv_options_default(mlpc_csv_options *o)
{
    if (!o) return;
    o->header = -1;
    o->label_col = NULL;
    o->n_targets = 1;
    o->task = MLPC_TASK_CLASSIFY;
    o->delim = 0;
    o->skip_rows = 0;
    o->missing = MLPC_MISSING_ERROR;
    o->class_names = NULL;
    o->n_class_names = -1;
}

void mlpc_lorenz_options_default(mlpc_lorenz_options *o)
{
    if (!o) return;
    o->sigma = 10.0;
    o->beta = 8.0 / 3.0;
    o->rho = 58.0;
    o->t_end = 20.0;
    o->x0 = o->y0 = o->z0 = 1.0;
    o->steps = 9999;
    o->horizon = 99;
}

/* ------------------------------------------------------------ reading files */

/* Grows a gunzip output buffer; fails at the input limit. */
static mlpc_status gz_grow(const char *path, unsigned char **buf, size_t *cap, mlpc_error *err)
{
    size_t max = mlpc_input_limit();
    if (*cap >= max)
        return mlpc_seterr(err, MLPC_ERR_IO, "%s: gzip data decompresses to more than the input limit of %zu bytes (%s)",
                           path, max, mlpc_input_limit_hint());
    size_t ncap = *cap < max / 2 ? *cap * 2 : max;
    unsigned char *nb = realloc(*buf, ncap + 1);
    if (!nb) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory decompressing", path);
    *buf = nb;
    *cap = ncap;
    return MLPC_OK;
}

/* After one gzip member ends: 1 = another member follows, 0 = done (end or
 * zero padding), -1 = trailing garbage. */
static int gz_after_member(const unsigned char *p, size_t left)
{
    if (left >= 2 && p[0] == 0x1f && p[1] == 0x8b) return 1;
    for (size_t i = 0; i < left; i++)
        if (p[i]) return -1;
    return 0;
}

/* The inflate loop; *buf has room for *cap bytes (+1). */
static mlpc_status gz_inflate(const char *path, z_stream *zs, const unsigned char *in, size_t n,
                              unsigned char **buf, size_t *cap, size_t *outlen, mlpc_error *err)
{
    size_t in_pos = 0, out_pos = 0;
    for (;;) {
        if (out_pos == *cap) {
            mlpc_status g = gz_grow(path, buf, cap, err);
            if (g != MLPC_OK) return g;
        }
        size_t ain = n - in_pos, aout = *cap - out_pos;
        zs->next_in = (unsigned char *)(uintptr_t)(in + in_pos);
        zs->avail_in = ain > UINT_MAX ? UINT_MAX : (uInt)ain;
        zs->next_out = *buf + out_pos;
        zs->avail_out = aout > UINT_MAX ? UINT_MAX : (uInt)aout;
        uInt ai = zs->avail_in, ao = zs->avail_out;
        int r = inflate(zs, Z_NO_FLUSH);
        in_pos += ai - zs->avail_in;
        out_pos += ao - zs->avail_out;
        if (r == Z_STREAM_END) {
            int next = gz_after_member(in + in_pos, n - in_pos);
            if (next < 0)
                return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: corrupt gzip data: garbage after the end of the compressed stream", path);
            if (next == 0) break;
            inflateReset(zs);
        } else if (r == Z_BUF_ERROR && in_pos == n) {
            return mlpc_seterr(err, MLPC_ERR_FORMAT,
                               "%s: truncated gzip data: the compressed stream ends early (%zu bytes read)", path, n);
        } else if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_STREAM_ERROR) {
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: corrupt gzip data: %s", path,
                               zs->msg ? zs->msg : "invalid stream");
        } else if (r == Z_MEM_ERROR) {
            return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory decompressing", path);
        }
    }
    *outlen = out_pos;
    return MLPC_OK;
}

static mlpc_status gunzip(const char *path, const unsigned char *in, size_t n, unsigned char **out,
                          size_t *outlen, mlpc_error *err)
{
    /* the gzip trailer holds the size mod 2^32: a good first guess, unless
     * it is beyond deflate's best ratio (about 1032:1), i.e. garbage */
    size_t cap = n >= 18 ? mlpc_ld_le32(in + n - 4) : 0;
    if (cap / 1032 > n) cap = 0;
    if (cap < 65536) cap = 65536;
    if (cap > mlpc_input_limit()) cap = mlpc_input_limit();
    unsigned char *buf = malloc(cap + 1);
    if (!buf) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory decompressing", path);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        free(buf);
        return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: cannot start zlib", path);
    }
    mlpc_status st = gz_inflate(path, &zs, in, n, &buf, &cap, outlen, err);
    inflateEnd(&zs);
    if (st != MLPC_OK) {
        free(buf);
        return st;
    }
    buf[*outlen] = 0;
    *out = buf;
    return MLPC_OK;
}

/* Besides the documented contract, the buffer always has a NUL after the
 * last byte (not counted in *len), so text parsers may rely on it. */
mlpc_status mlpc_read_file(const char *path, unsigned char **out, size_t *len, mlpc_error *err)
{
    *out = NULL;
    *len = 0;
    unsigned char *raw = NULL;
    size_t n = 0;
    mlpc_status s = mlpc_read_whole(path, "a data file", 0, &raw, &n, err);
    if (s != MLPC_OK) return s;
    path = mlpc_path_name(path); /* "-": messages say standard input */
    if (n == 0) {
        free(raw);
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: file is empty", path);
    }
    if (n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *out = raw;
        *len = n;
        return MLPC_OK;
    }
    s = gunzip(path, raw, n, out, len, err);
    free(raw);
    if (s == MLPC_OK && *len == 0) {
        free(*out);
        *out = NULL;
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: file is empty (after gunzip)", path);
    }
    return s;
}
