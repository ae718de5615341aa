/* test_t4_t2_contrast.c: T2 on real networks (DESIGN.md section 3).
 *
 * A 2-16-16-1 ReLU MLP (NTK parametrisation, p = 337) and its offset
 * linearization are trained by ZO from the same theta0 on 10 sphere
 * points.  Over the last W steps of each run, the kernels realised by the
 * draws, K_t = coef (J_t z)(J_t zeta)^T, are averaged with their
 * per-entry standard errors (nzk_kacc) and z-tested (Bonferroni over the
 * distinct entries, alpha = 1e-4) against:
 *
 *  1. the expected kernel at theta0, J0 M J0^T (DESIGN.md T1 formula):
 *     the linearized network PASSES (its J is constant, its expected NZK
 *     does not move), for the plain and the shared scheme;
 *     the full network is REJECTED (its expected NZK has drifted along the
 *     run): T2's negative control on a real network;
 *  2. the expected kernel averaged along the full network's own
 *     trajectory, (1/W) sum_t J_t M J_t^T: PASSES, because step t's draws
 *     are independent of theta_t whatever the model, so the rejection in
 *     1 comes from the drift and not from a broken estimator.
 * Exact parts: the linearized model's expected NZK at its final theta is
 * the one at theta0 (relative change 0 up to rounding); the full
 * network's has moved by more than the window test's resolution
 * z* ||se||_F / ||K0||_F.  Power controls: the passing linearized checks
 * reject K0 x (1 + delta), delta = (2 z* + 1) min se / |K0|. */
#include "data_synth.h"
#include "model_linearized.h"
#include "model_mlp.h"
#include "network.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "train.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_POINTS 10
#define WIDTH 16
#define STEPS 3000
#define WINDOW 2000
#define ETA_FRACTION 0.05 /* of n / tr(Theta_0); stable (network.h) */

typedef struct {
  gsl_matrix *X;
  gsl_vector *y;
  nzk_mlp_spec spec;
  nzk_model *net, *lin;
  double *theta0;
  nzk_dir *z;
  double eta;
} setup;

static setup make_setup(uint64_t seed)
{
  setup s;
  gsl_rng *r = nzk_stream_alloc(seed, 0);
  s.X = gsl_matrix_alloc(N_POINTS, 2);
  s.y = gsl_vector_alloc(N_POINTS);
  nzk_synth_sphere(r, 0.05, s.X, s.y, NULL);
  memset(&s.spec, 0, sizeof s.spec);
  nzk_mlp_widths_parse("2,16,16,1", &s.spec);
  s.spec.param = NZK_PARAM_NTK;
  s.net = nzk_mlp_alloc(&s.spec);
  s.theta0 = malloc(s.net->p * sizeof *s.theta0);
  nzk_mlp_init(&s.spec, r, s.theta0);
  s.lin = nzk_linearized_alloc(s.net, s.theta0, s.X, NZK_LIN_OFFSET, 0);
  nzk_law law = nzk_law_normal(1.0);
  s.z = nzk_dir_alloc_iid(&law, s.net->p);
  double trace;
  nzk_network_ntk_trace(s.net, s.theta0, s.X, NULL, &trace);
  s.eta = ETA_FRACTION * N_POINTS / trace;
  gsl_rng_free(r);
  return s;
}

static void free_setup(setup *s)
{
  nzk_model_free(s->lin);
  nzk_model_free(s->net);
  nzk_dir_free(s->z);
  free(s->theta0);
  gsl_matrix_free(s->X);
  gsl_vector_free(s->y);
}

typedef struct {
  gsl_matrix *mean, *se, *K0, *Kavg, *Kend;
  int status;
} run_out;

/* One ZO run of `model` with `scheme`; window statistics and kernels. */
static run_out zo_run(setup *s, nzk_model *model, nzk_scheme scheme, uint64_t seed)
{
  const size_t n = N_POINTS;
  run_out o = {gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n),
               gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n), 0};
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = scheme;
  par.z = s->z;
  nzk_method method = scheme == NZK_SCHEME_SHARED ? NZK_METHOD_SHARED : NZK_METHOD_PLAIN;
  nzk_method_eta(method, NZK_ETA_MATCHED, s->eta, s->z, &par.eta);
  par.seed = seed;
  nzk_trainer *t = nzk_trainer_alloc(model, s->X, s->y, &par);
  nzk_kacc *acc = nzk_kacc_alloc(n, 64);
  o.status = nzk_network_kernel(model, s->theta0, s->X, method, s->z, NULL, NULL, o.K0);
  if (!o.status) o.status = nzk_trainer_init(t, s->theta0, 0);
  if (!o.status)
    o.status = nzk_network_realised_kernels(t, model, s->X, STEPS, WINDOW, acc, scheme, s->z,
                                            NULL, o.Kavg);
  if (!o.status) o.status = nzk_kacc_result(acc, o.mean, o.se);
  if (!o.status)
    o.status = nzk_network_kernel(model, nzk_trainer_theta(t), s->X, method, s->z, NULL, NULL,
                                  o.Kend);
  if (o.status) printf("run failed: %s\n", nzk_error_message());
  nzk_kacc_free(acc);
  nzk_trainer_free(t);
  return o;
}

static void free_run(run_out *o)
{
  gsl_matrix_free(o->mean);
  gsl_matrix_free(o->se);
  gsl_matrix_free(o->K0);
  gsl_matrix_free(o->Kavg);
  gsl_matrix_free(o->Kend);
}

