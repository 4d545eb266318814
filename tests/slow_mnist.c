/* slow_mnist.c - end-to-end on real MNIST (data/mnist, fetched by
 * scripts/fetch-data.sh):
 *   W1 784-30-10 sigmoid, quadratic, SGD lr 3.0, batch 10, 50,000 images
 *      (10,000 held out for validation): >= 94% test accuracy in 10 epochs;
 *   W2 784-200-100-50-30-10 sigmoid, softmax + cce, RMSprop (Keras
 *      defaults), batch 1500, 60,000 images: >= 96% within 45 epochs. */
#include "testutil.h"

#include <math.h>

static mlpc_dataset *load(const char *dir, const char *which)
{
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/%s-images-idx3-ubyte", dir, which);
    snprintf(b, sizeof b, "%s/%s-labels-idx1-ubyte", dir, which);
    mlpc_error err;
    mlpc_dataset *d = mlpc_dataset_load_idx(a, b, &err);
    if (!d) fail_msg("%s", err.msg);
    return d;
}

static int print_epoch(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user)
{
    double *best = user;
    printf("    epoch %2d  loss %.4f  acc %.4f  val_acc %.4f  test_acc %.4f  %.2fs\n",
           e->epoch, e->loss, e->acc, e->val_acc,
           e->test_acc, e->epoch_seconds);
    fflush(stdout);
    if (e->test_acc > *best) *best = e->test_acc;
    return 0;
}

/* trains cfg on train (val may be NULL), returns the final and best test accuracy */
static double train_mnist(mlpc_config *c, mlpc_dataset *train, mlpc_dataset *val, mlpc_dataset *test,
                          double *best)
{
    mlpc_error err;
    mlpc_net *net = mlpc_net_create(c, &err);
    if (!net) fail_msg("%s", err.msg);
    assert_int_equal(mlpc_net_fit_normalization(net, train, MLPC_NORM_SCALE), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(net, train), MLPC_OK);
    if (val) assert_int_equal(mlpc_net_normalize(net, val), MLPC_OK);
    assert_int_equal(mlpc_net_normalize(net, test), MLPC_OK);
    mlpc_trainer *tr = mlpc_trainer_create(net, c, &err);
    assert_non_null(tr);
    assert_int_equal(mlpc_trainer_set_data(tr, train, val, test), MLPC_OK);
    *best = 0.0;
    mlpc_trainer_on_epoch(tr, print_epoch, best);
    assert_int_equal(mlpc_trainer_run(tr), MLPC_OK);
    mlpc_eval ev;
    assert_int_equal(mlpc_net_evaluate(net, test, &ev), MLPC_OK);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    return ev.acc;
}

static void test_w1(void **state)
{
    (void)state;
    const char *dir = tu_mnist_dir();
    if (!dir) fail_msg("no MNIST in data/mnist: run scripts/fetch-data.sh");
    mlpc_dataset *all = load(dir, "train"), *test = load(dir, "t10k");
    mlpc_dataset *train = mlpc_dataset_slice(all, 0, 50000, NULL);
    mlpc_dataset *val = mlpc_dataset_slice(all, 50000, 10000, NULL);
    mlpc_config c;
    mlpc_config_default(&c);
    assert_int_equal(mlpc_config_set_layers(&c, "784-30-10", NULL), MLPC_OK);
    mlpc_config_set_acts(&c, MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID);
    c.loss = MLPC_LOSS_QUADRATIC;
    c.init = MLPC_INIT_NORMAL;
    c.opt = MLPC_OPT_SGD;
    c.lr = 3.0f;
    c.batch = 10;
    c.epochs = 10;
    double best, final = train_mnist(&c, train, val, test, &best);
    printf("    W1: final test accuracy %.4f (best %.4f), needs >= 0.94\n", final, best);
    assert_true(final >= 0.94);
    mlpc_dataset_free(all);
    mlpc_dataset_free(train);
    mlpc_dataset_free(val);
    mlpc_dataset_free(test);
}

static void test_w2(void **state)
{
    (void)state;
    const char *dir = tu_mnist_dir();
    if (!dir) fail_msg("no MNIST in data/mnist: run scripts/fetch-data.sh");
    mlpc_dataset *train = load(dir, "train"), *test = load(dir, "t10k");
    mlpc_config c;
    mlpc_config_default(&c);
    assert_int_equal(mlpc_config_set_layers(&c, "784-200-100-50-30-10", NULL), MLPC_OK);
    mlpc_config_set_acts(&c, MLPC_ACT_SIGMOID, MLPC_ACT_SOFTMAX);
    c.loss = MLPC_LOSS_CCE;
    c.init = MLPC_INIT_GLOROT;
    c.opt = MLPC_OPT_RMSPROP; /* lr 0.001, rho 0.9, eps 1e-7 */
    c.batch = 1500;
    c.epochs = 45;
    c.threads = 2;
    double best, final = train_mnist(&c, train, NULL, test, &best);
    printf("    W2: final test accuracy %.4f (best %.4f), needs >= 0.96\n", final, best);
    assert_true(final >= 0.96);
    mlpc_dataset_free(train);
    mlpc_dataset_free(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w1),
        cmocka_unit_test(test_w2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
