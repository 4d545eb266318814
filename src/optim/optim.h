/* optim.h - optimizer updates over a flat parameter range, and learning-rate
 * schedules. */
#ifndef MLPC_OPTIM_H
#define MLPC_OPTIM_H

#include "core/core.h"

/* Optimizer hyper-parameters for one update of a flat parameter range. */
typedef struct mlpc_opt_step {
    mlpc_opt opt;
    float lr, momentum, rho, beta1, beta2, eps;
    int nesterov;
    float l2;   /* applied to this range (0 for biases) */
    long t;     /* step number, 1-based (Adam bias correction) */
    int w_shared; /* other threads read this W since its last update (the
                     forward on several threads in fp32, the backward's W^T
                     in bf16): RMSprop and Adam then ask for W's lines to
                     write ahead (optim.c); the same bits */
} mlpc_opt_step;

/* w, g, m, v: n floats. m is the velocity (sgd momentum), the first moment
 * (adam) or unused; v the mean square (rmsprop) or second moment (adam). */
void mlpc_opt_apply(const mlpc_opt_step *s, float *w, const float *g, float *m, float *v, size_t n);

/* Learning-rate schedule state, carried in checkpoints. */
typedef struct mlpc_sched_state {
    float lr;          /* current rate */
    double best;       /* plateau: best monitored value so far */
    int wait;          /* plateau: epochs without improvement */
} mlpc_sched_state;

void mlpc_sched_init(mlpc_sched_state *st, const mlpc_config *cfg);
/* After epoch `epoch` (1-based) with the monitored value (lower is better);
 * updates st->lr for the next epoch. */
void mlpc_sched_step(mlpc_sched_state *st, const mlpc_config *cfg, int epoch, double monitored);

#endif
