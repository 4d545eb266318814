/*
 * asha.c - rungs and the promotion rule of successive halving.
 *
 * The rule is Optuna's SuccessiveHalvingPruner: a trial at a rung goes on
 * when its value is within the best max(1, floor(n / eta)) of the n values
 * that compete at that rung (its own included). What competes is decided by
 * the coordinator (coord.c): the trials with a lower number, so the outcome
 * is the same for any number of workers or ranks.
 */
#include "search/search.h"

#include <math.h>
#include <stdlib.h>

int srch_rungs(int min_epochs, int eta, int max_epochs, int *rungs, int cap)
{
    int n = 0;
    long r = min_epochs < 1 ? 1 : min_epochs;
    while (r < max_epochs && n < cap) {
        rungs[n++] = (int)r;
        r *= eta < 2 ? 2 : eta;
    }
    return n;
}

int srch_asha_promote(double value, const double *competing, int n, int eta, int maximize)
{
    if (isnan(value)) return 0;
    int keep = n / (eta < 2 ? 2 : eta);
    if (keep < 1) keep = 1;
    /* count the values strictly better than this one: promote when fewer than `keep` */
    int better = 0;
    for (int i = 0; i < n; i++) {
        double c = competing[i];
        if (isnan(c)) continue;
        if (maximize ? c > value : c < value) better++;
    }
    return better < keep;
}
