// oneDNN's C API plus the libgomp entry points used to set the thread count and to tell
// whether a kernel runs inside a parallel region.
#include <dnnl.h>
void omp_set_num_threads(int);
int omp_get_max_threads(void);
int omp_in_parallel(void);
