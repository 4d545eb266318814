/* test_device.c - devices without a GPU: device names and sizes, the CUDA
 * plugin loader's errors (a missing file and a file that is no library give
 * the dlerror text; a plugin of another ABI version or without the entry
 * point is refused), the reasons for "no GPU" (no driver, an old driver, no
 * device) from stand-in plugins (tests/fake_cuda_plugin.c, built next to
 * this program), device selection (auto falls back to the CPU and says
 * why), the per-layer placement log, and the device-memory plan checked
 * against --gpu-memory-limit before anything is allocated, and the trainer's
 * and the net's device paths end to end through the stand-in GPU. */
#include "testutil.h"

#include "backend/device.h"
#include "train/devsess.h"
#include "train/train.h"

#include <limits.h>
#include <math.h>

/* path of a file next to this test program */
static const char *beside(const char *name)
{
    static char buf[4][PATH_MAX + 64];
    static int k;
    char *p = buf[k++ & 3];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    assert_true(strlen(name) < 60);
    snprintf(p, PATH_MAX + 64, "%s/%.60s", exe, name);
    return p;
}

#define HAS(s, sub)                                                                                  \
    do {                                                                                             \
        if (!strstr((s), (sub))) {                                                                   \
            print_error("'%s' does not contain '%s'\n", (s), (sub));                                 \
            fail();                                                                                  \
        }                                                                                            \
    } while (0)

static void one_line(const char *s)
{
    assert_null(strchr(s, '\n'));
    assert_true(strlen(s) > 0);
}

/* ---- names ---------------------------------------------------------------- */

static void test_device_parse(void **state)
{
    (void)state;
    mlpc_device d;
    assert_int_equal(mlpc_device_parse("cpu", &d), 0);
    assert_int_equal(d.kind, MLPC_DEVICE_CPU);
    assert_int_equal(mlpc_device_parse("auto", &d), 0);
    assert_int_equal(d.kind, MLPC_DEVICE_AUTO);
    assert_int_equal(mlpc_device_parse("cuda", &d), 0);
    assert_int_equal(d.kind, MLPC_DEVICE_CUDA);
    assert_int_equal(d.index, 0);
    assert_int_equal(mlpc_device_parse("cuda:3", &d), 0);
    assert_int_equal(d.kind, MLPC_DEVICE_CUDA);
    assert_int_equal(d.index, 3);
    assert_int_equal(mlpc_device_parse("cuda:15", &d), 0);
    assert_int_equal(d.index, 15);
    static const char *const bad[] = {"", "CPU", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "cuda:16",
                                      "cuda:99999999999999999999", "cuda 1", " cpu", "cpu ", "cuda0", "tpu"};
    d.kind = MLPC_DEVICE_AUTO;
    d.index = 7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mlpc_device_parse(bad[i], &d) != -1) {
            print_error("'%s' parsed\n", bad[i]);
            fail();
        }
    }
    assert_int_equal(d.kind, MLPC_DEVICE_AUTO); /* untouched on failure */
    assert_int_equal(d.index, 7);
    assert_int_equal(mlpc_device_parse(NULL, &d), -1);
    char buf[16];
    mlpc_device c3 = {MLPC_DEVICE_CUDA, 3};
    assert_string_equal(mlpc_device_name(&c3, buf, sizeof buf), "cuda:3");
    mlpc_device cpu = {MLPC_DEVICE_CPU, 0};
    assert_string_equal(mlpc_device_name(&cpu, buf, sizeof buf), "cpu");
}

