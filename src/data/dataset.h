/* dataset.h - the dataset struct behind the public mlpc_dataset handle
 * (src/data/), for the library's layers above data (nn, train, io). */
#ifndef MLPC_DATASET_H
#define MLPC_DATASET_H

#include "core/core.h"

/* ---- datasets (src/data/) ------------------------------------------------ */

struct mlpc_dataset {
    mlpc_error err;
    size_t n;          /* rows */
    size_t n_in;       /* features per row */
    size_t n_out;      /* n_classes (classify) or target columns (regress); 0 = no targets */
    mlpc_task task;
    int n_classes;     /* classify: labels are 0..n_classes-1 */
    float *x;          /* n x n_in, row-major */
    int32_t *labels;   /* n, classify only, else NULL */
    float *targets;    /* n x n_out, regress only, else NULL */
    char source[256];  /* file it came from, for messages */
    char describe[256]; /* how a text file was read (mlpc_dataset_describe) */
    char label_source[256]; /* the labels' file when it is another one, else "" */
    char **class_names; /* classify: names of classes 0..n_names-1; NULL: the labels are the file's 0..K-1 */
    int n_names;
    size_t n_dropped;  /* rows dropped for a missing value (missing = drop, or a missing target) */
    size_t n_missing;  /* features left NaN for the net's training means (missing = mean) */
    int borrowed;      /* 1: x, labels, targets belong to the caller (mlpc_dataset_view) */
};

/* The file messages about labels and targets name: the labels file when
 * they came from one of their own, else the dataset's source. */
const char *mlpc_dataset_label_source(const mlpc_dataset *d);

/* Allocates an empty dataset with x (and labels or targets) of the given
 * sizes, zeroed. n_out 0 means features only. */
mlpc_dataset *mlpc_dataset_alloc(size_t n, size_t n_in, mlpc_task task, size_t n_out,
                                 const char *source, mlpc_error *err);

/* Reads a whole file, gunzipping it if it starts with the gzip magic.
 * *out is malloc'ed (caller frees), *len its size. Messages name the path.
 * (src/data/dataset.c) */
mlpc_status mlpc_read_file(const char *path, unsigned char **out, size_t *len, mlpc_error *err);

#endif /* MLPC_DATASET_H */
