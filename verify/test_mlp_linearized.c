/* test_mlp_linearized.c: the linearized network of model_linearized.h and
 * the network kernels of network.h.
 *
 *  - offset variant: f_lin(theta0) = f(theta0) exactly; f_lin is affine
 *    with Jacobian J0 (checked against f0 + J0 delta and by finite
 *    differences); it is the first-order Taylor model: the gap to the full
 *    tanh network at theta0 + t delta falls as t^2 (ratio 4 when t
 *    halves).  Negative control: the paper variant J0 theta is not a
 *    Taylor model, its gap does not fall.
 *  - paper variant: a ReLU MLP with zero biases obeys Euler's identity
 *    J0 theta0 = L f(theta0) (exact), so the variant's initial function is
 *    L times the network's.
 *  - normalised rows have unit norm (NTK diagonal = 1).
 *  - inputs other than X0 are linearized afresh.
 *  - the two storage paths (MLP tangent, stored Jacobian for any other
 *    model; the latter reached through a wrapper model) agree for both
 *    variants, with and without normalised rows, on X0 and other inputs.
 *  - kernels: NTK = J J^T; shared expected NZK with N(0, s^2) entries =
 *    (p+2) s^4 NTK; the linearized model's kernels equal the network's at
 *    theta0 and do not move with theta; rel. change and gap formulas. */
#include "fdcheck.h"
#include "model_linearized.h"
#include "model_mlp.h"
#include "network.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_blas.h>

typedef struct {
  nzk_mlp_spec spec;
  nzk_model *net;
  gsl_matrix *X;
  double *theta0;
  gsl_rng *r;
} fixture;

static fixture make_fixture(const char *widths, nzk_activation act, nzk_parametrisation param,
                            size_t n, uint64_t seed)
{
  fixture fx;
  memset(&fx.spec, 0, sizeof fx.spec);
  nzk_mlp_widths_parse(widths, &fx.spec);
  fx.spec.act = act;
  fx.spec.param = param;
  fx.net = nzk_mlp_alloc(&fx.spec);
  fx.r = nzk_stream_alloc(seed, 7);
  fx.X = gsl_matrix_alloc(n, fx.spec.widths[0]);
  for (size_t k = 0; k < n * fx.spec.widths[0]; k++) fx.X->data[k] = gsl_rng_uniform(fx.r) - 0.37;
  fx.theta0 = malloc(fx.net->p * sizeof(double));
  nzk_mlp_init(&fx.spec, fx.r, fx.theta0);
  return fx;
}

static void free_fixture(fixture *fx)
{
  nzk_model_free(fx->net);
  gsl_matrix_free(fx->X);
  free(fx->theta0);
  gsl_rng_free(fx->r);
}

/* Offset variant: value at theta0, affine form, FD Jacobian. */
static void check_offset_affine(uint64_t seed)
{
  fixture fx = make_fixture("3,8,6,1", NZK_ACT_TANH, NZK_PARAM_NTK, 9, seed);
  const size_t n = 9, p = fx.net->p;
  nzk_model *lin = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_OFFSET, 0);
  gsl_matrix *J0 = gsl_matrix_alloc(n, p);
  double f0[9], fl[9], want[9], *th = malloc(p * sizeof *th), *delta = malloc(p * sizeof *delta);
  nzk_model_forward(fx.net, fx.theta0, fx.X, f0);
  nzk_model_jacobian(fx.net, fx.theta0, fx.X, J0);
  nzk_model_forward(lin, fx.theta0, fx.X, fl);
  vt_abs(vt_max_abs_diff(fl, f0, n), 0.0, 0.0, "offset: f_lin(theta0) = f(theta0) exactly");

  for (size_t k = 0; k < p; k++) {
    delta[k] = 0.3 * (gsl_rng_uniform(fx.r) - 0.5);
    th[k] = fx.theta0[k] + delta[k];
  }
  memcpy(want, f0, sizeof want);
  gsl_vector_view dv = gsl_vector_view_array(delta, p), wv = gsl_vector_view_array(want, n);
  gsl_blas_dgemv(CblasNoTrans, 1.0, J0, &dv.vector, 1.0, &wv.vector);
  nzk_model_forward(lin, th, fx.X, fl);
  vt_abs(vt_max_abs_diff(fl, want, n), 0.0,
         8.0 * (double)p * DBL_EPSILON * (vt_max_abs(want, n) + 1),
         "offset: f_lin(theta0 + delta) = f0 + J0 delta (p=%zu)", p);

  gsl_matrix *Jl = gsl_matrix_alloc(n, p);
  nzk_model_jacobian(lin, th, fx.X, Jl);
  gsl_matrix_sub(Jl, J0);
  vt_abs(gsl_matrix_max(Jl) - gsl_matrix_min(Jl), 0.0, 0.0, "linearized Jacobian = J0 at "
         "theta != theta0");
  nzk_model_jacobian(lin, th, fx.X, Jl);
  fd_result res;
  fd_compare(lin, th, fx.X, Jl, 1e-3, 0, &res);
  vt_ok(res.rel_err < 1e-9, "linearized Jacobian = central FD (affine, so rounding only): "
        "rel. error %.3g < 1e-9", res.rel_err);
  free(th);
  free(delta);
  gsl_matrix_free(J0);
  gsl_matrix_free(Jl);
  nzk_model_free(lin);
  free_fixture(&fx);
}

