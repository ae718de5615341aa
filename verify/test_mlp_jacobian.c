/* test_mlp_jacobian.c: the MLP of model_mlp.h computes what its header
 * says.  (1) A hand-worked 2-2-1 network gives the forward values and the
 * Jacobian written out by hand.  (2) The backpropagation Jacobian agrees
 * with central finite differences to a relative error below 1e-7, for
 * ReLU and tanh, standard and NTK parametrisations, odd widths, depth 1
 * to 4 and an input matrix that is a strided view.  (3) Negative
 * controls: a Jacobian with one entry off by 1e-6 of its scale, and a
 * Jacobian taken at a slightly different theta, are both rejected by the
 * same comparison.  (4) Batching, parametrisation scaling, initialisation
 * laws and every error path. */
#include "fdcheck.h"
#include "model_mlp.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_errno.h>

/* The bound the issue sets; the expected error is about 1e-10 (see
 * fdcheck.h: rounding eps |f| / h with h = 1e-6, truncation h^2 f'''/6
 * with h = 1e-5 for tanh). */
#define FD_TOL_REL 1e-7

static nzk_mlp_spec make_spec(const char *widths, nzk_activation act, nzk_parametrisation param)
{
  nzk_mlp_spec s;
  memset(&s, 0, sizeof s);
  nzk_mlp_widths_parse(widths, &s);
  s.act = act;
  s.param = param;
  return s;
}

/* X (n x d) as a view into a wider block, so X->tda != d. */
static gsl_matrix *awkward_inputs(gsl_rng *r, size_t n, size_t d, gsl_matrix **block)
{
  *block = gsl_matrix_alloc(n, d + 3);
  for (size_t k = 0; k < n * (d + 3); k++) (*block)->data[k] = 1.7319 * (gsl_rng_uniform(r) - 0.43);
  gsl_matrix_view v = gsl_matrix_submatrix(*block, 0, 1, n, d);
  gsl_matrix *X = malloc(sizeof *X);
  *X = v.matrix;
  return X;
}

/* 2-2-1, ReLU, standard: W1 = [[1, -2], [0.5, 3]], b1 = [0.25, -1],
 * W2 = [[2, -1]], b2 = [0.75].  At x = (1, 0.5): A1 = (0.25, 1), H1 =
 * (0.25, 1), f = 0.5 - 1 + 0.75 = 0.25.  Jacobian row:
 * dW1 = [[2*1, 2*0.5], [-1*1, -1*0.5]], db1 = [2, -1], dW2 = H1, db2 = 1.
 * At x = (-1, 1): A1 = (-2.75, 1.5) so unit 1 is off: H1 = (0, 1.5),
 * f = -1.5 + 0.75 = -0.75, dW1 = [[0, 0], [1, -1]], db1 = [0, -1]. */
static void check_hand_example(void)
{
  nzk_mlp_spec s = make_spec("2,2,1", NZK_ACT_RELU, NZK_PARAM_STANDARD);
  nzk_model *m = nzk_mlp_alloc(&s);
  const double theta[] = {1, -2, 0.5, 3, 0.25, -1, 2, -1, 0.75};
  const double want_f[] = {0.25, -0.75};
  const double want_J[2][9] = {{2, 1, -1, -0.5, 2, -1, 0.25, 1, 1},
                               {0, 0, 1, -1, 0, -1, 0, 1.5, 1}};
  double xs[] = {1, 0.5, -1, 1}, f[2];
  gsl_matrix_view X = gsl_matrix_view_array(xs, 2, 2);
  gsl_matrix *J = gsl_matrix_alloc(2, 9);
  vt_ok(m && m->p == 9 && m->d == 2, "2-2-1 has p = 9, d = 2");
  nzk_model_forward(m, theta, &X.matrix, f);
  nzk_model_jacobian(m, theta, &X.matrix, J);
  double err = fabs(f[0] - want_f[0]) + fabs(f[1] - want_f[1]);
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 9; k++) err += fabs(gsl_matrix_get(J, i, k) - want_J[i][k]);
  vt_abs(err, 0.0, 16.0 * DBL_EPSILON, "hand-worked 2-2-1 ReLU forward values and Jacobian");
  gsl_matrix_free(J);
  nzk_model_free(m);
}

/* FD agreement for one architecture; returns the comparison (and checks
 * the negative controls when `controls` is set). */
