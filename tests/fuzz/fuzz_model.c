/* fuzz_model.c - the model-file reader (mlpc_net_load_buffer, the format of
 * docs/model-format.md); what it accepts is saved back. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    mlpc_error err;
    mlpc_net *net = mlpc_net_load_buffer(data, n, "fuzz", &err);
    if (!net) return 0;
    /* a loaded net must be usable: save it back */
    void *buf = NULL;
    size_t len = 0;
    if (mlpc_net_save_buffer(net, &buf, &len, &err) == MLPC_OK) mlpc_free(buf);
    mlpc_net_free(net);
    return 0;
}
