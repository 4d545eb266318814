/* gemm_bf16.c - C = op(A) op(B) with bf16 products and float32 sums
 * (--precision bf16), for CPUs with AVX512_BF16 (vdpbf16ps), and its
 * reference twin in plain C, the oracle of the fast kernel.
 *
 * Both operands are float32 in memory (the trainer's master weights and
 * activations); each is rounded to bf16 as it is packed, with
 * round-to-nearest-even exactly as vcvtne2ps2bf16 does it (a float32
 * denormal becomes a signed zero, a NaN stays a quiet NaN). The products of
 * k pairs are then summed in float32 in a fixed order, per element:
 *
 *   acc = 0; for p = 0, 1, ..:  acc += a[2p+1] b[2p+1];  acc += a[2p] b[2p]
 *
 * each += one rounding (a bf16 x bf16 product is exact in float32), which
 * is what one vdpbf16ps lane does (Intel SDM: the odd element first; with
 * DAZ/FTZ: a denormal sum is flushed to a signed zero). An odd K gets a
 * zero pair element. The order depends only on K, so the fast kernel equals
 * the reference bit for bit for any split of M or N over threads, and for
 * any blocking (a k block that continues a sum reloads the float32 sum). */
#include "kernels/kernels.h"
#include "core/core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BNR_ALL 32 /* columns per B sliver (BNR below) */

uint16_t mlpc_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u); /* zero, denormal */
    if ((u & 0x7f800000u) == 0x7f800000u) { /* infinity, NaN */
        uint16_t h = (uint16_t)(u >> 16);
        return (u & 0x007fffffu) ? (uint16_t)(h | 0x40u) : h;
    }
    u += 0x7fffu + ((u >> 16) & 1u); /* to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float mlpc_bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* acc + a b rounded once, a denormal result flushed to a signed zero */
static float dp_step(float acc, float a, float b)
{
    float s = fmaf(a, b, acc);
    return fabsf(s) < 1.17549435e-38f ? copysignf(0.0f, s) : s;
}

void mlpc_gemm_bf16_ref(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                        int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k += 2) {
                float a[2] = {0.0f, 0.0f}, b[2] = {0.0f, 0.0f};
                for (int e = 0; e < 2 && k + e < K; e++) {
                    int kk = k + e;
                    a[e] = mlpc_bf16_float(mlpc_bf16_round(ta ? A[(size_t)kk * lda + i] : A[(size_t)i * lda + kk]));
                    b[e] = mlpc_bf16_float(mlpc_bf16_round(tb ? B[(size_t)j * ldb + kk] : B[(size_t)kk * ldb + j]));
                }
                acc = dp_step(acc, a[1], b[1]);
                acc = dp_step(acc, a[0], b[0]);
            }
            C[(size_t)i * ldc + j] = acc;
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_BF16_AVX512 1
#define TBF __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

#define BMR 12  /* rows per tile: 12 x 2 accumulators + 2 of B + 1 of A in 32 zmm */
#define BNR BNR_ALL /* columns per tile: two vectors of 16 */
#define BKC 512 /* k per block (even): a B sliver of 256 pairs x 32 columns is 32 KB, in L1 */
#define BMC 96  /* rows of A per packed block (8 slivers) */
#define BNC 512 /* most columns per packed B panel (512 KB of pairs: with A's block, in L2) */

/* pack layouts (uint32_t = one k pair of bf16, the lower k in the low half):
 * A not transposed: rows of pairs, Ap[row][p] (a plain conversion of the
 * rows); A transposed: slivers of BMR rows, Ap[sliver][p][BMR]; B: slivers
 * of BNR columns, Bp[sliver][p][BNR] */

/* n (<= 16) interleaved pairs (bf16(r0[c]), bf16(r1[c])) into dst; r1 NULL:
 * zero high halves */
static inline TBF void pair_rows(const float *r0, const float *r1, int n, uint32_t *dst)
{
    __mmask16 m = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
    __m512 x0 = _mm512_maskz_loadu_ps(m, r0);
    __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1) : _mm512_setzero_ps();
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(x1, x0); /* x0's 16 bf16, then x1's */
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                         6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    _mm512_mask_storeu_epi32(dst, m, _mm512_permutexvar_epi16(idx, h));
}

