/* attempts.c: the /attempts table's columns.
 *
 * Every run of a sweep on a file (the first and each --resume) is a row. The
 * table has a fixed number of rows allocated when the file is created, so
 * that a run records itself with raw writes only: like the task table, it
 * never changes the file's metadata while ranks are writing, which is what
 * keeps a file readable after kill -9 at any moment. */
#include "attempts.h"

nm_attempt_col nm_attempt_column(int i)
{
    switch (i) {
    case A_START:
        return (nm_attempt_col){"start_time", NM_ATTEMPT_TIME_LEN, 0,
                                offsetof(nm_attempt, start_time), "UTC, ISO 8601"};
    case A_END:
        return (nm_attempt_col){"end_time", NM_ATTEMPT_TIME_LEN, 0, offsetof(nm_attempt, end_time),
                                "UTC, ISO 8601; empty if the run was killed"};
    case A_STATUS:
        return (nm_attempt_col){"status", 0, H5T_NATIVE_INT8, offsetof(nm_attempt, status),
                                "exit status: 0 complete, 3 stopped early, 4 tasks failed, "
                                "1 error, 2 bad input; -1 never ended (running, or killed); -2 row "
                                "not used"};
    case A_RANKS:
        return (nm_attempt_col){"ranks", 0, H5T_NATIVE_INT32, offsetof(nm_attempt, ranks),
                                "MPI ranks of the run"};
    case A_TASKS:
        return (nm_attempt_col){"tasks_run", 0, H5T_NATIVE_INT64, offsetof(nm_attempt, tasks_run),
                                "tasks the run finished (done or failed)"};
    case A_HOSTS:
        return (nm_attempt_col){"hosts", NM_ATTEMPT_HOSTS_LEN, 0, offsetof(nm_attempt, hosts),
                                "the run's ranks and hosts: \"RANK HOST; RANK HOST; ...\""};
    case A_CMD:
        return (nm_attempt_col){"command_line", NM_ATTEMPT_CMD_LEN, 0,
                                offsetof(nm_attempt, command_line), "command line of the run"};
    case A_SLURM:
        return (nm_attempt_col){"slurm", NM_ATTEMPT_SLURM_LEN, 0, offsetof(nm_attempt, slurm),
                                "the run's SLURM_* variables: \"NAME=VALUE; NAME=VALUE; ...\""};
    default:
        return (nm_attempt_col){"job_id", NM_ATTEMPT_JOB_LEN, 0, offsetof(nm_attempt, job_id),
                                "batch job id (SLURM_JOB_ID), empty outside a job"};
    }
}
