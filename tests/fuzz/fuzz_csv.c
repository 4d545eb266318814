/* fuzz_csv.c - the CSV loader (mlpc_dataset_load_csv): the first byte picks
 * the options (header, delimiter, task, label column), the rest is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    uint8_t o = data[0];
    const char *p = fuzz_write(0, ".csv", data + 1, n - 1);
    if (!p) return 0;
    mlpc_csv_options opt;
    mlpc_csv_options_default(&opt);
    opt.header = (int)(o & 3) - 1; /* -1, 0, 1 (2: also 1) */
    if (opt.header > 1) opt.header = 1;
    static const char delims[] = {0, ',', ';', '\t'};
    opt.delim = delims[(o >> 2) & 3];
    if (o & 0x10) {
        opt.task = MLPC_TASK_REGRESS;
        opt.n_targets = 1 + ((o >> 5) & 1);
    }
    if (o & 0x40) opt.label_col = "0";
    mlpc_error err;
    if (o & 0x80)
        fuzz_use(mlpc_dataset_load_csv_features(p, opt.header, &err));
    else
        fuzz_use(mlpc_dataset_load_csv(p, &opt, &err));
    return 0;
}
