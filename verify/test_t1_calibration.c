/* test_t1_calibration.c: does the T1 check decide at the rate it claims
 * (DESIGN.md section 4)?
 *
 * Calibration.  For one fixed small case per scheme (n = 1, so the check
 * is a single two-sided z-test), R = 200 independent runs at a level
 * alpha = 0.05 large enough for the rate to be measurable:
 *   - the true formula is rejected k times; k must lie in the central
 *     1 - 1e-4 interval of Binomial(R, alpha);
 *   - the spread of the R estimates must match the standard errors they
 *     report: sample variance / mean se^2 inside the 1 - 1e-4 interval of
 *     chi^2_{R-1} / (R - 1) (the estimator's error bar is honest);
 *   - a false formula (20 % too large) is rejected more often than the
 *     upper binomial bound for a true one.  The power that normal theory
 *     predicts from each run's own standard error is printed next to it
 *     but not checked: the skewness of the shared Laplace entries makes
 *     the observed power differ from it by more than its binomial spread
 *     (at S = 2000, 60 rejections against 36 predicted at 10 %).
 * With n = 3 (6 correlated entries) Bonferroni is conservative, so only
 * the upper end is checked: k <= the binomial upper bound.  That runs at
 * S = 20000: the per-entry level is alpha/6, further in the tail, where
 * the skewness of a kernel entry's mean (Edgeworth term of order
 * skew / sqrt(S)) inflates the rate; at S = 2000 the shared Laplace case
 * rejected 24 of 200, at the bound.
 * Slope.  The relative Frobenius error of independent estimates at S from
 * 200 to 204800 (21 points; root mean square over 16 estimates per S) must fall as
 * S^(-1/2) (nzk_check_slope, alpha = 1e-4, half-width at most 0.2);
 * controls: errors against the wrong formula of test_t1_kernel.c (the
 * error stays constant) and against a 5 % perturbed formula (the error
 * levels off at 5 %) must fail the slope test.  5 %, not 1 %: at these S
 * the statistical error of the heavier cases is still near 1 %, so a 1 %
 * bias does not yet bend the line; the 1 % control of the z-test runs in
 * test_t1_kernel.c at a large S chosen for it.  Unit
 * checks of nzk_check_slope on exact lines and its error paths come
 * first. */
#include "kernel.h"
#include "nzk_error.h"
#include "stats_check.h"
#include "t1_cases.h"
#include "vtest.h"

#include <math.h>
#include <stdio.h>
#include <gsl/gsl_cdf.h>

#define R_RUNS 200
/* At S = 2000 the shared Laplace case (mean 0.1) rejects its true formula
 * at 8.3 % +- 0.4 % for a nominal 5 % (measured over 4000 seeds): the skew
 * of the entries' mean, an Edgeworth term of order skew / sqrt(S), is not
 * negligible there, and the check failed for NZK_SEED=4.  At S = 20000 the
 * measured rate is 4.8 %. */
#define S_CAL 20000
#define ALPHA_CAL 0.05
#define ALPHA 1e-4

/* Central interval [lo, hi] of Binomial(n, q) with tail mass <= a/2 each. */
static void binomial_interval(unsigned n, double q, double a, unsigned *lo, unsigned *hi)
{
  *lo = 0;
  while (*lo < n && gsl_cdf_binomial_P(*lo, q, n) <= a / 2) (*lo)++;
  *hi = n;
  while (*hi > 0 && gsl_cdf_binomial_Q(*hi - 1, q, n) <= a / 2) (*hi)--;
}

typedef struct {
  nzk_scheme scheme;
  dir_spec z, zeta;
} cal_case;

/* R runs of one case of size n x p; returns true/false rejections, the
 * predicted false rejections and their variance, and the variance ratio
 * of entry (0,0). */
