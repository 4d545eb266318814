/*
 * mlpc.h - the one public header of mlpc, a C11 library that trains dense
 * neural networks (multilayer perceptrons) on the CPU, or on a CUDA GPU
 * through a plugin loaded at run time (see "devices").
 *
 * Intended usage:
 *   mlpc_error err;
 *   mlpc_dataset *train = mlpc_dataset_load_idx("train-images-idx3-ubyte",
 *                                                "train-labels-idx1-ubyte", &err);
 *   mlpc_config cfg; mlpc_config_default(&cfg);
 *   mlpc_config_set_layers(&cfg, "784-30-10", &err);
 *   mlpc_net *net = mlpc_net_create(&cfg, &err);
 *   mlpc_net_fit_normalization(net, train, MLPC_NORM_SCALE);
 *   mlpc_trainer *tr = mlpc_trainer_create(net, &cfg, &err);
 *   mlpc_trainer_set_data(tr, train, NULL, NULL);
 *   mlpc_trainer_run(tr);
 *   mlpc_net_save(net, "model.mlpc", &err);
 *   ... mlpc_trainer_free(tr); mlpc_net_free(net); mlpc_dataset_free(train);
 *
 * Errors: the library never calls exit() or abort() on bad input. Functions
 * that create a handle take an `mlpc_error *` (may be NULL) and return NULL on
 * failure; functions on a handle return an mlpc_status and leave the code and
 * a one-line message in that handle (mlpc_*_error()).
 *
 * Ownership: every create/load function has a matching *_free. Datasets passed to a
 * trainer are borrowed and must outlive it. Strings returned are owned by the
 * handle unless stated otherwise.
 */
#ifndef MLPC_H
#define MLPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLPC_VERSION_MAJOR 0
#define MLPC_VERSION_MINOR 1
#define MLPC_VERSION_PATCH 0
#define MLPC_VERSION_STRING "0.1.0"

/* Marks the public API: the shared library exports these functions and
 * nothing else (the library is compiled with -fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define MLPC_API __attribute__((visibility("default")))
#else
#define MLPC_API
#endif

#define MLPC_MAX_LAYERS 32 /* weight layers in one net */
#define MLPC_MAX_WIDTH (1 << 20)
#define MLPC_MAX_THREADS 256 /* compute threads in one net or trainer */

/* ---------------------------------------------------------------- errors */

typedef enum mlpc_status {
    MLPC_OK = 0,
    MLPC_ERR_ARG = 1,      /* an argument or setting is invalid */
    MLPC_ERR_IO = 2,       /* a file could not be opened, read or written */
    MLPC_ERR_FORMAT = 3,   /* a file is malformed */
    MLPC_ERR_NOMEM = 4,    /* out of memory */
    MLPC_ERR_SHAPE = 5,    /* sizes disagree (data vs net, labels vs images) */
    MLPC_ERR_DIVERGED = 6, /* the loss became NaN or Inf */
    MLPC_ERR_STOPPED = 7,  /* a callback asked training to stop (not a failure) */
    MLPC_ERR_UNSUPPORTED = 8
} mlpc_status;

typedef struct mlpc_error {
    mlpc_status code;
    char msg[512]; /* one line, no trailing newline; "" when code == MLPC_OK */
} mlpc_error;

/* Name of a status code, e.g. "format error". */
MLPC_API const char *mlpc_status_str(mlpc_status s);

/* ---------------------------------------------------------------- enums */

typedef enum mlpc_act {
    MLPC_ACT_SIGMOID = 0,
    MLPC_ACT_TANH,
    MLPC_ACT_RELU,
    MLPC_ACT_LEAKY_RELU, /* slope 0.01 below zero */
    MLPC_ACT_LINEAR,
    MLPC_ACT_SOFTMAX, /* output layer only */
    MLPC_ACT_COUNT
} mlpc_act;

typedef enum mlpc_loss {
    MLPC_LOSS_QUADRATIC = 0, /* 1/2 sum_j (a_j - y_j)^2, mean over the batch (Nielsen) */
    MLPC_LOSS_MSE,           /* mean_j (a_j - y_j)^2, mean over the batch (Keras) */
    MLPC_LOSS_BCE,           /* mean_j binary cross-entropy */
    MLPC_LOSS_CCE,           /* -sum_j y_j log a_j (categorical cross-entropy) */
    MLPC_LOSS_COUNT
} mlpc_loss;

typedef enum mlpc_init {
    MLPC_INIT_AUTO = 0, /* he for relu-family nets, glorot otherwise */
    MLPC_INIT_NORMAL,   /* Nielsen: W ~ N(0, 1/fan_in), b ~ N(0, 1) */
    MLPC_INIT_GLOROT,   /* U(+-sqrt(6/(fan_in+fan_out))), b = 0 (Keras default) */
    MLPC_INIT_HE,       /* N(0, 2/fan_in), b = 0 */
    MLPC_INIT_COUNT
} mlpc_init;

typedef enum mlpc_opt {
    MLPC_OPT_SGD = 0, /* with optional momentum and Nesterov */
    MLPC_OPT_RMSPROP, /* Keras: rho 0.9, eps 1e-7 */
    MLPC_OPT_ADAM,    /* beta1 0.9, beta2 0.999, eps 1e-7 */
    MLPC_OPT_COUNT
} mlpc_opt;

typedef enum mlpc_sched {
    MLPC_SCHED_CONSTANT = 0,
    MLPC_SCHED_STEP,        /* lr *= factor every `step` epochs */
    MLPC_SCHED_EXPONENTIAL, /* lr = lr0 * factor^epoch */
    MLPC_SCHED_PLATEAU,     /* lr *= factor after `patience` epochs without improvement */
    MLPC_SCHED_COUNT
} mlpc_sched;