/* kc floats as (kc + 1) / 2 contiguous pairs */
static inline TBF void row_contig(const float *src, int kc, uint32_t *dst)
{
    int k = 0;
    for (; k + 32 <= kc; k += 32)
        _mm512_storeu_si512(dst + k / 2, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16),
                                                                      _mm512_loadu_ps(src + k)));
    if (k < kc) {
        int n = kc - k, n0 = n < 16 ? n : 16, n1 = n - n0;
        __m512 lo = _mm512_maskz_loadu_ps((__mmask16)(n0 >= 16 ? 0xffffu : (1u << n0) - 1u), src + k);
        __m512 hi = _mm512_maskz_loadu_ps((__mmask16)((1u << n1) - 1u), src + k + 16);
        int np = (n + 1) / 2;
        _mm512_mask_storeu_epi32(dst + k / 2, (__mmask16)((1u << np) - 1u), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}

/* pair p of the block's mc rows (tmp[r]) into the slivers of BMR rows */
static inline TBF void to_slivers(const uint32_t *tmp, int mc, int np, int p, uint32_t *Ap)
{
    for (int ir = 0; ir < mc; ir += BMR) {
        int mr = mc - ir < BMR ? mc - ir : BMR;
        __mmask16 m = (__mmask16)((1u << mr) - 1u);
        _mm512_mask_storeu_epi32(Ap + (size_t)ir * np + (size_t)p * BMR, m, _mm512_maskz_loadu_epi32(m, tmp + ir));
    }
}

/* rows i0..i0+mc of op(A), k0..k0+kc: rows of pairs (A not transposed), or
 * slivers of BMR rows */
static TBF void pack_a(int ta, const float *A, int lda, int i0, int k0, int mc, int kc, uint32_t *Ap)
{
    int np = (kc + 1) / 2;
    if (!ta) {
        for (int r = 0; r < mc; r++) row_contig(A + (size_t)(i0 + r) * lda + k0, kc, Ap + (size_t)r * np);
        return;
    }
    /* A transposed: per pair, the block's mc columns of two rows of A (whole
     * vectors, read along the rows) into tmp, then BMR at a time into the
     * slivers (rows of A read in 48-byte pieces were 3x slower: the weight
     * gradient of a first layer) */
    uint32_t tmp[BMC] __attribute__((aligned(64)));
    for (int p = 0; p < np; p++) {
        const float *r0 = A + (size_t)(k0 + 2 * p) * lda + i0, *r1 = 2 * p + 1 < kc ? r0 + lda : NULL;
        for (int c = 0; c < mc; c += 16) pair_rows(r0 + c, r1 ? r1 + c : NULL, mc - c < 16 ? mc - c : 16, tmp + c);
        to_slivers(tmp, mc, np, p, Ap);
    }
}

/* the same from A in bf16 (transposed): pair p of a column is its two
 * bf16 values side by side, no rounding left to do */
static TBF void pack_a_t16(const uint16_t *A, int lda, int i0, int k0, int mc, int kc, uint32_t *Ap)
{
    int np = (kc + 1) / 2;
    uint32_t tmp[BMC] __attribute__((aligned(64)));
    const __m512i idx = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                                         37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    for (int p = 0; p < np; p++) {
        const uint16_t *r0 = A + (size_t)(k0 + 2 * p) * lda + i0, *r1 = 2 * p + 1 < kc ? r0 + lda : NULL;
        for (int c = 0; c < mc; c += 16) {
            int n = mc - c < 16 ? mc - c : 16;
            __mmask16 m = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
            __m512i lo = _mm512_castsi256_si512(_mm256_maskz_loadu_epi16(m, r0 + c));
            __m512i hi = r1 ? _mm512_castsi256_si512(_mm256_maskz_loadu_epi16(m, r1 + c)) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32(tmp + c, m, _mm512_permutex2var_epi16(lo, idx, hi)); /* lo[c], hi[c] */
        }
        to_slivers(tmp, mc, np, p, Ap);
    }
}

/* pack_a_t16 of A^T's rows cols[0..mc) (columns of A, listed): a group of
 * 16 listed columns within 32 of each other is picked from a 32-word window
 * of each of the two rows by one vpermt2w (its index built once per block:
 * MNIST's listed columns skip a few at every image row's edges, and the
 * groups one by one took 6% of W2's bf16 epoch); wider groups one by one */
#define PF_PAIRS 4
static TBF void pack_a_t16x(const uint16_t *A, int lda, const int32_t *cols, int k0, int mc, int kc, uint32_t *Ap)
{
    int np = (kc + 1) / 2, ng = (mc + 15) / 16, win = mlpc_knob(MLPC_KNOB_PACK_WINDOW);
    uint32_t tmp[BMC] __attribute__((aligned(64)));
    __m512i gidx[BMC / 16];
    __mmask32 gwin[BMC / 16];
    int gbase[BMC / 16];
    for (int g = 0; g < ng; g++) {
        int c = 16 * g, n = mc - c < 16 ? mc - c : 16, base = cols[c], span = cols[c + n - 1] - base + 1;
        gbase[g] = span <= 32 && (win || span == n) ? base : -1; /* knob off: runs of 16 only */
        if (gbase[g] < 0) continue;
        uint16_t ix[32] = {0};
        for (int i = 0; i < n; i++) {
            ix[2 * i] = (uint16_t)(cols[c + i] - base);
            ix[2 * i + 1] = (uint16_t)(32 + cols[c + i] - base);
        }
        gidx[g] = _mm512_loadu_si512(ix);
        gwin[g] = span >= 32 ? 0xffffffffu : (1u << span) - 1u; /* no word past the last listed one */
    }
    const char *w0 = (const char *)(A + cols[0]), *w1 = (const char *)(A + cols[mc - 1]);
    for (int p = 0; p < np; p++) {
        const uint16_t *r0 = A + (size_t)(k0 + 2 * p) * lda, *r1 = 2 * p + 1 < kc ? r0 + lda : NULL;
        if (win && p + PF_PAIRS < np) {
            size_t o = (size_t)(k0 + 2 * (p + PF_PAIRS)) * lda * sizeof *A;
            for (const char *q = w0; q <= w1 + 63; q += 64) {
                _mm_prefetch(q + o, _MM_HINT_T0);
                _mm_prefetch(q + o + lda * sizeof *A, _MM_HINT_T0);
            }
        }
        for (int g = 0; g < ng; g++) {
            int c = 16 * g, n = mc - c < 16 ? mc - c : 16;
            if (gbase[g] >= 0) {
                __mmask16 m = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
                __m512i lo = _mm512_maskz_loadu_epi16(gwin[g], r0 + gbase[g]);
                __m512i hi = r1 ? _mm512_maskz_loadu_epi16(gwin[g], r1 + gbase[g]) : _mm512_setzero_si512();
                _mm512_mask_storeu_epi32(tmp + c, m, _mm512_permutex2var_epi16(lo, gidx[g], hi));
                continue;
            }
            for (int i = c; i < c + n; i++) tmp[i] = r0[cols[i]] | (r1 ? (uint32_t)r1[cols[i]] << 16 : 0u);
        }
        to_slivers(tmp, mc, np, p, Ap);
    }
}

#define T16_ATTR TBF
#include "kernels/transpose16.h"

/* a sliver of B^T (nr <= BNR rows of B, each contiguous along k): 16 rows
 * by 16 pairs at a time, each row's 32 floats converted to 16 pairs, the
 * block transposed in registers; rows past nr are zero, and so is the
 * missing half of an odd kc's last pair. Stored a pair at a time, W5's
 * delta product on one thread's 64 rows took 19% longer */
static TBF void pack_bt_sliver(const float *B, int ldb, int k0, int j0, int kc, int nr, uint32_t *s)
{
    int np = (kc + 1) / 2;
    for (int g = 0; g < BNR; g += 16)
        for (int p = 0; p < np; p += 16) {
            int k = 2 * p, n0 = kc - k < 16 ? kc - k : 16, n1 = kc - k - 16 < 0 ? 0 : kc - k - 16 < 16 ? kc - k - 16 : 16;
            __mmask16 m0 = (__mmask16)(n0 >= 16 ? 0xffffu : (1u << n0) - 1u);
            __mmask16 m1 = (__mmask16)(n1 >= 16 ? 0xffffu : (1u << n1) - 1u);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                if (g + i >= nr) {
                    r[i] = _mm512_setzero_ps();
                    continue;
                }
                const float *src = B + (size_t)(j0 + g + i) * ldb + k0 + k;
                __m512 lo = _mm512_maskz_loadu_ps(m0, src), hi = _mm512_maskz_loadu_ps(m1, src + 16);
                r[i] = (__m512)_mm512_cvtne2ps_pbh(hi, lo); /* pair q: k + 2q and k + 2q + 1 */
            }
            mlpc_transpose16(r);
            int pn = np - p < 16 ? np - p : 16;
            for (int q = 0; q < pn; q++) _mm512_storeu_ps((float *)(s + (size_t)(p + q) * BNR + g), r[q]);
        }
}

