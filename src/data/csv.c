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
    size_t *tcol;      /* target columns, in the order given */
    size_t nlab;       /* how many */
    int *tpos;         /* per column: its place among the targets, -1 for a feature */
    int onehot;        /* classify with several target columns */
    int auto_onehot;   /* ... found without a target spec */
    mlpc_task task;
    const mlpc_csv_options *o;
    char **ltxt;       /* classify, one label column: each kept row's label text */
    long *lline;       /* ... and its line */
    size_t kept;       /* rows kept (the others had a missing value) */
    int all_targets;   /* a labels file: every column is a target */
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

/* An empty field, NA, NaN, N/A, ?, null (any case): what pandas, R and Excel write. */
static int is_missing(const csv_field *f)
{
    static const char *const words[] = {"na", "nan", "n/a", "?", "null", "-nan"};
    if (f->len == 0) return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (f->len == strlen(words[i]) && !strncasecmp(f->s, words[i], f->len)) return 1;
    return 0;
}

/* ------------------------------------------------------------ target columns */

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
    return mlpc_seterr(err, MLPC_ERR_ARG, "%s: no column named '%s' for the target (columns: %s)",
                       L->path, spec, list);
}

static int find_name(const csv_load *L, const char *s, size_t len, long *idx)
{
    for (size_t j = 0; L->names && j < L->ncols; j++)
        if (strlen(L->names[j]) == len && !strncmp(L->names[j], s, len)) {
            *idx = (long)j;
            return 1;
        }
    return 0;
}

/* One column: a header name (exact), else a 0-based index (negative from the end). */
static mlpc_status find_col(const csv_load *L, const char *s, size_t len, long *idx, mlpc_error *err)
{
    char tmp[256];
    if (len >= sizeof tmp) len = sizeof tmp - 1;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (find_name(L, s, len, idx)) return MLPC_OK;
    if (parse_index(tmp, idx)) {
        if (*idx < 0) *idx += (long)L->ncols;
        if (*idx < 0 || (size_t)*idx >= L->ncols)
            return mlpc_seterr(err, MLPC_ERR_ARG, "%s: target column %s is out of range (the file has %zu columns)",
                               L->path, tmp, L->ncols);
        return MLPC_OK;
    }
    if (!L->names)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: target column '%s' is given by name but the file has no header row",
                           L->path, tmp);
    return unknown_column(L, tmp, err);
}

static mlpc_status add_target(csv_load *L, long j, mlpc_error *err)
{
    if (L->tpos[j] >= 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: target column %ld is given twice", L->path, j + 1);
    L->tpos[j] = (int)L->nlab;
    L->tcol[L->nlab++] = (size_t)j;
    return MLPC_OK;
}

/* One item of the list: a column, "a:b" or "3-5" (inclusive ranges). */
static mlpc_status add_item(csv_load *L, const char *s, size_t len, mlpc_error *err)
{
    long a, b;
    const char *sep = memchr(s, ':', len);
    int dash = 0;
    if (!sep && !find_name(L, s, len, &a)) { /* "3-5", but not a name like "x-1" or "-1" */
        const char *m = len > 1 ? memchr(s + 1, '-', len - 1) : NULL;
        if (m && isdigit((unsigned char)s[0]) && m + 1 < s + len && isdigit((unsigned char)m[1])) {
            sep = m;
            dash = 1;
        }
    }
    if (!sep) {
        mlpc_status st = find_col(L, s, len, &a, err);
        return st ? st : add_target(L, a, err);
    }
    mlpc_status st = find_col(L, s, (size_t)(sep - s), &a, err);
    if (!st) st = find_col(L, sep + 1, len - (size_t)(sep - s) - 1, &b, err);
    if (st) return st;
    if (b < a)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: target range '%.*s' runs backwards", L->path, (int)len, s);
    (void)dash;
    for (long j = a; j <= b; j++)
        if ((st = add_target(L, j, err))) return st;
    return MLPC_OK;
}

static mlpc_status parse_targets(csv_load *L, const char *spec, mlpc_error *err)
{
    long one;
    if (find_name(L, spec, strlen(spec), &one)) return add_target(L, one, err); /* a name with a comma */
    for (const char *p = spec;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) p++, len--;
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if (!len) return mlpc_seterr(err, MLPC_ERR_ARG, "%s: empty item in the target list '%s'", L->path, spec);
        mlpc_status st = add_item(L, p, len, err);
        if (st) return st;
        if (!e) return MLPC_OK;
        p = e + 1;
    }
}