typedef enum mlpc_norm {
    MLPC_NORM_NONE = 0,
    MLPC_NORM_SCALE,    /* x' = (x - min) / (max - min), min/max over all features */
    MLPC_NORM_STANDARD, /* x' = (x - mean_j) / std_j per feature */
    MLPC_NORM_COUNT
} mlpc_norm;

typedef enum mlpc_metric {
    MLPC_METRIC_VAL_LOSS = 0,
    MLPC_METRIC_VAL_ACC,
    MLPC_METRIC_LOSS,
    MLPC_METRIC_ACC,
    MLPC_METRIC_COUNT
} mlpc_metric;

/* The arithmetic of training's matrix products (mlpc_config.precision).
 * bf16: the products of the forward pass, the deltas and the weight
 * gradients take bf16 copies of their operands (AVX512_BF16, vdpbf16ps)
 * and sum in float32; master weights, gradient sums and optimizer state stay
 * float32, evaluation and saved models are float32. auto: bf16 where the
 * CPU has AVX512_BF16 and training runs on the CPU, else fp32. */
typedef enum mlpc_precision {
    MLPC_PRECISION_FP32 = 0, /* the default */
    MLPC_PRECISION_BF16,     /* an error where the CPU lacks AVX512_BF16 */
    MLPC_PRECISION_AUTO,
    MLPC_PRECISION_COUNT
} mlpc_precision;

/* Names as used on the command line and in files ("relu", "cce", "adam", ...).
 * *_parse return 0 on success and -1 for an unknown name. */
MLPC_API const char *mlpc_act_name(mlpc_act a);
MLPC_API const char *mlpc_loss_name(mlpc_loss l);
MLPC_API const char *mlpc_init_name(mlpc_init i);
MLPC_API const char *mlpc_opt_name(mlpc_opt o);
MLPC_API const char *mlpc_sched_name(mlpc_sched s);
MLPC_API const char *mlpc_norm_name(mlpc_norm n);
MLPC_API const char *mlpc_metric_name(mlpc_metric m);
MLPC_API const char *mlpc_precision_name(mlpc_precision p);
MLPC_API int mlpc_act_parse(const char *s, mlpc_act *out);
MLPC_API int mlpc_loss_parse(const char *s, mlpc_loss *out);
MLPC_API int mlpc_init_parse(const char *s, mlpc_init *out);
MLPC_API int mlpc_opt_parse(const char *s, mlpc_opt *out);
MLPC_API int mlpc_sched_parse(const char *s, mlpc_sched *out);
MLPC_API int mlpc_norm_parse(const char *s, mlpc_norm *out);
MLPC_API int mlpc_precision_parse(const char *s, mlpc_precision *out);
/* 1 when this CPU has the bf16 dot products (AVX512_BF16) that
 * MLPC_PRECISION_BF16 needs, else 0 */
MLPC_API int mlpc_cpu_has_bf16(void);
MLPC_API int mlpc_metric_parse(const char *s, mlpc_metric *out);

/* ---------------------------------------------------------------- config */

/* Everything that defines a model and a training run. Plain values: fill it
 * with mlpc_config_default() and change what you need. */
typedef struct mlpc_config {
    /* model */
    int n_layers;                      /* weight layers; sizes has n_layers+1 entries */
    int sizes[MLPC_MAX_LAYERS + 1];    /* sizes[0] inputs ... sizes[n_layers] outputs */
    mlpc_act act[MLPC_MAX_LAYERS];     /* activation of each weight layer */
    mlpc_loss loss;
    mlpc_init init;
    mlpc_norm norm;                    /* input normalization fitted on the training set */
    /* optimizer */
    mlpc_opt opt;
    float lr;        /* default: 0.01 for sgd, 0.001 for rmsprop and adam */
    float momentum;  /* sgd only, default 0 */
    int nesterov;    /* sgd only, default 0 */
    float rho;       /* rmsprop, default 0.9 */
    float beta1;     /* adam, default 0.9 */
    float beta2;     /* adam, default 0.999 */
    float eps;       /* rmsprop and adam, default 1e-7 */
    float l2;        /* L2 decay on weights (not biases): adds l2 * w to the gradient */
    /* schedule */
    mlpc_sched sched;
    float sched_factor; /* default 0.5 (step, plateau), 0.95 (exponential) */
    int sched_step;     /* epochs per step, default 10 */
    int sched_patience; /* plateau patience in epochs, default 3 */
    float min_lr;       /* lower bound for schedules, default 0 */
    /* loop */
    int batch;          /* default 32 */
    int epochs;         /* default 10 */
    uint64_t seed;      /* default 1: init, shuffling; same seed + threads = same result */
    int threads;        /* compute threads, default 1, at most MLPC_MAX_THREADS */
    int shuffle;        /* default 1 */
    /* early stopping: 0 patience disables it */
    int es_patience;
    mlpc_metric es_metric; /* default val_loss (val_acc when there is no val set: loss) */
    float es_min_delta;
    int es_restore_best;   /* default 1 */
    mlpc_precision precision; /* training's products, default fp32 (not stored in models) */
} mlpc_config;

MLPC_API void mlpc_config_default(mlpc_config *cfg);
/* Parses "784-30-10" into n_layers/sizes. When the layer count changes, the
 * hidden layers take the previous first activation and the output layer
 * keeps the previous output activation. A fresh config gets sigmoid hidden
 * layers and, with its default loss cce, a softmax output. */
MLPC_API mlpc_status mlpc_config_set_layers(mlpc_config *cfg, const char *spec, mlpc_error *err);
/* Sets every hidden layer's activation to `hidden` and the last to `out`. */
MLPC_API void mlpc_config_set_acts(mlpc_config *cfg, mlpc_act hidden, mlpc_act out);
/* Checks every field; the message names the offending setting. */
MLPC_API mlpc_status mlpc_config_validate(const mlpc_config *cfg, mlpc_error *err);
/* Writes the config as one JSON object into buf (NUL-terminated). Returns
 * the length, or -1 if cap is too small. */