static void test_size_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"65536", 65536},
        {"1K", 1024},
        {"1k", 1024},
        {"1024M", 1073741824ull},
        {"1G", 1073741824ull},
        {"1.5G", 1610612736ull},
        {"2T", 2199023255552ull},
        {"512KiB", 524288},
        {"512KB", 524288},
        {"100MiB", 104857600ull},
        {"4096B", 4096},
        {"0.5K", 512},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        if (mlpc_size_parse(ok[i].s, &v) != 0 || v != ok[i].v) {
            print_error("'%s': got %llu, expected %llu\n", ok[i].s, (unsigned long long)v,
                        (unsigned long long)ok[i].v);
            fail();
        }
    }
    static const char *const bad[] = {"", "M", "-1G", "+1G", " 1G", "1G ", "1.G", ".5G", "1Q", "1GG", "1iB",
                                      "1e3", "abc", "1,5G", "99999999999T", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 77;
        if (mlpc_size_parse(bad[i], &v) != -1 || v != 77) {
            print_error("'%s' parsed as %llu\n", bad[i], (unsigned long long)v);
            fail();
        }
    }
    char buf[32];
    mlpc_bytes_str(1536ull << 20, buf, sizeof buf);
    assert_string_equal(buf, "1.50 GiB");
    mlpc_bytes_str(300ull << 20, buf, sizeof buf);
    assert_string_equal(buf, "300 MiB");
    mlpc_bytes_str(100, buf, sizeof buf);
    assert_string_equal(buf, "100 B");
    mlpc_cuda_version_str(13000, buf, sizeof buf);
    assert_string_equal(buf, "13.0");
    mlpc_cuda_version_str(12040, buf, sizeof buf);
    assert_string_equal(buf, "12.4");
}

/* ---- the loader ------------------------------------------------------------- */

static void test_load_missing_file(void **state)
{
    (void)state;
    mlpc_error e;
    mlpc_clearerr(&e);
    const char *path = tu_path("no-such-plugin.so");
    assert_null(mlpc_cuda_load_path(path, &e));
    assert_int_equal(e.code, MLPC_ERR_UNSUPPORTED);
    one_line(e.msg);
    HAS(e.msg, path);
    HAS(e.msg, "cannot open shared object file: No such file or directory"); /* dlerror's words */

    /* the same through $MLPC_CUDA_PLUGIN, as the CLI sees it */
    setenv("MLPC_CUDA_PLUGIN", path, 1);
    mlpc_clearerr(&e);
    char used[512];
    assert_null(mlpc_cuda_load(used, sizeof used, &e));
    assert_string_equal(used, path);
    HAS(e.msg, "cannot open shared object file");
    mlpc_device want = {MLPC_DEVICE_CUDA, 0}, got;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_select(&want, &got, NULL, 0, &e), MLPC_ERR_UNSUPPORTED);
    one_line(e.msg);
    HAS(e.msg, "no usable GPU: CUDA plugin");
    HAS(e.msg, "No such file or directory");
    unsetenv("MLPC_CUDA_PLUGIN");
}

static void test_load_not_a_library(void **state)
{
    (void)state;
    const char *path = tu_write_str("text.so", "this is not an ELF file\n");
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_null(mlpc_cuda_load_path(path, &e));
    one_line(e.msg);
    HAS(e.msg, "cannot be loaded: ");
    HAS(e.msg, path); /* dlerror names the file: "invalid ELF header" or "file too short" */
}

static void test_load_bad_abi(void **state)
{
    (void)state;
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_null(mlpc_cuda_load_path(beside("fake_cuda_badabi.so"), &e));
    assert_int_equal(e.code, MLPC_ERR_UNSUPPORTED);
    one_line(e.msg);
    HAS(e.msg, "ABI version 999");
    HAS(e.msg, "this mlpc needs version 1");
    HAS(e.msg, "rebuild the plugin");
}

static void test_load_no_symbol(void **state)
{
    (void)state;
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_null(mlpc_cuda_load_path(beside("fake_cuda_nosym.so"), &e));
    one_line(e.msg);
    HAS(e.msg, "no symbol mlpc_cuda_plugin");
    HAS(e.msg, "undefined symbol"); /* dlerror's words */
}

/* ---- reasons for "no GPU" ----------------------------------------------------- */