/* Relative Frobenius size of a shift of z* standard errors on every
 * entry, z* ||se||_F / ||K||_F: the smallest drift of the expected kernel
 * that the window's z-test can resolve (W = WINDOW steps of i.i.d. draws;
 * se from nzk_kacc). */
static double resolution(const run_out *o, const gsl_matrix *K, double zstar)
{
  double s2 = 0.0, k2 = 0.0;
  for (size_t k = 0; k < K->size1 * K->size2; k++) {
    s2 += o->se->data[k] * o->se->data[k];
    k2 += K->data[k] * K->data[k];
  }
  return zstar * sqrt(s2 / k2);
}

/* Power control of a passing check: K scaled by 1 + delta, delta = (2 z*
 * + 1) min_ij se_ij / |K_ij|.  At the entry attaining the minimum the
 * shift is 2 z* + 1 standard errors and the noise is at most z* (the
 * check on K passed), so |z| >= z* + 1: rejected whatever the seed. */
static void scaled_control(const run_out *o, const gsl_matrix *K, double zstar, const char *what)
{
  double ratio = INFINITY;
  for (size_t k = 0; k < K->size1 * K->size2; k++)
    if (K->data[k] != 0) ratio = vt_nan_min(ratio, o->se->data[k] / fabs(K->data[k]));
  const double delta = (2.0 * zstar + 1.0) * ratio;
  gsl_matrix *Kp = gsl_matrix_alloc(K->size1, K->size2);
  gsl_matrix_memcpy(Kp, K);
  gsl_matrix_scale(Kp, 1.0 + delta);
  nzk_check_result res;
  nzk_check_zscores(o->mean, o->se, Kp, 1, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "negative control: %s x (1 + %.3g) rejected", what, delta);
  gsl_matrix_free(Kp);
}

static void check_linearized(setup *s, nzk_scheme scheme, uint64_t seed)
{
  run_out o = zo_run(s, s->lin, scheme, seed);
  const char *name = nzk_scheme_name(scheme);
  nzk_check_result res;
  vt_ok(o.status == 0, "linearized %s run of %d steps completed", name, STEPS);
  nzk_check_zscores(o.mean, o.se, o.K0, 1, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "linearized net, %s: realised kernels of the last %d "
             "steps = expected NZK at theta0", name, WINDOW);
  char what[80];
  snprintf(what, sizeof what, "linearized net, %s: expected NZK at theta0", name);
  if (res.verdict == NZK_VERDICT_PASS) scaled_control(&o, o.K0, res.threshold, what);
  if (scheme == NZK_SCHEME_SHARED) {
    /* The wrong moment (M2 for a shared scheme) must be rejected. */
    gsl_matrix *Kwrong = gsl_matrix_alloc(N_POINTS, N_POINTS);
    nzk_network_kernel(s->lin, s->theta0, s->X, NZK_METHOD_PLAIN, s->z, NULL, NULL, Kwrong);
    nzk_check_zscores(o.mean, o.se, Kwrong, 1, NZK_CHECK_ALPHA_DEFAULT, &res);
    vt_verdict(&res, NZK_VERDICT_FAIL, "negative control: linearized net, shared: realised "
               "kernels vs the plain formula J0 M2 J0^T (wrong moment)");
    gsl_matrix_free(Kwrong);
  }
  double change = nzk_kernel_rel_change(o.K0, o.Kend);
  vt_abs(change, 0.0, 16.0 * 337 * DBL_EPSILON, "linearized net, %s: expected NZK at theta_T = "
         "at theta0 (rel. change)", name);
  free_run(&o);
}

static void check_full(setup *s, uint64_t seed)
{
  run_out o = zo_run(s, s->net, NZK_SCHEME_PLAIN, seed);
  nzk_check_result res;
  vt_ok(o.status == 0, "full network plain run of %d steps completed", STEPS);
  nzk_check_zscores(o.mean, o.se, o.K0, 1, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "negative control: full 2-16-16-1 net, plain: realised "
             "kernels of the last %d steps vs expected NZK at theta0 (drift detected)", WINDOW);
  nzk_check_zscores(o.mean, o.se, o.Kavg, 1, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "full net, plain: realised kernels = expected NZK averaged "
             "along its own trajectory");
  /* The drift must exceed what the window's z-test can resolve, else the
   * rejection above could not be attributed to it: the exact drift of the
   * window average (Kavg - K0) and of the end point (Kend - K0) against a
   * shift of z* se on every entry (resolution()). */
  const double zstar = nzk_check_bonferroni_z(NZK_CHECK_ALPHA_DEFAULT,
                                              N_POINTS * (N_POINTS + 1) / 2);
  const double res_f = resolution(&o, o.K0, zstar);
  double drift = nzk_kernel_rel_change(o.K0, o.Kavg), change = nzk_kernel_rel_change(o.K0, o.Kend);
  vt_ok(drift > res_f && change > res_f, "full net: expected NZK moved by %.3g over the window "
        "and %.3g at step %d (rel. Frobenius) > resolution z* ||se||_F / ||K0||_F = %.3g",
        drift, change, STEPS, res_f);
  free_run(&o);
}

int main(void)
{
  const uint64_t seed = vt_seed(20260304);
  setup s = make_setup(seed);
  check_linearized(&s, NZK_SCHEME_PLAIN, seed + 1);
  check_linearized(&s, NZK_SCHEME_SHARED, seed + 2);
  check_full(&s, seed + 3);
  free_setup(&s);
  return vt_finish();
}
