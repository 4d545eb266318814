/* device.c - devices: parsing "cpu"/"cuda:N"/"auto" and sizes, the CUDA
 * plugin loader (dlopen, ABI check), enumeration and selection with
 * one-line reasons, the per-layer placement log and the device-memory check.
 * See device.h for the search order of the plugin. */
#include "backend/device.h"
#include "backend/backend.h"
#include "core/cpuinfo.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MLPC_LIBDIR
#define MLPC_LIBDIR "/usr/local/lib"
#endif

/* ---- names and sizes -------------------------------------------------- */

int mlpc_device_parse(const char *s, mlpc_device *out)
{
    if (!s || !out) return -1;
    mlpc_device d = {MLPC_DEVICE_CPU, 0};
    if (!strcmp(s, "cpu")) {
        d.kind = MLPC_DEVICE_CPU;
    } else if (!strcmp(s, "auto")) {
        d.kind = MLPC_DEVICE_AUTO;
    } else if (!strcmp(s, "cuda")) {
        d.kind = MLPC_DEVICE_CUDA;
    } else if (!strncmp(s, "cuda:", 5)) {
        const char *p = s + 5;
        if (!isdigit((unsigned char)*p)) return -1;
        long v = 0;
        for (; isdigit((unsigned char)*p); p++) {
            v = v * 10 + (*p - '0');
            if (v >= MLPC_CUDA_MAX_DEVICES) return -1;
        }
        if (*p) return -1;
        d.kind = MLPC_DEVICE_CUDA;
        d.index = (int)v;
    } else {
        return -1;
    }
    *out = d;
    return 0;
}

const char *mlpc_device_name(const mlpc_device *d, char *buf, size_t cap)
{
    if (!buf || !cap) return "";
    switch (d ? d->kind : MLPC_DEVICE_CPU) {
    case MLPC_DEVICE_CUDA: snprintf(buf, cap, "cuda:%d", d->index); break;
    case MLPC_DEVICE_AUTO: snprintf(buf, cap, "auto"); break;
    default: snprintf(buf, cap, "cpu"); break;
    }
    return buf;
}

void mlpc_cuda_version_str(int v, char *buf, size_t cap)
{
    if (v <= 0)
        snprintf(buf, cap, "none");
    else if (v % 10)
        snprintf(buf, cap, "%d.%d.%d", v / 1000, (v % 1000) / 10, v % 10);
    else
        snprintf(buf, cap, "%d.%d", v / 1000, (v % 1000) / 10);
}

/* ---- the plugin loader -------------------------------------------------- */

/* The folder of the running program, "" when /proc is not there. */
static void exe_dir(char *buf, size_t cap)
{
    buf[0] = '\0';
    char p[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
    if (n <= 0) return;
    p[n] = '\0';
    char *slash = strrchr(p, '/');
    if (!slash) return;
    *slash = '\0';
    snprintf(buf, cap, "%s", slash == p ? "/" : p);
}

const mlpc_cuda_api *mlpc_cuda_load_path(const char *path, mlpc_error *err)
{
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "CUDA plugin %s cannot be loaded: %s", path,
                    e ? e : "dlopen failed");
        return NULL;
    }
    /* never dlclose'd: the CUDA runtime inside registers exit handlers */
    dlerror();
    void *sym = dlsym(h, MLPC_CUDA_ENTRY);
    const char *e = dlerror();
    if (!sym || e) {
        mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "CUDA plugin %s: no symbol %s (%s); not an mlpc CUDA plugin?", path,
                    MLPC_CUDA_ENTRY, e ? e : "NULL");
        return NULL;
    }
    mlpc_cuda_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer, as POSIX allows */
    const mlpc_cuda_api *api = entry(MLPC_CUDA_ABI_VERSION);
    if (!api) {
        mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                    "CUDA plugin %s does not support ABI version %d of this mlpc (rebuild the plugin with it: make)",
                    path, MLPC_CUDA_ABI_VERSION);
        return NULL;
    }
    if (api->abi_version != MLPC_CUDA_ABI_VERSION || api->struct_size < sizeof(mlpc_cuda_api)) {
        mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                    "CUDA plugin %s has ABI version %u (table of %u bytes), this mlpc needs version %d (%zu bytes); "
                    "rebuild the plugin with this mlpc (make)",
                    path, (unsigned)api->abi_version, (unsigned)api->struct_size, MLPC_CUDA_ABI_VERSION,
                    sizeof(mlpc_cuda_api));
        return NULL;
    }
    if (!api->probe || !api->device_info || !api->check || !api->open || !api->close || !api->upload ||
        !api->set_state || !api->get_state || !api->set_order || !api->train || !api->evaluate ||
        !api->predict || !api->gradient) {
        mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "CUDA plugin %s: its function table is incomplete", path);
        return NULL;
    }
    return api;
}

