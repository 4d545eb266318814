/*
 * modelfile.c - the versioned binary model file (docs/model-format.md).
 *
 *   "MLPCNET\0" | u32 version (1) | u32 0x01020304 | u32 section count
 *   section*: u32 tag | u64 length | payload
 *   u32 CRC-32 (zlib) of every byte before it
 *
 * Every integer and float is written little-endian byte by byte, so the code
 * does not depend on the host's byte order. The reader validates everything
 * (sizes, bounds with overflow-safe arithmetic, checksum, architecture,
 * finiteness) before building a net, and never trusts a length from the file
 * to size an allocation beyond the file's own size.
 *
 * Files and memory share the code: encode() makes the bytes that
 * mlpc_file_write writes and mlpc_net_save_buffer returns, and parse()
 * checks and reads both (mlpc_file_read, mlpc_net_load_buffer).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MF_VERSION 1u
#define MF_ENDIAN 0x01020304u
#define MF_HEADER 20u  /* magic 8, version 4, endian marker 4, section count 4 */
#define MF_SECHDR 12u  /* tag 4, length 8 */
#define MF_TRAILER 4u  /* CRC-32 */

static const unsigned char mf_magic[8] = {'M', 'L', 'P', 'C', 'N', 'E', 'T', '\0'};

#define TAG_ARCH MLPC_TAG('A', 'R', 'C', 'H')
#define TAG_NORM MLPC_TAG('N', 'O', 'R', 'M')
#define TAG_PARM MLPC_TAG('P', 'A', 'R', 'M')
#define TAG_CONF MLPC_TAG('C', 'O', 'N', 'F')
#define TAG_METR MLPC_TAG('M', 'E', 'T', 'R')
#define TAG_CLAS MLPC_TAG('C', 'L', 'A', 'S') /* class names */
#define TAG_TNRM MLPC_TAG('T', 'N', 'R', 'M') /* regression target mean/std */
#define TAG_IMPU MLPC_TAG('I', 'M', 'P', 'U') /* training means for missing features */

/* ---------------------------------------------------------------- bytes */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v & 0xffffffffu));
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* Tag as text for messages: 'ABCD' when printable, else hex. */
static const char *tag_str(uint32_t tag, char buf[16])
{
    char c[4];
    int printable = 1;
    for (int i = 0; i < 4; i++) {
        c[i] = (char)((tag >> (8 * i)) & 0xff);
        if (c[i] < 0x20 || c[i] > 0x7e) printable = 0;
    }
    if (printable)
        snprintf(buf, 16, "'%c%c%c%c'", c[0], c[1], c[2], c[3]);
    else
        snprintf(buf, 16, "0x%08x", (unsigned)tag);
    return buf;
}

static int is_builtin_tag(uint32_t tag)
{
    return tag == TAG_ARCH || tag == TAG_NORM || tag == TAG_PARM || tag == TAG_CONF ||
           tag == TAG_METR || tag == TAG_CLAS || tag == TAG_TNRM || tag == TAG_IMPU;
}

static int add_ok(size_t *acc, size_t v)
{
    if (*acc > SIZE_MAX - v) return 0;
    *acc += v;
    return 1;
}

/* Number of parameters the architecture implies: per layer in*out + out. */
static int arch_param_count(int n_layers, const int *sizes, size_t *out)
{
    size_t total = 0;
    for (int l = 0; l < n_layers; l++) {
        if (sizes[l] <= 0 || sizes[l + 1] <= 0) return 0;
        size_t w;
        if (!mlpc_mul_ok((size_t)sizes[l], (size_t)sizes[l + 1], &w)) return 0;
        if (!add_ok(&total, w) || !add_ok(&total, (size_t)sizes[l + 1])) return 0;
    }
    *out = total;
    return 1;
}

/* Sets err to "<path>: <formatted text>". */
static mlpc_status ferr(mlpc_error *err, mlpc_status code, const char *path, const char *fmt, ...)
    MLPC_PRINTF(4, 5);
