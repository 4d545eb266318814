/* cmd_devices.c - `mlpc devices`: the CPU and every CUDA device (or why
 * there is none), and the --device/--gpu-memory-limit/--log-device flags
 * shared by train, eval and predict. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static cli_flag devices_flags[] = {
    CLI_FLAG("json", NULL, NULL, "print the list as one JSON object", "Output"),
    CLI_FLAG("help", NULL, NULL, "show this help and exit", NULL),
};

static const char SUMMARY[] =
    "Lists where mlpc can compute: the CPU (model, cores, the GEMM variant chosen\n"
    "for it at run time, memory) and each CUDA GPU (index, name, memory, compute\n"
    "capability), with the CUDA driver and runtime versions, or one line saying\n"
    "why there is no GPU (no CUDA plugin, the plugin cannot be loaded, no driver,\n"
    "a driver too old, no device). Use the names with --device (cpu, cuda:N).\n"
    "Exit status: 0 ok (also without a GPU), 2 usage error.";

static void gib(uint64_t b, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.1f GiB", (double)b / (1024.0 * 1024.0 * 1024.0));
}

static void version(int v, char *buf, size_t cap)
{
    if (v <= 0)
        snprintf(buf, cap, "none");
    else
        snprintf(buf, cap, "%d.%d", v / 1000, (v % 1000) / 10);
}

static int print_json(const mlpc_device_list *l)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *cu = cJSON_CreateObject();
    if (!o || !arr || !cu) {
        cJSON_Delete(o);
        cJSON_Delete(arr);
        cJSON_Delete(cu);
        return -1;
    }
    cJSON_AddItemToObject(o, "devices", arr);
    for (int i = 0; i < l->n; i++) {
        const mlpc_device_info *d = &l->dev[i];
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddItemToArray(arr, e);
        char name[32];
        cJSON_AddStringToObject(e, "device", mlpc_device_name(&d->dev, name, sizeof name));
        cJSON_AddStringToObject(e, "name", d->name);
        cJSON_AddNumberToObject(e, "memory", (double)d->memory);
        cJSON_AddNumberToObject(e, "memory_free", (double)d->memory_free);
        if (d->dev.kind == MLPC_DEVICE_CPU) {
            cJSON_AddNumberToObject(e, "cores", d->cores);
            cJSON_AddStringToObject(e, "gemm", d->detail);
        } else {
            char cc[16];
            snprintf(cc, sizeof cc, "%d.%d", d->cc_major, d->cc_minor);
            cJSON_AddStringToObject(e, "compute_capability", cc);
            cJSON_AddNumberToObject(e, "multiprocessors", d->cores);
            cJSON_AddStringToObject(e, "pci_bus_id", d->detail);
        }
    }
    cJSON_AddItemToObject(o, "cuda", cu);
    int gpus = l->n - 1;
    cJSON_AddBoolToObject(cu, "available", gpus > 0);
    cJSON_AddNumberToObject(cu, "devices", gpus);
    if (l->cuda_why[0])
        cJSON_AddStringToObject(cu, "reason", l->cuda_why);
    else
        cJSON_AddNullToObject(cu, "reason");
    char v[16];
    if (l->cuda_plugin[0])
        cJSON_AddStringToObject(cu, "plugin", l->cuda_plugin);
    else
        cJSON_AddNullToObject(cu, "plugin");
    if (l->cuda_build[0])
        cJSON_AddStringToObject(cu, "build", l->cuda_build);
    else
        cJSON_AddNullToObject(cu, "build");
    if (l->cuda_driver > 0) {
        version(l->cuda_driver, v, sizeof v);
        cJSON_AddStringToObject(cu, "driver_version", v);
    } else {
        cJSON_AddNullToObject(cu, "driver_version");
    }
    if (l->driver_release[0])
        cJSON_AddStringToObject(cu, "driver_release", l->driver_release);
    else
        cJSON_AddNullToObject(cu, "driver_release");
    if (l->cuda_runtime > 0) {
        version(l->cuda_runtime, v, sizeof v);
        cJSON_AddStringToObject(cu, "runtime_version", v);
    } else {
        cJSON_AddNullToObject(cu, "runtime_version");
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return -1;
    printf("%s\n", s);
    cJSON_free(s);
    return 0;
}

static void print_text(const mlpc_device_list *l)
{
    char mem[32], fr[32], v[16];
    for (int i = 0; i < l->n; i++) {
        const mlpc_device_info *d = &l->dev[i];
        char name[32];
        mlpc_device_name(&d->dev, name, sizeof name);
        gib(d->memory, mem, sizeof mem);
        gib(d->memory_free, fr, sizeof fr);
        if (d->dev.kind == MLPC_DEVICE_CPU)
            printf("%-8s %s (%d core%s, gemm %s, %s memory, %s free, %s)\n", name, d->name, d->cores,
                   d->cores == 1 ? "" : "s", d->detail, mem, fr,
                   mlpc_cpu_has_bf16() ? "bf16: AVX512_BF16" : "bf16: none");
        else
            printf("%-8s %s (compute capability %d.%d, %d SMs, %s memory, %s free, pci %s)\n", name, d->name,
                   d->cc_major, d->cc_minor, d->cores, mem, fr, d->detail);
    }
    if (l->n == 1) printf("%-8s none: %s\n", "cuda", l->cuda_why);
    if (l->cuda_plugin[0] && l->cuda_runtime > 0) {
        version(l->cuda_driver, v, sizeof v);
        if (l->cuda_driver > 0)
            printf("%-8s CUDA %s%s%s\n", "driver", v, l->driver_release[0] ? ", NVIDIA " : "", l->driver_release);
        else
            printf("%-8s none\n", "driver");
        version(l->cuda_runtime, v, sizeof v);
        printf("%-8s CUDA %s in %s (%s)\n", "runtime", v, l->cuda_plugin, l->cuda_build);
    }
}

int cmd_devices(int argc, char **argv)
{
    cli_cmd c;
    cli_cmd_init(&c, "devices", "mlpc devices [--json]", SUMMARY, devices_flags,
                 (int)(sizeof devices_flags / sizeof devices_flags[0]), 0);
    int rc = cli_parse_or_help(&c, argc, argv);
    if (rc) {
        rc = rc < 0 ? 0 : rc; /* -1: --help was shown */
        goto done;
    }
    mlpc_device_list *l = malloc(sizeof *l);
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (!l) {
        cli_error(&c, "out of memory");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    mlpc_status st = mlpc_device_list_get(l, &err);
    if (st != MLPC_OK) {
        rc = cli_lib_error(&c, NULL, st, err.msg);
    } else if (cli_flag_get(&c, "json")->on) {
        if (print_json(l)) {
            cli_error(&c, "out of memory");
            rc = CLI_EXIT_INTERNAL;
        }
    } else {
        print_text(l);
    }
    free(l);
done:
    cli_cmd_free(&c);
    return rc;
}

