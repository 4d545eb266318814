/*
 * mpi.c - the search's MPI transport (built only with MPI: make MPI=1, or
 * when mpicc is found). Rank 0 schedules; every rank runs its own workers.
 * Messages are srch_msg structs sent as bytes, so all ranks must run the
 * same mlpc build on the same architecture. Receiving never blocks: the
 * loops poll worker sockets and MPI alternately.
 */
#include "search/search.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define TAG 17

static int g_inited;

int srch_mpi_built(void) { return 1; }

const char *srch_mpi_info(void)
{
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING + 8];
    int len = 0;
    MPI_Get_library_version(buf, &len);
    buf[len < (int)sizeof buf ? len : (int)sizeof buf - 1] = '\0';
    char *nl = buf;
    while (*nl && *nl != ',' && *nl != '\n') nl++;
    *nl = '\0';
    return buf;
}

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
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        mlpc_seterr(err, MLPC_ERR_IO, "MPI_Init failed");
        return -1;
    }
    g_inited = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, *rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, local_size);
    MPI_Comm_free(&node);
    return 0;
}

void srch_mpi_finalize(void)
{
    if (g_inited) MPI_Finalize();
    g_inited = 0;
}

void srch_mpi_abort(int code)
{
    fflush(stdout);
    fflush(stderr);
    if (g_inited) MPI_Abort(MPI_COMM_WORLD, code);
    _Exit(code);
}

int srch_mpi_send(int dest, const srch_msg *m)
{
    return MPI_Send(m, (int)sizeof *m, MPI_BYTE, dest, TAG, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

int srch_mpi_poll(srch_msg *m)
{
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) return -1;
    if (!flag) return 0;
    if (MPI_Recv(m, (int)sizeof *m, MPI_BYTE, st.MPI_SOURCE, TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return -1;
    return 1;
}