static void run_case(const cal_case *c, size_t n, size_t p, size_t S, uint64_t seed,
                     unsigned *k_true,
                     unsigned *k_false, double *pred, double *pred_var, double *var_ratio)
{
  gsl_rng *r = nzk_stream_alloc(seed, 4000 + n);
  gsl_matrix *J = t1_features(r, n, p, 0);
  nzk_dir *z = t1_direction(&c->z, p, r);
  nzk_dir *zeta = c->scheme == NZK_SCHEME_PAIR ? t1_direction(&c->zeta, p, r) : NULL;
  gsl_matrix *est = gsl_matrix_alloc(n, n), *se = gsl_matrix_alloc(n, n);
  gsl_matrix *F = gsl_matrix_alloc(n, n), *F2 = gsl_matrix_alloc(n, n);
  const int sym = c->scheme != NZK_SCHEME_PAIR;
  const double zstar = nzk_check_bonferroni_z(ALPHA_CAL, sym ? n * (n + 1) / 2 : n * n);
  double s1 = 0, s2 = 0, se2 = 0;
  nzk_check_result res;

  *k_true = *k_false = 0;
  *pred = *pred_var = 0;
  for (unsigned k = 0; k < R_RUNS; k++) {
    nzk_check_kernel(c->scheme, J, z, zeta, S, 250, seed + 31 * k, ALPHA_CAL, est, se, F,
                     &res);
    *k_true += res.verdict == NZK_VERDICT_FAIL;
    gsl_matrix_memcpy(F2, F);
    gsl_matrix_scale(F2, 1.20);
    nzk_check_zscores(est, se, F2, sym, ALPHA_CAL, &res);
    *k_false += res.verdict == NZK_VERDICT_FAIL;
    /* power of the single z-test for n = 1 (shift 0.2 f / se) */
    double d = 0.20 * fabs(gsl_matrix_get(F, 0, 0)) / gsl_matrix_get(se, 0, 0);
    double pk = gsl_cdf_ugaussian_Q(zstar - d) + gsl_cdf_ugaussian_P(-zstar - d);
    *pred += pk;
    *pred_var += pk * (1 - pk);
    s1 += gsl_matrix_get(est, 0, 0);
    s2 += gsl_matrix_get(est, 0, 0) * gsl_matrix_get(est, 0, 0);
    se2 += gsl_matrix_get(se, 0, 0) * gsl_matrix_get(se, 0, 0);
  }
  double m = s1 / R_RUNS, var = (s2 - R_RUNS * m * m) / (R_RUNS - 1);
  *var_ratio = var / (se2 / R_RUNS);
  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(F);
  gsl_matrix_free(F2);
  gsl_matrix_free(J);
  nzk_dir_free(z);
  nzk_dir_free(zeta);
  gsl_rng_free(r);
}

static void check_calibration(const cal_case *c, uint64_t seed)
{
  char name[120], dz[80];
  t1_describe(&c->z, dz, sizeof dz);
  snprintf(name, sizeof name, "%s, z %s", nzk_scheme_name(c->scheme), dz);
  unsigned lo, hi, kt, kf;
  double pred, pvar, ratio;
  binomial_interval(R_RUNS, ALPHA_CAL, ALPHA, &lo, &hi);

  run_case(c, 1, 4, S_CAL, seed, &kt, &kf, &pred, &pvar, &ratio);
  vt_ok(kt >= lo && kt <= hi, "calibration %s (n=1): true formula rejected %u / %d, in [%u, %u] "
        "for alpha = %g", name, kt, R_RUNS, lo, hi, ALPHA_CAL);
  double clo = gsl_cdf_chisq_Pinv(ALPHA / 2, R_RUNS - 1) / (R_RUNS - 1);
  double chi = gsl_cdf_chisq_Qinv(ALPHA / 2, R_RUNS - 1) / (R_RUNS - 1);
  vt_ok(ratio >= clo && ratio <= chi, "calibration %s: spread^2 / se^2 = %.3f in [%.3f, %.3f]",
        name, ratio, clo, chi);
  vt_ok(kf > hi, "control %s: 20%% wrong formula rejected %u / %d > %u (normal theory "
        "predicts %.1f +- %.1f)", name, kf, R_RUNS, hi, pred, sqrt(pvar));

  run_case(c, 3, 4, S_CAL, seed + 1, &kt, &kf, &pred, &pvar, &ratio);
  vt_ok(kt <= hi, "calibration %s (n=3, Bonferroni over 6 entries): true formula rejected "
        "%u / %d <= %u", name, kt, R_RUNS, hi);
}

