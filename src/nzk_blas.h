/* nzk_blas.h: the one place that brings in CBLAS and LAPACKE.
 *
 * GSL's matrix headers already declare the CBLAS interface (gsl_cblas.h),
 * and OpenBLAS's cblas.h redeclares the same enums, so the two headers
 * cannot meet in one translation unit.  We compile against GSL's
 * declarations and link the symbols from OpenBLAS (never libgslcblas;
 * see src/CMakeLists.txt), which has the same ABI. */
#ifndef NZK_BLAS_H
#define NZK_BLAS_H

#include <gsl/gsl_cblas.h>
#include <lapacke.h>

/* From OpenBLAS (openblas_config.h / cblas.h, which we cannot include). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#endif