MLPC_API int mlpc_config_to_json(const mlpc_config *cfg, char *buf, size_t cap);

/* ---------------------------------------------------------------- data */

typedef struct mlpc_dataset mlpc_dataset;

typedef enum mlpc_task {
    MLPC_TASK_CLASSIFY = 0, /* integer labels 0..n_classes-1 */
    MLPC_TASK_REGRESS = 1   /* float targets, n_out columns */
} mlpc_task;

/* The task policy, one place for mlpc train, mlpc search and any caller
 * (src/nn/policy.c; the table in docs/cli.md): the output activation a task
 * gets when none is given (classify: softmax, regress: linear), the loss an
 * output gets when none is given (classify: softmax -> cce, sigmoid -> bce,
 * else mse; regress: mse), and whether a pair works: NULL, or why not ("cce
 * needs a softmax output", ...). */
MLPC_API mlpc_act mlpc_task_out_act(mlpc_task task);
MLPC_API mlpc_loss mlpc_task_loss(mlpc_task task, mlpc_act out);
MLPC_API const char *mlpc_task_check(mlpc_task task, mlpc_act out, mlpc_loss loss);
/* The output activation when only the loss is given (loss -1: neither):
 * the one the loss needs (bce: sigmoid; cce: softmax, which the regress
 * task then refuses; mse or quadratic when classifying: sigmoid, since
 * softmax needs cce), else mlpc_task_out_act's. out >= 0 (given) is
 * returned as it is. */
MLPC_API mlpc_act mlpc_task_resolve_out(mlpc_task task, int out, int loss);
/* Which rule a pair breaks, for messages that name the settings (out or
 * loss -1: not chosen, never at fault), checked in this order: */
typedef enum mlpc_task_conflict {
    MLPC_CONFLICT_NONE = 0,
    MLPC_CONFLICT_LOSS_NEEDS_OUT,  /* cce needs softmax, bce needs sigmoid (mlpc_task_needs_out says which) */
    MLPC_CONFLICT_OUT_NEEDS_LOSS,  /* softmax needs cce */
    MLPC_CONFLICT_NOT_REGRESSION   /* softmax or cce with the regress task */
} mlpc_task_conflict;
MLPC_API mlpc_task_conflict mlpc_task_conflicts(mlpc_task task, int out, int loss);
/* The output activation a loss requires (cce: softmax, bce: sigmoid), or -1. */
MLPC_API int mlpc_task_needs_out(int loss);

/* IDX image + label files (plain or gzip, detected by content). */
MLPC_API mlpc_dataset *mlpc_dataset_load_idx(const char *images, const char *labels, mlpc_error *err);

/* Missing values in a CSV: an empty field, NA, NaN, N/A, ?, null (any case). */
typedef enum mlpc_missing {
    MLPC_MISSING_ERROR = 0, /* one error naming file, line and column (default) */
    MLPC_MISSING_DROP,      /* rows with a missing value are dropped (counted in the describe line) */
    MLPC_MISSING_MEAN       /* missing features stay NaN for mlpc_net_fit_imputation / mlpc_net_normalize
                               to fill with the training mean; rows with a missing target are dropped */
} mlpc_missing;

typedef struct mlpc_csv_options {
    int header;            /* -1 auto-detect (default), 0 no header, 1 header */
    /* Target columns: NULL: the last column (classify: the trailing one-hot
     * columns when the last columns are 0/1 and sum to 1 in every row), or a
     * comma list of names or 0-based indices (-1: the last), with ranges
     * "3-5" (indices) and "a:c" (names or indices, inclusive). One column:
     * the label (classify) or the first of n_targets targets (regress).
     * Several columns: one-hot classes (classify; each row's class is the
     * column holding the 1, the class names are the column names) or the
     * targets (regress). */
    const char *label_col;
    int n_targets;         /* regression: number of target columns from label_col on (default 1) */
    mlpc_task task;        /* classify (default) or regress */
    char delim;            /* 0: auto (',' ';' tab, else runs of spaces); ' ': runs of spaces */
    int skip_rows;         /* lines to skip before the first row (metadata), default 0 */
    mlpc_missing missing;  /* default MLPC_MISSING_ERROR */
    /* Classify: how label values become classes. n_class_names -1 (default):
     * derived from the file (labels 0..K-1 as they are; 1..K, -1/+1, other
     * numbers and strings: the distinct values sorted, numerically for
     * numbers, byte order for strings, kept as class names); 0: labels must
     * be class indices 0..K-1; > 0: each label must be one of class_names
     * (a model's; mlpc_net_class_name), else an error naming file, line,
     * column and label. */
    const char *const *class_names;
    int n_class_names;
} mlpc_csv_options;
MLPC_API void mlpc_csv_options_default(mlpc_csv_options *o);
/* CSV, plain or gzip. With `opt` NULL: defaults. A UTF-8 byte order mark
 * is skipped. Header auto-detection: a first row with a field that is not a
 * number, or one that reads 0, 1, ..., n-1 over n >= 3 columns (what pandas
 * writes for an array), is a header. n_targets 0 with the classify task:
 * every column is a feature (rows to predict). */
MLPC_API mlpc_dataset *mlpc_dataset_load_csv(const char *path, const mlpc_csv_options *opt, mlpc_error *err);
/* CSV without targets (rows to predict): every column is a feature. */
MLPC_API mlpc_dataset *mlpc_dataset_load_csv_features(const char *path, int header, mlpc_error *err);
/* NumPy .npy (float32, float64 or uint8, C order; 1-D or 2-D). `labels` may
 * be NULL (features only). Label files of integer type give a classification
 * set, float label files a regression set (n x k or n). */
MLPC_API mlpc_dataset *mlpc_dataset_load_npy(const char *features, const char *labels, mlpc_error *err);
/* Loads by file extension/content: .npy, .csv(.gz), IDX. `labels` may be NULL. */
MLPC_API mlpc_dataset *mlpc_dataset_load(const char *features, const char *labels, mlpc_error *err);

