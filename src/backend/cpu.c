/* cpu.c - the CPU backend: the table of compute functions the model and the
 * trainer call, splitting each operation over the context's thread pool.
 * Every split gives each output element to exactly one thread with a fixed
 * order of operations, so results do not depend on the thread count. */
#include "backend/backend.h"
#include "kernels/kernels.h"
#include "optim/optim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* below this many multiply-adds a GEMM runs on one thread */
#define GEMM_PAR_MIN (1L << 17)
/* below this many elements an elementwise op runs on one thread */
#define ELEM_PAR_MIN (1L << 14)
/* B packed once for all threads up to this many words (2 MB: a layer of
 * 2,000 x 500) */
#define SHARED_B_WORDS ((size_t)1 << 19)
/* per thread, floats of a block of a second half's sums (wgrad_rows and
 * col_sums without the context's kbuf): 128 KB */
#define KS_TMP_FLOATS (1L << 15)

typedef struct cpu_scratch {
    mlpc_gemm_fn gemm;
    const char *gemm_name;
    mlpc_gemm_bf16_fn bf16;   /* not NULL: alpha 1, beta 0 products in bf16 (mlpc_ctx_set_bf16) */
    mlpc_gemm_bf16a_fn bf16a; /* the same with A in bf16 */
    /* mlpc_ctx_bf16_input: float rows at in_a (in_n floats, in_ld a row)
     * whose bf16 copy is in_b (in_ldb a row) */
    const float *in_a;
    const uint16_t *in_b;
    long in_n;
    int in_ld, in_ldb;
    /* bf16 products split by rows on several threads pack B once, each
     * thread its share of the slivers, into bw (bw_words words) */
    mlpc_bf16_pack_fn bf16pack;
    mlpc_gemm_bf16pb_fn bf16pb;
    uint32_t *bw;
    size_t bw_words;
    /* mlpc_ctx_bf16_packed: weights at pw_w[i] (pw_k[i] x pw_n[i]) packed
     * at pw_pk[i] */
    int n_pw;
    const float *pw_w[MLPC_MAX_LAYERS];
    int pw_k[MLPC_MAX_LAYERS], pw_n[MLPC_MAX_LAYERS];
    const uint32_t *pw_pk[MLPC_MAX_LAYERS];
    /* mlpc_ctx_gather_input: rows ga_rows x ga_ld floats at ga_a, not
     * gathered yet: row r is byte row ga_idx[r]; then each thread asks for
     * its share of the next batch's ga_next_m rows ga_next */
    float *ga_a;
    long ga_rows;
    int ga_ld, ga_next_m;
    const uint8_t *ga_bytes;
    const uint32_t *ga_idx, *ga_next;
    const float *ga_shift, *ga_scale;
    /* the first layer over the batch's used columns (zc_list): per thread
     * zc_floats floats at zc_mem + t zc_floats, for up to zc_k columns */
    float *zc_mem;
    size_t zc_floats;
    int zc_k;
    /* the batch the lists are of (zc_x: its float rows, zc_batch its
     * number; each thread's area says which batch its list is of), and per
     * thread zg_floats floats at zg_mem for a weight gradient's used rows */
    const float *zc_x;
    long zc_batch;
    float *zg_mem;
    size_t zg_floats;
    /* the second halves of the batch's sums (weight_grads, weight_grad) */
    float *kbuf;
    size_t kbuf_floats;
    struct cpu_scratch **sub; /* per thread: a one-thread view on pack[t] */
    float *pack[];            /* one packing buffer per thread */
} cpu_scratch;

mlpc_status mlpc_ctx_init(mlpc_ctx *cx, int threads, mlpc_error *err)
{
    cx->be = &mlpc_backend_cpu;
    cx->threads = threads;
    cx->pool = mlpc_pool_create(threads, err);
    if (!cx->pool) return err ? err->code : MLPC_ERR_ARG;
    cpu_scratch *s = calloc(1, sizeof *s + (size_t)threads * sizeof(float *));
    if (!s) goto nomem;
    cx->scratch = s;
    s->gemm = mlpc_gemm_select(&s->gemm_name);
    s->sub = calloc((size_t)threads, sizeof *s->sub);
    if (!s->sub) goto nomem;
    for (int t = 0; t < threads; t++) {
        /* the GEMM's packing, then the second half's block (KS_TMP_FLOATS) */
        s->pack[t] = aligned_alloc(64, (mlpc_gemm_scratch_floats() + KS_TMP_FLOATS) * sizeof(float));
        s->sub[t] = calloc(1, sizeof(cpu_scratch) + sizeof(float *));
        if (!s->pack[t] || !s->sub[t]) goto nomem;
        s->sub[t]->gemm = s->gemm;
        s->sub[t]->gemm_name = s->gemm_name;
        s->sub[t]->pack[0] = s->pack[t];
    }
    return MLPC_OK;
nomem:
    mlpc_ctx_free(cx);
    return mlpc_seterr(err, MLPC_ERR_NOMEM, "out of memory for %d threads' GEMM buffers", threads);
}

void mlpc_ctx_free(mlpc_ctx *cx)
{
    cpu_scratch *s = cx->scratch;
    if (s) {
        for (int t = 0; t < cx->threads; t++) {
            free(s->pack[t]);
            if (s->sub) free(s->sub[t]);
        }
        free(s->sub);
        free(s->bw);
        free(s->kbuf);
        free(s->zc_mem);
        free(s->zg_mem);
    }
    free(s);
    mlpc_pool_free(cx->pool);
    cx->scratch = NULL;
    cx->pool = NULL;
}

mlpc_ctx mlpc_ctx_thread(const mlpc_ctx *cx, int tid)
{
    const cpu_scratch *s = cx->scratch;
    mlpc_ctx one = {cx->be, NULL, 1, s->sub[tid]};
    return one;
}

static void gather_now(cpu_scratch *s);

int mlpc_ctx_set_bf16(mlpc_ctx *cx, int on)
{
    cpu_scratch *s = cx->scratch;
    if (!s) return 0;
    gather_now(s);
    mlpc_gemm_bf16_fn f = on ? mlpc_gemm_bf16_select() : NULL;
    if (f && mlpc_gemm_bf16_scratch_floats() > mlpc_gemm_scratch_floats()) f = NULL;
    s->bf16 = f;
    s->bf16a = f ? mlpc_gemm_bf16a_select() : NULL;
    s->in_a = NULL;
    s->n_pw = 0;
    s->bf16pack = f ? mlpc_gemm_bf16_pack_select() : NULL;
    s->bf16pb = f ? mlpc_gemm_bf16pb_select() : NULL;
    if (s->bf16pack && s->bf16pb && cx->threads > 1 && !s->bw) {
        s->bw = aligned_alloc(64, SHARED_B_WORDS * sizeof(uint32_t));
        s->bw_words = s->bw ? SHARED_B_WORDS : 0; /* without it, each thread packs B */
    }
    for (int t = 0; s->sub && t < cx->threads; t++)
        if (s->sub[t]) s->sub[t]->bf16 = f;
    return f != NULL;
}

int mlpc_ctx_bf16_input(mlpc_ctx *cx, const float *a, int rows, int ld, const uint16_t *ab, int ldb)
{
    cpu_scratch *s = cx->be == &mlpc_backend_cpu ? cx->scratch : NULL;
    if (!s) return 0;
    s->in_a = NULL;
    if (s->bf16) { /* a new batch (or none): the used columns not listed yet */
        s->zc_x = NULL;
        s->zc_batch++;
    }
    if (!a || !ab || !s->bf16a || rows < 1 || ld < 1 || ldb < ld || ldb % 2) return 0;
    s->in_a = a;
    if (s->bf16) s->zc_x = a; /* until the end of this batch (a NULL a) */
    s->in_b = ab;
    s->in_n = (long)rows * ld;
    s->in_ld = ld;
    s->in_ldb = ldb;
    return 1;
}

static size_t round_up16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---- input rows gathered by the first layer's product ------------------ */

/* rows of a block gathered and multiplied at once: the forward's tile
 * blocking (MC) of every variant, so the block is in L2 when read */
#define GA_BLOCK 128

static int gather_pending(const cpu_scratch *s, const float *p)
{
    return s->ga_a && p && p >= s->ga_a && p < s->ga_a + s->ga_rows * s->ga_ld;
}

static void gather_block(const cpu_scratch *s, long r0, long r1)
{
    mlpc_byte_rows_gather(s->ga_bytes, (size_t)s->ga_ld, s->ga_idx + r0, (int)(r1 - r0), s->ga_shift, s->ga_scale,
                          s->ga_a + r0 * s->ga_ld);
}