static mlpc_status ferr(mlpc_error *err, mlpc_status code, const char *path, const char *fmt, ...)
{
    char buf[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return mlpc_seterr(err, code, "%s: %s", path, buf);
}

/* ---------------------------------------------------------------- writing */

/* Writes a section header at p; returns where its payload starts. */
static unsigned char *sec_begin(unsigned char *p, uint32_t tag, size_t len)
{
    put_u32(p, tag);
    put_u64(p + 4, (uint64_t)len);
    return p + MF_SECHDR;
}

/* The model file's bytes for net + extra sections, in a malloc'ed *out of
 * *len bytes; messages name `path` (a file, or "<memory>"). */
/* ---------------------------------------------------------------- data sections */

static unsigned char *floats_blob(uint32_t n, const float *a, const float *b, size_t *len)
{
    *len = 4 + 4 * (size_t)n * (b ? 2 : 1);
    unsigned char *p = malloc(*len), *q = p;
    if (!p) return NULL;
    put_u32(q, n);
    q += 4;
    for (uint32_t i = 0; i < n; i++, q += 4) put_u32(q, f2u(a[i]));
    for (uint32_t i = 0; b && i < n; i++, q += 4) put_u32(q, f2u(b[i]));
    return p;
}

static unsigned char *names_blob(const mlpc_net *net, size_t *len)
{
    *len = 4;
    for (int k = 0; k < net->n_names; k++) *len += 4 + strlen(net->class_names[k]);
    unsigned char *p = malloc(*len), *q = p;
    if (!p) return NULL;
    put_u32(q, (uint32_t)net->n_names);
    q += 4;
    for (int k = 0; k < net->n_names; k++) {
        size_t n = strlen(net->class_names[k]);
        put_u32(q, (uint32_t)n);
        memcpy(q + 4, net->class_names[k], n);
        q += 4 + n;
    }
    return p;
}

/* The net's data sections (CLAS, TNRM, IMPU: only those it has) into
 * out[0..3), payloads malloc'ed; -1 when out of memory. */
static int data_sections(const mlpc_net *net, mlpc_blob *out)
{
    int n = 0;
    size_t len;
    unsigned char *b;
    if (net->n_names > 0) {
        if (!(b = names_blob(net, &len))) return -1;
        out[n++] = (mlpc_blob){TAG_CLAS, b, (uint64_t)len};
    }
    if (net->tgt_mean) {
        if (!(b = floats_blob((uint32_t)net->sizes[net->n_layers], net->tgt_mean, net->tgt_std, &len))) return -1;
        out[n++] = (mlpc_blob){TAG_TNRM, b, (uint64_t)len};
    }
    if (net->imp_mean) {
        if (!(b = floats_blob((uint32_t)net->sizes[0], net->imp_mean, NULL, &len))) return -1;
        out[n++] = (mlpc_blob){TAG_IMPU, b, (uint64_t)len};
    }
    return n;
}

static mlpc_status encode_body(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                               unsigned char **out, size_t *len, mlpc_error *err);

static mlpc_status encode(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                          unsigned char **out, size_t *len, mlpc_error *err)
{
    *out = NULL;
    *len = 0;
    if (!net) return ferr(err, MLPC_ERR_ARG, path, "cannot save: no net given");
    if (n_extra < 0 || (n_extra > 0 && !extra))
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: invalid extra sections");
    int nl = net->n_layers;
    if (nl < 1 || nl > MLPC_MAX_LAYERS)
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: net has %d layers (must be 1..%d)", nl,
                    MLPC_MAX_LAYERS);
    mlpc_error ae;
    mlpc_clearerr(&ae);
    if (mlpc_arch_check(nl, net->sizes, net->act, net->loss, &ae) != MLPC_OK)
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: invalid architecture: %s", ae.msg);
    size_t expect = 0;
    if (!arch_param_count(nl, net->sizes, &expect) || expect != net->n_params)
        return ferr(err, MLPC_ERR_ARG, path,
                    "cannot save: net has %zu parameters, its architecture needs %zu",
                    net->n_params, expect);
    if (net->n_params > 0 && !net->params)
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: net has no parameters");
    for (size_t i = 0; i < net->n_params; i++)
        if (!isfinite(net->params[i]))
            return ferr(err, MLPC_ERR_ARG, path, "cannot save: parameter %zu is NaN or infinite", i);
    int has_norm = net->norm != MLPC_NORM_NONE;
    size_t n_in = (size_t)net->sizes[0];
    if (has_norm) {
        if ((int)net->norm < 0 || net->norm >= MLPC_NORM_COUNT)
            return ferr(err, MLPC_ERR_ARG, path, "cannot save: invalid normalization mode %d",
                        (int)net->norm);
        if (!net->norm_shift || !net->norm_scale)
            return ferr(err, MLPC_ERR_ARG, path, "cannot save: normalization arrays missing");
        for (size_t i = 0; i < n_in; i++)
            if (!isfinite(net->norm_shift[i]) || !isfinite(net->norm_scale[i]))
                return ferr(err, MLPC_ERR_ARG, path,
                            "cannot save: normalization value for input %zu is NaN or infinite", i);
    }
    for (int i = 0; i < n_extra; i++) {
        char tb[16];
        if (is_builtin_tag(extra[i].tag))
            return ferr(err, MLPC_ERR_ARG, path,
                        "cannot save: extra section %d uses the reserved tag %s", i,
                        tag_str(extra[i].tag, tb));
        if (extra[i].size > 0 && !extra[i].data)
            return ferr(err, MLPC_ERR_ARG, path, "cannot save: extra section %d has no data", i);
        if (extra[i].size > SIZE_MAX)
            return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: extra section %d is too large", i);
    }

    /* the net's data sections go with the caller's extra sections */
    mlpc_blob own[3] = {{0, NULL, 0}, {0, NULL, 0}, {0, NULL, 0}};
    int n_own = data_sections(net, own);
    mlpc_blob *all = n_own < 0 ? NULL : malloc(sizeof *all * (size_t)(n_own + n_extra + 1));
    if (!all) {
        for (int i = 0; i < 3; i++) free(own[i].data);
        return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: out of memory");
    }
    for (int i = 0; i < n_own; i++) all[i] = own[i];
    for (int i = 0; i < n_extra; i++) all[n_own + i] = extra[i];
    mlpc_status st = encode_body(path, net, all, n_own + n_extra, out, len, err);
    for (int i = 0; i < n_own; i++) free(own[i].data);
    free(all);
    return st;
}

