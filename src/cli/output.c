/* output.c - the CSV/NPY prediction writers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/bytes.h"

/* ------------------------------------------------------------------ files */

int cli_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcmp(path + n - m, suffix) == 0;
}

/* Appends n bytes to f as one record: all of them, or (a full disk, an
 * I/O error) none, the file cut back to its length before. 0 or -1 with
 * errno set. */
int cli_append_whole(FILE *f, const char *s, size_t n)
{
    if (fflush(f) != 0) return -1;
    int fd = fileno(f);
    off_t before = lseek(fd, 0, SEEK_END);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, s + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            if (before >= 0) (void)!ftruncate(fd, before); /* on failure the partial record stays */
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static int write_npy(FILE *f, size_t n, const int *classes, const float *values, size_t k)
{
    char dict[160];
    if (values)
        snprintf(dict, sizeof dict,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", n, k);
    else
        snprintf(dict, sizeof dict, "{'descr': '<i4', 'fortran_order': False, 'shape': (%zu,), }",
                 n);
    size_t dl = strlen(dict);
    size_t total = 10 + dl + 1; /* magic+version+len, dict, '\n' */
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = dl + pad + 1;
    unsigned char head[10] = {0x93,
                              'N',
                              'U',
                              'M',
                              'P',
                              'Y',
                              1,
                              0,
                              (unsigned char)(hlen & 0xff),
                              (unsigned char)(hlen >> 8)};
    if (fwrite(head, 1, 10, f) != 10 || fwrite(dict, 1, dl, f) != dl) return -1;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF) return -1;
    if (fputc('\n', f) == EOF) return -1;
    unsigned char buf[4096];
    size_t used = 0;
    size_t count = values ? n * k : n;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        if (values) {
            memcpy(&bits, &values[i], 4);
        } else {
            int32_t c = (int32_t)classes[i];
            memcpy(&bits, &c, 4);
        }
        mlpc_st_le32(buf + used, bits);
        used += 4;
        if (used == sizeof buf) {
            if (fwrite(buf, 1, used, f) != used) return -1;
            used = 0;
        }
    }
    if (used && fwrite(buf, 1, used, f) != used) return -1;
    return 0;
}

/* A class name as a CSV field: quoted when it holds a delimiter, a quote or a line end. */
static int put_name(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r") && s[0] != ' ') return fputs(s, f) < 0 ? -1 : 0;
    if (fputc('"', f) == EOF) return -1;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF) return -1;
    return fputc('"', f) == EOF ? -1 : 0;
}

static int write_csv(FILE *f, size_t n, const int *classes, const float *values, size_t k, const cli_names *nm)
{
    if (nm && nm->n > 0 && values) { /* --proba with class names: a header row */
        if (classes && fputs("class", f) < 0) return -1;
        for (size_t j = 0; j < k; j++)
            if ((j || classes ? fputc(',', f) == EOF : 0) || put_name(f, j < (size_t)nm->n ? nm->names[j] : "?"))
                return -1;
        if (fputc('\n', f) == EOF) return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        if (classes) {
            int c = classes[i];
            if (nm && c >= 0 && c < nm->n ? put_name(f, nm->names[c]) : fprintf(f, "%d", c) < 0) return -1;
            first = 0;
        }
        if (values) {
            for (size_t j = 0; j < k; j++) {
                if (fprintf(f, first ? "%.7g" : ",%.7g", (double)values[i * k + j]) < 0) return -1;
                first = 0;
            }
        }
        if (fputc('\n', f) == EOF) return -1;
    }
    return 0;
}

int cli_write_predictions(const cli_cmd *c, const char *path, size_t n, const int *classes,
                          const float *values, size_t k, const cli_names *nm)
{
    int npy = path && cli_ends_with(path, ".npy");
    if (npy && classes && values) {
        cli_error(c,
                  "--output %s: a .npy file holds one array; use --proba (probabilities) or "
                  "leave it out (classes)",
                  path);
        return CLI_EXIT_USAGE;
    }
    if (!path || strcmp(path, "-") == 0) {
        int bad = write_csv(stdout, n, classes, values, k, nm);
        if (fflush(stdout) != 0 || ferror(stdout)) bad = -1;
        if (bad) {
            cli_error(c, "writing to standard output failed: %s", strerror(errno));
            return CLI_EXIT_INPUT;
        }
        return 0;
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp) {
        cli_error(c, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cli_error(c, "--output %s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return CLI_EXIT_INPUT;
    }
    static char vbuf[1 << 16];
    setvbuf(f, vbuf, _IOFBF, sizeof vbuf);
    int bad = npy ? write_npy(f, n, classes, values, k) : write_csv(f, n, classes, values, k, nm);
    int saved = errno;
    if (!bad && fflush(f) != 0) bad = -1, saved = errno;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) bad = -1, saved = errno;
    if (fclose(f) != 0 && !bad) bad = -1, saved = errno;
    if (!bad && rename(tmp, path) != 0) bad = -1, saved = errno;
    if (bad) {
        unlink(tmp);
        cli_error(c, "--output %s: write failed: %s", path, strerror(saved ? saved : EIO));
        free(tmp);
        return CLI_EXIT_INPUT;
    }
    free(tmp);
    return 0;
}