static void test_probe_reasons(void **state)
{
    (void)state;
    mlpc_cuda_probe p;
    char why[640];
    memset(&p, 0, sizeof p);
    p.runtime_version = 13000;
    p.error = MLPC_CUDA_ERR_INSUFFICIENT_DRIVER;
    snprintf(p.driver_dlerror, sizeof p.driver_dlerror, "libcuda.so.1: cannot open shared object file: No such file or directory");
    mlpc_cuda_probe_why(&p, why, sizeof why);
    one_line(why);
    HAS(why, "CUDA driver not found (libcuda.so.1: cannot open shared object file");
    HAS(why, "the plugin needs driver >= 13.0 (NVIDIA 580 or newer)");

    memset(&p, 0, sizeof p);
    p.runtime_version = 13000;
    p.driver_version = 12040;
    p.error = MLPC_CUDA_ERR_INSUFFICIENT_DRIVER;
    mlpc_cuda_probe_why(&p, why, sizeof why);
    HAS(why, "the CUDA driver supports CUDA 12.4, the plugin needs driver >= 13.0");

    memset(&p, 0, sizeof p);
    p.runtime_version = 12060;
    p.driver_version = 12060;
    p.error = MLPC_CUDA_ERR_NO_DEVICE;
    snprintf(p.error_name, sizeof p.error_name, "cudaErrorNoDevice");
    unsetenv("CUDA_VISIBLE_DEVICES");
    mlpc_cuda_probe_why(&p, why, sizeof why);
    HAS(why, "the CUDA driver (12.6) found no GPU (cudaErrorNoDevice");
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    mlpc_cuda_probe_why(&p, why, sizeof why);
    HAS(why, "CUDA_VISIBLE_DEVICES=\"\"");
    unsetenv("CUDA_VISIBLE_DEVICES");

    memset(&p, 0, sizeof p);
    p.runtime_version = 13000;
    p.driver_version = 13000;
    p.error = MLPC_CUDA_ERR_DRIVER_MISMATCH;
    snprintf(p.error_name, sizeof p.error_name, "cudaErrorSystemDriverMismatch");
    mlpc_cuda_probe_why(&p, why, sizeof why);
    HAS(why, "kernel module");

    memset(&p, 0, sizeof p);
    p.runtime_version = 13000;
    p.driver_version = 13000;
    p.device_count = 2;
    mlpc_cuda_probe_why(&p, why, sizeof why);
    assert_string_equal(why, ""); /* devices: no reason */
}

/* with $MLPC_CUDA_PLUGIN at a stand-in: the list, and cuda / auto */
static void with_fake(const char *name, const char *reason)
{
    setenv("MLPC_CUDA_PLUGIN", beside(name), 1);
    mlpc_device_list *l = malloc(sizeof *l);
    assert_non_null(l);
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_list_get(l, &e), MLPC_OK);
    assert_int_equal(l->n, 1); /* the CPU alone */
    assert_int_equal(l->dev[0].dev.kind, MLPC_DEVICE_CPU);
    assert_true(l->dev[0].cores >= 1);
    assert_true(l->dev[0].name[0] != '\0');
    assert_true(!strcmp(l->dev[0].detail, "avx512") || !strcmp(l->dev[0].detail, "avx2") ||
                !strcmp(l->dev[0].detail, "generic"));
    assert_int_equal(l->cuda_runtime, 13000);
    assert_string_equal(l->cuda_plugin, beside(name));
    one_line(l->cuda_why);
    HAS(l->cuda_why, reason);
    free(l);

    mlpc_device want = {MLPC_DEVICE_CUDA, 0}, got = {MLPC_DEVICE_AUTO, 9};
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_select(&want, &got, NULL, 0, &e), MLPC_ERR_UNSUPPORTED);
    one_line(e.msg);
    HAS(e.msg, "no usable GPU: ");
    HAS(e.msg, reason);

    char why[768];
    want.kind = MLPC_DEVICE_AUTO;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_select(&want, &got, why, sizeof why, &e), MLPC_OK);
    assert_int_equal(got.kind, MLPC_DEVICE_CPU);
    one_line(why);
    HAS(why, "chose cpu: no usable GPU: ");
    HAS(why, reason);
    unsetenv("MLPC_CUDA_PLUGIN");
}

static void test_fake_nodriver(void **state)
{
    (void)state;
    with_fake("fake_cuda_nodriver.so",
              "CUDA driver not found (libcuda.so.1: cannot open shared object file: No such file or directory); the "
              "plugin needs driver >= 13.0");
}