static mlpc_status encode_body(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                               unsigned char **out, size_t *len, mlpc_error *err)
{
    int nl = net->n_layers;
    int has_norm = net->norm != MLPC_NORM_NONE;
    size_t n_in = (size_t)net->sizes[0];
    /* sizes of everything, overflow-checked */
    size_t arch_len = 4 * (2 * (size_t)nl + 3);
    size_t norm_len = has_norm ? 8 + 8 * n_in : 0;
    size_t parm_len;
    size_t conf_len = net->meta_config ? strlen(net->meta_config) : 0;
    size_t metr_len = net->meta_metrics ? strlen(net->meta_metrics) : 0;
    size_t total = MF_HEADER + MF_TRAILER;
    uint32_t n_sec = 2;
    int ok = mlpc_mul_ok(net->n_params, 4, &parm_len) && add_ok(&parm_len, 8) &&
             add_ok(&total, MF_SECHDR + arch_len) && add_ok(&total, MF_SECHDR) &&
             add_ok(&total, parm_len);
    if (has_norm) {
        n_sec++;
        ok = ok && add_ok(&total, MF_SECHDR + norm_len);
    }
    if (net->meta_config) {
        n_sec++;
        ok = ok && add_ok(&total, MF_SECHDR) && add_ok(&total, conf_len);
    }
    if (net->meta_metrics) {
        n_sec++;
        ok = ok && add_ok(&total, MF_SECHDR) && add_ok(&total, metr_len);
    }
    for (int i = 0; i < n_extra; i++) {
        n_sec++;
        ok = ok && add_ok(&total, MF_SECHDR) && add_ok(&total, (size_t)extra[i].size);
    }
    if (!ok) return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: model too large");

    unsigned char *buf = malloc(total);
    if (!buf) return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: out of memory (%zu bytes)", total);
    unsigned char *p = buf;
    memcpy(p, mf_magic, 8);
    put_u32(p + 8, MF_VERSION);
    put_u32(p + 12, MF_ENDIAN);
    put_u32(p + 16, n_sec);
    p += MF_HEADER;

    p = sec_begin(p, TAG_ARCH, arch_len);
    put_u32(p, (uint32_t)nl);
    p += 4;
    for (int i = 0; i <= nl; i++, p += 4) put_u32(p, (uint32_t)net->sizes[i]);
    for (int i = 0; i < nl; i++, p += 4) put_u32(p, (uint32_t)net->act[i]);
    put_u32(p, (uint32_t)net->loss);
    p += 4;

    if (has_norm) {
        p = sec_begin(p, TAG_NORM, norm_len);
        put_u32(p, (uint32_t)net->norm);
        put_u32(p + 4, (uint32_t)n_in);
        p += 8;
        for (size_t i = 0; i < n_in; i++, p += 4) put_u32(p, f2u(net->norm_shift[i]));
        for (size_t i = 0; i < n_in; i++, p += 4) put_u32(p, f2u(net->norm_scale[i]));
    }

    p = sec_begin(p, TAG_PARM, parm_len);
    put_u64(p, (uint64_t)net->n_params);
    p += 8;
    for (size_t i = 0; i < net->n_params; i++, p += 4) put_u32(p, f2u(net->params[i]));

    if (net->meta_config) {
        p = sec_begin(p, TAG_CONF, conf_len);
        memcpy(p, net->meta_config, conf_len);
        p += conf_len;
    }
    if (net->meta_metrics) {
        p = sec_begin(p, TAG_METR, metr_len);
        memcpy(p, net->meta_metrics, metr_len);
        p += metr_len;
    }
    for (int i = 0; i < n_extra; i++) {
        size_t n = (size_t)extra[i].size;
        p = sec_begin(p, extra[i].tag, n);
        if (n) memcpy(p, extra[i].data, n);
        p += n;
    }
    put_u32(p, crc_of(buf, (size_t)(p - buf)));
    p += 4;

    if ((size_t)(p - buf) != total) { /* cannot happen; guards the arithmetic above */
        free(buf);
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: internal size mismatch");
    }
    *out = buf;
    *len = total;
    return MLPC_OK;
}