/* |f_full - f_lin| at theta0 + t delta for a tanh network. */
static double taylor_gap(nzk_model *net, nzk_model *lin, const fixture *fx, const double *delta,
                         double t)
{
  const size_t p = net->p, n = fx->X->size1;
  double *th = malloc(p * sizeof *th), ff[16], fl[16], s = 0;
  for (size_t k = 0; k < p; k++) th[k] = fx->theta0[k] + t * delta[k];
  nzk_model_forward(net, th, fx->X, ff);
  nzk_model_forward(lin, th, fx->X, fl);
  for (size_t i = 0; i < n; i++) s += (ff[i] - fl[i]) * (ff[i] - fl[i]);
  free(th);
  return sqrt(s);
}

/* Second-order agreement of the Taylor model; the paper variant as the
 * negative control. */
static void check_taylor_order(uint64_t seed)
{
  fixture fx = make_fixture("2,10,7,1", NZK_ACT_TANH, NZK_PARAM_STANDARD, 12, seed);
  const size_t p = fx.net->p;
  double *delta = malloc(p * sizeof *delta);
  for (size_t k = 0; k < p; k++) delta[k] = gsl_rng_uniform(fx.r) - 0.5;
  nzk_model *off = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_OFFSET, 0);
  nzk_model *pap = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_PAPER, 0);
  /* Ratio of gaps at t and t/2 is 4 + O(t) for a second-order remainder;
   * t = 1e-3 keeps the O(t) term and rounding (1e-16 / 1e-6) small. */
  double g1 = taylor_gap(fx.net, off, &fx, delta, 1e-3);
  double g2 = taylor_gap(fx.net, off, &fx, delta, 5e-4);
  vt_abs(g1 / g2, 4.0, 0.05, "offset variant is the Taylor model: gap ratio for t -> t/2 "
         "(gaps %.3g, %.3g)", g1, g2);
  g1 = taylor_gap(fx.net, pap, &fx, delta, 1e-3);
  g2 = taylor_gap(fx.net, pap, &fx, delta, 5e-4);
  vt_ok(fabs(g1 / g2 - 4.0) > 0.5, "negative control: the paper variant J0 theta is not a "
        "Taylor model (gap ratio %.3g, far from 4)", g1 / g2);
  free(delta);
  nzk_model_free(off);
  nzk_model_free(pap);
  free_fixture(&fx);
}