const mlpc_cuda_api *mlpc_cuda_load(char *path_out, size_t path_cap, mlpc_error *err)
{
    char cand[4][PATH_MAX + 32];
    int nc = 0;
    const char *env = getenv("MLPC_CUDA_PLUGIN");
    if (env && *env) {
        if (path_out && path_cap) snprintf(path_out, path_cap, "%s", env);
        /* a name without a slash would make dlopen search the library path */
        if (!strchr(env, '/')) {
            char rel[PATH_MAX + 8];
            snprintf(rel, sizeof rel, "./%s", env);
            return mlpc_cuda_load_path(rel, err);
        }
        return mlpc_cuda_load_path(env, err);
    }
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    if (dir[0]) {
        snprintf(cand[nc++], sizeof cand[0], "%s/%s", dir, MLPC_CUDA_PLUGIN_NAME);
        snprintf(cand[nc++], sizeof cand[0], "%s/../lib/%s", dir, MLPC_CUDA_PLUGIN_NAME);
    }
    snprintf(cand[nc++], sizeof cand[0], "%s/%s", MLPC_LIBDIR, MLPC_CUDA_PLUGIN_NAME);
    for (int i = 0; i < nc; i++) {
        if (access(cand[i], F_OK) != 0) continue;
        char real[PATH_MAX];
        const char *use = realpath(cand[i], real) ? real : cand[i]; /* no "bin/../lib" in messages */
        if (path_out && path_cap) snprintf(path_out, path_cap, "%s", use);
        return mlpc_cuda_load_path(use, err);
    }
    if (path_out && path_cap) path_out[0] = '\0';
#ifdef MLPC_CUDA_BUILT
    mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                "no CUDA plugin: %s is not in %s, %s/../lib or %s (set MLPC_CUDA_PLUGIN to its path)",
                MLPC_CUDA_PLUGIN_NAME, dir[0] ? dir : "(program folder unknown)", dir[0] ? dir : ".", MLPC_LIBDIR);
#else
    mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                "no CUDA plugin: this mlpc was built without one (no nvcc at build time; make CUDA=1 with the CUDA "
                "toolkit) and %s is not in %s, %s/../lib or %s",
                MLPC_CUDA_PLUGIN_NAME, dir[0] ? dir : "the program's folder", dir[0] ? dir : ".", MLPC_LIBDIR);
#endif
    return NULL;
}

