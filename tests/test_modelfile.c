/* test_modelfile.c - model file format: round trip, exact layout, atomic
 * writes and rejection of every kind of damaged file. */
#include "testutil.h"

#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#define TAG_ARCH MLPC_TAG('A', 'R', 'C', 'H')
#define TAG_NORM MLPC_TAG('N', 'O', 'R', 'M')
#define TAG_PARM MLPC_TAG('P', 'A', 'R', 'M')
#define TAG_CONF MLPC_TAG('C', 'O', 'N', 'F')
#define TAG_METR MLPC_TAG('M', 'E', 'T', 'R')

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* 3-5-4-2 relu/tanh/softmax, cce, standard normalization, both meta strings,
 * parameters including -0, a denormal and FLT_MAX. */
static mlpc_net *make_net(void)
{
    const int sizes[] = {3, 5, 4, 2};
    const mlpc_act act[] = {MLPC_ACT_RELU, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX};
    mlpc_error err;
    mlpc_net *net = mlpc_net_alloc(3, sizes, act, MLPC_LOSS_CCE, &err);
    assert_non_null(net);
    assert_int_equal(net->n_params, 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2);
    uint32_t s = 12345;
    for (size_t i = 0; i < net->n_params; i++) {
        s = s * 1664525u + 1013904223u;
        net->params[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 3.0f;
    }
    net->params[0] = -0.0f;
    net->params[1] = 1e-40f; /* denormal */
    net->params[2] = FLT_MAX;
    net->params[3] = -FLT_MAX;
    net->norm = MLPC_NORM_STANDARD;
    net->norm_shift = malloc(3 * sizeof(float));
    net->norm_scale = malloc(3 * sizeof(float));
    assert_non_null(net->norm_shift);
    assert_non_null(net->norm_scale);
    for (int i = 0; i < 3; i++) {
        net->norm_shift[i] = 0.25f * (float)i - 1.0f;
        net->norm_scale[i] = 1.0f / (float)(i + 3);
    }
    net->meta_config = xstrdup("{\"layers\":\"3-5-4-2\",\"opt\":\"adam\",\"lr\":0.001}");
    net->meta_metrics = xstrdup("{\"val_acc\":0.97,\"note\":\"caf\xc3\xa9\"}");
    return net;
}

static mlpc_net *make_plain_net(void)
{
    const int sizes[] = {4, 3};
    const mlpc_act act[] = {MLPC_ACT_SIGMOID};
    mlpc_error err;
    mlpc_net *net = mlpc_net_alloc(1, sizes, act, MLPC_LOSS_QUADRATIC, &err);
    assert_non_null(net);
    for (size_t i = 0; i < net->n_params; i++) net->params[i] = (float)i * 0.125f - 1.0f;
    return net;
}

static void assert_same_net(const mlpc_net *a, const mlpc_net *b)
{
    assert_int_equal(a->n_layers, b->n_layers);
    for (int i = 0; i <= a->n_layers; i++) assert_int_equal(a->sizes[i], b->sizes[i]);
    for (int i = 0; i < a->n_layers; i++) assert_int_equal(a->act[i], b->act[i]);
    assert_int_equal(a->loss, b->loss);
    assert_int_equal(a->n_params, b->n_params);
    assert_memory_equal(a->params, b->params, a->n_params * sizeof(float)); /* bit-identical */
    assert_int_equal(a->norm, b->norm);
    if (a->norm != MLPC_NORM_NONE) {
        assert_memory_equal(a->norm_shift, b->norm_shift, (size_t)a->sizes[0] * sizeof(float));
        assert_memory_equal(a->norm_scale, b->norm_scale, (size_t)a->sizes[0] * sizeof(float));
    } else {
        assert_null(b->norm_shift);
        assert_null(b->norm_scale);
    }
    if (a->meta_config)
        assert_string_equal(a->meta_config, b->meta_config);
    else
        assert_null(b->meta_config);
    if (a->meta_metrics)
        assert_string_equal(a->meta_metrics, b->meta_metrics);
    else
        assert_null(b->meta_metrics);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t crc_bytes(const unsigned char *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Recomputes the trailer so that a deliberately damaged body passes the
 * checksum and reaches the structural checks. */
static void fix_crc(unsigned char *b, size_t n)
{
    put32(b + n - 4, crc_bytes(b, n - 4));
}

/* Number of entries in dir whose name contains ".tmp". */
static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp")) n++;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reading path must fail with `code`, a one-line message naming the path and,
 * when `needle` is given, containing it. Checked through both entry points;
 * extras must come back empty. */
static void expect_fail(const char *path, mlpc_status code, const char *needle)
{
    mlpc_error err;
    mlpc_blob ex[4];
    int n_ex = 77;
    memset(&err, 0, sizeof err);
    mlpc_net *net = mlpc_file_read(path, ex, 4, &n_ex, &err);
    if (net || err.code != code || !strstr(err.msg, path) || (needle && !strstr(err.msg, needle)))
        print_error("%s: code %d msg \"%s\" (want code %d, \"%s\")\n", path, err.code, err.msg,
                    code, needle ? needle : "");
    assert_null(net);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.msg, path));
    assert_null(strchr(err.msg, '\n'));
    if (needle) assert_non_null(strstr(err.msg, needle));
    assert_int_equal(n_ex, 0);

    memset(&err, 0, sizeof err);
    assert_null(mlpc_net_load(path, &err));
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.msg, path));
    assert_null(mlpc_net_load(path, NULL)); /* NULL err is fine */
}

