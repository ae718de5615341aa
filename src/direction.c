/* direction.c: direction laws, samplers and moment matrices (see
 * direction.h for the formulas, DESIGN.md section 2). */
#include "direction.h"
#include "nzk_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nzk_blas.h"
#include <gsl/gsl_randist.h>

struct nzk_dir {
  size_t p;
  int iid;
  nzk_law law;         /* iid only */
  gsl_vector *mu;      /* gaussian only */
  gsl_matrix *Sigma;   /* gaussian only */
  gsl_matrix *L;       /* lower Cholesky factor of Sigma, zeros above */
};

nzk_dir *nzk_dir_alloc_iid(const nzk_law *law, size_t p)
{
  if (nzk_law_validate(law)) return NULL;
  if (p == 0) {
    NZK_FAIL(GSL_EBADLEN, "direction dimension p must be positive");
    return NULL;
  }
  nzk_dir *dir = calloc(1, sizeof *dir);
  if (!dir) {
    NZK_FAIL(GSL_ENOMEM, "out of memory allocating a direction law");
    return NULL;
  }
  dir->p = p;
  dir->iid = 1;
  dir->law = *law;
  return dir;
}

nzk_dir *nzk_dir_alloc_gaussian(const gsl_vector *mu, const gsl_matrix *Sigma)
{
  size_t p = Sigma->size1;
  if (Sigma->size2 != p || p == 0 || (mu && mu->size != p)) {
    NZK_FAIL(GSL_EBADLEN, "Gaussian direction: Sigma is %zux%zu and mu has length %zu",
             Sigma->size1, Sigma->size2, mu ? mu->size : p);
    return NULL;
  }
  nzk_dir *dir = calloc(1, sizeof *dir);
  if (!dir) goto nomem;
  dir->p = p;
  dir->mu = gsl_vector_calloc(p);
  dir->Sigma = gsl_matrix_alloc(p, p);
  dir->L = gsl_matrix_calloc(p, p);
  if (!dir->mu || !dir->Sigma || !dir->L) goto nomem;
  if (mu) gsl_vector_memcpy(dir->mu, mu);
  gsl_matrix_memcpy(dir->Sigma, Sigma);

  for (size_t i = 0; i < p; i++)
    for (size_t j = 0; j < p; j++) {
      double a = gsl_matrix_get(Sigma, i, j);
      if (!isfinite(a) || fabs(a - gsl_matrix_get(Sigma, j, i)) > 1e-12 * (fabs(a) + 1)) {
        NZK_FAIL(GSL_EINVAL, "Gaussian direction: Sigma is not symmetric and finite at (%zu,%zu)",
                 i, j);
        nzk_dir_free(dir);
        return NULL;
      }
      if (j <= i) gsl_matrix_set(dir->L, i, j, a);
    }
  lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)p, dir->L->data,
                                   (lapack_int)dir->L->tda);
  if (info != 0) {
    NZK_FAIL(GSL_EDOM, "Gaussian direction: Sigma is not positive definite (Cholesky info %d)",
             (int)info);
    nzk_dir_free(dir);
    return NULL;
  }
  return dir;

nomem:
  NZK_FAIL(GSL_ENOMEM, "out of memory allocating a Gaussian direction of dimension %zu", p);
  nzk_dir_free(dir);
  return NULL;
}

void nzk_dir_free(nzk_dir *dir)
{
  if (!dir) return;
  gsl_vector_free(dir->mu);
  gsl_matrix_free(dir->Sigma);
  gsl_matrix_free(dir->L);
  free(dir);
}

size_t nzk_dir_dim(const nzk_dir *dir) { return dir->p; }
int nzk_dir_is_iid(const nzk_dir *dir) { return dir->iid; }
const nzk_law *nzk_dir_law(const nzk_dir *dir) { return dir->iid ? &dir->law : NULL; }

void nzk_dir_describe(const nzk_dir *dir, char *buf, size_t len)
{
  if (dir->iid) {
    char law[160];
    nzk_law_format(&dir->law, law, sizeof law);
    snprintf(buf, len, "%s (iid, p=%zu)", law, dir->p);
  } else {
    double mu2 = 0.0, tr = 0.0;
    for (size_t k = 0; k < dir->p; k++) {
      mu2 += gsl_vector_get(dir->mu, k) * gsl_vector_get(dir->mu, k);
      tr += gsl_matrix_get(dir->Sigma, k, k);
    }
    snprintf(buf, len, "gaussian N(mu, Sigma) (p=%zu, |mu|=%g, tr Sigma=%g)", dir->p,
             sqrt(mu2), tr);
  }
}

