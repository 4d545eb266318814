/* batch.c - the CPU backend's batch preparation: what the trainer does to a
 * batch before the products run, over the kernels it needs (kernels/byte_rows.c,
 * kernels/sparse.c), which stay sealed behind the backend (docs/design.md,
 * rule 2). CPU-only by nature: a device keeps its batches on the device. */
#include "backend/backend.h"
#include "kernels/kernels.h"

uint8_t *mlpc_batch_byte_rows_build(const float *x, size_t n, size_t n_in, const float *shift, const float *scale)
{
    return mlpc_byte_rows_build(x, n, n_in, shift, scale);
}

void mlpc_batch_byte_rows_gather(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m, const float *shift,
                             const float *scale, float *dst)
{
    mlpc_byte_rows_gather(bytes, n_in, rows, m, shift, scale, dst);
}

void mlpc_batch_byte_rows_prefetch(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m)
{
    mlpc_byte_rows_prefetch(bytes, n_in, rows, m);
}

size_t mlpc_batch_bf16_packed_words(int K, int N)
{
    return mlpc_gemm_bf16_pack_rows_select() ? mlpc_gemm_bf16_packed_words(K, N) : 0;
}

/* called for every chunk of every update (trainer.c, update_range): the
 * kernel found once (its select reads MLPC_NO_BF16 each time: 0.4% of
 * W5's bf16 epoch). Only a trainer that found it when created packs, so
 * keeping it when MLPC_NO_BF16 is set later changes nothing. */
int mlpc_batch_bf16_pack_rows(int K, int N, const float *w, uint32_t *pk, int k0, int k1)
{
    static mlpc_bf16_pack_rows_fn found;
    mlpc_bf16_pack_rows_fn f = __atomic_load_n(&found, __ATOMIC_RELAXED);
    if (!f) {
        f = mlpc_gemm_bf16_pack_rows_select();
        __atomic_store_n(&found, f, __ATOMIC_RELAXED);
    }
    if (!f) return 0;
    f(K, N, w, N, pk, k0, k1);
    return 1;
}

int mlpc_batch_byte_rows_gather_bf16(const uint8_t *bytes, size_t n_in, const uint32_t *rows, int m,
                                     const float *shift, const float *scale, uint16_t *dst, int ldb)
{
    return mlpc_byte_rows_gather_bf16(bytes, n_in, rows, m, shift, scale, dst, ldb);
}

int mlpc_batch_active_cols(const float *x, int m, int n, int32_t *idx)
{
    return mlpc_k_active_cols(x, m, n, idx);
}