/* thread tid of nt's share of the next batch's rows, asked into its cache */
static void gather_prefetch_next(const cpu_scratch *s, int tid, int nt)
{
    long n0, n1;
    mlpc_split(s->ga_next_m, 1, tid, nt, &n0, &n1);
    if (n1 > n0) mlpc_byte_rows_prefetch(s->ga_bytes, (size_t)s->ga_ld, s->ga_next + n0, (int)(n1 - n0));
}

/* every pending row gathered, on this thread: for any use but the first
 * layer's product */
static void gather_now(cpu_scratch *s)
{
    if (!s->ga_a) return;
    gather_block(s, 0, s->ga_rows);
    gather_prefetch_next(s, 0, 1);
    s->ga_a = NULL;
}

/* before an operation that reads p (and q) as they are */
static void settle(mlpc_ctx *cx, const float *p, const float *q)
{
    cpu_scratch *s = cx->scratch;
    if (gather_pending(s, p) || gather_pending(s, q)) gather_now(s);
}

/* whether a forward product of M rows reads the pending rows whole, as
 * gathered_rows computes it */
static int gathers(const cpu_scratch *s, int M, const float *A, int lda, int K)
{
    return s->ga_a && A == s->ga_a && M == s->ga_rows && lda == s->ga_ld && K == s->ga_ld;
}

/* ---- the first layer over the batch's used input columns --------------- */

/* MNIST digits are 81% zero pixels: in a random batch of 128 rows 33% of
 * the 784 columns are +0.0 in every row, in one of 1,500 rows 20%. Such a
 * column adds nothing to the first layer's product. With the batch in byte
 * rows (the gather above), a column is one when all its bytes are zero and
 * a zero byte gives +0.0. The forward's first product then runs over the
 * other columns only (mlpc_gemm_avx512_cols, gemm_impl.h: the avx512
 * GEMM's k blocks and tiles over the listed k, so its FMAs in its order and
 * its bits, but for the sign of a zero sum that a tiny negative product
 * underflowed to -0, as in sparse.c). The columns are those of the whole
 * batch, so results do not depend on the thread count. W5 (batch 128) on 1
 * thread: the product 28% faster; with the weight gradient's skipping
 * below, the epoch 14% (`bench_mlpc --ab zero-cols`). */
#define ZC_MIN_UNUSED 8 /* only where 1/8 of the columns or more are unused */

/* per thread K ints and K floats' room for the ORs, grown the first time
 * it is too small, so later batches allocate nothing; 0 without memory */
static int zc_mem(cpu_scratch *s, int threads, int K)
{
    if (K <= s->zc_k) return 1;
    size_t per = 3 * round_up16((size_t)K) + 16;
    float *mem = aligned_alloc(64, per * (size_t)threads * sizeof(float));
    if (!mem) return 0;
    free(s->zc_mem);
    s->zc_mem = mem;
    s->zc_floats = per;
    s->zc_k = K;
    return 1;
}

/* before a region that gathers a K-column product's rows: whether its
 * threads may skip unused columns (the knob on, B not transposed, the
 * avx512 GEMM, the memory there) */
static int zc_ready(cpu_scratch *s, int threads, int tb, int K)
{
    return !tb && s->gemm == mlpc_gemm_avx512 && mlpc_knob(MLPC_KNOB_ZERO_COLS) && zc_mem(s, threads, K);
}

/* thread t's list of used pairs (bf16), of used columns, its OR of its
 * rows, and which batch (zc_batch) its list of columns is of and how long
 * it is */
static float *zc_part(const cpu_scratch *s, int t, int i)
{
    return s->zc_mem + (size_t)t * s->zc_floats + (size_t)i * round_up16((size_t)s->zc_k);
}
static int32_t *zc_idx(const cpu_scratch *s, int t) { return (int32_t *)(void *)zc_part(s, t, 0); }
static int32_t *zc_cols(const cpu_scratch *s, int t) { return (int32_t *)(void *)zc_part(s, t, 1); }
static uint8_t *zc_any(const cpu_scratch *s, int t) { return (uint8_t *)(void *)zc_part(s, t, 2); }
static long *zc_head(const cpu_scratch *s, int t) { return (long *)(void *)zc_part(s, t, 3); }

/* On every thread of the region (one without rows too): the OR of its
 * rows' bytes, the wait for the others', then the used columns of the
 * whole batch listed in its own area. Returns how many, or 0 where fewer
 * than 1/ZC_MIN_UNUSED are unused (then the product is the dense one). */
static int zc_list(const cpu_scratch *s, long lo, long hi, int tid, int nt, atomic_int *arrived)
{
    int K = s->ga_ld, n = 0;
    uint8_t *any = zc_any(s, tid);
    int32_t *idx = zc_cols(s, tid);
    memset(any, 0, (size_t)K);
    if (hi > lo) mlpc_k_bytes_or(s->ga_bytes, (size_t)K, s->ga_idx + lo, (int)(hi - lo), any);
    if (nt > 1) mlpc_pool_barrier(arrived, nt);
    for (int c = 0; c < K; c++) {
        unsigned used = 0;
        for (int t = 0; t < nt; t++) used |= zc_any(s, t)[c];
        float zero = ((float)0 - s->ga_shift[c]) * s->ga_scale[c]; /* a zero byte, as the gather computes it */
        uint32_t bits;
        memcpy(&bits, &zero, sizeof bits);
        if (used || bits) idx[n++] = c;
    }
    long *head = zc_head(s, tid); /* for the weight gradient (zc_wgrad) */
    head[0] = s->zc_batch;
    head[1] = n;
    return n > K - K / ZC_MIN_UNUSED ? 0 : n;
}

/* The weight gradient of the same layer, G = A^T D with A the batch: the
 * rows of unused columns are +0.0 (sums of +0.0 products, as the dense
 * product gives them), the others are computed alone
 * (mlpc_gemm_avx512_tcols: the dense product's rows bit for bit) into the
 * thread's zg buffer and copied into place. Before the region: the buffer
 * for an in x out gradient of the listed batch. */
static void zc_wgrad_reserve(cpu_scratch *s, int threads, const float *A, int in, int out)
{
    if (A != s->zc_x || (!s->bf16 && s->gemm != mlpc_gemm_avx512) || !mlpc_knob(MLPC_KNOB_ZERO_COLS)) return;
    size_t per = round_up16((size_t)in * out);
    if (per <= s->zg_floats) return;
    float *mem = aligned_alloc(64, per * (size_t)threads * sizeof(float));
    if (!mem) return;
    free(s->zg_mem);
    s->zg_mem = mem;
    s->zg_floats = per;
}

/* rows [lo, hi) of G over the batch rows [k0, k1) into C, skipping the
 * unused columns' rows; 0 (nothing done) where the list is not of this
 * batch, or too few of these rows are unused */
static int zc_wgrad(const cpu_scratch *s, int in, int out, long k0, long k1, const float *A, const float *D, long lo,
                    long hi, float *C, const uint32_t *Bw, int tid)
{
    if (!A || A != s->zc_x || !s->zg_mem || (size_t)in * out > s->zg_floats || in > s->zc_k ||
        (s->bf16 ? A != s->in_a || in != s->in_ld : s->gemm != mlpc_gemm_avx512) || !mlpc_knob(MLPC_KNOB_ZERO_COLS))
        return 0;
    const long *head = zc_head(s, tid);
    if (head[0] != s->zc_batch) return 0;
    const int32_t *idx = zc_cols(s, tid);
    int n = (int)head[1], p0 = 0, p1;
    while (p0 < n && idx[p0] < lo) p0++;
    for (p1 = p0; p1 < n && idx[p1] < hi; p1++) {}
    long rows = hi - lo;
    if (p1 - p0 > rows - rows / ZC_MIN_UNUSED) return 0;
    float *Gu = s->zg_mem + (size_t)tid * s->zg_floats;
    if (s->bf16) /* Bw: D packed beforehand, for the whole batch */
        mlpc_gemm_bf16_tcols(p1 - p0, out, (int)(k1 - k0), s->in_b + k0 * s->in_ldb, s->in_ldb, idx + p0,
                             D + k0 * out, out, Bw, Gu, out, s->pack[tid]);
    else
        mlpc_gemm_avx512_tcols(p1 - p0, out, (int)(k1 - k0), A + k0 * in, in, idx + p0, D + k0 * out, out, Gu,
                               out, s->pack[tid]);
    for (long r = lo, q = p0; r < hi; r++) {
        float *c = C + (r - lo) * out;
        if (q < p1 && idx[q] == r)
            memcpy(c, Gu + (size_t)(q++ - p0) * out, (size_t)out * sizeof *c);
        else
            memset(c, 0, (size_t)out * sizeof *c);
    }
    return 1;
}

