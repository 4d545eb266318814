/* test_data.c - dataset loaders (IDX, CSV, NPY, Lorenz), slicing, and every
 * malformed input we can think of: each must fail with the right code and a
 * one-line message naming the file and the reason. */
#include "testutil.h"

#include "internal.h"

#include <math.h>
#include <sys/stat.h>
#include <zlib.h>

/* ------------------------------------------------------------ helpers */

/* Asserts a failed load: NULL, code, and a message naming `part` and `word`. */
static void expect_fail(mlpc_dataset *d, const mlpc_error *e, mlpc_status code, const char *part,
                        const char *word)
{
    if (d) {
        mlpc_dataset_free(d);
        fail_msg("expected a failure mentioning '%s', got a dataset", word);
    }
    if (e->code != code || !strstr(e->msg, part) || !strstr(e->msg, word))
        fail_msg("got code %d '%s'; want code %d naming '%s' and '%s'", e->code, e->msg, code, part, word);
    assert_null(strchr(e->msg, '\n'));
    if (getenv("MLPC_TEST_VERBOSE")) printf("  [%s] %s\n", mlpc_status_str(e->code), e->msg);
}

static mlpc_error fresh_err(void)
{
    mlpc_error e;
    memset(&e, 0, sizeof e);
    e.code = MLPC_OK;
    return e;
}

/* gzip-compresses data into a file in the temp dir. */
static const char *write_gz(const char *name, const void *data, size_t len)
{
    const char *p = tu_path(name);
    gzFile g = gzopen(p, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
    return p;
}

/* The bytes of a file (for corrupting gzip output). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file: header for `type` and dims, then `len` data bytes. */
static const char *write_idx(const char *name, int type, int ndim, const uint32_t *dims,
                             const void *data, size_t len)
{
    size_t hdr = 4 + 4 * (size_t)ndim;
    unsigned char *b = calloc(1, hdr + len + 1);
    assert_non_null(b);
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) put_be32(b + 4 + 4 * i, dims[i]);
    if (len) memcpy(b + hdr, data, len);
    const char *p = tu_write(name, b, hdr + len);
    free(b);
    return p;
}

/* 3 images of 2x2 and their labels 0, 2, 1. */
static const unsigned char IMG3[12] = {0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 64, 0};
static const unsigned char LAB3[3] = {0, 2, 1};
static const uint32_t IMG3_DIMS[3] = {3, 2, 2};
static const uint32_t LAB3_DIMS[1] = {3};

/* A .npy file image in memory (header padded to 64 bytes). */
static unsigned char *make_npy(const char *descr, const char *fortran, const char *shape,
                               const void *data, size_t len, int version, size_t *out_len)
{
    char dict[256];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                      fortran, shape);
    size_t pre = version == 1 ? 10 : 12;
    size_t hlen = (size_t)dl + 1;
    while ((pre + hlen) % 64) hlen++;
    unsigned char *b = calloc(1, pre + hlen + len + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)version;
    b[7] = 0;
    if (version == 1) {
        b[8] = (unsigned char)hlen;
        b[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memset(b + pre, ' ', hlen);
    memcpy(b + pre, dict, (size_t)dl);
    b[pre + hlen - 1] = '\n';
    if (len) memcpy(b + pre + hlen, data, len);
    *out_len = pre + hlen + len;
    return b;
}

static const char *write_npy(const char *name, const char *descr, const char *fortran,
                             const char *shape, const void *data, size_t len)
{
    size_t n;
    unsigned char *b = make_npy(descr, fortran, shape, data, len, 1, &n);
    const char *p = tu_write(name, b, n);
    free(b);
    return p;
}

/* ------------------------------------------------------------ IDX */

static void check_idx3(mlpc_dataset *d, const char *src)
{
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 3);
    assert_int_equal(mlpc_dataset_features(d), 4);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_CLASSIFY);
    assert_true(mlpc_dataset_has_targets(d));
    assert_null(mlpc_dataset_targets(d));
    for (int i = 0; i < 12; i++) assert_true(mlpc_dataset_x(d)[i] == (float)IMG3[i]);
    for (int i = 0; i < 3; i++) assert_int_equal(mlpc_dataset_labels(d)[i], LAB3[i]);
    assert_string_equal(mlpc_dataset_source(d), src);
}