static void test_fake_olddriver(void **state)
{
    (void)state;
    with_fake("fake_cuda_olddriver.so", "the CUDA driver supports CUDA 12.4, the plugin needs driver >= 13.0");
}

static void test_fake_nodevice(void **state)
{
    (void)state;
    with_fake("fake_cuda_nodevice.so", "found no GPU (cudaErrorNoDevice");
}

static void test_fake_onegpu(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    mlpc_device_list *l = malloc(sizeof *l);
    assert_non_null(l);
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_list_get(l, &e), MLPC_OK);
    assert_int_equal(l->n, 2);
    assert_string_equal(l->cuda_why, "");
    assert_int_equal(l->cuda_driver, 13000);
    assert_int_equal(l->dev[1].dev.kind, MLPC_DEVICE_CUDA);
    assert_int_equal(l->dev[1].dev.index, 0);
    assert_string_equal(l->dev[1].name, "mlpc fake GPU");
    assert_int_equal(l->dev[1].memory, 1u << 30);
    assert_int_equal(l->dev[1].memory_free, 768u << 20);
    assert_int_equal(l->dev[1].cc_major, 8);
    assert_int_equal(l->dev[1].cc_minor, 6);
    assert_string_equal(l->dev[1].detail, "0000:17:00.0");
    free(l);

    mlpc_device want = {MLPC_DEVICE_AUTO, 0}, got;
    char why[768];
    assert_int_equal(mlpc_device_select(&want, &got, why, sizeof why, &e), MLPC_OK);
    assert_int_equal(got.kind, MLPC_DEVICE_CUDA);
    assert_int_equal(got.index, 0);
    HAS(why, "chose cuda:0 (mlpc fake GPU, 1.00 GiB, compute capability 8.6)");
    want.kind = MLPC_DEVICE_CUDA;
    want.index = 1;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_device_select(&want, &got, why, sizeof why, &e), MLPC_ERR_ARG);
    HAS(e.msg, "no GPU cuda:1: this machine has 1 CUDA device (cuda:0)");
    unsetenv("MLPC_CUDA_PLUGIN");
}

/* ---- placement log and memory plan --------------------------------------------- */

