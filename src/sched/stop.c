/* stop.c: signal handlers that turn SIGTERM/SIGINT/SIGUSR1 into a clean stop.
 *
 * The handler only stores the signal number (a lock-free atomic); the task
 * loop and the dispatcher look at it between tasks. A second signal means
 * "now": the handler writes a fixed message and calls _exit(3), which is
 * safe because a result file is consistent at every moment (raw writes into
 * space allocated at creation; statuses written after their results). */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "neuromic/error.h"
#include "neuromic/internal/stop.h"

/* The signals that ask for a stop. */
static const int stop_signals[] = {SIGTERM, SIGINT, SIGUSR1};
#define NSTOP (sizeof stop_signals / sizeof *stop_signals)

static atomic_int requested;  /* signal number of the first request */
static atomic_llong first_ms; /* CLOCK_MONOTONIC ms of the first signal; 0: none yet */

/* One signal often arrives twice within milliseconds: Ctrl-C reaches mpirun
 * and the ranks (one process group), and mpirun forwards it to the ranks as
 * well; scancel signals every task and the launcher. So a signal counts as
 * the "second" (exit now) only a second or more after the first. */
#define SECOND_AFTER_MS 1000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

static void on_signal(int sig)
{
    long long t = now_ms(), first = 0;
    if (!atomic_compare_exchange_strong(&first_ms, &first, t) && t - first >= SECOND_AFTER_MS) {
        static const char msg[] = "neuromic: second signal: exiting now; the file keeps every "
                                  "task up to the last checkpoint (resume with --resume)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(NM_ERR_INCOMPLETE);
    }
    int zero = 0;
    atomic_compare_exchange_strong(&requested, &zero, sig);
}

void nm_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NSTOP; i++) {
        sigaction(stop_signals[i], &sa, NULL);
        sigaddset(&set, stop_signals[i]);
    }
    /* A launcher may have blocked them: a signal that arrived since (even
     * before main) is pending and is handled now. */
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void nm_stop_uninstall(void)
{
    for (size_t i = 0; i < NSTOP; i++)
        signal(stop_signals[i], SIG_DFL);
    /* A signal that came while the handlers were in place now does what
     * it would have done without them. */
    int sig = atomic_load(&requested);
    if (sig)
        raise(sig);
}

void nm_stop_ignore(void)
{
    for (size_t i = 0; i < NSTOP; i++)
        signal(stop_signals[i], SIG_IGN);
}

int nm_stop_requested(void) { return atomic_load(&requested); }

void nm_stop_request(int sig)
{
    int zero = 0;
    atomic_compare_exchange_strong(&requested, &zero, sig > 0 ? sig : SIGTERM);
}

const char *nm_stop_signame(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
    }
}
