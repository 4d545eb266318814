/*
 * npy.c - NumPy .npy arrays, plain or gzip.
 *
 * Layout: "\x93NUMPY", major, minor version bytes, then the header length
 * (v1: uint16 LE at byte 8, v2/v3: uint32 LE), then the header: a Python
 * dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
 * padded with spaces and '\n', then the raw elements in C order.
 * Supported dtypes: little-endian (or single-byte) f4, f8, i1..i8, u1..u8
 * and b1. Features: shape (n,) is n x 1, (n, a, b, ...) is n x a*b*...
 * Labels: integer dtype -> class labels, shape (n,) or (n, 1); float dtype
 * -> regression targets, shape (n,) or (n, k).
 */
#include "data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_DIMS 16
#define NPY_MAX_HEADER (1u << 20)

typedef struct npy_array {
    char descr[16]; /* as written, e.g. "<f4" */
    char kind;      /* 'f', 'i' or 'u' ('b' counts as 'u') */
    int size;       /* bytes per element */
    int fortran;
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t n, per_row; /* shape[0], product of the rest */
    const unsigned char *data;
    size_t data_len;
} npy_array;

/* ------------------------------------------------------------ header */

/* Python-style "(3, 4)" / "(3,)". */
static void shape_str(const npy_array *a, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < a->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%zu", i ? ", " : "", a->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "%s)", a->ndim == 1 ? "," : "");
}

/* Just after "'key':" (either quote style) and any spaces, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    for (int q = 0; q < 2; q++) {
        snprintf(pat, sizeof pat, "%c%s%c", q ? '"' : '\'', key, q ? '"' : '\'');
        const char *p = strstr(h, pat);
        if (!p) continue;
        for (p += strlen(pat); *p == ' '; p++) {}
        if (*p++ != ':') return NULL;
        while (*p == ' ') p++;
        return p;
    }
    return NULL;
}

static mlpc_status parse_descr(const char *path, const char *h, npy_array *a, mlpc_error *err)
{
    const char *p = dict_value(h, "descr");
    if (p && *p == '[')
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "%s: structured dtypes are not supported", path);
    if (!p || (*p != '\'' && *p != '"'))
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header has no 'descr' string", path);
    const char *e = strchr(p + 1, *p);
    if (!e || e - p - 1 >= (long)sizeof a->descr)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header has a bad 'descr' value", path);
    memcpy(a->descr, p + 1, (size_t)(e - p - 1));
    a->descr[e - p - 1] = 0;
    return MLPC_OK;
}

static mlpc_status parse_fortran(const char *path, const char *h, npy_array *a, mlpc_error *err)
{
    const char *p = dict_value(h, "fortran_order");
    if (p && strncmp(p, "False", 5) == 0) a->fortran = 0;
    else if (p && strncmp(p, "True", 4) == 0) a->fortran = 1;
    else return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header has no valid 'fortran_order'", path);
    return MLPC_OK;
}

static mlpc_status parse_shape(const char *path, const char *h, npy_array *a, mlpc_error *err)
{
    const char *p = dict_value(h, "shape");
    if (!p || *p++ != '(') return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header has no 'shape' tuple", path);
    for (a->ndim = 0;;) {
        while (*p == ' ') p++;
        if (*p == ')') return MLPC_OK;
        if (*p < '0' || *p > '9' || a->ndim == NPY_MAX_DIMS) break;
        char *e;
        errno = 0;
        unsigned long long v = strtoull(p, &e, 10);
        if (errno == ERANGE || v > SIZE_MAX) break;
        a->shape[a->ndim++] = (size_t)v;
        for (p = e; *p == ' ' || *p == 'L'; p++) {}
        if (*p == ',') p++;
        else if (*p != ')') break;
    }
    return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header has a bad 'shape' tuple", path);
}

static int host_is_little(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static mlpc_status parse_dtype(const char *path, npy_array *a, mlpc_error *err)
{
    const char *d = a->descr;
    char *e;
    if (!d[0] || !strchr("<>|=", d[0]) || !d[1] || !d[2])
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported", path, d);
    long size = strtol(d + 2, &e, 10);
    a->kind = d[1] == 'b' ? 'u' : d[1];
    a->size = (int)size;
    int ok = !*e && ((a->kind == 'f' && (size == 4 || size == 8)) ||
                     ((a->kind == 'i' || a->kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)));
    if (!ok)
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                           "%s: dtype '%s' is not supported (float32, float64 or integer types)", path, d);
    int big = d[0] == '>' || (d[0] == '=' && !host_is_little());
    if (big && size > 1)
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                           "%s: big-endian dtype '%s' is not supported; save it as '<%c%ld'", path, d, d[1], size);
    return MLPC_OK;
}

/* Finds the header text; *h is a malloc'ed NUL-terminated copy. */
static mlpc_status npy_preamble(const char *path, const unsigned char *b, size_t len, char **h,
                                size_t *data_off, mlpc_error *err)
{
    if (len < 6 || memcmp(b, "\x93NUMPY", 6) != 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: not a .npy file: bad magic (expected \\x93NUMPY)", path);
    if (len >= 8 && (b[6] < 1 || b[6] > 3))
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported",
                           path, b[6], b[7]);
    size_t start = len >= 8 && b[6] == 1 ? 10 : 12, hlen;
    if (len < start)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: truncated: %zu bytes is too short for a .npy header", path, len);
    hlen = b[6] == 1 ? mlpc_ld_le16(b + 8) : mlpc_ld_le32(b + 8);
    if (hlen > len - start)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: truncated: the .npy header needs %zu bytes but the file has %zu",
                           path, start + hlen, len);
    if (hlen > NPY_MAX_HEADER)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: .npy header of %zu bytes is too long", path, hlen);
    if (!(*h = malloc(hlen + 1))) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", path);
    memcpy(*h, b + start, hlen);
    (*h)[hlen] = 0;
    *data_off = start + hlen;
    return MLPC_OK;
}