static mlpc_net *small_net(void)
{
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_error e;
    assert_int_equal(mlpc_config_set_layers(&cfg, "784-30-10", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
    cfg.loss = MLPC_LOSS_CCE;
    mlpc_net *net = mlpc_net_create(&cfg, &e);
    assert_non_null(net);
    return net;
}

static void test_plan_log(void **state)
{
    (void)state;
    mlpc_net *net = small_net();
    char buf[2048];
    mlpc_device cpu = {MLPC_DEVICE_CPU, 0};
    assert_true(mlpc_device_plan(net, &cpu, 2, 1, buf, sizeof buf) > 0);
    HAS(buf, "layer 1 784->30 sigmoid: cpu (gemm ");
    HAS(buf, ", 2 threads)\n");
    HAS(buf, "layer 2 30->10 softmax: cpu");
    HAS(buf, "loss cce fused with the activation");
    mlpc_device gpu = {MLPC_DEVICE_CUDA, 1};
    assert_true(mlpc_device_plan(net, &gpu, 1, 1, buf, sizeof buf) > 0);
    HAS(buf, "layer 1 784->30 sigmoid: cuda:1 (cuBLAS sgemm, bias+sigmoid kernel");
    HAS(buf, "CUDA graph");
    /* a small buffer is cut, not overrun */
    char tiny[16];
    assert_true(mlpc_device_plan(net, &cpu, 1, 0, tiny, sizeof tiny) >= 0);
    assert_true(strlen(tiny) < sizeof tiny);
    mlpc_net_free(net);
}

static void test_mem_plan(void **state)
{
    (void)state;
    mlpc_net *net = small_net();
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    cfg.opt = MLPC_OPT_ADAM;
    mlpc_cuda_net d;
    mlpc_cuda_describe(net, 0, 100, 1024, 600, &cfg, 0, 4u << 20, &d);
    assert_int_equal(d.n_layers, 2);
    assert_int_equal(d.n_params, 784 * 30 + 30 + 30 * 10 + 10);
    assert_int_equal(mlpc_cuda_moments(&d), 2);
    /* MNIST-sized sets: 60,000 x 784 training rows with labels, 10,000 test rows */
    mlpc_cuda_data tr = {60000, 784, 10, (const float *)1, (const int32_t *)1, NULL};
    mlpc_cuda_data te = {10000, 784, 10, (const float *)1, (const int32_t *)1, NULL};
    const mlpc_cuda_data *sets[4] = {&tr, NULL, &te, NULL};
    mlpc_cuda_mem m;
    assert_int_equal(d.max_batches, 600);
    mlpc_cuda_mem_plan(&d, sets, &m);
    uint64_t want_data = mlpc_cuda_round(60000ull * 784 * 4) + mlpc_cuda_round(60000ull * 4) +
                         mlpc_cuda_round(10000ull * 784 * 4) + mlpc_cuda_round(10000ull * 4) +
                         mlpc_cuda_round(60000ull * 4);
    assert_int_equal(m.data, want_data);
    assert_int_equal(m.params, 2 * mlpc_cuda_round(23860 * 4));
    assert_int_equal(m.optimizer, 2 * mlpc_cuda_round(23860 * 4));
    assert_true(m.acts > 1024ull * (784 + 30 + 10) * 4);
    assert_true(m.workspace >= (4u << 20));
    assert_int_equal(m.total, m.data + m.params + m.optimizer + m.acts + m.workspace);

    /* SGD without momentum keeps no moments; inference keeps no gradients */
    cfg.opt = MLPC_OPT_SGD;
    mlpc_cuda_describe(net, 0, 100, 1024, 600, &cfg, 0, 4u << 20, &d);
    assert_int_equal(mlpc_cuda_moments(&d), 0);
    mlpc_cuda_describe(net, 0, 0, 1024, 1, NULL, 0, 4u << 20, &d);
    mlpc_cuda_mem mi;
    const mlpc_cuda_data *eval[4] = {NULL, NULL, NULL, &te};
    mlpc_cuda_mem_plan(&d, eval, &mi);
    assert_int_equal(mi.params, mlpc_cuda_round(23860 * 4));
    assert_int_equal(mi.optimizer, 0);
    assert_true(mi.acts < m.acts); /* no deltas */

    /* over the limit: MLPC_ERR_ARG naming the limit and the parts */
    mlpc_error e;
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_cuda_check_mem(&m, 64ull << 20, 0, "cuda:0", &e), MLPC_ERR_ARG);
    one_line(e.msg);
    HAS(e.msg, "--gpu-memory-limit 64.0 MiB: cuda:0 needs ");
    HAS(e.msg, "(data ");
    HAS(e.msg, "nothing was allocated");
    /* over the free memory: MLPC_ERR_NOMEM */
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_cuda_check_mem(&m, 0, 100ull << 20, "cuda:0", &e), MLPC_ERR_NOMEM);
    HAS(e.msg, "cuda:0 has 100 MiB free but this run needs");
    /* within both */
    mlpc_clearerr(&e);
    assert_int_equal(mlpc_cuda_check_mem(&m, m.total, m.total, "cuda:0", &e), MLPC_OK);
    assert_int_equal(mlpc_cuda_check_mem(&m, 0, 0, "cuda:0", &e), MLPC_OK);
    mlpc_net_free(net);
}

/* the trainer's and the net's device paths end to end through the stand-in
 * GPU, whose sessions compute on the CPU (tests/fake_cuda_plugin.c): the same
 * losses and parameters as the CPU backend (here under the sanitizers) */
