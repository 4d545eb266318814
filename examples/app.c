/* app.c - trains a 784-30-10 net on MNIST with libmlpc, tests it, saves it.
 *   cc app.c $(pkg-config --cflags --libs mlpc)
 *   ./a.out data/mnist        (the folder with the four MNIST files) */
#include <mlpc.h>
#include <stdio.h>

static mlpc_dataset *load(const char *dir, const char *set, mlpc_error *err)
{
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte", dir, set);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte", dir, set);
    return mlpc_dataset_load_idx(images, labels, err);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    mlpc_error err;
    mlpc_dataset *train = load(dir, "train", &err);
    mlpc_dataset *test = train ? load(dir, "t10k", &err) : NULL;
    if (!test) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    mlpc_config cfg;
    mlpc_config_default(&cfg);
    mlpc_config_set_layers(&cfg, "784-30-10", &err);
    mlpc_config_set_acts(&cfg, MLPC_ACT_SIGMOID, MLPC_ACT_SIGMOID);
    cfg.loss = MLPC_LOSS_QUADRATIC;
    cfg.opt = MLPC_OPT_SGD;
    cfg.lr = 3.0f;
    cfg.batch = 10;
    cfg.epochs = 3;
    mlpc_net *net = mlpc_net_create(&cfg, &err);
    mlpc_trainer *tr = net ? mlpc_trainer_create(net, &cfg, &err) : NULL;
    if (!tr) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    mlpc_net_fit_normalization(net, train, MLPC_NORM_SCALE); /* stored with the model */
    mlpc_net_normalize(net, train);
    mlpc_net_normalize(net, test);
    mlpc_trainer_set_data(tr, train, NULL, test);
    if (mlpc_trainer_run(tr) != MLPC_OK) { /* or mlpc_trainer_epoch() in your own loop */
        fprintf(stderr, "%s\n", mlpc_trainer_error(tr)->msg);
        return 1;
    }
    mlpc_eval ev;
    mlpc_net_evaluate(net, test, &ev);
    printf("mlpc %s: %d epochs, test accuracy %.4f\n", mlpc_version(), mlpc_trainer_epochs_done(tr), ev.acc);
    int rc = mlpc_net_save(net, "model.mlpc", &err) == MLPC_OK ? 0 : 1;
    if (rc) fprintf(stderr, "%s\n", err.msg);
    mlpc_trainer_free(tr);
    mlpc_net_free(net);
    mlpc_dataset_free(test);
    mlpc_dataset_free(train);
    return rc;
}