/* Paper variant, ReLU, zero biases: f_init = J0 theta0 = L f(theta0). */
static void check_paper_euler(uint64_t seed)
{
  fixture fx = make_fixture("4,9,7,5,1", NZK_ACT_RELU, NZK_PARAM_NTK, 8, seed);
  const size_t L = fx.spec.n_layers, n = 8;
  for (size_t l = 1; l <= L; l++) {
    size_t w, b;
    nzk_mlp_layer_offsets(&fx.spec, l, &w, &b);
    for (size_t k = 0; k < fx.spec.widths[l]; k++) fx.theta0[b + k] = 0.0;
  }
  nzk_model *pap = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_PAPER, 0);
  double f0[8], want[8], fl[8];
  nzk_model_forward(fx.net, fx.theta0, fx.X, f0);
  for (size_t i = 0; i < n; i++) want[i] = (double)L * f0[i];
  nzk_model_forward(pap, fx.theta0, fx.X, fl);
  double tol = 16.0 * (double)pap->p * DBL_EPSILON * (vt_max_abs(want, n) + 1);
  vt_abs(vt_max_abs_diff(fl, want, n), 0.0, tol, "paper variant, bias-free ReLU: J0 theta0 = L "
         "f(theta0) with L = %zu (Euler)", L);
  vt_abs(vt_max_abs_diff(nzk_linearized_f_init(pap), want, n), 0.0, tol,
         "nzk_linearized_f_init reports J0 theta0");
  vt_ok(vt_max_abs_diff(fl, f0, n) > 0.1 * vt_max_abs(f0, n), "paper variant's initial function is "
        "not the network's (max diff %.3g)", vt_max_abs_diff(fl, f0, n));
  nzk_model_free(pap);
  free_fixture(&fx);
}

/* Normalised rows: unit norms, and the kernels of the normalised model. */
static void check_normalised(uint64_t seed)
{
  fixture fx = make_fixture("2,5,5,1", NZK_ACT_RELU, NZK_PARAM_STANDARD, 15, seed);
  nzk_model *lin = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_PAPER, 1);
  gsl_matrix *K = gsl_matrix_alloc(15, 15);
  nzk_network_kernel(lin, fx.theta0, fx.X, NZK_METHOD_FO, NULL, NULL, NULL, K);
  double err = 0;
  for (size_t i = 0; i < 15; i++) err = vt_nan_max(err, fabs(gsl_matrix_get(K, i, i) - 1.0));
  vt_abs(err, 0.0, 8.0 * (double)lin->p * DBL_EPSILON, "normalised rows: NTK diagonal = 1 "
         "(2-5-5-1, n=15)");
  gsl_matrix_free(K);
  nzk_model_free(lin);
  free_fixture(&fx);
}

/* Inputs other than X0: forward and Jacobian are the linearization at
 * theta0 of those inputs. */
static void check_other_inputs(uint64_t seed)
{
  fixture fx = make_fixture("3,6,1", NZK_ACT_TANH, NZK_PARAM_STANDARD, 5, seed);
  gsl_matrix *X1 = gsl_matrix_alloc(4, 3);
  for (size_t k = 0; k < 12; k++) X1->data[k] = 0.9 - 0.17 * (double)k;
  nzk_model *lin = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_OFFSET, 0);
  nzk_model *lin1 = nzk_linearized_alloc(fx.net, fx.theta0, X1, NZK_LIN_OFFSET, 0);
  const size_t p = lin->p;
  double *th = malloc(p * sizeof *th), a[4], b[4];
  for (size_t k = 0; k < p; k++) th[k] = fx.theta0[k] + 0.01 * (double)(k % 7);
  nzk_model_forward(lin, th, X1, a);
  nzk_model_forward(lin1, th, X1, b);
  vt_abs(vt_max_abs_diff(a, b, 4), 0.0, 0.0, "linearization on other inputs = linearization "
         "allocated on them");
  free(th);
  gsl_matrix_free(X1);
  nzk_model_free(lin);
  nzk_model_free(lin1);
  free_fixture(&fx);
}

/* A model that hides an MLP behind another name, so the linearization
 * takes its stored-Jacobian path. */
typedef struct {
  nzk_model base;
  nzk_model *inner;
} wrapped;

static int wrapped_forward(nzk_model *self, const double *theta, const gsl_matrix *X, double *f)
{
  return nzk_model_forward(((wrapped *)self)->inner, theta, X, f);
}

static int wrapped_jacobian(nzk_model *self, const double *theta, const gsl_matrix *X,
                            gsl_matrix *J)
{
  return nzk_model_jacobian(((wrapped *)self)->inner, theta, X, J);
}

