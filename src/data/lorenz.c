/*
 * lorenz.c - a regression set from the Lorenz system
 *   dx/dt = sigma (y - x),  dy/dt = x (rho - z) - y,  dz/dt = x y - beta z
 * integrated with classic fourth-order Runge-Kutta in double precision:
 * `steps` steps of dt = t_end / steps give the states s_0 .. s_steps, with
 * s_0 = (x0, y0, z0). Row i has input s_{start+i} and target
 * s_{start+i+horizon} (3 floats each).
 */
#include "data.h"

#include <math.h>
#include <stdlib.h>

static void lorenz_deriv(const mlpc_lorenz_options *o, const double s[3], double d[3])
{
    d[0] = o->sigma * (s[1] - s[0]);
    d[1] = s[0] * (o->rho - s[2]) - s[1];
    d[2] = s[0] * s[1] - o->beta * s[2];
}

/* s + h * k */
static void lorenz_axpy(const double s[3], double h, const double k[3], double out[3])
{
    for (int j = 0; j < 3; j++) out[j] = s[j] + h * k[j];
}

static void rk4_step(const mlpc_lorenz_options *o, const double s[3], double dt, double out[3])
{
    double k1[3], k2[3], k3[3], k4[3], t[3];
    lorenz_deriv(o, s, k1);
    lorenz_axpy(s, dt / 2, k1, t);
    lorenz_deriv(o, t, k2);
    lorenz_axpy(s, dt / 2, k2, t);
    lorenz_deriv(o, t, k3);
    lorenz_axpy(s, dt, k3, t);
    lorenz_deriv(o, t, k4);
    for (int j = 0; j < 3; j++) out[j] = s[j] + dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
}

static mlpc_status lorenz_check(const mlpc_lorenz_options *o, int start, int count, mlpc_error *err)
{
    double p[7] = {o->sigma, o->beta, o->rho, o->t_end, o->x0, o->y0, o->z0};
    for (int i = 0; i < 7; i++)
        if (!isfinite(p[i])) return mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: a parameter is NaN or infinite");
    if (o->steps < 1 || o->t_end <= 0)
        return mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: need steps >= 1 and t_end > 0 (got %d, %g)",
                           o->steps, o->t_end);
    if (o->horizon < 0) return mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: horizon %d is negative", o->horizon);
    if (start < 0) return mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: start %d is negative", start);
    if (count <= 0) return mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: count %d must be positive", count);
    long long last = (long long)start + count - 1 + o->horizon;
    if (last > o->steps)
        return mlpc_seterr(err, MLPC_ERR_ARG,
                           "lorenz: rows %d..%d with horizon %d need state %lld but there are only %d steps",
                           start, start + count - 1, o->horizon, last, o->steps);
    return MLPC_OK;
}

mlpc_dataset *mlpc_dataset_lorenz(const mlpc_lorenz_options *o, int start, int count, mlpc_error *err)
{
    mlpc_lorenz_options def;
    mlpc_lorenz_options_default(&def);
    if (!o) o = &def;
    if (lorenz_check(o, start, count, err) != MLPC_OK) return NULL;
    size_t last = (size_t)start + (size_t)count - 1 + (size_t)o->horizon;
    double *s = malloc((last + 1) * 3 * sizeof *s);
    mlpc_dataset *d = s ? mlpc_dataset_alloc((size_t)count, 3, MLPC_TASK_REGRESS, 3, "lorenz", err) : NULL;
    if (!d) {
        if (!s) mlpc_seterr(err, MLPC_ERR_NOMEM, "lorenz: out of memory for %zu states", last + 1);
        free(s);
        return NULL;
    }
    double dt = o->t_end / o->steps;
    s[0] = o->x0;
    s[1] = o->y0;
    s[2] = o->z0;
    for (size_t t = 0; t < last; t++) {
        rk4_step(o, s + 3 * t, dt, s + 3 * (t + 1));
        if (!(fabs(s[3 * t + 3]) + fabs(s[3 * t + 4]) + fabs(s[3 * t + 5]) < 1e30)) {
            mlpc_seterr(err, MLPC_ERR_ARG, "lorenz: the solution blew up at step %zu (dt too large?)", t + 1);
            free(s);
            mlpc_dataset_free(d);
            return NULL;
        }
    }
    for (size_t i = 0; i < (size_t)count; i++)
        for (int j = 0; j < 3; j++) {
            d->x[3 * i + j] = (float)s[3 * ((size_t)start + i) + j];
            d->targets[3 * i + j] = (float)s[3 * ((size_t)start + i + (size_t)o->horizon) + j];
        }
    free(s);
    mlpc_clearerr(err);
    return d;
}
