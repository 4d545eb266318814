/*
 * bench_mlpc.c - times mlpc on the benchmark workloads (see bench/README.md),
 * through the public header only. Each measurement is one JSON line on stdout.
 *
 *   bench_mlpc w1   [--epochs K] [--threads T|auto] 784-30-10 sigmoid, quadratic, SGD 3.0, batch 10, 50,000 rows
 *   bench_mlpc w2   [--epochs K] [--threads T]     784-200-100-50-30-10, softmax+CCE, RMSprop, batch 1500, 60,000 rows
 *   bench_mlpc w3   --layers SPEC --batch N[,N..] [--passes P] [--threads T]
 *                                                  forward only, P passes over the 60,000 rows
 *   bench_mlpc w4   [--epochs K] [--threads T]     Lorenz 3-16x5-3 relu, MSE, Adam, batch 100, 900 rows
 *   bench_mlpc w5   [--epochs K] [--threads T]     784-256-128-10 relu, softmax+CCE, Adam 1e-3, batch 128, 60,000 rows
 *   bench_mlpc gemm [--threads T]                  GFLOP/s on W2's shapes
 *   bench_mlpc peak [--threads T]                  the FMA peak: GFLOP/s of independent
 *                                                  512-bit (and 256-bit) FMAs, T threads at once
 *
 * Common: --data DIR (MNIST IDX files; default $MLPC_DATA/mnist or data/mnist),
 * --impl NAME (the "impl" field of the output, default "mlpc"),
 * --precision fp32|bf16|auto (training's products, mlpc_config.precision;
 * the w1/w2/w4/w5 lines then carry "precision", what ran; bench/bf16.sh).
 * CPU lines carry "cpu_sec" too: the process's CPU seconds per epoch (on a
 * shared machine the time it computed, not the time it waited for a core).
 *
 * On a GPU (w1, w2, w5; bench/gpu/run.sh): --device cuda|cuda:N trains on
 * the device after --warmup W untimed epochs (default 1 there, 0 on the
 * CPU) and adds each timed epoch's seconds, their median and minimum to the
 * line (an epoch on the device ends with the parameters back on the host,
 * so its wall time is the device's). --test (w2) evaluates the t10k set after
 * every epoch (on the device) and times whole runs instead: --reps R runs of
 * set_device (the upload) + K epochs + evaluations, after one untimed run of
 * one epoch; "sec_total" is their median.
 */
#include "mlpc.h"
#include "core/core.h" /* the knobs of --ab */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <time.h>

static const char *impl = "mlpc";
static mlpc_precision precision = MLPC_PRECISION_FP32;
static char data_dir[1024];
static mlpc_device device = {MLPC_DEVICE_CPU, 0};
static int warmup = -1, with_test = 0, run_reps = 3; /* warmup -1: 1 on a device, 0 on the CPU */
static int ab_knob = -1; /* --ab: the knob whose two paths alternate by epoch */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* CPU seconds of this process (all its threads): on a shared machine the
 * time the run was computing, not waiting for a core */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_mlpc: %s: %s\n", what, msg);
    exit(1);
}

static mlpc_dataset *load_mnist_set(const char *set, size_t rows)
{
    char img[1100], lab[1100];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", data_dir, set);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", data_dir, set);
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_load_idx(img, lab, &err);
    if (!d) die("MNIST (run scripts/fetch-data.sh)", err.msg);
    if (rows < mlpc_dataset_rows(d)) {
        mlpc_dataset *s = mlpc_dataset_slice(d, 0, rows, &err);
        if (!s) die("slice", err.msg);
        mlpc_dataset_free(d);
        d = s;
    }
    return d;
}

static mlpc_dataset *load_mnist(size_t rows) { return load_mnist_set("train", rows); }

static void config(mlpc_config *c, const char *layers, mlpc_act hidden, mlpc_act out, int threads)
{
    mlpc_error err;
    mlpc_config_default(c);
    if (mlpc_config_set_layers(c, layers, &err)) die("layers", err.msg);
    mlpc_config_set_acts(c, hidden, out);
    c->threads = threads;
    c->precision = precision;
}

