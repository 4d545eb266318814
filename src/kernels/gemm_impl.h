/* gemm_impl.h - the packed, register-blocked GEMM body, shared by the
 * per-instruction-set files (gemm_generic.c, gemm_avx2.c, gemm_avx512.c),
 * each of which defines GEMM_NAME, VW (floats per vector), MR and NR (the
 * micro-tile) and is compiled with its own -m flags.
 *
 * C = alpha op(A) op(B) + beta C, row-major, single-threaded; the caller
 * splits the work over threads. Blocking (BLIS style): NC columns of B,
 * KC deep panels, MC rows of A packed into MR-row slivers; B slivers are read
 * in place when B is not transposed (no packing for the common forward
 * product), packed otherwise. The k order per element is fixed, so with
 * alpha 1 and beta 0 or 1 (all the library uses) results do not depend on
 * how the caller splits M or N; other alpha/beta may round differently in
 * the epilogue where the compiler contracts it differently. */
#include "kernels/kernels.h"

#include <string.h>

#define KC 256 /* = the bound in mlpc_gemm_kstep */
#define MC (MR * (128 / MR))
#define NC (NR * 64)

typedef float vf __attribute__((vector_size(VW * 4), aligned(4)));
/* acc + a b for a scalar a: an explicit FMA where the variant has one (its
 * file defines FMA_S), so the rounding does not depend on whether the
 * compiler contracts at this optimization level (it does not at -O1, the
 * sanitizer build); the sparse and short-K kernels use the same FMAs */
#ifndef FMA_S
#define FMA_S(a, b, c) ((c) + (a) * (b))
#endif
#define NV (NR / VW)
/* WIDE_MR (set by a variant with 32 vector registers): a short A of up to
 * WIDE_MR rows against at most two vectors of columns is one tile, so B is
 * read once (a batch of 10 against a 30-wide layer: not 8 + 2 rows) */
#ifndef WIDE_MR
#define WIDE_MR 0
#endif
#define TMAX (WIDE_MR > MR ? WIDE_MR : MR)

/* op(A)[i][k] and op(B)[k][j] */
#define OPA(i, k) (ta ? A[(size_t)(k) * lda + (i)] : A[(size_t)(i) * lda + (k)])
#define OPB(k, j) (tb ? B[(size_t)(j) * ldb + (k)] : B[(size_t)(k) * ldb + (j)])

/* The MR x NR tile over kc steps, C (mr x nr valid) = alpha A B + beta C.
 * A element (r, k) is at A[r * ars + k * aks]: packed slivers (ars 1,
 * aks MR) or rows read in place (ars lda, aks 1). B is kc rows of NR floats
 * with row stride bs; with `edge` only the first nr columns are read, with
 * masked loads (LOAD_N), so narrow layers need no packing. The wrappers
 * below give the compiler constant strides and flags to specialize on. */
static inline __attribute__((always_inline)) void
tile(int kc, const float *restrict A, long ars, long aks, const float *restrict Bp, long bs,
     float *restrict C, long ldc, int mr, int nr, float alpha, float beta, int edge, int nv,
     int rows, const int32_t *restrict kx)
{
    /* kx: NULL, or the k of each of the kc steps (A's columns and B's rows
     * listed: GEMM_COLS_NAME below) */
    /* nv <= NV vectors of B and rows <= MR rows of A are computed (both
     * compile-time constants in each wrapper): narrow edges and short row
     * remainders cost only what they use */
    vf acc[TMAX][NV]; /* kept in registers: no memset/memcpy on it */
#pragma GCC unroll 16
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) acc[r][j] = (vf){0};
#ifdef LOAD_N
    int cnt[NV];
    for (int j = 0; j < NV; j++) cnt[j] = nr - j * VW < 0 ? 0 : (nr - j * VW > VW ? VW : nr - j * VW);