/* The same in bf16 (mlpc_gemm_bf16_pairs): the first product of a batch
 * given in bf16 rows (mlpc_ctx_bf16_input) against its registered packed
 * weights skips the pairs of k that are +0.0 in every row (29% of them in
 * W5's batches of 128 MNIST rows), where A's pairs are read in place. */

/* the bf16 rows of a first product A (M x K, lda) in place, or NULL */
static const uint16_t *zb_rows(const cpu_scratch *s, const float *A, int lda, int M, int K)
{
    if (!s->bf16 || !s->in_a || A != s->in_a || lda != s->in_ld || (long)M * lda > s->in_n || K % 2 ||
        s->in_ldb % 2 || ((uintptr_t)s->in_b & 3) || !mlpc_knob(MLPC_KNOB_ZERO_COLS))
        return NULL;
    return s->in_b;
}

/* as zc_list, over the pairs of the bf16 rows Ab (ldb apart) */
static int zb_list(const cpu_scratch *s, const uint16_t *Ab, int ldb, int K, long lo, long hi, int tid, int nt,
                   atomic_int *arrived)
{
    int np = K / 2, n = 0;
    uint32_t *any = (uint32_t *)(void *)zc_any(s, tid);
    int32_t *idx = zc_idx(s, tid);
    memset(any, 0, (size_t)np * sizeof *any);
    if (hi > lo) mlpc_k_words_or((const uint32_t *)(const void *)(Ab + lo * ldb), (int)(hi - lo), ldb / 2, np, any);
    if (nt > 1) mlpc_pool_barrier(arrived, nt);
    int32_t *cols = zc_cols(s, tid);
    int nc = 0;
    for (int p = 0; p < np; p++) {
        uint32_t used = 0;
        for (int t = 0; t < nt; t++) used |= ((const uint32_t *)(const void *)zc_any(s, t))[p];
        if (used) idx[n++] = p; /* -0.0 counts as used: only +0.0 is skipped */
        if (used & 0xffffu) cols[nc++] = 2 * p; /* and the columns, for the weight gradient */
        if (used >> 16) cols[nc++] = 2 * p + 1;
    }
    long *head = zc_head(s, tid);
    head[0] = s->zc_batch;
    head[1] = nc;
    return n > np - np / ZC_MIN_UNUSED ? 0 : n;
}

/* rows [lo, hi) of act(A B + b) over the n listed pairs (zb_list) */
static void zb_rows_product(const cpu_scratch *s, const uint16_t *Ab, const uint32_t *Bw, int K, int N,
                            const float *b, float *C, mlpc_act act, long lo, long hi, int n, int tid)
{
    mlpc_gemm_bf16_pairs((int)(hi - lo), N, K, Ab + lo * s->in_ldb, s->in_ldb, Bw, zc_idx(s, tid), n, C + lo * N, N);
    mlpc_k_bias_act(C + lo * N, b, (int)(hi - lo), N, act);
}

/* rows [lo, hi) of act(A B + b) with A the pending rows: each block
 * gathered, multiplied and activated while in cache (the same bits as
 * gathering first: a product's rows do not depend on how M is split).
 * zc: the used columns (zc_list), or 0 for all */
static void gathered_rows(const cpu_scratch *s, int tb, long lo, long hi, int N, const float *B, int ldb,
                          const float *b, float *C, mlpc_act act, float *pack, int tid, int nt, int zc)
{
    for (long r0 = lo; r0 < hi; r0 += GA_BLOCK) {
        long r1 = hi - r0 < GA_BLOCK ? hi : r0 + GA_BLOCK;
        gather_block(s, r0, r1);
        if (zc)
            mlpc_gemm_avx512_cols((int)(r1 - r0), N, s->ga_ld, s->ga_a + r0 * s->ga_ld, s->ga_ld, B, ldb,
                                  zc_cols(s, tid), zc, C + r0 * N, N);
        else
            s->gemm(0, tb, (int)(r1 - r0), N, s->ga_ld, 1.0f, s->ga_a + r0 * s->ga_ld, s->ga_ld, B, ldb, 0.0f,
                    C + r0 * N, N, pack);
        mlpc_k_bias_act(C + r0 * N, b, (int)(r1 - r0), N, act);
    }
    gather_prefetch_next(s, tid, nt);
}

int mlpc_ctx_gather_input(mlpc_ctx *cx, float *a, int rows, int ld, const uint8_t *bytes, const uint32_t *idx,
                          const float *shift, const float *scale, const uint32_t *next, int next_m)
{
    cpu_scratch *s = cx->be == &mlpc_backend_cpu ? cx->scratch : NULL;
    if (!s) return 0;
    gather_now(s);
    s->zc_x = NULL; /* the lists of used columns were of the batch before, at most */
    s->zc_batch++;
    if (!a || !bytes || !idx || !shift || !scale || rows < 1 || ld < 1 || s->bf16) return 0;
    s->ga_a = a;
    s->zc_x = a; /* until the end of this batch (a NULL a) */
    s->ga_rows = rows;
    s->ga_ld = ld;
    s->ga_bytes = bytes;
    s->ga_idx = idx;
    s->ga_shift = shift;
    s->ga_scale = scale;
    s->ga_next = next;
    s->ga_next_m = next ? next_m : 0;
    return 1;
}

int mlpc_ctx_bf16_packed(mlpc_ctx *cx, const float *w, int K, int N, const uint32_t *pk)
{
    cpu_scratch *s = cx->be == &mlpc_backend_cpu ? cx->scratch : NULL;
    if (!s) return 0;
    if (!w) {
        s->n_pw = 0;
        return 0;
    }
    if (!s->bf16pb || !pk || s->n_pw == MLPC_MAX_LAYERS) return 0;
    s->pw_w[s->n_pw] = w;
    s->pw_k[s->n_pw] = K;
    s->pw_n[s->n_pw] = N;
    s->pw_pk[s->n_pw++] = pk;
    return 1;
}

/* B's packing when it is registered weights (mlpc_ctx_bf16_packed) */
static const uint32_t *packed_weights(const cpu_scratch *s, int tb, int K, int N, const float *B, int ldb)
{
    for (int i = 0; !tb && ldb == N && i < s->n_pw; i++)
        if (s->pw_w[i] == B && s->pw_k[i] == K && s->pw_n[i] == N) return s->pw_pk[i];
    return NULL;
}

/* the bf16 product; A inside the rows given in bf16 (mlpc_ctx_bf16_input),
 * from there: the same bits, no conversion of A. Bw: B packed beforehand
 * (shared_b), else B is packed here */
static void bf16_product(const cpu_scratch *s, int ta, int tb, int M, int N, int K, const float *A, int lda,
                         const float *B, int ldb, const uint32_t *Bw, float *C, int ldc, float *pack)
{
    const uint16_t *Ab = NULL;
    if (!Bw) Bw = packed_weights(s, tb, K, N, B, ldb);
    if (s->in_a && A >= s->in_a && A < s->in_a + s->in_n && lda == s->in_ld) {
        long off = A - s->in_a;
        Ab = s->in_b + off / s->in_ld * s->in_ldb + off % s->in_ld;
    }
    if (Bw)
        s->bf16pb(ta, M, N, K, Ab ? NULL : A, Ab, Ab ? s->in_ldb : lda, Bw, C, ldc, pack);
    else if (Ab)
        s->bf16a(ta, tb, M, N, K, Ab, s->in_ldb, B, ldb, C, ldc, pack);
    else
        s->bf16(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, pack);
}

/* ---- bf16 products split by rows: B packed once, shared ---------------- */

/* Every thread of such a product would pack all of B (W5's first layer on
 * 2 threads: each packs its 200,000 weights for 64 rows). Instead each
 * packs its share of B's slivers into the context's buffer, all wait for
 * each other, and each runs its rows against the whole. */
typedef struct shared_b {
    const uint32_t *w; /* NULL: each thread packs B itself */
    int packed;        /* B is registered weights, packed already */
    atomic_int arrived;
} shared_b;

/* before the region: whether B (K x N) is packed once, into buf (up to
 * words words); returns the words it takes there */
static size_t shared_b_init_at(shared_b *sb, const cpu_scratch *s, int threads, int tb, int K, int N,
                               const float *B, int ldb, uint32_t *buf, size_t words)
{
    sb->w = packed_weights(s, tb, K, N, B, ldb);
    sb->packed = sb->w != NULL;
    atomic_init(&sb->arrived, 0);
    size_t need = s->bf16 ? mlpc_gemm_bf16_packed_words(K, N) : 0;
    if (sb->w || !s->bf16 || !buf || threads < 2 || need > words) return 0;
    sb->w = buf;
    return (need + 15) & ~(size_t)15;
}

