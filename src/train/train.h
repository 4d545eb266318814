/* train.h - the trainer's state (behind the public mlpc_trainer handle). */
#ifndef MLPC_TRAIN_H
#define MLPC_TRAIN_H

#include "nn/nn.h"
#include "optim/optim.h"
#include "io/io.h"

#include <stdatomic.h>

struct mlpc_trainer {
    mlpc_error err;
    mlpc_net *net;             /* borrowed */
    mlpc_config cfg;           /* copied, defaults resolved */
    mlpc_ctx cx;               /* threads + backend */
    const mlpc_dataset *train, *val, *test; /* borrowed */
    /* arenas, each n_params floats, laid out as net->params */
    float *grads;              /* batch-mean gradients of the last step */
    float *m, *v;              /* optimizer state */
    float *saved;              /* params, m, v at the start of the epoch (3 x n_params, divergence) */
    long saved_step;
    float *best;               /* parameters at the best epoch (early stopping) */
    float *arena;              /* activations and deltas for max(batch, 1024) rows */
    mlpc_acts w;
    uint32_t *idx;             /* training row order, train->n */
    int32_t *blabels;          /* batch labels */
    int32_t *cols;             /* the batch's input columns not zero in every row (n_in) */
    long sparse_batches;       /* batches whose first layer skipped zero columns (for tests) */
    float *btargets;           /* batch targets (batch x outputs) */
    /* the byte rows: the training rows as one byte per feature when that
     * copy is exact (kernels/byte_rows.c): the gather
     * then reads a quarter of the memory */
    uint8_t *byte_rows;
    float *byte_shift, *byte_scale; /* n_in each */
    int no_byte_rows;              /* mlpc_trainer_set_byte_rows(tr, 0) */
    /* with bf16 products, batches gathered from the byte rows as bf16 rows
     * (w.rows x xb_ld, a zero pad after an odd n_in): mlpc_ctx_bf16_input */
    uint16_t *xb;
    int xb_ld;
    long bf16_input_batches;   /* batches that ran so (for tests) */
    /* with bf16 products, each layer's weights packed for them as the
     * optimizer updates them (update_range), read by the next batch's
     * forward instead of packing W again (mlpc_ctx_bf16_packed): wpk at
     * wpk_off[l] words; valid only from one batch to the next of an epoch
     * with nothing else run between */
    uint32_t *wpk;
    size_t wpk_off[MLPC_MAX_LAYERS];
    int wpk_on, wpk_valid;
    long packed_w_batches;     /* batches whose forward read them (for tests) */
    mlpc_precision precision;  /* what the products run in: fp32 or bf16 */
    char precision_why[96];    /* why, when the config said auto */
    /* loop state (checkpointed) */
    long step;                 /* optimizer steps so far */
    int epoch;                 /* epochs done */
    mlpc_sched_state sched;
    double es_best;            /* best monitored value, +inf before the first epoch */
    int es_wait, best_epoch, stopped;
    char stop_reason[160];
    /* mlpc_trainer_interrupt: set from any thread or a signal handler, read
     * (relaxed) once per batch; cleared only by mlpc_trainer_clear_interrupt */
    atomic_int interrupt;
    /* callbacks */
    mlpc_batch_fn on_batch;
    int batch_every;
    void *batch_user;
    mlpc_epoch_fn on_epoch;
    void *epoch_user;
    char *ckpt_path;
    double ckpt_every;         /* seconds between checkpoints; <= 0: after every epoch */
    double ckpt_time;          /* mlpc_now() of the last checkpoint (or of the run's start) */
    int ckpt_epoch;            /* epochs done when the last checkpoint was written, -1: none */
    int ckpt_final_sync;       /* 0: the checkpoint at the end of the run is not fsynced */
    int ckpt_failures;         /* checkpoint writes that failed (training went on) */
    char ckpt_msg[512];        /* the last failure's message */
    /* training on a CUDA device (mlpc_trainer_set_device), else NULL */
    struct mlpc_devsess *dev;
};

/* Whether mlpc_trainer_interrupt was called (one relaxed load); if so, the
 * trainer is marked stopped with the reason "interrupted". */
int mlpc_trainer_check_interrupt(mlpc_trainer *tr);

/* src/train/ondevice.c: the device side of mlpc_trainer_epoch */
void mlpc_trainer_device_free(mlpc_trainer *tr);
/* mlpc_trainer_set_data was called again: the device's upload is of the
 * old rows, so the next device epoch asks for mlpc_trainer_set_device */
void mlpc_trainer_device_data_changed(mlpc_trainer *tr);
/* the epoch's batches on the device, after the shuffle (see ondevice.c) */
mlpc_status mlpc_trainer_device_batches(mlpc_trainer *tr, mlpc_epoch_stats *st, double t0, double *sum_loss,
                                        double *sum_aux, size_t *n);
/* 0 with the set's loss/acc/mse from the device; -1: d is not on the device
 * (evaluate on the CPU); a failure of the plugin is an error, never a silent
 * CPU fallback: its mlpc_status (> 0) with tr->err naming the set and
 * carrying the plugin's message. */
int mlpc_trainer_device_eval(mlpc_trainer *tr, const mlpc_dataset *d, double *loss, double *acc, double *mse);
/* loss and batch-mean gradients of n host rows on the device (parity tests) */
mlpc_status mlpc_trainer_device_gradient(mlpc_trainer *tr, const float *x, const int32_t *labels,
                                         const float *targets, int n, float *grads, double *loss);

/* mlpc_trainer_save_checkpoint with or without fsync (checkpoint.c). */
mlpc_status trainer_checkpoint_write(mlpc_trainer *tr, const char *path, int sync);

/* Sets the products' precision from the config (auto: bf16 where the CPU
 * has it and training runs on the CPU, on_device 0). bf16 on a device is an
 * error; returns MLPC_OK or the error, in tr->err. (trainer.c) */
mlpc_status mlpc_trainer_resolve_precision(mlpc_trainer *tr, int on_device);

#endif
