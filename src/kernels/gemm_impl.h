/* gemm_impl.h - the packed, register-blocked GEMM body, shared by the
 * per-instruction-set files (gemm_generic.c, gemm_avx2.c, gemm_avx512.c),
 * each of which defines GEMM_NAME, VW (floats per vector), MR and NR (the
 * micro-tile) and is compiled with its own -m flags.
 *
 * C = alpha op(A) op(B) + beta C, row-major, single-threaded; the caller
 * splits the work over threads. Blocking (BLIS style): NC columns of B,
 * KC deep panels, MC rows of A packed into MR-row slivers; B slivers are read
 * in place when B is not transposed (no packing for the common forward
 * product), packed otherwise. The k order per element is fixed, so results
 * do not depend on how the caller splits M or N. */
#include "backend/backend.h"

#include <string.h>

#define KC 256
#define MC (MR * (128 / MR))
#define NC (NR * 64)

typedef float vf __attribute__((vector_size(VW * 4), aligned(4)));
#define NV (NR / VW)

/* op(A)[i][k] and op(B)[k][j] */
#define OPA(i, k) (ta ? A[(size_t)(k) * lda + (i)] : A[(size_t)(i) * lda + (k)])
#define OPB(k, j) (tb ? B[(size_t)(j) * ldb + (k)] : B[(size_t)(k) * ldb + (j)])

/* MR x NR tile over kc steps: Ap is kc x MR (packed), Bp is kc rows of NR
 * floats with row stride bs. Writes the valid mr x nr part of C. */
static void micro_kernel(int kc, const float *restrict Ap, const float *restrict Bp, long bs,
                         float *restrict C, long ldc, int mr, int nr, float alpha, float beta)
{
    vf acc[MR][NV]; /* kept in registers: no memset/memcpy on it */
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) acc[r][j] = (vf){0};
    for (int k = 0; k < kc; k++) {
        vf b[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) b[j] = *(const vf *)(Bp + k * bs + j * VW);
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
            float a = Ap[k * MR + r];
#pragma GCC unroll 8
            for (int j = 0; j < NV; j++) acc[r][j] += a * b[j];
        }
    }
    if (mr == MR && nr == NR) {
        for (int r = 0; r < MR; r++)
            for (int j = 0; j < NV; j++) {
                vf *c = (vf *)(C + r * ldc + j * VW);
                *c = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * *c;
            }
        return;
    }
    float t[MR][NR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) *(vf *)&t[r][j * VW] = acc[r][j];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float *c = &C[r * ldc + j];
            *c = beta == 0.0f ? alpha * t[r][j] : alpha * t[r][j] + beta * *c;
        }
}

#ifdef LOAD_N
/* The same tile for a partial sliver of nr < NR columns read in place with
 * masked loads (LOAD_N(p, n) loads n <= VW floats, the rest zero, and never
 * touches memory past p + n): no packing for narrow layers such as 30 or
 * 10 units. */
static void micro_kernel_edge(int kc, const float *restrict Ap, const float *restrict Bp, long bs,
                              float *restrict C, long ldc, int mr, int nr, float alpha, float beta)
{
    vf acc[MR][NV];
    int cnt[NV];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) acc[r][j] = (vf){0};
    for (int j = 0; j < NV; j++) cnt[j] = nr - j * VW < 0 ? 0 : (nr - j * VW > VW ? VW : nr - j * VW);
    for (int k = 0; k < kc; k++) {
        vf b[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) b[j] = LOAD_N(Bp + k * bs + j * VW, cnt[j]);
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
            float a = Ap[k * MR + r];
#pragma GCC unroll 8
            for (int j = 0; j < NV; j++) acc[r][j] += a * b[j];
        }
    }
    float t[MR][NR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) *(vf *)&t[r][j * VW] = acc[r][j];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float *c = &C[r * ldc + j];
            *c = beta == 0.0f ? alpha * t[r][j] : alpha * t[r][j] + beta * *c;
        }
}
#define EDGE_IN_PLACE 1
#else
#define EDGE_IN_PLACE 0
#define micro_kernel_edge micro_kernel
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
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            float bet = pc == 0 ? beta : 1.0f;
            /* B slivers: in place when possible, else packed */
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = nc - jr < NR ? nc - jr : NR;
                if (tb || (nr < NR && !EDGE_IN_PLACE)) pack_b(tb, B, ldb, pc, jc + jr, kc, nr, Bp + (size_t)jr * kc);
            }
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                pack_a(ta, A, lda, ic, pc, mc, kc, Ap);
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
                    int edge = nr < NR && !tb;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        (edge ? micro_kernel_edge : micro_kernel)(kc, Ap + (size_t)ir * kc, bs, bstride,
                                     C + (size_t)(ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, bet);
                    }
                }
            }
        }
    }
}
