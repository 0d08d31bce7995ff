/* test_stop.c: signals become stop requests; a second signal a second
 * later exits with status 3, a duplicate within the second does not; and a
 * stop request makes nm_task_expired() true. Each case runs in a child
 * process, since the handlers are process-wide and one case exits. */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "neuromic/error.h"
#include "neuromic/internal/stop.h"

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs body in a child; returns its exit status (or 128 + signal). */
static int in_child(void (*body)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int ws;
    waitpid(pid, &ws, 0);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void one_signal(void)
{
    nm_stop_install();
    if (nm_stop_requested() != 0)
        _exit(10);
    raise(SIGUSR1);
    if (nm_stop_requested() != SIGUSR1)
        _exit(11);
    raise(SIGTERM); /* a duplicate at once: still just a request */
    if (nm_stop_requested() != SIGUSR1)
        _exit(12);
    _exit(0);
}

static void two_signals_apart(void)
{
    nm_stop_install();
    raise(SIGINT);
    nap(1.1);
    raise(SIGINT); /* exits here with status 3 */
    _exit(20);
}

static void request_without_signal(void)
{
    nm_stop_install();
    nm_stop_request(SIGTERM);
    if (nm_stop_requested() != SIGTERM)
        _exit(30);
    /* A programmatic request is not a first signal: one real signal
     * later, even after a second, does not exit. */
    nap(1.1);
    raise(SIGTERM);
    _exit(0);
}

static void ignored_after_the_run(void)
{
    nm_stop_install();
    nm_stop_ignore();
    raise(SIGTERM);
    raise(SIGINT);
    _exit(nm_stop_requested() == 0 ? 0 : 40);
}

static void test_one_signal_is_a_request(void **state)
{
    (void)state;
    assert_int_equal(in_child(one_signal), 0);
}

static void test_second_signal_exits_3(void **state)
{
    (void)state;
    assert_int_equal(in_child(two_signals_apart), NM_ERR_INCOMPLETE);
}

static void test_programmatic_request(void **state)
{
    (void)state;
    assert_int_equal(in_child(request_without_signal), 0);
}

static void test_ignore(void **state)
{
    (void)state;
    assert_int_equal(in_child(ignored_after_the_run), 0);
}

static void test_signal_names(void **state)
{
    (void)state;
    assert_string_equal(nm_stop_signame(SIGTERM), "SIGTERM");
    assert_string_equal(nm_stop_signame(SIGUSR1), "SIGUSR1");
    assert_string_equal(nm_stop_signame(SIGINT), "SIGINT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_signal_is_a_request),
        cmocka_unit_test(test_second_signal_exits_3),
        cmocka_unit_test(test_programmatic_request),
        cmocka_unit_test(test_ignore),
        cmocka_unit_test(test_signal_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
