/*
 * trialckpt.c - a trial's checkpoint: the trainer's checkpoint file
 * (mlpc_trainer_save_checkpoint: parameters, optimizer and loop state) whose
 * "metrics" meta text names the trial and holds its epoch records so far:
 *
 *   {"mlpc_search_trial":"<fingerprint, 16 hex>","epochs":N,"records":"<hex>"}
 *
 * The records are the 7 doubles of each srch_epoch (loss .. seconds), bytes
 * in hex, so a resumed trial sends the coordinator exactly what it sent
 * before. The fingerprint is the hash of the data and of the trial's `mlpc
 * train` command line (architecture, seed, every setting), so a file of
 * another trial, study or data set is never resumed.
 */
#include "search/search.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_BYTES (7 * sizeof(double)) /* srch_epoch from loss to seconds */

uint64_t srch_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    if (!h) h = 1469598103934665603ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { /* 8 bytes a step: a 188 MB data set in a fraction of a second */
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 1099511628211ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

int srch_ckpt_path(char *buf, size_t cap, const char *db, int64_t study, int number)
{
    int n = snprintf(buf, cap, "%s.trials/%lld-%d.ckpt", db, (long long)study, number);
    if (n < 0 || (size_t)n >= cap) {
        if (cap) buf[0] = '\0';
        return -1;
    }
    return 0;
}

void srch_ckpt_clear(const char *db, int64_t study)
{
    char dir[600], prefix[32];
    if (snprintf(dir, sizeof dir, "%s.trials", db) >= (int)sizeof dir) return;
    snprintf(prefix, sizeof prefix, "%lld-", (long long)study);
    size_t pl = strlen(prefix);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, prefix, pl)) unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir); /* fails while other studies of the database keep files there */
}

char *srch_ckpt_meta(uint64_t fp, const srch_epoch *rec, int n)
{
    static const char hx[] = "0123456789abcdef";
    size_t cap = 96 + (size_t)n * REC_BYTES * 2;
    char *s = malloc(cap);
    if (!s) return NULL;
    int k = snprintf(s, cap, "{\"mlpc_search_trial\":\"%016llx\",\"epochs\":%d,\"records\":\"",
                     (unsigned long long)fp, n);
    char *p = s + k;
    for (int i = 0; i < n; i++) {
        unsigned char b[REC_BYTES];
        memcpy(b, &rec[i].loss, REC_BYTES);
        for (size_t j = 0; j < REC_BYTES; j++) {
            *p++ = hx[b[j] >> 4];
            *p++ = hx[b[j] & 15];
        }
    }
    memcpy(p, "\"}", 3);
    return s;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

int srch_ckpt_records(const char *meta, uint64_t fp, srch_epoch *rec, int cap, char *why, size_t wcap)
{
    unsigned long long f = 0;
    int n = -1, off = 0;
    if (!meta || sscanf(meta, "{\"mlpc_search_trial\":\"%16llx\",\"epochs\":%d,\"records\":\"%n", &f, &n, &off) != 2 ||
        off <= 0) {
        snprintf(why, wcap, "not a search trial's checkpoint");
        return -1;
    }
    if (f != fp) {
        snprintf(why, wcap, "it belongs to another trial, space or data set (fingerprint %016llx, this trial's %016llx)",
                 f, (unsigned long long)fp);
        return -1;
    }
    if (n < 1 || n > cap) {
        snprintf(why, wcap, "its %d epochs are out of range 1..%d", n, cap);
        return -1;
    }
    const char *p = meta + off;
    size_t len = strlen(p), need = (size_t)n * REC_BYTES * 2;
    if (len != need + 2 || strcmp(p + need, "\"}")) {
        snprintf(why, wcap, "its epoch records are cut short or malformed");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        unsigned char b[REC_BYTES];
        for (size_t j = 0; j < REC_BYTES; j++, p += 2) {
            int hi = hexval(p[0]), lo = hexval(p[1]);
            if (hi < 0 || lo < 0) {
                snprintf(why, wcap, "its epoch records are malformed");
                return -1;
            }
            b[j] = (unsigned char)(hi << 4 | lo);
        }
        memset(&rec[i], 0, sizeof rec[i]);
        rec[i].epoch = i + 1;
        memcpy(&rec[i].loss, b, REC_BYTES);
    }
    return n;
}

int srch_ckpt_dir(const char *db)
{
    char dir[600];
    if (snprintf(dir, sizeof dir, "%s.trials", db) >= (int)sizeof dir) return -1;
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}
