/* policy.c - the task policy: the default output activation and loss of a
 * task and the output/loss pairs that work (docs/cli.md has the table).
 * mlpc search draws its trials' pairs through these. */
#include "mlpc.h"

#include <stddef.h>

mlpc_act mlpc_task_out_act(mlpc_task task)
{
    return task == MLPC_TASK_REGRESS ? MLPC_ACT_LINEAR : MLPC_ACT_SOFTMAX;
}

mlpc_loss mlpc_task_loss(mlpc_task task, mlpc_act out)
{
    if (task != MLPC_TASK_REGRESS && out == MLPC_ACT_SOFTMAX) return MLPC_LOSS_CCE;
    if (task != MLPC_TASK_REGRESS && out == MLPC_ACT_SIGMOID) return MLPC_LOSS_BCE;
    return MLPC_LOSS_MSE;
}

const char *mlpc_task_check(mlpc_task task, mlpc_act out, mlpc_loss loss)
{
    if (task == MLPC_TASK_REGRESS && (out == MLPC_ACT_SOFTMAX || loss == MLPC_LOSS_CCE))
        return "softmax and cce are not for regression";
    if (loss == MLPC_LOSS_CCE && out != MLPC_ACT_SOFTMAX) return "cce needs a softmax output";
    if (loss == MLPC_LOSS_BCE && out != MLPC_ACT_SIGMOID) return "bce needs a sigmoid output";
    if (out == MLPC_ACT_SOFTMAX && loss != MLPC_LOSS_CCE) return "a softmax output needs cce";
    return NULL;
}
