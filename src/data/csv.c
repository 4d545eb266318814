/*
 * csv.c - delimited text files, plain or gzip.
 *
 * One row per line; fields separated by ',', ';' or tab (auto-detected from
 * the first row: the most frequent of the three outside quotes), else by
 * runs of spaces (R's write.table, whitespace-aligned tables). Fields may
 * be quoted "..." with "" for a quote inside (newlines inside quotes are
 * kept in the field). With a delimiter other than ',' a decimal comma
 * ("1,5") is read as a decimal point. A UTF-8 byte order mark, CRLF line ends, blank lines
 * and a missing final newline are accepted; skip_rows leading lines
 * (metadata) are skipped. Every field must be a finite number, except in
 * the optional header row, which is detected when the first row holds a
 * field that is not a number, or reads 0, 1, ..., n-1 (n >= 3: the header
 * pandas writes for an array). The label column (by name or 0-based index, default
 * the last one) holds non-negative integer class labels; for regression the
 * n_targets columns from it on are float targets. All other columns are
 * features, in file order. Messages name the file, line and column (1-based).
 */
#include "data.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_field {
    const char *s; /* raw text (inside the quotes for a quoted field) */
    size_t len;
    int quoted;
} csv_field;

typedef struct csv_cur {
    const char *p, *end;
    long line;       /* line number at p, 1-based */
    char delim;
    const char *bad; /* why the last field was malformed */
} csv_cur;

typedef struct csv_load {
    const char *path;
    unsigned char *buf;
    size_t len;
    csv_cur data;      /* cursor at the first data row */
    long first_line;   /* line of the first row (header or data) */
    size_t ncols;
    csv_field *f;      /* the current row's fields */
    char **names;      /* header names, NULL without a header */
    size_t lab0, nlab; /* target columns [lab0, lab0 + nlab) */
    mlpc_task task;
    size_t nrows;
    char delim;        /* the one used */
} csv_load;

/* ------------------------------------------------------------ tokenizer */

static int is_space(char ch, char delim)
{
    return (ch == ' ' || ch == '\t' || ch == '\r') && ch != delim;
}

static void skip_blank_lines(csv_cur *c)
{
    while (c->p < c->end) {
        const char *q = c->p;
        while (q < c->end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < c->end && *q != '\n') return;
        c->p = q < c->end ? q + 1 : q;
        if (q < c->end) c->line++;
    }
}

static int read_quoted(csv_cur *c, csv_field *f)
{
    const char *q = ++c->p;
    for (;; q++) {
        if (q >= c->end) {
            c->bad = "unterminated quoted field";
            return 0;
        }
        if (*q == '"' && q + 1 < c->end && q[1] == '"') q++;
        else if (*q == '"') break;
        else if (*q == '\n') c->line++;
    }
    f->s = c->p;
    f->len = (size_t)(q - c->p);
    f->quoted = 1;
    for (q++; q < c->end && is_space(*q, c->delim); q++) {}
    c->p = q;
    if (q < c->end && *q != c->delim && *q != '\n') {
        c->bad = "text after a closing quote";
        return 0;
    }
    return 1;
}

/* Spaces before a field; with the delimiter ' ' a run of them is one. */
static void skip_lead(csv_cur *c)
{
    while (c->p < c->end && (is_space(*c->p, c->delim) || (c->delim == ' ' && *c->p == ' '))) c->p++;
}

static int read_field(csv_cur *c, csv_field *f)
{
    skip_lead(c);
    if (c->p < c->end && *c->p == '"') return read_quoted(c, f);
    const char *q = c->p;
    while (q < c->end && *q != c->delim && *q != '\n') q++;
    const char *e = q;
    while (e > c->p && is_space(e[-1], c->delim)) e--;
    f->s = c->p;
    f->len = (size_t)(e - c->p);
    f->quoted = 0;
    c->p = q;
    return 1;
}

/* Reads the next non-blank row: fields go to f[0..cap), counting goes on
 * past cap. Returns the field count, 0 at the end, -1 if malformed. */
