/* model_linearized.c: f0 + Jh0 (theta - theta0) and Jh0 theta as
 * nzk_models (formulas, variants and storage in model_linearized.h). */
#include "model_linearized.h"
#include "model_mlp.h"
#include "nzk_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nzk_blas.h"

/* How Jh v is formed for one set of inputs: through an MLP tangent, or
 * with a stored (already normalised) Jacobian. */
typedef struct {
  nzk_mlp_tangent *tangent; /* MLP base, else NULL */
  gsl_matrix *J;            /* other bases: Jh (n x p), else NULL */
  double *f0;               /* f(X; theta0), length n */
  double *inv_norm;         /* 1/|g_i| when rows are normalised, else NULL */
} lin_point;

typedef struct {
  nzk_model base; /* first, so an nzk_model * is an nzk_lin * */
  nzk_model *net; /* the linearized model (borrowed) */
  nzk_lin_variant variant;
  int normalise;
  gsl_matrix *X0;  /* cached inputs */
  lin_point at0;   /* the tangent on X0 */
  double *theta0;  /* length p */
  double *f_init;  /* f_lin(X0; theta0), length n */
  double *dtheta;  /* scratch, length p */
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

/* --- one linearization point -------------------------------------------- */

static void point_free(lin_point *pt)
{
  nzk_mlp_tangent_free(pt->tangent);
  if (pt->J) gsl_matrix_free(pt->J);
  free(pt->f0);
  free(pt->inv_norm);
  memset(pt, 0, sizeof *pt);
}

/* inv[i] = 1/|row i of J|; GSL_EDOM for a zero or non-finite norm. */
static int row_inverse_norms(const gsl_matrix *J, double *inv)
{
  for (size_t i = 0; i < J->size1; i++) {
    double norm = cblas_dnrm2((int)J->size2, gsl_matrix_const_ptr(J, i, 0), 1);
    if (!(norm > 0) || !isfinite(norm))
      return NZK_FAIL(GSL_EDOM, "linearization: Jacobian row %zu has norm %g, cannot normalise",
                      i, norm);
    inv[i] = 1.0 / norm;
  }
  return 0;
}

/* Build the point of `net` at theta0 on X (n >= 1 rows): a tangent for an
 * MLP, else the stored Jacobian; row norms if normalising. */
static int point_init(lin_point *pt, nzk_model *net, const double *theta0, const gsl_matrix *X,
                      int normalise)
{
  const size_t n = X->size1, p = net->p;
  const int mlp = nzk_mlp_spec_of(net) != NULL;
  gsl_matrix *J = NULL;
  int status = 0;
  memset(pt, 0, sizeof *pt);
  pt->f0 = malloc(n * sizeof *pt->f0);
  if (normalise) pt->inv_norm = malloc(n * sizeof *pt->inv_norm);
  if (!mlp || normalise) J = gsl_matrix_alloc(n, p);
  if (!pt->f0 || (normalise && !pt->inv_norm) || ((!mlp || normalise) && !J))
    status = NZK_FAIL(GSL_ENOMEM, "linearization: out of memory for a %zu x %zu Jacobian", n, p);
  if (!status) status = nzk_model_forward(net, theta0, X, pt->f0);
  if (!status && J) status = nzk_model_jacobian(net, theta0, X, J);
  if (!status && normalise) status = row_inverse_norms(J, pt->inv_norm);
  if (!status && mlp) {
    pt->tangent = nzk_mlp_tangent_alloc(net, theta0, X);
    if (!pt->tangent) status = nzk_error_code();
  }
  if (!status && !mlp) {
    for (size_t i = 0; i < n && normalise; i++)
      cblas_dscal((int)p, pt->inv_norm[i], gsl_matrix_ptr(J, i, 0), 1);
    pt->J = J;
    J = NULL;
  }
  if (J) gsl_matrix_free(J);
  if (status) point_free(pt);
  return status;
}

/* out (length n) = Jh v at the point. */
static void point_apply(const lin_point *pt, size_t n, size_t p, const double *v, double *out)
{
  if (pt->J) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)p, 1.0, pt->J->data, (int)pt->J->tda, v,
                1, 0.0, out, 1);
    return;
  }
  nzk_mlp_tangent_apply(pt->tangent, v, out);
  for (size_t i = 0; i < n && pt->inv_norm; i++) out[i] *= pt->inv_norm[i];
}

