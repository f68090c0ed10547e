/* SPDX-License-Identifier: MIT */
/*
 * ae_mpi.h - an Open MPI adapter for libae's collectives (ae/dist.h): the
 * library never links MPI; a program built with mpicc fills an
 * ae_collective from a communicator with ae_mpi_collective() and passes it
 * to ae_model_train() (ae_train_options.collective) or ae_step_allreduce().
 *
 * Faults: the communicator's error handler becomes MPI_ERRORS_RETURN, so a
 * failing MPI call returns an error instead of aborting; every collective
 * is non-blocking (MPI_Iallreduce, MPI_Ibcast, MPI_Igather) and polled
 * against a timeout, so a peer that stops answering (dead, hung) makes the
 * call return nonzero after timeout seconds rather than hang. libae then
 * stops training with AE_ERR_IO; the program should MPI_Abort() (a request
 * still in flight cannot be completed).
 *
 * Copy these two files into your project; they are not part of libae.so.
 */
#ifndef AE_MPI_H
#define AE_MPI_H

#include <mpi.h>

#include <ae.h>

typedef struct ae_mpi {
    MPI_Comm comm;
    double timeout;   /* seconds a collective may take; <= 0: no limit */
    int last_error;   /* the MPI error code of the last failure, or -1 for a timeout */
    double seconds;   /* time spent in the collectives so far */
    unsigned long calls; /* collectives so far */
} ae_mpi;

/* Fills *c (rank, size, the three collectives) over comm and sets comm's
 * error handler to MPI_ERRORS_RETURN. *m must outlive the training.
 * Returns MPI_SUCCESS or an MPI error code. */
int ae_mpi_collective(ae_collective *c, ae_mpi *m, MPI_Comm comm, double timeout);

#endif
