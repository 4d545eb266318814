/*
 * modelfile.c - the versioned binary model file (docs/model-format.md).
 *
 *   "MLPCNET\0" | u32 version (1) | u32 0x01020304 | u32 section count
 *   section*: u32 tag | u64 length | payload
 *   u32 CRC-32 (zlib) of every byte before it
 *
 * Every integer and float is written little-endian byte by byte (core/bytes.h),
 * so the code does not depend on the host's byte order. The reader validates everything
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
#include "core/bytes.h"

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

/* ---------------------------------------------------------------- helpers */

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
    mlpc_st_le32(p, tag);
    mlpc_st_le64(p + 4, (uint64_t)len);
    return p + MF_SECHDR;
}

/* ---------------------------------------------------------------- data sections */

static unsigned char *floats_blob(uint32_t n, const float *a, const float *b, size_t *len)
{
    *len = 4 + 4 * (size_t)n * (b ? 2 : 1);
    unsigned char *p = malloc(*len), *q = p;
    if (!p) return NULL;
    mlpc_st_le32(q, n);
    q += 4;
    for (uint32_t i = 0; i < n; i++, q += 4) mlpc_st_le32(q, f2u(a[i]));
    for (uint32_t i = 0; b && i < n; i++, q += 4) mlpc_st_le32(q, f2u(b[i]));
    return p;
}

