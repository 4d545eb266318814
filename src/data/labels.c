/*
 * labels.c - class labels from the text of a label column (CSV, or an
 * integer .npy written as text): the mapping from a file's label values to
 * class indices 0..K-1 and the class names kept with them.
 *
 * Without known names (a training file) the classes are derived:
 *   - numbers that are exactly non-negative integers including 0: the labels
 *     themselves (0..max), no names stored (as before);
 *   - any other numbers (1..K, -1/+1, 3/5/8): the distinct values sorted
 *     numerically, names the values ("1", "-1");
 *   - anything else (strings): the distinct strings sorted in byte order.
 * With known names (a model's, or the training file's for --test) every
 * label must be one of them (the same text, or the same number); with
 * known names NULL and derive 0 (a model without names) a label must be an
 * integer 0..n_known-1 style class index as before.
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int as_number(const char *s, double *v)
{
    char *e;
    if (!*s) return 0;
    *v = strtod(s, &e);
    return *e == 0 && isfinite(*v);
}

static void where(const mlpc_label_src *src, size_t i, char *buf, size_t cap)
{
    if (src->line) snprintf(buf, cap, "%s:%ld: %s", src->path, src->line[i], src->col);
    else snprintf(buf, cap, "%s: row %zu", src->path, i + 1);
}

static mlpc_status bad_label(const mlpc_label_src *src, size_t i, const char *txt, const char *why,
                             mlpc_error *err)
{
    char w[400];
    where(src, i, w, sizeof w);
    return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: label '%.60s' %s", w, txt, why);
}

/* Labels through known names: the same text, or the same number. */
static mlpc_status map_known(mlpc_dataset *d, char *const *txt, const mlpc_label_src *src,
                             const char *const *known, int n_known, mlpc_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        double a, b;
        int num = as_number(txt[i], &a), k = 0;
        for (; k < n_known; k++)
            if (!strcmp(txt[i], known[k]) || (num && as_number(known[k], &b) && a == b)) break;
        if (k == n_known) {
            char list[200] = "";
            size_t o = 0;
            for (int j = 0; j < n_known && o + 1 < sizeof list; j++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", known[j]);
            char why[300];
            snprintf(why, sizeof why, "is not one of the model's classes (%s)", list);
            return bad_label(src, i, txt[i], why, err);
        }
        d->labels[i] = k;
    }
    d->n_classes = n_known < 2 ? 2 : n_known;
    d->n_out = (size_t)d->n_classes;
    return mlpc_data_copy_names(d, known, n_known, err);
}

/* 1 when every label is a non-negative integer and one of them is 0. */
static int natural(char *const *txt, size_t n)
{
    int zero = 0;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (!as_number(txt[i], &v) || v < 0 || v != floor(v) || v > MLPC_DATA_MAX_LABEL) return 0;
        zero |= v == 0;
    }
    return zero;
}

static mlpc_status map_natural(mlpc_dataset *d, char *const *txt, const mlpc_label_src *src, mlpc_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        double v;
        if (!as_number(txt[i], &v) || v < 0 || v != floor(v) || v > MLPC_DATA_MAX_LABEL) {
            char why[100];
            snprintf(why, sizeof why, "is not a non-negative integer (0..%d), and the model stores no class names",
                     MLPC_DATA_MAX_LABEL);
            return bad_label(src, i, txt[i], why, err);
        }
        d->labels[i] = (int32_t)v;
    }
    return mlpc_data_finish_labels(d, src->path, err);
}

static int cmp_num(const void *a, const void *b)
{
    double x = 0, y = 0;
    as_number(*(char *const *)a, &x);
    as_number(*(char *const *)b, &y);
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct labels sorted (numerically when all are numbers) become the classes. */
static mlpc_status map_sorted(mlpc_dataset *d, char *const *txt, const mlpc_label_src *src, mlpc_error *err)
{
    int numeric = 1;
    double v = 0;
    for (size_t i = 0; i < d->n && numeric; i++) numeric = as_number(txt[i], &v);
    const char **s = malloc((d->n ? d->n : 1) * sizeof *s);
    if (!s) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for labels", src->path);
    for (size_t i = 0; i < d->n; i++) s[i] = txt[i];
    int (*cmp)(const void *, const void *) = numeric ? cmp_num : cmp_str;
    qsort(s, d->n, sizeof *s, cmp);
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        if (k == 0 || cmp(&s[k - 1], &s[i]) != 0) s[k++] = s[i];
    if (k > (size_t)MLPC_DATA_MAX_LABEL + 1) {
        free(s);
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: %zu distinct labels, more than %d classes", src->path, k,
                           MLPC_DATA_MAX_LABEL + 1);
    }
    for (size_t i = 0; i < d->n; i++) {
        const char **hit = bsearch(&txt[i], s, k, sizeof *s, cmp);
        d->labels[i] = (int32_t)(hit - s);
    }
    char num[40];
    mlpc_status st = MLPC_OK;
    if (numeric) { /* names as the numbers read: "+1" and "1.0" both become "1" */
        for (size_t j = 0; j < k && st == MLPC_OK; j++) {
            as_number(s[j], &v);
            snprintf(num, sizeof num, "%.9g", v);
            s[j] = strdup(num);
            if (!s[j]) st = mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for labels", src->path);
        }
        if (st == MLPC_OK) st = mlpc_data_copy_names(d, s, (int)k, err);
        for (size_t j = 0; j < k; j++) free((void *)s[j]);
    } else {
        st = mlpc_data_copy_names(d, s, (int)k, err);
    }
    free(s);
    if (st) return st;
    d->n_classes = k < 2 ? 2 : (int)k;
    d->n_out = (size_t)d->n_classes;
    return MLPC_OK;
}

mlpc_status mlpc_data_labels_from_text(mlpc_dataset *d, char *const *txt, const mlpc_label_src *src,
                                       const char *const *known, int n_known, mlpc_error *err)
{
    if (n_known > 0) return map_known(d, txt, src, known, n_known, err);
    if (n_known == 0 || natural(txt, d->n)) return map_natural(d, txt, src, err);
    return map_sorted(d, txt, src, err);
}

const char *mlpc_dataset_class_name(const mlpc_dataset *d, int k)
{
    return d && d->class_names && k >= 0 && k < d->n_names ? d->class_names[k] : NULL;
}

int mlpc_dataset_class_names(const mlpc_dataset *d)
{
    return d ? d->n_names : 0;
}
