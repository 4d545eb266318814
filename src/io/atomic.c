/*
 * atomic.c - crash-safe replacement of a file.
 *
 * Protocol: create a fresh temporary file next to the target
 * (`<path>.tmp.<pid>.<n>`, O_EXCL, mode 0666 & ~umask), write every byte
 * (short writes and EINTR handled), fsync, close (checked), rename over the
 * target, then fsync the containing directory so the rename itself is
 * durable. On any failure before the rename the temporary file is removed and
 * an existing target is left untouched. Temporary files of writers that were
 * killed (`<path>.tmp.<pid>.<n>` whose process no longer exists) are removed
 * by the next write to the same path. If only the final directory fsync
 * fails, the target has already been replaced; the error is still reported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static atomic_uint tmp_counter;

/* Writes all n bytes; returns 0, or -1 with errno set. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) { /* should not happen for regular files; avoid spinning */
            errno = EIO;
            return -1;
        }
        p += (size_t)w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync that tolerates file systems without sync support. */
static int sync_fd(int fd)
{
    if (fsync(fd) == 0) return 0;
    if (errno == EINVAL || errno == EROFS
#ifdef ENOTSUP
        || errno == ENOTSUP
#endif
    )
        return 0;
    return -1;
}

/* Directory part of path ("." when there is no slash); malloc'ed. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = malloc(2);
        if (d) memcpy(d, ".", 2);
        return d;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/file" -> "/" */
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Parses "<digits>.<digits>" exactly; returns the first number (a pid) or -1. */
static long tmp_suffix_pid(const char *s)
{
    long pid = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        pid = pid * 10 + (*p - '0');
        if (pid > 0x7fffffffL) return -1;
    }
    if (*p++ != '.') return -1;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
    }
    return *p == '\0' && pid > 0 ? pid : -1;
}

/* Removes temporary files a killed writer left next to path: exactly
 * "<name>.tmp.<pid>.<n>" where no process <pid> exists (kill(pid, 0) fails
 * with ESRCH). Files of live writers (and of this process) are left alone;
 * only regular files are removed. Best effort: errors are ignored. */
static void remove_stale_tmps(const char *path, const char *dir)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    if (bl == 0) return;
    DIR *d = opendir(dir);
    if (!d) return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp.", 5) != 0) continue;
        long pid = tmp_suffix_pid(n + bl + 5);
        if (pid < 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        struct stat st;
        if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        unlinkat(dfd, n, 0);
    }
    closedir(d);
}

mlpc_status mlpc_atomic_write(const char *path, const void *data, size_t size, mlpc_error *err)
{
    return mlpc_atomic_write_sync(path, data, size, 1, err);
}

mlpc_status mlpc_atomic_write_sync(const char *path, const void *data, size_t size, int sync, mlpc_error *err)
{
    if (!path || !*path) return mlpc_seterr(err, MLPC_ERR_ARG, "atomic write: no path given");
    if (!data && size > 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "%s: atomic write: no data given", path);

    size_t plen = strlen(path);
    size_t tcap = plen + 64;
    char *tmp = malloc(tcap);
    if (!tmp) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", path);

    {
        char *d = dir_of(path);
        if (d) {
            remove_stale_tmps(path, d);
            free(d);
        }
    }
    int fd = -1, e = 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned k = atomic_fetch_add(&tmp_counter, 1u);
        snprintf(tmp, tcap, "%s.tmp.%ld.%u", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) break;
    }
    if (fd < 0) {
        e = errno;
        mlpc_seterr(err, MLPC_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp,
                    strerror(e));
        free(tmp);
        return MLPC_ERR_IO;
    }

    const char *what = NULL;
    if (write_all(fd, data, size) != 0)
        what = "write failed";
    else if (sync && sync_fd(fd) != 0)
        what = "fsync failed";
    if (what) {
        e = errno;
        close(fd);
    } else if (close(fd) != 0) {
        e = errno;
        what = "close failed";
    } else if (rename(tmp, path) != 0) {
        e = errno;
        what = "cannot rename temporary file over it";
    }
    if (what) {
        unlink(tmp);
        free(tmp);
        return mlpc_seterr(err, MLPC_ERR_IO, "%s: %s: %s", path, what, strerror(e));
    }
    free(tmp);
    if (!sync) {
        mlpc_clearerr(err);
        return MLPC_OK;
    }

    /* Make the rename durable. A directory we cannot open (e.g. no read
     * permission) is skipped; a failing fsync is reported. */
    char *dir = dir_of(path);
    if (!dir) return mlpc_seterr(err, MLPC_ERR_NOMEM, "%s: out of memory", path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        int rc = sync_fd(dfd);
        e = errno;
        close(dfd);
        if (rc != 0) {
            mlpc_seterr(err, MLPC_ERR_IO, "%s: written, but fsync of directory %s failed: %s", path,
                        dir, strerror(e));
            free(dir);
            return MLPC_ERR_IO;
        }
    }
    free(dir);
    mlpc_clearerr(err);
    return MLPC_OK;
}