void mlpc_cuda_probe_why(const mlpc_cuda_probe *p, char *buf, size_t cap)
{
    char need[48], have[16];
    mlpc_cuda_version_str(p->runtime_version, need, sizeof need);
    /* the first NVIDIA driver release of each CUDA major version (minor
     * versions run on it through CUDA's minor-version compatibility) */
    static const struct { int major, release; } first[] = {{11, 450}, {12, 525}, {13, 580}};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        if (p->runtime_version / 1000 == first[i].major) {
            size_t n = strlen(need);
            snprintf(need + n, sizeof need - n, " (NVIDIA %d or newer)", first[i].release);
        }
    mlpc_cuda_version_str(p->driver_version, have, sizeof have);
    buf[0] = '\0';
    if (p->error == 0 && p->device_count > 0) return;
    if (p->driver_version == 0 || p->error == MLPC_CUDA_ERR_STUB_LIBRARY) {
        if (p->driver_dlerror[0])
            snprintf(buf, cap, "CUDA driver not found (%s); the plugin needs driver >= %s", p->driver_dlerror, need);
        else if (p->error == MLPC_CUDA_ERR_STUB_LIBRARY)
            snprintf(buf, cap, "CUDA driver not found (libcuda.so.1 is the toolkit's stub, not a driver); the plugin needs driver >= %s",
                     need);
        else
            snprintf(buf, cap, "CUDA driver not found (%s: %s); the plugin needs driver >= %s",
                     p->error_name[0] ? p->error_name : "no driver", p->error_text, need);
        return;
    }
    switch (p->error) {
    case 0:
        snprintf(buf, cap, "the CUDA driver (%s) found no GPU", have);
        return;
    case MLPC_CUDA_ERR_INSUFFICIENT_DRIVER:
        snprintf(buf, cap, "the CUDA driver supports CUDA %s, the plugin needs driver >= %s (update the NVIDIA driver)",
                 have, need);
        return;
    case MLPC_CUDA_ERR_NO_DEVICE: {
        const char *vis = getenv("CUDA_VISIBLE_DEVICES");
        if (vis)
            snprintf(buf, cap, "the CUDA driver (%s) found no GPU (%s; CUDA_VISIBLE_DEVICES=\"%s\")", have,
                     p->error_name, vis);
        else
            snprintf(buf, cap, "the CUDA driver (%s) found no GPU (%s: %s)", have, p->error_name, p->error_text);
        return;
    }
    case MLPC_CUDA_ERR_DRIVER_MISMATCH:
        snprintf(buf, cap, "the NVIDIA kernel module and the user-mode driver differ in version (%s: %s); reboot or reinstall the driver",
                 p->error_name, p->error_text);
        return;
    case MLPC_CUDA_ERR_COMPAT:
        snprintf(buf, cap, "the CUDA forward-compatibility driver does not support this GPU (%s); the plugin needs driver >= %s",
                 p->error_name, need);
        return;
    default:
        snprintf(buf, cap, "cudaGetDeviceCount failed (%s: %s; driver %s, runtime %s)",
                 p->error_name[0] ? p->error_name : "error", p->error_text, have, need);
        return;
    }
}

mlpc_status mlpc_cuda_open_device(int index, const mlpc_cuda_api **api_out, mlpc_cuda_device *info,
                                  mlpc_error *err)
{
    mlpc_error e;
    mlpc_clearerr(&e);
    const mlpc_cuda_api *api = mlpc_cuda_load(NULL, 0, &e);
    if (!api) return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "no usable GPU: %s", e.msg);
    mlpc_cuda_probe p;
    memset(&p, 0, sizeof p);
    api->probe(&p);
    char why[640];
    mlpc_cuda_probe_why(&p, why, sizeof why);
    if (why[0]) return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "no usable GPU: %s", why);
    if (index < 0 || index >= p.device_count) {
        char range[48];
        if (p.device_count == 1)
            snprintf(range, sizeof range, "cuda:0");
        else
            snprintf(range, sizeof range, "cuda:0 to cuda:%d", p.device_count - 1);
        return mlpc_seterr(err, MLPC_ERR_ARG, "no GPU cuda:%d: this machine has %d CUDA device%s (%s)", index,
                           p.device_count, p.device_count == 1 ? "" : "s", range);
    }
    mlpc_cuda_device d;
    memset(&d, 0, sizeof d);
    char msg[512] = "";
    int st = api->device_info(index, 0, &d, msg, sizeof msg);
    if (st) return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "no usable GPU: cuda:%d: %s", index, msg);
    if (d.compute_mode == 2)
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED,
                           "no usable GPU: cuda:%d (%s) is in the prohibited compute mode (nvidia-smi -c DEFAULT)", index,
                           d.name);
    msg[0] = '\0';
    st = api->check(index, msg, sizeof msg);
    if (st) return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "no usable GPU: cuda:%d (%s): %s", index, d.name, msg);
    /* free memory now that the context exists */
    msg[0] = '\0';
    if (api->device_info(index, 1, &d, msg, sizeof msg))
        return mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "no usable GPU: cuda:%d: %s", index, msg);
    if (api_out) *api_out = api;
    if (info) *info = d;
    return MLPC_OK;
}