static void test_fake_session(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    enum { N = 90, IN = 3, OUT = 2 };
    float x[N * IN];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < IN; j++) x[i * IN + j] = (float)((i * 7 + j * 13) % 17) / 17.0f - 0.5f;
        y[i] = x[i * IN] + x[i * IN + 1] > 0.0f;
    }
    mlpc_error e;
    mlpc_dataset *d = mlpc_dataset_from_arrays(N, IN, x, y, OUT, NULL, 0, &e);
    assert_non_null(d);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "3-5-2", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    cfg.opt = MLPC_OPT_ADAM;
    cfg.batch = 16; /* 6 batches, the last of 10 rows */
    mlpc_net *nc = mlpc_net_create(&cfg, &e), *ng = mlpc_net_create(&cfg, &e);
    mlpc_trainer *tc = mlpc_trainer_create(nc, &cfg, &e), *tg = mlpc_trainer_create(ng, &cfg, &e);
    assert_true(nc && ng && tc && tg);
    assert_int_equal(mlpc_trainer_set_data(tc, d, d, NULL), MLPC_OK);
    assert_int_equal(mlpc_trainer_set_data(tg, d, d, NULL), MLPC_OK);
    mlpc_device dev = {MLPC_DEVICE_CUDA, 0};
    /* the cap refuses before the plugin allocates anything */
    assert_int_equal(mlpc_trainer_set_device(tg, &dev, 1000), MLPC_ERR_ARG);
    HAS(mlpc_trainer_error(tg)->msg, "--gpu-memory-limit 1000 B: cuda:0 needs");
    assert_int_equal(mlpc_trainer_set_device(tg, &dev, 64u << 20), MLPC_OK);
    for (int ep = 0; ep < 3; ep++) {
        mlpc_epoch_stats a, b;
        assert_int_equal(mlpc_trainer_epoch(tc, &a), MLPC_OK);
        assert_int_equal(mlpc_trainer_epoch(tg, &b), MLPC_OK);
        assert_true(fabs(a.loss - b.loss) <= 1e-5 * fabs(a.loss));
        assert_true(fabs(a.val_loss - b.val_loss) <= 1e-5 * fabs(a.val_loss));
    }
    for (size_t i = 0; i < nc->n_params; i++) assert_true(fabsf(nc->params[i] - ng->params[i]) <= 1e-5f);
    mlpc_eval ec, eg;
    float pc[N * OUT], pg[N * OUT];
    assert_int_equal(mlpc_net_evaluate(nc, d, &ec), MLPC_OK);
    assert_int_equal(mlpc_net_predict(nc, x, N, pc), MLPC_OK);
    assert_int_equal(mlpc_net_set_device(nc, &dev, 0), MLPC_OK);
    assert_int_equal(mlpc_net_evaluate(nc, d, &eg), MLPC_OK);
    assert_int_equal(mlpc_net_predict(nc, x, N, pg), MLPC_OK);
    assert_true(fabs(ec.loss - eg.loss) <= 1e-6 * fabs(ec.loss));
    for (int i = 0; i < N * OUT; i++) assert_true(fabsf(pc[i] - pg[i]) <= 1e-6f);
    mlpc_trainer_free(tc);
    mlpc_trainer_free(tg);
    mlpc_net_free(nc);
    mlpc_net_free(ng);
    mlpc_dataset_free(d);
    unsetenv("MLPC_CUDA_PLUGIN");
}

/* mlpc_trainer_set_data again (the way to hand over changed rows, as for the
 * byte copy) after mlpc_trainer_set_device: the device's upload is of the
 * old rows, so the next epoch must not train on it silently (nor size its
 * per-batch results by the old row count) but ask for the device again */
static void test_set_data_after_device(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    enum { N = 90, IN = 3, OUT = 2 };
    float x[N * IN];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < IN; j++) x[i * IN + j] = (float)((i * 7 + j * 13) % 17) + 3.0f;
        y[i] = (i * 7) % 17 > 8;
    }
    mlpc_error e;
    mlpc_dataset *d = mlpc_dataset_from_arrays(N, IN, x, y, OUT, NULL, 0, &e);
    assert_non_null(d);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "3-5-2", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    cfg.batch = 16;
    mlpc_net *net = mlpc_net_create(&cfg, &e);
    mlpc_trainer *tr = mlpc_trainer_create(net, &cfg, &e);
    assert_true(net && tr);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
    mlpc_device dev = {MLPC_DEVICE_CUDA, 0};
    assert_int_equal(mlpc_trainer_set_device(tr, &dev, 0), MLPC_OK);
    /* the rows change in place (normalized), and are handed over again */
    assert_int_equal(mlpc_net_fit_normalization(net, d, MLPC_NORM_STANDARD), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(net, d), MLPC_OK);
    assert_int_equal(mlpc_trainer_set_data(tr, d, NULL, NULL), MLPC_OK);
    mlpc_epoch_stats st;
    assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_ERR_ARG);
    HAS(mlpc_trainer_error(tr)->msg, "set the device again");
    /* setting it again uploads the new rows */
    assert_int_equal(mlpc_trainer_set_device(tr, &dev, 0), MLPC_OK);
    assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    mlpc_dataset_free(d);
    unsetenv("MLPC_CUDA_PLUGIN");
}