/* A trainer for c on train (and test: evaluated after every epoch), on
 * `device` when it is not the CPU. */
static mlpc_trainer *make_trainer(mlpc_net *net, mlpc_config *c, mlpc_dataset *train, mlpc_dataset *test)
{
    mlpc_error err;
    mlpc_trainer *tr = mlpc_trainer_create(net, c, &err);
    if (!tr) die("trainer", err.msg);
    if (mlpc_trainer_set_data(tr, train, NULL, test)) die("data", mlpc_trainer_error(tr)->msg);
    if (device.kind != MLPC_DEVICE_CPU && mlpc_trainer_set_device(tr, &device, 0))
        die("--device", mlpc_trainer_error(tr)->msg);
    return tr;
}

/* --device with --test: median of `reps` whole runs (upload, K epochs with
 * the test set evaluated after each) after one untimed run of one epoch. */
static void time_runs(const char *w, mlpc_config *c, mlpc_dataset *train, mlpc_dataset *test, int epochs)
{
    mlpc_error err;
    double *tot = calloc((size_t)run_reps, sizeof *tot), *ep = calloc((size_t)run_reps * (size_t)epochs, sizeof *ep);
    if (!tot || !ep) die(w, "out of memory");
    mlpc_epoch_stats st;
    for (int r = -1; r < run_reps; r++) {
        mlpc_net *net = mlpc_net_create(c, &err);
        if (!net) die("net", err.msg);
        double t0 = now();
        mlpc_trainer *tr = make_trainer(net, c, train, test);
        for (int e = 0; e < (r < 0 ? 1 : epochs); e++) {
            double t1 = now();
            if (mlpc_trainer_epoch(tr, &st)) die("epoch", mlpc_trainer_error(tr)->msg);
            if (r >= 0) ep[r * epochs + e] = now() - t1;
        }
        if (r >= 0) tot[r] = now() - t0;
        mlpc_trainer_free(tr);
        mlpc_net_free(net);
    }
    char dn[32];
    double med_tot = median(tot, run_reps), med_ep = median(ep, run_reps * epochs); /* sorted: [0] is the least */
    printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"device\":\"%s\",\"epochs\":%d,\"rows\":%zu,\"reps\":%d,"
           "\"sec_total\":%.6g,\"sec_total_min\":%.6g,\"sec\":%.6g,\"unit\":\"s/epoch\",\"loss\":%.6g,"
           "\"test_loss\":%.6g,\"test_acc\":%.6g}\n",
           w, impl, mlpc_device_name(&device, dn, sizeof dn), epochs, mlpc_dataset_rows(train), run_reps,
           med_tot, tot[0], med_ep, st.loss, st.test_loss, st.test_acc);
    fflush(stdout);
    free(tot);
    free(ep);
}

/* Trains `epochs` epochs on `train` (normalized here with `norm`) and prints
 * the mean wall time of mlpc_trainer_epoch (shuffling included, no eval);
 * on a device also the median and minimum of the timed epochs, after
 * `warmup` untimed ones. */
/* --ab KNOB: after one untimed epoch, `pairs` pairs of epochs, one with
 * the knob off (the path before the change) and one with it on, in the
 * order off-on, on-off, off-on, ...; each pair's ratio off/on compares two
 * neighbouring epochs, which share the host's noise. Prints the medians of
 * each path and the median and quartiles of the ratios (> 1: the change
 * is faster). */