/* W4: Lorenz attractor (sigma 10, beta 8/3, rho 58) integrated with RK4 over
 * t in [0, 20] in 9,999 steps from (1,1,1). Input: the state at step t;
 * target: the state `horizon` steps later, for t in [start, start+count). */
typedef struct mlpc_lorenz_options {
    double sigma, beta, rho, t_end, x0, y0, z0;
    int steps;   /* default 9999 */
    int horizon; /* default 99 */
} mlpc_lorenz_options;
MLPC_API void mlpc_lorenz_options_default(mlpc_lorenz_options *o);
MLPC_API mlpc_dataset *mlpc_dataset_lorenz(const mlpc_lorenz_options *o, int start, int count, mlpc_error *err);

/* Rows [start, start+count) copied into a new dataset. */
MLPC_API mlpc_dataset *mlpc_dataset_slice(const mlpc_dataset *d, size_t start, size_t count, mlpc_error *err);
/* Splits d into *train and *val (n_val rows), both new. shuffle 0: the
 * last n_val rows (Keras's validation_split). shuffle 1: rows drawn with
 * seed, stratified for classification (each class keeps its share of the
 * validation set, largest remainders rounded up), so a file sorted by class
 * still validates on every class. Rows keep their file order in each part. */
MLPC_API mlpc_status mlpc_dataset_split(const mlpc_dataset *d, size_t n_val, int shuffle, uint64_t seed,
                                        mlpc_dataset **train, mlpc_dataset **val, mlpc_error *err);
/* Builds a dataset from caller arrays (copied). labels: n ints or NULL;
 * targets: n x n_out floats or NULL. Exactly one of them for training sets. */
MLPC_API mlpc_dataset *mlpc_dataset_from_arrays(size_t n, size_t n_in, const float *x, const int32_t *labels,
                                                int n_classes, const float *targets, size_t n_out,
                                                mlpc_error *err);
MLPC_API void mlpc_dataset_free(mlpc_dataset *d);

MLPC_API size_t mlpc_dataset_rows(const mlpc_dataset *d);
MLPC_API size_t mlpc_dataset_features(const mlpc_dataset *d);
/* Output width the data implies: n_classes (classify) or target columns. */
MLPC_API size_t mlpc_dataset_outputs(const mlpc_dataset *d);
MLPC_API mlpc_task mlpc_dataset_task(const mlpc_dataset *d);
MLPC_API int mlpc_dataset_has_targets(const mlpc_dataset *d);
MLPC_API const float *mlpc_dataset_x(const mlpc_dataset *d);          /* rows x features */
MLPC_API const int32_t *mlpc_dataset_labels(const mlpc_dataset *d);   /* classify, else NULL */
MLPC_API const float *mlpc_dataset_targets(const mlpc_dataset *d);    /* regress, else NULL */
MLPC_API const char *mlpc_dataset_source(const mlpc_dataset *d);      /* file it came from */
/* How a text file was read, in one line ("csv: delimiter ';', header (5
 * names), label column 'species' (3 classes)"); "" for other formats. */
MLPC_API const char *mlpc_dataset_describe(const mlpc_dataset *d);
/* Class names of a classification set whose labels were mapped (strings,
 * 1..K, -1/+1, one-hot columns): the count (0: the labels are the file's
 * own 0..K-1, no names) and name k (NULL when none). */
MLPC_API int mlpc_dataset_class_names(const mlpc_dataset *d);
MLPC_API const char *mlpc_dataset_class_name(const mlpc_dataset *d, int k);
/* Features plus a separate labels file: features CSV (every column a
 * feature), .npy or IDX images; labels CSV (one label column, string or
 * numeric, or one-hot columns; opt's task, label_col, class names and
 * dialect apply to it) or .npy. Rows must match in number. */
MLPC_API mlpc_dataset *mlpc_dataset_load_pair(const char *features, const char *labels, const mlpc_csv_options *opt,
                                              mlpc_error *err);

/* ---------------------------------------------------------------- model */

typedef struct mlpc_net mlpc_net;

/* Builds a net from cfg's layers, activations, loss and init, with weights
 * drawn from cfg->seed. */
MLPC_API mlpc_net *mlpc_net_create(const mlpc_config *cfg, mlpc_error *err);
MLPC_API void mlpc_net_free(mlpc_net *net);
MLPC_API const mlpc_error *mlpc_net_error(const mlpc_net *net);

MLPC_API int mlpc_net_layers(const mlpc_net *net);
MLPC_API int mlpc_net_size(const mlpc_net *net, int i); /* i in 0..layers */
MLPC_API mlpc_act mlpc_net_act(const mlpc_net *net, int layer);
MLPC_API mlpc_loss mlpc_net_loss(const mlpc_net *net);
MLPC_API size_t mlpc_net_param_count(const mlpc_net *net);
/* The flat parameter arena: per layer W (in x out, row-major) then b (out). */
MLPC_API float *mlpc_net_params(mlpc_net *net);
/* Pointers into the arena for one layer. */
MLPC_API float *mlpc_net_weights(mlpc_net *net, int layer);
MLPC_API float *mlpc_net_biases(mlpc_net *net, int layer);

/* Compute threads used by predict/eval with this net (the trainer uses its
 * config's count). Exactly n threads, the caller's included. */
MLPC_API mlpc_status mlpc_net_set_threads(mlpc_net *net, int n);

/* Normalization stored with the model and applied by predict. */
MLPC_API mlpc_status mlpc_net_fit_normalization(mlpc_net *net, const mlpc_dataset *train, mlpc_norm mode);
/* Applies the net's normalization to the dataset's features in place. */
MLPC_API mlpc_status mlpc_net_normalize(const mlpc_net *net, mlpc_dataset *d);
MLPC_API mlpc_norm mlpc_net_norm_mode(const mlpc_net *net);

