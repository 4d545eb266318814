/* calibrate_threads.c - `--threads auto`: time training steps of the actual net
 * and batch size with 1..max threads on synthetic data, interleaved over
 * rounds, and pick the fastest by the best round (the least disturbed by
 * other work on the machine): the fewest threads among those within 3% of
 * it, since idle cores are worth keeping. */
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 5
#define MIN_ROUND_SECONDS 0.03

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

mlpc_status mlpc_calibrate_threads(const mlpc_config *cfg0, int max_threads, int *chosen,
                                   double *step_seconds, char *why, size_t why_cap, mlpc_error *err)
{
    if (max_threads < 1 || max_threads > 64)
        return mlpc_seterr(err, MLPC_ERR_ARG, "threads auto: max threads %d outside 1..64", max_threads);
    if (mlpc_config_validate(cfg0, err)) return err ? err->code : MLPC_ERR_ARG;
    mlpc_config cfg = *cfg0;
    cfg.epochs = 1;
    int B = cfg.batch, n_in = cfg.sizes[0], n_out = cfg.sizes[cfg.n_layers];
    mlpc_net *net[64] = {0};
    mlpc_trainer *tr[64] = {0};
    float *x = malloc(sizeof(float) * (size_t)B * n_in);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)B);
    float *targets = malloc(sizeof(float) * (size_t)B * n_out);
    mlpc_status st = MLPC_OK;
    if (!x || !labels || !targets) {
        st = mlpc_seterr(err, MLPC_ERR_NOMEM, "threads auto: out of memory");
        goto out;
    }
    mlpc_rng r;
    mlpc_rng_seed(&r, 12345);
    for (size_t i = 0; i < (size_t)B * n_in; i++) x[i] = (float)mlpc_rng_uniform(&r);
    for (int i = 0; i < B; i++) labels[i] = (int32_t)(i % n_out);
    for (size_t i = 0; i < (size_t)B * n_out; i++) targets[i] = (float)mlpc_rng_uniform(&r);
    int classify = cfg.loss == MLPC_LOSS_CCE || cfg.loss == MLPC_LOSS_BCE || cfg.act[cfg.n_layers - 1] == MLPC_ACT_SOFTMAX;
    for (int t = 0; t < max_threads; t++) {
        cfg.threads = t + 1;
        cfg.lr = 1e-6f; /* tiny steps: the parameters stay put */
        if (!(net[t] = mlpc_net_create(&cfg, err)) || !(tr[t] = mlpc_trainer_create(net[t], &cfg, err))) {
            st = err ? err->code : MLPC_ERR_NOMEM;
            goto out;
        }
    }
    /* steps per round: enough for MIN_ROUND_SECONDS on one thread */
    double loss;
    long steps = 1;
    for (;;) {
        double t0 = mlpc_now();
        for (long s = 0; s < steps; s++)
            mlpc_trainer_step(tr[0], x, classify ? labels : NULL, classify ? NULL : targets, B, &loss);
        if (mlpc_now() - t0 >= MIN_ROUND_SECONDS || steps > (1L << 24)) break;
        steps *= 2;
    }
    double times[64][ROUNDS];
    for (int round = 0; round < ROUNDS; round++)
        for (int t = 0; t < max_threads; t++) {
            double t0 = mlpc_now();
            for (long s = 0; s < steps; s++)
                mlpc_trainer_step(tr[t], x, classify ? labels : NULL, classify ? NULL : targets, B, &loss);
            times[t][round] = (mlpc_now() - t0) / (double)steps;
        }
    double med[64], best = INFINITY;
    for (int t = 0; t < max_threads; t++) {
        qsort(times[t], ROUNDS, sizeof(double), cmp_double);
        med[t] = times[t][0]; /* the best round */
        best = med[t] < best ? med[t] : best;
    }
    int pick = 0;
    while (med[pick] > best * 1.03) pick++;
    *chosen = pick + 1;
    if (step_seconds) *step_seconds = med[pick];
    if (why) {
        size_t len = (size_t)snprintf(why, why_cap, "best step time of %d rounds of %ld steps:", ROUNDS, steps);
        for (int t = 0; t < max_threads && len < why_cap; t++)
            len += (size_t)snprintf(why + len, why_cap - len, " %d thread%s %.3g ms%s", t + 1, t ? "s" : "",
                                    med[t] * 1e3, t == pick ? " (chosen)" : "");
    }
out:
    for (int t = 0; t < max_threads; t++) {
        mlpc_trainer_free(tr[t]);
        mlpc_net_free(net[t]);
    }
    free(x);
    free(labels);
    free(targets);
    return st;
}