#endif
    for (int k = 0; k < kc; k++) {
        long ko = kx ? kx[k] : k;
        vf b[NV];
#pragma GCC unroll 8
        for (int j = 0; j < nv; j++) {
#ifdef LOAD_N
            if (edge) {
                b[j] = LOAD_N(Bp + ko * bs + j * VW, cnt[j]);
                continue;
            }
#endif
            b[j] = *(const vf *)(Bp + ko * bs + j * VW);
        }
#pragma GCC unroll 16
        for (int r = 0; r < rows; r++) {
            float a = A[r * ars + ko * aks];
#pragma GCC unroll 8
            for (int j = 0; j < nv; j++) acc[r][j] = FMA_S(a, b[j], acc[r][j]);
        }
    }
    if (nr == NR || edge) { /* whole or masked vectors, straight from registers */
#pragma GCC unroll 16
        for (int r = 0; r < rows; r++) {
            if (r >= mr) break;
#pragma GCC unroll 8
            for (int j = 0; j < nv; j++) {
                float *c = C + r * ldc + j * VW;
#ifdef LOAD_N
                if (edge) {
                    /* the same expression as the full path: results do not
                     * depend on where a column falls */
                    vf v = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * LOAD_N(c, cnt[j]);
                    STORE_N(c, v, cnt[j]);
                    continue;
                }
#endif
                *(vf *)c = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * *(vf *)c;
            }
        }
        return;
    }
    float t[MR][NR]; /* packed narrow edge without masked stores */
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break; /* rows <= MR here: wide tiles are masked */
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) *(vf *)&t[r][j * VW] = j < nv ? acc[r][j] : (vf){0};
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float *c = &C[r * ldc + j];
            *c = beta == 0.0f ? alpha * t[r][j] : alpha * t[r][j] + beta * *c;
        }
}

#ifdef LOAD_N
#define EDGE_IN_PLACE 1
#else
#define EDGE_IN_PLACE 0
#endif

typedef void (*tile_fn)(int kc, const float *A, long lda, const float *Bp, long bs, float *C,
                        long ldc, int mr, int nr, float alpha, float beta);

#define TILE_WRAPPER(name, ars, aks, edge, nv, rows)                                            \
    static void name(int kc, const float *A, long lda, const float *Bp, long bs, float *C,     \
                     long ldc, int mr, int nr, float alpha, float beta)                         \
    {                                                                                           \
        (void)lda;                                                                              \
        tile(kc, A, ars, aks, Bp, bs, C, ldc, mr, nr, alpha, beta, edge, nv, rows, NULL);       \
    }
#define MIN_(a, b) ((a) < (b) ? (a) : (b))
/* per row count R: the full-width tile and edge tiles of 1, 2 and NV vectors,
 * reading A rows in place (ars lda, aks 1) */
