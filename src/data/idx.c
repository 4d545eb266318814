/*
 * idx.c - IDX files (the MNIST format), plain or gzip.
 *
 * Layout, all integers big-endian:
 *   byte 0,1  zero
 *   byte 2    element type: 08 uint8, 09 int8, 0B int16, 0C int32,
 *             0D float32, 0E float64
 *   byte 3    number of dimensions (ndim >= 1)
 *   then      ndim uint32 sizes, then the elements in row-major order.
 * Images: n x d1 x d2 ... flattened to n rows of d1*d2*... features (raw
 * values as float, 0..255 for MNIST). Labels: an integer IDX1 file of n
 * labels (n x 1 accepted too).
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IDX_MAX_DIMS 16

typedef struct idx_array {
    int type;          /* element type code */
    int ndim;
    uint32_t dims[IDX_MAX_DIMS];
    size_t n;          /* dims[0] */
    size_t per_row;    /* product of dims[1..] (1 for ndim 1) */
    size_t esize;      /* bytes per element */
    const unsigned char *data;
} idx_array;

static size_t idx_type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

/* "60000 images of 28x28" / "60000 labels" */
static void idx_describe(const idx_array *a, const char *what, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, "%lu %s", (unsigned long)a->dims[0], what);
    for (int i = 1; i < a->ndim && k > 0 && (size_t)k < cap; i++)
        k += snprintf(buf + k, cap - (size_t)k, "%s%lu", i == 1 ? " of " : "x",
                      (unsigned long)a->dims[i]);
}

/* Reads and checks the header magic and dimensions. */
static mlpc_status idx_header(const char *path, const unsigned char *b, size_t len, idx_array *a,
                              mlpc_error *err)
{
    if (len < 4)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: truncated: %zu bytes is too short for an IDX header", path, len);
    if (b[0] != 0 || b[1] != 0 || !idx_type_size(b[2]) || b[3] == 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT,
                           "%s: not an IDX file: bad magic %02x %02x %02x %02x (expected 00 00 <type 08..0e> <ndim>)",
                           path, b[0], b[1], b[2], b[3]);
    a->type = b[2];
    a->ndim = b[3];
    a->esize = idx_type_size(a->type);
    if (a->ndim > IDX_MAX_DIMS)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: IDX header has %d dimensions (at most %d supported)",
                           path, a->ndim, IDX_MAX_DIMS);
    size_t hdr = 4 + 4 * (size_t)a->ndim;
    if (len < hdr)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: truncated: the IDX header needs %zu bytes but the file has %zu",
                           path, hdr, len);
    for (int i = 0; i < a->ndim; i++) a->dims[i] = mlpc_ld_be32(b + 4 + 4 * i);
    a->data = b + hdr;
    return MLPC_OK;
}

/* Checks the sizes against the file length. */
static mlpc_status idx_sizes(const char *path, size_t len, const char *what, idx_array *a,
                             mlpc_error *err)
{
    char desc[160];
    idx_describe(a, what, desc, sizeof desc);
    a->n = a->dims[0];
    a->per_row = 1;
    size_t total = a->n, bytes;
    for (int i = 1; i < a->ndim; i++) {
        if (!mlpc_mul_ok(a->per_row, a->dims[i], &a->per_row) || !mlpc_mul_ok(total, a->dims[i], &total))
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: header says %s: the size overflows", path, desc);
    }
    size_t hdr = 4 + 4 * (size_t)a->ndim;
    if (!mlpc_mul_ok(total, a->esize, &bytes) || bytes > SIZE_MAX - hdr)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: header says %s: the size overflows", path, desc);
    if (a->n == 0) return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: no %s: the header says 0", path, what);
    if (a->per_row == 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: header says %s: a dimension is 0", path, desc);
    if (len - hdr != bytes)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: %s: header says %s (%zu bytes) but the file has %zu bytes",
                           path, len - hdr < bytes ? "truncated" : "trailing data after the last item",
                           desc, hdr + bytes, len);
    return MLPC_OK;
}

