/*
 * load.c - format dispatch, the top of src/data/ (it calls the loaders,
 * nothing in the folder calls it).
 *
 * Formats recognised by mlpc_dataset_load (content first, then the name):
 *   .npy   starts with "\x93NUMPY"                       -> npy.c
 *   IDX    starts with 00 00 <type 08..0E> <ndim >= 1>    -> idx.c
 *   CSV    anything else (.csv, .tsv, .txt, ...)          -> csv.c
 * Each may be gzip-compressed (1f 8b); the loaders gunzip in mlpc_read_file.
 */
#include "data.h"

#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ dispatch */

typedef enum { FMT_CSV, FMT_NPY, FMT_IDX } data_fmt;

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static data_fmt guess_format(const char *path)
{
    unsigned char b[8] = {0};
    int got = -1;
    gzFile g = gzopen(path, "rb");
    if (g) {
        got = gzread(g, b, sizeof b);
        gzclose(g);
    }
    if (got >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return FMT_NPY;
    if (got >= 4 && b[0] == 0 && b[1] == 0 && b[2] >= 0x08 && b[2] <= 0x0E && b[3] >= 1)
        return FMT_IDX;
    if (ends_with(path, ".npy") || ends_with(path, ".npy.gz")) return FMT_NPY;
    if (strstr(path, ".idx") || strstr(path, "-ubyte")) return FMT_IDX;
    return FMT_CSV;
}

mlpc_dataset *mlpc_dataset_load(const char *features, const char *labels, mlpc_error *err)
{
    if (!features || !*features) {
        mlpc_seterr(err, MLPC_ERR_ARG, "no data file given");
        return NULL;
    }
    /* before guess_format opens it: a FIFO would block there (the labels
     * file is read by mlpc_read_whole, which does not block) */
    if (mlpc_file_check(features, "a data file", err) != MLPC_OK) return NULL;
    switch (guess_format(features)) {
    case FMT_NPY: return mlpc_dataset_load_npy(features, labels, err);
    case FMT_IDX: return mlpc_dataset_load_idx(features, labels, err);
    case FMT_CSV: break;
    }
    if (labels) {
        mlpc_seterr(err, MLPC_ERR_ARG,
                    "%s: a CSV file carries its own label column; no separate labels file "
                    "('%s') is expected", features, labels);
        return NULL;
    }
    return mlpc_dataset_load_csv(features, NULL, err);
}
