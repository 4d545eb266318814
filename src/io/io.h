/* io.h - model files and atomic writes (src/io/). */
#ifndef MLPC_IO_H
#define MLPC_IO_H

#include "nn/net.h"

/* ---- model files (src/io/modelfile.c) ------------------------------------ */

/* An extra section carried in a model file (checkpoint state). */
typedef struct mlpc_blob {
    uint32_t tag;  /* four characters, e.g. MLPC_TAG('O','P','T','S') */
    void *data;
    uint64_t size;
} mlpc_blob;
#define MLPC_TAG(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* Writes net (+ extra sections) atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory. */
mlpc_status mlpc_file_write(const char *path, const mlpc_net *net, const mlpc_blob *extra,
                            int n_extra, mlpc_error *err);
/* Reads a model file. Extra sections are returned in extra[0..*n_extra) with
 * malloc'ed data the caller frees (pass NULL/0 to ignore them). */
mlpc_net *mlpc_file_read(const char *path, mlpc_blob *extra, int max_extra, int *n_extra,
                         mlpc_error *err);
/* Atomic write of a byte buffer (same protocol). */
mlpc_status mlpc_atomic_write(const char *path, const void *data, size_t size, mlpc_error *err);
/* The same with sync 0: temp file and rename (never a half-written file),
 * but no fsync, for a file that a synced write into the same folder follows
 * at once (its fsyncs make this one durable too on journaling file systems). */
mlpc_status mlpc_atomic_write_sync(const char *path, const void *data, size_t size, int sync, mlpc_error *err);
mlpc_status mlpc_file_write_sync(const char *path, const mlpc_net *net, const mlpc_blob *extra, int n_extra,
                                 int sync, mlpc_error *err);

#endif /* MLPC_IO_H */