/* nzk_check_slope on lines whose slope is known, and its error paths. */
static void check_slope_unit(uint64_t seed)
{
  double S[12], e[12];
  nzk_slope_result res;
  gsl_rng *r = nzk_stream_alloc(seed, 5000);
  for (int k = 0; k < 12; k++) S[k] = 10.0 * pow(2.0, k);
  for (int k = 0; k < 12; k++) e[k] = 2.3 / sqrt(S[k]);
  nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_PASS && fabs(res.slope + 0.5) < 1e-12,
        "slope test: exact S^-1/2 line passes (slope %.17g)", res.slope);
  for (int k = 0; k < 12; k++) e[k] = 2.3 * pow(S[k], -0.4);
  nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_FAIL, "slope test: exact S^-0.4 line fails (slope %.4g)",
        res.slope);
  for (int k = 0; k < 12; k++) e[k] = 2.3 / sqrt(S[k]) * exp(0.1 * gsl_ran_gaussian(r, 1.0));
  nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res);
  nzk_slope_print(stdout, "slope test: noisy S^-1/2 line passes", &res);
  vt_ok(res.verdict == NZK_VERDICT_PASS, "  (verdict of the line above)");
  for (int k = 0; k < 12; k++) e[k] = 2.3 * pow(S[k], -0.3) * exp(0.1 * gsl_ran_gaussian(r, 1.0));
  nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_FAIL, "slope test: noisy S^-0.3 line fails (slope %.3g +- %.3g)",
        res.slope, res.slope_se);
  for (int k = 0; k < 12; k++) e[k] = 2.3 / sqrt(S[k]) * exp(3.0 * gsl_ran_gaussian(r, 1.0));
  nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_FAIL, "slope test: a fit too noisy to tell fails (+- %.3g)",
        res.threshold * res.slope_se);

  vt_ok(nzk_check_slope(S, e, 2, -0.5, ALPHA, 0.2, &res) == GSL_EINVAL, "slope test: 2 points "
        "refused");
  vt_ok(nzk_check_slope(S, e, 6, -0.5, ALPHA, 0.2, &res) == GSL_EINVAL, "slope test: S over "
        "less than two decades (10 to 320) refused");
  e[3] = 0.0;
  vt_ok(nzk_check_slope(S, e, 12, -0.5, ALPHA, 0.2, &res) == GSL_EINVAL, "slope test: a zero "
        "error refused");
  e[3] = 1.0;
  vt_ok(nzk_check_slope(S, e, 12, -0.5, 0.0, 0.2, &res) == GSL_EINVAL, "slope test: alpha = 0 "
        "refused");
  gsl_rng_free(r);
}

static double rel_frobenius(const gsl_matrix *A, const gsl_matrix *F)
{
  double d = 0, f = 0;
  for (size_t k = 0; k < A->size1 * A->size2; k++) {
    d += (A->data[k] - F->data[k]) * (A->data[k] - F->data[k]);
    f += F->data[k] * F->data[k];
  }
  return sqrt(d / f);
}

