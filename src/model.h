/* model.h: the interface every trainable model offers to the trainers.
 *
 * A model maps parameters theta (length p) and an input matrix X (n x d,
 * one example per row) to outputs f (length n).  ZO trainers use only
 * `forward`; FO trainers and kernels use `jacobian` (n x p, row i is
 * grad_theta f(x_i; theta)).  Implementations: the linear model
 * (model_linear.c) and MLPs (model_mlp.c).  A model may keep scratch
 * memory in `self`, so one model object is used by one thread at a time. */
#ifndef NZK_MODEL_H
#define NZK_MODEL_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>

typedef struct nzk_model nzk_model;

struct nzk_model {
  const char *name;
  size_t p; /* number of parameters */
  size_t d; /* input dimension */
  /* f = f(X; theta); returns 0 or a GSL status after NZK_FAIL. */
  int (*forward)(nzk_model *self, const double *theta, const gsl_matrix *X, double *f);
  /* J = d f / d theta at theta (J: n x p). */
  int (*jacobian)(nzk_model *self, const double *theta, const gsl_matrix *X, gsl_matrix *J);
  void (*free)(nzk_model *self);
};

static inline int nzk_model_forward(nzk_model *m, const double *theta, const gsl_matrix *X,
                                    double *f)
{
  return m->forward(m, theta, X, f);
}

static inline int nzk_model_jacobian(nzk_model *m, const double *theta, const gsl_matrix *X,
                                     gsl_matrix *J)
{
  return m->jacobian(m, theta, X, J);
}

static inline void nzk_model_free(nzk_model *m)
{
  if (m) m->free(m);
}

#endif