static void time_ab(const char *w, mlpc_trainer *tr, int pairs, int threads)
{
    mlpc_knob_id k = (mlpc_knob_id)ab_knob;
    mlpc_epoch_stats st;
    double *t = calloc((size_t)pairs * 3, sizeof *t), *off = t, *on = t + pairs, *r = t + 2 * pairs;
    if (!t) die(w, "out of memory");
    if (mlpc_trainer_epoch(tr, &st)) die("epoch", mlpc_trainer_error(tr)->msg);
    for (int p = 0; p < pairs; p++) {
        for (int i = 0; i < 2; i++) {
            int is_on = (p + i) % 2;
            mlpc_knob_set(k, is_on);
            double t0 = now();
            if (mlpc_trainer_epoch(tr, &st)) die("epoch", mlpc_trainer_error(tr)->msg);
            (is_on ? on : off)[p] = now() - t0;
        }
        r[p] = off[p] / on[p];
    }
    mlpc_knob_set(k, 1);
    double med_off = median(off, pairs), med_on = median(on, pairs), med_r = median(r, pairs); /* sorts each */
    printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"threads\":%d,\"knob\":\"%s\",\"pairs\":%d,\"unit\":\"s/epoch\","
           "\"off_sec\":%.6g,\"on_sec\":%.6g,\"off_min\":%.6g,\"on_min\":%.6g,\"ratio\":%.4g,\"ratio_q1\":%.4g,"
           "\"ratio_q3\":%.4g,\"loss\":%.6g}\n",
           w, impl, threads, mlpc_knob_name(k), pairs, med_off, med_on, off[0], on[0], med_r,
           r[pairs / 4], r[(3 * pairs) / 4], st.loss);
    fflush(stdout);
    free(t);
}

static void time_training(const char *w, mlpc_config *c, mlpc_dataset *train, mlpc_norm norm, int epochs)
{
    mlpc_error err;
    const char *name = impl;
    double calib = 0.0;
    if (c->threads == 0) { /* --threads auto: what mlpc train --threads auto picks */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = 1;
        double t0 = now();
        if (mlpc_calibrate_threads(c, cores < 1 ? 1 : cores > 64 ? 64 : (int)cores, &c->threads, NULL, NULL, 0, &err))
            die("threads auto", err.msg);
        calib = now() - t0;
        name = "mlpc-auto";
    }
    if (mlpc_config_validate(c, &err)) die("config", err.msg);
    mlpc_net *net = mlpc_net_create(c, &err);
    if (!net) die("net", err.msg);
    mlpc_net_fit_normalization(net, train, norm);
    mlpc_net_normalize(net, train);
    mlpc_dataset *test = NULL;
    if (with_test) {
        test = load_mnist_set("t10k", 10000);
        mlpc_net_normalize(net, test);
        if (device.kind != MLPC_DEVICE_CPU) {
            time_runs(w, c, train, test, epochs);
            mlpc_dataset_free(test);
            mlpc_net_free(net);
            return;
        }
    }
    mlpc_trainer *tr = make_trainer(net, c, train, test);
    mlpc_epoch_stats st;
    if (ab_knob >= 0) {
        time_ab(w, tr, epochs, c->threads);
        mlpc_trainer_free(tr);
        mlpc_dataset_free(test);
        mlpc_net_free(net);
        return;
    }
    int wu = warmup >= 0 ? warmup : device.kind != MLPC_DEVICE_CPU;
    for (int e = 0; e < wu; e++)
        if (mlpc_trainer_epoch(tr, &st)) die("epoch", mlpc_trainer_error(tr)->msg);
    double *ep = calloc((size_t)epochs, sizeof *ep);
    if (!ep) die(w, "out of memory");
    double t0 = now(), c0 = cpu_now();
    for (int e = 0; e < epochs; e++) {
        double t1 = now();
        if (mlpc_trainer_epoch(tr, &st)) die("epoch", mlpc_trainer_error(tr)->msg);
        ep[e] = now() - t1;
    }
    double sec = (now() - t0) / epochs, cpu_sec = (cpu_now() - c0) / epochs;
    if (device.kind == MLPC_DEVICE_CPU && !wu) {
        printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"threads\":%d,\"epochs\":%d,\"rows\":%zu,"
               "\"sec\":%.6g,\"unit\":\"s/epoch\",\"loss\":%.6g,\"calibration_sec\":%.3g,\"precision\":\"%s\","
               "\"cpu_sec\":%.6g}\n",
               w, name, c->threads, epochs, mlpc_dataset_rows(train), sec, st.loss, calib,
               mlpc_precision_name(mlpc_trainer_precision(tr, NULL)), cpu_sec);
    } else {
        char dn[32], list[4096] = "";
        for (int e = 0; e < epochs; e++) {
            size_t len = strlen(list);
            if (len + 24 < sizeof list) snprintf(list + len, sizeof list - len, "%s%.6g", e ? "," : "", ep[e]);
        }
        double mean = sec, med = median(ep, epochs); /* sorted: ep[0] is the least */
        printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"epochs\":%d,"
               "\"warmup\":%d,\"rows\":%zu,\"sec\":%.6g,\"sec_mean\":%.6g,\"sec_min\":%.6g,\"unit\":\"s/epoch\","
               "\"loss\":%.6g,\"acc\":%.6g,\"epochs_sec\":[%s]}\n",
               w, name, mlpc_device_name(&device, dn, sizeof dn), c->threads, epochs, wu, mlpc_dataset_rows(train),
               med, mean, ep[0], st.loss, st.acc, list);
    }
    fflush(stdout);
    free(ep);
    mlpc_trainer_free(tr);
    mlpc_dataset_free(test);
    mlpc_net_free(net);
}

