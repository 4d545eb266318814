/* checkpoint.c - the trainer's state in a model file: the net plus
 *   'TRNS'  loop state as "key=value" lines (doubles in %a, exact),
 *   'OPTM', 'OPTV'  optimizer moments (n_params little-endian float32),
 *   'BEST'  best parameters so far (early stopping with restore).
 * Resuming restores all of it, so the continued run equals an
 * uninterrupted one. */
#include "train/train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAG_TRNS MLPC_TAG('T', 'R', 'N', 'S')
#define TAG_OPTM MLPC_TAG('O', 'P', 'T', 'M')
#define TAG_OPTV MLPC_TAG('O', 'P', 'T', 'V')
#define TAG_BEST MLPC_TAG('B', 'E', 'S', 'T')

static int host_is_le(void)
{
    const uint32_t one = 1;
    return *(const unsigned char *)&one == 1;
}

mlpc_status mlpc_trainer_save_checkpoint(mlpc_trainer *tr, const char *path)
{
    return trainer_checkpoint_write(tr, path, 1);
}

mlpc_status trainer_checkpoint_write(mlpc_trainer *tr, const char *path, int sync)
{
    if (!host_is_le())
        return mlpc_seterr(&tr->err, MLPC_ERR_UNSUPPORTED, "%s: checkpoints need a little-endian host", path);
    char state[1024];
    int len = snprintf(state, sizeof state,
                       "epoch=%d\nstep=%ld\nlr=%a\nsched_best=%a\nsched_wait=%d\nes_best=%a\n"
                       "es_wait=%d\nbest_epoch=%d\nstopped=%d\nseed=%llu\nbatch=%d\nopt=%s\n",
                       tr->epoch, tr->step, (double)tr->sched.lr, tr->sched.best, tr->sched.wait,
                       tr->es_best, tr->es_wait, tr->best_epoch, tr->stopped,
                       (unsigned long long)tr->cfg.seed, tr->cfg.batch, mlpc_opt_name(tr->cfg.opt));
    size_t bytes = tr->net->n_params * sizeof(float);
    mlpc_blob extra[4] = {
        {TAG_TRNS, state, (uint64_t)len},
        {TAG_OPTM, tr->m, bytes},
        {TAG_OPTV, tr->v, bytes},
        {TAG_BEST, tr->best, bytes},
    };
    int n_extra = tr->cfg.es_patience > 0 && tr->cfg.es_restore_best ? 4 : 3;
    return mlpc_file_write_sync(path, tr->net, extra, n_extra, sync, &tr->err);
}

static int get_key(const char *text, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, "\n");
            if (n >= cap) return 0;
            memcpy(out, p + kl + 1, n);
            out[n] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Integer field: decimal text, whole value, within lo..hi. */
static mlpc_status get_int(mlpc_trainer *tr, const char *path, const char *text, const char *key,
                           long long lo, long long hi, long long *out)
{
    char v[64], *end = NULL;
    if (!get_key(text, key, v, sizeof v))
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: checkpoint state lacks '%s'", path, key);
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!v[0] || *end || errno == ERANGE)
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: %s '%s' is not an integer", path, key, v);
    if (x < lo || x > hi)
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: %s %lld out of range %lld..%lld", path,
                           key, x, lo, hi);
    *out = x;
    return MLPC_OK;
}

/* Floating-point field (%a or decimal); kind 0: not NaN (infinities allowed),
 * 1: finite and > 0. */
static mlpc_status get_real(mlpc_trainer *tr, const char *path, const char *text, const char *key,
                            int kind, double *out)
{
    char v[64], *end = NULL;
    if (!get_key(text, key, v, sizeof v))
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: checkpoint state lacks '%s'", path, key);
    double x = strtod(v, &end);
    if (!v[0] || *end)
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: %s '%s' is not a number", path, key, v);
    if (isnan(x) || (kind == 1 && !(isfinite(x) && x > 0 && x <= 3.4e38)))
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: %s %s out of range (%s)", path, key, v,
                           kind == 1 ? "finite and > 0" : "a number, not NaN");
    *out = x;
    return MLPC_OK;
}

