/* data_synth.c: unit-sphere regression data (DESIGN.md section 5). */
#include "data_synth.h"
#include "nzk_error.h"

#include <math.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

int nzk_synth_sphere(gsl_rng *r, double noise, gsl_matrix *X, gsl_vector *y,
                     gsl_vector *theta_star)
{
  const size_t n = X->size1, d = X->size2;
  if (y->size != n || (theta_star && theta_star->size != d))
    return NZK_FAIL(GSL_EBADLEN, "synthetic data: X is %zu x %zu, y has %zu, theta* has %zu", n,
                    d, y->size, theta_star ? theta_star->size : d);
  if (!(noise >= 0 && isfinite(noise)))
    return NZK_FAIL(GSL_EINVAL, "synthetic data: noise must be >= 0, got %g", noise);

  for (size_t i = 0; i < n; i++) {
    gsl_vector_view row = gsl_matrix_row(X, i);
    double norm2;
    do { /* an all-zero row has probability 2^-(32d); redraw it */
      for (size_t k = 0; k < d; k++) gsl_vector_set(&row.vector, k, gsl_rng_uniform(r));
      norm2 = gsl_blas_dnrm2(&row.vector);
    } while (norm2 == 0.0);
    gsl_vector_scale(&row.vector, 1.0 / norm2);
  }

  gsl_vector *ts = theta_star ? theta_star : gsl_vector_alloc(d);
  if (!ts) return NZK_FAIL(GSL_ENOMEM, "out of memory (d=%zu)", d);
  for (size_t k = 0; k < d; k++) gsl_vector_set(ts, k, 1.0 + (double)gsl_rng_uniform_int(r, 9));
  gsl_blas_dgemv(CblasNoTrans, 1.0, X, ts, 0.0, y);
  for (size_t i = 0; i < n; i++) y->data[i * y->stride] += gsl_ran_gaussian(r, noise);
  if (!theta_star) gsl_vector_free(ts);
  return 0;
}
