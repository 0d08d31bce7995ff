/* test_sched.c: the spacing of checkpoints (nm_sched_ckpt_interval): the
 * user's checkpoint_every, raised to CKPT_TASKS mean tasks and to CKPT_COST
 * mean checkpoints when those are longer. */
#include "testutil.h"

#include "neuromic/internal/sched.h"

static void interval_is_the_largest_bound(void **state)
{
    /* nothing measured yet: checkpoint_every */
    assert_true(nm_sched_ckpt_interval(60, 0, 0) == 60);
    /* short tasks and cheap checkpoints: still checkpoint_every */
    assert_true(nm_sched_ckpt_interval(60, 0.1, 0.01) == 60);
    /* long tasks: CKPT_TASKS of them */
    assert_true(nm_sched_ckpt_interval(60, 10, 0) == CKPT_TASKS * 10.0);
    /* short tasks on average but checkpoints that wait 13.5 s (a rare long
     * task in flight): CKPT_COST of them, whatever the mean task says */
    assert_true(nm_sched_ckpt_interval(60, 3.5, 13.5) == CKPT_COST * 13.5);
    assert_true(nm_sched_ckpt_interval(60, 30, 13.5) == CKPT_TASKS * 30.0);
}

/* The waiting the spacing allows: each checkpoint costs at most its
 * measured duration c, one comes every interval plus c, so the share of
 * the run spent in checkpoints is at most 1/(CKPT_COST + 1). */
static void waiting_stays_below_its_share(void **state)
{
    static const double c[] = {0.001, 0.5, 13.5, 400};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double iv = nm_sched_ckpt_interval(1, 0.2, c[i]);
        assert_true(c[i] / (iv + c[i]) <= 1.0 / (CKPT_COST + 1) + 1e-12);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_is_the_largest_bound),
        cmocka_unit_test(waiting_stays_below_its_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
