/* test_t3b_variance.c: T3b of DESIGN.md section 3 (beyond the paper).
 *
 * Plain scheme, z ~ N(0, Sigma), A = X Sigma X^T, c = eta/n:
 *   E[r' r'^T] = R - c(AR + RA) + c^2 (tr(RA) A + 2 ARA).
 * Part 1, spread: R independent ZO runs at eta = eta* / 2; at every record
 * step the sample variance s2 of each residual coordinate is tested
 * against the predicted variance R_ii - (E r_i)^2.  Residual coordinates
 * are not Gaussian (products of random rank-one updates), so a chi-square
 * interval would be wrong; we use the distribution-free standard error of
 * the sample variance,  se^2 = (m4 - s2^2 (R-3)/(R-1)) / R,  m4 the sample
 * fourth central moment (valid because r_t is a polynomial in Gaussian
 * draws, so its 8th moment is finite), Bonferroni over all coordinates
 * and records at alpha = 1e-4.  E|r_t|^2 = tr R is tested the same way
 * with the standard error of a mean.  That se is itself checked against
 * the spread of the variance estimates of 40 disjoint groups of runs
 * (window from chi-square quantiles, see se_window; se x 2.5 and / 2.5
 * are its negative controls).
 * Negative control: runs with Laplace and Rademacher entries of the same
 * variance (same mean dynamics, different 4th moment) must be rejected by
 * the Gaussian recursion.
 * Part 2, stability: the recursion's limit eta* (dynamics.h) must keep
 * every run bounded below it, and runs must blow up beyond F eta*, with F
 * measured here on a 5% grid and reported; F must stay below the
 * first-moment limit 2n/lambda_max(A), whose "stable" prediction at 0.9
 * of it is the negative control (it must see runs blow up). */
#include "dynamics.h"
#include "kernel.h"
#include "train.h"
#include "train_fixture.h"
#include "vtest.h"

#include <stdio.h>
#include <gsl/gsl_cdf.h>

#define R_RUNS 2000
#define N_REC 4
/* Groups of the se calibration (R_RUNS / CAL_GROUPS = 50 runs each): the
 * window of q is chi-square based (see se_window), and 39 degrees of
 * freedom make it narrow enough to reject an se off by a factor 2.5. */
#define CAL_GROUPS 40
static const size_t rec[N_REC] = {5, 20, 60, 150};

typedef struct {
  gsl_matrix *var, *mean; /* predicted, N_REC x n */
  double ms[N_REC];       /* predicted E|r_t|^2 */
} prediction;

static prediction predict(const gsl_matrix *A, const gsl_vector *r0, double eta)
{
  const size_t n = A->size1;
  prediction p = {gsl_matrix_alloc(N_REC, n), gsl_matrix_alloc(N_REC, n), {0}};
  nzk_secmom *sm = nzk_secmom_alloc(A);
  nzk_secmom_set_r0(sm, r0);
  for (size_t k = 0; k < N_REC; k++) {
    nzk_secmom_advance(sm, eta, rec[k] - nzk_secmom_steps(sm));
    gsl_vector_view v = gsl_matrix_row(p.var, k), m = gsl_matrix_row(p.mean, k);
    nzk_secmom_get(sm, NULL, &m.vector, &v.vector);
    p.ms[k] = nzk_secmom_mean_square(sm);
  }
  nzk_secmom_free(sm);
  return p;
}

/* Sample variances of runs [j0, j0 + m) and their standard errors. */
static void sample_variance(const double *out, size_t R, size_t j0, size_t m, size_t n,
                            gsl_matrix *s2, gsl_matrix *se)
{
  for (size_t k = 0; k < N_REC; k++)
    for (size_t i = 0; i < n; i++) {
      double mu = 0.0, v = 0.0, q = 0.0;
      for (size_t j = j0; j < j0 + m; j++) mu += out[(k * R + j) * n + i];
      mu /= (double)m;
      for (size_t j = j0; j < j0 + m; j++) {
        double e = out[(k * R + j) * n + i] - mu;
        v += e * e;
        q += e * e * e * e;
      }
      v /= (double)(m - 1);
      q /= (double)m;
      double var_s2 = (q - v * v * (double)(m - 3) / (double)(m - 1)) / (double)m;
      gsl_matrix_set(s2, k, i, v);
      gsl_matrix_set(se, k, i, sqrt(vt_nan_max(var_s2, 0.0)));
    }
}

