/* fdcheck.h: central finite-difference Jacobians of any nzk_model, shared
 * by the tests of model Jacobians (header-only, static functions).
 *
 * Column k of the estimate is (f(theta + h e_k) - f(theta - h e_k)) / 2h.
 * Its error is h^2 |f'''| / 6 (truncation) plus about eps |f| / h
 * (rounding).  For a ReLU network f is affine in any single parameter
 * inside one activation region (each parameter enters the product chain
 * once), so the truncation term vanishes there; a step that crosses a
 * ReLU kink is detected because the two one-sided differences then
 * disagree, and that column is reported as skipped (piecewise = 1). */
#ifndef NZK_FDCHECK_H
#define NZK_FDCHECK_H

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_matrix.h>

#include "model.h"
#include "vtest.h"

typedef struct {
  double rel_err;  /* max_{i,k} |J - Jfd| / max_{i,k} |J| over compared columns */
  size_t n_skipped; /* columns skipped because a kink was crossed */
  size_t n_compared;
} fd_result;

/* Compare J (n x p) with central differences of m at theta.  Returns -1
 * on a model failure. */
static int fd_compare(nzk_model *m, const double *theta, const gsl_matrix *X, const gsl_matrix *J,
                      double h, int piecewise, fd_result *res)
{
  const size_t n = X->size1, p = m->p;
  double *t = malloc(p * sizeof *t);
  double *fp = malloc(n * sizeof *fp), *fm = malloc(n * sizeof *fm), *f0 = malloc(n * sizeof *f0);
  double err = 0, scale = 0;
  int status = nzk_model_forward(m, theta, X, f0);
  memcpy(t, theta, p * sizeof *t);
  res->n_skipped = res->n_compared = 0;
  for (size_t k = 0; k < p && !status; k++) {
    t[k] = theta[k] + h;
    status |= nzk_model_forward(m, t, X, fp);
    t[k] = theta[k] - h;
    status |= nzk_model_forward(m, t, X, fm);
    t[k] = theta[k];
    int kink = 0;
    for (size_t i = 0; i < n && piecewise; i++) {
      double right = (fp[i] - f0[i]) / h, left = (f0[i] - fm[i]) / h;
      double tol = 64.0 * DBL_EPSILON * (fabs(f0[i]) + fabs(fp[i]) + fabs(fm[i]) + 1.0) / h;
      if (fabs(right - left) > tol) kink = 1;
    }
    if (kink) {
      res->n_skipped++;
      continue;
    }
    res->n_compared++;
    for (size_t i = 0; i < n; i++) {
      double fd = (fp[i] - fm[i]) / (2.0 * h), g = gsl_matrix_get(J, i, k);
      double d = fabs(g - fd);
      err = vt_nan_max(err, d); /* a NaN sticks, so it fails the check */
      scale = vt_nan_max(scale, fabs(g));
    }
  }
  res->rel_err = scale > 0 ? err / scale : err;
  free(t);
  free(fp);
  free(fm);
  free(f0);
  return status ? -1 : 0;
}

#endif
