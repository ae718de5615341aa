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

#endif
