/*
 * load.c - format dispatch, the top of src/data/ (it calls the loaders,
 * nothing in the folder calls it).
 *
 * Formats recognised by mlpc_dataset_load (content first, then the name):
 *   .npy   starts with "\x93NUMPY"                       -> npy.c
 *   IDX    starts with 00 00 <type 08..0E> <ndim >= 1>    -> idx.c
 *   CSV    anything else (.csv, .tsv, .txt, ...)          -> csv.c
 * Each may be gzip-compressed (1f 8b); the loaders gunzip in mlpc_read_file.
 */
#include "data.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ dispatch */

typedef enum { FMT_CSV, FMT_NPY, FMT_IDX } data_fmt;

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static data_fmt guess_format(const char *path)
{
    unsigned char b[8] = {0};
    int got = -1;
    gzFile g = gzopen(path, "rb");
    if (g) {
        got = gzread(g, b, sizeof b);
        gzclose(g);
    }
    if (got >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return FMT_NPY;
    if (got >= 4 && b[0] == 0 && b[1] == 0 && b[2] >= 0x08 && b[2] <= 0x0E && b[3] >= 1)
        return FMT_IDX;
    if (ends_with(path, ".npy") || ends_with(path, ".npy.gz")) return FMT_NPY;
    if (strstr(path, ".idx") || strstr(path, "-ubyte")) return FMT_IDX;
    return FMT_CSV;
}

mlpc_dataset *mlpc_dataset_load(const char *features, const char *labels, mlpc_error *err)
{
    if (!features || !*features) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no data file given");
        return NULL;
    }
    /* before guess_format opens it: a FIFO would block there (the labels
     * file is read by mlpc_read_whole, which does not block) */
    if (mlpc_file_check(features, "a data file", err) != MLPC_OK) return NULL;
    switch (guess_format(features)) {
    case FMT_NPY: return mlpc_dataset_load_npy(features, labels, err);
    case FMT_IDX: return mlpc_dataset_load_idx(features, labels, err);
    case FMT_CSV: break;
    }
    if (labels) {
        mlpc_seterr(err, MLPC_ERR_ARG,
                    "%s: a CSV file carries its own label column; no separate labels file "
                    "('%s') is expected", features, labels);
        return NULL;
    }
    return mlpc_dataset_load_csv(features, NULL, err);
}

/* ------------------------------------------------------------ separate labels */

static mlpc_dataset *load_features(const char *path, data_fmt f, const mlpc_csv_options *opt, mlpc_error *err)
{
    if (f == FMT_NPY) return mlpc_dataset_load_npy(path, NULL, err);
    if (f == FMT_IDX) return mlpc_dataset_load_idx(path, NULL, err);
    mlpc_csv_options o = *opt;
    o.n_targets = 0; /* every column is a feature */
    o.task = MLPC_TASK_CLASSIFY;
    o.label_col = NULL;
    return mlpc_dataset_load_csv(path, &o, err);
}

/* A .npy labels file read as numbers (n x k): regress -> targets; classify
 * -> one column of labels (mapped as a CSV label column), or one-hot columns. */
