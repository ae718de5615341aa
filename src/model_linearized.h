/* model_linearized.h: the linearization of any nzk_model around theta0 as
 * an nzk_model (DESIGN.md section 3, T4).
 *
 * With J0 = J(X0; theta0) (n x p) and f0 = f(X0; theta0), two variants:
 *   offset  f_lin(theta) = f0 + Jh0 (theta - theta0)   (the Taylor model)
 *   paper   f_lin(theta) = Jh0 theta                   (the authors' code)
 * where Jh0 = J0, or, with rows normalised, Jh0 = D^-1 J0 with
 * D = diag(|g_i|): row i is g_i / |g_i| (the FFN synthetic experiment of
 * DESIGN.md section 5).  Both variants have the constant Jacobian Jh0, so
 * they have the same NTK and NZK and their residuals obey the same linear
 * recursion; they differ in the initial function only:
 *   offset: f_lin(theta0) = f(x; theta0), the network's own outputs;
 *   paper:  f_lin(theta0) = Jh0 theta0, which is not the network's output.
 *     Example: a ReLU MLP with zero biases is positively homogeneous of
 *     degree 1 in each layer's weights, so J0 theta0 = L f(theta0) for L
 *     layers (Euler's identity); with biases the two differ otherwise.
 *   With normalised rows the offset variant is a rescaled tangent model
 *   that still starts at f(x; theta0).
 * The authors normalise by |g_i| + 1e-8; we divide by |g_i| and fail with
 * GSL_EDOM on a zero row (a network whose output does not depend on its
 * parameters at x_i cannot be normalised).
 *
 * Storage.  When the base model is an MLP (model_mlp.h), products Jh0 v
 * come from its tangent (forward mode, twice the cost of a forward pass,
 * memory O(n sum of widths)) and J0 is never stored: a 2-1024-1024-1
 * network has p = 1.05e6, and J0 on n = 200 inputs would take 1.7 GB.  The
 * Jacobian is then recomputed at theta0 whenever it is asked for (FO
 * training asks at every step).  Any other base model gets J0 cached (n p
 * doubles) and forward is one GEMV.
 * Inputs.  forward and jacobian on the inputs X0 given at allocation (same
 * shape and entries) use the cache; on other inputs they linearize afresh
 * at theta0 (one tangent or one Jacobian per call), which is correct but
 * slower: that path is for evaluation, not training.  Row normalisation
 * on other inputs uses those inputs' own row norms. */
#ifndef NZK_MODEL_LINEARIZED_H
#define NZK_MODEL_LINEARIZED_H

#include <gsl/gsl_matrix.h>

#include "model.h"

typedef enum { NZK_LIN_OFFSET = 0, NZK_LIN_PAPER } nzk_lin_variant;

/* "offset" / "paper"; GSL_EINVAL otherwise. */
int nzk_lin_variant_parse(const char *name, nzk_lin_variant *variant);
const char *nzk_lin_variant_name(nzk_lin_variant variant);

/* The linearization of `base` at theta0 (length base->p, copied) on the
 * inputs X0 (n x d, copied).  base is borrowed: it must outlive the new
 * model and is used by it on inputs other than X0.  normalise_rows != 0
 * selects Jh0 = D^-1 J0.  Returns NULL after NZK_FAIL: the base model's
 * status, GSL_EBADLEN (X0 does not have base->d columns), GSL_EDOM (a
 * zero Jacobian row with normalisation), GSL_ENOMEM.  The model's name is
 * "linearized".  Allocation evaluates J(X0; theta0) once (n p doubles,
 * freed again when the base is an MLP). */
nzk_model *nzk_linearized_alloc(nzk_model *base, const double *theta0, const gsl_matrix *X0,
                                nzk_lin_variant variant, int normalise_rows);

/* The initial outputs f_lin(X0; theta0) (length n: f0 for offset, Jh0
 * theta0 for paper); NULL if m is not a linearized model.  Owned by m. */
const double *nzk_linearized_f_init(const nzk_model *m);

/* 1 if m keeps a stored J0 (base not an MLP), 0 if it uses the MLP tangent,
 * -1 if m is not a linearized model. */
int nzk_linearized_stores_jacobian(const nzk_model *m);

#endif