static void wrapped_free(nzk_model *self) { (void)self; }

static double rel_diff(const double *a, const double *b, size_t n)
{
  return vt_max_abs_diff(a, b, n) / (vt_max_abs(b, n) + 1e-300);
}

/* Tangent path and stored path give the same model. */
static void check_paths(uint64_t seed)
{
  fixture fx = make_fixture("3,11,6,1", NZK_ACT_TANH, NZK_PARAM_NTK, 10, seed);
  wrapped w = {{"wrapped", fx.net->p, fx.net->d, wrapped_forward, wrapped_jacobian, wrapped_free},
               fx.net};
  const size_t n = 10, p = fx.net->p;
  gsl_matrix *X1 = gsl_matrix_alloc(4, 3);
  for (size_t k = 0; k < 12; k++) X1->data[k] = 0.61 - 0.13 * (double)k;
  double *th = malloc(p * sizeof *th), a[10], b[10];
  for (size_t k = 0; k < p; k++) th[k] = fx.theta0[k] + 0.2 * cos(1.7319 * (double)k);
  gsl_matrix *Ja = gsl_matrix_alloc(n, p), *Jb = gsl_matrix_alloc(n, p);
  const double tol = 16.0 * (double)p * DBL_EPSILON;
  for (int v = 0; v < 2; v++)
    for (int nr = 0; nr < 2; nr++) {
      nzk_model *la = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, (nzk_lin_variant)v, nr);
      nzk_model *lb = nzk_linearized_alloc(&w.base, fx.theta0, fx.X, (nzk_lin_variant)v, nr);
      const char *vn = nzk_lin_variant_name((nzk_lin_variant)v);
      vt_ok(nzk_linearized_stores_jacobian(la) == 0 && nzk_linearized_stores_jacobian(lb) == 1,
            "%s%s: MLP base uses the tangent, other bases store J0", vn, nr ? " normalised" : "");
      nzk_model_forward(la, th, fx.X, a);
      nzk_model_forward(lb, th, fx.X, b);
      vt_abs(rel_diff(a, b, n), 0.0, tol, "%s%s: tangent forward = stored-J forward on X0", vn,
             nr ? " normalised" : "");
      nzk_model_forward(la, th, X1, a);
      nzk_model_forward(lb, th, X1, b);
      vt_abs(rel_diff(a, b, 4), 0.0, tol, "%s%s: the same on other inputs", vn,
             nr ? " normalised" : "");
      nzk_model_jacobian(la, th, fx.X, Ja);
      nzk_model_jacobian(lb, th, fx.X, Jb);
      vt_abs(rel_diff(Ja->data, Jb->data, n * p), 0.0, tol, "%s%s: Jacobians agree", vn,
             nr ? " normalised" : "");
      nzk_model_free(la);
      nzk_model_free(lb);
    }
  free(th);
  gsl_matrix_free(X1);
  gsl_matrix_free(Ja);
  gsl_matrix_free(Jb);
  free_fixture(&fx);
}