/* columns j0..j0+nc of op(B), k0..k0+kc, into slivers of BNR columns (the
 * last one zero-padded) */
static TBF void pack_b(int tb, const float *B, int ldb, int k0, int j0, int kc, int nc, uint32_t *Bp)
{
    int np = (kc + 1) / 2;
    for (int jr = 0; jr < nc; jr += BNR) {
        int nr = nc - jr < BNR ? nc - jr : BNR;
        uint32_t *s = Bp + (size_t)jr * np;
        if (nr < BNR)
            for (int p = 0; p < np; p++) memset(s + (size_t)p * BNR + nr, 0, (size_t)(BNR - nr) * sizeof *s);
        if (tb) {
            pack_bt_sliver(B, ldb, k0, j0 + jr, kc, nr, s);
        } else {
            for (int p = 0; p < np; p++) {
                const float *r0 = B + (size_t)(k0 + 2 * p) * ldb + j0 + jr;
                const float *r1 = 2 * p + 1 < kc ? r0 + ldb : NULL;
                pair_rows(r0, r1, nr < 16 ? nr : 16, s + (size_t)p * BNR);
                if (nr > 16) pair_rows(r0 + 16, r1 ? r1 + 16 : NULL, nr - 16, s + (size_t)p * BNR + 16);
            }
        }
    }
}

