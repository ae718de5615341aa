/* stats_check.c: entry-wise z-scores with a Bonferroni threshold
 * (DESIGN.md section 4; see stats_check.h). */
#include "stats_check.h"
#include "nzk_error.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>

const char *nzk_verdict_name(nzk_verdict v)
{
  static const char *names[] = {"pass", "fail", "not testable", "undefined"};
  return (unsigned)v < 4 ? names[v] : "unknown";
}

double nzk_check_bonferroni_z(double alpha, size_t m)
{
  return gsl_cdf_ugaussian_Qinv(alpha / (2.0 * (double)(m ? m : 1)));
}

int nzk_check_zscores(const gsl_matrix *est, const gsl_matrix *se, const gsl_matrix *formula,
                      int symmetric, double alpha, nzk_check_result *res)
{
  const size_t r = est->size1, c = est->size2;
  if (se->size1 != r || se->size2 != c || formula->size1 != r || formula->size2 != c ||
      (symmetric && r != c))
    return NZK_FAIL(GSL_EBADLEN, "check: estimate %zux%zu, errors %zux%zu, formula %zux%zu", r, c,
                    se->size1, se->size2, formula->size1, formula->size2);
  if (!(alpha > 0 && alpha < 1))
    return NZK_FAIL(GSL_EINVAL, "check: alpha must lie in (0, 1), got %g", alpha);

  if (r == 0 || c == 0)
    return NZK_FAIL(GSL_EBADLEN, "check: nothing to test (%zu x %zu matrices)", r, c);
  memset(res, 0, sizeof *res);
  double worst = -1.0, diff2 = 0.0, ref2 = 0.0;
  size_t m = 0;
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < (symmetric ? i + 1 : c); j++) {
      double e = gsl_matrix_get(est, i, j), f = gsl_matrix_get(formula, i, j);
      double s = gsl_matrix_get(se, i, j), z;
      /* A non-finite estimate, formula or standard error never passes: an
       * infinite se would make every z zero, a NaN one would hide the entry. */
      if (!isfinite(e) || !isfinite(f) || !isfinite(s) || s < 0) z = INFINITY;
      else if (s > 0) z = fabs(e - f) / s;
      else z = (e == f) ? 0.0 : INFINITY;
      if (z > worst) {
        worst = z;
        res->worst_i = i;
        res->worst_j = j;
      }
      diff2 += (e - f) * (e - f) * (symmetric && i != j ? 2 : 1);
      ref2 += f * f * (symmetric && i != j ? 2 : 1);
      m++;
    }
  res->n_tests = m;
  res->alpha = alpha;
  res->statistic = worst;
  res->threshold = nzk_check_bonferroni_z(alpha, m);
  res->rel_frobenius = ref2 > 0 ? sqrt(diff2 / ref2) : sqrt(diff2);
  res->verdict = worst <= res->threshold ? NZK_VERDICT_PASS : NZK_VERDICT_FAIL;
  return 0;
}

void nzk_check_set_verdict(nzk_check_result *res, nzk_verdict v, const char *reason)
{
  memset(res, 0, sizeof *res);
  res->verdict = v;
  res->statistic = res->threshold = res->rel_frobenius = NAN;
  snprintf(res->reason, sizeof res->reason, "%s", reason ? reason : "");
}

void nzk_check_print(FILE *out, const char *name, const nzk_check_result *res)
{
  static const char *tags[] = {"PASS", "FAIL", "NOT TESTABLE", "UNDEFINED"};
  const char *tag = (unsigned)res->verdict < 4 ? tags[res->verdict] : "?";
  if (res->verdict == NZK_VERDICT_PASS || res->verdict == NZK_VERDICT_FAIL)
    fprintf(out, "%s %s: max|z| = %.3g %s %.3g (m = %zu, alpha = %g, rel. Frobenius %.3g)\n", tag,
            name, res->statistic, res->verdict == NZK_VERDICT_PASS ? "<=" : ">", res->threshold,
            res->n_tests, res->alpha, res->rel_frobenius);
  else
    fprintf(out, "%s %s: %s\n", tag, name, res->reason);
}

/* --- the S^(-1/2) slope test ------------------------------------------- */

