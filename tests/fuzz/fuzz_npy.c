/* fuzz_npy.c - the NPY loader (mlpc_dataset_load_npy): features and labels
 * files cut from one input (fuzz_common.h); the top bit of the second byte
 * leaves the labels out. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    size_t cut = fuzz_split(data, n);
    const uint8_t *body = n >= 2 ? data + 2 : data;
    size_t len = n >= 2 ? n - 2 : 0;
    const char *fx = fuzz_write(0, "-x.npy", body, cut);
    const char *fy = fuzz_write(1, "-y.npy", body + cut, len - cut);
    if (!fx || !fy) return 0;
    mlpc_error err;
    fuzz_use(mlpc_dataset_load_npy(fx, (n >= 2 && (data[1] & 0x80)) ? NULL : fy, &err));
    return 0;
}