static mlpc_status parse_state(mlpc_trainer *tr, const char *path, const char *text)
{
    char v[64], seed_text[32];
    long long epoch = 0, step = 0, sched_wait = 0, es_wait = 0, best_epoch = 0, stopped = 0, batch = 0;
    double lr = 0, sched_best = 0, es_best = 0;
    mlpc_status st;
    const long long int_max = INT_MAX;
    if ((st = get_int(tr, path, text, "epoch", 0, int_max - 1, &epoch)) ||
        (st = get_int(tr, path, text, "step", 0, LLONG_MAX, &step)) ||
        (st = get_real(tr, path, text, "lr", 1, &lr)) ||
        (st = get_real(tr, path, text, "sched_best", 0, &sched_best)) ||
        (st = get_int(tr, path, text, "sched_wait", 0, epoch, &sched_wait)) ||
        (st = get_real(tr, path, text, "es_best", 0, &es_best)) ||
        (st = get_int(tr, path, text, "es_wait", 0, epoch, &es_wait)) ||
        (st = get_int(tr, path, text, "best_epoch", 0, epoch, &best_epoch)) ||
        (st = get_int(tr, path, text, "stopped", 0, 1, &stopped)) ||
        (st = get_int(tr, path, text, "batch", 1, int_max, &batch)))
        return st;
    if (step > LONG_MAX)
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: step %lld out of range 0..%ld", path,
                           step, LONG_MAX);
    /* every epoch takes at least one step */
    if (step < epoch)
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT,
                           "%s: step %lld out of range %lld..%ld (at least one per epoch)", path,
                           step, epoch, LONG_MAX);
    if (!get_key(text, "seed", seed_text, sizeof seed_text))
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: checkpoint state lacks 'seed'", path);
    if (!get_key(text, "opt", v, sizeof v))
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: checkpoint state lacks 'opt'", path);
    char *end = NULL;
    errno = 0;
    unsigned long long seed = strtoull(seed_text, &end, 10);
    if (!seed_text[0] || *end || errno == ERANGE || seed_text[0] == '-')
        return mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: seed '%s' is not an unsigned integer",
                           path, seed_text);
    if (seed != tr->cfg.seed || batch != tr->cfg.batch || strcmp(v, mlpc_opt_name(tr->cfg.opt)) != 0)
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG,
                           "%s: checkpoint was made with seed %s, batch %lld, opt %s; this run has seed %llu, batch %d, opt %s",
                           path, seed_text, batch, v, (unsigned long long)tr->cfg.seed, tr->cfg.batch,
                           mlpc_opt_name(tr->cfg.opt));
    tr->epoch = (int)epoch;
    tr->step = (long)step;
    tr->sched.lr = (float)lr;
    tr->sched.best = sched_best;
    tr->sched.wait = (int)sched_wait;
    tr->es_best = es_best;
    tr->es_wait = (int)es_wait;
    tr->best_epoch = (int)best_epoch;
    tr->stopped = (int)stopped;
    return MLPC_OK;
}

mlpc_status mlpc_trainer_resume(mlpc_trainer *tr, const char *path)
{
    mlpc_blob extra[8];
    int n_extra = 0;
    mlpc_net *ck = mlpc_file_read(path, extra, 8, &n_extra, &tr->err);
    if (!ck) return tr->err.code;
    mlpc_net *net = tr->net;
    mlpc_status st = MLPC_OK;
    size_t bytes = net->n_params * sizeof(float);
    if (ck->n_layers != net->n_layers || memcmp(ck->sizes, net->sizes, sizeof(int) * (size_t)(net->n_layers + 1)) ||
        memcmp(ck->act, net->act, sizeof(mlpc_act) * (size_t)net->n_layers) || ck->loss != net->loss) {
        st = mlpc_seterr(&tr->err, MLPC_ERR_SHAPE, "%s: the checkpoint's architecture differs from this run's", path);
        goto out;
    }
    const mlpc_blob *trns = NULL, *om = NULL, *ov = NULL, *best = NULL;
    for (int i = 0; i < n_extra; i++) {
        if (extra[i].tag == TAG_TRNS) trns = &extra[i];
        if (extra[i].tag == TAG_OPTM && extra[i].size == bytes) om = &extra[i];
        if (extra[i].tag == TAG_OPTV && extra[i].size == bytes) ov = &extra[i];
        if (extra[i].tag == TAG_BEST && extra[i].size == bytes) best = &extra[i];
    }
    if (!trns || !om || !ov) {
        st = mlpc_seterr(&tr->err, MLPC_ERR_FORMAT, "%s: a model file, not a checkpoint (no optimizer state)", path);
        goto out;
    }
    char *text = malloc(trns->size + 1);
    if (!text) {
        st = mlpc_seterr(&tr->err, MLPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(text, trns->data, trns->size);
    text[trns->size] = '\0';
    st = parse_state(tr, path, text);
    free(text);
    if (st) goto out;
    memcpy(net->params, ck->params, bytes);
    memcpy(tr->m, om->data, bytes);
    memcpy(tr->v, ov->data, bytes);
    /* without a BEST section the loaded parameters are the best known */
    memcpy(tr->best, best ? best->data : ck->params, bytes);
    if (ck->meta_metrics) mlpc_net_set_meta(net, "metrics", ck->meta_metrics);
out:
    for (int i = 0; i < n_extra; i++) free(extra[i].data);
    mlpc_net_free(ck);
    return st;
}
