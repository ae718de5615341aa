/* model_linear.h: the linear model f(x; theta) = x . theta as an nzk_model
 * (DESIGN.md section 1 and T2).
 *
 * p = d: one parameter per feature.  forward is one GEMV (f = X theta),
 * jacobian is X itself (constant in theta), so the NTK is X X^T and every
 * ZO scheme moves f exactly by f <- f - (eta/n) K_t r (DESIGN.md section 2).
 * Features are whatever X holds: the synthetic sphere points of
 * DESIGN.md section 5, CSV columns, or pixels. */
#ifndef NZK_MODEL_LINEAR_H
#define NZK_MODEL_LINEAR_H

#include "model.h"

/* A linear model on d features.  Free with nzk_model_free.  NULL (after
 * NZK_FAIL) if d == 0 or memory runs out.  forward and jacobian return
 * GSL_EBADLEN when X does not have d columns or the outputs have the wrong
 * shape; they keep no scratch, so one object may serve several threads. */
nzk_model *nzk_model_linear_alloc(size_t d);

#endif
