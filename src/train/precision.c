/* precision.c - the arithmetic of training's products (mlpc_config.precision,
 * --precision): fp32, or bf16 products (kernels/gemm_bf16.c) on the CPU
 * backend where the CPU has AVX512_BF16; auto picks and says why. Used by
 * trainer.c (creation) and ondevice.c (a device trains in float32). */
#include "train/train.h"

#include <stdio.h>

mlpc_status mlpc_trainer_resolve_precision(mlpc_trainer *tr, int on_device)
{
    mlpc_precision want = tr->cfg.precision;
    tr->precision_why[0] = '\0';
    if (want == MLPC_PRECISION_BF16 && on_device)
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG,
                           "precision bf16: training on a device runs in float32 only; use fp32 (or auto)");
    int bf = want != MLPC_PRECISION_FP32 && !on_device && mlpc_ctx_set_bf16(&tr->cx, 1);
    if (!bf) mlpc_ctx_set_bf16(&tr->cx, 0);
    if (want == MLPC_PRECISION_BF16 && !bf) /* mlpc_config_validate says so first */
        return mlpc_seterr(&tr->err, MLPC_ERR_ARG, "precision bf16: this CPU has no AVX512_BF16 (vdpbf16ps)");
    tr->precision = bf ? MLPC_PRECISION_BF16 : MLPC_PRECISION_FP32;
    if (want == MLPC_PRECISION_AUTO)
        snprintf(tr->precision_why, sizeof tr->precision_why, "%s",
                 bf ? "auto: this CPU has AVX512_BF16"
                    : on_device ? "auto: training runs on the device, in float32"
                                : "auto: this CPU has no AVX512_BF16");
    return MLPC_OK;
}

mlpc_precision mlpc_trainer_precision(const mlpc_trainer *tr, const char **why)
{
    if (why) *why = tr->precision_why;
    return tr->precision;
}