/* Checks the element count against the data size. */
static mlpc_status npy_sizes(const char *path, npy_array *a, mlpc_error *err)
{
    char sh[200];
    shape_str(a, sh, sizeof sh);
    if (a->ndim == 0) return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: shape () is a scalar; expected rows", path);
    if (a->fortran && a->ndim > 1)
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                           "%s: fortran_order is True; save a C-order array (np.ascontiguousarray)", path);
    a->n = a->shape[0];
    a->per_row = 1;
    size_t total = a->n, bytes;
    for (int i = 1; i < a->ndim; i++)
        if (!mlpc_mul_ok(a->per_row, a->shape[i], &a->per_row) || !mlpc_mul_ok(total, a->shape[i], &total))
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: shape %s: the size overflows", path, sh);
    if (!mlpc_mul_ok(total, (size_t)a->size, &bytes))
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: shape %s: the size overflows", path, sh);
    if (a->n == 0 || a->per_row == 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: shape %s holds no values (empty array)", path, sh);
    if (a->data_len != bytes)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: %s: header says shape %s of '%s' (%zu bytes of data) but the file has %zu",
                           path, a->data_len < bytes ? "truncated" : "trailing data after the array",
                           sh, a->descr, bytes, a->data_len);
    return MLPC_OK;
}

static mlpc_status npy_parse(const char *path, const unsigned char *b, size_t len, npy_array *a,
                             mlpc_error *err)
{
    char *h = NULL;
    size_t off = 0;
    memset(a, 0, sizeof *a);
    mlpc_status s = npy_preamble(path, b, len, &h, &off, err);
    if (s == MLPC_OK) s = parse_descr(path, h, a, err);
    if (s == MLPC_OK) s = parse_fortran(path, h, a, err);
    if (s == MLPC_OK) s = parse_shape(path, h, a, err);
    if (s == MLPC_OK) s = parse_dtype(path, a, err);
    free(h);
    if (s != MLPC_OK) return s;
    a->data = b + off;
    a->data_len = len - off;
    return npy_sizes(path, a, err);
}

/* ------------------------------------------------------------ values */

static double npy_get(const npy_array *a, size_t i)
{
    const unsigned char *p = a->data + i * (size_t)a->size;
    switch (a->kind == 'f' ? a->size : a->kind == 'i' ? -a->size : 10 + a->size) {
    case 4: { uint32_t u = mlpc_ld_le32(p); float f; memcpy(&f, &u, 4); return f; }
    case 8: { uint64_t u = mlpc_ld_le64(p); double v; memcpy(&v, &u, 8); return v; }
    case -1: return (int8_t)p[0];
    case -2: return (int16_t)mlpc_ld_le16(p);
    case -4: return (int32_t)mlpc_ld_le32(p);
    case -8: return (double)(int64_t)mlpc_ld_le64(p);
    case 11: return p[0];
    case 12: return mlpc_ld_le16(p);
    case 14: return mlpc_ld_le32(p);
    default: return (double)mlpc_ld_le64(p);
    }
}

