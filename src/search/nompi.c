/* nompi.c - the MPI transport's stand-in for builds without MPI: it only
 * recognises that mpirun started us, so the search can say so and stop
 * instead of running N independent searches on one database. */
#include "search/search.h"

#include <stdlib.h>

int srch_mpi_built(void) { return 0; }
const char *srch_mpi_info(void) { return "built without MPI"; }

int srch_mpi_launched(void)
{
    const char *v[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (int i = 0; i < 4; i++) {
        const char *s = getenv(v[i]);
        if (s && atoi(s) > 1) return 1;
    }
    return 0;
}

int srch_mpi_init(int *rank, int *size, int *local_size, mlpc_error *err)
{
    *rank = 0;
    *size = 1;
    *local_size = 1;
    mlpc_seterr(err, MLPC_ERR_UNSUPPORTED, "this mlpc was built without MPI");
    return -1;
}

void srch_mpi_finalize(void) {}
void srch_mpi_abort(int code) { _Exit(code); }
int srch_mpi_send(int dest, const srch_msg *m) { (void)dest; (void)m; return -1; }
int srch_mpi_poll(srch_msg *m) { (void)m; return 0; }