static void check_fd(const char *widths, nzk_activation act, nzk_parametrisation param, size_t n,
                     uint64_t seed, int controls)
{
  nzk_mlp_spec s = make_spec(widths, act, param);
  nzk_model *m = nzk_mlp_alloc(&s);
  gsl_rng *r = nzk_stream_alloc(seed, 1);
  gsl_matrix *block, *X = awkward_inputs(r, n, s.widths[0], &block);
  double *theta = malloc(m->p * sizeof *theta);
  gsl_matrix *J = gsl_matrix_alloc(n, m->p);
  char desc[100];
  nzk_mlp_describe(&s, desc, sizeof desc);
  nzk_mlp_init(&s, r, theta);
  nzk_model_jacobian(m, theta, X, J);

  const int relu = act == NZK_ACT_RELU;
  const double h = relu ? 1e-6 : 1e-5;
  fd_result res;
  fd_compare(m, theta, X, J, h, relu, &res);
  vt_ok(res.rel_err < FD_TOL_REL && res.n_skipped * 10 < m->p,
        "J = central FD for %s (n=%zu, p=%zu): rel. error %.3g < %g, %zu of %zu columns skipped "
        "(kink crossed)", desc, n, m->p, res.rel_err, FD_TOL_REL, res.n_skipped, m->p);

  if (controls) {
    /* One entry off by 1e-6 of the Jacobian's scale. */
    double jmax = gsl_matrix_max(J) > -gsl_matrix_min(J) ? gsl_matrix_max(J) : -gsl_matrix_min(J);
    size_t i0 = n / 2, k0 = m->p / 3;
    gsl_matrix_set(J, i0, k0, gsl_matrix_get(J, i0, k0) + 1e-6 * jmax);
    fd_compare(m, theta, X, J, h, relu, &res);
    vt_ok(res.rel_err >= FD_TOL_REL, "negative control: J with one entry perturbed by 1e-6 "
          "is rejected for %s (rel. error %.3g >= %g)", desc, res.rel_err, FD_TOL_REL);

    /* A stale Jacobian, taken at theta + delta with delta a random vector
     * of norm 1e-4: every parameter moves, so J changes whatever ReLU
     * units are inactive (moving one weight could hit a dead unit and leave
     * J unchanged).  The control is only meaningful if J really changed by
     * more than the tolerance, which is checked first. */
    double *moved = malloc(m->p * sizeof *moved), dn = 0;
    gsl_matrix *J0 = gsl_matrix_alloc(n, m->p);
    nzk_model_jacobian(m, theta, X, J0);
    for (size_t k = 0; k < m->p; k++) {
      moved[k] = gsl_rng_uniform(r) - 0.5;
      dn += moved[k] * moved[k];
    }
    for (size_t k = 0; k < m->p; k++) moved[k] = theta[k] + 1e-4 * moved[k] / sqrt(dn);
    nzk_model_jacobian(m, moved, X, J);
    double change = vt_max_abs_diff(J->data, J0->data, n * m->p) /
                    vt_max_abs(J0->data, n * m->p);
    vt_ok(change > 10.0 * FD_TOL_REL, "control premise: J at theta + delta (|delta| = 1e-4) "
          "differs from J by %.3g > 10 x %g for %s", change, FD_TOL_REL, desc);
    fd_compare(m, theta, X, J, h, relu, &res);
    vt_ok(res.rel_err >= FD_TOL_REL, "negative control: J at theta + delta is rejected for "
          "%s (rel. error %.3g >= %g)", desc, res.rel_err, FD_TOL_REL);
    free(moved);
    gsl_matrix_free(J0);
  }
  free(theta);
  gsl_matrix_free(J);
  free(X);
  gsl_matrix_free(block);
  gsl_rng_free(r);
  nzk_model_free(m);
}

/* The tangent's J0 v equals the backprop Jacobian times v, and its f0 the
 * forward pass, for both activations. */
static void check_tangent(uint64_t seed)
{
  for (int a = 0; a < 2; a++) {
    nzk_mlp_spec s = make_spec("5,12,7,3,1", (nzk_activation)a, NZK_PARAM_NTK);
    nzk_model *m = nzk_mlp_alloc(&s);
    gsl_rng *r = nzk_stream_alloc(seed, 5);
    const size_t n = 8, p = m->p;
    gsl_matrix *block, *X = awkward_inputs(r, n, 5, &block), *J = gsl_matrix_alloc(n, p);
    double *theta = malloc(p * sizeof *theta), *v = malloc(p * sizeof *v);
    double jv[8], want[8], f[8], err = 0, scale = 0;
    nzk_mlp_init(&s, r, theta);
    for (size_t k = 0; k < p; k++) v[k] = gsl_rng_uniform(r) - 0.5;
    nzk_mlp_tangent *t = nzk_mlp_tangent_alloc(m, theta, X);
    nzk_model_jacobian(m, theta, X, J);
    nzk_model_forward(m, theta, X, f);
    nzk_mlp_tangent_apply(t, v, jv);
    for (size_t i = 0; i < n; i++) {
      want[i] = 0;
      for (size_t k = 0; k < p; k++) want[i] += gsl_matrix_get(J, i, k) * v[k];
      err = vt_nan_max(err, fabs(jv[i] - want[i]));
      scale = vt_nan_max(scale, fabs(want[i]));
      err = vt_nan_max(err, fabs(nzk_mlp_tangent_f0(t)[i] - f[i]));
    }
    vt_abs(err, 0.0, 16.0 * (double)p * DBL_EPSILON * (scale + 1), "tangent J0 v = J v and "
           "f0 = f for 5-12-7-3-1 %s (p=%zu)", nzk_activation_name((nzk_activation)a), p);
    nzk_mlp_tangent_free(t);
    free(theta);
    free(v);
    free(X);
    gsl_matrix_free(block);
    gsl_matrix_free(J);
    gsl_rng_free(r);
    nzk_model_free(m);
  }
}

