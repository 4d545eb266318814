/* clock.h - the library's one clock (src/core/clock.c): monotonic seconds
 * for durations and deadlines, wall-clock seconds for timestamps that are
 * written down, process CPU seconds for what a run cost. The dashboard,
 * the search and the CLI use it too. */
#ifndef MLPC_CORE_CLOCK_H
#define MLPC_CORE_CLOCK_H

double mlpc_now(void);      /* monotonic seconds (durations, deadlines) */
double mlpc_wall_now(void); /* seconds since 1970 (timestamps in records and logs) */
double mlpc_cpu_now(void);  /* CPU seconds this process has used (all threads) */

#endif /* MLPC_CORE_CLOCK_H */
