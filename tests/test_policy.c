/* test_policy.c - the task policy (src/nn/policy.c): default output
 * activation and loss per task, and which output/loss pairs are refused
 * and why, over every pair of the enums. */
#include "testutil.h"

#include <string.h>

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(mlpc_task_out_act(MLPC_TASK_CLASSIFY), MLPC_ACT_SOFTMAX);
    assert_int_equal(mlpc_task_out_act(MLPC_TASK_REGRESS), MLPC_ACT_LINEAR);
    assert_int_equal(mlpc_task_loss(MLPC_TASK_CLASSIFY, MLPC_ACT_SOFTMAX), MLPC_LOSS_CCE);
    assert_int_equal(mlpc_task_loss(MLPC_TASK_CLASSIFY, MLPC_ACT_SIGMOID), MLPC_LOSS_BCE);
    assert_int_equal(mlpc_task_loss(MLPC_TASK_CLASSIFY, MLPC_ACT_LINEAR), MLPC_LOSS_MSE);
    assert_int_equal(mlpc_task_loss(MLPC_TASK_REGRESS, MLPC_ACT_LINEAR), MLPC_LOSS_MSE);
    assert_int_equal(mlpc_task_loss(MLPC_TASK_REGRESS, MLPC_ACT_SIGMOID), MLPC_LOSS_MSE);
    /* every default pair is one that works */
    for (int t = 0; t <= 1; t++)
        for (int a = 0; a < MLPC_ACT_COUNT; a++) {
            mlpc_loss l = mlpc_task_loss((mlpc_task)t, (mlpc_act)a);
            if (!(t == MLPC_TASK_REGRESS && a == MLPC_ACT_SOFTMAX))
                assert_null(mlpc_task_check((mlpc_task)t, (mlpc_act)a, l));
        }
}

static void test_check_reasons(void **state)
{
    (void)state;
    assert_string_equal(mlpc_task_check(MLPC_TASK_REGRESS, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE),
                        "softmax and cce are not for regression");
    assert_string_equal(mlpc_task_check(MLPC_TASK_REGRESS, MLPC_ACT_LINEAR, MLPC_LOSS_CCE),
                        "softmax and cce are not for regression");
    assert_string_equal(mlpc_task_check(MLPC_TASK_CLASSIFY, MLPC_ACT_SIGMOID, MLPC_LOSS_CCE),
                        "cce needs a softmax output");
    assert_string_equal(mlpc_task_check(MLPC_TASK_CLASSIFY, MLPC_ACT_LINEAR, MLPC_LOSS_BCE),
                        "bce needs a sigmoid output");
    assert_string_equal(mlpc_task_check(MLPC_TASK_CLASSIFY, MLPC_ACT_SOFTMAX, MLPC_LOSS_MSE),
                        "a softmax output needs cce");
    assert_null(mlpc_task_check(MLPC_TASK_REGRESS, MLPC_ACT_SIGMOID, MLPC_LOSS_BCE));
    assert_null(mlpc_task_check(MLPC_TASK_CLASSIFY, MLPC_ACT_SIGMOID, MLPC_LOSS_MSE));
    assert_null(mlpc_task_check(MLPC_TASK_REGRESS, MLPC_ACT_TANH, MLPC_LOSS_QUADRATIC));
    /* the full table: refused exactly when one of the four rules says so */
    int refused = 0;
    for (int t = 0; t <= 1; t++)
        for (int a = 0; a < MLPC_ACT_COUNT; a++)
            for (int l = 0; l < MLPC_LOSS_COUNT; l++) {
                int want = (t == MLPC_TASK_REGRESS && (a == MLPC_ACT_SOFTMAX || l == MLPC_LOSS_CCE)) ||
                           (l == MLPC_LOSS_CCE) != (a == MLPC_ACT_SOFTMAX) ||
                           (l == MLPC_LOSS_BCE && a != MLPC_ACT_SIGMOID);
                const char *why = mlpc_task_check((mlpc_task)t, (mlpc_act)a, (mlpc_loss)l);
                assert_int_equal(why != NULL, want);
                refused += why != NULL;
            }
    /* classify accepts 12 of 24 pairs (softmax+cce; sigmoid with quadratic,
     * mse, bce; tanh, relu, leaky_relu, linear with quadratic, mse),
     * regress 11 (the same without softmax+cce) */
    assert_int_equal(refused, 12 + 13);
}

/* The automatic output activation when only a loss is given (mlpc train's
 * rule, now the library's, and the search's through it) */