static void expect_fail_bytes(const char *name, const unsigned char *b, size_t n, mlpc_status code,
                              const char *needle)
{
    expect_fail(tu_write(name, b, n), code, needle);
}

/* A hand-built file: sections appended, then finished with header count and
 * CRC. Independent of the writer under test. */
typedef struct bb {
    unsigned char b[4096];
    size_t n;
    uint32_t n_sec;
} bb;

static void bb_u32(bb *x, uint32_t v)
{
    assert_true(x->n + 4 <= sizeof x->b);
    put32(x->b + x->n, v);
    x->n += 4;
}

static void bb_u64(bb *x, uint64_t v)
{
    bb_u32(x, (uint32_t)v);
    bb_u32(x, (uint32_t)(v >> 32));
}

static void bb_f32(bb *x, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    bb_u32(x, u);
}

static void bb_begin(bb *x, uint32_t version, uint32_t marker)
{
    memset(x, 0, sizeof *x);
    memcpy(x->b, "MLPCNET", 8);
    x->n = 8;
    bb_u32(x, version);
    bb_u32(x, marker);
    bb_u32(x, 0); /* section count, patched by bb_end */
}

static void bb_sec(bb *x, uint32_t tag, uint64_t len)
{
    bb_u32(x, tag);
    bb_u64(x, len);
    x->n_sec++;
}

/* ARCH for 2-3-2 (sigmoid, softmax) / cce unless overridden by raw values. */
static void bb_arch(bb *x, uint32_t nl, const uint32_t *sizes, const uint32_t *act, uint32_t loss)
{
    bb_sec(x, TAG_ARCH, 4 * (2 * (uint64_t)nl + 3));
    bb_u32(x, nl);
    for (uint32_t i = 0; i <= nl; i++) bb_u32(x, sizes[i]);
    for (uint32_t i = 0; i < nl; i++) bb_u32(x, act[i]);
    bb_u32(x, loss);
}

static const uint32_t k_sizes[] = {2, 3, 2};
static const uint32_t k_act[] = {MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX};
#define K_NPARAMS (2 * 3 + 3 + 3 * 2 + 2)

static void bb_parm(bb *x, uint64_t count, size_t n_written, float bad_at_5)
{
    bb_sec(x, TAG_PARM, 8 + 4 * (uint64_t)n_written);
    bb_u64(x, count);
    for (size_t i = 0; i < n_written; i++) bb_f32(x, i == 5 ? bad_at_5 : 0.1f * (float)i);
}

static void bb_norm(bb *x, uint32_t mode, uint32_t n_in, float first)
{
    bb_sec(x, TAG_NORM, 8 + 8 * (uint64_t)n_in);
    bb_u32(x, mode);
    bb_u32(x, n_in);
    for (uint32_t i = 0; i < 2 * n_in; i++) bb_f32(x, i == 0 ? first : 1.0f);
}

static void bb_text(bb *x, uint32_t tag, const char *s, size_t n)
{
    bb_sec(x, tag, n);
    assert_true(x->n + n <= sizeof x->b);
    memcpy(x->b + x->n, s, n);
    x->n += n;
}

static void bb_end(bb *x)
{
    put32(x->b + 16, x->n_sec);
    bb_u32(x, crc_bytes(x->b, x->n));
}