static void w1(int epochs, int threads)
{
    mlpc_config c;
    config(&c, "784-30-10", MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID, threads);
    c.loss = MLPC_LOSS_QUADRATIC;
    c.init = MLPC_INIT_NORMAL;
    c.opt = MLPC_OPT_SGD;
    c.lr = 3.0f;
    c.batch = 10;
    mlpc_dataset *d = load_mnist(50000);
    time_training("w1", &c, d, MLPC_NORM_SCALE, epochs);
    mlpc_dataset_free(d);
}

static void w2_config(mlpc_config *c, int threads)
{
    config(c, "784-200-100-50-30-10", MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX, threads);
    c->loss = MLPC_LOSS_CCE;
    c->init = MLPC_INIT_GLOROT;
    c->opt = MLPC_OPT_RMSPROP;
    c->lr = 0.001f;
    c->rho = 0.9f;
    c->eps = 1e-7f;
    c->batch = 1500;
}

static void w2(int epochs, int threads)
{
    mlpc_config c;
    w2_config(&c, threads);
    mlpc_dataset *d = load_mnist(60000);
    time_training("w2", &c, d, MLPC_NORM_SCALE, epochs);
    mlpc_dataset_free(d);
}

static void w5(int epochs, int threads)
{
    mlpc_config c;
    config(&c, "784-256-128-10", MLPC_ACT_RELU, MLPC_ACT_SOFTMAX, threads);
    c.loss = MLPC_LOSS_CCE;
    c.init = MLPC_INIT_HE;
    c.opt = MLPC_OPT_ADAM;
    c.lr = 0.001f;
    c.batch = 128;
    mlpc_dataset *d = load_mnist(60000);
    time_training("w5", &c, d, MLPC_NORM_SCALE, epochs);
    mlpc_dataset_free(d);
}

static void w4(int epochs, int threads)
{
    mlpc_config c;
    config(&c, "3-16-16-16-16-16-3", MLPC_ACT_RELU, MLPC_ACT_LINEAR, threads);
    c.loss = MLPC_LOSS_MSE;
    c.init = MLPC_INIT_HE;
    c.opt = MLPC_OPT_ADAM;
    c.lr = 0.001f;
    c.batch = 100;
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_lorenz(NULL, 0, 900, &err);
    if (!d) die("lorenz", err.msg);
    time_training("w4", &c, d, MLPC_NORM_STANDARD, epochs);
    mlpc_dataset_free(d);
}