/* Class names stored with a classifier (from the training data's labels:
 * strings, 1..K, -1/+1, one-hot column names): the count, 0 when the
 * classes are plain 0..K-1, and name k (NULL when none). Setting copies
 * them (n 0: none). Saved in the model file. */
MLPC_API mlpc_status mlpc_net_set_class_names(mlpc_net *net, const char *const *names, int n);
MLPC_API int mlpc_net_class_names(const mlpc_net *net);
MLPC_API const char *mlpc_net_class_name(const mlpc_net *net, int k);

/* Regression target standardization, stored with the model: fits mean and
 * standard deviation per target column on train (mode MLPC_NORM_STANDARD;
 * MLPC_NORM_NONE removes them). The net then trains on (t - mean) / std:
 * mlpc_net_normalize standardizes a dataset's targets, mlpc_net_predict
 * returns outputs in the original units and mlpc_net_evaluate reports mse
 * in the original units (its loss stays in standardized units). */
MLPC_API mlpc_status mlpc_net_fit_target_norm(mlpc_net *net, const mlpc_dataset *train, mlpc_norm mode);
/* The stored statistics: the count of target columns (0: none), *mean and
 * *std (may be NULL) pointed at them. */
MLPC_API int mlpc_net_target_stats(const mlpc_net *net, const float **mean, const float **std);
/* Sets statistics fitted elsewhere (k columns, k = the net's outputs, every
 * std > 0; k = 0 removes them), e.g. on one net for many that train on the
 * same standardized targets (mlpc search's trials). */
MLPC_API mlpc_status mlpc_net_set_target_stats(mlpc_net *net, int k, const float *mean, const float *std);

/* Missing features (NaN cells, as mlpc_dataset_load_csv leaves them under
 * MLPC_MISSING_MEAN): fit stores each feature's mean over train's present
 * values in the net (saved in the model file); mlpc_net_impute replaces
 * NaN features of d by them (MLPC_ERR_ARG naming the row and column when
 * the net has none). mlpc_net_normalize imputes first. */
MLPC_API mlpc_status mlpc_net_fit_imputation(mlpc_net *net, const mlpc_dataset *train);
MLPC_API mlpc_status mlpc_net_impute(const mlpc_net *net, mlpc_dataset *d);
/* The stored means (inputs floats), or NULL. */
MLPC_API const float *mlpc_net_imputation(const mlpc_net *net);

/* Rows per inference chunk for predict/evaluate: the batch size of a
 * forward-only pass (default 1024). Rows are independent, so chunks larger
 * than 1024 run as tiles of 1024 rows, which keeps activations in cache. */
MLPC_API mlpc_status mlpc_net_set_eval_rows(mlpc_net *net, int rows);

/* out: n x outputs. x is raw (un-normalized) input, n x inputs; x and out
 * must not overlap. */
MLPC_API mlpc_status mlpc_net_predict(mlpc_net *net, const float *x, size_t n, float *out);

typedef struct mlpc_eval {
    double loss; /* mean loss */
    double acc;  /* accuracy (classification), else NaN */
    double mse;  /* mean squared error per output (regression), else NaN */
    size_t n;
} mlpc_eval;
/* Evaluates on an already normalized dataset (see mlpc_net_normalize). */
MLPC_API mlpc_status mlpc_net_evaluate(mlpc_net *net, const mlpc_dataset *d, mlpc_eval *out);

/* Training settings and metrics carried in the model file, as JSON text
 * (NULL when absent). Setting copies the string. */
MLPC_API const char *mlpc_net_meta(const mlpc_net *net, const char *key); /* "config" or "metrics" */
MLPC_API mlpc_status mlpc_net_set_meta(mlpc_net *net, const char *key, const char *json);

/* Model files: versioned binary, CRC-32 checked, written atomically. */
MLPC_API mlpc_status mlpc_net_save(mlpc_net *net, const char *path, mlpc_error *err);
MLPC_API mlpc_net *mlpc_net_load(const char *path, mlpc_error *err);

/* ---------------------------------------------------------------- training */

typedef struct mlpc_trainer mlpc_trainer;

typedef struct mlpc_batch_info {
    int epoch;        /* 1-based */
    long batch;       /* 1-based within the epoch */
    long n_batches;
    double loss;      /* this batch's mean loss */
    double acc;       /* this batch's accuracy, NaN for regression */
    double run_loss;  /* running mean over the epoch so far */
    double run_acc;
    float lr;
    double seconds;   /* since the epoch began */
} mlpc_batch_info;

typedef struct mlpc_epoch_stats {
    int epoch;                 /* 1-based */
    double loss, acc;          /* training set, running means over the epoch (loss on
                                  standardized targets when the net stores target statistics) */
    double val_loss, val_acc;  /* NaN without a validation set */
    double test_loss, test_acc;/* NaN without a test set */
    double mse, val_mse, test_mse; /* regression metrics in the targets' original units
                                      (mse a running mean like loss), NaN for classification */
    float lr;                  /* rate used in this epoch */
    double epoch_seconds;      /* training pass only */
    double eval_seconds;
    double samples_per_second;
    int improved;              /* early-stopping metric improved */
} mlpc_epoch_stats;

/* Return non-zero to stop training after this batch / epoch. */
typedef int (*mlpc_batch_fn)(mlpc_trainer *tr, const mlpc_batch_info *b, void *user);
typedef int (*mlpc_epoch_fn)(mlpc_trainer *tr, const mlpc_epoch_stats *e, void *user);

/* The trainer keeps borrowed pointers to net and datasets; cfg is copied.
 * All buffers are allocated here: no allocation happens in an epoch. */
MLPC_API mlpc_trainer *mlpc_trainer_create(mlpc_net *net, const mlpc_config *cfg, mlpc_error *err);
MLPC_API void mlpc_trainer_free(mlpc_trainer *tr);
MLPC_API const mlpc_error *mlpc_trainer_error(const mlpc_trainer *tr);