#define ROW_SET(R)                                                                   \
    TILE_WRAPPER(tile_rows_##R##_full, lda, 1, 0, NV, MIN_(R, MR))                   \
    TILE_WRAPPER(tile_rows_##R##_e1, lda, 1, EDGE_IN_PLACE, MIN_(1, NV), MIN_(R, MR)) \
    TILE_WRAPPER(tile_rows_##R##_e2, lda, 1, EDGE_IN_PLACE, MIN_(2, NV), MIN_(R, MR)) \
    TILE_WRAPPER(tile_rows_##R##_e3, lda, 1, EDGE_IN_PLACE, NV, MIN_(R, MR))
ROW_SET(1) ROW_SET(2) ROW_SET(3) ROW_SET(4) ROW_SET(5) ROW_SET(6) ROW_SET(7) ROW_SET(8)
#define ROW_ENTRY(R) {tile_rows_##R##_full, tile_rows_##R##_e1, tile_rows_##R##_e2, tile_rows_##R##_e3}
static const tile_fn rows_tab[9][4] = {{0}, ROW_ENTRY(1), ROW_ENTRY(2), ROW_ENTRY(3), ROW_ENTRY(4),
                                       ROW_ENTRY(5), ROW_ENTRY(6), ROW_ENTRY(7), ROW_ENTRY(8)};
/* the same for a transposed A read in place (ars 1, aks lda): used when K
 * is short (the weight gradient of a small batch), where packing would cost
 * as much as the product */
#define COL_SET(R)                                                                   \
    TILE_WRAPPER(tile_cols_##R##_full, 1, lda, 0, NV, MIN_(R, MR))                   \
    TILE_WRAPPER(tile_cols_##R##_e1, 1, lda, EDGE_IN_PLACE, MIN_(1, NV), MIN_(R, MR)) \
    TILE_WRAPPER(tile_cols_##R##_e2, 1, lda, EDGE_IN_PLACE, MIN_(2, NV), MIN_(R, MR)) \
    TILE_WRAPPER(tile_cols_##R##_e3, 1, lda, EDGE_IN_PLACE, NV, MIN_(R, MR))
COL_SET(1) COL_SET(2) COL_SET(3) COL_SET(4) COL_SET(5) COL_SET(6) COL_SET(7) COL_SET(8)
#define COL_ENTRY(R) {tile_cols_##R##_full, tile_cols_##R##_e1, tile_cols_##R##_e2, tile_cols_##R##_e3}
static const tile_fn cols_tab[9][4] = {{0}, COL_ENTRY(1), COL_ENTRY(2), COL_ENTRY(3), COL_ENTRY(4),
                                       COL_ENTRY(5), COL_ENTRY(6), COL_ENTRY(7), COL_ENTRY(8)};
#define SHORT_K 64 /* a transposed A with K up to this is read in place */
/* packed A slivers (transposed A): always MR rows, zero-padded */
TILE_WRAPPER(tile_packed_full, 1, MR, 0, NV, MR)
TILE_WRAPPER(tile_packed_e1, 1, MR, EDGE_IN_PLACE, MIN_(1, NV), MR)
TILE_WRAPPER(tile_packed_e2, 1, MR, EDGE_IN_PLACE, MIN_(2, NV), MR)
TILE_WRAPPER(tile_packed_e3, 1, MR, EDGE_IN_PLACE, NV, MR)
static const tile_fn packed_tab[4] = {tile_packed_full, tile_packed_e1, tile_packed_e2, tile_packed_e3};
#if MR > 8 || NV > 3
#error "gemm_impl.h: the tile tables cover MR <= 8 and NV <= 3"
#endif
#if WIDE_MR
#if WIDE_MR > 12 || !EDGE_IN_PLACE
#error "gemm_impl.h: wide tiles cover up to 12 rows with masked edges"
#endif
/* rows MR+1..WIDE_MR in place, masked edges of one or two vectors */
#define WIDE_SET(R)                                                        \
    TILE_WRAPPER(tile_wide_##R##_e1, lda, 1, 1, 1, R)                      \
    TILE_WRAPPER(tile_wide_##R##_e2, lda, 1, 1, 2, R)
WIDE_SET(9) WIDE_SET(10) WIDE_SET(11) WIDE_SET(12)
#define WIDE_ENTRY(R) {tile_wide_##R##_e1, tile_wide_##R##_e2}
static const tile_fn wide_tab[4][2] = {WIDE_ENTRY(9), WIDE_ENTRY(10), WIDE_ENTRY(11), WIDE_ENTRY(12)};
#endif

static void pack_a(int ta, const float *A, int lda, int i0, int k0, int mc, int kc, float *Ap)
{
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *dst = Ap + (size_t)ir * kc;
        if (ta && mr == MR) { /* rows of A^T are contiguous: copy MR at a time */
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + ir;
#pragma GCC unroll 16
                for (int r = 0; r < MR; r++) dst[k * MR + r] = src[r];
            }
            continue;
        }
        for (int k = 0; k < kc; k++) {
            int r = 0;
            for (; r < mr; r++) dst[k * MR + r] = OPA(i0 + ir + r, k0 + k);
            for (; r < MR; r++) dst[k * MR + r] = 0.0f;
        }
    }
}

static void pack_b(int tb, const float *B, int ldb, int k0, int j0, int kc, int nr, float *Bp)
{
#ifdef PACK_BT /* the variant's own transposing copy (the same floats) */
    if (tb) {
        PACK_BT(B, ldb, k0, j0, kc, nr, Bp);
        return;
    }
#endif
    for (int k = 0; k < kc; k++) {
        int j = 0;
        for (; j < nr; j++) Bp[k * NR + j] = OPB(k0 + k, j0 + j);
        for (; j < NR; j++) Bp[k * NR + j] = 0.0f;
    }
}

void GEMM_NAME(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc, float *pack)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    float *Ap = pack;             /* MC x KC */
    float *Bp = pack + MC * KC;   /* KC x NC */
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        /* K in equal blocks of at most KC (784 = 4 x 196, not 3 x 256 + 16);
         * the sparse kernels (sparse.c) block K the same way */
        int kstep = mlpc_gemm_kstep(K);
        for (int pc = 0; pc < K; pc += kstep) {
            int kc = K - pc < kstep ? K - pc : kstep;
            float bet = pc == 0 ? beta : 1.0f;
            /* B slivers: in place when possible, else packed */
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = nc - jr < NR ? nc - jr : NR;
                if (tb || (nr < NR && !EDGE_IN_PLACE)) pack_b(tb, B, ldb, pc, jc + jr, kc, nr, Bp + (size_t)jr * kc);
            }
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                /* A not transposed is read in place (rows are contiguous
                 * along k); a transposed A is packed into MR-row slivers */
                int packed = ta && K > SHORT_K;
                if (packed) pack_a(ta, A, lda, ic, pc, mc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bs;
                    long bstride;
                    if (tb || (nr < NR && !EDGE_IN_PLACE)) {
                        bs = Bp + (size_t)jr * kc;
                        bstride = NR;
                    } else {
                        bs = B + (size_t)pc * ldb + jc + jr;
                        bstride = ldb;
                    }
                    int edge = nr < NR; /* a packed B (transposed) is zero-padded: masked tiles read what they use */
#if WIDE_MR
                    if (!ta && edge && nr <= 2 * VW && mc > MR && mc <= WIDE_MR) {
                        wide_tab[mc - MR - 1][nr > VW](kc, A + (size_t)ic * lda + pc, lda, bs, bstride,
                                                       C + (size_t)ic * ldc + jc + jr, ldc, mc, nr, alpha, bet);
                        continue;
                    }
#endif
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        float *Ct = C + (size_t)(ic + ir) * ldc + jc + jr;
                        int v = !edge ? 0 : nr <= VW ? 1 : nr <= 2 * VW ? 2 : 3;
                        if (packed)
                            packed_tab[v](kc, Ap + (size_t)ir * kc, lda, bs, bstride, Ct, ldc, mr, nr, alpha, bet);
                        else if (ta)
                            cols_tab[mr][v](kc, A + (size_t)pc * lda + ic + ir, lda, bs, bstride, Ct, ldc,
                                            mr, nr, alpha, bet);
                        else
                            rows_tab[mr][v](kc, A + (size_t)(ic + ir) * lda + pc, lda, bs, bstride, Ct, ldc,
                                            mr, nr, alpha, bet);
                    }
                }
            }
        }
    }
}

#ifdef GEMM_COLS_NAME
/* C = A B (alpha 1, beta 0; A M x K and B K x N, neither transposed) over
 * the n listed columns of A and rows of B (idx, ascending): the GEMM above
 * with the same k blocks, each over its listed k, and the same tiles, so
 * each element gets the dense product's FMAs in their order, less the
 * skipped ones (cpu.c: the columns that are +0.0 in every row of A, where
 * a skipped fma(+0, b, acc) leaves acc as it is but for the sign of a zero
 * sum). Reads B in place (needs EDGE_IN_PLACE); packs nothing. */
#if !EDGE_IN_PLACE
#error "gemm_impl.h: GEMM_COLS_NAME reads B's edges in place"
#endif
#define ROWX_WRAPPER(name, edge, nv, rows)                                                       \
    static void name(int kc, const float *A, long lda, const float *Bp, long bs, float *C, long ldc, \
                     int mr, int nr, float beta, const int32_t *kx)                              \
    {                                                                                            \
        tile(kc, A, lda, 1, Bp, bs, C, ldc, mr, nr, 1.0f, beta, edge, nv, rows, kx);             \
    }
typedef void (*tilex_fn)(int kc, const float *A, long lda, const float *Bp, long bs, float *C, long ldc, int mr,
                         int nr, float beta, const int32_t *kx);
#define ROWX_SET(R)                                                    \
    ROWX_WRAPPER(tile_rowx_##R##_full, 0, NV, MIN_(R, MR))             \
    ROWX_WRAPPER(tile_rowx_##R##_e1, 1, MIN_(1, NV), MIN_(R, MR))      \
    ROWX_WRAPPER(tile_rowx_##R##_e2, 1, MIN_(2, NV), MIN_(R, MR))      \
    ROWX_WRAPPER(tile_rowx_##R##_e3, 1, NV, MIN_(R, MR))
ROWX_SET(1) ROWX_SET(2) ROWX_SET(3) ROWX_SET(4) ROWX_SET(5) ROWX_SET(6) ROWX_SET(7) ROWX_SET(8)
#define ROWX_ENTRY(R) {tile_rowx_##R##_full, tile_rowx_##R##_e1, tile_rowx_##R##_e2, tile_rowx_##R##_e3}
static const tilex_fn rowx_tab[9][4] = {{0}, ROWX_ENTRY(1), ROWX_ENTRY(2), ROWX_ENTRY(3), ROWX_ENTRY(4),
                                        ROWX_ENTRY(5), ROWX_ENTRY(6), ROWX_ENTRY(7), ROWX_ENTRY(8)};

void GEMM_COLS_NAME(int M, int N, int K, const float *A, int lda, const float *B, int ldb, const int32_t *idx,
                    int n, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    int kstep = mlpc_gemm_kstep(K);
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0, p0 = 0; pc < K; pc += kstep) {
            int p1 = p0;
            while (p1 < n && idx[p1] < pc + kstep) p1++;
            int kc = p1 - p0;
            float bet = pc == 0 ? 0.0f : 1.0f;
            if (!kc && pc) /* a block of skipped k only: C as it is */
                continue;
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    int v = nr == NR ? 0 : nr <= VW ? 1 : nr <= 2 * VW ? 2 : 3;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        rowx_tab[mr][v](kc, A + (size_t)(ic + ir) * lda, lda, B + jc + jr, ldb,
                                        C + (size_t)(ic + ir) * ldc + jc + jr, ldc, mr, nr, bet, idx + p0);
                    }
                }
            }
            p0 = p1;
        }
    }
}
#endif

#ifdef GEMM_TCOLS_NAME
/* pack_a of A^T's rows cols[0..mc): columns of A, listed */
static void pack_ax(const float *A, int lda, const int32_t *cols, int k0, int mc, int kc, float *Ap)
{
    for (int ir = 0; ir < mc; ir += MR) {
        int mr = mc - ir < MR ? mc - ir : MR;
        float *dst = Ap + (size_t)ir * kc;
        const int32_t *c = cols + ir;
        if (mr == MR && c[MR - 1] - c[0] == MR - 1) { /* a run of MR columns: as pack_a copies them */
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + c[0];
#pragma GCC unroll 16
                for (int r = 0; r < MR; r++) dst[k * MR + r] = src[r];
            }
            continue;
        }
        for (int k = 0; k < kc; k++) {
            const float *src = A + (size_t)(k0 + k) * lda;
            int r = 0;
            for (; r < mr; r++) dst[k * MR + r] = src[c[r]];
            for (; r < MR; r++) dst[k * MR + r] = 0.0f;
        }
    }
}

/* C (M x N) = rows cols[0..M) of A^T B (A: K rows, lda apart; B: K x N;
 * alpha 1, beta 0): the GEMM's k blocks and packed tiles for those rows,
 * so each its bits (cpu.c: the weight gradient's rows of the batch's used
 * input columns; the others are +0.0) */
void GEMM_TCOLS_NAME(int M, int N, int K, const float *A, int lda, const int32_t *cols, const float *B, int ldb,
                     float *C, int ldc, float *pack)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    float *Ap = pack, *Bp = pack + MC * KC;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        int kstep = mlpc_gemm_kstep(K);
        for (int pc = 0; pc < K; pc += kstep) {
            int kc = K - pc < kstep ? K - pc : kstep;
            float bet = pc == 0 ? 0.0f : 1.0f;
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = nc - jr < NR ? nc - jr : NR;
                if (nr < NR && !EDGE_IN_PLACE) pack_b(0, B, ldb, pc, jc + jr, kc, nr, Bp + (size_t)jr * kc);
            }
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                pack_ax(A, lda, cols + ic, pc, mc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bs = B + (size_t)pc * ldb + jc + jr;
                    long bstride = ldb;
                    if (nr < NR && !EDGE_IN_PLACE) {
                        bs = Bp + (size_t)jr * kc;
                        bstride = NR;
                    }
                    int v = nr == NR ? 0 : nr <= VW ? 1 : nr <= 2 * VW ? 2 : 3;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        packed_tab[v](kc, Ap + (size_t)ir * kc, lda, bs, bstride, C + (size_t)(ic + ir) * ldc + jc + jr,
                                      ldc, mr, nr, 1.0f, bet);
                    }
                }
            }
        }
    }
}
#endif
