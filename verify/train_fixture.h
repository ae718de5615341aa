/* train_fixture.h: the small synthetic problem shared by the training
 * checks (test_train_exact, test_t2_*, test_t3_*, test_t3b_*): unit-sphere
 * features of DESIGN.md section 5, a linear model, theta0 ~ N(0, I). */
#ifndef NZK_TRAIN_FIXTURE_H
#define NZK_TRAIN_FIXTURE_H

#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "data_synth.h"
#include "model_linear.h"
#include "rng_stream.h"
#include "train.h"

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


/* R independent runs (run indices 0..R-1) of the trainer configured by
 * `par`, each from theta0, for rec[nrec-1] steps; the residual r_t at
 * record step rec[k] of run j goes to out[(k R + j) n + i].  A run that
 * diverges (GSL_ERUNAWAY) stops; its remaining entries are NaN and it
 * counts in the return value.  The test ensembles are small (R x nrec x n
 * doubles), so they are stored and their moments taken in two passes. */
static inline size_t ensemble_run(const fixture *fx, const nzk_train_params *par, size_t R,
                                  const size_t *rec, size_t nrec, double *out)
{
  const size_t n = fx->n;
  size_t diverged = 0;
  nzk_trainer *t = nzk_trainer_alloc(fx->model, fx->X, fx->y, par);
  for (size_t j = 0; j < R; j++) {
    int status = nzk_trainer_init(t, fx->theta0, j);
    for (size_t k = 0; k < nrec; k++) {
      while (!status && nzk_trainer_iter(t) < rec[k]) status = nzk_trainer_step(t);
      const double *r = NULL;
      if (!status) status = nzk_trainer_residual(t, &r);
      for (size_t i = 0; i < n; i++) out[(k * R + j) * n + i] = status ? NAN : r[i];
    }
    diverged += status != 0;
  }
  nzk_trainer_free(t);
  return diverged;
}

/* Per (record k, coordinate i) over the R runs: mean, unbiased variance
 * s2 and fourth central moment m4 (each nrec x n, any may be NULL). */
static inline void ensemble_moments(const double *out, size_t R, size_t nrec, size_t n,
                                    gsl_matrix *mean, gsl_matrix *s2, gsl_matrix *m4)
{
  for (size_t k = 0; k < nrec; k++)
    for (size_t i = 0; i < n; i++) {
      double m = 0.0, v = 0.0, q = 0.0;
      for (size_t j = 0; j < R; j++) m += out[(k * R + j) * n + i];
      m /= (double)R;
      for (size_t j = 0; j < R; j++) {
        double e = out[(k * R + j) * n + i] - m;
        v += e * e;
        q += e * e * e * e;
      }
      if (mean) gsl_matrix_set(mean, k, i, m);
      if (s2) gsl_matrix_set(s2, k, i, v / (double)(R - 1));
      if (m4) gsl_matrix_set(m4, k, i, q / (double)R);
    }
}

#endif