/* the R x (16 nv) tile over np pairs; first: start from zero, else from C.
 * A's pair p of row r is Ap[r * ars + p * aps] */
static inline TBF __attribute__((always_inline)) void
tile(int R, int nv, int np, const uint32_t *Ap, long ars, long aps, const uint32_t *Bp, float *C, long ldc,
     int first, __mmask16 m0, __mmask16 m1, const int32_t *px)
{
    /* px: NULL, or the pair of each of the np steps (mlpc_gemm_bf16_pairs) */
    __m512 acc[BMR][2];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        acc[r][0] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, C + r * ldc);
        acc[r][1] = first || nv < 2 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
    }
    for (int p = 0; p < np; p++) {
        long q = px ? px[p] : p;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(Bp + (size_t)q * BNR);
        __m512bh b1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(Bp + (size_t)q * BNR + 16) : b0;
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[r * ars + q * aps]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
            if (nv > 1) acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(C + r * ldc, m0, acc[r][0]);
        if (nv > 1) _mm512_mask_storeu_ps(C + r * ldc + 16, m1, acc[r][1]);
    }
}

/* rm: A in rows of pairs (stride ars); otherwise in slivers */
#define TILE_FN(R)                                                                                  \
    static TBF void tile_##R(int nv, int np, const uint32_t *Ap, long ars, const uint32_t *Bp, float *C, \
                             long ldc, int first, __mmask16 m0, __mmask16 m1)                       \
    {                                                                                               \
        if (ars && nv > 1)                                                                          \
            tile(R, 2, np, Ap, ars, 1, Bp, C, ldc, first, m0, m1, NULL);                            \
        else if (ars)                                                                               \
            tile(R, 1, np, Ap, ars, 1, Bp, C, ldc, first, m0, m1, NULL);                            \
        else if (nv > 1)                                                                            \
            tile(R, 2, np, Ap, 1, BMR, Bp, C, ldc, first, m0, m1, NULL);                            \
        else                                                                                        \
            tile(R, 1, np, Ap, 1, BMR, Bp, C, ldc, first, m0, m1, NULL);                            \
    }                                                                                               \
    static TBF void tilex_##R(int nv, int np, const uint32_t *Ap, long ars, const uint32_t *Bp, float *C, \
                              long ldc, int first, __mmask16 m0, __mmask16 m1, const int32_t *px)   \
    {                                                                                               \
        if (nv > 1)                                                                                 \
            tile(R, 2, np, Ap, ars, 1, Bp, C, ldc, first, m0, m1, px);                              \
        else                                                                                        \
            tile(R, 1, np, Ap, ars, 1, Bp, C, ldc, first, m0, m1, px);                              \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
TILE_FN(7) TILE_FN(8) TILE_FN(9) TILE_FN(10) TILE_FN(11) TILE_FN(12)
typedef void (*bf_tile_fn)(int, int, const uint32_t *, long, const uint32_t *, float *, long, int, __mmask16,
                           __mmask16);
static const bf_tile_fn tiles[BMR + 1] = {0,       tile_1, tile_2, tile_3,  tile_4,  tile_5, tile_6,
                                          tile_7, tile_8, tile_9, tile_10, tile_11, tile_12};
typedef void (*bf_tilex_fn)(int, int, const uint32_t *, long, const uint32_t *, float *, long, int, __mmask16,
                            __mmask16, const int32_t *);
static const bf_tilex_fn tilesx[BMR + 1] = {0,        tilex_1, tilex_2, tilex_3,  tilex_4,  tilex_5, tilex_6,
                                            tilex_7, tilex_8, tilex_9, tilex_10, tilex_11, tilex_12};

/* A's block of rows ic.., k pc..: packed into Ap, or (bf16 rows whose pairs
 * are whole and aligned) read in place. Returns the block; *ars: pairs
 * between rows, or 0 for slivers of BMR rows */
static TBF const uint32_t *a_block(int ta, const float *A, const uint16_t *Ab, int lda, int in_place, int ic,
                                   int pc, int mc, int kc, uint32_t *Ap, long *ars, const int32_t *cols)
{
    if (cols) { /* A^T's rows listed (mlpc_gemm_bf16_tcols) */
        *ars = 0;
        pack_a_t16x(Ab, lda, cols + ic, pc, mc, kc, Ap);
        return Ap;
    }
    int np = (kc + 1) / 2;
    *ars = ta ? 0 : np;
    if (Ab && !ta && in_place) {
        *ars = lda / 2;
        return (const uint32_t *)(const void *)(Ab + (size_t)ic * lda + pc);
    }
    if (Ab && !ta) {
        for (int r = 0; r < mc; r++) { /* rows of pairs, a zero after an odd kc */
            uint16_t *d = (uint16_t *)(void *)(Ap + (size_t)r * np);
            memcpy(d, Ab + (size_t)(ic + r) * lda + pc, (size_t)kc * sizeof *d);
            if (kc % 2) d[kc] = 0;
        }
    } else if (Ab) {
        pack_a_t16(Ab, lda, ic, pc, mc, kc, Ap);
    } else {
        pack_a(ta, A, lda, ic, pc, mc, kc, Ap);
    }
    return Ap;
}

/* the rows of the next tile with left rows to go: BMR, except that where
 * A is in rows, a last tile of under 6 rows (under 12 accumulators: too few
 * to hide the dot products' latency) shares the last two tiles' rows with
 * the one before (64 rows: 12 x 4 + 8 + 8, not 12 x 5 + 4). Each element's
 * sum is the same whatever tile it is in. */
static inline int tile_rows(int left, int a_rows)
{
    if (left <= BMR) return left;
    if (a_rows && left < BMR + 6 && mlpc_knob(MLPC_KNOB_TILE_SPLIT)) return (left + 1) / 2;
    return BMR;
}

/* the columns of B in equal panels, each a multiple of BNR where it can
 * be: A is packed again for every panel (a layer of 300: one panel, where
 * panels of 256 packed A twice and left a last one of 44 columns) */
static int panel_width(int N)
{
    int panels = (N + BNC - 1) / BNC;
    int width = (N + panels - 1) / panels;
    width = (width + BNR - 1) / BNR * BNR;
    return width > BNC ? BNC : width;
}

/* A in float32 (A) or already in bf16 (Ab); B in float32 (B), packed here
 * panel by panel, or packed whole beforehand (Bw, mlpc_gemm_bf16_pack_b) */
static TBF void gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, const uint16_t *Ab, int lda,
                          const float *B, int ldb, const uint32_t *Bw, float *C, int ldc, float *pack,
                          const int32_t *cols)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    uint32_t *Ap = (uint32_t *)pack;             /* BMC x BKC/2 pairs */
    uint32_t *Bp = Ap + (size_t)BMC * (BKC / 2); /* BKC/2 pairs x BNC */
    int in_place = Ab && K % 2 == 0 && lda % 2 == 0 && ((uintptr_t)Ab & 3) == 0;
    int width = panel_width(N);
    long npw = (K + 1) / 2; /* pairs per sliver of a whole packed B */
    for (int jc = 0; jc < N; jc += width) {
        int nc = N - jc < width ? N - jc : width;
        for (int pc = 0; pc < K; pc += BKC) {
            int kc = K - pc < BKC ? K - pc : BKC, np = (kc + 1) / 2;
            /* the panel's slivers: bs words apart */
            const uint32_t *Bb = Bp;
            long bs = (long)np * BNR;
            if (Bw) {
                Bb = Bw + (size_t)(jc / BNR) * npw * BNR + (size_t)(pc / 2) * BNR;
                bs = npw * BNR;
            } else {
                pack_b(tb, B, ldb, pc, jc, kc, nc, Bp);
            }
            for (int ic = 0; ic < M; ic += BMC) {
                int mc = M - ic < BMC ? M - ic : BMC;
                long ars;
                const uint32_t *Ablk = a_block(ta, A, Ab, lda, in_place, ic, pc, mc, kc, Ap, &ars, cols);
                for (int jr = 0; jr < nc; jr += BNR) {
                    int nr = nc - jr < BNR ? nc - jr : BNR;
                    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffffu : (1u << nr) - 1u);
                    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffffu : nr > 16 ? (1u << (nr - 16)) - 1u : 0u);
                    for (int ir = 0, mr; ir < mc; ir += mr) {
                        mr = tile_rows(mc - ir, ars != 0);
                        tiles[mr](nr > 16 ? 2 : 1, np, Ablk + (size_t)ir * (ta ? np : ars), ars,
                                  Bb + (size_t)(jr / BNR) * bs, C + (size_t)(ic + ir) * ldc + jc + jr, ldc, pc == 0,
                                  m0, m1);
                    }
                }
            }
        }
    }
}

