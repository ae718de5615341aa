/* train_fixture.h: the small synthetic problem shared by the training
 * checks (test_train_exact, test_t2_*, test_t3_*, test_t3b_*): unit-sphere
 * features of DESIGN.md section 5, a linear model, theta0 ~ N(0, I). */
#ifndef NZK_TRAIN_FIXTURE_H
#define NZK_TRAIN_FIXTURE_H

#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "data_synth.h"
#include "model_linear.h"
#include "rng_stream.h"

typedef struct {
  size_t n, d;
  gsl_matrix *X; /* n x d */
  gsl_vector *y; /* n */
  double *theta0; /* d */
  nzk_model *model;
} fixture;

/* Data from chunk 0 of `seed`, theta0 from chunk 1. */
static inline fixture fixture_make(size_t n, size_t d, double noise, uint64_t seed)
{
  fixture fx = {n, d, gsl_matrix_alloc(n, d), gsl_vector_alloc(n), malloc(d * sizeof(double)),
                nzk_model_linear_alloc(d)};
  gsl_rng *r = nzk_stream_alloc(seed, 0);
  nzk_synth_sphere(r, noise, fx.X, fx.y, NULL);
  nzk_stream_reset(r, seed, 1);
  for (size_t k = 0; k < d; k++) fx.theta0[k] = gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  return fx;
}

static inline void fixture_free(fixture *fx)
{
  gsl_matrix_free(fx->X);
  gsl_vector_free(fx->y);
  free(fx->theta0);
  nzk_model_free(fx->model);
}

/* r0 = X theta0 - y */
static inline void fixture_r0(const fixture *fx, gsl_vector *r0)
{
  gsl_vector_const_view th = gsl_vector_const_view_array(fx->theta0, fx->d);
  gsl_blas_dgemv(CblasNoTrans, 1.0, fx->X, &th.vector, 0.0, r0);
  gsl_vector_sub(r0, fx->y);
}

#endif
