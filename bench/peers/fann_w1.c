/*
 * fann_w1.c - W1 (784-30-10 sigmoid, quadratic cost) in FANN 2.2 (libfann-dev,
 * float build). Prints s/epoch over the first 50,000 MNIST images as a JSON line.
 *
 *   fann_w1 [--epochs K] [--data DIR]
 *
 * What differs from W1, because FANN has no mini-batch SGD: FANN_TRAIN_INCREMENTAL
 * updates after every sample (batch 1) with learning rate 0.3, the per-sample
 * share of W1's 3.0 / 10; FANN_SIGMOID with steepness 0.5 is the logistic
 * function, and the linear error function gives the quadratic cost's gradient.
 * No momentum. Init: FANN's uniform [-0.1, 0.1]. One thread (FANN 2.2 has none).
 * The epoch includes fann_shuffle_train_data, as the other peers shuffle.
 */
#include <floatfann.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 50000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads an IDX file: `skip` header bytes then `n` bytes; exits on failure. */
static unsigned char *read_idx(const char *dir, const char *name, long skip, long n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc((size_t)n);
    if (!f || !buf || fseek(f, skip, SEEK_SET) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "fann_w1: cannot read %s (run scripts/fetch-data.sh)\n", path);
        exit(1);
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    int epochs = 1;
    char dir[1024];
    const char *env = getenv("MLPC_DATA");
    snprintf(dir, sizeof dir, "%s/mnist", env && *env ? env : "data");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--epochs")) epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--data")) snprintf(dir, sizeof dir, "%s", argv[i + 1]);
    }
    if (epochs < 1) epochs = 1;
    unsigned char *img = read_idx(dir, "train-images-idx3-ubyte", 16, (long)ROWS * 784);
    unsigned char *lab = read_idx(dir, "train-labels-idx1-ubyte", 8, ROWS);

    struct fann_train_data *data = fann_create_train(ROWS, 784, 10);
    for (int i = 0; i < ROWS; i++) {
        for (int j = 0; j < 784; j++) data->input[i][j] = img[(size_t)i * 784 + j] / 255.0f;
        for (int j = 0; j < 10; j++) data->output[i][j] = j == lab[i] ? 1.0f : 0.0f;
    }
    struct fann *ann = fann_create_standard(3, 784, 30, 10);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5f);
    fann_set_activation_steepness_output(ann, 0.5f);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann, 0.3f);
    fann_set_learning_momentum(ann, 0.0f);

    float mse = 0;
    double t0 = now();
    for (int e = 0; e < epochs; e++) {
        fann_shuffle_train_data(data);
        mse = fann_train_epoch(ann, data);
    }
    double sec = (now() - t0) / epochs;
    printf("{\"workload\":\"w1\",\"impl\":\"fann\",\"threads\":1,\"epochs\":%d,\"rows\":%d,"
           "\"sec\":%.6g,\"unit\":\"s/epoch\",\"mse\":%.6g}\n", epochs, ROWS, sec, mse);
    fann_destroy(ann);
    fann_destroy_train(data);
    free(img);
    free(lab);
    return 0;
}
