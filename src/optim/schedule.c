/* schedule.c - learning-rate schedules: constant, step, exponential and
 * reduce-on-plateau, all bounded below by min_lr. */
#include "optim/optim.h"

#include <math.h>

void mlpc_sched_init(mlpc_sched_state *st, const mlpc_config *cfg)
{
    st->lr = cfg->lr;
    st->best = INFINITY;
    st->wait = 0;
}

void mlpc_sched_step(mlpc_sched_state *st, const mlpc_config *cfg, int epoch, double monitored)
{
    float lr = st->lr;
    switch (cfg->sched) {
    case MLPC_SCHED_STEP:
        lr = cfg->lr * powf(cfg->sched_factor, (float)(epoch / cfg->sched_step));
        break;
    case MLPC_SCHED_EXPONENTIAL:
        lr = cfg->lr * powf(cfg->sched_factor, (float)epoch);
        break;
    case MLPC_SCHED_PLATEAU:
        if (monitored < st->best) {
            st->best = monitored;
            st->wait = 0;
        } else if (++st->wait >= cfg->sched_patience) {
            lr *= cfg->sched_factor;
            st->wait = 0;
        }
        break;
    case MLPC_SCHED_CONSTANT:
    case MLPC_SCHED_COUNT:
        break;
    }
    st->lr = lr < cfg->min_lr ? cfg->min_lr : lr;
}
