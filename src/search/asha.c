/*
 * asha.c - rungs and the promotion rule of successive halving.
 *
 * The rule is Optuna's SuccessiveHalvingPruner: a trial at a rung goes on
 * when its value is within the best max(1, floor(n / eta)) of the n values
 * that compete at that rung (its own included). What competes is decided by
 * the coordinator (coord.c): the trials with a lower number, so the outcome
 * is the same for any number of workers or ranks. The coordinator keeps the
 * values of each rung in an srch_ranks (below), so that a decision costs
 * O(log n) instead of a pass over every earlier trial.
 */
#include "search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the values at one rung, ordered ------------------------------------- */

/* A treap keyed by (value, id): the tree is a binary search tree in that
 * order and a heap in a priority that is a hash of id, so it stays balanced
 * (O(log n) expected) whatever order the values come in, and the same values
 * always give the same tree. NaN values are not in the tree, only counted:
 * they compete (they count in n) but are never better than anything. */

static uint32_t rank_pri(int id)
{
    uint64_t z = (uint64_t)(uint32_t)id + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (uint32_t)(z ^ (z >> 31));
}

static int rank_size(const srch_ranks *r, int x) { return x ? r->node[x].size : 0; }

static void rank_pull(srch_ranks *r, int x)
{
    r->node[x].size = 1 + rank_size(r, r->node[x].l) + rank_size(r, r->node[x].r);
}

/* whether node x comes before (v, id) */
static int rank_before(const srch_ranks *r, int x, double v, int id)
{
    const srch_rank_node *p = &r->node[x];
    return p->v < v || (!(v < p->v) && p->id < id);
}

/* splits the tree at x into the nodes before (v, id) and the rest */
static void rank_split(srch_ranks *r, int x, double v, int id, int *lo, int *hi)
{
    if (!x) {
        *lo = *hi = 0;
        return;
    }
    if (rank_before(r, x, v, id)) {
        int a, b;
        rank_split(r, r->node[x].r, v, id, &a, &b);
        r->node[x].r = a;
        *lo = x;
        *hi = b;
    } else {
        int a, b;
        rank_split(r, r->node[x].l, v, id, &a, &b);
        r->node[x].l = b;
        *lo = a;
        *hi = x;
    }
    rank_pull(r, x);
}

/* joins two trees, every node of a before every node of b */
static int rank_merge(srch_ranks *r, int a, int b)
{
    if (!a || !b) return a ? a : b;
    if (r->node[a].pri > r->node[b].pri) {
        r->node[a].r = rank_merge(r, r->node[a].r, b);
        rank_pull(r, a);
        return a;
    }
    r->node[b].l = rank_merge(r, a, r->node[b].l);
    rank_pull(r, b);
    return b;
}

int srch_ranks_add(srch_ranks *r, double v, int id)
{
    if (isnan(v)) {
        r->n_nan++;
        return 0;
    }
    int x = r->free_list;
    if (x) {
        r->free_list = r->node[x].l;
    } else {
        if (r->used + 1 >= r->cap) {
            int cap = r->cap ? r->cap * 2 : 64;
            srch_rank_node *nn = realloc(r->node, sizeof *nn * (size_t)cap);
            if (!nn) return -1;
            r->node = nn;
            r->cap = cap;
        }
        x = ++r->used; /* node 0 stands for "none" */
    }
    r->node[x] = (srch_rank_node){v, id, 0, 0, 1, rank_pri(id)};
    int lo, hi;
    rank_split(r, r->root, v, id, &lo, &hi);
    r->root = rank_merge(r, rank_merge(r, lo, x), hi);
    return 0;
}

void srch_ranks_remove(srch_ranks *r, double v, int id)
{
    if (isnan(v)) {
        if (r->n_nan > 0) r->n_nan--;
        return;
    }
    int lo, mid, hi;
    rank_split(r, r->root, v, id, &lo, &hi);
    rank_split(r, hi, v, id + 1, &mid, &hi); /* ids are distinct: mid is (v, id) or empty */
    if (mid) {
        r->node[mid].l = r->free_list;
        r->free_list = mid;
    }
    r->root = rank_merge(r, lo, hi);
}

int srch_ranks_count(const srch_ranks *r) { return rank_size(r, r->root) + r->n_nan; }

void srch_ranks_free(srch_ranks *r)
{
    free(r->node);
    memset(r, 0, sizeof *r);
}

int srch_ranks_better(const srch_ranks *r, double v, int maximize)
{
    int n = 0, x = r->root;
    while (x) {
        const srch_rank_node *p = &r->node[x];
        if (maximize ? p->v > v : p->v < v) { /* p and the side beyond it are better */
            n += 1 + rank_size(r, maximize ? p->r : p->l);
            x = maximize ? p->l : p->r;
        } else {
            x = maximize ? p->r : p->l;
        }
    }
    return n;
}

int srch_asha_promote_ranked(double value, const srch_ranks *others, int eta, int maximize)
{
    if (isnan(value)) return 0;
    int n = srch_ranks_count(others) + 1;
    int keep = n / (eta < 2 ? 2 : eta);
    if (keep < 1) keep = 1;
    return srch_ranks_better(others, value, maximize) < keep;
}