/* Datasets must already be normalized (mlpc_net_normalize). val and test may
 * be NULL. Checks that widths and targets fit the net. */
MLPC_API mlpc_status mlpc_trainer_set_data(mlpc_trainer *tr, const mlpc_dataset *train,
                                           const mlpc_dataset *val, const mlpc_dataset *test);
/* Byte rows: when every normalized training value is ((float)u - shift) *
 * scale of a byte u under the net's normalization (pixel data), set_data
 * keeps that exact byte copy (a quarter of the float size) and gathers
 * batches from it; results are bit-identical. On by default; pass 0 before
 * set_data to save the memory (the search does, to share one float copy).
 * The copy is taken by set_data: call it again after changing the training
 * rows. mlpc_trainer_byte_rows says whether the copy is in use. */
MLPC_API void mlpc_trainer_set_byte_rows(mlpc_trainer *tr, int on);
MLPC_API int mlpc_trainer_byte_rows(const mlpc_trainer *tr);
/* The precision training's products run in (fp32 or bf16, never auto), and
 * if why is not NULL, one line saying why when the config asked for auto
 * (else ""). */
MLPC_API mlpc_precision mlpc_trainer_precision(const mlpc_trainer *tr, const char **why);
/* Called every `every` batches (>= 1) and after every epoch. */
MLPC_API void mlpc_trainer_on_batch(mlpc_trainer *tr, mlpc_batch_fn fn, int every, void *user);
MLPC_API void mlpc_trainer_on_epoch(mlpc_trainer *tr, mlpc_epoch_fn fn, void *user);
/* Checkpoint (atomic write) with optimizer state for resume: by default
 * after every epoch; see mlpc_trainer_set_checkpoint_every. */
MLPC_API void mlpc_trainer_set_checkpoint(mlpc_trainer *tr, const char *path);
/* Writes the checkpoint at the end of an epoch only when `seconds` have
 * passed since the last one (<= 0: after every epoch, the default), plus
 * after the last epoch (or an early stop) and, when mlpc_trainer_run is
 * interrupted (mlpc_trainer_interrupt), the last whole epoch's state if it
 * was not written yet, so resuming equals an uninterrupted run. */
MLPC_API void mlpc_trainer_set_checkpoint_every(mlpc_trainer *tr, double seconds);
/* sync 0: the checkpoint after the last epoch (or an early stop) is written
 * atomically (temp file, rename) but without fsync, for a caller that saves
 * the model into the same folder right after (mlpc_net_save's fsyncs then
 * make both durable on a journaling file system). Default 1. Periodic and
 * interrupt checkpoints are always synced. */
MLPC_API void mlpc_trainer_set_checkpoint_final_sync(mlpc_trainer *tr, int sync);
/* A checkpoint that cannot be written (a full disk) does not end training:
 * mlpc_trainer_run goes on and tries the next one. Returns how many writes
 * failed in this trainer's life; *last (may be NULL) gets the last one's
 * message, "" when none failed. */
MLPC_API int mlpc_trainer_checkpoint_failures(const mlpc_trainer *tr, const char **last);

/* One epoch; fills *st. Returns MLPC_ERR_DIVERGED if the loss turned NaN/Inf
 * (parameters are then restored to the start of the epoch). */
MLPC_API mlpc_status mlpc_trainer_epoch(mlpc_trainer *tr, mlpc_epoch_stats *st);
/* Runs epochs until cfg.epochs, early stopping or a callback stop.
 * Returns MLPC_OK also when stopped early by a callback or early stopping. */
MLPC_API mlpc_status mlpc_trainer_run(mlpc_trainer *tr);

MLPC_API int mlpc_trainer_epochs_done(const mlpc_trainer *tr);
MLPC_API float mlpc_trainer_lr(const mlpc_trainer *tr);
MLPC_API void mlpc_trainer_set_lr(mlpc_trainer *tr, float lr);
/* Set by early stopping or a callback. */
MLPC_API int mlpc_trainer_stopped(const mlpc_trainer *tr);
MLPC_API const char *mlpc_trainer_stop_reason(const mlpc_trainer *tr);

/* Saves the net with optimizer and loop state; resume restores it so the
 * continued run equals an uninterrupted one (same seed and threads). */
MLPC_API mlpc_status mlpc_trainer_save_checkpoint(mlpc_trainer *tr, const char *path);
/* Loads a checkpoint written by mlpc_trainer_save_checkpoint into a fresh
 * trainer (the net must have the same architecture). */
MLPC_API mlpc_status mlpc_trainer_resume(mlpc_trainer *tr, const char *path);

/* One step on a caller batch: x (n x inputs, normalized), labels or targets.
 * For tests and custom loops. Allocates nothing. Returns the batch loss in *loss. */
MLPC_API mlpc_status mlpc_trainer_step(mlpc_trainer *tr, const float *x, const int32_t *labels,
                                       const float *targets, int n, double *loss);
/* Gradients of the last step (same layout as mlpc_net_params), mean over the
 * batch: after mlpc_trainer_step or mlpc_trainer_gradient, inside a batch
 * callback, and after an epoch that ended normally. (With plain SGD an
 * epoch writes the weight gradients only for those batches: the step is
 * done while they are computed.) Unspecified after an error. */
MLPC_API const float *mlpc_trainer_grads(const mlpc_trainer *tr);
/* Computes loss and gradients without updating (for gradient checks). */
MLPC_API mlpc_status mlpc_trainer_gradient(mlpc_trainer *tr, const float *x, const int32_t *labels,
                                           const float *targets, int n, double *loss);

/* Picks a thread count for cfg's net and batch size by timing training
 * steps with 1..max_threads threads on synthetic data (a second or two at
 * most for W1-W4). *chosen gets the fastest count by the best of several
 * rounds, preferring fewer threads within 3%; *step_seconds its step time
 * (may be NULL); why (may be NULL) a one-line account of the measurements. */