/* E|r_t|^2 at each record against the prediction (1 x N_REC z-test). */
static void mean_square_check(const double *out, size_t R, size_t n, const prediction *p,
                              nzk_check_result *res)
{
  gsl_matrix *est = gsl_matrix_alloc(1, N_REC), *se = gsl_matrix_alloc(1, N_REC);
  gsl_matrix *f = gsl_matrix_alloc(1, N_REC);
  for (size_t k = 0; k < N_REC; k++) {
    double s = 0.0, s2 = 0.0;
    for (size_t j = 0; j < R; j++) {
      double q = 0.0;
      for (size_t i = 0; i < n; i++) q += out[(k * R + j) * n + i] * out[(k * R + j) * n + i];
      s += q;
      s2 += q * q;
    }
    double m = s / (double)R;
    gsl_matrix_set(est, 0, k, m);
    gsl_matrix_set(se, 0, k, sqrt((s2 / (double)R - m * m) / (double)(R - 1)));
    gsl_matrix_set(f, 0, k, p->ms[k]);
  }
  nzk_check_zscores(est, se, f, 0, NZK_CHECK_ALPHA_DEFAULT, res);
  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(f);
}

/* Is the 4th-moment se honest?  Over G disjoint groups of runs, the
 * empirical variance of the G group estimates s2_g, divided by the mean
 * of their squared se_g, is ~1 when the se is right (a chi-square with
 * G - 1 degrees of freedom over G - 1 per entry); returned averaged over
 * the entries.  Dividing by the mean se^2 rather than by each se_g keeps
 * a noisy small-group se from inflating the ratio (Jensen).  se_factor
 * scales every se_g (1 for the check, != 1 for its negative controls). */
static double se_calibration(const double *out, size_t R, size_t n, double se_factor)
{
  const size_t m = R / CAL_GROUPS;
  gsl_matrix *s2[CAL_GROUPS], *se[CAL_GROUPS];
  for (size_t g = 0; g < CAL_GROUPS; g++) {
    s2[g] = gsl_matrix_alloc(N_REC, n);
    se[g] = gsl_matrix_alloc(N_REC, n);
    sample_variance(out, R, g * m, m, n, s2[g], se[g]);
    gsl_matrix_scale(se[g], se_factor);
  }
  double q = 0.0;
  for (size_t e = 0; e < N_REC * n; e++) {
    double avg = 0.0, spread = 0.0, se2 = 0.0;
    for (size_t g = 0; g < CAL_GROUPS; g++) avg += s2[g]->data[e] / CAL_GROUPS;
    for (size_t g = 0; g < CAL_GROUPS; g++) {
      spread += (s2[g]->data[e] - avg) * (s2[g]->data[e] - avg) / (CAL_GROUPS - 1);
      se2 += se[g]->data[e] * se[g]->data[e] / CAL_GROUPS;
    }
    q += spread / se2;
  }
  for (size_t g = 0; g < CAL_GROUPS; g++) {
    gsl_matrix_free(s2[g]);
    gsl_matrix_free(se[g]);
  }
  return q / (double)(N_REC * n);
}

/* Acceptance window of se_calibration's q.  Each entry's ratio is
 * chi2_{G-1} / (G-1) when the se is right (s2_g of 50 runs is close to
 * normal); q averages N_REC x n such ratios, which are correlated (same
 * runs), with unknown correlation.  The conservative case is full
 * correlation, q itself ~ chi2_{G-1} / (G-1), whose two-sided quantiles
 * at alpha = 1e-4 are the window: (0.348, 2.131) for G = 40, so an
 * se wrong by a factor 2.5 (q x 6.25 or / 6.25) falls outside.  Observed
 * with the default seed and NZK_SEED = 1..6, q stayed in 0.91..1.26. */
static void se_window(double *lo, double *hi)
{
  const double a = NZK_CHECK_ALPHA_DEFAULT, dof = CAL_GROUPS - 1;
  *lo = gsl_cdf_chisq_Pinv(a / 2, dof) / dof;
  *hi = gsl_cdf_chisq_Qinv(a / 2, dof) / dof;
}

static void run_spread(const fixture *fx, const nzk_dir *z, double eta, uint64_t seed,
                       double *out)
{
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = NZK_SCHEME_PLAIN;
  par.z = z;
  par.eta = eta;
  par.seed = seed;
  size_t div = ensemble_run(fx, &par, R_RUNS, rec, N_REC, out);
  if (div) vt_ok(0, "%zu of %d runs diverged at eta = %g", div, R_RUNS, eta);
}