static unsigned char *names_blob(const mlpc_net *net, size_t *len)
{
    *len = 4;
    for (int k = 0; k < net->n_names; k++) *len += 4 + strlen(net->class_names[k]);
    unsigned char *p = malloc(*len), *q = p;
    if (!p) return NULL;
    mlpc_st_le32(q, (uint32_t)net->n_names);
    q += 4;
    for (int k = 0; k < net->n_names; k++) {
        size_t n = strlen(net->class_names[k]);
        mlpc_st_le32(q, (uint32_t)n);
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

/* ---------------------------------------------------------------- checks before saving */

/* Architecture and parameters: valid, counts agree, all finite. */
static mlpc_status check_save_arch(const char *path, const mlpc_net *net, mlpc_error *err)
{
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
    return MLPC_OK;
}

/* Normalization: a known mode with finite arrays (none: nothing to check). */
static mlpc_status check_save_norm(const char *path, const mlpc_net *net, mlpc_error *err)
{
    if (net->norm == MLPC_NORM_NONE) return MLPC_OK;
    if ((int)net->norm < 0 || net->norm >= MLPC_NORM_COUNT)
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: invalid normalization mode %d", (int)net->norm);
    if (!net->norm_shift || !net->norm_scale)
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: normalization arrays missing");
    for (size_t i = 0; i < (size_t)net->sizes[0]; i++)
        if (!isfinite(net->norm_shift[i]) || !isfinite(net->norm_scale[i]))
            return ferr(err, MLPC_ERR_ARG, path,
                        "cannot save: normalization value for input %zu is NaN or infinite", i);
    return MLPC_OK;
}

/* The caller's extra sections (n_extra >= 0): unreserved tags, data present, sizes that fit. */
static mlpc_status check_save_extra(const char *path, const mlpc_blob *extra, int n_extra, mlpc_error *err)
{
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
    return MLPC_OK;
}

/* ---------------------------------------------------------------- section writers */

/* Payload sizes of the built-in sections (0: absent, except ARCH and PARM). */
typedef struct mf_layout {
    size_t arch, norm, parm, conf, metr;
    size_t total;   /* the whole file */
    uint32_t n_sec; /* section count */
} mf_layout;

/* Sizes of everything, overflow-checked; 0 when the model is too large. */
static int layout(const mlpc_net *net, const mlpc_blob *extra, int n_extra, mf_layout *L)
{
    L->arch = 4 * (2 * (size_t)net->n_layers + 3);
    L->norm = net->norm != MLPC_NORM_NONE ? 8 + 8 * (size_t)net->sizes[0] : 0;
    L->conf = net->meta_config ? strlen(net->meta_config) : 0;
    L->metr = net->meta_metrics ? strlen(net->meta_metrics) : 0;
    L->total = MF_HEADER + MF_TRAILER;
    L->n_sec = 2;
    int ok = mlpc_mul_ok(net->n_params, 4, &L->parm) && add_ok(&L->parm, 8) &&
             add_ok(&L->total, MF_SECHDR + L->arch) && add_ok(&L->total, MF_SECHDR) &&
             add_ok(&L->total, L->parm);
    if (L->norm) {
        L->n_sec++;
        ok = ok && add_ok(&L->total, MF_SECHDR + L->norm);
    }
    if (net->meta_config) {
        L->n_sec++;
        ok = ok && add_ok(&L->total, MF_SECHDR) && add_ok(&L->total, L->conf);
    }
    if (net->meta_metrics) {
        L->n_sec++;
        ok = ok && add_ok(&L->total, MF_SECHDR) && add_ok(&L->total, L->metr);
    }
    for (int i = 0; i < n_extra; i++) {
        L->n_sec++;
        ok = ok && add_ok(&L->total, MF_SECHDR) && add_ok(&L->total, (size_t)extra[i].size);
    }
    return ok;
}

static unsigned char *write_header(unsigned char *p, uint32_t n_sec)
{
    memcpy(p, mf_magic, 8);
    mlpc_st_le32(p + 8, MF_VERSION);
    mlpc_st_le32(p + 12, MF_ENDIAN);
    mlpc_st_le32(p + 16, n_sec);
    return p + MF_HEADER;
}

/* ARCH: u32 layers | u32 sizes[layers+1] | u32 act[layers] | u32 loss */
static unsigned char *write_arch(unsigned char *p, const mlpc_net *net, size_t len)
{
    int nl = net->n_layers;
    p = sec_begin(p, TAG_ARCH, len);
    mlpc_st_le32(p, (uint32_t)nl);
    p += 4;
    for (int i = 0; i <= nl; i++, p += 4) mlpc_st_le32(p, (uint32_t)net->sizes[i]);
    for (int i = 0; i < nl; i++, p += 4) mlpc_st_le32(p, (uint32_t)net->act[i]);
    mlpc_st_le32(p, (uint32_t)net->loss);
    return p + 4;
}

/* NORM: u32 mode | u32 inputs | f32 shift[inputs] | f32 scale[inputs] */
static unsigned char *write_norm(unsigned char *p, const mlpc_net *net, size_t len)
{
    size_t n_in = (size_t)net->sizes[0];
    p = sec_begin(p, TAG_NORM, len);
    mlpc_st_le32(p, (uint32_t)net->norm);
    mlpc_st_le32(p + 4, (uint32_t)n_in);
    p += 8;
    for (size_t i = 0; i < n_in; i++, p += 4) mlpc_st_le32(p, f2u(net->norm_shift[i]));
    for (size_t i = 0; i < n_in; i++, p += 4) mlpc_st_le32(p, f2u(net->norm_scale[i]));
    return p;
}

/* PARM: u64 count | f32 params[count] */
static unsigned char *write_parm(unsigned char *p, const mlpc_net *net, size_t len)
{
    p = sec_begin(p, TAG_PARM, len);
    mlpc_st_le64(p, (uint64_t)net->n_params);
    p += 8;
    for (size_t i = 0; i < net->n_params; i++, p += 4) mlpc_st_le32(p, f2u(net->params[i]));
    return p;
}

/* Any section whose payload is bytes as they are (CONF, METR, extras). */
static unsigned char *write_bytes(unsigned char *p, uint32_t tag, const void *data, size_t n)
{
    p = sec_begin(p, tag, n);
    if (n) memcpy(p, data, n);
    return p + n;
}

static mlpc_status encode_body(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                               unsigned char **out, size_t *len, mlpc_error *err)
{
    mf_layout L;
    if (!layout(net, extra, n_extra, &L)) return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: model too large");
    unsigned char *buf = malloc(L.total);
    if (!buf) return ferr(err, MLPC_ERR_NOMEM, path, "cannot save: out of memory (%zu bytes)", L.total);
    unsigned char *p = write_header(buf, L.n_sec);
    p = write_arch(p, net, L.arch);
    if (L.norm) p = write_norm(p, net, L.norm);
    p = write_parm(p, net, L.parm);
    if (net->meta_config) p = write_bytes(p, TAG_CONF, net->meta_config, L.conf);
    if (net->meta_metrics) p = write_bytes(p, TAG_METR, net->meta_metrics, L.metr);
    for (int i = 0; i < n_extra; i++) p = write_bytes(p, extra[i].tag, extra[i].data, (size_t)extra[i].size);
    mlpc_st_le32(p, crc_of(buf, (size_t)(p - buf)));
    p += 4;
    if ((size_t)(p - buf) != L.total) { /* cannot happen; guards the arithmetic above */
        free(buf);
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: internal size mismatch");
    }
    *out = buf;
    *len = L.total;
    return MLPC_OK;
}

/* The model file's bytes for net + extra sections, in a malloc'ed *out of
 * *len bytes; messages name `path` (a file, or "<memory>"). */
static mlpc_status encode(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                          unsigned char **out, size_t *len, mlpc_error *err)
{
    *out = NULL;
    *len = 0;
    if (!net) return ferr(err, MLPC_ERR_ARG, path, "cannot save: no net given");
    if (n_extra < 0 || (n_extra > 0 && !extra))
        return ferr(err, MLPC_ERR_ARG, path, "cannot save: invalid extra sections");
    mlpc_status st;
    if ((st = check_save_arch(path, net, err)) || (st = check_save_norm(path, net, err)) ||
        (st = check_save_extra(path, extra, n_extra, err)))
        return st;
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
    st = encode_body(path, net, all, n_own + n_extra, out, len, err);
    for (int i = 0; i < n_own; i++) free(own[i].data);
    free(all);
    return st;
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

typedef struct mf_sec {
    int seen;
    size_t off; /* payload offset */
    size_t len; /* payload length */
} mf_sec;

/* The built-in sections found by the section table walk. */
typedef struct mf_secs {
    mf_sec arch, norm, parm, conf, metr, clas, tnrm, impu;
} mf_secs;

/* What ARCH holds, checked. */
typedef struct mf_arch {
    int nl;
    int sizes[MLPC_MAX_LAYERS + 1];
    mlpc_act act[MLPC_MAX_LAYERS];
    mlpc_loss loss;
    size_t n_params; /* implied by the layer sizes */
} mf_arch;

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

/* The fixed frame: magic, size, checksum, version, byte-order marker and a
 * section count the file can hold. */
static mlpc_status read_header(const char *path, const unsigned char *buf, size_t size, uint32_t *n_sec,
                               mlpc_error *err)
{
    if (size == 0) return ferr(err, MLPC_ERR_FORMAT, path, "empty file, not an mlpc model file");
    if (memcmp(buf, mf_magic, size < 8 ? size : 8) != 0)
        return ferr(err, MLPC_ERR_FORMAT, path, "not an mlpc model file");
    if (size < MF_HEADER + MF_TRAILER)
        return ferr(err, MLPC_ERR_FORMAT, path, "truncated model file (%zu bytes, the minimum is %u)", size,
                    MF_HEADER + MF_TRAILER);
    /* The checksum trailer is part of the fixed frame of every version. */
    size_t body_end = size - MF_TRAILER;
    if (crc_of(buf, body_end) != mlpc_ld_le32(buf + body_end))
        return ferr(err, MLPC_ERR_FORMAT, path, "checksum mismatch: file is corrupt or truncated");
    uint32_t version = mlpc_ld_le32(buf + 8);
    if (version > MF_VERSION)
        return ferr(err, MLPC_ERR_FORMAT, path, "written by a newer mlpc (format %u, this build reads %u)",
                    (unsigned)version, MF_VERSION);
    if (version != MF_VERSION)
        return ferr(err, MLPC_ERR_FORMAT, path, "invalid format version %u", (unsigned)version);
    uint32_t marker = mlpc_ld_le32(buf + 12);
    if (marker != MF_ENDIAN)
        return ferr(err, MLPC_ERR_FORMAT, path,
                    "byte-order marker is 0x%08x, expected 0x%08x (written by a foreign writer)",
                    (unsigned)marker, MF_ENDIAN);
    *n_sec = mlpc_ld_le32(buf + 16);
    if ((uint64_t)*n_sec > (uint64_t)(body_end - MF_HEADER) / MF_SECHDR)
        return ferr(err, MLPC_ERR_FORMAT, path, "section count %u is more than the file can hold",
                    (unsigned)*n_sec);
    return MLPC_OK;
}

static mf_sec *sec_slot(mf_secs *S, uint32_t tag)
{
    return tag == TAG_ARCH   ? &S->arch
           : tag == TAG_NORM ? &S->norm
           : tag == TAG_PARM ? &S->parm
           : tag == TAG_CONF ? &S->conf
           : tag == TAG_METR ? &S->metr
           : tag == TAG_CLAS ? &S->clas
           : tag == TAG_TNRM ? &S->tnrm
           : tag == TAG_IMPU ? &S->impu
                             : NULL;
}

/* Pass 1: walks the section table up to body_end, checks every bound and
 * notes where the built-in sections are (each at most once). */
static mlpc_status find_sections(const char *path, const unsigned char *buf, size_t body_end, uint32_t n_sec,
                                 mf_secs *S, mlpc_error *err)
{
    char tb[16];
    size_t off = MF_HEADER;
    for (uint32_t i = 0; i < n_sec; i++) {
        if (body_end - off < MF_SECHDR)
            return ferr(err, MLPC_ERR_FORMAT, path, "section %u header runs past the end of the file", (unsigned)i);
        uint32_t tag = mlpc_ld_le32(buf + off);
        uint64_t len = mlpc_ld_le64(buf + off + 4);
        off += MF_SECHDR;
        if (len > (uint64_t)(body_end - off))
            return ferr(err, MLPC_ERR_FORMAT, path,
                        "section %u (%s) length %llu runs past the end of the file (%zu bytes left)", (unsigned)i,
                        tag_str(tag, tb), (unsigned long long)len, body_end - off);
        mf_sec *s = sec_slot(S, tag);
        if (s) {
            if (s->seen) return ferr(err, MLPC_ERR_FORMAT, path, "duplicate %s section", tag_str(tag, tb));
            s->seen = 1;
            s->off = off;
            s->len = (size_t)len;
        }
        off += (size_t)len;
    }
    if (off != body_end)
        return ferr(err, MLPC_ERR_FORMAT, path, "%zu bytes of unexpected data after the last section",
                    body_end - off);
    return MLPC_OK;
}

/* ARCH's layer sizes, activation codes and loss code at p (length checked). */
static mlpc_status read_arch_codes(const char *path, const unsigned char *p, mf_arch *A, mlpc_error *err)
{
    for (int i = 0; i <= A->nl; i++, p += 4) {
        uint32_t v = mlpc_ld_le32(p);
        if (v > (uint32_t)INT_MAX)
            return ferr(err, MLPC_ERR_FORMAT, path, "ARCH: layer size %u out of range", (unsigned)v);
        A->sizes[i] = (int)v;
    }
    for (int i = 0; i < A->nl; i++, p += 4) {
        uint32_t v = mlpc_ld_le32(p);
        if (v >= (uint32_t)MLPC_ACT_COUNT)
            return ferr(err, MLPC_ERR_FORMAT, path, "ARCH: unknown activation code %u for layer %d", (unsigned)v,
                        i + 1);
        A->act[i] = (mlpc_act)v;
    }
    uint32_t loss32 = mlpc_ld_le32(p);
    if (loss32 >= (uint32_t)MLPC_LOSS_COUNT)
        return ferr(err, MLPC_ERR_FORMAT, path, "ARCH: unknown loss code %u", (unsigned)loss32);
    A->loss = (mlpc_loss)loss32;
    return MLPC_OK;
}

/* ARCH: u32 layers | u32 sizes[layers+1] | u32 act[layers] | u32 loss;
 * a valid architecture whose parameter count fits in size_t. */
static mlpc_status read_arch(const char *path, const unsigned char *buf, const mf_sec *s, mf_arch *A,
                             mlpc_error *err)
{
    if (!s->seen) return ferr(err, MLPC_ERR_FORMAT, path, "missing ARCH section");
    const unsigned char *p = buf + s->off;
    if (s->len < 4) return ferr(err, MLPC_ERR_FORMAT, path, "ARCH section too short (%zu bytes)", s->len);
    uint32_t nl32 = mlpc_ld_le32(p);
    if (nl32 < 1 || nl32 > MLPC_MAX_LAYERS)
        return ferr(err, MLPC_ERR_FORMAT, path, "ARCH: %u layers (must be 1..%d)", (unsigned)nl32, MLPC_MAX_LAYERS);
    A->nl = (int)nl32;
    size_t arch_len = 4 * (2 * (size_t)A->nl + 3);
    if (s->len != arch_len)
        return ferr(err, MLPC_ERR_FORMAT, path, "ARCH section has %zu bytes, %d layers need %zu", s->len, A->nl,
                    arch_len);
    mlpc_status st = read_arch_codes(path, p + 4, A, err);
    if (st) return st;
    mlpc_error ae;
    mlpc_clearerr(&ae);
    if (mlpc_arch_check(A->nl, A->sizes, A->act, A->loss, &ae) != MLPC_OK)
        return ferr(err, MLPC_ERR_FORMAT, path, "invalid architecture: %s", ae.msg);
    if (!arch_param_count(A->nl, A->sizes, &A->n_params))
        return ferr(err, MLPC_ERR_FORMAT, path, "invalid architecture: parameter count overflows");
    return MLPC_OK;
}

/* PARM: u64 count | f32 params[count]; count and length must agree with
 * ARCH before anything is allocated. */
static mlpc_status check_parm(const char *path, const unsigned char *buf, const mf_sec *s, size_t expect,
                              mlpc_error *err)
{
    if (!s->seen) return ferr(err, MLPC_ERR_FORMAT, path, "missing PARM section");
    if (s->len < 8) return ferr(err, MLPC_ERR_FORMAT, path, "PARM section too short (%zu bytes)", s->len);
    uint64_t count = mlpc_ld_le64(buf + s->off);
    if (count != (uint64_t)expect)
        return ferr(err, MLPC_ERR_FORMAT, path, "PARM holds %llu parameters, the architecture needs %zu",
                    (unsigned long long)count, expect);
    if ((s->len - 8) % 4 != 0 || (s->len - 8) / 4 != expect)
        return ferr(err, MLPC_ERR_FORMAT, path, "PARM section has %zu bytes, %zu parameters need %zu", s->len,
                    expect, 8 + 4 * expect);
    return MLPC_OK;
}

/* NORM: u32 mode | u32 inputs | f32 shift[inputs] | f32 scale[inputs], all
 * finite; *mode stays MLPC_NORM_NONE when the file has no NORM. */
static mlpc_status check_norm(const char *path, const unsigned char *buf, const mf_sec *s, int n_inputs,
                              mlpc_norm *mode, mlpc_error *err)
{
    *mode = MLPC_NORM_NONE;
    if (!s->seen) return MLPC_OK;
    if (s->len < 8) return ferr(err, MLPC_ERR_FORMAT, path, "NORM section too short (%zu bytes)", s->len);
    uint32_t m = mlpc_ld_le32(buf + s->off);
    uint32_t n_in = mlpc_ld_le32(buf + s->off + 4);
    if (m == MLPC_NORM_NONE || m >= (uint32_t)MLPC_NORM_COUNT)
        return ferr(err, MLPC_ERR_FORMAT, path, "NORM: invalid normalization mode %u", (unsigned)m);
    if (n_in != (uint32_t)n_inputs)
        return ferr(err, MLPC_ERR_FORMAT, path, "NORM has %u inputs, the net has %d", (unsigned)n_in, n_inputs);
    if ((s->len - 8) % 8 != 0 || (s->len - 8) / 8 != (size_t)n_in)
        return ferr(err, MLPC_ERR_FORMAT, path, "NORM section has %zu bytes, %u inputs need %zu", s->len,
                    (unsigned)n_in, 8 + 8 * (size_t)n_in);
    const unsigned char *q = buf + s->off + 8;
    for (size_t i = 0; i < 2 * (size_t)n_in; i++)
        if (!isfinite(u2f(mlpc_ld_le32(q + 4 * i))))
            return ferr(err, MLPC_ERR_FORMAT, path, "NORM: %s value for input %zu is NaN or infinite",
                        i < n_in ? "shift" : "scale", i % n_in);
    *mode = (mlpc_norm)m;
    return MLPC_OK;
}

/* CONF and METR must not hold NUL bytes (they are returned as C strings). */
static mlpc_status check_text(const char *path, const unsigned char *buf, const mf_sec *s, const char *name,
                              mlpc_error *err)
{
    if (s->seen && memchr(buf + s->off, 0, s->len))
        return ferr(err, MLPC_ERR_FORMAT, path, "%s section contains a NUL byte", name);
    return MLPC_OK;
}

/* Parameters must be finite. */
static mlpc_status check_params_finite(const char *path, const unsigned char *q, size_t n, mlpc_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(u2f(mlpc_ld_le32(q + 4 * i))))
            return ferr(err, MLPC_ERR_FORMAT, path, "parameter %zu is NaN or infinite", i);
    return MLPC_OK;
}

/* Everything before the net is built: ARCH, PARM, NORM, CONF, METR and the
 * parameters' values, in that order. */
static mlpc_status check_sections(const char *path, const unsigned char *buf, const mf_secs *S, mf_arch *A,
                                  mlpc_norm *norm_mode, mlpc_error *err)
{
    mlpc_status st;
    if ((st = read_arch(path, buf, &S->arch, A, err)) || (st = check_parm(path, buf, &S->parm, A->n_params, err)) ||
        (st = check_norm(path, buf, &S->norm, A->sizes[0], norm_mode, err)) ||
        (st = check_text(path, buf, &S->conf, "CONF", err)) || (st = check_text(path, buf, &S->metr, "METR", err)))
        return st;
    return check_params_finite(path, buf + S->parm.off + 8, A->n_params, err);
}

/* ---------------------------------------------------------------- filling the net */

static mlpc_status fill_params(const char *path, const unsigned char *q, size_t expect, mlpc_net *net,
                               mlpc_error *err)
{
    if (net->n_params != expect || (expect > 0 && !net->params))
        return ferr(err, MLPC_ERR_FORMAT, path, "internal: net has %zu parameters, the file %zu", net->n_params,
                    expect);
    for (size_t i = 0; i < expect; i++) net->params[i] = u2f(mlpc_ld_le32(q + 4 * i));
    return MLPC_OK;
}

static mlpc_status fill_norm(const char *path, const unsigned char *r, mlpc_norm mode, mlpc_net *net,
                             mlpc_error *err)
{
    if (mode == MLPC_NORM_NONE) return MLPC_OK;
    size_t n_in = (size_t)net->sizes[0];
    net->norm_shift = malloc(n_in * sizeof(float));
    net->norm_scale = malloc(n_in * sizeof(float));
    if (!net->norm_shift || !net->norm_scale) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    for (size_t i = 0; i < n_in; i++) net->norm_shift[i] = u2f(mlpc_ld_le32(r + 4 * i));
    for (size_t i = 0; i < n_in; i++) net->norm_scale[i] = u2f(mlpc_ld_le32(r + 4 * (n_in + i)));
    net->norm = mode;
    return MLPC_OK;
}

static mlpc_status fill_text(const char *path, const unsigned char *buf, const mf_sec *s, char **out,
                             mlpc_error *err)
{
    if (s->seen && !(*out = dup_text(buf + s->off, s->len))) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    return MLPC_OK;
}

/* A TNRM or IMPU payload: u32 n (must be `want`), then n (or 2n) finite
 * floats; std values must be positive. Allocates *a (and *b). */
static mlpc_status read_floats(const char *path, const char *what, const unsigned char *p, size_t len, uint32_t want,
                               float **a, float **b, mlpc_error *err)
{
    size_t per = b ? 2 : 1;
    if (len < 4 || mlpc_ld_le32(p) != want || (len - 4) != 4 * per * (size_t)want)
        return ferr(err, MLPC_ERR_FORMAT, path, "%s section: %zu bytes, the net's %u columns need %zu", what, len,
                    (unsigned)want, 4 + 4 * per * (size_t)want);
    *a = malloc(4 * (size_t)want + 4);
    if (b) *b = malloc(4 * (size_t)want + 4);
    if (!*a || (b && !*b)) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    for (uint32_t i = 0; i < want * per; i++) {
        float v = u2f(mlpc_ld_le32(p + 4 + 4 * (size_t)i));
        if (!isfinite(v) || (i >= want && !(v > 0)))
            return ferr(err, MLPC_ERR_FORMAT, path, "%s: value %u is %s", what, (unsigned)i,
                        isfinite(v) ? "not positive" : "NaN or infinite");
        (i < want ? *a : *b)[i % want] = v;
    }
    return MLPC_OK;
}

/* CLAS: u32 count | (u32 length | bytes without NUL) per class name. */
static mlpc_status read_names(const char *path, const unsigned char *p, size_t len, mlpc_net *net, mlpc_error *err)
{
    int n_out = net->sizes[net->n_layers];
    uint32_t n = len >= 4 ? mlpc_ld_le32(p) : 0;
    if (len < 4 || n < 1 || n > (uint32_t)(n_out < 2 ? 2 : n_out) || n > (len - 4) / 4)
        return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: %u class names for %d outputs", (unsigned)n, n_out);
    net->class_names = calloc(n, sizeof *net->class_names);
    if (!net->class_names) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
    net->n_names = (int)n;
    size_t off = 4;
    for (uint32_t k = 0; k < n; k++) {
        size_t m = len - off >= 4 ? mlpc_ld_le32(p + off) : SIZE_MAX;
        if (m == SIZE_MAX || m > len - off - 4 || memchr(p + off + 4, 0, m))
            return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: class name %u runs past the section or holds a NUL",
                        (unsigned)k);
        if (!(net->class_names[k] = dup_text(p + off + 4, m))) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory");
        off += 4 + m;
    }
    if (off != len) return ferr(err, MLPC_ERR_FORMAT, path, "CLAS section: %zu bytes after the last name", len - off);
    return MLPC_OK;
}

static mlpc_status read_data_sections(const char *path, const unsigned char *buf, const mf_secs *S, mlpc_net *net,
                                      mlpc_error *err)
{
    mlpc_status st = MLPC_OK;
    if (S->clas.seen) st = read_names(path, buf + S->clas.off, S->clas.len, net, err);
    if (!st && S->tnrm.seen)
        st = read_floats(path, "TNRM", buf + S->tnrm.off, S->tnrm.len, (uint32_t)net->sizes[net->n_layers],
                         &net->tgt_mean, &net->tgt_std, err);
    if (!st && S->impu.seen)
        st = read_floats(path, "IMPU", buf + S->impu.off, S->impu.len, (uint32_t)net->sizes[0], &net->imp_mean, NULL,
                         err);
    return st;
}

/* The checked sections into net: parameters, NORM, CONF, METR, CLAS, TNRM, IMPU. */
static mlpc_status fill_net(const char *path, const unsigned char *buf, const mf_secs *S, const mf_arch *A,
                            mlpc_norm norm_mode, mlpc_net *net, mlpc_error *err)
{
    mlpc_status st;
    if ((st = fill_params(path, buf + S->parm.off + 8, A->n_params, net, err)) ||
        (st = fill_norm(path, buf + S->norm.off + 8, norm_mode, net, err)) ||
        (st = fill_text(path, buf, &S->conf, &net->meta_config, err)) ||
        (st = fill_text(path, buf, &S->metr, &net->meta_metrics, err)))
        return st;
    return read_data_sections(path, buf, S, net, err);
}

/* Pass 2: unknown sections go to the caller while there is room; *got
 * counts those copied (freed by the caller on failure). */
static mlpc_status copy_extras(const char *path, const unsigned char *buf, uint32_t n_sec, mlpc_blob *extra,
                               int max_extra, int *got, mlpc_error *err)
{
    char tb[16];
    size_t off = MF_HEADER;
    for (uint32_t i = 0; i < n_sec && *got < max_extra; i++) {
        uint32_t tag = mlpc_ld_le32(buf + off);
        size_t len = (size_t)mlpc_ld_le64(buf + off + 4);
        off += MF_SECHDR;
        if (!is_builtin_tag(tag)) {
            void *d = malloc(len ? len : 1);
            if (!d) return ferr(err, MLPC_ERR_NOMEM, path, "out of memory for section %s", tag_str(tag, tb));
            if (len) memcpy(d, buf + off, len);
            extra[*got] = (mlpc_blob){tag, d, (uint64_t)len};
            (*got)++;
        }
        off += len;
    }
    return MLPC_OK;
}

/* Checks and reads a model file's bytes (a file, or a buffer named path). */
static mlpc_net *parse(const char *path, const unsigned char *buf, size_t size, mlpc_blob *extra,
                       int max_extra, int *n_extra, mlpc_error *err)
{
    uint32_t n_sec = 0;
    mf_secs S;
    memset(&S, 0, sizeof S);
    mf_arch A;
    mlpc_norm norm_mode = MLPC_NORM_NONE;
    if (read_header(path, buf, size, &n_sec, err) || find_sections(path, buf, size - MF_TRAILER, n_sec, &S, err) ||
        check_sections(path, buf, &S, &A, &norm_mode, err))
        return NULL;

    mlpc_error ae;
    mlpc_clearerr(&ae);
    mlpc_net *net = mlpc_net_alloc(A.nl, A.sizes, A.act, A.loss, &ae);
    if (!net) {
        ferr(err, ae.code != MLPC_OK ? ae.code : MLPC_ERR_NOMEM, path, "cannot create the net: %s",
             ae.msg[0] ? ae.msg : "out of memory");
        return NULL;
    }
    int got = 0;
    if (fill_net(path, buf, &S, &A, norm_mode, net, err) != MLPC_OK ||
        (extra && max_extra > 0 && copy_extras(path, buf, n_sec, extra, max_extra, &got, err) != MLPC_OK)) {
        if (extra) free_extras(extra, got);
        mlpc_net_free(net);
        return NULL;
    }
    if (n_extra) *n_extra = got;
    mlpc_clearerr(err);
    return net;
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
    /* src/core/file.c: regular files or standard input, within the input limit */
    if (mlpc_read_whole(path, "a model file", 0, &buf, &size, err) != MLPC_OK) return NULL;
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