int nzk_dir_moment_exists(const nzk_dir *dir, int order)
{
  return dir->iid ? nzk_law_moment_exists(&dir->law, order) : 1;
}

void nzk_dir_sample(const nzk_dir *dir, gsl_rng *r, double *z)
{
  const size_t p = dir->p;
  if (dir->iid) {
    nzk_law_fill(&dir->law, r, z, p);
    return;
  }
  nzk_std_normal_fill(r, z, p);
  /* z <- L xi + mu */
  cblas_dtrmv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)p, dir->L->data,
              (int)dir->L->tda, z, 1);
  for (size_t k = 0; k < p; k++) z[k] += dir->mu->data[k * dir->mu->stride];
}

int nzk_dir_sample_batch(const nzk_dir *dir, gsl_rng *r, gsl_matrix *Z)
{
  const size_t p = dir->p, B = Z->size1;
  if (Z->size2 != p)
    return NZK_FAIL(GSL_EBADLEN, "direction batch has %zu columns, expected p = %zu", Z->size2, p);
  if (dir->iid) {
    for (size_t s = 0; s < B; s++) nzk_law_fill(&dir->law, r, gsl_matrix_ptr(Z, s, 0), p);
    return 0;
  }
  for (size_t s = 0; s < B; s++) {
    nzk_std_normal_fill(r, gsl_matrix_ptr(Z, s, 0), p);
  }
  /* Z <- Xi L^T + 1 mu^T: one BLAS-3 call for the whole batch. */
  cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)B, (int)p,
              1.0, dir->L->data, (int)dir->L->tda, Z->data, (int)Z->tda);
  for (size_t s = 0; s < B; s++) {
    double *row = gsl_matrix_ptr(Z, s, 0);
    for (size_t k = 0; k < p; k++) row[k] += gsl_vector_get(dir->mu, k);
  }
  return 0;
}

/* --- moment matrices --------------------------------------------------- */

static int moment_dense_alloc(nzk_moment *out, size_t p)
{
  out->p = p;
  out->alpha = out->beta = 0.0;
  out->dense = gsl_matrix_alloc(p, p);
  if (!out->dense)
    return NZK_FAIL(GSL_ENOMEM, "out of memory for a %zu x %zu moment matrix", p, p);
  return 0;
}

int nzk_dir_second_moment(const nzk_dir *dir, nzk_moment *out)
{
  const size_t p = dir->p;
  if (dir->iid) {
    /* alpha = a2 - m^2 is the variance mu2: taken directly, since the
     * difference loses eps (m/s)^2 relative when |m| >> s */
    double m = dir->law.mean, mu2;
    int status = nzk_law_central_moment(&dir->law, 2, &mu2);
    if (status) return status;
    *out = (nzk_moment){p, mu2, m * m, NULL};
    return 0;
  }
  int status = moment_dense_alloc(out, p);
  if (status) return status;
  /* M2 = Sigma + mu mu^T */
  gsl_matrix_memcpy(out->dense, dir->Sigma);
  cblas_dger(CblasRowMajor, (int)p, (int)p, 1.0, dir->mu->data, (int)dir->mu->stride,
             dir->mu->data, (int)dir->mu->stride, out->dense->data, (int)out->dense->tda);
  return 0;
}