static long csv_row(csv_cur *c, csv_field *f, size_t cap, long *row_line)
{
    skip_blank_lines(c);
    if (c->p >= c->end) return 0;
    *row_line = c->line;
    for (size_t k = 0;;) {
        csv_field fl;
        if (!read_field(c, &fl)) return -1;
        if (k < cap) f[k] = fl;
        k++;
        if (c->p < c->end && *c->p == c->delim) {
            c->p++;
            if (c->delim == ' ') { /* trailing spaces end no field */
                skip_lead(c);
                if (c->p >= c->end || *c->p == '\n') goto end_row;
            }
            continue;
        }
    end_row:
        if (c->p < c->end) { /* the '\n' */
            c->p++;
            c->line++;
        }
        return (long)k;
    }
}

/* The most frequent of ',', ';', tab in the first row (outside quotes). */
static char detect_delim(csv_cur c)
{
    static const char cand[3] = {',', ';', '\t'};
    size_t cnt[3] = {0, 0, 0};
    int inq = 0;
    skip_blank_lines(&c);
    for (const char *p = c.p; p < c.end && (inq || *p != '\n'); p++) {
        if (*p == '"') inq = !inq;
        for (int i = 0; i < 3 && !inq; i++) cnt[i] += *p == cand[i];
    }
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (cnt[i] > cnt[best]) best = i;
    if (cnt[best] > 0) return cand[best];
    /* none of them: fields apart by spaces ("1.5 2 0"), else one column */
    const char *p = c.p;
    while (p < c.end && *p == ' ') p++;
    for (; p < c.end && *p != '\n'; p++)
        if (*p == ' ' && p + 1 < c.end && p[1] != ' ' && p[1] != '\n' && p[1] != '\r') return ' ';
    return ',';
}

/* ------------------------------------------------------------ fields */

enum { NUM_OK = 1, NUM_TEXT = 0, NUM_NONFINITE = -1, NUM_RANGE = -2 };

/* comma: the delimiter is not ',', so "1,5" is a decimal comma (Excel in
 * many locales writes ';'-separated files with them) */
static int parse_number(const csv_field *f, double *v, int comma)
{
    char tmp[128], *e;
    if (f->len == 0 || f->len >= sizeof tmp) return NUM_TEXT;
    memcpy(tmp, f->s, f->len);
    tmp[f->len] = 0;
    char *c = comma ? strchr(tmp, ',') : NULL;
    if (c && !strchr(c + 1, ',') && !strchr(tmp, '.')) *c = '.';
    if (isspace((unsigned char)tmp[0])) return NUM_TEXT;
    *v = strtod(tmp, &e);
    if (e != tmp + f->len) return NUM_TEXT;
    if (!isfinite(*v)) /* "nan", "inf" spelled out, or an overflow like 1e999 */
        return strpbrk(tmp, "nN") ? NUM_NONFINITE : NUM_RANGE;
    if (fabs(*v) > FLT_MAX) return NUM_RANGE;
    return NUM_OK;
}

/* A field's text with "" unescaped, malloc'ed. */
static char *field_dup(const csv_field *f)
{
    char *s = malloc(f->len + 1), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < f->len; i++) {
        *o++ = f->s[i];
        if (f->quoted && f->s[i] == '"' && i + 1 < f->len && f->s[i + 1] == '"') i++;
    }
    *o = 0;
    return s;
}

static void col_desc(const csv_load *L, size_t j, char *buf, size_t cap)
{
    if (L->names) snprintf(buf, cap, "column %zu ('%.60s')", j + 1, L->names[j]);
    else snprintf(buf, cap, "column %zu", j + 1);
}

static mlpc_status bad_value(const csv_load *L, long line, size_t j, const csv_field *f, int kind,
                             mlpc_error *err)
{
    static const char *why[] = {"is out of range for float", "is not a finite number", "is not a number"};
    char col[100];
    col_desc(L, j, col, sizeof col);
    if (f->len == 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: %s: empty field where a number is expected",
                           L->path, line, col);
    int w = f->len > 40 ? 40 : (int)f->len;
    return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: %s: '%.*s%s' %s", L->path, line, col, w, f->s,
                       f->len > 40 ? "..." : "", why[kind + 2]);
}