mlpc_status mlpc_file_write(const char *path, const mlpc_net *net, const mlpc_blob *extra,
                            int n_extra, mlpc_error *err)
{
    return mlpc_file_write_sync(path, net, extra, n_extra, 1, err);
}

mlpc_status mlpc_file_write_sync(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                                 int sync, mlpc_error *err)
{
    if (!path || !*path) return mlpc_seterr(err, MLPC_ERR_ARG, "cannot save model: no path given");
    unsigned char *buf;
    size_t total;
    mlpc_status st = encode(path, net, extra, n_extra, &buf, &total, err);
    if (st) return st;
    st = mlpc_atomic_write_sync(path, buf, total, sync, err);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- reading */

/* Reads the whole file into a malloc'ed buffer (src/core/file.c: regular
 * files only, within the input limit). */
static mlpc_status read_all(const char *path, unsigned char **out, size_t *len, mlpc_error *err)
{
    return mlpc_read_whole(path, "a model file", 0, out, len, err);
}

typedef struct mf_sec {
    int seen;
    size_t off; /* payload offset */
    size_t len; /* payload length */
} mf_sec;

static void free_extras(mlpc_blob *extra, int n)
{
    for (int i = 0; i < n; i++) {
        free(extra[i].data);
        extra[i].data = NULL;
        extra[i].size = 0;
    }
}

/* Copies a text section into a NUL-terminated malloc'ed string. */
static char *dup_text(const unsigned char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s) return NULL;
    if (len) memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* A TNRM or IMPU payload: u32 n (must be `want`), then n (or 2n) finite
 * floats; std values must be positive. Allocates *a (and *b). */
static mlpc_status read_floats(const char *path, const char *what, const unsigned char *p, size_t len, uint32_t want,
                               float **a, float **b, mlpc_error *err)
{
    size_t per = b ? 2 : 1;
    if (len < 4 || get_u32(p) != want || (len - 4) != 4 * per * (size_t)want)
        return ferr(err, MLPC_ERR_FORMAT, path, "%s section: %zu bytes, the net's %u columns need %zu", what, len,
                    (unsigned)want, 4 + 4 * per * (size_t)want);
    *a = malloc(4 * (size_t)want + 4);
    if (b) *b = malloc(4 * (size_t)want + 4);
    if (!*a || (b && !*b)) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    for (uint32_t i = 0; i < want * per; i++) {
        float v = u2f(get_u32(p + 4 + 4 * (size_t)i));
        if (!isfinite(v) || (i >= want && !(v > 0)))
            return ferr(err, MLPC_ERR_FORMAT, path, "%s: value %u is %s", what, (unsigned)i,
                        isfinite(v) ? "not positive" : "NaN or infinite");
        (i < want ? *a : *b)[i % want] = v;
    }
    return MLPC_OK;
}

static mlpc_status read_names(const char *path, const unsigned char *p, size_t len, mlpc_net *net, mlpc_error *err)
{
    int n_out = net->sizes[net->n_layers];
    uint32_t n = len >= 4 ? get_u32(p) : 0;
    if (len < 4 || n < 1 || n > (uint32_t)(n_out < 2 ? 2 : n_out) || n > (len - 4) / 4)
        return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: %u class names for %d outputs", (unsigned)n, n_out);
    net->class_names = calloc(n, sizeof *net->class_names);
    if (!net->class_names) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    net->n_names = (int)n;
    size_t off = 4;
    for (uint32_t k = 0; k < n; k++) {
        size_t m = len - off >= 4 ? get_u32(p + off) : SIZE_MAX;
        if (m == SIZE_MAX || m > len - off - 4 || memchr(p + off + 4, 0, m))
            return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: class name %u runs past the section or holds a NUL",
                        (unsigned)k);
        if (!(net->class_names[k] = dup_text(p + off + 4, m))) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
        off += 4 + m;
    }
    if (off != len) return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: %zu bytes after the last name", len - off);
    return MLPC_OK;
}

