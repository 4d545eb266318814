/* gemm_avx512.c - packed GEMM for AVX-512F (compiled with -mavx512f ...).
 * MR 8 x NR 48: 24 zmm accumulators, 3 loads of B and 8 broadcasts per 24
 * FMAs; 48 columns fit 100 and 200 wide layers well. Narrow column edges use
 * masked loads and stores instead of packing. */
#include <immintrin.h>

#define GEMM_NAME mlpc_gemm_avx512
#define GEMM_COLS_NAME mlpc_gemm_avx512_cols
#define GEMM_TCOLS_NAME mlpc_gemm_avx512_tcols
#define VW 16
#define MR 8
#define NR 48
#define WIDE_MR 12 /* 12 x 2 accumulators + 2 of B fit the 32 zmm */
#define LOAD_N(p, n) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define STORE_N(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))
#define FMA_S(a, b, c) ((vf)_mm512_fmadd_ps(_mm512_set1_ps(a), (__m512)(b), (__m512)(c)))

#include "kernels/transpose16.h"

/* B^T's sliver: Bp[k * 48 + j] = B[(j0 + j) * ldb + k0 + k], zero for
 * j >= nr; 16 rows of B by 16 k at a time through registers. Element by
 * element (each store to another line) this packing made the deltas'
 * products D W^T 15-35% slower than D W at W2's and W5's shapes. */
static void pack_bt_avx512(const float *B, int ldb, int k0, int j0, int kc, int nr, float *Bp)
{
    for (int g = 0; g < 48; g += 16)
        for (int k = 0; k < kc; k += 16) {
            int kn = kc - k < 16 ? kc - k : 16;
            __mmask16 km = (__mmask16)(kn == 16 ? 0xffffu : (1u << kn) - 1u);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = g + i < nr ? _mm512_maskz_loadu_ps(km, B + (size_t)(j0 + g + i) * ldb + k0 + k)
                                  : _mm512_setzero_ps();
            mlpc_transpose16(r);
            for (int i = 0; i < kn; i++) _mm512_storeu_ps(Bp + (size_t)(k + i) * 48 + g, r[i]);
        }
}
#define PACK_BT pack_bt_avx512
#include "kernels/gemm_impl.h"