/* Forward only: for each N, eval rows N, then `passes` predicts over all
 * 60,000 rows (pre-scaled to [0,1], so the net's normalization is a copy).
 * Prints seconds for the passes done and scaled to 30 passes. */
static void w3(const char *layers, const char *batches, int passes, int threads)
{
    mlpc_dataset *d = load_mnist(60000);
    size_t n = mlpc_dataset_rows(d), n_in = mlpc_dataset_features(d);
    float *x = malloc(n * n_in * sizeof *x);
    if (!x) die("w3", "out of memory");
    const float *raw = mlpc_dataset_x(d);
    for (size_t i = 0; i < n * n_in; i++) x[i] = raw[i] / 255.0f;
    mlpc_config c;
    config(&c, layers, MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID, threads);
    c.norm = MLPC_NORM_NONE;
    mlpc_error err;
    mlpc_net *net = mlpc_net_create(&c, &err);
    if (!net) die("net", err.msg);
    if (mlpc_net_set_threads(net, threads)) die("threads", mlpc_net_error(net)->msg);
    size_t n_out = (size_t)c.sizes[c.n_layers];
    float *out = malloc(n * n_out * sizeof *out);
    if (!out) die("w3", "out of memory");
    for (const char *p = batches; *p;) {
        int rows = atoi(p);
        if (mlpc_net_set_eval_rows(net, rows)) die("batch", mlpc_net_error(net)->msg);
        if (mlpc_net_predict(net, x, n / 6, out)) die("predict", mlpc_net_error(net)->msg); /* warm-up */
        double t0 = now();
        for (int k = 0; k < passes; k++)
            if (mlpc_net_predict(net, x, n, out)) die("predict", mlpc_net_error(net)->msg);
        double sec = now() - t0;
        printf("{\"workload\":\"w3\",\"impl\":\"%s\",\"threads\":%d,\"net\":\"%s\",\"batch\":%d,"
               "\"passes\":%d,\"sec_measured\":%.6g,\"sec\":%.6g,\"unit\":\"s/30 passes\",\"check\":%.6g}\n",
               impl, threads, layers, rows, passes, sec, sec * 30.0 / passes, (double)out[0]);
        fflush(stdout);
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    free(out);
    free(x);
    mlpc_net_free(net);
    mlpc_dataset_free(d);
}

/* GFLOP/s on W2's shapes (batch 1500), two ways through the public API:
 *  fwd:  a one-layer linear net per W2 layer shape (in x out), predict of
 *        1500 rows = one GEMM 1500 x in x out plus bias (and the input copy);
 *  step: mlpc_trainer_gradient on the whole W2 net for one 1500-row batch
 *        (forward + backward GEMMs with activations, no optimizer update). */
static void gemm(int threads)
{
    static const int shape[6] = {784, 200, 100, 50, 30, 10};
    const int B = 1500;
    float *x = malloc((size_t)B * 784 * sizeof *x), *out = malloc((size_t)B * 200 * sizeof *out);
    if (!x || !out) die("gemm", "out of memory");
    srand(1);
    for (size_t i = 0; i < (size_t)B * 784; i++) x[i] = (float)rand() / RAND_MAX;
    double flops_all = 0, sec_all = 0;
    char shapes[512] = "";
    for (int l = 0; l < 5; l++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%d-%d", shape[l], shape[l + 1]);
        mlpc_config c;
        config(&c, spec, MLPC_ACT_LINEAR, MLPC_ACT_LINEAR, threads);
        c.loss = MLPC_LOSS_MSE;
        mlpc_error err;
        mlpc_net *net = mlpc_net_create(&c, &err);
        if (!net) die("net", err.msg);
        mlpc_net_set_threads(net, threads);
        mlpc_net_set_eval_rows(net, B);
        mlpc_net_predict(net, x, B, out);
        long reps = 0;
        double t0 = now(), sec;
        do reps++, mlpc_net_predict(net, x, B, out);
        while ((sec = now() - t0) < 0.3);
        sec /= reps;
        double flops = 2.0 * B * shape[l] * shape[l + 1];
        flops_all += flops;
        sec_all += sec;
        size_t len = strlen(shapes);
        snprintf(shapes + len, sizeof shapes - len, "%s{\"m\":%d,\"k\":%d,\"n\":%d,\"gflops\":%.4g}",
                 l ? "," : "", B, shape[l], shape[l + 1], flops / sec * 1e-9);
        mlpc_net_free(net);
    }
    printf("{\"workload\":\"gemm\",\"impl\":\"%s\",\"threads\":%d,\"kind\":\"fwd\",\"shapes\":[%s],\"gflops\":%.4g}\n",
           impl, threads, shapes, flops_all / sec_all * 1e-9);

    mlpc_config c;
    w2_config(&c, threads);
    mlpc_error err;
    mlpc_net *net = mlpc_net_create(&c, &err);
    mlpc_trainer *tr = net ? mlpc_trainer_create(net, &c, &err) : NULL;
    if (!tr) die("trainer", err.msg);
    int32_t *labels = malloc(B * sizeof *labels);
    if (!labels) die("gemm", "out of memory");
    for (int i = 0; i < B; i++) labels[i] = i % 10;
    double loss;
    mlpc_trainer_gradient(tr, x, labels, NULL, B, &loss);
    long reps = 0;
    double t0 = now(), sec;
    do reps++, mlpc_trainer_gradient(tr, x, labels, NULL, B, &loss);
    while ((sec = now() - t0) < 0.5);
    sec /= reps;
    double mac = 0, mac_dx = 0; /* multiply-adds per row: forward (= dW), and dX of layers > 0 */
    for (int l = 0; l < 5; l++) {
        mac += (double)shape[l] * shape[l + 1];
        if (l) mac_dx += (double)shape[l] * shape[l + 1];
    }
    double flops = B * (4 * mac + 2 * mac_dx);
    printf("{\"workload\":\"gemm\",\"impl\":\"%s\",\"threads\":%d,\"kind\":\"step\",\"gflops\":%.4g}\n",
           impl, threads, flops / sec * 1e-9);
    fflush(stdout);
    free(labels);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    free(x);
    free(out);
}

/* ---- the machine's FMA peak: 12 independent chains of register FMAs ---- */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PEAK_ITERS 100000000L
#define FMA12(r)                                                                                       \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "0\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "1\n\t"          \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "2\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "3\n\t"          \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "4\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "5\n\t"          \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "6\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "7\n\t"          \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "8\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "9\n\t"          \
    "vfmadd231ps %%" r "20,%%" r "21,%%" r "10\n\tvfmadd231ps %%" r "20,%%" r "21,%%" r "11\n\t"
#define FMA_CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

__attribute__((target("avx512f"))) static void *peak_zmm(void *arg)
{
    (void)arg;
    for (long i = 0; i < PEAK_ITERS; i++) __asm__ volatile(FMA12("zmm")::: FMA_CLOBBER);
    return NULL;
}

__attribute__((target("avx512f"))) static void *peak_ymm(void *arg)
{
    (void)arg;
    for (long i = 0; i < PEAK_ITERS; i++) __asm__ volatile(FMA12("ymm")::: FMA_CLOBBER);
    return NULL;
}

/* GFLOP/s of `threads` threads running fn at once (12 FMAs of `lanes` floats per iteration) */
static double peak_run(void *(*fn)(void *), int threads, int lanes)
{
    pthread_t t[64];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, fn, NULL)) die("peak", "cannot start a thread");
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return (double)threads * PEAK_ITERS * 12.0 * lanes * 2.0 / (now() - t0) * 1e-9;
}

