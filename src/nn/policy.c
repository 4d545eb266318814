/* policy.c - the task policy: the default output activation and loss of a
 * task and the output/loss pairs that work (docs/cli.md has the table).
 * mlpc train resolves and checks its flags with these (src/cli/train_flags.c
 * only words the messages) and mlpc search draws its trials' pairs through
 * them. */
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

mlpc_act mlpc_task_resolve_out(mlpc_task task, int out, int loss)
{
    if (out >= 0) return (mlpc_act)out;
    int classify = task != MLPC_TASK_REGRESS;
    int need = mlpc_task_needs_out(loss); /* cce: softmax even for regression, which the check refuses */
    if (need >= 0) return (mlpc_act)need;
    if (classify && loss >= 0) return MLPC_ACT_SIGMOID; /* mse, quadratic: softmax needs cce */
    return mlpc_task_out_act(task);
}

int mlpc_task_needs_out(int loss)
{
    return loss == MLPC_LOSS_CCE ? MLPC_ACT_SOFTMAX : loss == MLPC_LOSS_BCE ? MLPC_ACT_SIGMOID : -1;
}

mlpc_task_conflict mlpc_task_conflicts(mlpc_task task, int out, int loss)
{
    int need = mlpc_task_needs_out(loss);
    if (need >= 0 && out >= 0 && out != need) return MLPC_CONFLICT_LOSS_NEEDS_OUT;
    if (out == MLPC_ACT_SOFTMAX && loss >= 0 && loss != MLPC_LOSS_CCE) return MLPC_CONFLICT_OUT_NEEDS_LOSS;
    if (task == MLPC_TASK_REGRESS && (out == MLPC_ACT_SOFTMAX || loss == MLPC_LOSS_CCE))
        return MLPC_CONFLICT_NOT_REGRESSION;
    return MLPC_CONFLICT_NONE;
}

const char *mlpc_task_check(mlpc_task task, mlpc_act out, mlpc_loss loss)
{
    if (task == MLPC_TASK_REGRESS && (out == MLPC_ACT_SOFTMAX || loss == MLPC_LOSS_CCE))
        return "softmax and cce are not for regression";
    switch (mlpc_task_conflicts(task, (int)out, (int)loss)) {
    case MLPC_CONFLICT_LOSS_NEEDS_OUT:
        return loss == MLPC_LOSS_CCE ? "cce needs a softmax output" : "bce needs a sigmoid output";
    case MLPC_CONFLICT_OUT_NEEDS_LOSS: return "a softmax output needs cce";
    default: return NULL;
    }
}