static void shared_b_init(shared_b *sb, const cpu_scratch *s, int threads, int tb, int K, int N, const float *B,
                          int ldb)
{
    shared_b_init_at(sb, s, threads, tb, K, N, B, ldb, s->bw, s->bw_words);
}

/* in the region, on every thread (one without rows too): its share of the
 * slivers, then the wait for the others' */
static void shared_b_pack(shared_b *sb, const cpu_scratch *s, int tb, int K, int N, const float *B, int ldb,
                          int tid, int n)
{
    if (!sb->w || sb->packed) return;
    long s0, s1;
    mlpc_split(mlpc_gemm_bf16_slivers(N), 1, tid, n, &s0, &s1);
    s->bf16pack(tb, K, N, B, ldb, (uint32_t *)sb->w, (int)s0, (int)s1);
    mlpc_pool_barrier(&sb->arrived, n);
}

/* the public question (mlpc.h), answered where the kernels may be asked */
int mlpc_cpu_has_bf16(void) { return mlpc_gemm_bf16_select() != NULL; }

int mlpc_ctx_bf16(const mlpc_ctx *cx) { return cx->scratch && ((const cpu_scratch *)cx->scratch)->bf16; }

const char *mlpc_ctx_gemm_name(const mlpc_ctx *cx)
{
    return cx->scratch ? ((const cpu_scratch *)cx->scratch)->gemm_name : "none";
}

/* ---- GEMM: split C by rows (M >= N) or by columns ---------------------- */

/* Rows when C is at least as tall as wide, or when every thread gets 64
 * rows or more: a column split in steps of 48 is uneven for widths such as
 * 256 (144 + 112 columns on 2 threads) */
static int split_by_rows(int M, int N, int threads) { return M >= N || M >= 64 * threads; }

typedef struct gemm_job {
    cpu_scratch *s;
    int ta, tb, M, N, K, lda, ldb, ldc, by_rows;
    float alpha, beta;
    const float *A, *B;
    float *C;
    mlpc_gemm_bf16_fn bf16; /* the product in bf16, or NULL */
    shared_b sb;            /* split by rows in bf16: B packed once */
} gemm_job;

static void gemm_part(void *arg, int tid, int n)
{
    gemm_job *j = arg;
    long lo, hi;
    if (j->by_rows) {
        mlpc_split(j->M, 8, tid, n, &lo, &hi);
        shared_b_pack(&j->sb, j->s, j->tb, j->K, j->N, j->B, j->ldb, tid, n);
        if (lo >= hi) return;
        const float *A = j->ta ? j->A + lo : j->A + lo * (long)j->lda;
        if (j->bf16)
            bf16_product(j->s, j->ta, j->tb, (int)(hi - lo), j->N, j->K, A, j->lda, j->B, j->ldb, j->sb.w,
                         j->C + lo * (long)j->ldc, j->ldc, j->s->pack[tid]);
        else
            j->s->gemm(j->ta, j->tb, (int)(hi - lo), j->N, j->K, j->alpha, A, j->lda, j->B, j->ldb,
                   j->beta, j->C + lo * (long)j->ldc, j->ldc, j->s->pack[tid]);
    } else {
        mlpc_split(j->N, 48, tid, n, &lo, &hi); /* a multiple of every variant's NR */
        if (lo >= hi) return;
        const float *B = j->tb ? j->B + lo * (long)j->ldb : j->B + lo;
        if (j->bf16)
            bf16_product(j->s, j->ta, j->tb, j->M, (int)(hi - lo), j->K, j->A, j->lda, B, j->ldb, NULL,
                         j->C + lo, j->ldc, j->s->pack[tid]);
        else
            j->s->gemm(j->ta, j->tb, j->M, (int)(hi - lo), j->K, j->alpha, j->A, j->lda, B, j->ldb,
                   j->beta, j->C + lo, j->ldc, j->s->pack[tid]);
    }
}

static void cpu_gemm(mlpc_ctx *cx, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    cpu_scratch *s = cx->scratch;
    settle(cx, A, B);
    /* bf16 products for the plain products (forward, deltas, weight gradients) */
    mlpc_gemm_bf16_fn bf = s->bf16 && alpha == 1.0f && beta == 0.0f ? s->bf16 : NULL;
    if (bf && (cx->threads == 1 || (long)M * N * K < GEMM_PAR_MIN)) {
        bf16_product(s, ta, tb, M, N, K, A, lda, B, ldb, NULL, C, ldc, s->pack[0]);
        return;
    }
    if (cx->threads == 1 || (long)M * N * K < GEMM_PAR_MIN) {
        s->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, s->pack[0]);
        return;
    }
    gemm_job j = {s, ta, tb, M, N, K, lda, ldb, ldc, split_by_rows(M, N, cx->threads),
                  alpha, beta, A, B, C, bf, {NULL, 0, 0}};
    if (j.by_rows ? M <= 8 : N <= 48) { /* one part only: no need to wake the pool */
        gemm_part(&j, 0, 1);
        return;
    }
    if (bf && j.by_rows) shared_b_init(&j.sb, s, cx->threads, tb, K, N, B, ldb);
    mlpc_pool_run(cx->pool, gemm_part, &j);
}

/* ---- elementwise ops: split by rows ------------------------------------ */

typedef struct rows_job {
    float *D;
    const float *A; /* bias (bias_act) or activations (backward) */
    int M, N;
    mlpc_act act;
    int backward;
} rows_job;

static void rows_part(void *arg, int tid, int n)
{
    rows_job *j = arg;
    long lo, hi;
    mlpc_split(j->M, 1, tid, n, &lo, &hi);
    if (lo >= hi) return;
    float *D = j->D + lo * j->N;
    if (j->backward)
        mlpc_k_act_backward(D, j->A + lo * j->N, (int)(hi - lo), j->N, j->act);
    else
        mlpc_k_bias_act(D, j->A, (int)(hi - lo), j->N, j->act);
}

static void run_rows(mlpc_ctx *cx, rows_job *j)
{
    if (cx->threads == 1 || (long)j->M * j->N < ELEM_PAR_MIN)
        rows_part(j, 0, 1);
    else
        mlpc_pool_run(cx->pool, rows_part, j);
}

static void cpu_bias_act(mlpc_ctx *cx, float *Z, const float *b, int M, int N, mlpc_act act)
{
    settle(cx, Z, NULL);
    rows_job j = {Z, b, M, N, act, 0};
    run_rows(cx, &j);
}

static void cpu_act_backward(mlpc_ctx *cx, float *D, const float *A, int M, int N, mlpc_act act)
{
    settle(cx, D, A);
    rows_job j = {D, A, M, N, act, 1};
    run_rows(cx, &j);
}

/* ---- a product and the activation in one region: split by rows of C ---- */

typedef struct gemm_act_job {
    gemm_job g;
    const float *aux; /* the bias (forward) or the layer output Y (backward) */
    mlpc_act act;
    int backward;
    int gather; /* A: the pending input rows (gathered_rows) */
    int zc;     /* then: unused columns may be skipped (zc_list) */
    atomic_int zc_arrived;
} gemm_act_job;

/* rows [lo, hi) of C: the product as gemm_part splits it by rows, then the
 * activation (or its derivative) on those rows while they are in cache */
static void gemm_act_part(void *arg, int tid, int n)
{
    gemm_act_job *j = arg;
    long lo, hi;
    mlpc_split(j->g.M, 8, tid, n, &lo, &hi);
    shared_b_pack(&j->g.sb, j->g.s, j->g.tb, j->g.K, j->g.N, j->g.B, j->g.ldb, tid, n);
    int zc = j->zc ? zc_list(j->g.s, lo, hi, tid, n, &j->zc_arrived) : 0;
    if (lo >= hi) return;
    if (j->gather) {
        gathered_rows(j->g.s, j->g.tb, lo, hi, j->g.N, j->g.B, j->g.ldb, j->aux, j->g.C, j->act, j->g.s->pack[tid],
                      tid, n, zc);
        return;
    }
    const float *A = j->g.A + lo * (long)j->g.lda;
    float *C = j->g.C + lo * (long)j->g.N;
    if (j->g.bf16) /* alpha 1, beta 0: the bf16 product when the context has it */
        bf16_product(j->g.s, 0, j->g.tb, (int)(hi - lo), j->g.N, j->g.K, A, j->g.lda, j->g.B, j->g.ldb, j->g.sb.w,
                     C, j->g.N, j->g.s->pack[tid]);
    else
        j->g.s->gemm(0, j->g.tb, (int)(hi - lo), j->g.N, j->g.K, 1.0f, A, j->g.lda, j->g.B, j->g.ldb, 0.0f, C,
                     j->g.N, j->g.s->pack[tid]);
    if (j->backward)
        mlpc_k_act_backward(C, j->aux + lo * (long)j->g.N, (int)(hi - lo), j->g.N, j->act);
    else
        mlpc_k_bias_act(C, j->aux, (int)(hi - lo), j->g.N, j->act);
}

