/* model_linearized.c: f0 + Jh0 (theta - theta0) and Jh0 theta as
 * nzk_models (formulas and variants in model_linearized.h). */
#include "model_linearized.h"
#include "nzk_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nzk_blas.h"

typedef struct {
  nzk_model base; /* first, so an nzk_model * is an nzk_lin * */
  nzk_model *net; /* the linearized model (borrowed) */
  nzk_lin_variant variant;
  int normalise;
  gsl_matrix *X0, *J0; /* cached inputs and Jh0 */
  double *theta0;      /* length p */
  double *f0;          /* f(X0; theta0), length n */
  double *f_init;      /* f_lin(X0; theta0), length n */
  double *dtheta;      /* scratch, length p */
} nzk_lin;

static const char lin_name[] = "linearized";

int nzk_lin_variant_parse(const char *name, nzk_lin_variant *variant)
{
  if (strcmp(name, "offset") == 0) *variant = NZK_LIN_OFFSET;
  else if (strcmp(name, "paper") == 0) *variant = NZK_LIN_PAPER;
  else return NZK_FAIL(GSL_EINVAL, "unknown linearization '%s' (expected offset or paper)", name);
  return 0;
}

const char *nzk_lin_variant_name(nzk_lin_variant variant)
{
  return variant == NZK_LIN_OFFSET ? "offset" : variant == NZK_LIN_PAPER ? "paper" : "unknown";
}

/* Divide row i of J by its norm (GSL_EDOM for a zero row). */
static int normalise_rows(gsl_matrix *J)
{
  for (size_t i = 0; i < J->size1; i++) {
    double *g = gsl_matrix_ptr(J, i, 0);
    double norm = cblas_dnrm2((int)J->size2, g, 1);
    if (!(norm > 0) || !isfinite(norm))
      return NZK_FAIL(GSL_EDOM, "linearization: Jacobian row %zu has norm %g, cannot normalise",
                      i, norm);
    cblas_dscal((int)J->size2, 1.0 / norm, g, 1);
  }
  return 0;
}

/* Jh (n x p) and f at theta0 for inputs X, from the base model. */
static int tangent_at(nzk_lin *m, const gsl_matrix *X, gsl_matrix *Jh, double *f)
{
  int status = nzk_model_forward(m->net, m->theta0, X, f);
  if (!status) status = nzk_model_jacobian(m->net, m->theta0, X, Jh);
  if (!status && m->normalise) status = normalise_rows(Jh);
  return status;
}

/* f = f_start + Jh (theta - theta0) (offset) or Jh theta (paper). */
static void lin_apply(nzk_lin *m, const gsl_matrix *Jh, const double *f_base, const double *theta,
                      double *f)
{
  const size_t n = Jh->size1, p = Jh->size2;
  if (m->variant == NZK_LIN_PAPER) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)p, 1.0, Jh->data, (int)Jh->tda, theta, 1,
                0.0, f, 1);
    return;
  }
  for (size_t k = 0; k < p; k++) m->dtheta[k] = theta[k] - m->theta0[k];
  memcpy(f, f_base, n * sizeof *f);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)p, 1.0, Jh->data, (int)Jh->tda, m->dtheta,
              1, 1.0, f, 1);
}

/* 1 if X holds exactly the cached inputs. */
static int same_inputs(const nzk_lin *m, const gsl_matrix *X)
{
  if (X->size1 != m->X0->size1 || X->size2 != m->X0->size2) return 0;
  for (size_t i = 0; i < X->size1; i++)
    if (memcmp(gsl_matrix_const_ptr(X, i, 0), gsl_matrix_const_ptr(m->X0, i, 0),
               X->size2 * sizeof(double)) != 0)
      return 0;
  return 1;
}

static int check_inputs(const nzk_lin *m, const gsl_matrix *X)
{
  if (X->size2 != m->base.d)
    return NZK_FAIL(GSL_EBADLEN, "linearized model: X has %zu columns, expected %zu", X->size2,
                    m->base.d);
  return 0;
}

