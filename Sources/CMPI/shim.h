#include <mpi.h>

// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, …) are macros with casts, which Swift cannot
// import; these inline functions hand them over.
static inline MPI_Comm distill_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype distill_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype distill_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op distill_mpi_sum(void) { return MPI_SUM; }
static inline void *distill_mpi_in_place(void) { return MPI_IN_PLACE; }