TBF void mlpc_gemm_bf16_avx512(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                               int ldb, float *C, int ldc, float *pack)
{
    gemm_bf16(ta, tb, M, N, K, A, NULL, lda, B, ldb, NULL, C, ldc, pack, NULL);
}

TBF void mlpc_gemm_bf16a_avx512(int ta, int tb, int M, int N, int K, const uint16_t *A, int lda, const float *B,
                                int ldb, float *C, int ldc, float *pack)
{
    gemm_bf16(ta, tb, M, N, K, NULL, A, lda, B, ldb, NULL, C, ldc, pack, NULL);
}

TBF void mlpc_gemm_bf16_pack_b(int tb, int K, int N, const float *B, int ldb, uint32_t *Bw, int s0, int s1)
{
    long npw = (K + 1) / 2;
    for (int sl = s0; sl < s1; sl++) {
        int j0 = sl * BNR, nr = N - j0 < BNR ? N - j0 : BNR;
        /* a sliver's pairs k block by block, as the product packs them */
        for (int pc = 0; pc < K; pc += BKC)
            pack_b(tb, B, ldb, pc, j0, K - pc < BKC ? K - pc : BKC, nr,
                   Bw + (size_t)sl * npw * BNR + (size_t)(pc / 2) * BNR);
    }
}