/* Classify without a spec: the smallest run of >= 2 trailing columns,
 * all 0/1, that sums to 1 in every row (one-hot classes); 0 if none. */
static size_t trailing_onehot(csv_load *L)
{
    size_t run = L->ncols - 1;
    csv_cur c = L->data;
    long line, k;
    double v;
    while (run >= 2 && (k = csv_row(&c, L->f, L->ncols, &line)) > 0) { /* shortest trailing 0/1 run */
        if ((size_t)k != L->ncols) return 0;
        size_t r = 0;
        while (r < run && parse_number(&L->f[L->ncols - 1 - r], &v, L->delim != ',') == NUM_OK && (v == 0 || v == 1)) r++;
        run = r;
    }
    for (size_t w = 2; w <= run && w < 64; w++) {
        int ok = 1;
        c = L->data;
        while (ok && (k = csv_row(&c, L->f, L->ncols, &line)) > 0) {
            double sum = 0;
            for (size_t j = L->ncols - w; j < L->ncols; j++) {
                parse_number(&L->f[j], &v, L->delim != ',');
                sum += v;
            }
            ok = sum == 1;
        }
        if (ok) return w;
    }
    return 0;
}

static mlpc_status resolve_targets(csv_load *L, const char *spec, size_t k, mlpc_error *err)
{
    L->tcol = calloc(L->ncols, sizeof *L->tcol);
    L->tpos = malloc(L->ncols * sizeof *L->tpos);
    if (!L->tcol || !L->tpos) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
    for (size_t j = 0; j < L->ncols; j++) L->tpos[j] = -1;
    mlpc_status st = MLPC_OK;
    if (spec) {
        st = parse_targets(L, spec, err);
    } else {
        size_t w = L->task == MLPC_TASK_CLASSIFY && k == 1 ? trailing_onehot(L) : 0;
        L->auto_onehot = w > 0;
        size_t n = w ? w : k;
        if (n > L->ncols) n = L->ncols;
        for (size_t j = L->ncols - n; j < L->ncols; j++) add_target(L, (long)j, err);
    }
    if (st) return st;
    if (L->task == MLPC_TASK_REGRESS && L->nlab == 1 && k > 1) { /* n_targets columns from the one named */
        size_t j0 = L->tcol[0];
        if (j0 + k > L->ncols)
            return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %zu target columns from column %zu on run past the last of %zu columns",
                               L->path, k, j0 + 1, L->ncols);
        for (size_t j = j0 + 1; j < j0 + k; j++)
            if ((st = add_target(L, (long)j, err))) return st;
    }
    if (L->nlab >= L->ncols && !L->all_targets)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: the file has %zu column(s): none left for features besides %zu target column(s)",
                           L->path, L->ncols, L->nlab);
    L->onehot = L->task == MLPC_TASK_CLASSIFY && L->nlab > 1;
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

static mlpc_status missing_error(const csv_load *L, long line, size_t j, const csv_field *f, mlpc_error *err)
{
    char col[100];
    col_desc(L, j, col, sizeof col);
    int target = L->tpos && L->tpos[j] >= 0;
    return mlpc_seterr(err, MLPC_ERR_FORMAT, "%s:%ld: %s: missing value%s%.*s%s%s", L->path, line, col,
                       f->len ? " '" : "", (int)(f->len > 20 ? 20 : f->len), f->s, f->len ? "'" : " (empty field)",
                       target ? " in a target column (--missing drop skips such rows)"
                              : " (--missing drop skips such rows, --missing mean fills the column mean)");
}

