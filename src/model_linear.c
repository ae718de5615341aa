/* model_linear.c: f(X; theta) = X theta and J = X (see model_linear.h). */
#include "model_linear.h"
#include "nzk_error.h"

#include <stdlib.h>
#include "nzk_blas.h"

static int linear_forward(nzk_model *self, const double *theta, const gsl_matrix *X, double *f)
{
  if (X->size2 != self->d)
    return NZK_FAIL(GSL_EBADLEN, "linear model: X has %zu columns, expected d = %zu", X->size2,
                    self->d);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)X->size1, (int)X->size2, 1.0, X->data,
              (int)X->tda, theta, 1, 0.0, f, 1);
  return 0;
}

static int linear_jacobian(nzk_model *self, const double *theta, const gsl_matrix *X,
                           gsl_matrix *J)
{
  (void)theta; /* J = X whatever theta is */
  if (X->size2 != self->d || J->size1 != X->size1 || J->size2 != self->d)
    return NZK_FAIL(GSL_EBADLEN, "linear model: X is %zu x %zu, J is %zu x %zu, d = %zu",
                    X->size1, X->size2, J->size1, J->size2, self->d);
  gsl_matrix_memcpy(J, X);
  return 0;
}

static void linear_free(nzk_model *self) { free(self); }

nzk_model *nzk_model_linear_alloc(size_t d)
{
  if (d == 0) {
    NZK_FAIL(GSL_EINVAL, "linear model: d must be positive");
    return NULL;
  }
  nzk_model *m = calloc(1, sizeof *m);
  if (!m) {
    NZK_FAIL(GSL_ENOMEM, "out of memory allocating a linear model");
    return NULL;
  }
  m->name = "linear";
  m->p = d;
  m->d = d;
  m->forward = linear_forward;
  m->jacobian = linear_jacobian;
  m->free = linear_free;
  return m;
}