/* ---- enumeration ---------------------------------------------------------- */

static void cpu_name(char *out, size_t cap)
{
    if (mlpc_cpu_model(out, cap) <= 0) snprintf(out, cap, "unknown CPU");
}

static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024u;
}

/* The NVIDIA driver release ("580.65.06") from the kernel module, "" if none. */
static void driver_release(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    if (!f) return;
    char line[512];
    if (fgets(line, sizeof line, f)) {
        for (char *p = line; *p; p++) {
            if (!isdigit((unsigned char)*p) || (p > line && p[-1] != ' ')) continue;
            size_t n = strspn(p, "0123456789.");
            if (n >= 5 && memchr(p, '.', n)) {
                snprintf(out, cap, "%.*s", (int)n, p);
                break;
            }
        }
    }
    fclose(f);
}

mlpc_status mlpc_device_list_get(mlpc_device_list *out, mlpc_error *err)
{
    if (!out) return mlpc_seterr(err, MLPC_ERR_ARG, "mlpc_device_list_get: no list");
    memset(out, 0, sizeof *out);
    mlpc_device_info *c = &out->dev[out->n++];
    c->dev.kind = MLPC_DEVICE_CPU;
    cpu_name(c->name, sizeof c->name);
    long cores = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    c->cores = cores > 0 ? (int)cores : 1;
    c->memory = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
    c->memory_free = mem_available();
    const char *gemm = "generic";
    mlpc_gemm_select(&gemm);
    snprintf(c->detail, sizeof c->detail, "%s", gemm);

    mlpc_error e;
    mlpc_clearerr(&e);
    const mlpc_cuda_api *api = mlpc_cuda_load(out->cuda_plugin, sizeof out->cuda_plugin, &e);
    if (!api) {
        snprintf(out->cuda_why, sizeof out->cuda_why, "%s", e.msg);
        return MLPC_OK;
    }
    snprintf(out->cuda_build, sizeof out->cuda_build, "%s", api->build ? api->build : "");
    mlpc_cuda_probe p;
    memset(&p, 0, sizeof p);
    api->probe(&p);
    out->cuda_driver = p.driver_version;
    out->cuda_runtime = p.runtime_version;
    driver_release(out->driver_release, sizeof out->driver_release);
    mlpc_cuda_probe_why(&p, out->cuda_why, sizeof out->cuda_why);
    if (out->cuda_why[0]) return MLPC_OK;
    int shown = 0;
    for (int i = 0; i < p.device_count && i < MLPC_CUDA_MAX_DEVICES; i++) {
        mlpc_cuda_device d;
        memset(&d, 0, sizeof d);
        char msg[512] = "";
        if (api->device_info(i, 1, &d, msg, sizeof msg)) {
            if (!out->cuda_why[0]) snprintf(out->cuda_why, sizeof out->cuda_why, "cuda:%d: %.480s", i, msg);
            continue;
        }
        mlpc_device_info *g = &out->dev[out->n++];
        g->dev.kind = MLPC_DEVICE_CUDA;
        g->dev.index = i;
        snprintf(g->name, sizeof g->name, "%s", d.name);
        g->memory = d.total_mem;
        g->memory_free = d.free_mem;
        g->cores = d.multiprocessors;
        g->cc_major = d.cc_major;
        g->cc_minor = d.cc_minor;
        snprintf(g->detail, sizeof g->detail, "%04x:%02x:%02x.0", (unsigned)d.pci_domain, (unsigned)d.pci_bus,
                 (unsigned)d.pci_device);
        shown++;
    }
    if (shown) out->cuda_why[0] = '\0';
    return MLPC_OK;
}