static mlpc_status read_data_sections(const char *path, const unsigned char *buf, const mf_sec *clas,
                                      const mf_sec *tnrm, const mf_sec *impu, mlpc_net *net, mlpc_error *err)
{
    mlpc_status st = MLPC_OK;
    if (clas->seen) st = read_names(path, buf + clas->off, clas->len, net, err);
    if (!st && tnrm->seen)
        st = read_floats(path, "TNRM", buf + tnrm->off, tnrm->len, (uint32_t)net->sizes[net->n_layers], &net->tgt_mean,
                         &net->tgt_std, err);
    if (!st && impu->seen)
        st = read_floats(path, "IMPU", buf + impu->off, impu->len, (uint32_t)net->sizes[0], &net->imp_mean, NULL, err);
    return st;
}

static mlpc_net *parse(const char *path, const unsigned char *buf, size_t size, mlpc_blob *extra,
                       int max_extra, int *n_extra, mlpc_error *err)
{
    char tb[16];

    /* header */
    if (size == 0) {
        ferr(err, MLPC_ERR_FORMAT, path, "empty file, not an mlpc model file");
        return NULL;
    }
    if (memcmp(buf, mf_magic, size < 8 ? size : 8) != 0) {
        ferr(err, MLPC_ERR_FORMAT, path, "not an mlpc model file");
        return NULL;
    }
    if (size < MF_HEADER + MF_TRAILER) {
        ferr(err, MLPC_ERR_FORMAT, path, "truncated model file (%zu bytes, the minimum is %u)",
             size, MF_HEADER + MF_TRAILER);
        return NULL;
    }
    /* The checksum trailer is part of the fixed frame of every version. */
    size_t body_end = size - MF_TRAILER;
    if (crc_of(buf, body_end) != get_u32(buf + body_end)) {
        ferr(err, MLPC_ERR_FORMAT, path, "checksum mismatch: file is corrupt or truncated");
        return NULL;
    }
    uint32_t version = get_u32(buf + 8);
    if (version > MF_VERSION) {
        ferr(err, MLPC_ERR_FORMAT, path, "written by a newer mlpc (format %u, this build reads %u)",
             (unsigned)version, MF_VERSION);
        return NULL;
    }
    if (version != MF_VERSION) {
        ferr(err, MLPC_ERR_FORMAT, path, "invalid format version %u", (unsigned)version);
        return NULL;
    }
    uint32_t marker = get_u32(buf + 12);
    if (marker != MF_ENDIAN) {
        ferr(err, MLPC_ERR_FORMAT, path,
             "byte-order marker is 0x%08x, expected 0x%08x (written by a foreign writer)",
             (unsigned)marker, MF_ENDIAN);
        return NULL;
    }
    uint32_t n_sec = get_u32(buf + 16);
    if ((uint64_t)n_sec > (uint64_t)(body_end - MF_HEADER) / MF_SECHDR) {
        ferr(err, MLPC_ERR_FORMAT, path, "section count %u is more than the file can hold",
             (unsigned)n_sec);
        return NULL;
    }

    /* pass 1: walk the section table, check bounds, find the known ones */
    mf_sec arch = {0}, norm = {0}, parm = {0}, conf = {0}, metr = {0}, clas = {0}, tnrm = {0}, impu = {0};
    size_t off = MF_HEADER;
    for (uint32_t i = 0; i < n_sec; i++) {
        if (body_end - off < MF_SECHDR) {
            ferr(err, MLPC_ERR_FORMAT, path, "section %u header runs past the end of the file",
                 (unsigned)i);
            return NULL;
        }
        uint32_t tag = get_u32(buf + off);
        uint64_t len = get_u64(buf + off + 4);
        off += MF_SECHDR;
        if (len > (uint64_t)(body_end - off)) {
            ferr(err, MLPC_ERR_FORMAT, path,
                 "section %u (%s) length %llu runs past the end of the file (%zu bytes left)",
                 (unsigned)i, tag_str(tag, tb), (unsigned long long)len, body_end - off);
            return NULL;
        }
        mf_sec *s = tag == TAG_ARCH   ? &arch
                    : tag == TAG_NORM ? &norm
                    : tag == TAG_PARM ? &parm
                    : tag == TAG_CONF ? &conf
                    : tag == TAG_METR ? &metr
                    : tag == TAG_CLAS ? &clas
                    : tag == TAG_TNRM ? &tnrm
                    : tag == TAG_IMPU ? &impu
                                      : NULL;
        if (s) {
            if (s->seen) {
                ferr(err, MLPC_ERR_FORMAT, path, "duplicate %s section", tag_str(tag, tb));
                return NULL;
            }
            s->seen = 1;
            s->off = off;
            s->len = (size_t)len;
        }
        off += (size_t)len;
    }
    if (off != body_end) {
        ferr(err, MLPC_ERR_FORMAT, path, "%zu bytes of unexpected data after the last section",
             body_end - off);
        return NULL;
    }

    /* ARCH */
    if (!arch.seen) {
        ferr(err, MLPC_ERR_FORMAT, path, "missing ARCH section");
        return NULL;
    }
    const unsigned char *p = buf + arch.off;
    if (arch.len < 4) {
        ferr(err, MLPC_ERR_FORMAT, path, "ARCH section too short (%zu bytes)", arch.len);
        return NULL;
    }
    uint32_t nl32 = get_u32(p);
    if (nl32 < 1 || nl32 > MLPC_MAX_LAYERS) {
        ferr(err, MLPC_ERR_FORMAT, path, "ARCH: %u layers (must be 1..%d)", (unsigned)nl32,
             MLPC_MAX_LAYERS);
        return NULL;
    }
    int nl = (int)nl32;
    size_t arch_len = 4 * (2 * (size_t)nl + 3);
    if (arch.len != arch_len) {
        ferr(err, MLPC_ERR_FORMAT, path, "ARCH section has %zu bytes, %d layers need %zu", arch.len,
             nl, arch_len);
        return NULL;
    }
    int sizes[MLPC_MAX_LAYERS + 1];
    mlpc_act act[MLPC_MAX_LAYERS];
    p += 4;
    for (int i = 0; i <= nl; i++, p += 4) {
        uint32_t v = get_u32(p);
        if (v > (uint32_t)INT_MAX) {
            ferr(err, MLPC_ERR_FORMAT, path, "ARCH: layer size %u out of range", (unsigned)v);
            return NULL;
        }
        sizes[i] = (int)v;
    }
    for (int i = 0; i < nl; i++, p += 4) {
        uint32_t v = get_u32(p);
        if (v >= (uint32_t)MLPC_ACT_COUNT) {
            ferr(err, MLPC_ERR_FORMAT, path, "ARCH: unknown activation code %u for layer %d",
                 (unsigned)v, i + 1);
            return NULL;
        }
        act[i] = (mlpc_act)v;
    }
    uint32_t loss32 = get_u32(p);
    if (loss32 >= (uint32_t)MLPC_LOSS_COUNT) {
        ferr(err, MLPC_ERR_FORMAT, path, "ARCH: unknown loss code %u", (unsigned)loss32);
        return NULL;
    }
    mlpc_loss loss = (mlpc_loss)loss32;
    mlpc_error ae;
    mlpc_clearerr(&ae);
    if (mlpc_arch_check(nl, sizes, act, loss, &ae) != MLPC_OK) {
        ferr(err, MLPC_ERR_FORMAT, path, "invalid architecture: %s", ae.msg);
        return NULL;
    }
    size_t expect;
    if (!arch_param_count(nl, sizes, &expect)) {
        ferr(err, MLPC_ERR_FORMAT, path, "invalid architecture: parameter count overflows");
        return NULL;
    }

    /* PARM: count and length must agree with ARCH before anything is allocated */
    if (!parm.seen) {
        ferr(err, MLPC_ERR_FORMAT, path, "missing PARM section");
        return NULL;
    }
    if (parm.len < 8) {
        ferr(err, MLPC_ERR_FORMAT, path, "PARM section too short (%zu bytes)", parm.len);
        return NULL;
    }
    uint64_t count = get_u64(buf + parm.off);
    if (count != (uint64_t)expect) {
        ferr(err, MLPC_ERR_FORMAT, path, "PARM holds %llu parameters, the architecture needs %zu",
             (unsigned long long)count, expect);
        return NULL;
    }
    if ((parm.len - 8) % 4 != 0 || (parm.len - 8) / 4 != expect) {
        ferr(err, MLPC_ERR_FORMAT, path, "PARM section has %zu bytes, %zu parameters need %zu",
             parm.len, expect, 8 + 4 * expect);
        return NULL;
    }

    /* NORM */
    mlpc_norm norm_mode = MLPC_NORM_NONE;
    if (norm.seen) {
        if (norm.len < 8) {
            ferr(err, MLPC_ERR_FORMAT, path, "NORM section too short (%zu bytes)", norm.len);
            return NULL;
        }
        uint32_t mode = get_u32(buf + norm.off);
        uint32_t n_in = get_u32(buf + norm.off + 4);
        if (mode == MLPC_NORM_NONE || mode >= (uint32_t)MLPC_NORM_COUNT) {
            ferr(err, MLPC_ERR_FORMAT, path, "NORM: invalid normalization mode %u", (unsigned)mode);
            return NULL;
        }
        if (n_in != (uint32_t)sizes[0]) {
            ferr(err, MLPC_ERR_FORMAT, path, "NORM has %u inputs, the net has %d", (unsigned)n_in,
                 sizes[0]);
            return NULL;
        }
        if ((norm.len - 8) % 8 != 0 || (norm.len - 8) / 8 != (size_t)n_in) {
            ferr(err, MLPC_ERR_FORMAT, path, "NORM section has %zu bytes, %u inputs need %zu",
                 norm.len, (unsigned)n_in, 8 + 8 * (size_t)n_in);
            return NULL;
        }
        const unsigned char *q = buf + norm.off + 8;
        for (size_t i = 0; i < 2 * (size_t)n_in; i++)
            if (!isfinite(u2f(get_u32(q + 4 * i)))) {
                ferr(err, MLPC_ERR_FORMAT, path, "NORM: %s value for input %zu is NaN or infinite",
                     i < n_in ? "shift" : "scale", i % n_in);
                return NULL;
            }
        norm_mode = (mlpc_norm)mode;
    }

    /* text sections must not hold NUL bytes (they are returned as C strings) */
    if (conf.seen && memchr(buf + conf.off, 0, conf.len)) {
        ferr(err, MLPC_ERR_FORMAT, path, "CONF section contains a NUL byte");
        return NULL;
    }
    if (metr.seen && memchr(buf + metr.off, 0, metr.len)) {
        ferr(err, MLPC_ERR_FORMAT, path, "METR section contains a NUL byte");
        return NULL;
    }

    /* parameters must be finite */
    const unsigned char *q = buf + parm.off + 8;
    for (size_t i = 0; i < expect; i++)
        if (!isfinite(u2f(get_u32(q + 4 * i)))) {
            ferr(err, MLPC_ERR_FORMAT, path, "parameter %zu is NaN or infinite", i);
            return NULL;
        }

    /* build the net */
    mlpc_clearerr(&ae);
    mlpc_net *net = mlpc_net_alloc(nl, sizes, act, loss, &ae);
    if (!net) {
        ferr(err, ae.code != MLPC_OK ? ae.code : MLPC_ERR_NOMEM, path, "cannot create the net: %s",
             ae.msg[0] ? ae.msg : "out of memory");
        return NULL;
    }
    int got = 0;
    if (net->n_params != expect || (expect > 0 && !net->params)) {
        ferr(err, MLPC_ERR_FORMAT, path, "internal: net has %zu parameters, the file %zu",
             net->n_params, expect);
        goto fail;
    }
    for (size_t i = 0; i < expect; i++) net->params[i] = u2f(get_u32(q + 4 * i));

    if (norm_mode != MLPC_NORM_NONE) {
        size_t n_in = (size_t)sizes[0];
        net->norm_shift = malloc(n_in * sizeof(float));
        net->norm_scale = malloc(n_in * sizeof(float));
        if (!net->norm_shift || !net->norm_scale) {
            ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
            goto fail;
        }
        const unsigned char *r = buf + norm.off + 8;
        for (size_t i = 0; i < n_in; i++) net->norm_shift[i] = u2f(get_u32(r + 4 * i));
        for (size_t i = 0; i < n_in; i++) net->norm_scale[i] = u2f(get_u32(r + 4 * (n_in + i)));
        net->norm = norm_mode;
    }
    if (conf.seen && !(net->meta_config = dup_text(buf + conf.off, conf.len))) {
        ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
        goto fail;
    }
    if (metr.seen && !(net->meta_metrics = dup_text(buf + metr.off, metr.len))) {
        ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
        goto fail;
    }

    if (read_data_sections(path, buf, &clas, &tnrm, &impu, net, err) != MLPC_OK) goto fail;

    /* pass 2: unknown sections go to the caller while there is room */
    if (extra && max_extra > 0) {
        off = MF_HEADER;
        for (uint32_t i = 0; i < n_sec && got < max_extra; i++) {
            uint32_t tag = get_u32(buf + off);
            size_t len = (size_t)get_u64(buf + off + 4);
            off += MF_SECHDR;
            if (!is_builtin_tag(tag)) {
                void *d = malloc(len ? len : 1);
                if (!d) {
                    ferr(err, MLPC_ERR_NOMEM, path, "out of memory for section %s",
                         tag_str(tag, tb));
                    goto fail;
                }
                if (len) memcpy(d, buf + off, len);
                extra[got].tag = tag;
                extra[got].data = d;
                extra[got].size = (uint64_t)len;
                got++;
            }
            off += len;
        }
    }
    if (n_extra) *n_extra = got;
    mlpc_clearerr(err);
    return net;

fail:
    if (extra) free_extras(extra, got);
    mlpc_net_free(net);
    return NULL;
}