static int lin_forward(nzk_model *self, const double *theta, const gsl_matrix *X, double *f)
{
  nzk_lin *m = (nzk_lin *)self;
  int status = check_inputs(m, X);
  if (status || X->size1 == 0) return status;
  if (same_inputs(m, X)) {
    lin_apply(m, m->J0, m->f0, theta, f);
    return 0;
  }
  gsl_matrix *Jh = gsl_matrix_alloc(X->size1, self->p);
  double *fb = malloc(X->size1 * sizeof *fb);
  if (!Jh || !fb) status = NZK_FAIL(GSL_ENOMEM, "linearized model: out of memory for a %zu x %zu "
                                    "Jacobian", X->size1, self->p);
  if (!status) status = tangent_at(m, X, Jh, fb);
  if (!status) lin_apply(m, Jh, fb, theta, f);
  if (Jh) gsl_matrix_free(Jh);
  free(fb);
  return status;
}

static int lin_jacobian(nzk_model *self, const double *theta, const gsl_matrix *X, gsl_matrix *J)
{
  nzk_lin *m = (nzk_lin *)self;
  (void)theta; /* the Jacobian is constant */
  int status = check_inputs(m, X);
  if (status) return status;
  if (J->size1 != X->size1 || J->size2 != self->p)
    return NZK_FAIL(GSL_EBADLEN, "linearized model: J is %zu x %zu, expected %zu x %zu", J->size1,
                    J->size2, X->size1, self->p);
  if (X->size1 == 0) return 0;
  if (same_inputs(m, X)) return gsl_matrix_memcpy(J, m->J0);
  double *fb = malloc(X->size1 * sizeof *fb);
  if (!fb) return NZK_FAIL(GSL_ENOMEM, "linearized model: out of memory");
  status = tangent_at(m, X, J, fb);
  free(fb);
  return status;
}

static void lin_free(nzk_model *self)
{
  nzk_lin *m = (nzk_lin *)self;
  if (!m) return;
  if (m->X0) gsl_matrix_free(m->X0);
  if (m->J0) gsl_matrix_free(m->J0);
  free(m->theta0);
  free(m->f0);
  free(m->f_init);
  free(m->dtheta);
  free(m);
}

/* Allocate the caches of a linearization with n rows and p parameters. */
static nzk_lin *lin_alloc_storage(size_t n, size_t d, size_t p)
{
  nzk_lin *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->X0 = gsl_matrix_alloc(n, d);
  m->J0 = gsl_matrix_alloc(n, p);
  m->theta0 = malloc(p * sizeof *m->theta0);
  m->f0 = malloc(n * sizeof *m->f0);
  m->f_init = malloc(n * sizeof *m->f_init);
  m->dtheta = malloc(p * sizeof *m->dtheta);
  if (m->X0 && m->J0 && m->theta0 && m->f0 && m->f_init && m->dtheta) return m;
  lin_free(&m->base);
  return NULL;
}

nzk_model *nzk_linearized_alloc(nzk_model *base, const double *theta0, const gsl_matrix *X0,
                                nzk_lin_variant variant, int normalise_rows)
{
  const size_t n = X0->size1, p = base->p;
  if (X0->size2 != base->d || n == 0) {
    NZK_FAIL(GSL_EBADLEN, "linearization: X0 is %zu x %zu, the model takes %zu columns and at "
             "least one row is needed", n, X0->size2, base->d);
    return NULL;
  }
  if (variant != NZK_LIN_OFFSET && variant != NZK_LIN_PAPER) {
    NZK_FAIL(GSL_EINVAL, "linearization: unknown variant code %d", (int)variant);
    return NULL;
  }
  nzk_lin *m = lin_alloc_storage(n, X0->size2, p);
  if (!m) {
    NZK_FAIL(GSL_ENOMEM, "linearization: out of memory for a %zu x %zu Jacobian", n, p);
    return NULL;
  }
  m->base = (nzk_model){lin_name, p, base->d, lin_forward, lin_jacobian, lin_free};
  m->net = base;
  m->variant = variant;
  m->normalise = normalise_rows != 0;
  memcpy(m->theta0, theta0, p * sizeof *m->theta0);
  gsl_matrix_memcpy(m->X0, X0);
  if (tangent_at(m, m->X0, m->J0, m->f0)) {
    lin_free(&m->base);
    return NULL;
  }
  lin_apply(m, m->J0, m->f0, theta0, m->f_init);
  return &m->base;
}

const gsl_matrix *nzk_linearized_jacobian0(const nzk_model *m)
{
  return m && m->name == lin_name ? ((const nzk_lin *)m)->J0 : NULL;
}

const double *nzk_linearized_f_init(const nzk_model *m)
{
  return m && m->name == lin_name ? ((const nzk_lin *)m)->f_init : NULL;
}