TBF void mlpc_gemm_bf16_pack_b_rows(int K, int N, const float *B, int ldb, uint32_t *Bw, int k0, int k1)
{
    long npw = (K + 1) / 2;
    for (int sl = 0; sl * BNR < N; sl++) {
        int j0 = sl * BNR, nr = N - j0 < BNR ? N - j0 : BNR;
        pack_b(0, B, ldb, k0, j0, k1 - k0, nr, Bw + (size_t)sl * npw * BNR + (size_t)(k0 / 2) * BNR);
    }
}

TBF void mlpc_gemm_bf16_pb_avx512(int ta, int M, int N, int K, const float *A, const uint16_t *Ab, int lda,
                                  const uint32_t *Bw, float *C, int ldc, float *pack)
{
    gemm_bf16(ta, 0, M, N, K, A, Ab, lda, NULL, 0, Bw, C, ldc, pack, NULL);
}

/* C (M x N) = rows cols[0..M) of A^T B with A in bf16 (K rows, lda apart)
 * and B (K x N) in float32, or packed whole (Bw): gemm_bf16's tiles and
 * blocks for those rows, so each its bits (cpu.c: the weight gradient's
 * rows of a batch's used input columns) */
TBF void mlpc_gemm_bf16_tcols(int M, int N, int K, const uint16_t *Ab, int lda, const int32_t *cols, const float *B,
                              int ldb, const uint32_t *Bw, float *C, int ldc, float *pack)
{
    gemm_bf16(1, 0, M, N, K, NULL, Ab, lda, B, ldb, Bw, C, ldc, pack, cols);
}

