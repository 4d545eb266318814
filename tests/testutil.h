/* testutil.h - shared helpers for the cmocka test programs. */
#ifndef MLPC_TESTUTIL_H
#define MLPC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mlpc.h"

/* A fresh temporary directory per test program (removed by the OS's tmp
 * cleaning; tests write only below it). */
static inline const char *tu_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/mlpc-test-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return dir;
}

/* Path of `name` inside the temp dir (static buffer rotated over 8 slots). */
static inline const char *tu_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, 512, "%s/%s", tu_tmpdir(), name);
    return p;
}

/* Writes len bytes to a file in the temp dir; returns its path. */
static inline const char *tu_write(const char *name, const void *data, size_t len)
{
    const char *p = tu_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(p);
        exit(1);
    }
    fclose(f);
    return p;
}

static inline const char *tu_write_str(const char *name, const char *text)
{
    return tu_write(name, text, strlen(text));
}

/* The MNIST folder (MLPC_DATA or ./data/mnist), or NULL when absent. */
static inline const char *tu_mnist_dir(void)
{
    static char dir[512];
    const char *env = getenv("MLPC_DATA");
    snprintf(dir, sizeof dir, "%s/mnist", env && *env ? env : "data");
    char probe[600];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", dir);
    return access(probe, R_OK) == 0 ? dir : NULL;
}

#endif
