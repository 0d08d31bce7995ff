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

#include <mpi.h>

/* Installs the handlers (idempotent; a request already seen is kept).
 * main() calls it first thing, so that no moment of a run's start-up
 * loses a signal or dies of it. */
void nm_stop_install(void);
/* Back to the default actions, for commands that do not run a sweep; a
 * signal that arrived in between is raised again. */
void nm_stop_uninstall(void);
/* Collective over comm: the stop signal any rank has seen, or 0; every
 * rank returns the same value (a start-up step is skipped by all or none). */
int nm_stop_agree(MPI_Comm comm);
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