static void test_idx_plain(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *im = write_idx("plain-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const char *lb = write_idx("plain-labels.idx", 0x08, 1, LAB3_DIMS, LAB3, 3);
    mlpc_dataset *d = mlpc_dataset_load_idx(im, lb, &e);
    check_idx3(d, im);
    assert_int_equal(e.code, MLPC_OK);
    mlpc_dataset_free(d);
    d = mlpc_dataset_load(im, lb, &e); /* dispatch by content */
    check_idx3(d, im);
    mlpc_dataset_free(d);
}

static void test_idx_gzip(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *im0 = write_idx("gz-src-images", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const char *lb0 = write_idx("gz-src-labels", 0x08, 1, LAB3_DIMS, LAB3, 3);
    size_t ni, nl;
    unsigned char *bi = slurp(im0, &ni), *bl = slurp(lb0, &nl);
    const char *im = write_gz("images.idx.gz", bi, ni);
    const char *lb = write_gz("labels.idx.gz", bl, nl);
    mlpc_dataset *d = mlpc_dataset_load_idx(im, lb, &e);
    check_idx3(d, im);
    mlpc_dataset_free(d);
    d = mlpc_dataset_load(im, lb, &e); /* gzip'ed IDX recognised by content */
    check_idx3(d, im);
    mlpc_dataset_free(d);
    free(bi);
    free(bl);
}

static void test_idx_features_only_and_types(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *im = write_idx("feat-only.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    mlpc_dataset *d = mlpc_dataset_load_idx(im, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 0);
    assert_false(mlpc_dataset_has_targets(d));
    assert_null(mlpc_dataset_labels(d));
    mlpc_dataset_free(d);

    /* float32 big-endian images, 2 rows of 2 (2-D), int32 labels */
    unsigned char fb[16];
    const float fv[4] = {1.5f, -2.0f, 0.25f, 100.0f};
    for (int i = 0; i < 4; i++) {
        uint32_t u;
        memcpy(&u, &fv[i], 4);
        put_be32(fb + 4 * i, u);
    }
    const uint32_t fd[2] = {2, 2}, ld[1] = {2};
    unsigned char lbytes[8] = {0, 0, 0, 4, 0, 0, 0, 1};
    const char *fim = write_idx("float-images.idx", 0x0D, 2, fd, fb, 16);
    const char *flb = write_idx("int-labels.idx", 0x0C, 1, ld, lbytes, 8);
    d = mlpc_dataset_load_idx(fim, flb, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_features(d), 2);
    for (int i = 0; i < 4; i++) assert_true(mlpc_dataset_x(d)[i] == fv[i]);
    assert_int_equal(mlpc_dataset_labels(d)[0], 4);
    assert_int_equal(mlpc_dataset_outputs(d), 5);
    mlpc_dataset_free(d);

    /* all labels 0: still two classes */
    const unsigned char zeros[3] = {0, 0, 0};
    const char *zl = write_idx("zero-labels.idx", 0x08, 1, LAB3_DIMS, zeros, 3);
    d = mlpc_dataset_load_idx(im, zl, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    mlpc_dataset_free(d);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *im = write_idx("trunc-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 7);
    expect_fail(mlpc_dataset_load_idx(im, NULL, &e), &e, MLPC_ERR_FORMAT, "trunc-images.idx", "truncated");
    assert_non_null(strstr(e.msg, "3 images of 2x2"));
    assert_non_null(strstr(e.msg, "23 bytes"));
    /* header cut short */
    const char *h = tu_write("short-header.idx", "\0\0\x08\x03\0\0", 6);
    expect_fail(mlpc_dataset_load_idx(h, NULL, &e), &e, MLPC_ERR_FORMAT, "short-header.idx", "truncated");
    /* labels truncated */
    const char *im2 = write_idx("ok-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const char *lb = write_idx("trunc-labels.idx", 0x08, 1, LAB3_DIMS, LAB3, 2);
    expect_fail(mlpc_dataset_load_idx(im2, lb, &e), &e, MLPC_ERR_FORMAT, "trunc-labels.idx", "truncated");
}

static void test_idx_trailing(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    unsigned char more[13];
    memcpy(more, IMG3, 12);
    more[12] = 7;
    const char *im = write_idx("long-images.idx", 0x08, 3, IMG3_DIMS, more, 13);
    expect_fail(mlpc_dataset_load_idx(im, NULL, &e), &e, MLPC_ERR_FORMAT, "long-images.idx", "trailing");
}

static void test_idx_bad_magic(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write("magic-images.idx", "PK\x03\x04xxxxxxxxxxxx", 16);
    expect_fail(mlpc_dataset_load_idx(p, NULL, &e), &e, MLPC_ERR_FORMAT, "magic-images.idx", "magic");
    const char *q = tu_write("badtype-images.idx", "\0\0\x07\x01\0\0\0\x01x", 9);
    expect_fail(mlpc_dataset_load_idx(q, NULL, &e), &e, MLPC_ERR_FORMAT, "badtype-images.idx", "magic");
    /* a labels file that is not IDX */
    const char *im = write_idx("magic-ok-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const char *lb = tu_write_str("magic-labels.csv", "0\n2\n1\n");
    expect_fail(mlpc_dataset_load_idx(im, lb, &e), &e, MLPC_ERR_FORMAT, "magic-labels.csv", "magic");
}

static void test_idx_overflow(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const uint32_t dims[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    const char *p = write_idx("huge-images.idx", 0x08, 3, dims, IMG3, 12);
    expect_fail(mlpc_dataset_load_idx(p, NULL, &e), &e, MLPC_ERR_FORMAT, "huge-images.idx", "overflow");
    /* large but not overflowing: a plain size mismatch, no allocation */
    const uint32_t big[3] = {0x7FFFu, 0xFFFFu, 0xFFFFu};
    const char *q = write_idx("big-images.idx", 0x0E, 3, big, IMG3, 12);
    expect_fail(mlpc_dataset_load_idx(q, NULL, &e), &e, MLPC_ERR_FORMAT, "big-images.idx", "truncated");
    assert_non_null(strstr(e.msg, "32767 images of 65535x65535"));
}

static void test_idx_count_mismatch(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *im = write_idx("count-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const uint32_t two[1] = {2};
    const char *lb = write_idx("count-labels.idx", 0x08, 1, two, LAB3, 2);
    expect_fail(mlpc_dataset_load_idx(im, lb, &e), &e, MLPC_ERR_SHAPE, "count-labels.idx", "2 labels");
    assert_non_null(strstr(e.msg, "count-images.idx"));
    assert_non_null(strstr(e.msg, "3 images"));
}

static void test_idx_empty_and_bad_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const uint32_t zero[3] = {0, 28, 28};
    const char *p = write_idx("zero-images.idx", 0x08, 3, zero, NULL, 0);
    expect_fail(mlpc_dataset_load_idx(p, NULL, &e), &e, MLPC_ERR_FORMAT, "zero-images.idx", "no images");
    const char *im = write_idx("lab-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    const signed char neg[3] = {0, -1, 1};
    const char *lb = write_idx("neg-labels.idx", 0x09, 1, LAB3_DIMS, neg, 3);
    expect_fail(mlpc_dataset_load_idx(im, lb, &e), &e, MLPC_ERR_FORMAT, "neg-labels.idx", "out of range");
    const uint32_t fl[1] = {3};
    unsigned char f12[12] = {0};
    const char *fp = write_idx("float-labels.idx", 0x0D, 1, fl, f12, 12);
    expect_fail(mlpc_dataset_load_idx(im, fp, &e), &e, MLPC_ERR_FORMAT, "float-labels.idx", "integer");
}

/* Empty, missing and directory paths, through every loader. */
static void test_bad_paths(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *empty = tu_write("empty-file.dat", "", 0);
    const char *missing = tu_path("no-such-file.dat");
    const char *dir = tu_path("a-directory");
    assert_int_equal(mkdir(dir, 0700), 0);
    expect_fail(mlpc_dataset_load_idx(empty, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-file.dat", "empty");
    expect_fail(mlpc_dataset_load_csv(empty, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-file.dat", "empty");
    expect_fail(mlpc_dataset_load_npy(empty, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-file.dat", "empty");
    expect_fail(mlpc_dataset_load(empty, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-file.dat", "empty");
    expect_fail(mlpc_dataset_load_idx(missing, NULL, &e), &e, MLPC_ERR_IO, "no-such-file.dat", "cannot open");
    expect_fail(mlpc_dataset_load_csv(missing, NULL, &e), &e, MLPC_ERR_IO, "no-such-file.dat", "No such file");
    expect_fail(mlpc_dataset_load_npy(missing, NULL, &e), &e, MLPC_ERR_IO, "no-such-file.dat", "cannot open");
    expect_fail(mlpc_dataset_load(missing, NULL, &e), &e, MLPC_ERR_IO, "no-such-file.dat", "cannot open");
    expect_fail(mlpc_dataset_load_idx(dir, NULL, &e), &e, MLPC_ERR_IO, "a-directory", "directory");
    expect_fail(mlpc_dataset_load_csv(dir, NULL, &e), &e, MLPC_ERR_IO, "a-directory", "directory");
    expect_fail(mlpc_dataset_load_npy(dir, NULL, &e), &e, MLPC_ERR_IO, "a-directory", "directory");
    expect_fail(mlpc_dataset_load(dir, NULL, &e), &e, MLPC_ERR_IO, "a-directory", "directory");
    /* a missing labels file is named too */
    const char *im = write_idx("paths-images.idx", 0x08, 3, IMG3_DIMS, IMG3, 12);
    expect_fail(mlpc_dataset_load_idx(im, missing, &e), &e, MLPC_ERR_IO, "no-such-file.dat", "cannot open");
    /* a gzip file that holds nothing */
    const char *gz0 = write_gz("empty-inside.gz", "", 0);
    expect_fail(mlpc_dataset_load_csv(gz0, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-inside.gz", "empty");
}

/* ------------------------------------------------------------ gzip */

static void test_gzip_corrupt(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    unsigned char raw[4000];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)((i * 7919u) >> 3);
    const char *ok = write_gz("corrupt-src.gz", raw, sizeof raw);
    size_t n;
    unsigned char *b = slurp(ok, &n);
    assert_true(n > 40);
    /* flipped bytes in the deflate stream */
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    for (size_t i = 12; i < 30; i++) c[i] ^= 0x5A;
    const char *bad = tu_write("corrupt-data.gz", c, n);
    expect_fail(mlpc_dataset_load_idx(bad, NULL, &e), &e, MLPC_ERR_FORMAT, "corrupt-data.gz", "corrupt");
    expect_fail(mlpc_dataset_load_csv(bad, NULL, &e), &e, MLPC_ERR_FORMAT, "corrupt-data.gz", "corrupt");
    /* a wrong CRC in the trailer */
    memcpy(c, b, n);
    c[n - 8] ^= 0xFF;
    const char *crc = tu_write("corrupt-crc.gz", c, n);
    expect_fail(mlpc_dataset_load_npy(crc, NULL, &e), &e, MLPC_ERR_FORMAT, "corrupt-crc.gz", "corrupt");
    /* cut in the middle */
    const char *cut = tu_write("cut-short.gz", b, n / 2);
    expect_fail(mlpc_dataset_load_idx(cut, NULL, &e), &e, MLPC_ERR_FORMAT, "cut-short.gz", "truncated");
    /* garbage after the stream */
    unsigned char *g = malloc(n + 3);
    memcpy(g, b, n);
    memcpy(g + n, "xyz", 3);
    const char *tail = tu_write("tail-garbage.gz", g, n + 3);
    expect_fail(mlpc_dataset_load_idx(tail, NULL, &e), &e, MLPC_ERR_FORMAT, "tail-garbage.gz", "garbage");
    free(g);
    free(c);
    free(b);
}

/* Two gzip members, the last one small: the buffer must grow past the
 * trailer's size hint, and the bytes must match. */
static void test_gzip_multi_member(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    size_t big = 300000;
    unsigned char *raw = malloc(big + 5);
    for (size_t i = 0; i < big; i++) raw[i] = (unsigned char)(i % 251);
    memcpy(raw + big, "tail!", 5);
    size_t n1, n2;
    unsigned char *m1 = slurp(write_gz("member1.gz", raw, big), &n1);
    unsigned char *m2 = slurp(write_gz("member2.gz", raw + big, 5), &n2);
    unsigned char *cat = malloc(n1 + n2);
    memcpy(cat, m1, n1);
    memcpy(cat + n1, m2, n2);
    const char *p = tu_write("two-members.gz", cat, n1 + n2);
    unsigned char *out = NULL;
    size_t len = 0;
    assert_int_equal(mlpc_read_file(p, &out, &len, &e), MLPC_OK);
    assert_int_equal(len, big + 5);
    assert_memory_equal(out, raw, big + 5);
    free(out);
    free(cat);
    free(m1);
    free(m2);
    free(raw);
}

/* ------------------------------------------------------------ CSV */

static void test_csv_header_label_by_name(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("named.csv", "a,b,label\n1,2,0\n3.5,-4e1,2\n");
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.label_col = "label";
    mlpc_dataset *d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    const float want[4] = {1, 2, 3.5f, -40};
    assert_memory_equal(mlpc_dataset_x(d), want, sizeof want);
    assert_int_equal(mlpc_dataset_labels(d)[1], 2);
    mlpc_dataset_free(d);
    /* label in the middle, by name: the others stay in order */
    o.label_col = "b";
    const char *q = tu_write_str("middle.csv", "a,b,c\n1,1,5\n2,0,6\n");
    d = mlpc_dataset_load_csv(q, &o, &e);
    assert_non_null(d);
    const float want2[4] = {1, 5, 2, 6};
    assert_memory_equal(mlpc_dataset_x(d), want2, sizeof want2);
    assert_int_equal(mlpc_dataset_labels(d)[0], 1);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    mlpc_dataset_free(d);
}

static void test_csv_no_header_and_index(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("nohdr.csv", "1,2,1\n3,4,0\n5,6,3\n");
    mlpc_dataset *d = mlpc_dataset_load_csv(p, NULL, &e); /* defaults: last column */
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 3);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_int_equal(mlpc_dataset_outputs(d), 4);
    assert_int_equal(mlpc_dataset_labels(d)[2], 3);
    mlpc_dataset_free(d);
    d = mlpc_dataset_load(p, NULL, &e); /* dispatch: CSV */
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 3);
    mlpc_dataset_free(d);
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.label_col = "0";
    d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    /* labels 1, 3, 5 (no 0): classes 0..2 named by the values */
    assert_int_equal(mlpc_dataset_labels(d)[0], 0);
    assert_int_equal(mlpc_dataset_labels(d)[2], 2);
    assert_int_equal(mlpc_dataset_class_names(d), 3);
    assert_string_equal(mlpc_dataset_class_name(d, 2), "5");
    assert_true(mlpc_dataset_x(d)[0] == 2.0f && mlpc_dataset_x(d)[1] == 1.0f);
    mlpc_dataset_free(d);
    o.label_col = "-2"; /* from the end */
    d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[1], 1); /* 2, 4, 6: the class "4" */
    assert_string_equal(mlpc_dataset_class_name(d, 1), "4");
    mlpc_dataset_free(d);
    /* forced header = 1 drops the first row */
    o.label_col = NULL;
    o.header = 1;
    d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    mlpc_dataset_free(d);
}

static void test_csv_regression(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("regress.csv", "x,t1,t2,y\n1,0.5,-0.5,2\n3,1.5,2.5,4\n");
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.task = MLPC_TASK_REGRESS;
    o.label_col = "t1";
    o.n_targets = 2;
    mlpc_dataset *d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_REGRESS);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    assert_null(mlpc_dataset_labels(d));
    const float x[4] = {1, 2, 3, 4}, t[4] = {0.5f, -0.5f, 1.5f, 2.5f};
    assert_memory_equal(mlpc_dataset_x(d), x, sizeof x);
    assert_memory_equal(mlpc_dataset_targets(d), t, sizeof t);
    mlpc_dataset_free(d);
    /* default: the last n_targets columns */
    o.label_col = NULL;
    d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_true(mlpc_dataset_targets(d)[0] == -0.5f && mlpc_dataset_targets(d)[1] == 2.0f);
    mlpc_dataset_free(d);
    /* too many target columns */
    o.n_targets = 4;
    expect_fail(mlpc_dataset_load_csv(p, &o, &e), &e, MLPC_ERR_ARG, "regress.csv", "features");
}

static void test_csv_gzip(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *text = "f1,f2,y\n0.1,0.2,1\n0.3,0.4,0\n";
    const char *p = write_gz("data.csv.gz", text, strlen(text));
    mlpc_dataset *d = mlpc_dataset_load(p, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_true(mlpc_dataset_x(d)[3] == 0.4f);
    assert_int_equal(mlpc_dataset_labels(d)[0], 1);
    mlpc_dataset_free(d);
}

static void test_csv_crlf_delims_quotes(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("crlf.csv", "a;b;c\r\n1;2;0\r\n\r\n3;4;1\r\n\r\n  \r\n");
    mlpc_dataset *d = mlpc_dataset_load_csv(p, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_true(mlpc_dataset_x(d)[2] == 3.0f);
    mlpc_dataset_free(d);
    /* no final newline, tabs, quoted fields (one with the delimiter in it) */
    const char *q = tu_write_str("tabs.tsv", "\"x\"\t\"y, \"\"z\"\"\"\tlab\n\"1.5\"\t 2 \t1\r\n7\t8\t0");
    d = mlpc_dataset_load_csv(q, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    const float x[4] = {1.5f, 2, 7, 8};
    assert_memory_equal(mlpc_dataset_x(d), x, sizeof x);
    assert_int_equal(mlpc_dataset_labels(d)[1], 0);
    mlpc_dataset_free(d);
    /* a quoted header name with a doubled quote is matched unescaped */
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.label_col = "y, \"z\"";
    d = mlpc_dataset_load_csv(q, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[0], 0); /* 2 and 8: classes "2", "8" */
    assert_string_equal(mlpc_dataset_class_name(d, 1), "8");
    mlpc_dataset_free(d);
}

static void test_csv_features_only(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("predict.csv", "a,b,c\n1,2,3\n4,5,6\n");
    mlpc_dataset *d = mlpc_dataset_load_csv_features(p, -1, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_int_equal(mlpc_dataset_features(d), 3);
    assert_false(mlpc_dataset_has_targets(d));
    mlpc_dataset_free(d);
    const char *q = tu_write_str("predict-nohdr.csv", "1,2\n3,4\n");
    d = mlpc_dataset_load_csv_features(q, 0, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_true(mlpc_dataset_x(d)[3] == 4.0f);
    mlpc_dataset_free(d);
}

static void test_csv_bad_values(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("text-value.csv", "id,age,label\n1,2,0\n3,abc,1\n");
    expect_fail(mlpc_dataset_load_csv(p, NULL, &e), &e, MLPC_ERR_FORMAT, "text-value.csv:3:", "'abc' is not a number");
    assert_non_null(strstr(e.msg, "column 2 ('age')"));
    const char *q = tu_write_str("nan-value.csv", "1,2,0\n1,2,0\n3,NaN,1\n");
    expect_fail(mlpc_dataset_load_csv(q, NULL, &e), &e, MLPC_ERR_FORMAT, "nan-value.csv:3:", "missing value 'NaN'");
    assert_non_null(strstr(e.msg, "column 2"));
    const char *r = tu_write_str("inf-value.csv", "1,2,0\n-inf,2,0\n");
    expect_fail(mlpc_dataset_load_csv(r, NULL, &e), &e, MLPC_ERR_FORMAT, "inf-value.csv:2:", "finite");
    const char *s = tu_write_str("empty-value.csv", "1,2,0\n1,,0\n");
    expect_fail(mlpc_dataset_load_csv(s, NULL, &e), &e, MLPC_ERR_FORMAT, "empty-value.csv:2: column 2", "missing value (empty field)");
    const char *t = tu_write_str("huge-value.csv", "1,2,0\n1,1e39,0\n");
    expect_fail(mlpc_dataset_load_csv(t, NULL, &e), &e, MLPC_ERR_FORMAT, "huge-value.csv:2:", "out of range");
}

static void test_csv_bad_structure(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("ragged.csv", "a,b,c\n1,2,0\n\n1,2\n");
    expect_fail(mlpc_dataset_load_csv(p, NULL, &e), &e, MLPC_ERR_FORMAT, "ragged.csv:4:", "ragged");
    assert_non_null(strstr(e.msg, "2 fields, expected 3"));
    const char *q = tu_write_str("header-only.csv", "a,b,c\n\n");
    expect_fail(mlpc_dataset_load_csv(q, NULL, &e), &e, MLPC_ERR_FORMAT, "header-only.csv", "no data rows");
    const char *r = tu_write_str("blank-only.csv", "\n  \r\n\n");
    expect_fail(mlpc_dataset_load_csv(r, NULL, &e), &e, MLPC_ERR_FORMAT, "blank-only.csv", "no data rows");
    const char *s = tu_write_str("unterminated.csv", "a,b\n1,\"2\n");
    expect_fail(mlpc_dataset_load_csv(s, NULL, &e), &e, MLPC_ERR_FORMAT, "unterminated.csv:2:", "unterminated");
    const char *t = tu_write_str("one-column.csv", "1\n2\n");
    expect_fail(mlpc_dataset_load_csv(t, NULL, &e), &e, MLPC_ERR_ARG, "one-column.csv", "features");
}

static void test_csv_bad_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    const char *p = tu_write_str("cols.csv", "a,b,c\n1,2,0\n");
    o.label_col = "target";
    expect_fail(mlpc_dataset_load_csv(p, &o, &e), &e, MLPC_ERR_ARG, "cols.csv", "no column named 'target'");
    assert_non_null(strstr(e.msg, "'a', 'b', 'c'"));
    o.label_col = "7";
    expect_fail(mlpc_dataset_load_csv(p, &o, &e), &e, MLPC_ERR_ARG, "cols.csv", "out of range");
    const char *q = tu_write_str("nohdr-name.csv", "1,2,0\n");
    o.label_col = "c";
    expect_fail(mlpc_dataset_load_csv(q, &o, &e), &e, MLPC_ERR_ARG, "nohdr-name.csv", "no header");
    /* labels through a model's names: one it does not know names file, line, column and label */
    const char *r = tu_write_str("frac-label.csv", "a,y\n1,0\n2,1.5\n");
    const char *const known[2] = {"0", "1"};
    o.label_col = NULL;
    o.class_names = known;
    o.n_class_names = 2;
    expect_fail(mlpc_dataset_load_csv(r, &o, &e), &e, MLPC_ERR_FORMAT, "frac-label.csv:3: column 2 ('y')",
                "label '1.5' is not one of the model's classes (0, 1)");
    /* a model without names: labels must be class indices */
    const char *s = tu_write_str("neg-label.csv", "1,0\n2,-1\n");
    o.n_class_names = 0;
    expect_fail(mlpc_dataset_load_csv(s, &o, &e), &e, MLPC_ERR_FORMAT, "neg-label.csv:2: column 2", "not a non-negative integer");
    /* a CSV has its own labels: a separate labels file is refused */
    const char *t = tu_write_str("own-labels.csv", "1,0\n2,1\n");
    expect_fail(mlpc_dataset_load(t, "other.csv", &e), &e, MLPC_ERR_ARG, "own-labels.csv", "label");
}

/* ------------------------------------------------------------ targets, classes, missing values */

static void test_csv_string_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("iris-like.csv", "a;b;species\n1,5;2;virginica\n2;3;setosa\n3;4;versicolor\n4;5;setosa\n");
    mlpc_dataset *d = mlpc_dataset_load_csv(p, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    assert_int_equal(mlpc_dataset_class_names(d), 3); /* sorted in byte order */
    assert_string_equal(mlpc_dataset_class_name(d, 0), "setosa");
    assert_string_equal(mlpc_dataset_class_name(d, 2), "virginica");
    const int32_t want[4] = {2, 0, 1, 0};
    assert_memory_equal(mlpc_dataset_labels(d), want, sizeof want);
    assert_true(mlpc_dataset_x(d)[0] == 1.5f);
    assert_non_null(strstr(mlpc_dataset_describe(d), "target column 3 ('species') with 3 classes (setosa, versicolor, virginica)"));
    mlpc_dataset_free(d);
}

static void test_csv_numeric_label_sets(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    /* 1..K: classes 0..K-1 named "1".."K" */
    const char *p = tu_write_str("one-to-k.csv", "1,3\n2,1\n3,2\n4,1\n");
    mlpc_dataset *d = mlpc_dataset_load_csv(p, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    assert_int_equal(mlpc_dataset_labels(d)[0], 2);
    assert_string_equal(mlpc_dataset_class_name(d, 0), "1");
    mlpc_dataset_free(d);
    /* -1/+1: sorted numerically, "+1" read as 1 */
    const char *q = tu_write_str("pm-one.csv", "1,+1\n2,-1\n3,1\n");
    d = mlpc_dataset_load_csv(q, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    const int32_t want[3] = {1, 0, 1};
    assert_memory_equal(mlpc_dataset_labels(d), want, sizeof want);
    assert_string_equal(mlpc_dataset_class_name(d, 0), "-1");
    assert_string_equal(mlpc_dataset_class_name(d, 1), "1");
    mlpc_dataset_free(d);
    /* 10 before 9 as strings, but numbers sort as numbers */
    const char *r = tu_write_str("nine-ten.csv", "1,10\n2,9\n");
    d = mlpc_dataset_load_csv(r, NULL, &e);
    assert_non_null(d);
    assert_string_equal(mlpc_dataset_class_name(d, 0), "9");
    mlpc_dataset_free(d);
    /* 0..K-1 stay as they are, without names */
    const char *t = tu_write_str("natural.csv", "1,0\n2,2\n");
    d = mlpc_dataset_load_csv(t, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_class_names(d), 0);
    assert_int_equal(mlpc_dataset_labels(d)[1], 2);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    mlpc_dataset_free(d);
    /* through known names: "1.0" is the class "1" */
    const char *const known[3] = {"1", "2", "3"};
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    o.class_names = known;
    o.n_class_names = 3;
    const char *u = tu_write_str("known.csv", "5,1.0\n6,3\n");
    d = mlpc_dataset_load_csv(u, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[0], 0);
    assert_int_equal(mlpc_dataset_labels(d)[1], 2);
    mlpc_dataset_free(d);
}

static void test_csv_onehot(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("onehot.csv", "x,y,cat,dog,owl\n1,2,0,1,0\n3,4,1,0,0\n5,6,0,0,1\n");
    mlpc_dataset *d = mlpc_dataset_load_csv(p, NULL, &e); /* trailing one-hot found without a spec */
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    const int32_t want[3] = {1, 0, 2};
    assert_memory_equal(mlpc_dataset_labels(d), want, sizeof want);
    assert_string_equal(mlpc_dataset_class_name(d, 1), "dog");
    assert_non_null(strstr(mlpc_dataset_describe(d), "one-hot columns 3-5 (3 classes: cat, dog, owl)"));
    mlpc_dataset_free(d);
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    const char *specs[] = {"cat:owl", "2-4", "cat,dog,owl", "2,3,-1"};
    for (int i = 0; i < 4; i++) {
        o.label_col = specs[i];
        d = mlpc_dataset_load_csv(p, &o, &e);
        assert_non_null(d);
        assert_int_equal(mlpc_dataset_features(d), 2);
        assert_memory_equal(mlpc_dataset_labels(d), want, sizeof want);
        mlpc_dataset_free(d);
    }
    /* targets in the middle: the features are the other columns, in order */
    const char *q = tu_write_str("mid.csv", "a,b,c,d\n1,0,1,7\n2,1,0,8\n");
    o.label_col = "b:c";
    d = mlpc_dataset_load_csv(q, &o, &e);
    assert_non_null(d);
    const float x[4] = {1, 7, 2, 8};
    assert_memory_equal(mlpc_dataset_x(d), x, sizeof x);
    assert_int_equal(mlpc_dataset_labels(d)[0], 1);
    mlpc_dataset_free(d);
    /* several targets that are not one-hot: one line naming file and line */
    const char *r = tu_write_str("not-onehot.csv", "a,b,c\n1,0,1\n2,1,1\n");
    o.label_col = "b,c";
    expect_fail(mlpc_dataset_load_csv(r, &o, &e), &e, MLPC_ERR_FORMAT, "not-onehot.csv:3:", "not one-hot");
    o.label_col = "b,b";
    expect_fail(mlpc_dataset_load_csv(r, &o, &e), &e, MLPC_ERR_ARG, "not-onehot.csv", "given twice");
    o.label_col = "c:a";
    expect_fail(mlpc_dataset_load_csv(r, &o, &e), &e, MLPC_ERR_ARG, "not-onehot.csv", "backwards");
    /* regression: the same list gives target columns */
    o.task = MLPC_TASK_REGRESS;
    o.label_col = "b,c";
    d = mlpc_dataset_load_csv(r, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    assert_true(mlpc_dataset_targets(d)[3] == 1.0f);
    mlpc_dataset_free(d);
}

static void test_csv_missing_values(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *p = tu_write_str("missing.csv", "a,b,y\n1,2,0\n4,NA,1\n,1,0\nnull,N/A,1\n7,8,?\n2,3,1\n");
    mlpc_csv_options o;
    mlpc_csv_options_default(&o);
    expect_fail(mlpc_dataset_load_csv(p, &o, &e), &e, MLPC_ERR_FORMAT, "missing.csv:3: column 2 ('b')", "missing value 'NA'");
    o.missing = MLPC_MISSING_DROP;
    mlpc_dataset *d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 2);
    assert_non_null(strstr(mlpc_dataset_describe(d), "4 row(s) with missing values dropped"));
    mlpc_dataset_free(d);
    o.missing = MLPC_MISSING_MEAN; /* features stay NaN for the net, the row with a missing label goes */
    d = mlpc_dataset_load_csv(p, &o, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 5);
    assert_true(isnan(mlpc_dataset_x(d)[3]) && isnan(mlpc_dataset_x(d)[4]));
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "2-2", &e), MLPC_OK);
    mlpc_net *net = mlpc_net_create(&cfg, &e);
    assert_non_null(net);
    o.n_targets = 0; /* features only */
    mlpc_dataset *f = mlpc_dataset_load_csv(tu_write_str("miss-feat.csv", "a,b\n1,?\n"), &o, &e);
    assert_non_null(f);
    assert_int_equal(mlpc_net_impute(net, f), MLPC_ERR_ARG); /* no means yet */
    assert_non_null(strstr(mlpc_dataset_error(f)->msg, "row 1, feature 2"));
    assert_int_equal(mlpc_net_fit_imputation(net, d), MLPC_OK);
    assert_true(fabsf(mlpc_net_imputation(net)[0] - 7.0f / 3) < 1e-5f); /* (1 + 4 + 2) / 3 */
    assert_true(fabsf(mlpc_net_imputation(net)[1] - 2.0f) < 1e-5f);     /* (2 + 1 + 3) / 3 */
    assert_int_equal(mlpc_net_impute(net, f), MLPC_OK);
    assert_true(fabsf(mlpc_dataset_x(f)[1] - 2.0f) < 1e-5f);
    mlpc_dataset_free(f);
    mlpc_net_free(net);
    mlpc_dataset_free(d);
}

static void test_label_files(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const char *fx = tu_write_str("feat.csv", "a,b\n1,2\n3,4\n5,6\n");
    const char *ly = tu_write_str("lab.csv", "species\nowl\ncat\nowl\n");
    mlpc_dataset *d = mlpc_dataset_load_pair(fx, ly, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_int_equal(mlpc_dataset_labels(d)[0], 1);
    assert_string_equal(mlpc_dataset_class_name(d, 0), "cat");
    mlpc_dataset_free(d);
    const char *oh = tu_write_str("lab-onehot.csv", "0,1\n1,0\n0,1\n");
    d = mlpc_dataset_load_pair(fx, oh, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[1], 0);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    mlpc_dataset_free(d);
    /* .npy features with an int .npy of -1/+1 labels */
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const int64_t y[3] = {-1, 1, -1};
    const char *fp = write_npy("pair-x.npy", "<f4", "False", "(3, 2)", x, sizeof x);
    const char *lp = write_npy("pair-y.npy", "<i8", "False", "(3,)", y, sizeof y);
    d = mlpc_dataset_load_pair(fp, lp, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[1], 1);
    assert_string_equal(mlpc_dataset_class_name(d, 0), "-1");
    mlpc_dataset_free(d);
    /* CSV features with .npy labels, and a row count that differs */
    d = mlpc_dataset_load_pair(fx, lp, NULL, &e);
    assert_non_null(d);
    mlpc_dataset_free(d);
    /* no header: "owl" is a label, as it occurs again below */
    const char *nohdr = tu_write_str("lab-nohdr.csv", "owl\ncat\nowl\n");
    d = mlpc_dataset_load_pair(fx, nohdr, NULL, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_labels(d)[2], 1);
    mlpc_dataset_free(d);
    const char *short_l = tu_write_str("lab-short.csv", "owl\ncat\nowl\ncat\n");
    expect_fail(mlpc_dataset_load_pair(fx, short_l, NULL, &e), &e, MLPC_ERR_SHAPE, "lab-short.csv", "4 rows");
}

/* ------------------------------------------------------------ NPY */

static void test_npy_f4_int_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const float x[6] = {1, 2, 3, 4, 5, 6.5f};
    const int64_t y[3] = {2, 0, 1};
    const char *fp = write_npy("x-f4.npy", "<f4", "False", "(3, 2)", x, sizeof x);
    const char *lp = write_npy("y-i8.npy", "<i8", "False", "(3,)", y, sizeof y);
    mlpc_dataset *d = mlpc_dataset_load_npy(fp, lp, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), 3);
    assert_int_equal(mlpc_dataset_features(d), 2);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_CLASSIFY);
    assert_memory_equal(mlpc_dataset_x(d), x, sizeof x);
    assert_int_equal(mlpc_dataset_labels(d)[0], 2);
    assert_string_equal(mlpc_dataset_source(d), fp);
    mlpc_dataset_free(d);
    d = mlpc_dataset_load(fp, lp, &e); /* dispatch */
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    mlpc_dataset_free(d);
    d = mlpc_dataset_load_npy(fp, NULL, &e);
    assert_non_null(d);
    assert_false(mlpc_dataset_has_targets(d));
    mlpc_dataset_free(d);
}

static void test_npy_f8_float_targets(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const double x[6] = {0.5, -1.25, 2, 3, 4, 1e-3};
    const float t[4] = {1, 2, 3, 4};
    size_t n;
    unsigned char *b = make_npy("<f8", "False", "(2, 3)", x, sizeof x, 2, &n); /* v2 header */
    const char *fp = tu_write("x-f8-v2.npy", b, n);
    free(b);
    const char *tp = write_npy("t-f4.npy", "<f4", "False", "(2, 2)", t, sizeof t);
    mlpc_dataset *d = mlpc_dataset_load_npy(fp, tp, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_REGRESS);
    assert_int_equal(mlpc_dataset_features(d), 3);
    assert_int_equal(mlpc_dataset_outputs(d), 2);
    for (int i = 0; i < 6; i++) assert_true(mlpc_dataset_x(d)[i] == (float)x[i]);
    assert_memory_equal(mlpc_dataset_targets(d), t, sizeof t);
    mlpc_dataset_free(d);
    /* 1-D float targets: n x 1 */
    const double t1[2] = {0.25, -8};
    const char *t1p = write_npy("t1-f8.npy", "<f8", "False", "(2,)", t1, sizeof t1);
    d = mlpc_dataset_load_npy(fp, t1p, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 1);
    assert_true(mlpc_dataset_targets(d)[1] == -8.0f);
    mlpc_dataset_free(d);
}

static void test_npy_u1_flatten_and_small_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    unsigned char img[12];
    for (int i = 0; i < 12; i++) img[i] = (unsigned char)(i * 20);
    const char *fp = write_npy("img-u1.npy", "|u1", "False", "(2, 2, 3)", img, sizeof img);
    const signed char y1[2] = {1, 4};
    const char *lp = write_npy("y-i1.npy", "|i1", "False", "(2, 1)", y1, sizeof y1);
    mlpc_dataset *d = mlpc_dataset_load_npy(fp, lp, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_features(d), 6);
    assert_true(mlpc_dataset_x(d)[11] == 220.0f);
    assert_int_equal(mlpc_dataset_labels(d)[1], 4);
    assert_int_equal(mlpc_dataset_outputs(d), 5);
    mlpc_dataset_free(d);
    /* 1-D features (n x 1), uint16 labels, gzip'ed */
    const float x1[2] = {3, 4};
    const uint16_t y2[2] = {300, 1};
    size_t n;
    unsigned char *b = make_npy("<f4", "False", "(2,)", x1, sizeof x1, 1, &n);
    const char *gp = write_gz("x1.npy.gz", b, n);
    free(b);
    const char *l2 = write_npy("y-u2.npy", "<u2", "False", "(2,)", y2, sizeof y2);
    d = mlpc_dataset_load(gp, l2, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_features(d), 1);
    assert_true(mlpc_dataset_x(d)[1] == 4.0f);
    assert_int_equal(mlpc_dataset_outputs(d), 301);
    mlpc_dataset_free(d);
}

static void test_npy_malformed(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const char *f = write_npy("fortran.npy", "<f4", "True", "(3, 2)", x, sizeof x);
    expect_fail(mlpc_dataset_load_npy(f, NULL, &e), &e, MLPC_ERR_UNSUPPORTED, "fortran.npy", "fortran_order");
    const char *t = write_npy("short-data.npy", "<f4", "False", "(3, 2)", x, 20);
    expect_fail(mlpc_dataset_load_npy(t, NULL, &e), &e, MLPC_ERR_FORMAT, "short-data.npy", "truncated");
    assert_non_null(strstr(e.msg, "(3, 2)"));
    const char *l = write_npy("long-data.npy", "<f4", "False", "(2, 2)", x, sizeof x);
    expect_fail(mlpc_dataset_load_npy(l, NULL, &e), &e, MLPC_ERR_FORMAT, "long-data.npy", "trailing");
    const char *be = write_npy("bigend.npy", ">f4", "False", "(3, 2)", x, sizeof x);
    expect_fail(mlpc_dataset_load_npy(be, NULL, &e), &e, MLPC_ERR_UNSUPPORTED, "bigend.npy", "big-endian");
    const char *cx = write_npy("complex.npy", "<c8", "False", "(3,)", x, 24);
    expect_fail(mlpc_dataset_load_npy(cx, NULL, &e), &e, MLPC_ERR_UNSUPPORTED, "complex.npy", "not supported");
    const char *bm = tu_write_str("notnpy.npy", "hello, this is not numpy\n");
    expect_fail(mlpc_dataset_load_npy(bm, NULL, &e), &e, MLPC_ERR_FORMAT, "notnpy.npy", "magic");
    const char *ov = write_npy("overflow.npy", "<f4", "False", "(4294967296, 4294967296, 4294967296)", x, 8);
    expect_fail(mlpc_dataset_load_npy(ov, NULL, &e), &e, MLPC_ERR_FORMAT, "overflow.npy", "overflow");
    const char *z = write_npy("zero-rows.npy", "<f4", "False", "(0, 4)", x, 0);
    expect_fail(mlpc_dataset_load_npy(z, NULL, &e), &e, MLPC_ERR_FORMAT, "zero-rows.npy", "empty");
    const char *nh = tu_write("cut-header.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    expect_fail(mlpc_dataset_load_npy(nh, NULL, &e), &e, MLPC_ERR_FORMAT, "cut-header.npy", "truncated");
    const char *ns = write_npy("no-shape.npy", "<f4", "False", "[3, 2]", x, sizeof x);
    expect_fail(mlpc_dataset_load_npy(ns, NULL, &e), &e, MLPC_ERR_FORMAT, "no-shape.npy", "shape");
    const float bad[2] = {1, NAN};
    const char *nn = write_npy("nan-value.npy", "<f4", "False", "(2,)", bad, sizeof bad);
    expect_fail(mlpc_dataset_load_npy(nn, NULL, &e), &e, MLPC_ERR_FORMAT, "nan-value.npy", "NaN");
    assert_non_null(strstr(e.msg, "row 2"));
}

static void test_npy_bad_labels(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const char *fp = write_npy("feat-3x2.npy", "<f4", "False", "(3, 2)", x, sizeof x);
    const int32_t y2[2] = {0, 1};
    const char *cnt = write_npy("two-labels.npy", "<i4", "False", "(2,)", y2, sizeof y2);
    expect_fail(mlpc_dataset_load_npy(fp, cnt, &e), &e, MLPC_ERR_SHAPE, "two-labels.npy", "2 rows");
    assert_non_null(strstr(e.msg, "feat-3x2.npy has 3 rows"));
    const int32_t y6[6] = {0, 1, 0, 1, 0, 1};
    const char *wide = write_npy("wide-labels.npy", "<i4", "False", "(3, 2)", y6, sizeof y6);
    expect_fail(mlpc_dataset_load_npy(fp, wide, &e), &e, MLPC_ERR_SHAPE, "wide-labels.npy", "(n,)");
    const int32_t yn[3] = {0, -3, 1};
    const char *neg = write_npy("neg-labels.npy", "<i4", "False", "(3,)", yn, sizeof yn);
    expect_fail(mlpc_dataset_load_npy(fp, neg, &e), &e, MLPC_ERR_FORMAT, "neg-labels.npy", "out of range");
    assert_non_null(strstr(e.msg, "-3"));
    const char *bel = write_npy("be-labels.npy", ">i4", "False", "(3,)", yn, sizeof yn);
    expect_fail(mlpc_dataset_load_npy(fp, bel, &e), &e, MLPC_ERR_UNSUPPORTED, "be-labels.npy", "big-endian");
}

/* ------------------------------------------------------------ Lorenz */

static void lorenz_f(const double s[3], double d[3])
{
    d[0] = 10.0 * (s[1] - s[0]);
    d[1] = s[0] * (58.0 - s[2]) - s[1];
    d[2] = s[0] * s[1] - 8.0 / 3.0 * s[2];
}

static void test_lorenz_default(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    mlpc_lorenz_options o;
    mlpc_lorenz_options_default(&o);
    assert_int_equal(o.steps, 9999);
    assert_int_equal(o.horizon, 99);
    int count = 9999 - 99 + 1; /* every row that has a target */
    mlpc_dataset *d = mlpc_dataset_lorenz(&o, 0, count, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_rows(d), (size_t)count);
    assert_int_equal(mlpc_dataset_features(d), 3);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    assert_int_equal(mlpc_dataset_task(d), MLPC_TASK_REGRESS);
    const float *x = mlpc_dataset_x(d), *t = mlpc_dataset_targets(d);
    assert_true(x[0] == 1.0f && x[1] == 1.0f && x[2] == 1.0f);
    /* one RK4 step by hand from (1,1,1) */
    double dt = 20.0 / 9999, s[3] = {1, 1, 1}, k1[3], k2[3], k3[3], k4[3], u[3];
    lorenz_f(s, k1);
    for (int j = 0; j < 3; j++) u[j] = s[j] + dt / 2 * k1[j];
    lorenz_f(u, k2);
    for (int j = 0; j < 3; j++) u[j] = s[j] + dt / 2 * k2[j];
    lorenz_f(u, k3);
    for (int j = 0; j < 3; j++) u[j] = s[j] + dt * k3[j];
    lorenz_f(u, k4);
    for (int j = 0; j < 3; j++) {
        double want = s[j] + dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
        assert_true(x[3 + j] == (float)want);
    }
    /* the target of row i is the input of row i + horizon */
    for (int i = 0; i + 99 < count; i++)
        for (int j = 0; j < 3; j++) assert_true(t[3 * i + j] == x[3 * (i + 99) + j]);
    /* bounded, and it moves (chaotic wandering, not a fixed point) */
    float zmax = 0, xmin = 0;
    for (size_t i = 0; i < 3 * (size_t)count; i++) assert_true(isfinite(x[i]) && fabsf(x[i]) < 250.0f);
    for (int i = 0; i < count; i++) {
        zmax = fmaxf(zmax, x[3 * i + 2]);
        xmin = fminf(xmin, x[3 * i]);
    }
    assert_true(zmax > 50.0f && xmin < -10.0f);
    /* deterministic, and an offset start picks the same states */
    mlpc_dataset *d2 = mlpc_dataset_lorenz(NULL, 100, 50, &e);
    assert_non_null(d2);
    assert_memory_equal(mlpc_dataset_x(d2), x + 300, 150 * sizeof(float));
    assert_memory_equal(mlpc_dataset_targets(d2), t + 300, 150 * sizeof(float));
    mlpc_dataset_free(d2);
    mlpc_dataset_free(d);
}

static void test_lorenz_errors(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    expect_fail(mlpc_dataset_lorenz(NULL, -1, 10, &e), &e, MLPC_ERR_ARG, "lorenz", "negative");
    expect_fail(mlpc_dataset_lorenz(NULL, 0, 0, &e), &e, MLPC_ERR_ARG, "lorenz", "count");
    expect_fail(mlpc_dataset_lorenz(NULL, 0, 9902, &e), &e, MLPC_ERR_ARG, "lorenz", "steps");
    expect_fail(mlpc_dataset_lorenz(NULL, 9900, 2, &e), &e, MLPC_ERR_ARG, "lorenz", "steps");
    mlpc_dataset *d = mlpc_dataset_lorenz(NULL, 9900, 1, &e); /* the very last state */
    assert_non_null(d);
    mlpc_dataset_free(d);
    mlpc_lorenz_options o;
    mlpc_lorenz_options_default(&o);
    o.steps = 0;
    expect_fail(mlpc_dataset_lorenz(&o, 0, 1, &e), &e, MLPC_ERR_ARG, "lorenz", "steps");
}

/* ------------------------------------------------------------ arrays, slices */

static void test_arrays_and_slice(void **state)
{
    (void)state;
    mlpc_error e = fresh_err();
    const float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int32_t y[5] = {0, 1, 2, 1, 0};
    mlpc_dataset *d = mlpc_dataset_from_arrays(5, 2, x, y, 0, NULL, 0, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 3);
    mlpc_dataset *s = mlpc_dataset_slice(d, 1, 3, &e);
    assert_non_null(s);
    assert_int_equal(mlpc_dataset_rows(s), 3);
    assert_int_equal(mlpc_dataset_outputs(s), 3);
    assert_memory_equal(mlpc_dataset_x(s), x + 2, 6 * sizeof(float));
    assert_memory_equal(mlpc_dataset_labels(s), y + 1, 3 * sizeof(int32_t));
    assert_string_equal(mlpc_dataset_source(s), mlpc_dataset_source(d));
    mlpc_dataset_free(s);
    s = mlpc_dataset_slice(d, 5, 0, &e); /* empty, at the end */
    assert_non_null(s);
    assert_int_equal(mlpc_dataset_rows(s), 0);
    mlpc_dataset_free(s);
    expect_fail(mlpc_dataset_slice(d, 4, 2, &e), &e, MLPC_ERR_ARG, "arrays", "outside");
    expect_fail(mlpc_dataset_slice(d, 6, 0, &e), &e, MLPC_ERR_ARG, "arrays", "outside");
    expect_fail(mlpc_dataset_slice(d, 2, SIZE_MAX, &e), &e, MLPC_ERR_ARG, "arrays", "outside");
    mlpc_dataset_free(d);

    /* explicit n_classes, regression targets */
    d = mlpc_dataset_from_arrays(5, 2, x, y, 10, NULL, 0, &e);
    assert_non_null(d);
    assert_int_equal(mlpc_dataset_outputs(d), 10);
    mlpc_dataset_free(d);
    d = mlpc_dataset_from_arrays(5, 1, x, NULL, 0, x + 5, 1, &e);
    assert_non_null(d);
    s = mlpc_dataset_slice(d, 3, 2, &e);
    assert_non_null(s);
    assert_true(mlpc_dataset_targets(s)[0] == 8.0f && mlpc_dataset_targets(s)[1] == 9.0f);
    assert_int_equal(mlpc_dataset_task(s), MLPC_TASK_REGRESS);
    mlpc_dataset_free(s);
    mlpc_dataset_free(d);

    expect_fail(mlpc_dataset_from_arrays(5, 2, x, y, 2, NULL, 0, &e), &e, MLPC_ERR_ARG, "arrays", "n_classes");
    expect_fail(mlpc_dataset_from_arrays(5, 2, x, y, 0, x, 1, &e), &e, MLPC_ERR_ARG, "arrays", "not both");
    const int32_t yneg[2] = {0, -1};
    expect_fail(mlpc_dataset_from_arrays(2, 2, x, yneg, 0, NULL, 0, &e), &e, MLPC_ERR_FORMAT, "arrays", "out of range");
    expect_fail(mlpc_dataset_from_arrays(2, 0, x, NULL, 0, NULL, 0, &e), &e, MLPC_ERR_ARG, "arrays", "features");
    expect_fail(mlpc_dataset_slice(NULL, 0, 1, &e), &e, MLPC_ERR_ARG, "slice", "no dataset");
}

static void test_accessors_null_and_defaults(void **state)
{
    (void)state;
    assert_int_equal(mlpc_dataset_rows(NULL), 0);
    assert_int_equal(mlpc_dataset_features(NULL), 0);
    assert_int_equal(mlpc_dataset_outputs(NULL), 0);
    assert_false(mlpc_dataset_has_targets(NULL));
    assert_null(mlpc_dataset_x(NULL));
    assert_null(mlpc_dataset_labels(NULL));
    assert_null(mlpc_dataset_targets(NULL));
    mlpc_dataset_free(NULL);
    mlpc_csv_options o;
    memset(&o, 0x55, sizeof o);
    mlpc_csv_options_default(&o);
    assert_int_equal(o.header, -1);
    assert_null(o.label_col);
    assert_int_equal(o.n_targets, 1);
    assert_int_equal(o.task, MLPC_TASK_CLASSIFY);
    assert_int_equal(o.delim, 0);
    mlpc_lorenz_options l;
    mlpc_lorenz_options_default(&l);
    assert_true(l.sigma == 10.0 && l.rho == 58.0 && l.t_end == 20.0 && fabs(l.beta - 8.0 / 3.0) < 1e-15);
    assert_true(l.x0 == 1.0 && l.y0 == 1.0 && l.z0 == 1.0);
    /* alloc: zeroed, with the right arrays */
    mlpc_error e = fresh_err();
    mlpc_dataset *d = mlpc_dataset_alloc(4, 3, MLPC_TASK_REGRESS, 2, "mem", &e);
    assert_non_null(d);
    assert_non_null(d->targets);
    assert_null(d->labels);
    for (int i = 0; i < 12; i++) assert_true(d->x[i] == 0.0f);
    mlpc_dataset_free(d);
    expect_fail(mlpc_dataset_alloc(SIZE_MAX / 2, 3, MLPC_TASK_CLASSIFY, 0, "huge-alloc", &e), &e,
                MLPC_ERR_NOMEM, "huge-alloc", "too large");
}

/* ------------------------------------------------------------ robustness */

/* Every prefix and many single-byte corruptions of valid files: each load
 * either succeeds or fails with a one-line message naming the file. */
static void try_bytes(const unsigned char *b, size_t n, int which)
{
    static const char *names[3] = {"fuzz-case.idx", "fuzz-case.npy", "fuzz-case.csv"};
    mlpc_error e = fresh_err();
    const char *p = tu_write(names[which], b, n);
    mlpc_dataset *d = which == 0   ? mlpc_dataset_load_idx(p, NULL, &e)
                      : which == 1 ? mlpc_dataset_load_npy(p, NULL, &e)
                                   : mlpc_dataset_load_csv(p, NULL, &e);
    if (d) {
        assert_true(mlpc_dataset_rows(d) > 0 && mlpc_dataset_features(d) > 0);
        mlpc_dataset_free(d);
        return;
    }
    assert_true(e.code != MLPC_OK);
    assert_non_null(strstr(e.msg, names[which]));
    assert_null(strchr(e.msg, '\n'));
}

static void fuzz_file(const unsigned char *b, size_t n, int which)
{
    unsigned char *c = malloc(n);
    assert_non_null(c);
    for (size_t k = 0; k <= n; k++) try_bytes(b, k, which);
    for (size_t i = 0; i < n; i++) {
        static const unsigned char vals[4] = {0x00, 0xFF, '"', ','};
        for (int v = 0; v < 4; v++) {
            memcpy(c, b, n);
            c[i] = vals[v];
            try_bytes(c, n, which);
        }
    }
    free(c);
}

static void test_fuzz_prefixes_and_flips(void **state)
{
    (void)state;
    size_t n;
    unsigned char *idx = slurp(write_idx("fuzz-src.idx", 0x08, 3, IMG3_DIMS, IMG3, 12), &n);
    fuzz_file(idx, n, 0);
    free(idx);
    const float x[6] = {1, 2, 3, 4, 5, 6};
    unsigned char *npy = make_npy("<f4", "False", "(3, 2)", x, sizeof x, 1, &n);
    fuzz_file(npy, n, 1);
    free(npy);
    const char *csv = "a,\"b\",y\r\n1.5,2,0\n3,4e-1,1\n";
    fuzz_file((const unsigned char *)csv, strlen(csv), 2);
    /* gzip'ed CSV: prefixes and flips of the compressed bytes */
    unsigned char *gz = slurp(write_gz("fuzz-src.csv.gz", csv, strlen(csv)), &n);
    fuzz_file(gz, n, 2);
    free(gz);
}

/* core/mem.c: zeroed when asked, 64-byte aligned, and 2 MiB aligned (on
 * huge pages where the kernel gives them) from 8 MiB up */
static void test_big_alloc(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 100, 4096, ((size_t)8 << 20) - 4, (size_t)8 << 20, ((size_t)9 << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = mlpc_big_alloc(sizes[i], 1);
        assert_non_null(p);
        uintptr_t align = sizes[i] >= ((size_t)8 << 20) ? ((uintptr_t)2 << 20) : 64;
        assert_int_equal((uintptr_t)p % align, 0);
        for (size_t j = 0; j < sizes[i]; j += 4093) assert_int_equal(p[j], 0);
        assert_int_equal(p[sizes[i] - 1], 0);
        p[sizes[i] - 1] = 1;
        free(p);
        p = mlpc_big_alloc(sizes[i], 0); /* not zeroed: only writable */
        assert_non_null(p);
        memset(p, 7, sizes[i]);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_alloc),
        cmocka_unit_test(test_idx_plain),
        cmocka_unit_test(test_idx_gzip),
        cmocka_unit_test(test_idx_features_only_and_types),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_trailing),
        cmocka_unit_test(test_idx_bad_magic),
        cmocka_unit_test(test_idx_overflow),
        cmocka_unit_test(test_idx_count_mismatch),
        cmocka_unit_test(test_idx_empty_and_bad_labels),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_gzip_corrupt),
        cmocka_unit_test(test_gzip_multi_member),
        cmocka_unit_test(test_csv_header_label_by_name),
        cmocka_unit_test(test_csv_no_header_and_index),
        cmocka_unit_test(test_csv_string_labels),
        cmocka_unit_test(test_csv_numeric_label_sets),
        cmocka_unit_test(test_csv_onehot),
        cmocka_unit_test(test_csv_missing_values),
        cmocka_unit_test(test_label_files),
        cmocka_unit_test(test_csv_regression),
        cmocka_unit_test(test_csv_gzip),
        cmocka_unit_test(test_csv_crlf_delims_quotes),
        cmocka_unit_test(test_csv_features_only),
        cmocka_unit_test(test_csv_bad_values),
        cmocka_unit_test(test_csv_bad_structure),
        cmocka_unit_test(test_csv_bad_labels),
        cmocka_unit_test(test_npy_f4_int_labels),
        cmocka_unit_test(test_npy_f8_float_targets),
        cmocka_unit_test(test_npy_u1_flatten_and_small_labels),
        cmocka_unit_test(test_npy_malformed),
        cmocka_unit_test(test_npy_bad_labels),
        cmocka_unit_test(test_lorenz_default),
        cmocka_unit_test(test_lorenz_errors),
        cmocka_unit_test(test_arrays_and_slice),
        cmocka_unit_test(test_accessors_null_and_defaults),
        cmocka_unit_test(test_fuzz_prefixes_and_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
