/* file.c - reading input files whole, within a size limit, and byte
 * counts ("1.5G") both ways. Every reader of the library and the CLI (data
 * sets, model files, configs, search spaces) opens its file here, so a FIFO,
 * a device or a file larger than the limit is one line, never a hang or an
 * allocation the size of /dev/zero. */
#include "core/core.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- sizes ---------------------------------------------------------------- */

int mlpc_size_parse(const char *s, uint64_t *bytes)
{
    if (!s || !bytes) return -1;
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return -1; /* no sign, no space, no empty string */
    long double v = 0;
    for (; isdigit((unsigned char)*p); p++) v = v * 10 + (*p - '0');
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        long double f = 0.1L;
        for (; isdigit((unsigned char)*p); p++, f /= 10) v += f * (*p - '0');
    }
    long double mul = 1;
    switch (toupper((unsigned char)*p)) {
    case 'K': mul = 1024.0L; p++; break;
    case 'M': mul = 1024.0L * 1024; p++; break;
    case 'G': mul = 1024.0L * 1024 * 1024; p++; break;
    case 'T': mul = 1024.0L * 1024 * 1024 * 1024; p++; break;
    default: break;
    }
    if (mul > 1 && (*p == 'i' || *p == 'I') && toupper((unsigned char)p[1]) == 'B')
        p += 2; /* KiB, MiB, ... */
    else if (toupper((unsigned char)*p) == 'B')
        p++; /* KB, MB, or B alone for bytes */
    if (*p) return -1;
    v *= mul;
    if (v >= 18446744073709551615.0L) return -1;
    *bytes = (uint64_t)(v + 0.5L);
    return 0;
}

void mlpc_bytes_str(uint64_t b, char *buf, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, cap, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* ---- the input limit ------------------------------------------------------ */

size_t mlpc_input_limit(void)
{
    uint64_t v;
    const char *env = getenv("MLPC_MAX_INPUT");
    if (env && *env && mlpc_size_parse(env, &v) == 0 && v > 0)
        return v > (uint64_t)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)v;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (size_t)1 << 31;
    uint64_t half = (uint64_t)pages * (uint64_t)page / 2;
    return half > (uint64_t)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)half;
}

const char *mlpc_input_limit_hint(void)
{
    return getenv("MLPC_MAX_INPUT") && *getenv("MLPC_MAX_INPUT")
               ? "MLPC_MAX_INPUT"
               : "half the memory; set MLPC_MAX_INPUT to change it";
}

/* ---- reading a file whole -------------------------------------------------- */

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* The file must be a regular one (symbolic links are followed). */
static mlpc_status check_regular(const char *path, const struct stat *st, const char *what,
                                 mlpc_error *err)
{
    if (S_ISREG(st->st_mode)) return MLPC_OK;
    return mlpc_seterr(err, MLPC_ERR_IO, "%s: is %s, not %s", path, kind_of(st->st_mode), what);
}

const char *mlpc_path_name(const char *path)
{
    return path && !strcmp(path, "-") ? "standard input" : path;
}

/* "-": standard input, which may be a pipe or a file, but not a terminal
 * (reading would wait for typing) and must be open. */
static mlpc_status check_stdin(mlpc_error *err)
{
    struct stat st;
    if (fstat(STDIN_FILENO, &st) != 0)
        return mlpc_seterr(err, MLPC_ERR_IO, "standard input (-): cannot read it: %s", strerror(errno));
    if (isatty(STDIN_FILENO))
        return mlpc_seterr(err, MLPC_ERR_IO, "standard input (-) is a terminal; pipe the data in, e.g. cat data.csv | mlpc ...");
    if (S_ISDIR(st.st_mode)) return mlpc_seterr(err, MLPC_ERR_IO, "standard input (-): is a directory");
    return MLPC_OK;
}

mlpc_status mlpc_file_check(const char *path, const char *what, mlpc_error *err)
{
    struct stat st;
    if (!path || !*path) return mlpc_seterr(err, MLPC_ERR_ARG, "no file name given");
    if (!strcmp(path, "-")) return check_stdin(err);
    if (stat(path, &st) != 0) return mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return check_regular(path, &st, what, err);
}

static mlpc_status read_all(const char *path, int fd, size_t size, size_t max, unsigned char **out,
                            size_t *len, mlpc_error *err)
{
    /* st_size is a first guess: the file may grow or shrink meanwhile */
    size_t cap = size + 1 > 4096 ? size + 1 : 4096, n = 0;
    if (cap > max + 1) cap = max + 1; /* a pipe has no size to check first */
    unsigned char *buf = malloc(cap);
    if (!buf) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, cap);
    for (;;) {
        if (n + 1 >= cap && n >= max) { /* exactly max bytes is allowed: is there one more? */
            unsigned char one;
            ssize_t r = read(fd, &one, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) break;
        }
        if (n + 1 >= cap) {
            size_t ncap = cap > max / 2 + 1 ? max + 1 : cap * 2;
            unsigned char *nb = n < max ? realloc(buf, ncap) : NULL;
            if (!nb) {
                free(buf);
                if (n >= max)
                    return mlpc_seterr(err, MLPC_ERR_IO, "%s: larger than the input limit of %zu bytes (%s)",
                                       path, max, mlpc_input_limit_hint());
                return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r == 0) break;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return mlpc_seterr(err, MLPC_ERR_IO, "%s: read error: %s", path, strerror(e));
        }
        n += (size_t)r;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return MLPC_OK;
}

mlpc_status mlpc_read_whole(const char *path, const char *what, size_t max, unsigned char **out,
                           size_t *len, mlpc_error *err)
{
    *out = NULL;
    *len = 0;
    if (!path || !*path) return mlpc_seterr(err, MLPC_ERR_ARG, "no file name given");
    if (max == 0) max = mlpc_input_limit();
    if (!strcmp(path, "-")) { /* standard input: read once, bounded by the same limit */
        static int taken;
        if (taken) return mlpc_seterr(err, MLPC_ERR_ARG, "standard input (-) was read already: only one input can be -");
        mlpc_status s = check_stdin(err);
        if (s != MLPC_OK) return s;
        taken = 1;
        struct stat st;
        size_t guess = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size <= (uintmax_t)max
                           ? (size_t)st.st_size
                           : 0;
        return read_all("standard input (-)", STDIN_FILENO, guess, max, out, len, err);
    }
    /* O_NONBLOCK: opening a FIFO without a writer returns at once */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    mlpc_status s = MLPC_OK;
    if (fstat(fd, &st) != 0)
        s = mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else
        s = check_regular(path, &st, what, err);
    if (s == MLPC_OK && (uintmax_t)st.st_size > (uintmax_t)max)
        s = mlpc_seterr(err, MLPC_ERR_IO, "%s: %jd bytes, over the input limit of %zu bytes (%s)", path,
                        (intmax_t)st.st_size, max, mlpc_input_limit_hint());
    if (s == MLPC_OK) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        s = read_all(path, fd, (size_t)st.st_size, max, out, len, err);
    }
    close(fd);
    return s;
}
