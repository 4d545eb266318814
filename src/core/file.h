/* file.h - reading input files whole within a size limit, and byte counts
 * (src/core/file.c). Used by the library's readers and by the CLI's config
 * and search-space readers, so every input file is opened one way. */
#ifndef MLPC_CORE_FILE_H
#define MLPC_CORE_FILE_H

#include "mlpc.h"

/* "1.5 GiB" for a byte count. */
void mlpc_bytes_str(uint64_t b, char *buf, size_t cap);
/* The most bytes one input file may hold, or decompress to: $MLPC_MAX_INPUT
 * (a size such as "512M"), else half the physical memory. */
size_t mlpc_input_limit(void);
/* Where the limit came from, for messages. */
const char *mlpc_input_limit_hint(void);
/* Reads a whole regular file (symbolic links followed) of at most max bytes
 * (0: mlpc_input_limit()) into a malloc'ed buffer with a NUL after the last
 * byte (not counted in *len). A directory, FIFO, device or socket is
 * MLPC_ERR_IO naming the path and what it is ("not <what>"), without
 * blocking; so is a file over the limit. The path "-" is standard input
 * (a pipe or a file, not a terminal), read once per process and under the
 * same limit; messages call it "standard input (-)". */
mlpc_status mlpc_read_whole(const char *path, const char *what, size_t max, unsigned char **out,
                           size_t *len, mlpc_error *err);
/* The same checks by name only (no read, never blocks). */
mlpc_status mlpc_file_check(const char *path, const char *what, mlpc_error *err);

/* How messages name a path: "standard input" for "-", else the path. */
const char *mlpc_path_name(const char *path);

#endif
