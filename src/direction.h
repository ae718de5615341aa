/* direction.h: laws of the random direction u in R^p used by ZO steps, and
 * their moment matrices M2 = E[u u^T] and M4 = E[(u.u) u u^T]
 * (DESIGN.md section 2, "Expected kernels").
 *
 * Two families:
 *  - i.i.d. entries from an nzk_law (mean m, raw moments a2, a3, a4):
 *      M2 = (a2 - m^2) I + m^2 11^T
 *      M4 = D I + O (11^T - I),  D = (p-1) a2^2 + a4,  O = (p-2) a2 m^2 + 2 m a3
 *    The identity coefficients are computed from the central moments mu_k,
 *    a2 - m^2 = mu2 and D - O = (p-1) mu2^2 + p m^2 mu2 + 2 m mu3 + mu4,
 *    which keeps full accuracy when |m| >> s (the raw differences lose
 *    eps (m/s)^2 relative).
 *    Both have the form alpha I + beta 11^T, which is kept symbolic so that
 *    p may be in the millions.
 *  - Gaussian N(mu, Sigma), sampled as mu + L xi with Sigma = L L^T
 *    (Cholesky through LAPACKE); Sigma must be positive definite.
 *      M2 = Sigma + mu mu^T
 *      M4 = (mu.mu + tr Sigma)(mu mu^T + Sigma) + 2 Sigma^2
 *           + 2 (mu mu^T Sigma + Sigma mu mu^T)
 *
 * An nzk_dir is immutable after allocation and may be shared by threads;
 * the random stream is always passed in. */
#ifndef NZK_DIRECTION_H
#define NZK_DIRECTION_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "law.h"

typedef struct nzk_dir nzk_dir;

/* A p x p moment matrix, either alpha I + beta 11^T (dense == NULL) or a
 * dense matrix (owned). */
typedef struct {
  size_t p;
  double alpha, beta;
  gsl_matrix *dense;
} nzk_moment;

/* i.i.d. entries of `law` in dimension p.  NULL (after NZK_FAIL) if the
 * law is invalid or p == 0. */
nzk_dir *nzk_dir_alloc_iid(const nzk_law *law, size_t p);

/* N(mu, Sigma); mu may be NULL for zero mean.  Copies its arguments.  NULL
 * (after NZK_FAIL) if shapes disagree or Sigma is not positive definite. */
nzk_dir *nzk_dir_alloc_gaussian(const gsl_vector *mu, const gsl_matrix *Sigma);
void nzk_dir_free(nzk_dir *dir);

size_t nzk_dir_dim(const nzk_dir *dir);
int nzk_dir_is_iid(const nzk_dir *dir);
/* The entry law of an i.i.d. direction, NULL for a Gaussian one. */
const nzk_law *nzk_dir_law(const nzk_dir *dir);
/* Short human-readable description ("normal:scale=1,mean=0 (iid, p=711)"). */
void nzk_dir_describe(const nzk_dir *dir, char *buf, size_t len);

/* 1 if every entry has a finite absolute moment of this order. */
int nzk_dir_moment_exists(const nzk_dir *dir, int order);

/* Draw directions.  z has length p; Z is B x p, one direction per row.
 * Filling Z uses the stream exactly as B successive calls of
 * nzk_dir_sample would, so results do not depend on the batch size. */
void nzk_dir_sample(const nzk_dir *dir, gsl_rng *r, double *z);
int nzk_dir_sample_batch(const nzk_dir *dir, gsl_rng *r, gsl_matrix *Z);

/* M2 and M4 of the direction.  `out` must be released with
 * nzk_moment_free.  GSL_EDOM if the needed entry moment (2nd or 4th) does
 * not exist. */
int nzk_dir_second_moment(const nzk_dir *dir, nzk_moment *out);
int nzk_dir_fourth_moment(const nzk_dir *dir, nzk_moment *out);

/* out = a * b (both p x p); symbolic when both are symbolic. */
int nzk_moment_product(const nzk_moment *a, const nzk_moment *b, nzk_moment *out);
/* Dense copy of a moment matrix into M (p x p). */
int nzk_moment_to_dense(const nzk_moment *m, gsl_matrix *M);
void nzk_moment_free(nzk_moment *m);

#endif
