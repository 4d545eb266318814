/* knob.c - switches for measuring a change inside one process.
 *
 * This project's machine is a VM on a busy host: two runs of the same
 * binary a second apart differ by 5-20%, so A/B runs of two binaries need
 * dozens of pairs to see 2%. A knob keeps the code path before a change
 * next to the one after it: `bench_mlpc w2 --ab KNOB` alternates epochs
 * between the two inside one process, so both see the same noise, and
 * reports the ratios of neighbouring epochs. Every knob is on by default;
 * off gives the old path, with the same results bit for bit. */
#include "core/core.h"

#include <string.h>

static int knob_off[MLPC_KNOBS];

int mlpc_knob(mlpc_knob_id k) { return (unsigned)k < MLPC_KNOBS ? !knob_off[k] : 1; }

void mlpc_knob_set(mlpc_knob_id k, int on)
{
    if ((unsigned)k < MLPC_KNOBS) knob_off[k] = !on;
}

const char *mlpc_knob_name(mlpc_knob_id k)
{
    static const char *const names[MLPC_KNOBS] = {"gather-in-forward", "opt-prefetchw", "opt-flush", "tile-split", "bf16-w-shared",
                                                  "zero-cols", "update-chunks", "pack-window"};
    return (unsigned)k < MLPC_KNOBS ? names[k] : "?";
}

int mlpc_knob_parse(const char *s, mlpc_knob_id *k)
{
    for (int i = 0; i < MLPC_KNOBS; i++)
        if (!strcmp(s, mlpc_knob_name((mlpc_knob_id)i))) {
            *k = (mlpc_knob_id)i;
            return 0;
        }
    return -1;
}
