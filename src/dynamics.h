/* dynamics.h: function-space dynamics under the squared loss
 * (DESIGN.md section 3, T3 and T3b).
 *
 * Kernel gradient descent (the paper code's "ZOGD" when K is a ZO kernel,
 * FO when K = J J^T):
 *     f <- f - (eta/n) K (f - y),     i.e. r <- (I - c K) r,  c = eta/n.
 * Closed form (T3) for a symmetric K = Q diag(lambda) Q^T:
 *     r_t = Q diag((1 - c lambda)^t) Q^T r_0          (discrete steps)
 *     r(t) = Q diag(exp(-c lambda t)) Q^T r_0          (flow limit)
 * One eigendecomposition (LAPACKE_dsyevr) at allocation, then O(n^2) to
 * project r_0, O(n^2) per requested residual and O(n) per requested loss
 * (1/2n)|r_t|^2 = (1/2n) sum_k (1 - c lambda_k)^(2t) (Q^T r_0)_k^2.
 * A kernel given as J M J^T with p < n columns uses a p x p
 * eigendecomposition instead (nzk_closed_alloc_sandwich).
 *
 * Second moment (T3b), plain scheme, z ~ N(0, Sigma), A = J Sigma J^T:
 *     R' = R - c (A R + R A) + c^2 (tr(R A) A + 2 A R A),   R = E[r r^T].
 * With A = U diag(a) U^T and S = U^T R U this decouples entry-wise:
 *     S'_kl = (1 - c(a_k + a_l) + 2 c^2 a_k a_l) S_kl
 *             + [k == l] c^2 a_k sum_j a_j S_jj,
 * so each step costs O(n^2) after one eigendecomposition of A.
 * Mean-square stability: the diagonal s_k = S_kk evolves by the
 * non-negative matrix D + c^2 a a^T with D_kk = (1 - c a_k)^2 + c^2 a_k^2,
 * and |S_kl| <= sqrt(S_kk S_ll).  Its spectral radius is below 1 exactly
 * when c a_k < 1 for every k and
 *     g(c) = sum_{a_k > 0} c a_k / (2 (1 - c a_k)) < 1
 * (secular equation of the rank-one update at lambda = 1; the modes with
 * a_k = 0 never move).  g increases on (0, 1/max a), so the limit c* is
 * the root of g(c) = 1 and eta* = n c*.  For an isotropic A with p equal
 * non-zero eigenvalues a this gives c* a = 2 / (p + 2). */
#ifndef NZK_DYNAMICS_H
#define NZK_DYNAMICS_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

/* One kernel-GD step f <- f - (eta/n) K (f - y), n = f->size.  K: n x n
 * (used as given, need not be symmetric; the authors' code multiplies by
 * K^T, the same for the symmetric kernels used here); y, f, work: length
 * n.  Returns
 * 0, GSL_EBADLEN on shapes, GSL_EINVAL for a non-finite eta. */
int nzk_kgd_step(const gsl_matrix *K, double eta, const gsl_vector *y, gsl_vector *f,
                 gsl_vector *work);

typedef enum {
  NZK_EVOLVE_STEPS = 0, /* (I - c K)^t, t a non-negative integer */
  NZK_EVOLVE_FLOW       /* exp(-c K t), t >= 0 real */
} nzk_evolve_mode;

typedef struct nzk_closed nzk_closed;

/* Relative symmetry tolerance of the closed form: kernels assembled by
 * GEMMs or averages in different summation orders are symmetric only to
 * about n eps (1e-13 at n = 1000), while a genuinely non-symmetric kernel
 * (non-commuting pair covariances) is off by O(1) relative. */
#define NZK_CLOSED_SYM_TOL 1e-10

/* Eigendecompose the symmetric n x n kernel K (lower triangle read; K is
 * checked for symmetry, |K_ij - K_ji| <= NZK_CLOSED_SYM_TOL max|K|, and
 * rejected with GSL_EINVAL
 * otherwise, e.g. the pair kernel of two Gaussian laws whose covariances
 * do not commute: use nzk_kgd_step there).  NULL after NZK_FAIL. */
nzk_closed *nzk_closed_alloc(const gsl_matrix *K);
void nzk_closed_free(nzk_closed *cf);

/* The closed form of K = J M J^T from its factors, J: n x p, M: p x p
 * symmetric positive semi-definite (e.g. the dense M2, M4 of
 * direction.h; checked for symmetry as above).  The kernel has rank <= p
 * and only p modes move: M = W diag(mu) W^T, B = J W sqrt(mu),
 * Householder QR B = Q_B R, and R R^T = U diag(lambda) U^T give the modes
 * Q = Q_B U in O(n p^2 + p^3) instead of O(n^3) (the linear rows of
 * DESIGN.md section 5 have p = 2..64 at n = 100..200); the other n - p
 * directions have eigenvalue 0 and never move.  Used when 2p <= n; above
 * that (measured slower) it forms K and takes the dense path.  NULL after
 * NZK_FAIL. */
nzk_closed *nzk_closed_alloc_sandwich(const gsl_matrix *J, const gsl_matrix *M);
/* Number of modes m kept: n (dense) or p (factored, p < n). */
size_t nzk_closed_modes(const nzk_closed *cf);

