/* network_kernel.c: the NTK and expected NZK of a model at any theta, and
 * the two T4 measures (network.h, DESIGN.md section 3). */
#include "network.h"
#include "nzk_error.h"

#include <math.h>
#include <string.h>

static const char *method_names[NZK_N_METHODS] = {"fo", "plain", "pair", "shared"};

const char *nzk_method_name(nzk_method method)
{
  return (unsigned)method < NZK_N_METHODS ? method_names[method] : "unknown";
}

int nzk_method_parse(const char *name, nzk_method *method)
{
  for (int k = 0; k < NZK_N_METHODS; k++)
    if (strcmp(name, method_names[k]) == 0) {
      *method = (nzk_method)k;
      return 0;
    }
  if (strcmp(name, "independent") == 0) {
    *method = NZK_METHOD_PAIR;
    return 0;
  }
  return NZK_FAIL(GSL_EINVAL, "unknown method '%s' (expected fo, plain, pair or shared)", name);
}

nzk_scheme nzk_method_scheme(nzk_method method)
{
  return method == NZK_METHOD_PAIR ? NZK_SCHEME_PAIR
         : method == NZK_METHOD_SHARED ? NZK_SCHEME_SHARED
                                       : NZK_SCHEME_PLAIN;
}

int nzk_network_kernel(nzk_model *m, const double *theta, const gsl_matrix *X, nzk_method method,
                       const nzk_dir *z, const nzk_dir *zeta, gsl_matrix *J_work, gsl_matrix *K)
{
  const size_t n = X->size1, p = m->p;
  if ((unsigned)method >= NZK_N_METHODS)
    return NZK_FAIL(GSL_EINVAL, "network kernel: unknown method code %d", (int)method);
  if (method != NZK_METHOD_FO && !z)
    return NZK_FAIL(GSL_EINVAL, "network kernel: the %s scheme needs a direction law",
                    nzk_method_name(method));
  if (J_work && (J_work->size1 != n || J_work->size2 != p))
    return NZK_FAIL(GSL_EBADLEN, "network kernel: workspace is %zu x %zu, expected %zu x %zu",
                    J_work->size1, J_work->size2, n, p);
  gsl_matrix *J = J_work ? J_work : gsl_matrix_alloc(n, p);
  if (!J) return NZK_FAIL(GSL_ENOMEM, "network kernel: out of memory for a %zu x %zu Jacobian",
                          n, p);
  int status = nzk_model_jacobian(m, theta, X, J);
  if (!status) {
    if (method == NZK_METHOD_FO) status = nzk_kernel_ntk(J, K);
    else status = nzk_kernel_expected(nzk_method_scheme(method), J, z, zeta, K);
  }
  if (!J_work) gsl_matrix_free(J);
  return status;
}

int nzk_network_ntk_trace(nzk_model *m, const double *theta, const gsl_matrix *X,
                          gsl_matrix *J_work, double *trace)
{
  const size_t n = X->size1, p = m->p;
  if (J_work && (J_work->size1 != n || J_work->size2 != p))
    return NZK_FAIL(GSL_EBADLEN, "NTK trace: workspace is %zu x %zu, expected %zu x %zu",
                    J_work->size1, J_work->size2, n, p);
  gsl_matrix *J = J_work ? J_work : gsl_matrix_alloc(n, p);
  if (!J) return NZK_FAIL(GSL_ENOMEM, "NTK trace: out of memory for a %zu x %zu Jacobian", n, p);
  int status = nzk_model_jacobian(m, theta, X, J);
  double s = 0;
  for (size_t i = 0; i < n && !status; i++) {
    const double *g = gsl_matrix_const_ptr(J, i, 0);
    for (size_t k = 0; k < p; k++) s += g[k] * g[k];
  }
  *trace = s;
  if (!J_work) gsl_matrix_free(J);
  return status;
}

double nzk_kernel_rel_change(const gsl_matrix *K0, const gsl_matrix *K1)
{
  if (K0->size1 != K1->size1 || K0->size2 != K1->size2) return NAN;
  double num = 0, den = 0;
  for (size_t i = 0; i < K0->size1; i++)
    for (size_t j = 0; j < K0->size2; j++) {
      double a = gsl_matrix_get(K0, i, j), b = gsl_matrix_get(K1, i, j);
      num += (b - a) * (b - a);
      den += a * a;
    }
  return den > 0 ? sqrt(num / den) : NAN;
}

double nzk_function_gap(const double *f_full, const double *f_lin, const double *y, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (f_full[i] - f_lin[i]) * (f_full[i] - f_lin[i]);
    den += (f_lin[i] - y[i]) * (f_lin[i] - y[i]);
  }
  return den > 0 ? sqrt(num / den) : NAN;
}