static mlpc_status onehot_error(const csv_load *L, long line, mlpc_error *err)
{
    char a[100], b[100];
    col_desc(L, L->tcol[0], a, sizeof a);
    col_desc(L, L->tcol[L->nlab - 1], b, sizeof b);
    return mlpc_seterr(err, MLPC_ERR_FORMAT,
                       "%s:%ld: target %s to %s: not one-hot (each row needs one 1, the rest 0); "
                       "for several numeric targets use the regress task",
                       L->path, line, a, b);
}

/* 1: the row is to be kept, 0: dropped, -1: error. */
static int row_missing(csv_load *L, long line, mlpc_error *err)
{
    for (size_t j = 0; j < L->ncols; j++) {
        if (!is_missing(&L->f[j])) continue;
        int target = L->tpos[j] >= 0;
        if (L->o->missing == MLPC_MISSING_ERROR) {
            missing_error(L, line, j, &L->f[j], err);
            return -1;
        }
        if (L->o->missing == MLPC_MISSING_DROP || target) return 0;
    }
    return 1;
}

static mlpc_status fill_row(csv_load *L, mlpc_dataset *d, size_t i, long line, mlpc_error *err)
{
    float *x = d->x + i * d->n_in;
    int hot = -1, label = !L->onehot && L->nlab && L->task == MLPC_TASK_CLASSIFY;
    for (size_t j = 0; j < L->ncols; j++) {
        int t = L->tpos[j];
        if (t >= 0 && label) { /* the label's text, mapped when all rows are in */
            if (!(L->ltxt[i] = field_dup(&L->f[j]))) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
            L->lline[i] = line;
            continue;
        }
        double v;
        if (t < 0 && is_missing(&L->f[j])) { /* kept only under missing = mean */
            *x++ = NAN;
            d->n_missing++;
            continue;
        }
        int r = parse_number(&L->f[j], &v, L->delim != ',');
        if (r != NUM_OK) return bad_value(L, line, j, &L->f[j], r, err);
        if (t < 0) *x++ = (float)v;
        else if (!L->onehot) d->targets[i * L->nlab + (size_t)t] = (float)v;
        else if (v == 1 && hot < 0) hot = t;
        else if (v != 0) return onehot_error(L, line, err);
    }
    if (L->onehot && hot < 0) return onehot_error(L, line, err);
    if (L->onehot) d->labels[i] = hot;
    return MLPC_OK;
}

static mlpc_status finish_classes(csv_load *L, mlpc_dataset *d, mlpc_error *err)
{
    const mlpc_csv_options *o = L->o;
    if (L->onehot) {
        d->n_classes = (int)L->nlab;
        d->n_out = L->nlab;
        if (o->n_class_names > 0) return mlpc_data_copy_names(d, o->class_names, o->n_class_names, err);
        if (!L->names) return MLPC_OK;
        const char **nm = malloc(L->nlab * sizeof *nm);
        if (!nm) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
        for (size_t t = 0; t < L->nlab; t++) nm[t] = L->names[L->tcol[t]];
        mlpc_status st = mlpc_data_copy_names(d, nm, (int)L->nlab, err);
        free(nm);
        return st;
    }
    char col[100];
    col_desc(L, L->tcol[0], col, sizeof col);
    mlpc_label_src src = {L->path, L->lline, col};
    return mlpc_data_labels_from_text(d, L->ltxt, &src, o->class_names, o->n_class_names, err);
}