/* Forward of all rows at once equals forward row by row (different GEMM
 * shapes, so to rounding), and a larger batch after a smaller one works
 * (the scratch grows). */
static void check_batching(uint64_t seed)
{
  nzk_mlp_spec s = make_spec("4,9,6,1", NZK_ACT_TANH, NZK_PARAM_NTK);
  nzk_model *m = nzk_mlp_alloc(&s);
  gsl_rng *r = nzk_stream_alloc(seed, 2);
  const size_t n = 11;
  gsl_matrix *block, *X = awkward_inputs(r, n, 4, &block);
  double *theta = malloc(m->p * sizeof *theta), f_all[11], f_one, err = 0, scale = 0;
  nzk_mlp_init(&s, r, theta);
  gsl_matrix_const_view row0 = gsl_matrix_const_submatrix(X, 0, 0, 1, 4);
  nzk_model_forward(m, theta, &row0.matrix, &f_one); /* small scratch first */
  nzk_model_forward(m, theta, X, f_all);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_const_view row = gsl_matrix_const_submatrix(X, i, 0, 1, 4);
    nzk_model_forward(m, theta, &row.matrix, &f_one);
    err = vt_nan_max(err, fabs(f_one - f_all[i]));
    scale = vt_nan_max(scale, fabs(f_all[i]));
  }
  vt_abs(err, 0.0, 64.0 * 9 * DBL_EPSILON * (scale + 1), "batched forward = row-by-row "
         "forward (n=%zu, 4-9-6-1 tanh ntk)", n);
  free(theta);
  free(X);
  gsl_matrix_free(block);
  gsl_rng_free(r);
  nzk_model_free(m);
}

/* NTK parametrisation = standard parametrisation with every weight block
 * pre-multiplied by 1/sqrt(fan_in) (biases unchanged). */
static void check_param_scaling(uint64_t seed)
{
  nzk_mlp_spec sn = make_spec("3,7,5,1", NZK_ACT_RELU, NZK_PARAM_NTK);
  nzk_mlp_spec ss = sn;
  ss.param = NZK_PARAM_STANDARD;
  nzk_model *mn = nzk_mlp_alloc(&sn), *ms = nzk_mlp_alloc(&ss);
  gsl_rng *r = nzk_stream_alloc(seed, 3);
  gsl_matrix *block, *X = awkward_inputs(r, 6, 3, &block);
  const size_t p = mn->p;
  double *tn = malloc(p * sizeof *tn), *ts = malloc(p * sizeof *ts), fn[6], fs[6], err = 0;
  nzk_mlp_init(&sn, r, tn);
  memcpy(ts, tn, p * sizeof *ts);
  for (size_t l = 1; l <= sn.n_layers; l++) {
    size_t w, b;
    nzk_mlp_layer_offsets(&sn, l, &w, &b);
    for (size_t k = w; k < b; k++) ts[k] /= sqrt((double)sn.widths[l - 1]);
  }
  nzk_model_forward(mn, tn, X, fn);
  nzk_model_forward(ms, ts, X, fs);
  for (int i = 0; i < 6; i++) err = vt_nan_max(err, fabs(fn[i] - fs[i]) / (1 + fabs(fs[i])));
  vt_abs(err, 0.0, 64.0 * 7 * DBL_EPSILON, "NTK forward = standard forward with W_l / "
         "sqrt(fan_in) (3-7-5-1 relu)");
  free(tn);
  free(ts);
  free(X);
  gsl_matrix_free(block);
  gsl_rng_free(r);
  nzk_model_free(mn);
  nzk_model_free(ms);
}

/* Standard init: every entry of layer l within +-1/sqrt(fan_in) and its
 * variance bound^2/3; NTK init: mean 0, variance 1.  Bounds are 5
 * standard errors of the sample moments. */
