/* SPDX-License-Identifier: MIT */
/* ae_mpi.c - the Open MPI adapter (ae_mpi.h). */
#include "ae_mpi.h"

#include <limits.h>
#include <stdint.h>
#include <time.h>

/* Waits for req until done or m->timeout; 0, or nonzero on error/timeout. */
static int wait_req(ae_mpi *m, MPI_Request *req);

static int wait_for(ae_mpi *m, MPI_Request *req)
{
    const double t0 = MPI_Wtime();
    int rc = wait_req(m, req);
    m->seconds += MPI_Wtime() - t0;
    m->calls++;
    return rc;
}

static int wait_req(ae_mpi *m, MPI_Request *req)
{
    if (m->timeout <= 0.0) {
        int rc = MPI_Wait(req, MPI_STATUS_IGNORE);
        m->last_error = rc == MPI_SUCCESS ? 0 : rc;
        return rc != MPI_SUCCESS;
    }
    const double start = MPI_Wtime();
    int done = 0, spins = 0;
    for (;;) {
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            m->last_error = rc;
            return 1;
        }
        if (done)
            return 0;
        if (m->timeout > 0.0 && MPI_Wtime() - start > m->timeout) {
            m->last_error = -1;
            return 2;
        }
        if (++spins > 1000) { /* long waits: poll every 50 us, leave the core */
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
}

/* MPI counts are int: long buffers go in chunks. */
#define CHUNK ((size_t)INT_MAX / 2)

static int allreduce(float *buf, size_t count, void *user)
{
    ae_mpi *m = user;
    for (size_t off = 0; off < count; off += CHUNK) {
        const int n = (int)(count - off < CHUNK ? count - off : CHUNK);
        MPI_Request req;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + off, n, MPI_FLOAT, MPI_SUM, m->comm, &req);
        if (rc != MPI_SUCCESS) {
            m->last_error = rc;
            return 1;
        }
        if ((rc = wait_for(m, &req)) != 0)
            return rc;
    }
    return 0;
}

static int broadcast(float *buf, size_t count, int root, void *user)
{
    ae_mpi *m = user;
    for (size_t off = 0; off < count; off += CHUNK) {
        const int n = (int)(count - off < CHUNK ? count - off : CHUNK);
        MPI_Request req;
        int rc = MPI_Ibcast(buf + off, n, MPI_FLOAT, root, m->comm, &req);
        if (rc != MPI_SUCCESS) {
            m->last_error = rc;
            return 1;
        }
        if ((rc = wait_for(m, &req)) != 0)
            return rc;
    }
    return 0;
}

/* One gather of count floats per rank (count * size must fit an int's
 * displacement range: the deterministic mode's gradients, < 2^31 floats). */
static int gather(const float *send, float *recv, size_t count, int root, void *user)
{
    ae_mpi *m = user;
    if (count > (size_t)INT_MAX)
        return 3;
    MPI_Request req;
    int rc = MPI_Igather(send, (int)count, MPI_FLOAT, recv, (int)count, MPI_FLOAT, root, m->comm,
                         &req);
    if (rc != MPI_SUCCESS) {
        m->last_error = rc;
        return 1;
    }
    return wait_for(m, &req);
}

int ae_mpi_collective(ae_collective *c, ae_mpi *m, MPI_Comm comm, double timeout)
{
    int rank, size, rc;
    if ((rc = MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(comm, &rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(comm, &size)) != MPI_SUCCESS)
        return rc;
    m->comm = comm;
    m->timeout = timeout;
    m->last_error = 0;
    m->seconds = 0.0;
    m->calls = 0;
    ae_collective d = AE_COLLECTIVE_INIT;
    d.rank = rank;
    d.size = size;
    d.allreduce_sum = allreduce;
    d.broadcast = broadcast;
    d.gather = gather;
    d.user = m;
    *c = d;
    return MPI_SUCCESS;
}