static mlpc_status tok_error(const csv_load *L, long line, const csv_cur *c, mlpc_error *err)
{
    return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: %s", L->path, line, c->bad);
}

/* ------------------------------------------------------------ structure */

static mlpc_status read_header(csv_load *L, mlpc_error *err)
{
    L->names = calloc(L->ncols, sizeof *L->names);
    if (!L->names) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t j = 0; j < L->ncols; j++)
        if (!(L->names[j] = field_dup(&L->f[j])))
            return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
    return MLPC_OK;
}

static int looks_like_header(const csv_load *L)
{
    double v;
    int counting = L->ncols >= 3; /* "0,1,2,...": the header pandas writes for an array */
    for (size_t j = 0; j < L->ncols; j++) {
        if (parse_number(&L->f[j], &v, L->delim != ',') != NUM_OK) return 1;
        counting = counting && v == (double)j;
    }
    return counting;
}

/* Skips n lines (metadata before the table); 0, or -1 when the file ends first. */
static int skip_lines(csv_cur *c, long n)
{
    for (long i = 0; i < n; i++) {
        const char *q = memchr(c->p, '\n', (size_t)(c->end - c->p));
        if (!q) return -1;
        c->p = q + 1;
        c->line++;
    }
    return 0;
}

/* Finds the delimiter, the column count and the header. */
static mlpc_status csv_open(csv_load *L, int header, char delim, long skip, mlpc_error *err)
{
    csv_cur c = {(const char *)L->buf, (const char *)L->buf + L->len, 1, 0, NULL};
    if (L->len >= 3 && !memcmp(c.p, "\xEF\xBB\xBF", 3)) c.p += 3; /* UTF-8 BOM (Excel) */
    if (skip_lines(&c, skip) != 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: no rows after skipping %ld line(s)", L->path, skip);
    c.delim = delim ? delim : detect_delim(c);
    L->delim = c.delim;
    csv_cur probe = c;
    long k = csv_row(&probe, NULL, 0, &L->first_line);
    if (k < 0) return tok_error(L, L->first_line, &probe, err);
    if (k == 0) return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: no data rows (only blank lines)", L->path);
    L->ncols = (size_t)k;
    L->f = calloc(L->ncols, sizeof *L->f);
    if (!L->f) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for %zu columns", L->path, L->ncols);
    L->data = c;
    csv_row(&c, L->f, L->ncols, &L->first_line);
    if (header == 0 || (header < 0 && !looks_like_header(L))) return MLPC_OK;
    L->data = c;
    return read_header(L, err);
}

/* "-1" / "3" -> index; returns 0 if spec is not an integer. */
static int parse_index(const char *spec, long *out)
{
    char *e;
    if (!*spec || isspace((unsigned char)*spec)) return 0;
    long v = strtol(spec, &e, 10);
    if (*e) return 0;
    *out = v;
    return 1;
}

static mlpc_status unknown_column(const csv_load *L, const char *spec, mlpc_error *err)
{
    char list[240] = "";
    size_t k = 0;
    for (size_t j = 0; j < L->ncols && k < sizeof list - 1; j++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", j ? ", " : "", L->names[j]);
    return mlpc_seterr(err, MLPC_ERR_ARG, "%s: no column named '%s' for the label (columns: %s)",
                       L->path, spec, list);
}

static mlpc_status find_label_col(const csv_load *L, const char *spec, long *idx, mlpc_error *err)
{
    if (parse_index(spec, idx)) {
        if (*idx < 0) *idx += (long)L->ncols;
        if (*idx < 0 || (size_t)*idx >= L->ncols)
            return mlpc_seterr(err, MLPC_ERR_ARG, "%s: label column %s is out of range (the file has %zu columns)",
                               L->path, spec, L->ncols);
        return MLPC_OK;
    }
    if (!L->names)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: label column '%s' is given by name but the file has no header row",
                           L->path, spec);
    for (size_t j = 0; j < L->ncols; j++)
        if (strcmp(L->names[j], spec) == 0) {
            *idx = (long)j;
            return MLPC_OK;
        }
    return unknown_column(L, spec, err);
}

static mlpc_status resolve_label(csv_load *L, const char *spec, size_t k, mlpc_error *err)
{
    long idx = (long)L->ncols - (long)k;
    if (k >= L->ncols)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: the file has %zu column(s): none left for features besides %zu target column(s)",
                           L->path, L->ncols, k);
    mlpc_status s = spec ? find_label_col(L, spec, &idx, err) : MLPC_OK;
    if (s != MLPC_OK) return s;
    if ((size_t)idx + k > L->ncols)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %zu target columns from column %ld on run past the last of %zu columns",
                           L->path, k, idx + 1, L->ncols);
    L->lab0 = (size_t)idx;
    L->nlab = k;
    return MLPC_OK;
}