int nzk_dir_fourth_moment(const nzk_dir *dir, nzk_moment *out)
{
  const size_t p = dir->p;
  if (dir->iid) {
    double m = dir->law.mean, a2, a3, mu2, mu3, mu4;
    int status = nzk_law_central_moment(&dir->law, 4, &mu4);
    if (status) return status;
    nzk_law_raw_moment(&dir->law, 2, &a2);
    nzk_law_raw_moment(&dir->law, 3, &a3);
    nzk_law_central_moment(&dir->law, 2, &mu2);
    nzk_law_central_moment(&dir->law, 3, &mu3);
    double O = ((double)p - 2.0) * a2 * m * m + 2.0 * m * a3;
    /* D I + O (11^T - I) = (D - O) I + O 11^T.  With a2 = mu2 + m^2,
     * a3 = m^3 + 3 m mu2 + mu3, a4 = m^4 + 6 m^2 mu2 + 4 m mu3 + mu4 the
     * m^4 terms of D - O cancel symbolically:
     *   D - O = (p-1) mu2^2 + p m^2 mu2 + 2 m mu3 + mu4,
     * computed so (the raw form loses eps (m/s)^2 relative; mu3 = 0 for
     * every law of law.h, so no term cancels). */
    double alpha = (double)(p - 1) * mu2 * mu2 + (double)p * m * m * mu2 + 2.0 * m * mu3 + mu4;
    *out = (nzk_moment){p, alpha, O, NULL};
    return 0;
  }

  int status = moment_dense_alloc(out, p);
  if (status) return status;
  const double *mu = dir->mu->data;
  const int inc = (int)dir->mu->stride, ld = (int)out->dense->tda;
  double mumu = cblas_ddot((int)p, mu, inc, mu, inc), tr = 0.0;
  for (size_t k = 0; k < p; k++) tr += gsl_matrix_get(dir->Sigma, k, k);

  /* (mu.mu + tr Sigma)(mu mu^T + Sigma) */
  gsl_matrix_memcpy(out->dense, dir->Sigma);
  cblas_dger(CblasRowMajor, (int)p, (int)p, 1.0, mu, inc, mu, inc, out->dense->data, ld);
  gsl_matrix_scale(out->dense, mumu + tr);
  /* + 2 Sigma^2 */
  cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, (int)p, (int)p, 2.0, dir->Sigma->data,
              (int)dir->Sigma->tda, dir->Sigma->data, (int)dir->Sigma->tda, 1.0,
              out->dense->data, ld);
  /* + 2 (mu (Sigma mu)^T + (Sigma mu) mu^T) */
  gsl_vector *smu = gsl_vector_alloc(p);
  if (!smu) {
    nzk_moment_free(out);
    return NZK_FAIL(GSL_ENOMEM, "out of memory for a moment vector (p=%zu)", p);
  }
  cblas_dsymv(CblasRowMajor, CblasLower, (int)p, 1.0, dir->Sigma->data, (int)dir->Sigma->tda,
              mu, inc, 0.0, smu->data, 1);
  cblas_dger(CblasRowMajor, (int)p, (int)p, 2.0, mu, inc, smu->data, 1, out->dense->data, ld);
  cblas_dger(CblasRowMajor, (int)p, (int)p, 2.0, smu->data, 1, mu, inc, out->dense->data, ld);
  gsl_vector_free(smu);
  return 0;
}

int nzk_moment_to_dense(const nzk_moment *m, gsl_matrix *M)
{
  if (M->size1 != m->p || M->size2 != m->p)
    return NZK_FAIL(GSL_EBADLEN, "moment matrix is %zu x %zu, expected %zu x %zu", M->size1,
                    M->size2, m->p, m->p);
  if (m->dense) {
    gsl_matrix_memcpy(M, m->dense);
    return 0;
  }
  gsl_matrix_set_all(M, m->beta);
  for (size_t k = 0; k < m->p; k++) gsl_matrix_set(M, k, k, m->alpha + m->beta);
  return 0;
}

int nzk_moment_product(const nzk_moment *a, const nzk_moment *b, nzk_moment *out)
{
  const size_t p = a->p;
  if (b->p != p)
    return NZK_FAIL(GSL_EBADLEN, "moment product of %zu x %zu and %zu x %zu", p, p, b->p, b->p);
  if (!a->dense && !b->dense) {
    /* (aI + b11^T)(cI + d11^T) = ac I + (ad + bc + p bd) 11^T */
    *out = (nzk_moment){p, a->alpha * b->alpha,
                        a->alpha * b->beta + a->beta * b->alpha + (double)p * a->beta * b->beta,
                        NULL};
    return 0;
  }
  gsl_matrix *A = gsl_matrix_alloc(p, p), *B = gsl_matrix_alloc(p, p);
  int status = (A && B) ? moment_dense_alloc(out, p)
                        : NZK_FAIL(GSL_ENOMEM, "out of memory for moment product (p=%zu)", p);
  if (!status) {
    nzk_moment_to_dense(a, A);
    nzk_moment_to_dense(b, B);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)p, (int)p, 1.0, A->data,
                (int)A->tda, B->data, (int)B->tda, 0.0, out->dense->data, (int)out->dense->tda);
  }
  gsl_matrix_free(A);
  gsl_matrix_free(B);
  return status;
}

void nzk_moment_free(nzk_moment *m)
{
  if (!m) return;
  gsl_matrix_free(m->dense);
  m->dense = NULL;
}