MLPC_API mlpc_status mlpc_calibrate_threads(const mlpc_config *cfg, int max_threads, int *chosen,
                                            double *step_seconds, char *why, size_t why_cap, mlpc_error *err);

/* ---------------------------------------------------------------- devices */

/* Training and inference run on the CPU unless a CUDA device is asked for.
 * The CUDA code is a plugin (libmlpc_cuda.so, built when nvcc is present)
 * that is loaded at run time, so the same program works on machines without
 * CUDA: asking for a GPU there fails with one line naming what is missing.
 * The plugin is looked for at $MLPC_CUDA_PLUGIN, next to the running
 * program, in ../lib from there, and in the install libdir. */

typedef enum mlpc_device_kind {
    MLPC_DEVICE_CPU = 0,
    MLPC_DEVICE_CUDA = 1,
    MLPC_DEVICE_AUTO = 2 /* the first CUDA device when it works, else the CPU */
} mlpc_device_kind;

typedef struct mlpc_device {
    mlpc_device_kind kind;
    int index; /* CUDA ordinal (cuda:N); 0 otherwise */
} mlpc_device;

/* "cpu", "cuda" (cuda:0), "cuda:N" or "auto". 0, or -1 for anything else. */
MLPC_API int mlpc_device_parse(const char *s, mlpc_device *out);
/* "cpu", "cuda:N" or "auto" into buf; returns buf. */
MLPC_API const char *mlpc_device_name(const mlpc_device *d, char *buf, size_t cap);

/* A byte count: a number (decimals allowed) with an optional suffix K, M, G
 * or T (powers of 1024; "KiB"/"KB" forms and a final "B" are accepted):
 * "1024M", "1.5G", "65536". 0, or -1 for anything else. */
MLPC_API int mlpc_size_parse(const char *s, uint64_t *bytes);

typedef struct mlpc_device_info {
    mlpc_device dev;
    char name[256];       /* CPU model or GPU name */
    uint64_t memory;      /* bytes: the host's RAM or the GPU's memory */
    uint64_t memory_free; /* bytes available now; 0 when unknown */
    int cores;            /* CPU cores online, or the GPU's multiprocessors */
    int cc_major, cc_minor; /* CUDA compute capability; 0 for the CPU */
    char detail[64];      /* CPU: the GEMM variant chosen at run time ("avx512"); GPU: PCI bus id */
} mlpc_device_info;

typedef struct mlpc_device_list {
    int n;                     /* entries in dev; dev[0] is the CPU */
    mlpc_device_info dev[17];  /* the CPU and up to 16 CUDA devices */
    int cuda_driver;           /* CUDA version of the driver, e.g. 13000; 0: no driver (or no plugin) */
    int cuda_runtime;          /* CUDA runtime inside the plugin, e.g. 13000; 0: no plugin */
    char driver_release[32];   /* NVIDIA driver release ("580.65.06"), "" when unknown */
    char cuda_plugin[512];     /* the plugin's path, "" when none was found */
    char cuda_build[160];      /* the plugin's build: CUDA version and GPU code compiled in */
    char cuda_why[512];        /* one line on why no CUDA device is listed; "" when some are */
} mlpc_device_list;

/* The CPU and every CUDA device. Succeeds without a plugin, driver or GPU
 * too: cuda_why then says what is missing. */
MLPC_API mlpc_status mlpc_device_list_get(mlpc_device_list *out, mlpc_error *err);

/* Resolves a requested device to one that works. cpu: as is. cuda:N: loads
 * the plugin and runs a kernel on that device; fails with
 * MLPC_ERR_UNSUPPORTED ("no usable GPU: CUDA driver not found (...)") or
 * MLPC_ERR_ARG (no such index). auto: cuda:0 when it works, else the CPU.
 * why (may be NULL) gets one line on what was chosen and why. */
MLPC_API mlpc_status mlpc_device_select(const mlpc_device *want, mlpc_device *got, char *why, size_t why_cap,
                                        mlpc_error *err);

/* Where each layer's work runs on dev (as selected), one line per layer and
 * one for the rest, into buf. training: with backward pass and optimizer.
 * Returns the length, or -1. */
MLPC_API int mlpc_device_plan(const mlpc_net *net, const mlpc_device *dev, int threads, int training, char *buf,
                              size_t cap);

/* Puts training on a selected device (after mlpc_trainer_set_data; cpu is
 * the default). For CUDA the data sets are uploaded once and the device
 * memory the run needs is checked against mem_limit (bytes; 0: only the
 * device's free memory) before anything is allocated: over the limit is
 * MLPC_ERR_ARG, over the free memory MLPC_ERR_NOMEM. Parameters and
 * optimizer state come back to the host after every epoch, so checkpoints,
 * callbacks and divergence rollback work as on the CPU. The upload is taken
 * here: after mlpc_trainer_set_data, set the device again (an epoch fails
 * with MLPC_ERR_ARG until then). */
MLPC_API mlpc_status mlpc_trainer_set_device(mlpc_trainer *tr, const mlpc_device *dev, uint64_t mem_limit);

/* A note from the device about this trainer's training so far, "" if none:
 * the capture of a training step as a CUDA graph failed, and the steps'
 * kernels are launched directly from then on (the run goes on, with the same
 * results; mlpc train prints the note under --log-device). */
MLPC_API const char *mlpc_trainer_device_note(const mlpc_trainer *tr);

/* Runs mlpc_net_predict and mlpc_net_evaluate of this net on a selected
 * device (cpu: the default), with the same memory check. */
MLPC_API mlpc_status mlpc_net_set_device(mlpc_net *net, const mlpc_device *dev, uint64_t mem_limit);

/* ---------------------------------------------------------------- dashboard */

/* ---------------------------------------------------------------- search */

