/* thread_count_cache.c - `--threads auto` for the CLI: look the choice up in a
 * per-machine cache ($XDG_CACHE_HOME or ~/.cache, mlpc/threads.tsv, keyed by
 * CPU model, core count, layers, activations, loss, optimizer and batch),
 * else calibrate with mlpc_calibrate_threads and store the result. Prints
 * what it chose and why. */
#include "cli.h"
#include "core/core.h"
#include "core/cpuinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void cpu_model(char *out, size_t cap)
{
    if (mlpc_cpu_model(out, cap) < 0) snprintf(out, cap, "unknown-cpu");
}

static int cache_path(char *out, size_t cap, int make_dir)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[768];
    if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/mlpc", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.cache/mlpc", home);
    else
        return -1;
    if (make_dir) {
        char parent[768];
        snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(dir, '/') - dir), dir);
        mkdir(parent, 0755);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    }
    snprintf(out, cap, "%s/threads.tsv", dir);
    return 0;
}

static void make_key(const mlpc_config *cfg, int cores, char *key, size_t cap)
{
    char model[256];
    cpu_model(model, sizeof model);
    size_t n = (size_t)snprintf(key, cap, "%s|%d|", model, cores);
    for (int i = 0; i <= cfg->n_layers && n < cap; i++)
        n += (size_t)snprintf(key + n, cap - n, "%s%d", i ? "-" : "", cfg->sizes[i]);
    for (int l = 0; l < cfg->n_layers && n < cap; l++)
        n += (size_t)snprintf(key + n, cap - n, "%c%s", l ? ',' : '|', mlpc_act_name(cfg->act[l]));
    if (n < cap)
        snprintf(key + n, cap - n, "|%s|%s|%d|v%s", mlpc_loss_name(cfg->loss), mlpc_opt_name(cfg->opt),
                 cfg->batch, MLPC_VERSION_STRING);
}

/* Returns the cached thread count for key, or 0. */
static int cache_get(const char *key)
{
    char path[800], line[2048];
    if (cache_path(path, sizeof path, 0)) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int found = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == '\t') found = atoi(line + kl + 1);
    fclose(f);
    return found;
}

static void cache_put(const char *key, int threads)
{
    char path[800];
    if (cache_path(path, sizeof path, 1)) return;
    FILE *f = fopen(path, "a"); /* one short line: appends are atomic enough */
    if (!f) return;
    fprintf(f, "%s\t%d\n", key, threads);
    fclose(f);
}

int cli_threads_auto(const mlpc_config *cfg, int quiet, int *threads, mlpc_error *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int max = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    char key[1024];
    make_key(cfg, max, key, sizeof key);
    int cached = cache_get(key);
    if (cached >= 1 && cached <= max) {
        *threads = cached;
        if (!quiet) printf("threads auto: %d (cached calibration for this machine and net)\n", cached);
        return 0;
    }
    char why[512];
    double step;
    double t0 = mlpc_now();
    if (mlpc_calibrate_threads(cfg, max, threads, &step, why, sizeof why, err) != MLPC_OK) return -1;
    cache_put(key, *threads);
    if (!quiet)
        printf("threads auto: %d, calibrated in %.2fs on %d cores; %s\n", *threads, mlpc_now() - t0, max, why);
    return 0;
}
