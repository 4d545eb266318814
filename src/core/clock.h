/* clock.h - the library's one clock (src/core/clock.c): monotonic seconds
 * for durations and deadlines, wall-clock seconds for timestamps that are
 * written down. The dashboard uses it too. */
#ifndef MLPC_CORE_CLOCK_H
#define MLPC_CORE_CLOCK_H

double mlpc_now(void);      /* monotonic seconds (durations, deadlines) */
double mlpc_wall_now(void); /* seconds since 1970 (timestamps in records and logs) */

#endif /* MLPC_CORE_CLOCK_H */