static void peak(int threads)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) die("peak", "this measurement needs AVX-512");
    if (threads > 64) die("peak", "at most 64 threads");
    printf("{\"workload\":\"peak\",\"impl\":\"fma512\",\"threads\":%d,\"gflops\":%.4g}\n", threads,
           peak_run(peak_zmm, threads, 16));
    printf("{\"workload\":\"peak\",\"impl\":\"fma256\",\"threads\":%d,\"gflops\":%.4g}\n", threads,
           peak_run(peak_ymm, threads, 8));
    fflush(stdout);
}
#else
static void peak(int threads)
{
    (void)threads;
    die("peak", "this measurement is for x86-64 with AVX-512");
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_mlpc w1|w2|w3|w4|w5|gemm|peak [--epochs K] [--threads T] [--layers SPEC]\n"
                        "       [--batch N,N..] [--passes P] [--data DIR] [--impl NAME]\n"
                        "       [--device cpu|cuda|cuda:N] [--warmup W] [--test] [--reps R] [--ab KNOB]\n");
        return 2;
    }
    const char *w = argv[1], *layers = "784-100-50-10", *batches = "250";
    int epochs = 1, threads = 1, passes = 30;
    const char *env = getenv("MLPC_DATA");
    snprintf(data_dir, sizeof data_dir, "%s/mnist", env && *env ? env : "data");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v && strcmp(a, "--test")) die(a, "missing value");
        i++;
        if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--threads")) threads = strcmp(v, "auto") ? atoi(v) : 0; /* 0: auto */
        else if (!strcmp(a, "--layers")) layers = v;
        else if (!strcmp(a, "--batch")) batches = v;
        else if (!strcmp(a, "--passes")) passes = atoi(v);
        else if (!strcmp(a, "--data")) snprintf(data_dir, sizeof data_dir, "%s", v);
        else if (!strcmp(a, "--impl")) impl = v;
        else if (!strcmp(a, "--precision")) {
            if (mlpc_precision_parse(v, &precision)) die(a, "fp32, bf16 or auto");
        }
        else if (!strcmp(a, "--device")) {
            if (mlpc_device_parse(v, &device) || device.kind == MLPC_DEVICE_AUTO) die(a, "cpu, cuda or cuda:N");
        } else if (!strcmp(a, "--warmup")) warmup = atoi(v);
        else if (!strcmp(a, "--reps")) run_reps = atoi(v);
        else if (!strcmp(a, "--ab")) {
            mlpc_knob_id k;
            if (mlpc_knob_parse(v, &k)) die(a, "unknown knob (src/core/core.h lists them)");
            ab_knob = (int)k;
        }
        else if (!strcmp(a, "--test")) with_test = 1, i--; /* no value */
        else die(a, "unknown option");
    }
    if (epochs < 1 || threads < 0 || passes < 1 || run_reps < 1) die(w, "--epochs, --passes and --reps must be >= 1, --threads N or auto");
    if (device.kind != MLPC_DEVICE_CPU && strcmp(w, "w1") && strcmp(w, "w2") && strcmp(w, "w5"))
        die(w, "--device is for w1, w2 and w5");
    if (ab_knob >= 0 && (device.kind != MLPC_DEVICE_CPU || with_test || threads == 0 ||
                         (strcmp(w, "w1") && strcmp(w, "w2") && strcmp(w, "w4") && strcmp(w, "w5"))))
        die("--ab", "is for w1, w2, w4 and w5 on the CPU, with a fixed --threads and no --test");
    if (threads == 0 && strcmp(w, "w1") && strcmp(w, "w2") && strcmp(w, "w4")) die(w, "--threads auto is for w1, w2 and w4");
    if (!strcmp(w, "w1")) w1(epochs, threads);
    else if (!strcmp(w, "w2")) w2(epochs, threads);
    else if (!strcmp(w, "w3")) w3(layers, batches, passes, threads);
    else if (!strcmp(w, "w4")) w4(epochs, threads);
    else if (!strcmp(w, "w5")) w5(epochs, threads);
    else if (!strcmp(w, "gemm")) gemm(threads);
    else if (!strcmp(w, "peak")) peak(threads);
    else die(w, "unknown workload (w1 w2 w3 w4 w5 gemm peak)");
    return 0;
}
