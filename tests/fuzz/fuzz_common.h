/* fuzz_common.h - helpers for the libFuzzer targets (tests/fuzz/README.md).
 * The dataset loaders read files, so each input is written to one or two
 * temp files (made once per process) and loaded from there. */
#ifndef MLPC_FUZZ_COMMON_H
#define MLPC_FUZZ_COMMON_H

#include "mlpc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temp file for this process, named with `suffix` (the loaders look at
 * the name too); removed at exit. */
static const char *fuzz_path(int which, const char *suffix)
{
    static char paths[2][256];
    if (!paths[which][0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(paths[which], sizeof paths[which], "%s/mlpc-fuzz-%ld-%d%s", dir && *dir ? dir : "/tmp",
                 (long)getpid(), which, suffix);
    }
    return paths[which];
}

static void fuzz_cleanup(void)
{
    unlink(fuzz_path(0, ""));
    unlink(fuzz_path(1, ""));
}

/* Writes data[0..n) to the file; returns its path, or NULL. */
static const char *fuzz_write(int which, const char *suffix, const uint8_t *data, size_t n)
{
    static int registered;
    if (!registered) {
        atexit(fuzz_cleanup);
        registered = 1;
    }
    const char *p = fuzz_path(which, suffix);
    FILE *f = fopen(p, "wb");
    if (!f) return NULL;
    if (n && fwrite(data, 1, n, f) != n) {
        fclose(f);
        return NULL;
    }
    if (fclose(f) != 0) return NULL;
    return p;
}

/* Splits an input in two at the offset its first two bytes give (low 15
 * bits, little-endian; the top bit is the target's flag; mod the
 * rest's length): a features file and a labels file from one input. */
static size_t fuzz_split(const uint8_t *data, size_t n)
{
    if (n < 2) return 0;
    size_t rest = n - 2;
    return rest ? (size_t)((data[0] | ((data[1] & 0x7f) << 8)) % (rest + 1)) : 0;
}

/* Touches everything a loaded dataset exposes, so a bad size shows. */
static void fuzz_use(mlpc_dataset *d)
{
    if (!d) return;
    size_t n = mlpc_dataset_rows(d), k = mlpc_dataset_features(d), o = mlpc_dataset_outputs(d);
    const float *x = mlpc_dataset_x(d);
    const int32_t *lab = mlpc_dataset_labels(d);
    const float *t = mlpc_dataset_targets(d);
    volatile float sink = 0;
    if (n && k) sink += x[0] + x[n * k - 1];
    if (n && lab) sink += (float)lab[n - 1];
    if (n && o && t) sink += t[n * o - 1];
    (void)sink;
    mlpc_dataset_free(d);
}

#endif
