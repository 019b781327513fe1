// latentcl CLI — running a verb as one rank of a data-parallel job (cli_dist.c).
#ifndef LATENTCL_CLI_DIST_H
#define LATENTCL_CLI_DIST_H

// Runs run(argc, argv) as this process's rank. Under mpirun (and built with
// -DLATENTCL_MPI=ON) with several ranks: MPI starts, each rank gets its device (--device
// A,B,..: local rank r takes item r mod count; gpu or no --device with GPUs: the GPUs
// round-robin by local rank; a CPU device: its cores split between the ranks on the
// machine through POCL_MAX_PTHREAD_COUNT and OPENBLAS_NUM_THREADS unless set), ranks
// other than 0 print nothing on stdout, and a failure on any rank ends the whole job
// (MPI_Abort) so that no rank waits forever. Otherwise it is simply run(argc, argv).
int cli_dist_run(int (*run)(int argc, char **argv), int argc, char **argv);

// True when this process is rank 0 (or the only process): the one that writes files.
int cli_dist_writer(void);

#endif