static int slope_validate(const double *S, const double *err, size_t m, double alpha,
                          double max_halfwidth, double *span)
{
  if (m < 3) return NZK_FAIL(GSL_EINVAL, "slope test: needs at least 3 points, got %zu", m);
  if (!(alpha > 0 && alpha < 1) || !(max_halfwidth > 0))
    return NZK_FAIL(GSL_EINVAL, "slope test: alpha = %g must lie in (0, 1) and max_halfwidth = %g"
                    " be positive", alpha, max_halfwidth);
  double lo = INFINITY, hi = 0.0;
  for (size_t k = 0; k < m; k++) {
    if (!(S[k] > 0 && isfinite(S[k]) && err[k] > 0 && isfinite(err[k])))
      return NZK_FAIL(GSL_EINVAL, "slope test: point %zu (S = %g, error = %g) is not positive "
                      "and finite", k, S[k], err[k]);
    lo = fmin(lo, S[k]);
    hi = fmax(hi, S[k]);
  }
  *span = hi / lo;
  if (*span < 100.0)
    return NZK_FAIL(GSL_EINVAL, "slope test: S must span two decades, got %g to %g", lo, hi);
  return 0;
}

int nzk_check_slope(const double *n_draws, const double *err, size_t m, double expected,
                    double alpha, double max_halfwidth, nzk_slope_result *res)
{
  double span = 0.0;
  int status = slope_validate(n_draws, err, m, alpha, max_halfwidth, &span);
  if (status) return status;
  double *lx = malloc(2 * m * sizeof(double));
  if (!lx) return NZK_FAIL(GSL_ENOMEM, "slope test: out of memory");
  double *ly = lx + m;
  for (size_t k = 0; k < m; k++) {
    lx[k] = log(n_draws[k]);
    ly[k] = log(err[k]);
  }
  double c0, c1, cov00, cov01, cov11, sumsq;
  gsl_fit_linear(lx, 1, ly, 1, m, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
  free(lx);

  memset(res, 0, sizeof *res);
  res->slope = c1;
  res->intercept = c0;
  res->slope_se = sqrt(cov11);
  res->expected = expected;
  res->alpha = alpha;
  res->max_halfwidth = max_halfwidth;
  res->n_points = m;
  res->span = span;
  res->threshold = gsl_cdf_tdist_Qinv(alpha / 2.0, (double)(m - 2));
  /* A deviation at rounding level is none (exact data give se = 0). */
  double dev = fabs(c1 - expected);
  if (dev <= 64.0 * (double)m * DBL_EPSILON * (1.0 + fabs(expected))) dev = 0.0;
  res->statistic = res->slope_se > 0 ? dev / res->slope_se : (dev == 0 ? 0.0 : INFINITY);
  if (isnan(res->statistic)) res->statistic = INFINITY;
  if (res->statistic > res->threshold) {
    res->verdict = NZK_VERDICT_FAIL;
    snprintf(res->reason, sizeof res->reason, "slope differs from %g", expected);
  } else if (res->threshold * res->slope_se > max_halfwidth) {
    res->verdict = NZK_VERDICT_FAIL;
    snprintf(res->reason, sizeof res->reason, "slope too uncertain: +-%.3g > %.3g",
             res->threshold * res->slope_se, max_halfwidth);
  } else {
    res->verdict = NZK_VERDICT_PASS;
  }
  return 0;
}

void nzk_slope_print(FILE *out, const char *name, const nzk_slope_result *res)
{
  fprintf(out, "%s %s: slope %.4g +- %.3g vs %g (|t| = %.3g %s %.3g, %zu points over %.3g x "
          "in S, alpha = %g)%s%s\n", res->verdict == NZK_VERDICT_PASS ? "PASS" : "FAIL", name,
          res->slope, res->slope_se, res->expected, res->statistic,
          res->statistic <= res->threshold ? "<=" : ">", res->threshold, res->n_points,
          res->span, res->alpha, *res->reason ? ": " : "", res->reason);
}

/* --- T1 ------------------------------------------------------------------ */

/* Fill res with verdict v when `dir` lacks a moment of `order`. */
static int lacks_moment(const nzk_dir *dir, int order, nzk_verdict v, const char *what,
                        nzk_scheme scheme, nzk_check_result *res)
{
  if (nzk_dir_moment_exists(dir, order)) return 0;
  char desc[120], reason[sizeof res->reason];
  nzk_dir_describe(dir, desc, sizeof desc);
  snprintf(reason, sizeof reason, "%s of the %s kernel: %s has no moment of order %d", what,
           nzk_scheme_name(scheme), desc, order);
  nzk_check_set_verdict(res, v, reason);
  return 1;
}

int nzk_check_kernel_moments(nzk_scheme scheme, const nzk_dir *z, const nzk_dir *zeta,
                             nzk_check_result *res)
{
  const int pair = scheme == NZK_SCHEME_PAIR;
  const int mo = nzk_scheme_mean_order(scheme), vo = nzk_scheme_variance_order(scheme);
  const nzk_verdict U = NZK_VERDICT_UNDEFINED, N = NZK_VERDICT_NOT_TESTABLE;
  if (!zeta) zeta = z;
  if (lacks_moment(z, mo, U, "no expectation", scheme, res) ||
      (pair && lacks_moment(zeta, mo, U, "no expectation", scheme, res)))
    return 1;
  if (lacks_moment(z, vo, N, "infinite variance", scheme, res) ||
      (pair && lacks_moment(zeta, vo, N, "infinite variance", scheme, res)))
    return 1;
  return 0;
}

/* GSL_ERANGE when the kernel of these features and this law cannot be
 * tested in double precision: the formula is not finite, its entries are
 * so small that their squares (the variance sums) underflow, or the
 * estimate or its standard error overflowed (the accumulated squares of
 * kernel entries exceed DBL_MAX).  A z-test on such numbers would report
 * an infinite statistic or a vacuous z = 0. */
static int require_double_range(const gsl_matrix *F, const gsl_matrix *est, const gsl_matrix *se)
{
  double fmax_abs = 0.0;
  for (size_t k = 0; k < F->size1 * F->size2; k++) {
    size_t i = k / F->size2, j = k % F->size2;
    double f = gsl_matrix_get(F, i, j), e = gsl_matrix_get(est, i, j);
    double s = gsl_matrix_get(se, i, j);
    if (!isfinite(f) || !isfinite(e) || !isfinite(s))
      return NZK_FAIL(GSL_ERANGE, "the kernel's entries or their squares overflow double "
                      "precision (entry %zu,%zu); rescale the direction law or the features",
                      i, j);
    if (fabs(f) > fmax_abs) fmax_abs = fabs(f);
  }
  if (fmax_abs == 0)
    return NZK_FAIL(GSL_ERANGE, "the kernel formula is zero everywhere (features of zero "
                    "norm, or entries below double precision): nothing to test");
  if (fmax_abs < sqrt(DBL_MIN) * 1e8)
    return NZK_FAIL(GSL_ERANGE, "the kernel's entries (largest %g) are too small for their "
                    "squares to stay in double precision; rescale the direction law or the "
                    "features", fmax_abs);
  return 0;
}

int nzk_check_kernel(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z,
                     const nzk_dir *zeta, size_t n_draws, size_t batch, uint64_t seed,
                     double alpha, gsl_matrix *est, gsl_matrix *se, gsl_matrix *formula,
                     nzk_check_result *res)
{
  if (!(alpha > 0 && alpha < 1))
    return NZK_FAIL(GSL_EINVAL, "check: alpha must lie in (0, 1), got %g", alpha);
  int decided = nzk_check_kernel_moments(scheme, z, zeta, res);
  if (!decided && n_draws < NZK_CHECK_MIN_DRAWS) {
    char reason[sizeof res->reason];
    snprintf(reason, sizeof reason, "too few draws for the normal approximation (S = %zu < "
             "S_min = %d)", n_draws, NZK_CHECK_MIN_DRAWS);
    nzk_check_set_verdict(res, NZK_VERDICT_NOT_TESTABLE, reason);
    decided = 1;
  }
  int status = nzk_kernel_mc(scheme, J, z, zeta, n_draws, batch, seed, est, se);
  if (status) return status;
  if (decided) {
    gsl_matrix_set_all(se, NAN);
    if (res->verdict == NZK_VERDICT_UNDEFINED) gsl_matrix_set_all(formula, NAN);
    else if ((status = nzk_kernel_expected(scheme, J, z, zeta, formula))) return status;
    res->alpha = alpha;
    return 0;
  }
  status = nzk_kernel_expected(scheme, J, z, zeta, formula);
  if (status) return status;
  status = require_double_range(formula, est, se);
  if (status) return status;
  return nzk_check_zscores(est, se, formula, scheme != NZK_SCHEME_PAIR, alpha, res);
}
