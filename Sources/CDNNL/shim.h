// oneDNN's C API plus the two libgomp entry points used to set the thread count.
#include <dnnl.h>
void omp_set_num_threads(int);
int omp_get_max_threads(void);
