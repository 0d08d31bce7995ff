/* stop.h: stopping a sweep early on a signal.
 *
 * SIGTERM, SIGINT and SIGUSR1 (what Slurm sends before the time limit with
 * --signal) ask the sweep to stop: no new tasks start, running tasks that
 * poll nm_task_expired() end early and stay pending, every rank writes a
 * last checkpoint and the file is closed; the exit status is 3 (incomplete,
 * resume possible). A second signal, a second or more after the first,
 * exits at once with status 3: the file then holds everything up to the
 * last checkpoint, which --resume accepts. */
#ifndef NEUROMIC_STOP_H
#define NEUROMIC_STOP_H

/* Installs the handlers (idempotent). */
void nm_stop_install(void);
/* Ignores the three signals from now on: once the sweep has ended and the
 * file is being closed, a late signal (mpirun signals the ranks that are
 * still finalizing when another rank has exited with status 3) must not
 * cut the close short. */
void nm_stop_ignore(void);
/* The signal that asked for a stop, or 0. Async-signal-safe to read. */
int nm_stop_requested(void);
/* Asks for a stop as if signal sig had arrived (used when another rank
 * reports a signal). Does not count as the first of two signals. */
void nm_stop_request(int sig);
/* Name of a signal for messages ("SIGTERM"). */
const char *nm_stop_signame(int sig);

#endif
