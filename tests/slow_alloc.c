/* slow_alloc.c - proves that a training epoch allocates nothing: this
 * program replaces malloc and friends (forwarding to glibc's __libc_*) and
 * counts every call made while mlpc_trainer_epoch runs, on all threads
 * (fp32, and bf16 where the CPU has AVX512_BF16).
 * Runs in the optimized tier (a sanitizer would own malloc itself). */
#include "testutil.h"

#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_long n_alloc;

static void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&n_alloc, 1);
}

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void *aligned_alloc(size_t al, size_t n) { count(); return __libc_memalign(al, n); }
void *memalign(size_t al, size_t n) { count(); return __libc_memalign(al, n); }
int posix_memalign(void **p, size_t al, size_t n)
{
    count();
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12;
}
void free(void *p) { __libc_free(p); }

static int on_batch(mlpc_trainer *tr, const mlpc_batch_info *b, void *u) { return 0; }

/* trains `epochs` epochs of cfg on d (validation and test sets too) and
 * returns the allocations counted inside the epochs */
static long allocs_during_epochs(mlpc_config *c, mlpc_dataset *d, mlpc_dataset *val, int epochs)
{
    mlpc_error err;
    mlpc_net *net = mlpc_net_create(c, &err);
    assert_non_null(net);
    mlpc_trainer *tr = mlpc_trainer_create(net, c, &err);
    assert_non_null(tr);
    assert_int_equal(mlpc_trainer_set_data(tr, d, val, val), MLPC_OK);
    mlpc_trainer_on_batch(tr, on_batch, 7, NULL); /* the callback path too */
    mlpc_epoch_stats st;
    assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK); /* warm-up: first-touch effects */
    atomic_store(&n_alloc, 0);
    atomic_store(&counting, 1);
    for (int e = 0; e < epochs; e++) assert_int_equal(mlpc_trainer_epoch(tr, &st), MLPC_OK);
    atomic_store(&counting, 0);
    long n = atomic_load(&n_alloc);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    return n;
}

static mlpc_dataset *synthetic(size_t n, size_t nf, int classes)
{
    float *x = __libc_malloc(sizeof(float) * n * nf);
    int32_t *y = __libc_malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % (size_t)classes);
        for (size_t j = 0; j < nf; j++) x[i * nf + j] = (float)((i * 31 + j * 17) % 97) / 97.0f;
    }
    mlpc_dataset *d = mlpc_dataset_from_arrays(n, nf, x, y, classes, NULL, 0, NULL);
    __libc_free(x);
    __libc_free(y);
    return d;
}

/* the counter itself works: an allocation while counting is seen */
static void test_counter_counts(void **state)
{
    (void)state;
    atomic_store(&n_alloc, 0);
    atomic_store(&counting, 1);
    void *volatile p = malloc(16);
    atomic_store(&counting, 0);
    free(p);
    assert_int_equal(atomic_load(&n_alloc), 1);
}

static mlpc_precision case_precision = MLPC_PRECISION_FP32;

static void run_case(const char *layers, mlpc_act hid, mlpc_act out, mlpc_loss loss, mlpc_opt opt,
                     int batch, int threads, float l2, mlpc_dataset *d, mlpc_dataset *val, int epochs)
{
    mlpc_config c;
    mlpc_config_default(&c);
    assert_int_equal(mlpc_config_set_layers(&c, layers, NULL), MLPC_OK);
    mlpc_config_set_acts(&c, hid, out);
    c.loss = loss;
    c.opt = opt;
    c.batch = batch;
    c.threads = threads;
    c.l2 = l2;
    c.momentum = opt == MLPC_OPT_SGD ? 0.9f : 0.0f;
    c.precision = case_precision;
    long n = allocs_during_epochs(&c, d, val, epochs);
    if (n) print_error("%s batch %d threads %d: %ld allocations during %d epochs\n", layers, batch, threads, n, epochs);
    assert_int_equal(n, 0);
}

static void test_no_alloc_synthetic(void **state)
{
    (void)state;
    mlpc_dataset *d = synthetic(2000, 20, 4), *val = synthetic(300, 20, 4);
    run_case("20-32-16-4", MLPC_ACT_RELU, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, MLPC_OPT_ADAM, 10, 1, 0.0f, d, val, 2);
    run_case("20-32-16-4", MLPC_ACT_TANH, MLPC_ACT_SIGMOID, MLPC_LOSS_QUADRATIC, MLPC_OPT_SGD, 64, 2, 1e-4f, d, val, 2);
    run_case("20-300-200-4", MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, MLPC_OPT_RMSPROP, 500, 2, 0.0f, d, val, 2);
    mlpc_dataset_free(d);
    mlpc_dataset_free(val);
}

/* --precision bf16: its packing buffers are the context's, made with it */
static void test_no_alloc_bf16(void **state)
{
    (void)state;
    if (!mlpc_cpu_has_bf16()) {
        print_message("skipped: this CPU has no AVX512_BF16 (--precision bf16)\n");
        skip();
    }
    mlpc_dataset *d = synthetic(2000, 20, 4), *val = synthetic(300, 20, 4);
    case_precision = MLPC_PRECISION_BF16;
    run_case("20-32-16-4", MLPC_ACT_RELU, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, MLPC_OPT_ADAM, 10, 1, 0.0f, d, val, 2);
    run_case("20-300-200-4", MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, MLPC_OPT_RMSPROP, 500, 2, 0.0f, d, val, 2);
    run_case("20-32-16-4", MLPC_ACT_TANH, MLPC_ACT_SIGMOID, MLPC_LOSS_QUADRATIC, MLPC_OPT_SGD, 64, 2, 1e-4f, d, val, 2);
    case_precision = MLPC_PRECISION_FP32;
    mlpc_dataset_free(d);
    mlpc_dataset_free(val);
}

/* W1 on real MNIST when the data is there (it is in CI: .ci/run fetches it) */
static void test_no_alloc_mnist_w1(void **state)
{
    (void)state;
    const char *dir = tu_mnist_dir();
    if (!dir) {
        print_message("skipped: no MNIST in data/mnist (run scripts/fetch-data.sh)\n");
        skip();
    }
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_load_idx(a, b, &err);
    assert_non_null(d);
    run_case("784-30-10", MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID, MLPC_LOSS_QUADRATIC, MLPC_OPT_SGD, 10, 1, 0.0f, d, NULL, 1);
    run_case("784-200-100-50-30-10", MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE, MLPC_OPT_RMSPROP, 1500, 2, 0.0f, d, NULL, 1);
    mlpc_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_counts),
        cmocka_unit_test(test_no_alloc_synthetic),
        cmocka_unit_test(test_no_alloc_bf16),
        cmocka_unit_test(test_no_alloc_mnist_w1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