/* f = f0 + Jh (theta - theta0) (offset) or Jh theta (paper). */
static void lin_eval(nzk_lin *m, const lin_point *pt, size_t n, const double *theta, double *f)
{
  const size_t p = m->base.p;
  if (m->variant == NZK_LIN_PAPER) {
    point_apply(pt, n, p, theta, f);
    return;
  }
  for (size_t k = 0; k < p; k++) m->dtheta[k] = theta[k] - m->theta0[k];
  point_apply(pt, n, p, m->dtheta, f);
  for (size_t i = 0; i < n; i++) f[i] += pt->f0[i];
}

/* --- the model ------------------------------------------------------------ */

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
    lin_eval(m, &m->at0, X->size1, theta, f);
    return 0;
  }
  lin_point pt;
  status = point_init(&pt, m->net, m->theta0, X, m->normalise);
  if (status) return status;
  lin_eval(m, &pt, X->size1, theta, f);
  point_free(&pt);
  return 0;
}

/* J = Jh at theta0 on X: the stored one, or the base's Jacobian at theta0
 * with rows scaled. */
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
  const int same = same_inputs(m, X);
  if (same && m->at0.J) return gsl_matrix_memcpy(J, m->at0.J);
  status = nzk_model_jacobian(m->net, m->theta0, X, J);
  if (status || !m->normalise) return status;
  if (same) {
    for (size_t i = 0; i < X->size1; i++)
      cblas_dscal((int)self->p, m->at0.inv_norm[i], gsl_matrix_ptr(J, i, 0), 1);
    return 0;
  }
  double *inv = malloc(X->size1 * sizeof *inv);
  if (!inv) return NZK_FAIL(GSL_ENOMEM, "linearized model: out of memory");
  status = row_inverse_norms(J, inv);
  for (size_t i = 0; i < X->size1 && !status; i++)
    cblas_dscal((int)self->p, inv[i], gsl_matrix_ptr(J, i, 0), 1);
  free(inv);
  return status;
}

static void lin_free(nzk_model *self)
{
  nzk_lin *m = (nzk_lin *)self;
  if (!m) return;
  point_free(&m->at0);
  if (m->X0) gsl_matrix_free(m->X0);
  free(m->theta0);
  free(m->f_init);
  free(m->dtheta);
  free(m);
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
  nzk_lin *m = calloc(1, sizeof *m);
  if (m) {
    m->X0 = gsl_matrix_alloc(n, X0->size2);
    m->theta0 = malloc(p * sizeof *m->theta0);
    m->f_init = malloc(n * sizeof *m->f_init);
    m->dtheta = malloc(p * sizeof *m->dtheta);
  }
  if (!m || !m->X0 || !m->theta0 || !m->f_init || !m->dtheta) {
    NZK_FAIL(GSL_ENOMEM, "linearization: out of memory (n = %zu, p = %zu)", n, p);
    if (m) lin_free(&m->base);
    return NULL;
  }
  m->base = (nzk_model){lin_name, p, base->d, lin_forward, lin_jacobian, lin_free};
  m->net = base;
  m->variant = variant;
  m->normalise = normalise_rows != 0;
  memcpy(m->theta0, theta0, p * sizeof *m->theta0);
  gsl_matrix_memcpy(m->X0, X0);
  if (point_init(&m->at0, base, m->theta0, m->X0, m->normalise)) {
    lin_free(&m->base);
    return NULL;
  }
  lin_eval(m, &m->at0, n, theta0, m->f_init);
  return &m->base;
}

const double *nzk_linearized_f_init(const nzk_model *m)
{
  return m && m->name == lin_name ? ((const nzk_lin *)m)->f_init : NULL;
}

int nzk_linearized_stores_jacobian(const nzk_model *m)
{
  if (!m || m->name != lin_name) return -1;
  return ((const nzk_lin *)m)->at0.J != NULL;
}