/* Converts all values to float, rejecting NaN, Inf and out-of-range ones. */
static mlpc_status npy_floats(const char *path, const npy_array *a, float *out, mlpc_error *err)
{
    size_t total = a->n * a->per_row;
    if (a->kind == 'u' && a->size == 1) { /* images: kept tight */
        for (size_t i = 0; i < total; i++) out[i] = a->data[i];
        return MLPC_OK;
    }
    for (size_t i = 0; i < total; i++) {
        double v = npy_get(a, i);
        if (!isfinite(v) || fabs(v) > FLT_MAX)
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: row %zu holds a NaN, infinite or out-of-range value",
                               path, i / a->per_row + 1);
        out[i] = (float)v;
    }
    return MLPC_OK;
}

static mlpc_status npy_int_labels(const char *path, const npy_array *a, int32_t *out, mlpc_error *err)
{
    for (size_t i = 0; i < a->n; i++) {
        double v = npy_get(a, i);
        if (v < 0 || v > MLPC_DATA_MAX_LABEL)
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: label %.0f of row %zu is out of range (0..%d)",
                               path, v, i + 1, MLPC_DATA_MAX_LABEL);
        out[i] = (int32_t)v;
    }
    return MLPC_OK;
}

/* ------------------------------------------------------------ loading */

static mlpc_status check_labels(const char *path, const npy_array *la, const char *features,
                                size_t n, mlpc_error *err)
{
    if (la->kind != 'f' && la->per_row != 1) {
        char sh[200];
        shape_str(la, sh, sizeof sh);
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s: integer labels must have shape (n,) or (n, 1), not %s",
                           path, sh);
    }
    if (la->n != n)
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s has %zu rows but %s has %zu rows", path, la->n,
                           features, n);
    return MLPC_OK;
}

static mlpc_dataset *npy_build(const char *features, const npy_array *fa, const char *labels,
                               const npy_array *la, mlpc_error *err)
{
    mlpc_task task = la && la->kind == 'f' ? MLPC_TASK_REGRESS : MLPC_TASK_CLASSIFY;
    size_t n_out = !la ? 0 : task == MLPC_TASK_REGRESS ? la->per_row : 2;
    mlpc_dataset *d = mlpc_dataset_alloc(fa->n, fa->per_row, task, n_out, features, err);
    if (!d) return NULL;
    mlpc_status s = npy_floats(features, fa, d->x, err);
    if (s == MLPC_OK && la && task == MLPC_TASK_REGRESS) {
        s = npy_floats(labels, la, d->targets, err);
        snprintf(d->label_source, sizeof d->label_source, "%s", labels);
    }
    if (s == MLPC_OK && la && task == MLPC_TASK_CLASSIFY) {
        s = npy_int_labels(labels, la, d->labels, err);
        if (s == MLPC_OK) s = mlpc_data_finish_labels(d, labels, err);
    }
    if (s == MLPC_OK) return d;
    mlpc_dataset_free(d);
    return NULL;
}

mlpc_dataset *mlpc_dataset_load_npy(const char *features, const char *labels, mlpc_error *err)
{
    unsigned char *fb = NULL, *lb = NULL;
    size_t flen, llen;
    npy_array fa, la;
    mlpc_dataset *d = NULL;
    if (!features || !*features) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no .npy features file given");
        return NULL;
    }
    if (mlpc_read_file(features, &fb, &flen, err) != MLPC_OK ||
        npy_parse(features, fb, flen, &fa, err) != MLPC_OK)
        goto done;
    if (labels && (mlpc_read_file(labels, &lb, &llen, err) != MLPC_OK ||
                   npy_parse(labels, lb, llen, &la, err) != MLPC_OK ||
                   check_labels(labels, &la, features, fa.n, err) != MLPC_OK))
        goto done;
    d = npy_build(features, &fa, labels, labels ? &la : NULL, err);
done:
    free(fb);
    free(lb);
    if (d) mlpc_clearerr(err);
    return d;
}
