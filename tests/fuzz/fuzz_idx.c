/* fuzz_idx.c - the IDX loader (mlpc_dataset_load_idx): images and labels
 * files cut from one input (fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    size_t cut = fuzz_split(data, n);
    const uint8_t *body = n >= 2 ? data + 2 : data;
    size_t len = n >= 2 ? n - 2 : 0;
    const char *im = fuzz_write(0, "-images-idx3-ubyte", body, cut);
    const char *lb = fuzz_write(1, "-labels-idx1-ubyte", body + cut, len - cut);
    if (!im || !lb) return 0;
    mlpc_error err;
    fuzz_use(mlpc_dataset_load_idx(im, (n >= 2 && (data[1] & 0x80)) ? NULL : lb, &err));
    return 0;
}