mlpc_net *mlpc_file_read(const char *path, mlpc_blob *extra, int max_extra, int *n_extra,
                         mlpc_error *err)
{
    if (n_extra) *n_extra = 0;
    if (!path || !*path) {
        mlpc_seterr(err, MLPC_ERR_ARG, "cannot load model: no path given");
        return NULL;
    }
    unsigned char *buf;
    size_t size;
    if (read_all(path, &buf, &size, err) != MLPC_OK) return NULL;
    mlpc_net *net = parse(path, buf, size, extra, max_extra, n_extra, err);
    free(buf);
    return net;
}

/* ---------------------------------------------------------------- public */

mlpc_status mlpc_net_save(mlpc_net *net, const char *path, mlpc_error *err)
{
    mlpc_error e;
    mlpc_clearerr(&e);
    mlpc_status st = net ? mlpc_file_write(path, net, NULL, 0, &e)
                         : mlpc_seterr(&e, MLPC_ERR_ARG, "%s: cannot save: no net given",
                                       path ? path : "(null)");
    if (err) *err = e;
    if (net) net->err = e;
    return st;
}

mlpc_net *mlpc_net_load(const char *path, mlpc_error *err)
{
    return mlpc_file_read(path, NULL, 0, NULL, err);
}

/* ---------------------------------------------------------------- memory */

#define MEM_NAME "<memory>"

mlpc_status mlpc_net_save_buffer(const mlpc_net *net, void **buf, size_t *len, mlpc_error *err)
{
    if (!buf || !len)
        return ferr(err, MLPC_ERR_ARG, MEM_NAME, "cannot save: no %s pointer given", buf ? "length" : "buffer");
    unsigned char *b;
    mlpc_status st = encode(MEM_NAME, net, NULL, 0, &b, len, err);
    *buf = st ? NULL : b;
    if (!st) mlpc_clearerr(err);
    return st;
}

mlpc_net *mlpc_net_load_buffer(const void *buf, size_t len, const char *name, mlpc_error *err)
{
    if (!name || !*name) name = MEM_NAME;
    if (!buf && len > 0) {
        ferr(err, MLPC_ERR_ARG, name, "no buffer given for %zu bytes", len);
        return NULL;
    }
    static const unsigned char none[1] = {0};
    return parse(name, buf ? buf : none, len, NULL, 0, NULL, err);
}

void mlpc_free(void *p) { free(p); }