/* First pass: counts data rows and checks that every row has ncols fields. */
static mlpc_status count_rows(csv_load *L, mlpc_error *err)
{
    csv_cur c = L->data;
    long line = 0, k;
    while ((k = csv_row(&c, NULL, 0, &line)) > 0) {
        if ((size_t)k != L->ncols)
            return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: ragged rows: %ld fields, expected %zu as in line %ld",
                               L->path, line, k, L->ncols, L->first_line);
        L->nrows++;
    }
    if (k < 0) return tok_error(L, line, &c, err);
    if (L->nrows == 0)
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: no data rows (only a header)", L->path);
    return MLPC_OK;
}

/* ------------------------------------------------------------ values */

static mlpc_status store_target(const csv_load *L, mlpc_dataset *d, size_t i, size_t j, double v,
                                long line, mlpc_error *err)
{
    if (L->task == MLPC_TASK_REGRESS) {
        d->targets[i * L->nlab + (j - L->lab0)] = (float)v;
        return MLPC_OK;
    }
    if (v < 0 || v > MLPC_DATA_MAX_LABEL || v != floor(v)) {
        char col[100];
        col_desc(L, j, col, sizeof col);
        int w = L->f[j].len > 40 ? 40 : (int)L->f[j].len;
        return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: %s: label '%.*s' is not a non-negative integer (0..%d)",
                           L->path, line, col, w, L->f[j].s, MLPC_DATA_MAX_LABEL);
    }
    d->labels[i] = (int32_t)v;
    return MLPC_OK;
}

static mlpc_status fill_row(const csv_load *L, mlpc_dataset *d, size_t i, long line, mlpc_error *err)
{
    float *x = d->x + i * d->n_in;
    for (size_t j = 0; j < L->ncols; j++) {
        double v;
        int r = parse_number(&L->f[j], &v, L->delim != ',');
        if (r != NUM_OK) return bad_value(L, line, j, &L->f[j], r, err);
        if (j < L->lab0 || j >= L->lab0 + L->nlab) *x++ = (float)v;
        else if (store_target(L, d, i, j, v, line, err) != MLPC_OK) return MLPC_ERR_FORMAT;
    }
    return MLPC_OK;
}

static mlpc_dataset *csv_build(csv_load *L, mlpc_error *err)
{
    size_t n_out = L->nlab == 0 ? 0 : L->task == MLPC_TASK_CLASSIFY ? 2 : L->nlab;
    mlpc_dataset *d = mlpc_dataset_alloc(L->nrows, L->ncols - L->nlab, L->task, n_out, L->path, err);
    if (!d) return NULL;
    csv_cur c = L->data;
    long line;
    for (size_t i = 0; i < L->nrows; i++) {
        csv_row(&c, L->f, L->ncols, &line);
        if (fill_row(L, d, i, line, err) != MLPC_OK) goto fail;
    }
    if (L->nlab && L->task == MLPC_TASK_CLASSIFY && mlpc_data_finish_labels(d, L->path, err) != MLPC_OK)
        goto fail;
    return d;
fail:
    mlpc_dataset_free(d);
    return NULL;
}