/* Part 1 for the Gaussian law `z` (and, if `controls`, laws with the same
 * covariance but other 4th moments, which must be rejected). */
static void check_spread(const fixture *fx, const nzk_dir *z, const char *name,
                         const char **controls, uint64_t seed)
{
  const size_t n = fx->n;
  gsl_matrix *A = gsl_matrix_alloc(n, n);
  gsl_matrix *s2 = gsl_matrix_alloc(N_REC, n), *se = gsl_matrix_alloc(N_REC, n);
  gsl_vector *r0 = gsl_vector_alloc(n);
  double *out = malloc(R_RUNS * N_REC * n * sizeof(double)), eta_max;
  nzk_kernel_expected(NZK_SCHEME_PLAIN, fx->X, z, NULL, A); /* A = X Sigma X^T */
  nzk_secmom *sm = nzk_secmom_alloc(A);
  nzk_secmom_stability_eta(sm, &eta_max);
  nzk_secmom_free(sm);
  const double eta = 0.5 * eta_max;
  fixture_r0(fx, r0);
  prediction p = predict(A, r0, eta);

  nzk_check_result res;
  run_spread(fx, z, eta, seed, out);
  sample_variance(out, R_RUNS, 0, R_RUNS, n, s2, se);
  nzk_check_zscores(s2, se, p.var, 0, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "T3b %s, eta = eta*/2: variances of %d runs = recursion",
             name, R_RUNS);
  mean_square_check(out, R_RUNS, n, &p, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "T3b %s: E|r_t|^2 of %d runs = tr R_t", name, R_RUNS);
  double lo, hi, q = se_calibration(out, R_RUNS, n, 1.0);
  se_window(&lo, &hi);
  vt_ok(q > lo && q < hi, "T3b %s: 4th-moment se vs spread of %d groups, mean square %.3f in "
        "(%.3f, %.3f)", name, CAL_GROUPS, q, lo, hi);
  q = se_calibration(out, R_RUNS, n, 2.5);
  vt_ok(!(q > lo && q < hi), "negative control: se x 2.5 rejected by the calibration, %.3f "
        "outside (%.3f, %.3f)", q, lo, hi);
  q = se_calibration(out, R_RUNS, n, 1.0 / 2.5);
  vt_ok(!(q > lo && q < hi), "negative control: se / 2.5 rejected by the calibration, %.3f "
        "outside (%.3f, %.3f)", q, lo, hi);

  for (int c = 0; controls && controls[c]; c++) {
    nzk_law law;
    nzk_law_parse(controls[c], &law);
    nzk_dir *zc = nzk_dir_alloc_iid(&law, fx->d);
    run_spread(fx, zc, eta, seed + 1 + (uint64_t)c, out);
    sample_variance(out, R_RUNS, 0, R_RUNS, n, s2, se);
    nzk_check_zscores(s2, se, p.var, 0, NZK_CHECK_ALPHA_DEFAULT, &res);
    vt_verdict(&res, NZK_VERDICT_FAIL, "T3b negative control: %s runs (same covariance) "
               "rejected by the Gaussian recursion", controls[c]);
    nzk_dir_free(zc);
  }
  free(out);
  gsl_matrix_free(p.var);
  gsl_matrix_free(p.mean);
  gsl_matrix_free(A);
  gsl_matrix_free(s2);
  gsl_matrix_free(se);
  gsl_vector_free(r0);
}

#define R_STAB 100
#define T_STAB 2000
#define RUNAWAY 1e12

/* Runs (of R_STAB) that exceed RUNAWAY x the initial loss scale within
 * T_STAB steps at step size eta. */
static size_t blown_up(const fixture *fx, const nzk_dir *z, double eta, uint64_t seed)
{
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.z = z;
  par.eta = eta;
  par.seed = seed;
  par.runaway_factor = RUNAWAY;
  const size_t T[1] = {T_STAB};
  double *out = malloc(R_STAB * fx->n * sizeof(double));
  size_t div = ensemble_run(fx, &par, R_STAB, T, 1, out);
  free(out);
  return div;
}