/* NTK and expected NZK through nzk_network_kernel. */
static void check_kernels(uint64_t seed)
{
  fixture fx = make_fixture("3,7,4,1", NZK_ACT_RELU, NZK_PARAM_NTK, 6, seed);
  const size_t n = 6, p = fx.net->p;
  const double sigma = 0.7319;
  nzk_law law = nzk_law_normal(sigma);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  gsl_matrix *J = gsl_matrix_alloc(n, p), *K = gsl_matrix_alloc(n, n), *T = gsl_matrix_alloc(n, n);
  nzk_model_jacobian(fx.net, fx.theta0, fx.X, J);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, J, J, 0.0, T);
  nzk_network_kernel(fx.net, fx.theta0, fx.X, NZK_METHOD_FO, NULL, NULL, J, K);
  double tol = 8.0 * (double)p * DBL_EPSILON;
  vt_abs(nzk_kernel_rel_change(T, K), 0.0, tol, "network NTK = J J^T");
  nzk_network_kernel(fx.net, fx.theta0, fx.X, NZK_METHOD_SHARED, z, NULL, NULL, K);
  gsl_matrix_scale(T, (double)(p + 2) * pow(sigma, 4));
  vt_abs(nzk_kernel_rel_change(T, K), 0.0, tol, "network shared NZK = (p+2) s^4 NTK");

  /* The linearized model's kernel is the network's at theta0, anywhere. */
  nzk_model *lin = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_OFFSET, 0);
  double *th = malloc(p * sizeof *th);
  for (size_t k = 0; k < p; k++) th[k] = fx.theta0[k] + 0.5 * sin((double)k);
  gsl_matrix *K0 = gsl_matrix_alloc(n, n), *Kt = gsl_matrix_alloc(n, n);
  nzk_network_kernel(fx.net, fx.theta0, fx.X, NZK_METHOD_PLAIN, z, NULL, NULL, K0);
  nzk_network_kernel(lin, th, fx.X, NZK_METHOD_PLAIN, z, NULL, NULL, Kt);
  vt_abs(nzk_kernel_rel_change(K0, Kt), 0.0, 0.0, "linearized plain NZK at theta = network's "
         "at theta0");
  nzk_network_kernel(fx.net, th, fx.X, NZK_METHOD_PLAIN, z, NULL, NULL, Kt);
  vt_ok(nzk_kernel_rel_change(K0, Kt) > 0.01, "the network's NZK moves with theta (rel. change "
        "%.3g)", nzk_kernel_rel_change(K0, Kt));

  /* Formulas of the two measures on hand values. */
  const double ff[] = {1, 2, 3}, fl[] = {1, 2, 5}, y[] = {4, 2, 1};
  vt_abs(nzk_function_gap(ff, fl, y, 3), 2.0 / 5.0, 4 * DBL_EPSILON, "gap |(0,0,-2)|/|(-3,0,4)|");
  vt_ok(isnan(nzk_function_gap(ff, y, y, 3)), "gap is NaN when f_lin = y");
  vt_ok(nzk_network_kernel(fx.net, fx.theta0, fx.X, NZK_METHOD_PAIR, NULL, NULL, NULL, K) ==
        GSL_EINVAL, "ZO kernel without a direction law rejected: %s", nzk_error_message());
  free(th);
  gsl_matrix_free(K0);
  gsl_matrix_free(Kt);
  nzk_model_free(lin);
  nzk_dir_free(z);
  gsl_matrix_free(J);
  gsl_matrix_free(K);
  gsl_matrix_free(T);
  free_fixture(&fx);
}

static void check_errors(uint64_t seed)
{
  fixture fx = make_fixture("3,4,1", NZK_ACT_RELU, NZK_PARAM_STANDARD, 3, seed);
  gsl_matrix *X5 = gsl_matrix_calloc(3, 5);
  nzk_lin_variant v;
  nzk_method m;
  vt_ok(nzk_linearized_alloc(fx.net, fx.theta0, X5, NZK_LIN_OFFSET, 0) == NULL,
        "linearization on 5-column inputs of a 3-input net fails: %s", nzk_error_message());
  vt_ok(nzk_lin_variant_parse("taylor", &v) == GSL_EINVAL, "variant 'taylor' rejected: %s",
        nzk_error_message());
  vt_ok(nzk_method_parse("adam", &m) == GSL_EINVAL, "method 'adam' rejected: %s",
        nzk_error_message());
  /* Every MLP Jacobian row holds d f / d b_L = 1, so the GSL_EDOM path of
   * normalisation (a zero row) cannot be reached with an MLP; check that
   * normalisation succeeds instead. */
  nzk_model *lin = nzk_linearized_alloc(fx.net, fx.theta0, fx.X, NZK_LIN_OFFSET, 1);
  vt_ok(lin != NULL, "normalised linearization of an MLP succeeds (rows hold d f / d b_L = 1)");
  nzk_model_free(lin);
  gsl_matrix_free(X5);
  free_fixture(&fx);
}

int main(void)
{
  const uint64_t seed = vt_seed(20260302);
  check_offset_affine(seed);
  check_taylor_order(seed);
  check_paper_euler(seed);
  check_normalised(seed);
  check_other_inputs(seed);
  check_paths(seed);
  check_kernels(seed);
  check_errors(seed);
  return vt_finish();
}