/* a 3-5-2 classifier on N rows through the stand-in GPU */
typedef struct fake_run {
    mlpc_dataset *d, *v;
    mlpc_net *net;
    mlpc_trainer *tr;
} fake_run;

static fake_run fake_run_make(int with_val)
{
    enum { N = 90, IN = 3, OUT = 2 };
    float x[N * IN];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < IN; j++) x[i * IN + j] = (float)((i * 7 + j * 13) % 17) * 0.1f;
        y[i] = (i * 7) % 17 > 8;
    }
    mlpc_error e;
    fake_run r;
    r.d = mlpc_dataset_from_arrays(N, IN, x, y, OUT, NULL, 0, &e);
    r.v = with_val ? mlpc_dataset_from_arrays(N / 3, IN, x, y, OUT, NULL, 0, &e) : NULL;
    assert_non_null(r.d);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "3-5-2", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    cfg.batch = 16;
    r.net = mlpc_net_create(&cfg, &e);
    r.tr = mlpc_trainer_create(r.net, &cfg, &e);
    assert_true(r.net && r.tr);
    assert_int_equal(mlpc_trainer_set_data(r.tr, r.d, r.v, NULL), MLPC_OK);
    mlpc_device dev = {MLPC_DEVICE_CUDA, 0};
    assert_int_equal(mlpc_trainer_set_device(r.tr, &dev, 0), MLPC_OK);
    return r;
}

static void fake_run_free(fake_run *r)
{
    mlpc_trainer_free(r->tr);
    mlpc_net_free(r->net);
    mlpc_dataset_free(r->d);
    mlpc_dataset_free(r->v);
}

/* a failed CUDA graph capture: the run goes on (direct launches, the same
 * results) and the plugin's note is kept for --log-device */
static void test_graph_fallback_note(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    mlpc_epoch_stats st;
    fake_run a = fake_run_make(1);
    assert_int_equal(mlpc_trainer_epoch(a.tr, &st), MLPC_OK);
    assert_string_equal(mlpc_trainer_device_note(a.tr), "");
    setenv("MLPC_CUDA_GRAPHS", "fail", 1);
    fake_run b = fake_run_make(1);
    assert_int_equal(mlpc_trainer_epoch(b.tr, &st), MLPC_OK);
    HAS(mlpc_trainer_device_note(b.tr), "CUDA graph failed");
    assert_int_equal(mlpc_trainer_epoch(b.tr, &st), MLPC_OK); /* said once, kept */
    HAS(mlpc_trainer_device_note(b.tr), "launched directly");
    assert_int_equal(mlpc_trainer_epoch(a.tr, &st), MLPC_OK);
    assert_memory_equal(a.net->params, b.net->params, a.net->n_params * sizeof(float));
    unsetenv("MLPC_CUDA_GRAPHS");
    fake_run_free(&a);
    fake_run_free(&b);
    unsetenv("MLPC_CUDA_PLUGIN");
}

/* a failed evaluation on the device is an error carrying the plugin's
 * message, the epoch undone; never a silent evaluation on the CPU */