static void check_init(uint64_t seed)
{
  nzk_mlp_spec s = make_spec("30,200,1", NZK_ACT_RELU, NZK_PARAM_STANDARD);
  const size_t p = nzk_mlp_n_params(&s), nw = 200 * 31;
  double *theta = malloc(p * sizeof *theta);
  gsl_rng *r = nzk_stream_alloc(seed, 4);
  nzk_mlp_init(&s, r, theta);
  const double bound = 1.0 / sqrt(30.0);
  double inside = 1, m2 = 0;
  for (size_t k = 0; k < nw; k++) {
    inside = inside && fabs(theta[k]) <= bound;
    m2 += theta[k] * theta[k] / (double)nw;
  }
  /* Var(u^2) for u ~ U(-a, a) is a^4/5 - a^4/9 = 4 a^4 / 45. */
  double se = sqrt(4.0 / 45.0 / (double)nw) * bound * bound;
  vt_ok(inside, "standard init: layer-1 entries within +-1/sqrt(30)");
  vt_abs(m2, bound * bound / 3, 5 * se, "standard init: layer-1 mean square = bound^2/3");

  s.param = NZK_PARAM_NTK;
  nzk_mlp_init(&s, r, theta);
  double m1 = 0;
  m2 = 0;
  for (size_t k = 0; k < p; k++) {
    m1 += theta[k] / (double)p;
    m2 += theta[k] * theta[k] / (double)p;
  }
  vt_abs(m1, 0.0, 5 / sqrt((double)p), "NTK init: mean 0 (p=%zu)", p);
  vt_abs(m2, 1.0, 5 * sqrt(2.0 / (double)p), "NTK init: mean square 1 (p=%zu)", p);
  free(theta);
  gsl_rng_free(r);
}

static void check_errors(void)
{
  nzk_mlp_spec s;
  memset(&s, 0, sizeof s);
  const char *bad[] = {"64,0,5,1", "64,10,5,3", "64", "", "64,,1", "64,x,1", "64,10,-5,1",
                       "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,1"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    int st = nzk_mlp_widths_parse(bad[k], &s);
    vt_ok(st == GSL_EINVAL, "widths '%s' rejected: %s", bad[k], nzk_error_message());
  }
  nzk_activation a;
  nzk_parametrisation pz;
  vt_ok(nzk_activation_parse("sigmoid", &a) == GSL_EINVAL, "activation 'sigmoid' rejected: %s",
        nzk_error_message());
  vt_ok(nzk_parametrisation_parse("mup", &pz) == GSL_EINVAL,
        "parametrisation 'mup' rejected: %s", nzk_error_message());
  s = make_spec("3,4,1", NZK_ACT_RELU, NZK_PARAM_STANDARD);
  s.widths[1] = 0;
  vt_ok(nzk_mlp_alloc(&s) == NULL, "alloc of a zero-width spec fails: %s", nzk_error_message());

  s = make_spec("3,4,1", NZK_ACT_RELU, NZK_PARAM_STANDARD);
  nzk_model *m = nzk_mlp_alloc(&s);
  double theta[21] = {0}, f[2];
  gsl_matrix *X = gsl_matrix_calloc(2, 5), *J = gsl_matrix_alloc(2, 20);
  vt_ok(nzk_model_forward(m, theta, X, f) == GSL_EBADLEN, "forward with 5 input columns for "
        "width 3 rejected: %s", nzk_error_message());
  vt_ok(nzk_model_jacobian(m, theta, X, J) == GSL_EBADLEN, "Jacobian of the wrong width "
        "rejected: %s", nzk_error_message());
  vt_ok(nzk_mlp_spec_of(m) != NULL && nzk_mlp_spec_of(NULL) == NULL, "nzk_mlp_spec_of");
  gsl_matrix_free(X);
  gsl_matrix_free(J);
  nzk_model_free(m);
}

int main(void)
{
  const uint64_t seed = vt_seed(20260301);
  check_hand_example();
  const char *archs[] = {"3,7,5,1", "5,13,1", "2,6,9,4,1", "4,1"};
  for (int a = 0; a < 2; a++)
    for (int pz = 0; pz < 2; pz++)
      for (size_t k = 0; k < 4; k++)
        check_fd(archs[k], (nzk_activation)a, (nzk_parametrisation)pz, 7, seed + k, k == 0);
  check_fd("64,10,5,1", NZK_ACT_RELU, NZK_PARAM_STANDARD, 9, seed, 1);
  check_tangent(seed);
  check_batching(seed);
  check_param_scaling(seed);
  check_init(seed);
  check_errors();
  return vt_finish();
}