static void test_resolve_out(void **state)
{
    (void)state;
    const mlpc_task C = MLPC_TASK_CLASSIFY, R = MLPC_TASK_REGRESS;
    assert_int_equal(mlpc_task_resolve_out(C, -1, -1), MLPC_ACT_SOFTMAX);
    assert_int_equal(mlpc_task_resolve_out(R, -1, -1), MLPC_ACT_LINEAR);
    assert_int_equal(mlpc_task_resolve_out(C, -1, MLPC_LOSS_CCE), MLPC_ACT_SOFTMAX);
    assert_int_equal(mlpc_task_resolve_out(C, -1, MLPC_LOSS_BCE), MLPC_ACT_SIGMOID);
    assert_int_equal(mlpc_task_resolve_out(R, -1, MLPC_LOSS_BCE), MLPC_ACT_SIGMOID);
    assert_int_equal(mlpc_task_resolve_out(C, -1, MLPC_LOSS_MSE), MLPC_ACT_SIGMOID); /* softmax needs cce */
    assert_int_equal(mlpc_task_resolve_out(C, -1, MLPC_LOSS_QUADRATIC), MLPC_ACT_SIGMOID);
    assert_int_equal(mlpc_task_resolve_out(R, -1, MLPC_LOSS_MSE), MLPC_ACT_LINEAR);
    assert_int_equal(mlpc_task_resolve_out(R, -1, MLPC_LOSS_CCE), MLPC_ACT_SOFTMAX); /* refused by the check */
    assert_int_equal(mlpc_task_resolve_out(C, MLPC_ACT_TANH, MLPC_LOSS_CCE), MLPC_ACT_TANH); /* given: kept */
    /* whatever the loss, the resolved pair passes the check unless the loss
     * cannot serve the task at all (cce for regression) */
    for (int t = 0; t <= 1; t++)
        for (int l = -1; l < MLPC_LOSS_COUNT; l++) {
            mlpc_act out = mlpc_task_resolve_out((mlpc_task)t, -1, l);
            mlpc_loss loss = l >= 0 ? (mlpc_loss)l : mlpc_task_loss((mlpc_task)t, out);
            int bad = t == MLPC_TASK_REGRESS && l == MLPC_LOSS_CCE;
            assert_int_equal(mlpc_task_check((mlpc_task)t, out, loss) != NULL, bad);
        }
}

/* Which rule a pair breaks, in the order mlpc train words its messages */
static void test_conflicts(void **state)
{
    (void)state;
    const mlpc_task C = MLPC_TASK_CLASSIFY, R = MLPC_TASK_REGRESS;
    assert_int_equal(mlpc_task_conflicts(C, MLPC_ACT_SIGMOID, MLPC_LOSS_CCE), MLPC_CONFLICT_LOSS_NEEDS_OUT);
    assert_int_equal(mlpc_task_needs_out(MLPC_LOSS_CCE), MLPC_ACT_SOFTMAX);
    assert_int_equal(mlpc_task_conflicts(C, MLPC_ACT_LINEAR, MLPC_LOSS_BCE), MLPC_CONFLICT_LOSS_NEEDS_OUT);
    assert_int_equal(mlpc_task_needs_out(MLPC_LOSS_BCE), MLPC_ACT_SIGMOID);
    assert_int_equal(mlpc_task_needs_out(MLPC_LOSS_MSE), -1);
    assert_int_equal(mlpc_task_conflicts(C, MLPC_ACT_SOFTMAX, MLPC_LOSS_MSE), MLPC_CONFLICT_OUT_NEEDS_LOSS);
    assert_int_equal(mlpc_task_conflicts(R, MLPC_ACT_SOFTMAX, MLPC_LOSS_CCE), MLPC_CONFLICT_NOT_REGRESSION);
    assert_int_equal(mlpc_task_conflicts(R, -1, MLPC_LOSS_CCE), MLPC_CONFLICT_NOT_REGRESSION);
    assert_int_equal(mlpc_task_conflicts(R, MLPC_ACT_SIGMOID, MLPC_LOSS_CCE), MLPC_CONFLICT_LOSS_NEEDS_OUT);
    assert_int_equal(mlpc_task_conflicts(C, -1, MLPC_LOSS_CCE), MLPC_CONFLICT_NONE); /* not chosen: not at fault */
    assert_int_equal(mlpc_task_conflicts(C, MLPC_ACT_SOFTMAX, -1), MLPC_CONFLICT_NONE);
    /* with both chosen, a conflict exactly when mlpc_task_check refuses */
    for (int t = 0; t <= 1; t++)
        for (int a = 0; a < MLPC_ACT_COUNT; a++)
            for (int l = 0; l < MLPC_LOSS_COUNT; l++)
                assert_int_equal(mlpc_task_conflicts((mlpc_task)t, a, l) != MLPC_CONFLICT_NONE,
                                 mlpc_task_check((mlpc_task)t, (mlpc_act)a, (mlpc_loss)l) != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_check_reasons),
        cmocka_unit_test(test_resolve_out),
        cmocka_unit_test(test_conflicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