static void test_device_eval_error(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    fake_run r = fake_run_make(1);
    size_t np = r.net->n_params;
    float *p0 = malloc(np * sizeof(float));
    memcpy(p0, r.net->params, np * sizeof(float));
    mlpc_epoch_stats st;
    setenv("MLPC_FAKE_EVAL_FAIL", "1", 1);
    assert_int_equal(mlpc_trainer_epoch(r.tr, &st), MLPC_ERR_UNSUPPORTED);
    const char *msg = mlpc_trainer_error(r.tr)->msg;
    one_line(msg);
    HAS(msg, "cuda:0: evaluating the validation set");
    HAS(msg, "fake plugin: evaluation failed (MLPC_FAKE_EVAL_FAIL)");
    assert_memory_equal(p0, r.net->params, np * sizeof(float));
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 0);
    unsetenv("MLPC_FAKE_EVAL_FAIL");
    assert_int_equal(mlpc_trainer_epoch(r.tr, &st), MLPC_OK);
    assert_int_equal(mlpc_trainer_epochs_done(r.tr), 1);
    free(p0);
    fake_run_free(&r);
    unsetenv("MLPC_CUDA_PLUGIN");
}

/* a net's evaluation set is in the memory plan (limit and free memory)
 * before anything is allocated; over it the net keeps its session */
static void test_net_eval_memory(void **state)
{
    (void)state;
    setenv("MLPC_CUDA_PLUGIN", beside("fake_cuda_onegpu.so"), 1);
    enum { N = 300000, IN = 3 };
    float *x = calloc((size_t)N * IN, sizeof(float));
    int32_t *y = calloc(N, sizeof(int32_t));
    assert_true(x && y);
    mlpc_error e;
    mlpc_dataset *big = mlpc_dataset_from_arrays(N, IN, x, y, 2, NULL, 0, &e);
    mlpc_dataset *small = mlpc_dataset_from_arrays(100, IN, x, y, 2, NULL, 0, &e);
    assert_true(big && small);
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    assert_int_equal(mlpc_config_set_layers(&cfg, "3-5-2", &e), MLPC_OK);
    mlpc_config_set_acts(&cfg, MLPC_ACT_TANH, MLPC_ACT_SOFTMAX);
    mlpc_net *net = mlpc_net_create(&cfg, &e);
    assert_non_null(net);
    mlpc_device dev = {MLPC_DEVICE_CUDA, 0};
    setenv("MLPC_FAKE_FREE_MEM", "6000000", 1); /* the session (~4.3 MB) fits, with the big set (~9 MB) not */
    assert_int_equal(mlpc_net_set_device(net, &dev, 0), MLPC_OK);
    mlpc_eval ev;
    assert_int_equal(mlpc_net_evaluate(net, big, &ev), MLPC_ERR_NOMEM);
    one_line(mlpc_net_error(net)->msg);
    HAS(mlpc_net_error(net)->msg, "nothing was allocated");
    float out[2 * 4];
    assert_int_equal(mlpc_net_predict(net, x, 4, out), MLPC_OK); /* still on the device */
    assert_int_equal(mlpc_net_evaluate(net, small, &ev), MLPC_OK);
    unsetenv("MLPC_FAKE_FREE_MEM");
    /* the limit counts the session and the set together */
    assert_int_equal(mlpc_net_set_device(net, &dev, 6000000), MLPC_OK);
    assert_int_equal(mlpc_net_evaluate(net, big, &ev), MLPC_ERR_ARG);
    HAS(mlpc_net_error(net)->msg, "--gpu-memory-limit");
    assert_int_equal(mlpc_net_evaluate(net, small, &ev), MLPC_OK);
    assert_int_equal(ev.n, 100);
    mlpc_net_free(net);
    mlpc_dataset_free(big);
    mlpc_dataset_free(small);
    free(x);
    free(y);
    unsetenv("MLPC_CUDA_PLUGIN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_parse),
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_not_a_library),
        cmocka_unit_test(test_load_bad_abi),
        cmocka_unit_test(test_load_no_symbol),
        cmocka_unit_test(test_probe_reasons),
        cmocka_unit_test(test_fake_nodriver),
        cmocka_unit_test(test_fake_olddriver),
        cmocka_unit_test(test_fake_nodevice),
        cmocka_unit_test(test_fake_onegpu),
        cmocka_unit_test(test_plan_log),
        cmocka_unit_test(test_mem_plan),
        cmocka_unit_test(test_fake_session),
        cmocka_unit_test(test_set_data_after_device),
        cmocka_unit_test(test_graph_fallback_note),
        cmocka_unit_test(test_device_eval_error),
        cmocka_unit_test(test_net_eval_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