static mlpc_dataset *npy_labels(const char *path, const mlpc_csv_options *opt, mlpc_error *err)
{
    mlpc_dataset *m = mlpc_dataset_load_npy(path, NULL, err);
    if (!m) return NULL;
    size_t n = m->n, k = m->n_in;
    mlpc_dataset *d = mlpc_dataset_alloc(n, 0, opt->task, opt->task == MLPC_TASK_REGRESS ? k : 2, path, err);
    mlpc_status st = d ? MLPC_OK : MLPC_ERR_NOMEM;
    if (d && opt->task == MLPC_TASK_REGRESS) {
        memcpy(d->targets, m->x, n * k * sizeof(float));
    } else if (d && k > 1) { /* one-hot */
        for (size_t i = 0; i < n && !st; i++) {
            int hot = -1;
            for (size_t j = 0; j < k && !st; j++) {
                float v = m->x[i * k + j];
                if ((v != 0 && v != 1) || (v == 1 && hot >= 0))
                    st = mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: row %zu, column %zu: not one-hot (each row needs one 1, the rest 0)",
                                     path, i + 1, j + 1);
                if (v == 1) hot = (int)j;
            }
            if (!st && hot < 0)
                st = mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: row %zu: not one-hot (no column holds a 1)", path, i + 1);
            if (!st) d->labels[i] = hot;
        }
        d->n_classes = (int)k;
        d->n_out = k;
        if (!st && opt->n_class_names > 0) st = mlpc_data_copy_names(d, opt->class_names, opt->n_class_names, err);
    } else if (d) {
        char **txt = calloc(n ? n : 1, sizeof *txt);
        st = txt ? MLPC_OK : mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < n && !st; i++) {
            char b[40];
            snprintf(b, sizeof b, "%.9g", (double)m->x[i]);
            if (!(txt[i] = strdup(b))) st = mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", path);
        }
        mlpc_label_src src = {path, NULL, ""};
        if (!st) st = mlpc_data_labels_from_text(d, txt, &src, opt->class_names, opt->n_class_names, err);
        for (size_t i = 0; txt && i < n; i++) free(txt[i]);
        free(txt);
    }
    mlpc_dataset_free(m);
    if (st && d) {
        mlpc_dataset_free(d);
        d = NULL;
    }
    return d;
}

/* Moves lab's labels or targets (and class names) into d. */
static mlpc_status attach(mlpc_dataset *d, mlpc_dataset *lab, const char *labels, mlpc_error *err)
{
    if (lab->n != d->n)
        return mlpc_seterr(err, MLPC_ERR_SHAPE, "%s has %zu rows but %s has %zu rows", labels, lab->n, d->source, d->n);
    free(d->labels);
    free(d->targets);
    d->labels = lab->labels;
    d->targets = lab->targets;
    lab->labels = NULL;
    lab->targets = NULL;
    d->task = lab->task;
    d->n_out = lab->n_out;
    d->n_classes = lab->n_classes;
    d->class_names = lab->class_names;
    d->n_names = lab->n_names;
    lab->class_names = NULL;
    lab->n_names = 0;
    snprintf(d->label_source, sizeof d->label_source, "%s", labels);
    if (lab->describe[0]) snprintf(d->describe, sizeof d->describe, "%s", lab->describe);
    return MLPC_OK;
}

mlpc_dataset *mlpc_dataset_load_pair(const char *features, const char *labels, const mlpc_csv_options *opt,
                                     mlpc_error *err)
{
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    if (opt) o = *opt;
    if (!features || !*features || !labels || !*labels) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no %s file given", features && *features ? "labels" : "features");
        return NULL;
    }
    if (mlpc_file_check(features, "a data file", err) != MLPC_OK || mlpc_file_check(labels, "a labels file", err) != MLPC_OK)
        return NULL;
    data_fmt ff = guess_format(features), lf = guess_format(labels);
    if (lf == FMT_IDX) return mlpc_dataset_load_idx(features, labels, err);
    if (lf == FMT_NPY && ff == FMT_NPY && o.task == MLPC_TASK_CLASSIFY) {
        mlpc_dataset *d = mlpc_dataset_load_npy(features, labels, err); /* float labels: regression, as before */
        if (d && d->task == MLPC_TASK_REGRESS) return d;
        if (!d && (!err || err->code != MLPC_ERR_FORMAT)) return NULL;
        mlpc_dataset_free(d); /* integer labels: mapped below like a CSV label column */
    }
    if (lf == FMT_NPY && o.task == MLPC_TASK_CLASSIFY) { /* float labels: regression, as for .npy features */
        mlpc_dataset *probe = mlpc_dataset_load_npy(labels, labels, err);
        if (probe && probe->task == MLPC_TASK_REGRESS) o.task = MLPC_TASK_REGRESS;
        mlpc_dataset_free(probe);
    }
    mlpc_dataset *d = load_features(features, ff, &o, err);
    if (!d) return NULL;
    mlpc_dataset *lab = lf == FMT_NPY ? npy_labels(labels, &o, err) : mlpc_csv_load_labels(labels, &o, err);
    if (!lab || attach(d, lab, labels, err) != MLPC_OK) {
        mlpc_dataset_free(d);
        d = NULL;
    }
    mlpc_dataset_free(lab);
    if (d) mlpc_clearerr(err);
    return d;
}