/* A dataset over caller-owned arrays, not copied (used by `mlpc search` to
 * share one read-only copy of the data between worker processes). The arrays
 * must outlive the dataset; mlpc_dataset_free frees only the handle. Do not
 * call mlpc_net_normalize on a view of read-only memory. labels: n ints
 * 0..n_classes-1 or NULL; targets: n x n_out floats or NULL. */
MLPC_API mlpc_dataset *mlpc_dataset_view(size_t n, size_t n_in, const float *x, const int32_t *labels,
                                         int n_classes, const float *targets, size_t n_out,
                                         const char *source, mlpc_error *err);

/* ---------------------------------------------------------------- bindings */

/* What language bindings (the Python package, python/) need: the library's
 * version, inference that may run on several threads at once, models in
 * memory, datasets over caller arrays with a row stride, and a stop flag
 * that another thread may set.
 *
 * Concurrency: handles are not locked. One mlpc_net, mlpc_trainer or
 * mlpc_dataset is used by one thread at a time, with these exceptions:
 * - mlpc_net_predict_ws and mlpc_net_save_buffer take the net as const: any
 *   number of threads may call them at once on the same net (while no
 *   thread changes it), each with its own mlpc_workspace;
 * - mlpc_trainer_interrupt may be called from any thread (and from a
 *   signal handler) while another thread trains;
 * - the functions that only read names and versions (mlpc_version,
 *   mlpc_*_name, mlpc_status_str) may be called from anywhere. */

/* The library's version, "MAJOR.MINOR.PATCH" (MLPC_VERSION_STRING of the
 * library actually loaded, which may differ from this header's). */
MLPC_API const char *mlpc_version(void);

/* Scratch memory for mlpc_net_predict_ws, sized for `rows` rows per chunk
 * of the net (0: 256). A workspace serves one thread at a time; it may be
 * reused for any net with the same layer sizes. */
typedef struct mlpc_workspace mlpc_workspace;
MLPC_API mlpc_workspace *mlpc_workspace_create(const mlpc_net *net, int rows, mlpc_error *err);
MLPC_API void mlpc_workspace_free(mlpc_workspace *ws);

/* Like mlpc_net_predict, on the calling thread only, without changing the
 * net: x is n rows of raw (un-normalized) input, row i at x + i * x_stride
 * (x_stride >= inputs; 0 means inputs); out is n x outputs, dense. The
 * net's normalization is applied. Fails with MLPC_ERR_SHAPE when ws was
 * made for other layer sizes; non-finite inputs give MLPC_ERR_ARG naming
 * the row and column. */
MLPC_API mlpc_status mlpc_net_predict_ws(const mlpc_net *net, mlpc_workspace *ws, const float *x, size_t n,
                                         size_t x_stride, float *out, mlpc_error *err);

/* The model file's bytes (same versioned format and CRC as mlpc_net_save)
 * in a new buffer: *buf is malloc'ed, release it with mlpc_free. */
MLPC_API mlpc_status mlpc_net_save_buffer(const mlpc_net *net, void **buf, size_t *len, mlpc_error *err);
/* A model from such bytes, with every check mlpc_net_load makes; messages
 * name `name` (may be NULL: "<memory>") where they would name the file. */
MLPC_API mlpc_net *mlpc_net_load_buffer(const void *buf, size_t len, const char *name, mlpc_error *err);
/* Releases memory the library returned (mlpc_net_save_buffer). */
MLPC_API void mlpc_free(void *p);

/* A dataset over caller arrays with row strides (in elements): x has n rows
 * of n_in floats, row i at x + i * x_stride (0 means n_in); targets n rows
 * of n_out floats at targets + i * t_stride (0 means n_out); labels n ints
 * in 0..n_classes-1. At most one of labels and targets (neither: features
 * only). With borrow set and dense rows (x_stride and t_stride equal to the
 * widths, or 0) the arrays are used in place and must outlive the dataset
 * (as mlpc_dataset_view: mlpc_net_normalize then writes into the caller's
 * x); otherwise they are copied once into dense rows.
 * Every value of x and targets must be finite and every label in range:
 * else NULL with MLPC_ERR_ARG naming the first bad row and column. */
MLPC_API mlpc_dataset *mlpc_dataset_from_strided(size_t n, size_t n_in, const float *x, size_t x_stride,
                                                 const int32_t *labels, int n_classes, const float *targets,
                                                 size_t n_out, size_t t_stride, int borrow, const char *source,
                                                 mlpc_error *err);
/* 1 when the dataset uses the caller's arrays in place (a view). */
MLPC_API int mlpc_dataset_borrowed(const mlpc_dataset *d);
/* The error of the last failed call on this dataset (mlpc_net_normalize). */
MLPC_API const mlpc_error *mlpc_dataset_error(const mlpc_dataset *d);

/* Asks training to stop at the next batch boundary. Safe from any thread
 * and from signal handlers. As when the batch callback stops training,
 * mlpc_trainer_epoch then returns MLPC_OK with the epoch's statistics over
 * the batches trained, mlpc_trainer_stopped() set and the stop reason
 * "interrupted"; mlpc_trainer_run returns MLPC_OK, after restoring the best
 * weights seen when early stopping with es_restore_best is on. The net stays usable and the
 * trainer may continue (mlpc_trainer_clear_interrupt first). */
MLPC_API void mlpc_trainer_interrupt(mlpc_trainer *tr);
/* Clears the interrupt and the stopped state, so training can continue
 * (more epochs: raise the config's epochs with mlpc_trainer_set_epochs). */
MLPC_API void mlpc_trainer_clear_interrupt(mlpc_trainer *tr);
/* The number of epochs mlpc_trainer_run trains up to (partial_fit and
 * warm starts raise it). */
MLPC_API mlpc_status mlpc_trainer_set_epochs(mlpc_trainer *tr, int epochs);

#ifdef __cplusplus
}
#endif
#endif /* MLPC_H */
