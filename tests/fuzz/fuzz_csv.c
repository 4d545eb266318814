/* fuzz_csv.c - the CSV loader (mlpc_dataset_load_csv): the first byte picks
 * the options (header, delimiter, task, label column), the rest is the file.
 * The byte's bits also vary the missing-value mode, the target spec (a
 * range, a list: one-hot columns) and known class names, and the same
 * bytes are read once more as a labels file (mlpc_dataset_load_pair). */
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
    static const char *const specs[] = {"0", "1-2", "0,2", "a:c"};
    static const char *const known[] = {"0", "1", "a"};
    if (o & 0x40) opt.label_col = specs[(o >> 2) & 3];
    opt.missing = (mlpc_missing)((o >> 4) % 3);
    if (o & 0x20) {
        opt.class_names = known;
        opt.n_class_names = (o & 1) ? 3 : 0;
    }
    mlpc_error err;
    if (o & 0x80)
        fuzz_use(mlpc_dataset_load_csv_features(p, opt.header, &err));
    else
        fuzz_use(mlpc_dataset_load_csv(p, &opt, &err));
    if ((o & 0xC0) == 0xC0) fuzz_use(mlpc_dataset_load_pair(p, p, &opt, &err));
    return 0;
}