/* A complete valid file for 2-3-2. */
static void bb_valid(bb *x)
{
    bb_begin(x, 1, 0x01020304);
    bb_arch(x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_norm(x, MLPC_NORM_SCALE, 2, 0.5f);
    bb_parm(x, K_NPARAMS, K_NPARAMS, 0.5f);
    bb_text(x, TAG_CONF, "{}", 2);
}

/* ---------------------------------------------------------------- round trip */

static void test_roundtrip(void **state)
{
    (void)state;
    mlpc_net *net = make_net();
    unsigned char big[1000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7 + 1);
    mlpc_blob ex[3] = {
        {MLPC_TAG('O', 'P', 'T', 'S'), big, sizeof big},
        {MLPC_TAG('E', 'M', 'P', 'T'), NULL, 0},
        {MLPC_TAG('L', 'O', 'O', 'P'), "state", 5},
    };
    const char *path = tu_path("round.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_file_write(path, net, ex, 3, &err), MLPC_OK);
    assert_int_equal(err.code, MLPC_OK);
    assert_string_equal(err.msg, "");

    mlpc_blob got[8];
    int n_got = -1;
    mlpc_net *back = mlpc_file_read(path, got, 8, &n_got, &err);
    assert_non_null(back);
    assert_int_equal(err.code, MLPC_OK);
    assert_same_net(net, back);
    assert_true(signbit(back->params[0]));
    assert_int_equal(n_got, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(got[i].tag, ex[i].tag);
        assert_int_equal(got[i].size, ex[i].size);
        assert_non_null(got[i].data);
        if (ex[i].size) assert_memory_equal(got[i].data, ex[i].data, (size_t)ex[i].size);
        free(got[i].data);
    }
    mlpc_net_free(back);

    /* fewer slots than sections: the first ones, in order */
    back = mlpc_file_read(path, got, 2, &n_got, &err);
    assert_non_null(back);
    assert_int_equal(n_got, 2);
    assert_int_equal(got[0].tag, ex[0].tag);
    assert_int_equal(got[1].tag, ex[1].tag);
    free(got[0].data);
    free(got[1].data);
    mlpc_net_free(back);

    /* extras ignored */
    back = mlpc_file_read(path, NULL, 5, &n_got, &err);
    assert_non_null(back);
    assert_int_equal(n_got, 0);
    mlpc_net_free(back);
    back = mlpc_file_read(path, got, 0, NULL, &err);
    assert_non_null(back);
    mlpc_net_free(back);

    /* public wrappers */
    const char *p2 = tu_path("round2.mlpc");
    assert_int_equal(mlpc_net_save(net, p2, &err), MLPC_OK);
    back = mlpc_net_load(p2, &err);
    assert_non_null(back);
    assert_same_net(net, back);
    mlpc_net_free(back);
    mlpc_net_free(net);
}

static void test_roundtrip_plain(void **state)
{
    (void)state;
    mlpc_net *net = make_plain_net(); /* no norm, no meta */
    const char *path = tu_path("plain.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, path, NULL), MLPC_OK);
    mlpc_net *back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_same_net(net, back);
    assert_int_equal(back->norm, MLPC_NORM_NONE);
    mlpc_net_free(back);

    /* empty meta strings survive as empty strings, not NULL */
    net->meta_config = xstrdup("");
    net->meta_metrics = xstrdup("");
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_same_net(net, back);
    mlpc_net_free(back);
    mlpc_net_free(net);
}

/* Class names, target statistics and imputation means: saved, read back,
 * applied by predict (outputs in the original target units). */
static void test_data_sections(void **state)
{
    (void)state;
    mlpc_net *net = make_net(); /* 2 outputs */
    net->params[2] = net->params[3] = 0.5f; /* finite outputs (make_net has FLT_MAX weights) */
    mlpc_error err;
    const char *const names[2] = {"setosa", "a \"quoted\", name"};
    assert_int_equal(mlpc_net_set_class_names(net, names, 2), MLPC_OK);
    assert_int_equal(mlpc_net_set_class_names(net, names, 3), MLPC_ERR_ARG); /* more names than outputs */
    const float x[6] = {1, 2, NAN, 4, 5, 6}, t[4] = {10, 100, 30, 300};
    mlpc_dataset *d = mlpc_dataset_from_arrays(2, 3, (const float[6]){1, 2, 3, 4, 5, 6}, NULL, 0, t, 2, &err);
    assert_non_null(d);
    assert_int_equal(mlpc_net_fit_target_norm(net, d, MLPC_NORM_STANDARD), MLPC_OK);
    assert_int_equal(mlpc_net_fit_imputation(net, d), MLPC_OK);
    const char *path = tu_path("data-sections.mlpc");
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    mlpc_net *back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_same_net(net, back);
    assert_int_equal(mlpc_net_class_names(back), 2);
    assert_string_equal(mlpc_net_class_name(back, 1), names[1]);
    assert_null(mlpc_net_class_name(back, 2));
    const float *mean, *sd;
    assert_int_equal(mlpc_net_target_stats(back, &mean, &sd), 2);
    assert_true(mean[0] == 20.0f && mean[1] == 200.0f && sd[0] == 10.0f && sd[1] == 100.0f);
    assert_true(mlpc_net_imputation(back)[1] == 3.5f);
    /* predict answers in the original units: out = raw * std + mean */
    float a[4], b[4];
    mlpc_net_free_extras(back);
    assert_int_equal(mlpc_net_predict(back, x + 3, 1, a), MLPC_OK); /* the net's own units */
    mlpc_net_free(back);
    back = mlpc_net_load(path, &err);
    assert_int_equal(mlpc_net_predict(back, x + 3, 1, b), MLPC_OK);
    assert_true(fabsf(b[0] - (a[0] * 10 + 20)) < 1e-4f && fabsf(b[1] - (a[1] * 100 + 200)) < 1e-3f);
    /* a missing feature is filled with the training mean */
    mlpc_dataset *m = mlpc_dataset_from_arrays(1, 3, (const float[3]){1, 2, 3}, NULL, 0, NULL, 0, &err);
    assert_non_null(m);
    float *mx = (float *)mlpc_dataset_x(m);
    mx[2] = NAN;
    assert_int_equal(mlpc_net_impute(back, m), MLPC_OK);
    assert_true(mlpc_dataset_x(m)[2] == 4.5f);
    mlpc_dataset_free(m);
    /* a model without the sections (as before) has none of them */
    mlpc_net_free_extras(net);
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    mlpc_net_free(back);
    back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_int_equal(mlpc_net_class_names(back), 0);
    assert_int_equal(mlpc_net_target_stats(back, NULL, NULL), 0);
    assert_null(mlpc_net_imputation(back));
    mlpc_net_free(back);
    mlpc_dataset_free(d);
    mlpc_net_free(net);
}

/* The exact bytes of a tiny model, as documented in docs/model-format.md. */
static void test_exact_layout(void **state)
{
    (void)state;
    const int sizes[] = {2, 1};
    const mlpc_act act[] = {MLPC_ACT_SIGMOID};
    mlpc_error err;
    mlpc_net *net = mlpc_net_alloc(1, sizes, act, MLPC_LOSS_QUADRATIC, &err);
    assert_non_null(net);
    assert_int_equal(net->n_params, 3);
    net->params[0] = 1.0f;
    net->params[1] = -2.0f;
    net->params[2] = 0.5f;
    net->meta_config = xstrdup("{}");
    const char *path = tu_path("layout.mlpc");
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);

    static const unsigned char want[] = {
        'M', 'L', 'P', 'C', 'N', 'E', 'T', 0, /* magic */
        1, 0, 0, 0,                           /* version 1 */
        4, 3, 2, 1,                           /* 0x01020304 */
        3, 0, 0, 0,                           /* 3 sections */
        'A', 'R', 'C', 'H', 20, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0,                           /* n_layers */
        2, 0, 0, 0, 1, 0, 0, 0,               /* sizes */
        0, 0, 0, 0,                           /* sigmoid */
        0, 0, 0, 0,                           /* quadratic */
        'P', 'A', 'R', 'M', 20, 0, 0, 0, 0, 0, 0, 0,
        3, 0, 0, 0, 0, 0, 0, 0,               /* n_params (u64) */
        0x00, 0x00, 0x80, 0x3f,               /* 1.0f */
        0x00, 0x00, 0x00, 0xc0,               /* -2.0f */
        0x00, 0x00, 0x00, 0x3f,               /* 0.5f */
        'C', 'O', 'N', 'F', 2, 0, 0, 0, 0, 0, 0, 0, '{', '}',
    };
    size_t n;
    unsigned char *b = slurp(path, &n);
    assert_int_equal(n, sizeof want + 4);
    assert_memory_equal(b, want, sizeof want);
    uint32_t crc = crc_bytes(want, sizeof want);
    unsigned char tail[4];
    put32(tail, crc);
    assert_memory_equal(b + sizeof want, tail, 4);
    free(b);
    mlpc_net_free(net);
}

static void test_write_rejects(void **state)
{
    (void)state;
    mlpc_net *net = make_plain_net();
    const char *path = tu_path("rejected.mlpc");
    mlpc_error err;
    mlpc_blob bad = {TAG_ARCH, "x", 1};
    assert_int_equal(mlpc_file_write(path, net, &bad, 1, &err), MLPC_ERR_ARG);
    assert_non_null(strstr(err.msg, path));
    mlpc_blob nodata = {MLPC_TAG('X', 'X', 'X', 'X'), NULL, 3};
    assert_int_equal(mlpc_file_write(path, net, &nodata, 1, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_file_write(path, net, NULL, 1, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_file_write(path, net, NULL, -1, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_file_write(NULL, net, NULL, 0, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_file_write(path, NULL, NULL, 0, &err), MLPC_ERR_ARG);
    assert_int_equal(mlpc_net_save(NULL, path, &err), MLPC_ERR_ARG);

    net->params[2] = NAN;
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_ERR_ARG);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "parameter 2"));
    assert_int_equal(net->err.code, MLPC_ERR_ARG); /* also left in the handle */
    net->params[2] = INFINITY;
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_ERR_ARG);
    net->params[2] = 0.0f;

    net->norm = MLPC_NORM_SCALE; /* arrays missing */
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_ERR_ARG);
    net->norm = MLPC_NORM_NONE;
    assert_false(exists(path));
    assert_int_equal(count_tmp(tu_tmpdir()), 0);

    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    assert_int_equal(net->err.code, MLPC_OK);
    mlpc_net_free(net);
}

/* ---------------------------------------------------------------- atomicity */

static void test_atomic_missing_dir(void **state)
{
    (void)state;
    mlpc_net *net = make_plain_net();
    const char *dir = tu_path("no-such-dir");
    char path[600];
    snprintf(path, sizeof path, "%s/sub/model.mlpc", dir);
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    assert_null(strchr(err.msg, '\n'));
    assert_false(exists(dir));
    assert_int_equal(count_tmp(tu_tmpdir()), 0);

    assert_int_equal(mlpc_atomic_write(path, "abc", 3, &err), MLPC_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(ENOENT)));
    assert_false(exists(dir));
    mlpc_net_free(net);
}