static mlpc_dataset *csv_build(csv_load *L, mlpc_error *err)
{
    size_t n_out = L->nlab == 0 ? 0 : L->task == MLPC_TASK_CLASSIFY ? 2 : L->nlab;
    mlpc_dataset *d = mlpc_dataset_alloc(L->nrows, L->ncols - L->nlab, L->task, n_out, L->path, err);
    if (!d) return NULL;
    int label = !L->onehot && L->nlab && L->task == MLPC_TASK_CLASSIFY;
    if (label && (!(L->ltxt = calloc(L->nrows + 1, sizeof *L->ltxt)) || !(L->lline = calloc(L->nrows + 1, sizeof *L->lline)))) {
        mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L->path);
        goto fail;
    }
    csv_cur c = L->data;
    long line;
    for (size_t r = 0; r < L->nrows; r++) {
        csv_row(&c, L->f, L->ncols, &line);
        int keep = row_missing(L, line, err);
        if (keep < 0) goto fail;
        if (!keep) {
            d->n_dropped++;
            continue;
        }
        if (fill_row(L, d, L->kept, line, err) != MLPC_OK) goto fail;
        L->kept++;
    }
    if (L->kept == 0) {
        mlpc_seterr(err, MLPC_ERR_FORMAT, "%s: no rows left: all %zu have a missing value", L->path, L->nrows);
        goto fail;
    }
    d->n = L->kept;
    if (L->nlab && L->task == MLPC_TASK_CLASSIFY && finish_classes(L, d, err) != MLPC_OK) goto fail;
    return d;
fail:
    mlpc_dataset_free(d);
    return NULL;
}

static void csv_free(csv_load *L)
{
    if (L->names)
        for (size_t j = 0; j < L->ncols; j++) free(L->names[j]);
    if (L->ltxt)
        for (size_t i = 0; i < L->nrows; i++) free(L->ltxt[i]);
    free(L->ltxt);
    free(L->lline);
    free(L->names);
    free(L->f);
    free(L->tcol);
    free(L->tpos);
    free(L->buf);
}

/* "'species' with 3 classes (setosa, versicolor, virginica)" into buf. */
static size_t describe_classes(const csv_load *L, const mlpc_dataset *d, char *buf, size_t cap)
{
    char col[100];
    size_t n;
    if (L->onehot) {
        n = (size_t)snprintf(buf, cap, ", target: %sone-hot columns %zu-%zu (%d classes", L->auto_onehot ? "trailing " : "",
                             L->tcol[0] + 1, L->tcol[L->nlab - 1] + 1, d->n_classes);
    } else {
        col_desc(L, L->tcol[0], col, sizeof col);
        n = (size_t)snprintf(buf, cap, ", target %s with %d classes", col, d->n_classes);
        if (d->n_names) n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, " (");
    }
    for (int k = 0; k < d->n_names && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? ", " : L->onehot ? ": " : "", d->class_names[k]);
    if (L->onehot || d->n_names) n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ")");
    return n;
}

/* One line on how the file was read, for mlpc_dataset_describe. */
static void describe(const csv_load *L, mlpc_dataset *d)
{
    char dl[16], *o = d->describe;
    size_t cap = sizeof d->describe;
    if (L->delim == '\t') snprintf(dl, sizeof dl, "tab");
    else if (L->delim == ' ') snprintf(dl, sizeof dl, "spaces");
    else snprintf(dl, sizeof dl, "'%c'", L->delim);
    size_t n = (size_t)snprintf(o, cap, "csv: delimiter %s, ", dl);
    if (L->names) n += (size_t)snprintf(o + n, cap - n, "header (%zu names)", L->ncols);
    else n += (size_t)snprintf(o + n, cap - n, "no header");
    if (n < cap && L->nlab && L->task == MLPC_TASK_CLASSIFY) {
        n += describe_classes(L, d, o + n, cap - n);
    } else if (n < cap && L->nlab) {
        char col[100];
        col_desc(L, L->tcol[0], col, sizeof col);
        n += (size_t)snprintf(o + n, cap - n, ", %zu target column(s) from %s", L->nlab, col);
    }
    if (n < cap && d->n_dropped)
        n += (size_t)snprintf(o + n, cap - n, ", %zu row(s) with missing values dropped", d->n_dropped);
    if (n < cap && d->n_missing)
        n += (size_t)snprintf(o + n, cap - n, ", %zu missing value(s) to fill with training means", d->n_missing);
    if (n >= cap) memcpy(o + cap - 4, "...", 4);
}

