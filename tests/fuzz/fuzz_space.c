/* fuzz_space.c - the search space reader (SPACE.json, srch_space_parse in
 * src/search/space.c) and what the search does next with a space it
 * accepted: the sampler check, the data-dependent defaults, a few sampled
 * trials, their configs, params JSON, the reproducing `mlpc train` command
 * and the canonical text. The first byte picks has-validation and task. */
#include "fuzz_common.h"
#include "search/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 1) return 0;
    uint8_t o = data[0];
    char *text = malloc(n);
    if (!text) return 0;
    memcpy(text, data + 1, n - 1);
    text[n - 1] = '\0';
    static srch_space s;
    mlpc_error err;
    int regress = o & 1, has_val = (o >> 1) & 1;
    if (srch_space_parse(&s, "fuzz.json", text, &err) == 0 && srch_space_check(&s, &err) == 0 &&
        srch_space_resolve(&s, has_val, regress, &err) == 0) {
        static char buf[1 << 16];
        int lo, hi;
        srch_threads_range(&s, &lo, &hi);
        srch_space_canon(&s, buf, sizeof buf);
        for (int t = 0; t < 3; t++) {
            srch_point pt;
            mlpc_config cfg;
            if (srch_sample(&s, t, &pt, &err)) break;
            if (srch_point_config(&s, &pt, t, 20, regress ? 2 : 3, regress, &cfg, &err)) continue;
            srch_params_json(&s, &cfg, buf, sizeof buf);
            srch_train_command(&s, &cfg, buf, sizeof buf);
        }
    }
    free(text);
    return 0;
}