/* ---- --device, --gpu-memory-limit, --log-device ------------------------ */

int cli_device_setup(cli_cmd *c, int quiet, cli_device *out)
{
    memset(out, 0, sizeof *out);
    cli_flag *fd = cli_flag_get(c, "device"), *fl = cli_flag_get(c, "gpu-memory-limit");
    out->log = cli_flag_get(c, "log-device")->on;
    mlpc_device want;
    if (mlpc_device_parse(fd->value ? fd->value : "", &want) != 0)
        return cli_bad_value(c, fd, "unknown device (cpu, cuda, cuda:N, auto; see mlpc devices)");
    if (!cli_is(fl, "none")) {
        if (mlpc_size_parse(fl->value ? fl->value : "", &out->mem_limit) != 0)
            return cli_bad_value(c, fl, "not a size (a number with an optional K, M, G or T suffix, e.g. 1024M or 2G)");
        if (out->mem_limit == 0) return cli_bad_value(c, fl, "must be more than 0 bytes");
        if (want.kind == MLPC_DEVICE_CPU)
            return cli_bad_value(c, fl, "only applies to a GPU (--device cuda, cuda:N or auto)");
    }
    char why[768];
    mlpc_error err;
    memset(&err, 0, sizeof err);
    if (mlpc_device_select(&want, &out->dev, why, sizeof why, &err) != MLPC_OK) {
        cli_error(c, "--device %s: %s", fd->value, err.msg);
        return CLI_EXIT_USAGE;
    }
    if (want.kind == MLPC_DEVICE_AUTO && !quiet) {
        fflush(stdout);
        fprintf(stderr, "mlpc %s: --device auto: %s\n", c->name, why);
        fflush(stderr);
    }
    return 0;
}

void cli_device_log(const cli_cmd *c, const cli_device *d, const mlpc_net *net, int threads, int training)
{
    if (!d->log) return;
    char buf[8192];
    if (mlpc_device_plan(net, &d->dev, threads, training, buf, sizeof buf) < 0) return;
    fflush(stdout);
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        fprintf(stderr, "mlpc %s: device: %s\n", c->name, line);
        if (!nl) break;
        line = nl + 1;
    }
    fflush(stderr);
}

int cli_net_device(cli_cmd *c, const cli_device *d, mlpc_net *net, int threads)
{
    mlpc_status st = mlpc_net_set_threads(net, threads);
    if (st == MLPC_OK && d->dev.kind != MLPC_DEVICE_CPU) {
        st = mlpc_net_set_device(net, &d->dev, d->mem_limit);
        if (st != MLPC_OK) {
            cli_error(c, "--device %s: %s", cli_flag_get(c, "device")->value, mlpc_net_error(net)->msg);
            return st == MLPC_ERR_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
        }
    }
    if (st != MLPC_OK) return cli_lib_error(c, NULL, st, mlpc_net_error(net)->msg);
    cli_device_log(c, d, net, threads, 0);
    return 0;
}