/* Set r_0 (length n): stores Q^T r_0, O(n^2). */
int nzk_closed_set_r0(nzk_closed *cf, const gsl_vector *r0);

/* r_t (length n) for step size eta (c = eta/n) at time t.  O(n^2).
 * GSL_EINVAL if t is negative, or not an integer in STEPS mode, or eta is
 * not finite; GSL_EFAILED before set_r0. */
int nzk_closed_residual(const nzk_closed *cf, double eta, double t, nzk_evolve_mode mode,
                        gsl_vector *r);
/* (1/2n) |r_t|^2 in O(n); same errors. */
int nzk_closed_loss(const nzk_closed *cf, double eta, double t, nzk_evolve_mode mode,
                    double *loss);

/* The discrete-step loss at every step t = 0..steps into loss[0..steps],
 * O(n) per step (no pow per mode).  Same errors as nzk_closed_loss. */
int nzk_closed_loss_curve(const nzk_closed *cf, double eta, size_t steps, double *loss);

/* Eigenvalues of K in ascending order, owned by cf: all n of them, or
 * for a factored kernel the m = p that can be non-zero (the other n - p
 * are exactly 0). */
const gsl_vector *nzk_closed_eigenvalues(const nzk_closed *cf);

/* --- drivers with recording (used by `nzk train` and the benchmarks) ---
 *
 * Both record like nzk_trainer_run: loss[s] = (1/2n)|f_s - y|^2 for
 * s = 0..steps (steps + 1 entries, may be NULL) and row k of F (nrec x n)
 * = f_{rec[k]} (rec ascending, <= steps).  Divergence: a loss that is not
 * finite or exceeds nzk_runaway_bound returns GSL_ERUNAWAY naming the
 * step, with the outputs holding what came before. */

/* Kernel GD from f0 (length n): O(n^2) per step. */
int nzk_kgd_run(const gsl_matrix *K, double eta, const gsl_vector *y, const gsl_vector *f0,
                size_t steps, double runaway_factor, double *loss, const size_t *rec,
                size_t nrec, gsl_matrix *F);

/* The closed form of cf (r0 set) with f_s = r_s + y: O(n) per loss,
 * O(n^2) per record.  In FLOW mode step s means time t = s. */
int nzk_closed_run(const nzk_closed *cf, double eta, nzk_evolve_mode mode, const gsl_vector *y,
                   size_t steps, double runaway_factor, double *loss, const size_t *rec,
                   size_t nrec, gsl_matrix *F);

/* The divergence bound shared by trainers and drivers:
 * factor * max(loss0, |y|^2 / (2n), DBL_MIN). */
double nzk_runaway_bound(double factor, double loss0, const double *y, size_t n);

/* GSL_EINVAL unless rec[0..nrec) is strictly increasing within [lo, hi];
 * GSL_EBADLEN unless F is nrec x n (F may be NULL when nrec == 0). */
int nzk_check_records(const size_t *rec, size_t nrec, size_t lo, size_t hi, const gsl_matrix *F,
                      size_t n);

/* --- T3b: second moment of the residual, plain Gaussian scheme ---------- */

typedef struct nzk_secmom nzk_secmom;

/* A = J Sigma J^T, n x n symmetric positive semi-definite (checked for
 * symmetry like nzk_closed_alloc).  One eigendecomposition. */
nzk_secmom *nzk_secmom_alloc(const gsl_matrix *A);
void nzk_secmom_free(nzk_secmom *sm);

/* Start from a deterministic r_0: R_0 = r_0 r_0^T, E r_0 = r_0, t = 0. */
int nzk_secmom_set_r0(nzk_secmom *sm, const gsl_vector *r0);
/* Apply `steps` steps of the recursion with c = eta / n (n = size of A);
 * O(n^2) per step. */
int nzk_secmom_advance(nzk_secmom *sm, double eta, size_t steps);
/* Steps applied since set_r0. */
size_t nzk_secmom_steps(const nzk_secmom *sm);

/* Current R = E[r_t r_t^T] (n x n), mean E r_t (length n) and per-entry
 * variance Var r_t,i = R_ii - (E r_t,i)^2 (length n); any output may be
 * NULL.  O(n^3) when R is asked for, O(n^2) otherwise. */
int nzk_secmom_get(const nzk_secmom *sm, gsl_matrix *R, gsl_vector *mean, gsl_vector *var);

/* E |r_t|^2 = tr R in O(n). */
double nzk_secmom_mean_square(const nzk_secmom *sm);

/* Largest eta with mean-square stability, eta* = n c* (see above), for
 * this A; GSL_EDOM if A has no positive eigenvalue (nothing moves). */
int nzk_secmom_stability_eta(const nzk_secmom *sm, double *eta_max);

/* The literal recursion on a dense R (n x n), O(n^3), for checking the
 * eigenbasis form: R <- R - c(AR + RA) + c^2 (tr(RA) A + 2 ARA).  work1
 * and work2 are n x n scratch. */
int nzk_secmom_step_dense(const gsl_matrix *A, double c, gsl_matrix *R, gsl_matrix *work1,
                          gsl_matrix *work2);

#endif