/* C = A B over the n listed pairs of k (px, ascending): A in bf16 rows
 * read in place (K and lda even, Ab 4-byte aligned), B packed whole (Bw).
 * The same tiles, panels and k blocks as gemm_bf16, each tile's sums over
 * the listed pairs of the block, continued from the blocks before: each
 * element gets the dense product's dot products in their order less the
 * skipped ones, so its bits where the skipped pairs are +0.0 in every row
 * (but for the sign of a zero sum, as in sparse.c). */
TBF void mlpc_gemm_bf16_pairs(int M, int N, int K, const uint16_t *Ab, int lda, const uint32_t *Bw, const int32_t *px,
                              int n, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (!n) {
        for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    int width = panel_width(N);
    long npw = (K + 1) / 2, ars = lda / 2;
    for (int jc = 0; jc < N; jc += width) {
        int nc = N - jc < width ? N - jc : width;
        const uint32_t *Bb = Bw + (size_t)(jc / BNR) * npw * BNR;
        for (int pc = 0, p0 = 0, first = 1; pc < K; pc += BKC) {
            int p1 = p0;
            while (p1 < n && px[p1] < (pc + BKC) / 2) p1++;
            if (p1 == p0) continue;
            for (int ic = 0; ic < M; ic += BMC) {
                int mc = M - ic < BMC ? M - ic : BMC;
                const uint32_t *Ablk = (const uint32_t *)(const void *)(Ab + (size_t)ic * lda);
                for (int jr = 0; jr < nc; jr += BNR) {
                    int nr = nc - jr < BNR ? nc - jr : BNR;
                    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffffu : (1u << nr) - 1u);
                    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffffu : nr > 16 ? (1u << (nr - 16)) - 1u : 0u);
                    for (int ir = 0, mr; ir < mc; ir += mr) {
                        mr = tile_rows(mc - ir, 1);
                        tilesx[mr](nr > 16 ? 2 : 1, p1 - p0, Ablk + (size_t)ir * ars, ars,
                                   Bb + (size_t)(jr / BNR) * npw * BNR, C + (size_t)(ic + ir) * ldc + jc + jr, ldc,
                                   first, m0, m1, px + p0);
                    }
                }
            }
            first = 0;
            p0 = p1;
        }
    }
}