/* Errors of independent estimates at S = 200 2^(k/2), k = 0..20. */
static void check_slope_case(const cal_case *c, uint64_t seed)
{
  enum { M = 21, REPS = 16 };
  const size_t n = 4, p = 3;
  gsl_rng *r = nzk_stream_alloc(seed, 6000);
  gsl_matrix *J = t1_features(r, n, p, 1);
  nzk_dir *z = t1_direction(&c->z, p, r);
  nzk_dir *zeta = c->scheme == NZK_SCHEME_PAIR ? t1_direction(&c->zeta, p, r) : NULL;
  gsl_matrix *est = gsl_matrix_alloc(n, n), *F = gsl_matrix_alloc(n, n);
  gsl_matrix *Fw = gsl_matrix_alloc(n, n), *F1 = gsl_matrix_alloc(n, n);
  double S[M], e[M], ew[M], e1[M];
  nzk_slope_result res;
  char name[120], dz[80];
  t1_describe(&c->z, dz, sizeof dz);
  snprintf(name, sizeof name, "%s, z %s", nzk_scheme_name(c->scheme), dz);

  nzk_kernel_expected(c->scheme, J, z, zeta, F);
  if (c->scheme == NZK_SCHEME_SHARED) nzk_kernel_expected(NZK_SCHEME_PLAIN, J, z, NULL, Fw);
  else if (c->scheme == NZK_SCHEME_PAIR) nzk_kernel_expected(NZK_SCHEME_SHARED, J, z, NULL, Fw);
  else nzk_kernel_ntk(J, Fw);
  gsl_matrix_memcpy(F1, F);
  gsl_matrix_scale(F1, 1.05);
  /* Root mean square over REPS independent estimates per S: E|est - F|^2
   * is tr Cov / S exactly, and averaging steadies the log of the error. */
  for (int k = 0; k < M; k++) {
    double s2 = 0, s2w = 0, s21 = 0;
    S[k] = round(200.0 * pow(2.0, 0.5 * k));
    for (int rep = 0; rep < REPS; rep++) {
      nzk_kernel_mc(c->scheme, J, z, zeta, (size_t)S[k], 1000, seed + 101 * k + 7 * rep, est,
                    NULL);
      s2 += pow(rel_frobenius(est, F), 2);
      s2w += pow(rel_frobenius(est, Fw), 2);
      s21 += pow(rel_frobenius(est, F1), 2);
    }
    e[k] = sqrt(s2 / REPS);
    ew[k] = sqrt(s2w / REPS);
    e1[k] = sqrt(s21 / REPS);
    nzk_log(NZK_LOG_INFO, "S = %g: rms error %.4g, vs wrong %.4g, vs 1%% %.4g", S[k], e[k], ew[k],
            e1[k]);
  }
  char line[200];
  snprintf(line, sizeof line, "slope %s: error ~ S^-1/2", name);
  nzk_check_slope(S, e, M, -0.5, ALPHA, 0.2, &res);
  nzk_slope_print(stdout, line, &res);
  vt_ok(res.verdict == NZK_VERDICT_PASS, "  (verdict of the line above)");
  nzk_check_slope(S, ew, M, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_FAIL, "control %s: error against the wrong formula does not "
        "fall as S^-1/2 (slope %.3g)", name, res.slope);
  nzk_check_slope(S, e1, M, -0.5, ALPHA, 0.2, &res);
  vt_ok(res.verdict == NZK_VERDICT_FAIL, "control %s: error against the 5%% perturbed formula "
        "levels off (slope %.3g +- %.3g)", name, res.slope, res.slope_se);

  gsl_matrix_free(est);
  gsl_matrix_free(F);
  gsl_matrix_free(Fw);
  gsl_matrix_free(F1);
  gsl_matrix_free(J);
  nzk_dir_free(z);
  nzk_dir_free(zeta);
  gsl_rng_free(r);
}

int main(void)
{
  uint64_t seed = vt_seed(20260404);
  const cal_case cases[] = {
    {NZK_SCHEME_PLAIN, {DIR_IID, "normal:scale=1.3", 0.2}, {DIR_IID, NULL, 0}},
    {NZK_SCHEME_PAIR, {DIR_IID, "uniform:scale=1.7319", 0.3},
     {DIR_IID, "rademacher:scale=0.9", 0.1}},
    {NZK_SCHEME_SHARED, {DIR_IID, "laplace:scale=0.61", 0.1}, {DIR_IID, NULL, 0}},
    {NZK_SCHEME_SHARED, {DIR_GAUSS_ANISO, NULL, 0.4}, {DIR_IID, NULL, 0}},
  };
  check_slope_unit(seed);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    check_calibration(&cases[k], seed + 1000 * k);
    check_slope_case(&cases[k], seed + 1000 * k);
  }
  return vt_finish();
}
