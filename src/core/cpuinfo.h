/* cpuinfo.h - what the machine's processor is called (src/core/cpuinfo.c), for the
 * device list and the thread-count cache key. */
#ifndef MLPC_CORE_CPU_H
#define MLPC_CORE_CPU_H

#include <stddef.h>

/* Copies the first "model name" of /proc/cpuinfo (tabs as spaces) into
 * buf[0..cap); returns its length, or -1 (buf untouched) when there is none. */
int mlpc_cpu_model(char *buf, size_t cap);

#endif /* MLPC_CORE_CPU_H */
