/*
 * data.h - helpers shared by the dataset loaders in src/data/ (private).
 */
#ifndef MLPC_DATA_H
#define MLPC_DATA_H

#include "core/bytes.h" /* mlpc_ld_le32, mlpc_ld_be32, ... */
#include "data/dataset.h"

/* Largest class label accepted (labels are 0..MLPC_DATA_MAX_LABEL). */
#define MLPC_DATA_MAX_LABEL (MLPC_MAX_WIDTH - 1)

/* Checks d->labels[0..n) (each 0..MLPC_DATA_MAX_LABEL) and sets n_classes and
 * n_out to max label + 1, at least 2. `name` is the labels' file for messages. */
mlpc_status mlpc_data_finish_labels(mlpc_dataset *d, const char *name, mlpc_error *err);

/* Where a label column's values came from, for messages: line[i] is row
 * i's line (NULL: messages name the row), col e.g. "column 5 ('species')". */
typedef struct mlpc_label_src {
    const char *path;
    const long *line;
    const char *col;
} mlpc_label_src;

/* Sets d->labels, n_classes, n_out and the class names from the label
 * texts txt[0..d->n) (src/data/labels.c). n_known > 0: map through known
 * names; 0: labels must be class indices (a model without names); -1:
 * derive the classes (0..K-1 as they are, else sorted distinct values). */
mlpc_status mlpc_data_labels_from_text(mlpc_dataset *d, char *const *txt, const mlpc_label_src *src,
                                       const char *const *known, int n_known, mlpc_error *err);
/* Replaces d's class names by copies of names[0..n) (NULL or n 0: none). */
mlpc_status mlpc_data_copy_names(mlpc_dataset *d, const char *const *names, int n, mlpc_error *err);
void mlpc_data_free_names(char **names, int n);

/* A labels file in CSV: every column is a target (one label column, one-hot
 * columns, or regression targets); the set has no features (src/data/csv.c). */
mlpc_dataset *mlpc_csv_load_labels(const char *path, const mlpc_csv_options *opt, mlpc_error *err);

#endif /* MLPC_DATA_H */
