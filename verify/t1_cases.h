/* t1_cases.h: the features and direction laws the T1 tests draw from
 * (shared by verify/test_t1_*.c; static functions, no library state).
 *
 * Features J (n x p): either the unit-sphere data of DESIGN.md section 5
 * (the Jacobian of a linear model), or Gaussian entries / sqrt(p) (a
 * generic Jacobian with signed entries).  Directions: i.i.d. entries of
 * an nzk_law with a mean shift, or Gaussian N(mu, Sigma) with mu a fixed
 * pattern and Sigma either isotropic or a random well-conditioned SPD
 * matrix. */
#ifndef NZK_T1_CASES_H
#define NZK_T1_CASES_H

#include <math.h>
#include <gsl/gsl_randist.h>

#include "data_synth.h"
#include "direction.h"
#include "nzk_blas.h"
#include "rng_stream.h"

typedef enum { DIR_IID = 0, DIR_GAUSS_ISO, DIR_GAUSS_ANISO } dir_kind;

typedef struct {
  dir_kind kind;
  const char *law; /* law spec for DIR_IID ("t:nu=10,scale=0.5") */
  double mean;     /* entry mean (iid) or size of the mean pattern (Gaussian) */
} dir_spec;

/* J: n x p, sphere features when `sphere`, else N(0, 1/p) entries. */
static inline gsl_matrix *t1_features(gsl_rng *r, size_t n, size_t p, int sphere)
{
  gsl_matrix *J = gsl_matrix_alloc(n, p);
  if (sphere) {
    gsl_vector *y = gsl_vector_alloc(n);
    nzk_synth_sphere(r, 0.05, J, y, NULL);
    gsl_vector_free(y);
  } else {
    for (size_t k = 0; k < n * p; k++) J->data[k] = gsl_ran_gaussian(r, 1.0) / sqrt((double)p);
  }
  return J;
}

/* Sigma = A A^T / p + 0.3 I with A standard Gaussian (eigenvalues spread
 * over about (0.3, 4.3)); isotropic: 0.81 I. */
static inline gsl_matrix *t1_sigma(gsl_rng *r, size_t p, int aniso)
{
  gsl_matrix *Sigma = gsl_matrix_calloc(p, p);
  if (!aniso) {
    for (size_t k = 0; k < p; k++) gsl_matrix_set(Sigma, k, k, 0.81);
    return Sigma;
  }
  gsl_matrix *A = gsl_matrix_alloc(p, p);
  for (size_t k = 0; k < p * p; k++) A->data[k] = gsl_ran_gaussian(r, 1.0);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)p, (int)p, 1.0 / (double)p, A->data,
              (int)p, 0.0, Sigma->data, (int)p);
  for (size_t i = 0; i < p; i++) {
    gsl_matrix_set(Sigma, i, i, gsl_matrix_get(Sigma, i, i) + 0.3);
    for (size_t j = 0; j < i; j++) gsl_matrix_set(Sigma, j, i, gsl_matrix_get(Sigma, i, j));
  }
  gsl_matrix_free(A);
  return Sigma;
}

/* The direction law of `spec` in dimension p; NULL if the spec is bad. */
static inline nzk_dir *t1_direction(const dir_spec *spec, size_t p, gsl_rng *r)
{
  if (spec->kind == DIR_IID) {
    nzk_law law;
    if (nzk_law_parse(spec->law, &law)) return NULL;
    law.mean = spec->mean;
    return nzk_dir_alloc_iid(&law, p);
  }
  gsl_vector *mu = gsl_vector_alloc(p);
  for (size_t k = 0; k < p; k++) gsl_vector_set(mu, k, spec->mean * sin(1.7319 * (double)k + 0.4));
  gsl_matrix *Sigma = t1_sigma(r, p, spec->kind == DIR_GAUSS_ANISO);
  nzk_dir *dir = nzk_dir_alloc_gaussian(mu, Sigma);
  gsl_vector_free(mu);
  gsl_matrix_free(Sigma);
  return dir;
}

static inline void t1_describe(const dir_spec *spec, char *buf, size_t len)
{
  static const char *names[] = {"iid", "N(mu, s^2 I)", "N(mu, Sigma)"};
  if (spec->kind == DIR_IID) snprintf(buf, len, "%s mean %g", spec->law, spec->mean);
  else snprintf(buf, len, "%s |mu_k| <= %g", names[spec->kind], spec->mean);
}

#endif