/* one region when the product alone would be split by rows over the
 * threads; else the product and the activation as separate calls */
static void gemm_act(mlpc_ctx *cx, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     const float *aux, float *C, mlpc_act act, int backward)
{
    cpu_scratch *s = cx->scratch;
    int region = cx->threads > 1 && (long)M * N * K >= GEMM_PAR_MIN && split_by_rows(M, N, cx->threads) && M > 8;
    int gather = !backward && gathers(s, M, A, lda, K);
    if (gather && !region && cx->threads > 1 && (long)M * N * K >= GEMM_PAR_MIN)
        gather = 0; /* cpu_gemm would split the product by columns: the rows are gathered first */
    if (!gather) settle(cx, A, B);
    if (region) {
        gemm_act_job j = {{s, 0, tb, M, N, K, lda, ldb, N, 1, 1.0f, 0.0f, A, B, C, s->bf16, {NULL, 0, 0}},
                          aux, act, backward, gather, gather && zc_ready(s, cx->threads, tb, K), 0};
        atomic_init(&j.zc_arrived, 0);
        if (s->bf16) shared_b_init(&j.g.sb, s, cx->threads, tb, K, N, B, ldb);
        mlpc_pool_run(cx->pool, gemm_act_part, &j);
        if (gather) s->ga_a = NULL;
        return;
    }
    if (gather) {
        int zc = zc_ready(s, 1, tb, K) ? zc_list(s, 0, M, 0, 1, NULL) : 0;
        gathered_rows(s, tb, 0, M, N, B, ldb, aux, C, act, s->pack[0], 0, 1, zc);
        s->ga_a = NULL;
        return;
    }
    const uint32_t *Bw = !backward && cx->threads == 1 ? packed_weights(s, tb, K, N, B, ldb) : NULL;
    const uint16_t *Ab = Bw && zc_mem(s, 1, K) ? zb_rows(s, A, lda, M, K) : NULL;
    int zb = Ab ? zb_list(s, Ab, s->in_ldb, K, 0, M, 0, 1, NULL) : 0;
    if (zb) { /* bf16: the first product's zero pairs skipped, on one thread as on several */
        zb_rows_product(s, Ab, Bw, K, N, aux, C, act, 0, M, zb, 0);
        return;
    }
    cpu_gemm(cx, 0, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    rows_job r = {C, aux, M, N, act, backward};
    run_rows(cx, &r);
}

static void cpu_gemm_bias_act(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                              const float *b, float *C, mlpc_act act)
{
    gemm_act(cx, 0, M, N, K, A, lda, B, ldb, b, C, act, 0);
}

static void cpu_gemm_act_backward(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B,
                                  int ldb, const float *Y, float *C, mlpc_act act)
{
    gemm_act(cx, 1, M, N, K, A, lda, B, ldb, Y, C, act, 1);
}

/* ---- row-wise products one after another in one region ----------------- */

/* from this many rows per thread on, with at least GEMM_PAR_MIN
 * multiply-adds in all (smaller chains go op by op, which may split by
 * columns or not at all) */
#define CHAIN_MIN_ROWS 64

typedef struct chain_job {
    cpu_scratch *s;
    int M, n;
    const mlpc_row_op *ops;
    int gather; /* the first op's A: the pending input rows (gathered_rows) */
    int zc;     /* then: unused columns may be skipped (zc_list) */
    atomic_int zc_arrived;
    const uint16_t *zb;  /* else the first op's A in bf16 rows whose zero pairs may be skipped (zb_list) */
    const uint32_t *zbw; /* then: its B packed */
} chain_job;

/* this thread's rows through every op; B packed by each thread for itself
 * (or registered weights): no waiting for the other threads between ops */
static void chain_part(void *arg, int tid, int nt)
{
    chain_job *j = arg;
    long lo, hi;
    mlpc_split(j->M, 8, tid, nt, &lo, &hi);
    int zc = j->zc ? zc_list(j->s, lo, hi, tid, nt, &j->zc_arrived) : 0;
    int zb = j->zb ? zb_list(j->s, j->zb, j->s->in_ldb, j->ops[0].K, lo, hi, tid, nt, &j->zc_arrived) : 0;
    if (lo >= hi) return;
    int rows = (int)(hi - lo);
    for (int i = 0; i < j->n; i++) {
        const mlpc_row_op *o = &j->ops[i];
        if (i == 0 && j->gather) {
            gathered_rows(j->s, 0, lo, hi, o->N, o->B, o->ldb, o->aux, o->C, o->act, j->s->pack[tid], tid, nt, zc);
            continue;
        }
        if (i == 0 && zb) {
            zb_rows_product(j->s, j->zb, j->zbw, o->K, o->N, o->aux, o->C, o->act, lo, hi, zb, tid);
            continue;
        }
        const float *A = o->A + lo * (long)o->lda;
        float *C = o->C + lo * (long)o->N;
        if (j->s->bf16)
            bf16_product(j->s, 0, o->backward, rows, o->N, o->K, A, o->lda, o->B, o->ldb, NULL, C, o->N,
                         j->s->pack[tid]);
        else
            j->s->gemm(0, o->backward, rows, o->N, o->K, 1.0f, A, o->lda, o->B, o->ldb, 0.0f, C, o->N,
                       j->s->pack[tid]);
        if (o->backward)
            mlpc_k_act_backward(C, o->aux + lo * (long)o->N, rows, o->N, o->act);
        else
            mlpc_k_bias_act(C, o->aux, rows, o->N, o->act);
    }
}

static void cpu_row_chain(mlpc_ctx *cx, int M, const mlpc_row_op *ops, int n)
{
    long macs = 0;
    for (int i = 0; i < n; i++) macs += (long)M * ops[i].N * ops[i].K;
    if (cx->threads > 1 && M >= CHAIN_MIN_ROWS * cx->threads && macs >= GEMM_PAR_MIN) {
        cpu_scratch *s = cx->scratch;
        chain_job j = {s, M, n, ops, n > 0 && !ops[0].backward && gathers(s, M, ops[0].A, ops[0].lda, ops[0].K), 0, 0,
                       NULL, NULL};
        j.zc = j.gather && zc_ready(s, cx->threads, 0, ops[0].K);
        if (n > 0 && !ops[0].backward) { /* bf16: the first product's zero pairs */
            j.zbw = packed_weights(s, 0, ops[0].K, ops[0].N, ops[0].B, ops[0].ldb);
            j.zb = j.zbw && zc_mem(s, cx->threads, ops[0].K) ? zb_rows(s, ops[0].A, ops[0].lda, M, ops[0].K) : NULL;
        }
        atomic_init(&j.zc_arrived, 0);
        for (int i = j.gather; i < n; i++) settle(cx, ops[i].A, ops[i].B);
        mlpc_pool_run(cx->pool, chain_part, &j);
        if (j.gather) s->ga_a = NULL;
        return;
    }
    for (int i = 0; i < n; i++) {
        const mlpc_row_op *o = &ops[i];
        gemm_act(cx, o->backward, M, o->N, o->K, o->A, o->lda, o->B, o->ldb, o->aux, o->C, o->act, o->backward);
    }
}

/* ---- the weight gradient in two halves of the batch -------------------- */


/* A layer with many rows against few weights (W2's first layer: 1,500 rows
 * for 784 x 200 weights) sums G = A^T D as two products, one per half of
 * the batch, and adds them: G = A0^T D0 + A1^T D1. On 2 threads each half
 * is the rows its thread wrote in the forward and the deltas (split as
 * chain_part splits rows), so only G's halves cross between the cores:
 * 78,400 floats each way for that layer, where a split by rows of G read
 * 750 x (392 + 200) floats the other core wrote (on this project's
 * machine the two cores mostly share no cache: a line crosses in about
 * 200 ns). Whether a layer is summed so depends on its shape alone, so
 * every thread count, one thread included, gets the same bits. */
#define KS_MIN_ROWS 256

/* the first row of the batch's second half (where the first of 2 threads'
 * rows end), or 0: the batch is summed as one. Column sums (bias
 * gradients) go by this alone. */
static long batch_half(int m)
{
    if (m < KS_MIN_ROWS) return 0;
    long lo, hi;
    mlpc_split(m, 8, 0, 2, &lo, &hi);
    return hi;
}

/* the same for a weight gradient: in halves when a split by rows of G
 * would read more of the other core's rows than the halves' addition
 * moves (with a margin of 2), and 8 rows of G fit a thread's block */
static long ks_half(int in, int out, int m)
{
    if (out > KS_TMP_FLOATS / 8 || (long)m * (in / 2 + out) <= 2L * in * out) return 0;
    return batch_half(m);
}

/* thread tid's block for a second half's sums */
static float *ks_tmp(const cpu_scratch *s, int tid) { return s->pack[tid] + mlpc_gemm_scratch_floats(); }

static void add_floats(float *restrict G, const float *restrict P, size_t n)
{
    for (size_t i = 0; i < n; i++) G[i] += P[i];
}

/* out[j0, j1) = column sums of D (M x N), in halves where batch_half says
 * so (the second half's through tmp, KS_TMP_FLOATS at a time) */
static void col_sums(const float *D, int M, int N, int j0, int j1, float *out, float *tmp)
{
    long h = batch_half(M);
    if (!h) {
        mlpc_k_col_sum(D, M, N, j0, j1, out);
        return;
    }
    mlpc_k_col_sum(D, (int)h, N, j0, j1, out);
    for (int c0 = j0; c0 < j1; c0 += (int)KS_TMP_FLOATS) {
        int c1 = j1 - c0 < KS_TMP_FLOATS ? j1 : c0 + (int)KS_TMP_FLOATS;
        mlpc_k_col_sum(D + h * N + c0, (int)(M - h), N, 0, c1 - c0, tmp);
        add_floats(out + c0, tmp, (size_t)(c1 - c0));
    }
}

/* C = rows [lo, hi) of A^T D over the batch rows [k0, k1) (C: out wide),
 * on thread tid; B: D packed beforehand (whole batch), or NULL */
static void wgrad_block(cpu_scratch *s, int in, int out, long k0, long k1, const float *A, const float *D,
                        long lo, long hi, float *C, const uint32_t *B, int tid)
{
    if (zc_wgrad(s, in, out, k0, k1, A, D, lo, hi, C, B, tid)) return;
    const float *Ak = A + k0 * in + lo, *Dk = D + k0 * out;
    int M = (int)(hi - lo), K = (int)(k1 - k0);
    if (s->bf16) /* the same rows' product in bf16 (mlpc_ctx_set_bf16) */
        bf16_product(s, 1, 0, M, out, K, Ak, in, Dk, out, B, C, out, s->pack[tid]);
    else
        s->gemm(1, 0, M, out, K, 1.0f, Ak, in, Dk, out, 0.0f, C, out, s->pack[tid]);
}

/* at least n floats of the context's kbuf, grown the first time it is too
 * small (later batches of the same net allocate nothing), or NULL */
static float *kbuf_reserve(cpu_scratch *s, size_t n)
{
    if (n > s->kbuf_floats) {
        free(s->kbuf);
        s->kbuf = aligned_alloc(64, round_up16(n) * sizeof(float));
        s->kbuf_floats = s->kbuf ? n : 0;
    }
    return s->kbuf;
}

/* rows [lo, hi) of G = A^T D on thread tid: in halves where ks_half says
 * so, else one product (B: D packed beforehand, or NULL). The second half
 * goes to part's rows [lo, hi) (in x out floats) in one product, or
 * without part block by block through the thread's buffer (a bf16 product
 * then packs its half of D once per block) */
static void wgrad_rows(cpu_scratch *s, int in, int out, int m, const float *A, const float *D, float *G, long lo,
                       long hi, const uint32_t *B, float *part, int tid)
{
    long h = ks_half(in, out, m);
    if (!h) {
        wgrad_block(s, in, out, 0, m, A, D, lo, hi, G + lo * out, B, tid);
        return;
    }
    if (part) {
        wgrad_block(s, in, out, 0, h, A, D, lo, hi, G + lo * out, NULL, tid);
        wgrad_block(s, in, out, h, m, A, D, lo, hi, part + lo * out, NULL, tid);
        add_floats(G + lo * out, part + lo * out, (size_t)(hi - lo) * out);
        return;
    }
    float *tmp = ks_tmp(s, tid);
    long step = KS_TMP_FLOATS / out / 8 * 8;
    for (long r0 = lo; r0 < hi; r0 += step) {
        long r1 = hi - r0 < step ? hi : r0 + step;
        wgrad_block(s, in, out, 0, h, A, D, r0, r1, G + r0 * out, NULL, tid);
        wgrad_block(s, in, out, h, m, A, D, r0, r1, tmp, NULL, tid);
        add_floats(G + r0 * out, tmp, (size_t)(r1 - r0) * out);
    }
}

/* ---- column sums: split by columns -------------------------------------- */

typedef struct colsum_job {
    const cpu_scratch *s;
    const float *D;
    int M, N;
    float *out;
} colsum_job;

static void colsum_part(void *arg, int tid, int n)
{
    colsum_job *j = arg;
    long lo, hi;
    mlpc_split(j->N, 16, tid, n, &lo, &hi);
    if (lo < hi) col_sums(j->D, j->M, j->N, (int)lo, (int)hi, j->out, ks_tmp(j->s, tid));
}

static void cpu_col_sum(mlpc_ctx *cx, const float *D, int M, int N, float *out)
{
    settle(cx, D, NULL);
    colsum_job j = {cx->scratch, D, M, N, out};
    if (cx->threads == 1 || (long)M * N < ELEM_PAR_MIN || N < 32)
        colsum_part(&j, 0, 1);
    else
        mlpc_pool_run(cx->pool, colsum_part, &j);
}

/* ---- loss: rows are few and cheap; one thread keeps the sum's order ----- */

static double cpu_loss(mlpc_ctx *cx, mlpc_loss loss, mlpc_act out_act, const float *A,
                       const int32_t *labels, const float *targets, int M, int N, float *delta,
                       float scale, double *aux)
{
    settle(cx, A, NULL);
    return mlpc_k_loss(loss, out_act, A, labels, targets, M, N, delta, scale, aux);
}

/* ---- weight gradient with the update fused -------------------------------- */

/* with a batch up to WG_SMALL_BATCH, rows of G come in blocks of about
 * WG_BLOCK_FLOATS (16 KB, in L1 when handed over), split over threads */
#define WG_SMALL_BATCH 64
#define WG_BLOCK_FLOATS 4096

/* with more weights than this (floats, 1 MB) a small-batch layer's
 * gradient blocks are split over the threads: W does not stay in one
 * core's cache anyway, and the work is large */
#define WG_PAR_FLOATS (1L << 18)

typedef struct wgrad_job {
    cpu_scratch *s;
    int in, out, m, rows;
    const float *A, *D;
    float *G;
    const mlpc_sgd_fused *sgd;
    size_t off;
    mlpc_grad_ready_fn ready;
    void *user;
    shared_b sb; /* wgrad_big_part in bf16: D packed once */
    float *part; /* in halves: the second half's sums (wgrad_rows), or NULL */
} wgrad_job;

static void wgrad_part(void *arg, int tid, int n)
{
    wgrad_job *j = arg;
    long lo, hi;
    mlpc_split(j->in, 16, tid, n, &lo, &hi); /* whole micro-tiles of every GEMM variant */
    mlpc_ctx one = {&mlpc_backend_cpu, NULL, 1, n == 1 ? j->s : j->s->sub[tid]};
    float *pack = j->s->pack[n == 1 ? 0 : tid];
    for (long r0 = lo; r0 < hi; r0 += j->rows) {
        int mr = (int)(hi - r0 < j->rows ? hi - r0 : j->rows);
        float *G = j->G + r0 * j->out, *W = j->sgd ? j->sgd->W + r0 * j->out : NULL;
        size_t n_blk = (size_t)mr * j->out;
        /* the short-K kernel for layers up to 32 wide (measured on W1 and
         * W4), with the SGD step fused when asked; else the GEMM tiles,
         * then the step or the caller's optimizer */
        if (j->s->gemm == mlpc_gemm_avx512 && j->out <= 32 &&
            mlpc_k_wgrad_small(mr, j->out, j->m, j->A + r0, j->in, j->D, W && !j->sgd->keep_grads ? NULL : G, W,
                               W ? j->sgd->lr : 0.0f)) {
            if (W) continue;
        } else {
            j->s->gemm(1, 0, mr, j->out, j->m, 1.0f, j->A + r0, j->in, j->D, j->out, 0.0f, G, j->out, pack);
            if (W) {
                mlpc_opt_step step = {.opt = MLPC_OPT_SGD, .lr = j->sgd->lr};
                mlpc_opt_apply(&step, W, G, NULL, NULL, n_blk);
                continue;
            }
        }
        j->ready(j->user, &one, j->off + (size_t)r0 * j->out, n_blk, 1);
    }
}

/* G = A^T D for rows [lo, hi) of G (the split of gemm_part by rows), then
 * the SGD step or the caller's optimizer on those rows on this thread */
static void wgrad_big_part(void *arg, int tid, int n)
{
    wgrad_job *j = arg;
    long lo, hi;
    mlpc_split(j->in, 8, tid, n, &lo, &hi);
    shared_b_pack(&j->sb, j->s, 0, j->m, j->out, j->D, j->out, tid, n);
    if (lo >= hi) return;
    size_t n_blk = (size_t)(hi - lo) * j->out;
    wgrad_rows(j->s, j->in, j->out, j->m, j->A, j->D, j->G, lo, hi, j->sb.w, j->part, tid);
    if (j->sgd) {
        mlpc_opt_step step = {.opt = MLPC_OPT_SGD, .lr = j->sgd->lr};
        mlpc_opt_apply(&step, j->sgd->W + lo * j->out, j->G + lo * j->out, NULL, NULL, n_blk);
        return;
    }
    mlpc_ctx one = {&mlpc_backend_cpu, NULL, 1, j->s->sub[tid]};
    j->ready(j->user, &one, j->off + (size_t)lo * j->out, n_blk, 1);
}

static void cpu_weight_grad(mlpc_ctx *cx, int in, int out, int m, const float *A, const float *D,
                            float *G, const mlpc_sgd_fused *sgd, size_t off, mlpc_grad_ready_fn ready,
                            void *user)
{
    cpu_scratch *s = cx->scratch;
    settle(cx, A, D);
    int one_thread = cx->threads == 1 || (long)in * out < WG_PAR_FLOATS;
    /* sparse input rows (sparse.c): only their weights change */
    if (sgd && sgd->rows && m <= WG_SMALL_BATCH && one_thread && !s->bf16 && s->gemm == mlpc_gemm_avx512 &&
        mlpc_k_sgd_rows(in, out, m, A, in, D, sgd->rows, sgd->n_rows, sgd->W, sgd->lr, sgd->keep_grads ? G : NULL))
        return;
    long h = ks_half(in, out, m);
    if (m > WG_SMALL_BATCH) zc_wgrad_reserve(s, cx->threads, A, in, out);
    if (m > WG_SMALL_BATCH && cx->threads > 1 && (h || split_by_rows(in, out, cx->threads)) && in > 8 &&
        (long)in * out * m >= GEMM_PAR_MIN) {
        /* a big product split by rows of G, as cpu_gemm splits it: each
         * thread runs the optimizer on its rows right after its tile, with
         * them still in its cache, and no second parallel region */
        wgrad_job j = {s, in, out, m, 0, A, D, G, sgd, off, ready, user, {NULL, 0, 0},
                       h ? kbuf_reserve(s, (size_t)in * out) : NULL};
        if (s->bf16 && !h) shared_b_init(&j.sb, s, cx->threads, 0, m, out, D, out);
        mlpc_pool_run(cx->pool, wgrad_big_part, &j);
        return;
    }
    if (m > WG_SMALL_BATCH || s->bf16) { /* a big product (or bf16): threads split the GEMM, then the update */
        if (h)
            wgrad_rows(s, in, out, m, A, D, G, 0, in, NULL, kbuf_reserve(s, (size_t)in * out), 0);
        else if (cx->threads > 1 || !zc_wgrad(s, in, out, 0, m, A, D, 0, in, G, NULL, 0))
            cpu_gemm(cx, 1, 0, in, out, m, 1.0f, A, in, D, out, 0.0f, G, out);
        if (sgd) {
            mlpc_opt_step step = {.opt = MLPC_OPT_SGD, .lr = sgd->lr};
            cx->be->opt_update(cx, &step, sgd->W, G, NULL, NULL, (size_t)in * out);
        } else {
            ready(user, cx, off, (size_t)in * out, 1);
        }
        return;
    }
    int rows = WG_BLOCK_FLOATS / out;
    rows = rows < 16 ? 16 : rows - rows % 16; /* whole micro-tiles of every GEMM variant */
    wgrad_job j = {s, in, out, m, rows, A, D, G, sgd, off, ready, user, {NULL, 0, 0}, NULL};
    /* Blocks on the calling thread for small layers: the forward product
     * reads all of W there, so rows updated on another core would cross
     * between the cores' caches twice per step (W1 on 2 threads was 2.4x
     * slower so). Large layers split the blocks over the threads. */
    if (!one_thread)
        mlpc_pool_run(cx->pool, wgrad_part, &j);
    else
        wgrad_part(&j, 0, 1);
}

/* ---- the weight gradients of all layers in one region ------------------ */

/* a layer's gradient is split over the threads by rows of G when each
 * thread gets this many multiply-adds or more; smaller layers run whole,
 * each on one thread, beside each other, and so do the column sums and the
 * biases' updates. Split over 2 threads, W2's 50 x 30 and 30 x 10 layers
 * took longer than on one (2.1 and 1.1 ms an epoch against 1.6 and 0.7),
 * and so did every column sum (W5: 4.4 ms against 1.6). Layers summed in
 * halves (ks_half) are not split so: each half goes to its own threads. */
#define WGS_SPLIT_MIN (1L << 21)
/* below this many multiply-adds in all, the layers go one by one, split as
 * weight_grad and col_sum split them */
#define WGS_PAR_MIN (1L << 20)
#define OWN_SPLIT (-1)  /* split over the threads by rows of G */
#define OWN_HALVES (-2) /* summed in halves, each half by its own threads */

typedef struct wgrads_job {
    cpu_scratch *s;
    int m, n;
    const mlpc_grad_layer *L;
    mlpc_grad_ready_fn ready;
    void *user;
    short owner[MLPC_MAX_LAYERS];    /* OWN_SPLIT, OWN_HALVES or the thread */
    short cs_owner[MLPC_MAX_LAYERS]; /* the thread of its column sums (or their addition) and bias update */
    shared_b sb[MLPC_MAX_LAYERS];    /* bf16, split layers: D packed once */
    /* with halves: the second half's sums of the OWN_HALVES layers' G and of
     * every layer's column sums, in the context's kbuf; the wait between
     * the halves' sums and their addition */
    int halves;
    float *part[MLPC_MAX_LAYERS], *part_b[MLPC_MAX_LAYERS];
    atomic_int summed;
} wgrads_job;

/* The layers summed in halves and every column sum, halves first: the
 * first (n + 1) / 2 threads sum the first half of the batch (into G and gb),
 * the others the second (into part and part_b), each group splitting G by
 * rows and the sums by columns; once all are done, each thread adds its
 * rows of G and hands them to ready, and each layer's cs_owner its bias.
 * On 2 threads each thread reads only the rows it wrote in the forward and
 * the deltas. */
static void halves_part(wgrads_job *j, int tid, int n, mlpc_ctx *one)
{
    int n0 = (n + 1) / 2, second = tid >= n0, gt = second ? tid - n0 : tid, gn = second ? n - n0 : n0;
    long h = batch_half(j->m), k0 = second ? h : 0, k1 = second ? j->m : h, lo, hi;
    for (int i = 0; i < j->n; i++) {
        const mlpc_grad_layer *g = &j->L[i];
        mlpc_split(g->in, 8, gt, gn, &lo, &hi);
        if (j->owner[i] == OWN_HALVES && lo < hi)
            wgrad_block(j->s, g->in, g->out, k0, k1, g->A, g->D, lo, hi, (second ? j->part[i] : g->G) + lo * g->out,
                        NULL, tid);
        mlpc_split(g->out, 16, gt, gn, &lo, &hi);
        if (lo < hi)
            mlpc_k_col_sum(g->D + k0 * g->out, (int)(k1 - k0), g->out, (int)lo, (int)hi, second ? j->part_b[i] : g->gb);
    }
    mlpc_pool_barrier(&j->summed, n);
    for (int i = 0; i < j->n; i++) {
        const mlpc_grad_layer *g = &j->L[i];
        mlpc_split(g->in, 8, tid, n, &lo, &hi);
        if (j->owner[i] == OWN_HALVES && lo < hi) {
            add_floats(g->G + lo * g->out, j->part[i] + lo * g->out, (size_t)(hi - lo) * g->out);
            j->ready(j->user, one, g->off + (size_t)lo * g->out, (size_t)(hi - lo) * g->out, 1);
        }
        if (j->cs_owner[i] != tid) continue;
        add_floats(g->gb, j->part_b[i], (size_t)g->out);
        j->ready(j->user, one, g->b_off, (size_t)g->out, 0);
    }
}

static void wgrads_part(void *arg, int tid, int n)
{
    wgrads_job *j = arg;
    mlpc_ctx one = {&mlpc_backend_cpu, NULL, 1, j->s->sub[tid]};
    if (j->halves) halves_part(j, tid, n, &one);
    for (int i = 0; i < j->n; i++) { /* the split layers, by every thread in the same order */
        const mlpc_grad_layer *g = &j->L[i];
        if (j->owner[i] != OWN_SPLIT) continue;
        long lo, hi;
        mlpc_split(g->in, 8, tid, n, &lo, &hi);
        shared_b_pack(&j->sb[i], j->s, 0, j->m, g->out, g->D, g->out, tid, n);
        if (lo >= hi) continue;
        wgrad_rows(j->s, g->in, g->out, j->m, g->A, g->D, g->G, lo, hi, j->sb[i].w, NULL, tid);
        j->ready(j->user, &one, g->off + (size_t)lo * g->out, (size_t)(hi - lo) * g->out, 1);
    }
    for (int i = 0; i < j->n; i++) { /* this thread's whole layers */
        const mlpc_grad_layer *g = &j->L[i];
        if (j->owner[i] != tid) continue;
        wgrad_rows(j->s, g->in, g->out, j->m, g->A, g->D, g->G, 0, g->in, NULL, NULL, tid);
        j->ready(j->user, &one, g->off, (size_t)g->in * g->out, 1);
    }
    for (int i = 0; !j->halves && i < j->n; i++) { /* this thread's column sums */
        const mlpc_grad_layer *g = &j->L[i];
        if (j->cs_owner[i] != tid) continue;
        col_sums(g->D, j->m, g->out, 0, g->out, g->gb, ks_tmp(j->s, tid));
        j->ready(j->user, &one, g->b_off, (size_t)g->out, 0);
    }
}

/* the least loaded thread (the first of equals) */
static int least_loaded(const long *load, int threads)
{
    int t = 0;
    for (int i = 1; i < threads; i++)
        if (load[i] < load[t]) t = i;
    return t;
}

/* The second halves' sums get their parts of the context's kbuf, grown the
 * first time it is too small (later batches of the same net allocate
 * nothing). Returns 0 without the memory: then the layers are planned as
 * before, and wgrad_rows and col_sums sum both halves on one thread (the
 * same bits). */
static int halves_buffers(wgrads_job *j)
{
    cpu_scratch *s = j->s;
    size_t need = 0;
    int any = 0;
    for (int i = 0; i < j->n; i++) {
        const mlpc_grad_layer *g = &j->L[i];
        int h = ks_half(g->in, g->out, j->m) != 0;
        any |= h;
        need += (h ? round_up16((size_t)g->in * g->out) : 0) + round_up16((size_t)g->out);
    }
    if (!any || !kbuf_reserve(s, need)) return 0;
    size_t at = 0;
    for (int i = 0; i < j->n; i++) {
        const mlpc_grad_layer *g = &j->L[i];
        if (ks_half(g->in, g->out, j->m)) {
            j->owner[i] = OWN_HALVES;
            j->part[i] = s->kbuf + at;
            at += round_up16((size_t)g->in * g->out);
        }
        j->part_b[i] = s->kbuf + at;
        at += round_up16((size_t)g->out);
    }
    return 1;
}

/* which thread runs what: a fixed plan from the shapes alone */
static void wgrads_plan(wgrads_job *j, int threads)
{
    long load[MLPC_MAX_THREADS] = {0};
    int placed[MLPC_MAX_LAYERS] = {0};
    size_t bw_used = 0;
    for (int i = 0; i < j->n; i++)
        j->owner[i] = 0;
    j->halves = halves_buffers(j);
    for (int i = 0; i < j->n; i++) {
        const mlpc_grad_layer *g = &j->L[i];
        long macs = (long)g->in * g->out * j->m;
        if (j->owner[i] != OWN_HALVES && (macs / threads < WGS_SPLIT_MIN || g->in < 8 * threads)) continue;
        placed[i] = 1;
        for (int t = 0; t < threads; t++) load[t] += macs / threads;
        if (j->owner[i] == OWN_HALVES) continue;
        j->owner[i] = OWN_SPLIT;
        /* each split layer its own part of the shared buffer: a thread may
         * pack the next layer's D while another still reads this one's */
        bw_used += shared_b_init_at(&j->sb[i], j->s, threads, 0, j->m, g->out, g->D, g->out,
                                    j->s->bw ? j->s->bw + bw_used : NULL, j->s->bw_words - bw_used);
    }
    for (;;) { /* whole layers, largest first, each to the least loaded thread */
        int best = -1;
        long best_macs = -1;
        for (int i = 0; i < j->n; i++) {
            long macs = (long)j->L[i].in * j->L[i].out * j->m;
            if (!placed[i] && macs > best_macs) {
                best = i;
                best_macs = macs;
            }
        }
        if (best < 0) break;
        int t = least_loaded(load, threads);
        j->owner[best] = (short)t;
        placed[best] = 1;
        load[t] += best_macs;
    }
    for (int i = 0; i < j->n; i++) { /* the column sums: m x out additions each */
        int t = least_loaded(load, threads);
        j->cs_owner[i] = (short)t;
        load[t] += (long)j->m * j->L[i].out;
    }
}

static void cpu_weight_grads(mlpc_ctx *cx, int m, const mlpc_grad_layer *L, int n, mlpc_grad_ready_fn ready,
                             void *user)
{
    long total = 0;
    for (int i = 0; i < n; i++) {
        total += (long)L[i].in * L[i].out * m;
        settle(cx, L[i].A, L[i].D);
        if (m > WG_SMALL_BATCH) zc_wgrad_reserve(cx->scratch, cx->threads, L[i].A, L[i].in, L[i].out);
    }
    if (cx->threads == 1 || m <= WG_SMALL_BATCH || total < WGS_PAR_MIN || n > MLPC_MAX_LAYERS) {
        for (int i = n - 1; i >= 0; i--) {
            cpu_weight_grad(cx, L[i].in, L[i].out, m, L[i].A, L[i].D, L[i].G, NULL, L[i].off, ready, user);
            cpu_col_sum(cx, L[i].D, m, L[i].out, L[i].gb);
            ready(user, cx, L[i].b_off, (size_t)L[i].out, 0);
        }
        return;
    }
    wgrads_job j = {cx->scratch, m, n, L, ready, user, {0}, {0}, {{NULL, 0, 0}}, 0, {NULL}, {NULL}, 0};
    atomic_init(&j.summed, 0);
    wgrads_plan(&j, cx->threads);
    mlpc_pool_run(cx->pool, wgrads_part, &j);
}

/* ---- optimizer: split the flat range ------------------------------------ */

typedef struct opt_job {
    const mlpc_opt_step *s;
    float *w, *m, *v;
    const float *g;
    size_t n;
} opt_job;

static void opt_part(void *arg, int tid, int n)
{
    opt_job *j = arg;
    long lo, hi;
    mlpc_split((long)j->n, 16, tid, n, &lo, &hi);
    if (lo < hi)
        mlpc_opt_apply(j->s, j->w + lo, j->g + lo, j->m ? j->m + lo : NULL, j->v ? j->v + lo : NULL,
                       (size_t)(hi - lo));
}

static void cpu_opt_update(mlpc_ctx *cx, const mlpc_opt_step *s, float *w, const float *g,
                           float *m, float *v, size_t n)
{
    opt_job j = {s, w, m, v, g, n};
    if (cx->threads == 1 || n < (size_t)ELEM_PAR_MIN)
        opt_part(&j, 0, 1);
    else
        mlpc_pool_run(cx->pool, opt_part, &j);
}

/* ---- the first layer over the input's non-zero columns (sparse.c) ---- */

static void cpu_gemm_cols(mlpc_ctx *cx, int M, int N, int K, const float *A, int lda, const float *B,
                          int ldb, const int32_t *idx, int n, float *C, int ldc)
{
    cpu_scratch *s = cx->scratch;
    settle(cx, A, B);
    /* on the calling thread, so only where the GEMM would not split the
     * product over threads anyway (as weight_grad); else the dense GEMM,
     * whose result is the same */
    int one_thread = cx->threads == 1 || (long)K * N < WG_PAR_FLOATS;
    if (one_thread && !s->bf16 && s->gemm == mlpc_gemm_avx512 && mlpc_k_gemm_cols(M, N, K, A, lda, B, ldb, idx, n, C, ldc))
        return;
    cpu_gemm(cx, 0, 0, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}

const mlpc_backend mlpc_backend_cpu = {
    .version = MLPC_BACKEND_VERSION,
    .name = "cpu",
    .gemm = cpu_gemm,
    .bias_act = cpu_bias_act,
    .act_backward = cpu_act_backward,
    .loss = cpu_loss,
    .col_sum = cpu_col_sum,
    .weight_grad = cpu_weight_grad,
    .gemm_cols = cpu_gemm_cols,
    .gemm_bias_act = cpu_gemm_bias_act,
    .gemm_act_backward = cpu_gemm_act_backward,
    .row_chain = cpu_row_chain,
    .weight_grads = cpu_weight_grads,
    .opt_update = cpu_opt_update,
};
