/* interrupt.c - stopping a run from outside (bindings, signal handlers):
 * one relaxed atomic flag per trainer. The bottom of src/train/: the loop
 * (trainer.c) and the device loop (ondevice.c) both check it, so neither
 * calls the other for it. */
#include "train/train.h"

#include <stdio.h>

/* a lock-free store: safe from other threads and from signal handlers */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "mlpc_trainer_interrupt needs a lock-free atomic int");
void mlpc_trainer_interrupt(mlpc_trainer *tr)
{
    if (tr) atomic_store_explicit(&tr->interrupt, 1, memory_order_relaxed);
}

void mlpc_trainer_clear_interrupt(mlpc_trainer *tr)
{
    if (!tr) return;
    atomic_store_explicit(&tr->interrupt, 0, memory_order_relaxed);
    tr->stopped = 0;
    tr->stop_reason[0] = '\0';
}

int mlpc_trainer_check_interrupt(mlpc_trainer *tr)
{
    if (!atomic_load_explicit(&tr->interrupt, memory_order_relaxed)) return 0;
    tr->stopped = 1;
    snprintf(tr->stop_reason, sizeof tr->stop_reason, "interrupted");
    return 1;
}