static mlpc_status idx_parse(const char *path, const unsigned char *b, size_t len, const char *what,
                             idx_array *a, mlpc_error *err)
{
    mlpc_status s = idx_header(path, b, len, a, err);
    return s != MLPC_OK ? s : idx_sizes(path, len, what, a, err);
}

/* Element i as a double (big-endian, any type). */
static double idx_get(const idx_array *a, size_t i)
{
    const unsigned char *p = a->data + i * a->esize;
    switch (a->type) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)mlpc_ld_be16(p);
    case 0x0C: return (int32_t)mlpc_ld_be32(p);
    case 0x0D: { uint32_t u = mlpc_ld_be32(p); float f; memcpy(&f, &u, 4); return f; }
    default: { uint64_t u = mlpc_ld_be64(p); double v; memcpy(&v, &u, 8); return v; }
    }
}

static mlpc_status idx_features(const char *path, const idx_array *a, float *x, mlpc_error *err)
{
    size_t total = a->n * a->per_row;
    if (a->type == 0x08) { /* the common case, kept tight */
        for (size_t i = 0; i < total; i++) x[i] = a->data[i];
        return MLPC_OK;
    }
    for (size_t i = 0; i < total; i++) {
        double v = idx_get(a, i);
        if (!isfinite(v) || fabs(v) > 3.4e38)
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: item %zu holds a NaN, infinite or out-of-range value",
                               path, i / a->per_row + 1);
        x[i] = (float)v;
    }
    return MLPC_OK;
}

/* Loads and checks the labels file; *buf keeps its bytes (caller frees). */
static mlpc_status idx_labels(const char *path, const char *images, size_t n_images, idx_array *a,
                              unsigned char **buf, mlpc_error *err)
{
    size_t len;
    mlpc_status s = mlpc_read_file(path, buf, &len, err);
    if (s == MLPC_OK) s = idx_parse(path, *buf, len, "labels", a, err);
    if (s != MLPC_OK) return s;
    if (a->type == 0x0D || a->type == 0x0E)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: labels must have an integer type, not float", path);
    if (a->per_row != 1)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: labels must be one value per item (IDX1), found %zu",
                           path, a->per_row);
    if (a->n != n_images)
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s has %zu labels but %s has %zu images", path, a->n,
                           images, n_images);
    return MLPC_OK;
}

static mlpc_status idx_copy_labels(const char *path, const idx_array *la, mlpc_dataset *d,
                                   mlpc_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        double v = idx_get(la, i);
        if (v < 0 || v > MLPC_DATA_MAX_LABEL)
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: label %.0f of item %zu is out of range (0..%d)",
                               path, v, i + 1, MLPC_DATA_MAX_LABEL);
        d->labels[i] = (int32_t)v;
    }
    return mlpc_data_finish_labels(d, path, err);
}

static mlpc_dataset *idx_build(const char *images, const idx_array *im, const char *labels,
                               mlpc_error *err)
{
    idx_array la;
    unsigned char *lbuf = NULL;
    if (labels && idx_labels(labels, images, im->n, &la, &lbuf, err) != MLPC_OK) {
        free(lbuf);
        return NULL;
    }
    mlpc_dataset *d = mlpc_dataset_alloc(im->n, im->per_row, MLPC_TASK_CLASSIFY, labels ? 2 : 0,
                                         images, err);
    if (d && idx_features(images, im, d->x, err) != MLPC_OK) goto fail;
    if (d && labels && idx_copy_labels(labels, &la, d, err) != MLPC_OK) goto fail;
    free(lbuf);
    return d;
fail:
    free(lbuf);
    mlpc_dataset_free(d);
    return NULL;
}

mlpc_dataset *mlpc_dataset_load_idx(const char *images, const char *labels, mlpc_error *err)
{
    unsigned char *buf;
    size_t len;
    idx_array im;
    if (!images || !*images) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no IDX images file given");
        return NULL;
    }
    if (mlpc_read_file(images, &buf, &len, err) != MLPC_OK) return NULL;
    mlpc_dataset *d = NULL;
    if (idx_parse(images, buf, len, "images", &im, err) == MLPC_OK)
        d = idx_build(images, &im, labels, err);
    free(buf);
    if (d) mlpc_clearerr(err);
    return d;
}