/* dst = bf16 of ((float)u - shift) * scale, two roundings and then the
 * conversion, as the float gather and pack_a do them */
TBF void mlpc_bf16_bytes_row(const uint8_t *u, int n, const float *shift, const float *scale, uint16_t *dst)
{
    int j = 0;
    for (; j + 32 <= n; j += 32) { /* two vectors a step, one store of 32 */
        __m512 x0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(u + j))));
        __m512 x1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(u + j + 16))));
        x0 = _mm512_mul_ps(_mm512_sub_ps(x0, _mm512_loadu_ps(shift + j)), _mm512_loadu_ps(scale + j));
        x1 = _mm512_mul_ps(_mm512_sub_ps(x1, _mm512_loadu_ps(shift + j + 16)), _mm512_loadu_ps(scale + j + 16));
        _mm512_storeu_si512(dst + j, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
    }
    for (; j < n; j += 16) {
        int k = n - j < 16 ? n - j : 16;
        __mmask16 m = (__mmask16)(k >= 16 ? 0xffffu : (1u << k) - 1u);
        __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, u + j)));
        x = _mm512_mul_ps(_mm512_sub_ps(x, _mm512_maskz_loadu_ps(m, shift + j)), _mm512_maskz_loadu_ps(m, scale + j));
        _mm256_mask_storeu_epi16(dst + j, m, (__m256i)_mm512_cvtneps_pbh(x));
    }
}
#endif

size_t mlpc_gemm_bf16_scratch_floats(void)
{
#ifdef HAVE_BF16_AVX512
    return (size_t)BMC * (BKC / 2) + (size_t)(BKC / 2) * BNC; /* words of Ap and Bp */
#else
    return 0; /* no fast kernel */
#endif
}

/* MLPC_NO_BF16=1 makes this CPU count as one without AVX512_BF16 (the
 * tests of that path, A/B measurements) */
mlpc_gemm_bf16_fn mlpc_gemm_bf16_select(void)
{
    const char *no = getenv("MLPC_NO_BF16");
    if (no && *no && strcmp(no, "0")) return NULL;
#ifdef HAVE_BF16_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bf16"))
        return mlpc_gemm_bf16_avx512;
#endif
    return NULL;
}

mlpc_gemm_bf16a_fn mlpc_gemm_bf16a_select(void)
{
#ifdef HAVE_BF16_AVX512
    if (mlpc_gemm_bf16_select()) return mlpc_gemm_bf16a_avx512;
#endif
    return NULL;
}

mlpc_bf16_row_fn mlpc_bf16_bytes_row_select(void)
{
#ifdef HAVE_BF16_AVX512
    if (mlpc_gemm_bf16_select()) return mlpc_bf16_bytes_row;
#endif
    return NULL;
}

size_t mlpc_gemm_bf16_packed_words(int K, int N)
{
    return (size_t)((K + 1) / 2) * (size_t)((N + BNR_ALL - 1) / BNR_ALL) * BNR_ALL;
}

int mlpc_gemm_bf16_slivers(int N) { return (N + BNR_ALL - 1) / BNR_ALL; }

mlpc_gemm_bf16pb_fn mlpc_gemm_bf16pb_select(void)
{
#ifdef HAVE_BF16_AVX512
    if (mlpc_gemm_bf16_select()) return mlpc_gemm_bf16_pb_avx512;
#endif
    return NULL;
}

mlpc_bf16_pack_fn mlpc_gemm_bf16_pack_select(void)
{
#ifdef HAVE_BF16_AVX512
    if (mlpc_gemm_bf16_select()) return mlpc_gemm_bf16_pack_b;
#endif
    return NULL;
}

mlpc_bf16_pack_rows_fn mlpc_gemm_bf16_pack_rows_select(void)
{
#ifdef HAVE_BF16_AVX512
    if (mlpc_gemm_bf16_select()) return mlpc_gemm_bf16_pack_b_rows;
#endif
    return NULL;
}