/* Part 2.  Below eta*, E|r_t|^2 <= G |r_0|^2 with G = max_t of the
 * recursion's ratio (1 at most here, computed below), so by Markov a run
 * exceeds the bound at a given step with probability <= G / RUNAWAY and
 * R_STAB x T_STAB steps give at most 2e5 G / 1e12: no run may blow up. */
static void check_stability(const fixture *fx, const nzk_dir *z, const char *name, uint64_t seed)
{
  const size_t n = fx->n;
  gsl_matrix *A = gsl_matrix_alloc(n, n);
  gsl_vector *r0 = gsl_vector_alloc(n);
  double eta_max;
  nzk_kernel_expected(NZK_SCHEME_PLAIN, fx->X, z, NULL, A);
  nzk_secmom *sm = nzk_secmom_alloc(A);
  nzk_secmom_stability_eta(sm, &eta_max);
  fixture_r0(fx, r0);
  nzk_secmom_set_r0(sm, r0);
  double G = 1.0, ms0 = nzk_secmom_mean_square(sm);
  for (size_t t = 0; t < T_STAB; t++) {
    nzk_secmom_advance(sm, 0.9 * eta_max, 1);
    G = vt_nan_max(G, nzk_secmom_mean_square(sm) / ms0);
  }
  nzk_closed *cf = nzk_closed_alloc(A);
  const double eta_mean = 2.0 * (double)n / gsl_vector_get(nzk_closed_eigenvalues(cf), n - 1);
  nzk_closed_free(cf);

  size_t b = blown_up(fx, z, 0.9 * eta_max, seed);
  vt_ok(b == 0, "T3b %s: at 0.9 eta* = %.4g no run of %d blows up in %d steps (%zu; Markov "
        "bound %.2g)", name, 0.9 * eta_max, R_STAB, T_STAB, b,
        (double)R_STAB * T_STAB * G / RUNAWAY);
  double F = 1.0;
  while (F < eta_mean / eta_max && blown_up(fx, z, F * eta_max, seed) < R_STAB / 2) F *= 1.05;
  printf("MEASURED T3b %s: eta* = %.6g, first-moment limit = %.6g (%.3g eta*), half of %d runs "
         "blow up within %d steps from F = %.3g eta*\n", name, eta_max, eta_mean,
         eta_mean / eta_max, R_STAB, T_STAB, F);
  vt_ok(F > 1.0 && F < eta_mean / eta_max, "T3b %s: blow-up factor F = %.3g lies in (1, %.3g), "
        "between eta* and the first-moment limit", name, F, eta_mean / eta_max);
  b = blown_up(fx, z, 0.9 * eta_mean, seed);
  vt_ok(b >= R_STAB / 2, "T3b negative control %s: first-moment theory calls 0.9 x %.4g stable, "
        "yet %zu of %d runs blow up", name, eta_mean, b, R_STAB);
  nzk_secmom_free(sm);
  gsl_matrix_free(A);
  gsl_vector_free(r0);
}

static nzk_dir *correlated_gaussian(size_t p)
{
  gsl_matrix *S = gsl_matrix_alloc(p, p);
  for (size_t i = 0; i < p; i++)
    for (size_t j = 0; j < p; j++)
      gsl_matrix_set(S, i, j,
                     (i == j ? 1.1 + 0.37 * (double)i : 0.0) + 0.23 * cos((double)(i + j)));
  nzk_dir *z = nzk_dir_alloc_gaussian(NULL, S);
  gsl_matrix_free(S);
  return z;
}

int main(void)
{
  const uint64_t seed = vt_seed(47);
  fixture fx = fixture_make(20, 5, 0.05, seed);
  nzk_law law = nzk_law_normal(1.3);
  nzk_dir *iid = nzk_dir_alloc_iid(&law, fx.d), *corr = correlated_gaussian(fx.d);
  /* same variance 1.69 as normal:scale=1.3 */
  const char *controls[] = {"laplace:scale=0.91923881554251186", "rademacher:scale=1.3", NULL};
  check_spread(&fx, iid, "N(0, 1.69 I)", controls, seed + 1);
  check_spread(&fx, corr, "N(0, Sigma)", NULL, seed + 2);
  check_stability(&fx, iid, "N(0, 1.69 I)", seed + 3);
  check_stability(&fx, corr, "N(0, Sigma)", seed + 4);
  nzk_dir_free(iid);
  nzk_dir_free(corr);
  fixture_free(&fx);
  return vt_finish();
}