static void test_atomic_replace(void **state)
{
    (void)state;
    const char *path = tu_path("replace.bin");
    mlpc_error err;
    assert_int_equal(mlpc_atomic_write(path, "first version", 13, &err), MLPC_OK);
    assert_int_equal(mlpc_atomic_write(path, "second", 6, &err), MLPC_OK);
    size_t n;
    unsigned char *b = slurp(path, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(b, "second", 6);
    free(b);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);

    /* zero bytes */
    assert_int_equal(mlpc_atomic_write(path, NULL, 0, &err), MLPC_OK);
    b = slurp(path, &n);
    assert_int_equal(n, 0);
    free(b);

    /* relative path in the current directory (dirname ".") */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tu_tmpdir()), 0);
    assert_int_equal(mlpc_atomic_write("rel.bin", "r", 1, &err), MLPC_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_true(exists(tu_path("rel.bin")));

    /* file mode follows the umask like an ordinary create */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t um = umask(022);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0666 & ~um);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
}

/* A write that fails half-way (file size limit: works as root too) leaves the
 * previous file untouched and no temporary file behind. */
static void test_atomic_failure_keeps_old(void **state)
{
    (void)state;
    const char *path = tu_path("keep.mlpc");
    mlpc_net *net = make_net();
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_OK);
    size_t n_old;
    unsigned char *old = slurp(path, &n_old);

    size_t big_n = 1 << 20;
    unsigned char *big = calloc(1, big_n);
    assert_non_null(big);
    struct rlimit saved, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        signal(SIGXFSZ, prev);
        free(big);
        free(old);
        mlpc_net_free(net);
        skip();
    }
    mlpc_status st = mlpc_atomic_write(path, big, big_n, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, MLPC_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, strerror(EFBIG)));

    size_t n_now;
    unsigned char *now = slurp(path, &n_now);
    assert_int_equal(n_now, n_old);
    assert_memory_equal(now, old, n_old);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    mlpc_net *back = mlpc_net_load(path, &err);
    assert_non_null(back);
    assert_same_net(net, back);
    mlpc_net_free(back);
    free(now);
    free(old);
    free(big);
    mlpc_net_free(net);
}

