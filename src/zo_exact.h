/* zo_exact.h: parameter-space ZO training of a model linear in theta,
 * f = J theta, with isotropic Gaussian directions z ~ N(0, sigma^2 I_p),
 * run in function space by drawing each step from the exact law of what
 * the step depends on (DESIGN.md sections 2 and 5).
 *
 * Why it is exact.  Under the squared loss the central difference along u
 * is d_u = u.g / n with g = J^T r (no finite-difference error for a
 * quadratic loss), and the step moves f by -eta d coef J z.  So a step
 * depends on z only through J z, z.g, |z|^2 and z.zeta.  With the thin
 * SVD J = U S V^T (rank q, found from the eigendecomposition of the NTK
 * J J^T = U S^2 U^T), write z = sigma (V a + N b) with a ~ N(0, I_q) and
 * b ~ N(0, I_{p-q}) independent (N spans the null space of J):
 *   J z = sigma U S a,   z.g = sigma (S a).(U^T r),   |z|^2 = sigma^2 (|a|^2 + |b|^2),
 * and |b|^2 ~ chi^2_{p-q}; for a second independent direction
 * z.zeta = sigma^2 (a.a' + |b| c) with c ~ N(0, 1).  In the eigenbasis
 * (rt = U^T r) every step of every scheme then costs O(q) plus the draws,
 * instead of two forward passes of O(n p) each.  Best of K: the K values
 * z_k.g are i.i.d. N(0, sigma^2 |g|^2) with |g|^2 = |S rt|^2; given the
 * kept value s, a = (s / (sigma |g|^2)) S rt + (xi - w (w.xi)), w = S rt/|S rt|,
 * xi ~ N(0, I_q), which is the conditional law of a given a.(S rt).
 *
 * The trajectories have the same law as the reference trainer's (train.h)
 * but are not the same paths: they use the stream differently.  The
 * statistical agreement is checked in verify/test_zo_exact.c.
 * Limitation: only isotropic Gaussian directions (the law must be
 * rotation invariant); other laws go through train.h.  The residual part
 * outside the range of J never moves and is kept as a constant. */
#ifndef NZK_ZO_EXACT_H
#define NZK_ZO_EXACT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "kernel.h"

typedef enum {
  NZK_ZOX_PLAIN = 0, /* theta -= eta d_z z */
  NZK_ZOX_PAIR,      /* theta -= eta d_zeta (z.zeta) z, z and zeta independent */
  NZK_ZOX_SHARED,    /* theta -= eta d_z |z|^2 z */
  NZK_ZOX_BEST       /* K directions, keep the most negative d_k, theta -= eta d_k z_k */
} nzk_zox_kind;

const char *nzk_zox_kind_name(nzk_zox_kind kind);

typedef struct nzk_zox nzk_zox;

/* Set up for the Jacobian J (n x p, copied into its eigenbasis form and
 * not kept) and direction scale sigma > 0.  One eigendecomposition of
 * J J^T (LAPACKE_dsyevd, O(n^2 p + n^3)).  NULL after NZK_FAIL (GSL_EINVAL
 * for sigma <= 0 or a J of zero rank, GSL_ENOMEM). */
nzk_zox *nzk_zox_alloc(const gsl_matrix *J, double sigma);
void nzk_zox_free(nzk_zox *zx);

/* Rank q of J and its singular values S (length q, descending; the NTK's
 * eigenvalues are their squares). */
size_t nzk_zox_rank(const nzk_zox *zx);
const double *nzk_zox_singular_values(const nzk_zox *zx);

/* Start from residual r0 = f0 - y (length n).  GSL_EBADLEN on length. */
int nzk_zox_set_r0(nzk_zox *zx, const gsl_vector *r0);

/* One step of `kind` with step size eta, drawing from r (best_k used by
 * NZK_ZOX_BEST only, >= 1).  O(q + best_k).  GSL_EINVAL for a bad eta or
 * best_k, GSL_ERUNAWAY if the loss stops being finite. */
int nzk_zox_step(nzk_zox *zx, nzk_zox_kind kind, double eta, size_t best_k, gsl_rng *r);

/* Current loss (1/2n)|r|^2, O(q). */
double nzk_zox_loss(const nzk_zox *zx);
/* Current residual r (length n), O(nq). */
int nzk_zox_residual(const nzk_zox *zx, gsl_vector *r);

/* Monte Carlo estimate of the expected kernel E K of `scheme` for z (and
 * zeta) ~ N(0, sigma^2 I_p) from S draws, with per-entry standard errors:
 * the same estimator as nzk_kernel_mc (kernel.h), with each draw's
 * (J z, |z|^2, z.zeta) drawn from its exact law in the q-dimensional row
 * space (q normals and one chi^2 per direction instead of p normals, and
 * V = A diag(sigma S) U^T is a B x q x n GEMM instead of B x p x n).
 * Chunk k of B draws uses stream nzk_stream_alloc(seed, k).  mean, se:
 * n x n (se may be NULL).  Returns 0, GSL_EBADLEN on shapes, GSL_EINVAL
 * for S < 2 or B == 0, GSL_ENOMEM.  Checked against nzk_kernel_mc in
 * verify/test_zo_exact.c. */
int nzk_zox_kernel_mc(const nzk_zox *zx, nzk_scheme scheme, size_t n_draws, size_t batch,
                      uint64_t seed, gsl_matrix *mean, gsl_matrix *se);

#endif