static void csv_free(csv_load *L)
{
    if (L->names)
        for (size_t j = 0; j < L->ncols; j++) free(L->names[j]);
    free(L->names);
    free(L->f);
    free(L->buf);
}

/* One line on how the file was read, for mlpc_dataset_describe. */
static void describe(const csv_load *L, mlpc_dataset *d)
{
    char dl[16];
    if (L->delim == '\t') snprintf(dl, sizeof dl, "tab");
    else if (L->delim == ' ') snprintf(dl, sizeof dl, "spaces");
    else snprintf(dl, sizeof dl, "'%c'", L->delim);
    size_t n = (size_t)snprintf(d->describe, sizeof d->describe, "csv: delimiter %s, ", dl);
    if (L->names) n += (size_t)snprintf(d->describe + n, sizeof d->describe - n, "header (%zu names)", L->ncols);
    else n += (size_t)snprintf(d->describe + n, sizeof d->describe - n, "no header");
    if (n >= sizeof d->describe || !L->nlab) return;
    char col[100];
    col_desc(L, L->lab0, col, sizeof col);
    if (L->task == MLPC_TASK_CLASSIFY)
        snprintf(d->describe + n, sizeof d->describe - n, ", label %s with %d classes", col, d->n_classes);
    else
        snprintf(d->describe + n, sizeof d->describe - n, ", %zu target column(s) from %s", L->nlab, col);
}

/* n_targets 0: every column is a feature. */
static mlpc_dataset *csv_load_file(const char *path, int header, const char *label_col,
                                   size_t n_targets, mlpc_task task, char delim, long skip, mlpc_error *err)
{
    csv_load L;
    memset(&L, 0, sizeof L);
    L.path = mlpc_path_name(path); /* "-": standard input */
    L.task = task;
    if (!path || !*path) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no CSV file given");
        return NULL;
    }
    if (delim == '"' || delim == '\n' || delim == '\r') {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: invalid CSV delimiter", path);
        return NULL;
    }
    mlpc_dataset *d = NULL;
    if (skip < 0) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: skip_rows %ld must be zero or positive", path, skip);
        return NULL;
    }
    if (mlpc_read_file(path, &L.buf, &L.len, err) == MLPC_OK && csv_open(&L, header, delim, skip, err) == MLPC_OK &&
        (n_targets == 0 || resolve_label(&L, label_col, n_targets, err) == MLPC_OK) &&
        count_rows(&L, err) == MLPC_OK)
        d = csv_build(&L, err);
    if (d) describe(&L, d);
    csv_free(&L);
    if (d) mlpc_clearerr(err);
    return d;
}

mlpc_dataset *mlpc_dataset_load_csv(const char *path, const mlpc_csv_options *opt, mlpc_error *err)
{
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    if (opt) o = *opt;
    if (o.task != MLPC_TASK_CLASSIFY && o.task != MLPC_TASK_REGRESS) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: unknown task %d", path ? path : "csv", (int)o.task);
        return NULL;
    }
    if (o.task == MLPC_TASK_REGRESS && o.n_targets < 1) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: n_targets must be at least 1 (got %d)", path ? path : "csv",
                    o.n_targets);
        return NULL;
    }
    if (o.n_targets < 0) {
        mlpc_seterr(err, MLPC_ERR_ARG, "%s: n_targets must be zero or positive (got %d)", path ? path : "csv",
                    o.n_targets);
        return NULL;
    }
    size_t k = o.task == MLPC_TASK_REGRESS || o.n_targets == 0 ? (size_t)o.n_targets : 1;
    return csv_load_file(path, o.header, o.label_col, k, o.task, o.delim, o.skip_rows, err);
}

mlpc_dataset *mlpc_dataset_load_csv_features(const char *path, int header, mlpc_error *err)
{
    return csv_load_file(path, header, NULL, 0, MLPC_TASK_CLASSIFY, 0, 0, err);
}
