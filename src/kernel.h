/* kernel.h: the neural tangent kernel and the zeroth-order kernels of the
 * three ZO schemes (DESIGN.md section 2).
 *
 * J is the n x p Jacobian (row i is g_i = grad_theta f(x_i; theta)).  For
 * one draw, the kernel of each scheme is
 *   plain   K_ij = (z.g_i)(z.g_j)
 *   pair    K_ij = (z.g_i)(z.zeta)(zeta.g_j),  z, zeta independent
 *   shared  K_ij = (z.g_i)(z.g_j)|z|^2
 * and its expectation is J M J^T with M = M2 (plain), M2_z M2_zeta (pair),
 * M4 (shared).  The NTK is J J^T. */
#ifndef NZK_KERNEL_H
#define NZK_KERNEL_H

#include <stdint.h>
#include <gsl/gsl_matrix.h>

#include "direction.h"

typedef enum { NZK_SCHEME_PLAIN = 0, NZK_SCHEME_PAIR, NZK_SCHEME_SHARED } nzk_scheme;

const char *nzk_scheme_name(nzk_scheme scheme);
/* "plain", "pair" (also "independent") or "shared"; GSL_EINVAL otherwise. */
int nzk_scheme_parse(const char *name, nzk_scheme *scheme);

/* Highest entry moment the scheme's mean needs (2 or 4) and the one the
 * variance of a single draw needs (4 or 8). */
int nzk_scheme_mean_order(nzk_scheme scheme);
int nzk_scheme_variance_order(nzk_scheme scheme);

/* K = J J^T (n x n), one SYRK. */
int nzk_kernel_ntk(const gsl_matrix *J, gsl_matrix *K);

/* The expected kernel E K = J M J^T of `scheme` (DESIGN.md section 2).
 * z is the direction law; zeta the second law for the pair scheme (NULL
 * means the same law as z).  J: n x p, K: n x n.
 * Returns 0; GSL_EBADLEN if shapes disagree; GSL_EDOM (with a reason) if
 * the expectation does not exist, e.g. Student-t with nu <= 4 for the
 * shared scheme. */
int nzk_kernel_expected(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z,
                        const nzk_dir *zeta, gsl_matrix *K);

/* K = J M J^T for a moment matrix M (p x p, symbolic or dense). */
int nzk_kernel_sandwich(const gsl_matrix *J, const nzk_moment *M, gsl_matrix *K);

/* --- Monte Carlo accumulation (DESIGN.md section 7) ----------------------
 *
 * Every per-draw kernel of the three schemes has the form
 *   K_s = c_s v_s w_s^T,   v_s = J z_s,  w_s = J zeta_s (w_s = v_s unless pair)
 * with c_s = 1 (plain), |z_s|^2 (shared) or z_s.zeta_s (pair).  The
 * accumulator sums K_s and K_s o K_s (entry-wise squares) over batches of
 * draws with BLAS-3 calls (V^T diag(c) W, and the same on squared entries),
 * never forming a per-draw n x n matrix, and returns the mean and the
 * per-entry standard error of the mean.  It is used by the Monte Carlo
 * estimator and by the checks of kernels realised in training runs.
 * Implementation: kernel_nzk.c. */
typedef struct nzk_kacc nzk_kacc;

/* Accumulator for n x n kernels; `batch_max` bounds the rows of V and W
 * passed per call (scratch is sized for it).  NULL after NZK_FAIL. */
nzk_kacc *nzk_kacc_alloc(size_t n, size_t batch_max);
void nzk_kacc_free(nzk_kacc *acc);
void nzk_kacc_reset(nzk_kacc *acc);
size_t nzk_kacc_count(const nzk_kacc *acc);

/* Add B draws: V is B x n (row s is v_s), W is B x n or NULL (then w_s =
 * v_s), c has length B or is NULL (then c_s = 1). */
int nzk_kacc_add(nzk_kacc *acc, const gsl_matrix *V, const gsl_matrix *W, const double *c);

/* mean = (1/S) sum K_s; se = per-entry standard error of that mean,
 * sqrt((sum K^2 / S - mean^2) / (S - 1)).  Needs S >= 2.  Either output
 * may be NULL. */
int nzk_kacc_result(const nzk_kacc *acc, gsl_matrix *mean, gsl_matrix *se);

/* Monte Carlo estimate of the expected kernel E K of `scheme` from S draws
 * (DESIGN.md sections 2 and 7), with per-entry standard errors.
 * Draws are made in chunks of B: chunk k holds draws kB .. min((k+1)B, S)-1
 * and takes them from the stream nzk_stream_alloc_type(gsl_rng_taus2,
 * seed, k) (taus2 for speed, see kernel_nzk.c; for the pair
 * scheme the B directions z first, then the B directions zeta), so the
 * result depends on (seed, S, B) and never on the thread count.  Per chunk,
 * V = Z J^T is one GEMM (pair: [Z; Zeta] J^T) and the sums go through
 * nzk_kacc_add with c_s = 1, |z_s|^2 or z_s.zeta_s.
 * J: n x p; z (and zeta, NULL meaning the law of z) of dimension p; mean
 * and se: n x n, se may be NULL.  Uses O(n^2 + (n + p) B) memory.
 * It does not check that E K exists: for a law without the needed moment
 * the outputs are numbers with no meaning, and the caller decides the
 * verdict from nzk_dir_moment_exists (see nzk_check_mc_verdict).
 * Returns 0; GSL_EBADLEN if shapes disagree; GSL_EINVAL if S < 2 or
 * B == 0; GSL_ENOMEM. */
int nzk_kernel_mc(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z, const nzk_dir *zeta,
                  size_t n_draws, size_t batch, uint64_t seed, gsl_matrix *mean, gsl_matrix *se);

#endif
