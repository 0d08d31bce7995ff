/* startup.c: stop requests during a run's start-up (stop.h).
 *
 * Before the result file exists the ranks cannot stop through the task
 * loop, so at each point where start-up could end early they agree on
 * whether any of them has seen a stop signal: all skip the next step or
 * none does. */
#include "neuromic/internal/stop.h"

int nm_stop_agree(MPI_Comm comm)
{
    int mine = nm_stop_requested(), any = 0;
    if (MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
        return mine;
    if (any && !mine)
        nm_stop_request(any);
    return any;
}