static void test_atomic_target_is_dir(void **state)
{
    (void)state;
    const char *path = tu_path("a-directory");
    assert_int_equal(mkdir(path, 0755), 0);
    mlpc_net *net = make_plain_net();
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, path, &err), MLPC_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    mlpc_net_free(net);
}

/* ---------------------------------------------------------------- bad files */

static void test_read_io_errors(void **state)
{
    (void)state;
    expect_fail(tu_path("does-not-exist.mlpc"), MLPC_ERR_IO, strerror(ENOENT));
    const char *dir = tu_path("dir-as-model");
    assert_int_equal(mkdir(dir, 0755), 0);
    expect_fail(dir, MLPC_ERR_IO, "directory");
    mlpc_error err;
    assert_null(mlpc_file_read(NULL, NULL, 0, NULL, &err));
    assert_int_equal(err.code, MLPC_ERR_ARG);
}

static void test_read_empty_and_foreign(void **state)
{
    (void)state;
    expect_fail_bytes("empty.mlpc", (const unsigned char *)"", 0, MLPC_ERR_FORMAT,
                      "not an mlpc model file");
    const char *text = "hello, this is a text file and certainly not a model\n";
    expect_fail(tu_write_str("text.mlpc", text), MLPC_ERR_FORMAT, "not an mlpc model file");
    expect_fail_bytes("short.mlpc", (const unsigned char *)"MLP", 3, MLPC_ERR_FORMAT, "truncated");
    expect_fail_bytes("magic-only.mlpc", (const unsigned char *)"MLPCNET", 8, MLPC_ERR_FORMAT,
                      "truncated");

    /* wrong magic, otherwise valid */
    bb x;
    bb_valid(&x);
    bb_end(&x);
    x.b[6] = 'X';
    fix_crc(x.b, x.n);
    expect_fail_bytes("magic.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "not an mlpc model file");
}

static void test_read_truncated(void **state)
{
    (void)state;
    mlpc_net *net = make_net();
    const char *full = tu_path("full.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, full, &err), MLPC_OK);
    size_t n;
    unsigned char *b = slurp(full, &n);
    int cases = 0;
    for (size_t cut = 0; cut < n; cut += 7) { /* every 7th length, 0 included */
        expect_fail_bytes("trunc.mlpc", b, cut, MLPC_ERR_FORMAT, NULL);
        cases++;
    }
    assert_true(cases > 10);
    expect_fail_bytes("trunc.mlpc", b, n - 1, MLPC_ERR_FORMAT, "checksum mismatch");
    expect_fail_bytes("trunc.mlpc", b, n - 4, MLPC_ERR_FORMAT, "checksum mismatch");
    /* one byte appended */
    unsigned char *longer = malloc(n + 1);
    assert_non_null(longer);
    memcpy(longer, b, n);
    longer[n] = 0;
    expect_fail_bytes("trunc.mlpc", longer, n + 1, MLPC_ERR_FORMAT, "checksum mismatch");
    free(longer);
    free(b);
    mlpc_net_free(net);
}

static void test_read_flipped_bytes(void **state)
{
    (void)state;
    mlpc_net *net = make_net();
    mlpc_blob ex = {MLPC_TAG('O', 'P', 'T', 'S'), "opt-state", 9};
    const char *full = tu_path("flip-src.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_file_write(full, net, &ex, 1, &err), MLPC_OK);
    size_t n;
    unsigned char *b = slurp(full, &n);
    for (size_t i = 0; i < n; i++) {
        static const unsigned char masks[] = {0x01, 0x80, 0xff};
        for (int m = 0; m < 3; m++) {
            b[i] ^= masks[m];
            expect_fail_bytes("flip.mlpc", b, n, MLPC_ERR_FORMAT,
                              i < 8 ? "not an mlpc model file" : "checksum mismatch");
            b[i] ^= masks[m];
        }
    }
    /* unchanged file still loads */
    mlpc_net *back = mlpc_net_load(tu_write("flip.mlpc", b, n), &err);
    assert_non_null(back);
    mlpc_net_free(back);
    free(b);
    mlpc_net_free(net);
}

static void test_read_version_and_marker(void **state)
{
    (void)state;
    mlpc_net *net = make_plain_net();
    const char *full = tu_path("ver-src.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_net_save(net, full, &err), MLPC_OK);
    size_t n;
    unsigned char *b = slurp(full, &n);

    put32(b + 8, 2);
    fix_crc(b, n);
    expect_fail_bytes("v2.mlpc", b, n, MLPC_ERR_FORMAT,
                      "written by a newer mlpc (format 2, this build reads 1)");
    put32(b + 8, 4000000000u);
    fix_crc(b, n);
    expect_fail_bytes("vbig.mlpc", b, n, MLPC_ERR_FORMAT, "format 4000000000");
    put32(b + 8, 0);
    fix_crc(b, n);
    expect_fail_bytes("v0.mlpc", b, n, MLPC_ERR_FORMAT, "version 0");
    put32(b + 8, 1);

    b[12] = 1, b[13] = 2, b[14] = 3, b[15] = 4; /* big-endian writer */
    fix_crc(b, n);
    expect_fail_bytes("endian.mlpc", b, n, MLPC_ERR_FORMAT, "foreign writer");
    put32(b + 12, 0x01020304);
    fix_crc(b, n);
    mlpc_net *back = mlpc_net_load(tu_write("ok.mlpc", b, n), &err);
    assert_non_null(back);
    mlpc_net_free(back);
    free(b);
    mlpc_net_free(net);
}

/* Structurally broken files with a valid checksum. */
static void test_read_section_table(void **state)
{
    (void)state;
    bb x;
    mlpc_error err;

    /* the hand-built reference file is valid */
    bb_valid(&x);
    bb_text(&x, MLPC_TAG('Z', 'Z', 'Z', 'Z'), "zz", 2);
    bb_end(&x);
    mlpc_blob ex[2];
    int n_ex = 0;
    mlpc_net *net = mlpc_file_read(tu_write("hand.mlpc", x.b, x.n), ex, 2, &n_ex, &err);
    assert_non_null(net);
    assert_int_equal(net->n_layers, 2);
    assert_int_equal(net->norm, MLPC_NORM_SCALE);
    assert_true(net->norm_shift[0] == 0.5f);
    assert_true(net->params[5] == 0.5f);
    assert_string_equal(net->meta_config, "{}");
    assert_null(net->meta_metrics);
    assert_int_equal(n_ex, 1);
    assert_int_equal(ex[0].tag, MLPC_TAG('Z', 'Z', 'Z', 'Z'));
    free(ex[0].data);
    mlpc_net_free(net);

    /* zero sections */
    bb_begin(&x, 1, 0x01020304);
    bb_end(&x);
    expect_fail_bytes("zero.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "missing ARCH");

    /* lengths that run past the end or wrap the offset */
    static const uint64_t lens[] = {UINT64_MAX, UINT64_MAX - 11, UINT64_MAX - 19,
                                    (uint64_t)1 << 63, 0xffffffffu, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        bb_begin(&x, 1, 0x01020304);
        bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
        bb_sec(&x, TAG_PARM, lens[i]);
        bb_u64(&x, K_NPARAMS);
        for (int k = 0; k < K_NPARAMS; k++) bb_f32(&x, 0.0f);
        bb_end(&x);
        expect_fail_bytes("len.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "runs past the end");
    }
    /* an unknown section with a huge length as the first one */
    bb_begin(&x, 1, 0x01020304);
    bb_sec(&x, MLPC_TAG('B', 'I', 'G', '!'), UINT64_MAX - 8);
    bb_end(&x);
    expect_fail_bytes("len2.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "runs past the end");

    /* section count larger than what is there */
    bb_valid(&x);
    bb_end(&x);
    put32(x.b + 16, 0xffffffffu);
    fix_crc(x.b, x.n);
    expect_fail_bytes("count.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "section count");
    bb_valid(&x);
    bb_end(&x);
    put32(x.b + 16, x.n_sec + 1);
    fix_crc(x.b, x.n);
    expect_fail_bytes("count1.mlpc", x.b, x.n, MLPC_ERR_FORMAT, NULL);
    /* smaller: leaves unexplained bytes */
    bb_valid(&x);
    bb_end(&x);
    put32(x.b + 16, x.n_sec - 1);
    fix_crc(x.b, x.n);
    expect_fail_bytes("count2.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "unexpected data");

    /* a dangling partial section header */
    bb_valid(&x);
    bb_u32(&x, 0xdeadbeef);
    bb_end(&x);
    expect_fail_bytes("dangle.mlpc", x.b, x.n, MLPC_ERR_FORMAT, NULL);

    /* duplicate ARCH */
    bb_valid(&x);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_end(&x);
    expect_fail_bytes("dup.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "duplicate 'ARCH'");
}

static void test_read_bad_content(void **state)
{
    (void)state;
    bb x;

    /* missing PARM */
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_end(&x);
    expect_fail_bytes("noparm.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "missing PARM");

    /* missing ARCH */
    bb_begin(&x, 1, 0x01020304);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("noarch.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "missing ARCH");

    /* layer counts out of range (ARCH length consistent with the count) */
    static const uint32_t many[70] = {0};
    static const uint32_t nls[] = {0, 33, 34};
    for (size_t i = 0; i < 3; i++) {
        bb_begin(&x, 1, 0x01020304);
        bb_arch(&x, nls[i], many, many, 0);
        bb_parm(&x, 0, 0, 0.0f);
        bb_end(&x);
        expect_fail_bytes("nl.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "layers");
    }
    /* huge layer count with a short ARCH */
    bb_begin(&x, 1, 0x01020304);
    bb_sec(&x, TAG_ARCH, 4);
    bb_u32(&x, 0xffffffffu);
    bb_end(&x);
    expect_fail_bytes("nlhuge.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "layers");
    /* ARCH length wrong for its layer count */
    bb_begin(&x, 1, 0x01020304);
    bb_sec(&x, TAG_ARCH, 8);
    bb_u32(&x, 2);
    bb_u32(&x, 2);
    bb_end(&x);
    expect_fail_bytes("archlen.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "ARCH section has");
    bb_begin(&x, 1, 0x01020304);
    bb_sec(&x, TAG_ARCH, 0);
    bb_end(&x);
    expect_fail_bytes("arch0.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "ARCH");

    /* sizes: zero, negative as int, beyond the width limit */
    static const uint32_t bad_sizes[][3] = {
        {2, 0, 2}, {2, 0x80000000u, 2}, {2, 0xffffffffu, 2}, {MLPC_MAX_WIDTH + 1, 3, 2}};
    static const char *const size_msgs[] = {"invalid architecture", "ARCH: layer size",
                                            "ARCH: layer size", "invalid architecture"};
    for (size_t i = 0; i < 4; i++) {
        bb_begin(&x, 1, 0x01020304);
        bb_arch(&x, 2, bad_sizes[i], k_act, MLPC_LOSS_CCE);
        bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
        bb_end(&x);
        expect_fail_bytes("sizes.mlpc", x.b, x.n, MLPC_ERR_FORMAT, size_msgs[i]);
    }
    /* unknown activation / loss codes, softmax in a hidden layer */
    const uint32_t bad_act[] = {99, MLPC_ACT_SOFTMAX};
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, bad_act, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("act.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "activation");
    const uint32_t hidden_softmax[] = {MLPC_ACT_SOFTMAX, MLPC_ACT_SOFTMAX};
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, hidden_softmax, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("softmax.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "invalid architecture");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, 1234);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("loss.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "loss");

    /* a huge architecture with a tiny PARM must not allocate anything big */
    const uint32_t wide[] = {MLPC_MAX_WIDTH, MLPC_MAX_WIDTH, 2};
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, wide, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, (uint64_t)MLPC_MAX_WIDTH * MLPC_MAX_WIDTH + 3 * (uint64_t)MLPC_MAX_WIDTH + 2, 4,
            0.0f);
    bb_end(&x);
    expect_fail_bytes("wide.mlpc", x.b, x.n, MLPC_ERR_FORMAT, NULL);

    /* PARM count or length disagreeing with ARCH */
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS - 1, K_NPARAMS - 1, 0.0f);
    bb_end(&x);
    expect_fail_bytes("pcount.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "the architecture needs 17");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, UINT64_MAX, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("pcount2.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "PARM");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS, K_NPARAMS + 1, 0.0f);
    bb_end(&x);
    expect_fail_bytes("plen.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "PARM section has");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_sec(&x, TAG_PARM, 5);
    bb_u32(&x, 0);
    x.b[x.n++] = 0;
    bb_end(&x);
    expect_fail_bytes("pshort.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "PARM");

    /* non-finite parameters */
    const float nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        bb_begin(&x, 1, 0x01020304);
        bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
        bb_parm(&x, K_NPARAMS, K_NPARAMS, nonfinite[i]);
        bb_end(&x);
        expect_fail_bytes("nan.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "parameter 5 is NaN or infinite");
    }

    /* NORM: width, mode, length, values */
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_norm(&x, MLPC_NORM_SCALE, 3, 0.0f);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("normw.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "NORM has 3 inputs, the net has 2");
    static const uint32_t modes[] = {MLPC_NORM_NONE, MLPC_NORM_COUNT, 0xffffffffu};
    for (int i = 0; i < 3; i++) {
        bb_begin(&x, 1, 0x01020304);
        bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
        bb_norm(&x, modes[i], 2, 0.0f);
        bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
        bb_end(&x);
        expect_fail_bytes("normm.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "normalization mode");
    }
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_norm(&x, MLPC_NORM_STANDARD, 2, NAN);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("normnan.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "NaN");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_sec(&x, TAG_NORM, 12);
    bb_u32(&x, MLPC_NORM_SCALE);
    bb_u32(&x, 2);
    bb_u32(&x, 0);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("normlen.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "NORM section has");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_sec(&x, TAG_NORM, 3);
    bb_u32(&x, 0);
    x.n--;
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_end(&x);
    expect_fail_bytes("normshort.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "NORM");

    /* text with an embedded NUL */
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_text(&x, TAG_METR, "{\"a\"\0:1}", 8);
    bb_end(&x);
    expect_fail_bytes("textnul.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "METR");
    bb_begin(&x, 1, 0x01020304);
    bb_arch(&x, 2, k_sizes, k_act, MLPC_LOSS_CCE);
    bb_parm(&x, K_NPARAMS, K_NPARAMS, 0.0f);
    bb_text(&x, TAG_CONF, "\0", 1);
    bb_end(&x);
    expect_fail_bytes("textnul2.mlpc", x.b, x.n, MLPC_ERR_FORMAT, "CONF");
}

/* Random damage behind a recomputed checksum: must never crash or leak
 * (ASan/UBSan), and every failure must be a clean format error. */
static void test_read_fuzz(void **state)
{
    (void)state;
    mlpc_net *net = make_net();
    mlpc_blob ex = {MLPC_TAG('O', 'P', 'T', 'S'), "0123456789abcdef", 16};
    const char *src = tu_path("fuzz-src.mlpc");
    mlpc_error err;
    assert_int_equal(mlpc_file_write(src, net, &ex, 1, &err), MLPC_OK);
    size_t n;
    unsigned char *orig = slurp(src, &n);
    unsigned char *b = malloc(n);
    assert_non_null(b);
    const char *path = tu_path("fuzz.mlpc");
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    int loaded = 0, failed = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(b, orig, n);
        size_t len = n;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int kind = (int)(s % 4);
        int hits = 1 + (int)((s >> 8) % 4);
        for (int h = 0; h < hits; h++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            size_t at = 8 + (size_t)(s % (n - 12)); /* keep the magic */
            if (kind == 0)
                b[at] ^= (unsigned char)(1u << ((s >> 20) % 8));
            else if (kind == 1)
                b[at] = (unsigned char)(s >> 24);
            else if (kind == 2)
                b[at] = (s >> 30) & 1 ? 0xff : 0x00;
            else if (at + 4 < n) /* cut the file and re-seal it */
                len = at + 4;
        }
        fix_crc(b, len);
        mlpc_blob got[2];
        int n_got = -1;
        mlpc_net *back = mlpc_file_read(tu_write("fuzz.mlpc", b, len), got, 2, &n_got, &err);
        if (back) {
            loaded++;
            for (int i = 0; i < n_got; i++) free(got[i].data);
            mlpc_net_free(back);
        } else {
            failed++;
            assert_int_equal(n_got, 0);
            assert_int_equal(err.code, MLPC_ERR_FORMAT);
            assert_non_null(strstr(err.msg, path));
            assert_null(strchr(err.msg, '\n'));
        }
    }
    assert_true(loaded > 0); /* e.g. damage inside parameter mantissas */
    assert_true(failed > 0);
    free(b);
    free(orig);
    mlpc_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_plain),
        cmocka_unit_test(test_data_sections),
        cmocka_unit_test(test_exact_layout),
        cmocka_unit_test(test_write_rejects),
        cmocka_unit_test(test_atomic_missing_dir),
        cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_atomic_failure_keeps_old),
        cmocka_unit_test(test_atomic_target_is_dir),
        cmocka_unit_test(test_read_io_errors),
        cmocka_unit_test(test_read_empty_and_foreign),
        cmocka_unit_test(test_read_truncated),
        cmocka_unit_test(test_read_flipped_bytes),
        cmocka_unit_test(test_read_version_and_marker),
        cmocka_unit_test(test_read_section_table),
        cmocka_unit_test(test_read_bad_content),
        cmocka_unit_test(test_read_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
