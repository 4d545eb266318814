/* clock.c - monotonic, wall-clock and process CPU seconds (core/clock.h). */
#include "core/clock.h"

#include <time.h>

static double seconds_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double mlpc_now(void) { return seconds_of(CLOCK_MONOTONIC); }

double mlpc_wall_now(void) { return seconds_of(CLOCK_REALTIME); }

double mlpc_cpu_now(void) { return seconds_of(CLOCK_PROCESS_CPUTIME_ID); }