mlpc_status mlpc_device_select(const mlpc_device *want, mlpc_device *got, char *why, size_t why_cap, mlpc_error *err)
{
    char tmp[8];
    if (!why || !why_cap) {
        why = tmp;
        why_cap = sizeof tmp;
    }
    why[0] = '\0';
    mlpc_device w = want ? *want : (mlpc_device){MLPC_DEVICE_CPU, 0};
    if (w.kind == MLPC_DEVICE_CPU) {
        *got = w;
        snprintf(why, why_cap, "cpu (asked for)");
        return MLPC_OK;
    }
    mlpc_cuda_device d;
    if (w.kind == MLPC_DEVICE_CUDA) {
        mlpc_status st = mlpc_cuda_open_device(w.index, NULL, &d, err);
        if (st) return st;
        *got = w;
        char mem[32];
        mlpc_bytes_str(d.total_mem, mem, sizeof mem);
        snprintf(why, why_cap, "cuda:%d (%s, %s, compute capability %d.%d)", w.index, d.name, mem, d.cc_major,
                 d.cc_minor);
        return MLPC_OK;
    }
    /* auto: the first CUDA device that works, else the CPU */
    mlpc_error e;
    mlpc_clearerr(&e);
    mlpc_status st = mlpc_cuda_open_device(0, NULL, &d, &e);
    if (st == MLPC_OK) {
        got->kind = MLPC_DEVICE_CUDA;
        got->index = 0;
        char mem[32];
        mlpc_bytes_str(d.total_mem, mem, sizeof mem);
        snprintf(why, why_cap, "chose cuda:0 (%s, %s, compute capability %d.%d): a test kernel ran on it", d.name,
                 mem, d.cc_major, d.cc_minor);
        return MLPC_OK;
    }
    got->kind = MLPC_DEVICE_CPU;
    got->index = 0;
    snprintf(why, why_cap, "chose cpu: %s", e.msg);
    return MLPC_OK;
}

void mlpc_device_where(const mlpc_device *dev, int threads, char *buf, size_t cap)
{
    if (dev && dev->kind == MLPC_DEVICE_CUDA) {
        mlpc_device_name(dev, buf, cap);
        return;
    }
    const char *gemm = "generic";
    mlpc_gemm_select(&gemm);
    snprintf(buf, cap, "cpu (gemm %s, %d thread%s)", gemm, threads, threads == 1 ? "" : "s");
}

/* ---- sessions: description and memory ------------------------------------ */

mlpc_status mlpc_cuda_check_mem(const mlpc_cuda_mem *m, uint64_t limit, uint64_t free_mem, const char *dev_name,
                                mlpc_error *err)
{
    char t[32], a[32], b[32], c[32], w[32], lim[32];
    mlpc_bytes_str(m->total, t, sizeof t);
    mlpc_bytes_str(m->data, a, sizeof a);
    mlpc_bytes_str(m->params + m->optimizer, b, sizeof b);
    mlpc_bytes_str(m->acts, c, sizeof c);
    mlpc_bytes_str(m->workspace, w, sizeof w);
    if (limit && m->total > limit) {
        mlpc_bytes_str(limit, lim, sizeof lim);
        return mlpc_seterr(err, MLPC_ERR_ARG,
                           "--gpu-memory-limit %s: %s needs %s (data %s, parameters and optimizer %s, activations %s, "
                           "workspace %s); nothing was allocated",
                           lim, dev_name, t, a, b, c, w);
    }
    if (free_mem && m->total > free_mem) {
        mlpc_bytes_str(free_mem, lim, sizeof lim);
        return mlpc_seterr(err, MLPC_ERR_NOMEM,
                           "%s has %s free but this run needs %s (data %s, parameters and optimizer %s, activations %s, "
                           "workspace %s); nothing was allocated",
                           dev_name, lim, t, a, b, c, w);
    }
    return MLPC_OK;
}