static mlpc_status check_options(const char *path, const mlpc_csv_options *o, mlpc_error *err)
{
    if (!path || !*path) return mlpc_seterr(err, MLPC_ERR_ARG, "no CSV file given");
    const char *p = mlpc_path_name(path);
    if (o->task != MLPC_TASK_CLASSIFY && o->task != MLPC_TASK_REGRESS)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: unknown task %d", p, (int)o->task);
    if (o->task == MLPC_TASK_REGRESS && o->n_targets < 1)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: n_targets must be at least 1 (got %d)", p, o->n_targets);
    if (o->n_targets < 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: n_targets must be zero or positive (got %d)", p, o->n_targets);
    if (o->delim == '"' || o->delim == '\n' || o->delim == '\r')
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: invalid CSV delimiter", p);
    if (o->skip_rows < 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: skip_rows %d must be zero or positive", p, o->skip_rows);
    if ((unsigned)o->missing > MLPC_MISSING_MEAN)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: unknown missing-value mode %d", p, (int)o->missing);
    if (o->n_class_names > 0 && !o->class_names)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: %d class names announced but none given", p, o->n_class_names);
    return MLPC_OK;
}

static mlpc_dataset *csv_load_file(const char *path, const mlpc_csv_options *o, mlpc_error *err)
{
    csv_load L;
    memset(&L, 0, sizeof L);
    L.path = mlpc_path_name(path); /* "-": standard input */
    L.task = o->task;
    L.o = o;
    if (check_options(path, o, err) != MLPC_OK) return NULL;
    mlpc_dataset *d = NULL;
    size_t k = o->task == MLPC_TASK_REGRESS || o->n_targets == 0 ? (size_t)o->n_targets : 1;
    if (mlpc_read_file(path, &L.buf, &L.len, err) == MLPC_OK && csv_open(&L, o->header, o->delim, o->skip_rows, err) == MLPC_OK &&
        count_rows(&L, err) == MLPC_OK) {
        if (k == 0 && !(L.tpos = malloc(L.ncols * sizeof *L.tpos))) mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", L.path);
        else if (k == 0) for (size_t j = 0; j < L.ncols; j++) L.tpos[j] = -1;
        if ((k == 0 && L.tpos) || (k > 0 && resolve_targets(&L, o->label_col, k, err) == MLPC_OK))
            d = csv_build(&L, err);
    }
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
    return csv_load_file(path, &o, err);
}

/* 1 when a one-column file's header name occurs again as a value below it. */
static int name_recurs(csv_load *L)
{
    csv_cur c = L->data;
    long line;
    while (csv_row(&c, L->f, 1, &line) > 0) {
        char *v = field_dup(&L->f[0]);
        int same = v && !strcmp(v, L->names[0]);
        free(v);
        if (same) return 1;
    }
    return 0;
}

mlpc_dataset *mlpc_csv_load_labels(const char *path, const mlpc_csv_options *opt, mlpc_error *err)
{
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    if (opt) o = *opt;
    if (o.n_targets < 1) o.n_targets = 1;
    csv_load L;
    memset(&L, 0, sizeof L);
    L.path = path;
    L.task = o.task;
    L.o = &o;
    L.all_targets = 1;
    if (check_options(path, &o, err) != MLPC_OK) return NULL;
    mlpc_dataset *d = NULL;
    int ok = mlpc_read_file(path, &L.buf, &L.len, err) == MLPC_OK && csv_open(&L, o.header, o.delim, o.skip_rows, err) == MLPC_OK;
    if (ok && o.header < 0 && L.names && L.ncols == 1 && name_recurs(&L)) { /* "owl" over owl, cat, owl: no header */
        free(L.names[0]);
        free(L.names);
        free(L.f);
        L.names = NULL;
        L.f = NULL;
        ok = csv_open(&L, 0, o.delim, o.skip_rows, err) == MLPC_OK;
    }
    if (ok && count_rows(&L, err) == MLPC_OK && resolve_targets(&L, NULL, L.ncols, err) == MLPC_OK)
        d = csv_build(&L, err);
    if (d) describe(&L, d);
    csv_free(&L);
    if (d) mlpc_clearerr(err);
    return d;
}

mlpc_dataset *mlpc_dataset_load_csv_features(const char *path, int header, mlpc_error *err)
{
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.header = header;
    o.n_targets = 0;
    return csv_load_file(path, &o, err);
}
