/* network.h: kernels and measurements of trained networks, full versus
 * linearized (DESIGN.md section 3, T2 contrast and T4).
 *
 * A training method is FO or one ZO scheme.  Its kernel at theta is the
 * NTK J J^T for FO and the expected NZK J M J^T for a ZO scheme
 * (kernel.h), J = J(X; theta) the n x p Jacobian.  The two T4 measures:
 *   function gap   |f_full - f_lin| / |f_lin - y|            (Euclidean)
 *   kernel drift   |Kbar_t - Kbar_0|_F / |Kbar_0|_F
 * where f_full and f_lin are the outputs on the training inputs after
 * the same number of steps of the same method (ZO runs share their
 * direction streams, so the two see the same draws), and Kbar_t is the
 * method's kernel at the full network's theta_t. */
#ifndef NZK_NETWORK_H
#define NZK_NETWORK_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>

#include "direction.h"
#include "kernel.h"
#include "model.h"

typedef enum {
  NZK_METHOD_FO = 0,
  NZK_METHOD_PLAIN,
  NZK_METHOD_PAIR,
  NZK_METHOD_SHARED
} nzk_method;

#define NZK_N_METHODS 4

/* "fo", "plain", "pair" (or "independent"), "shared"; GSL_EINVAL else. */
int nzk_method_parse(const char *name, nzk_method *method);
const char *nzk_method_name(nzk_method method);
/* The ZO scheme of a ZO method (plain for FO, which has none). */
nzk_scheme nzk_method_scheme(nzk_method method);

/* K (n x n) = the method's kernel at theta: J J^T (FO) or the expected
 * kernel of the scheme with direction laws z, zeta (zeta NULL = law of z;
 * both ignored for FO).  J_work is an n x p workspace that receives
 * J(X; theta), or NULL to allocate one for the call (n p doubles).
 * Returns 0, the model's status, GSL_EBADLEN on shapes, GSL_EDOM if the
 * expectation does not exist, GSL_ENOMEM. */
int nzk_network_kernel(nzk_model *m, const double *theta, const gsl_matrix *X, nzk_method method,
                       const nzk_dir *z, const nzk_dir *zeta, gsl_matrix *J_work, gsl_matrix *K);

/* |K1 - K0|_F / |K0|_F (NaN if |K0|_F = 0 or the shapes differ). */
double nzk_kernel_rel_change(const gsl_matrix *K0, const gsl_matrix *K1);

/* |f_full - f_lin| / |f_lin - y| over n entries (NaN if f_lin = y). */
double nzk_function_gap(const double *f_full, const double *f_lin, const double *y, size_t n);

#endif
