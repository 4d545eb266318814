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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_check_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
