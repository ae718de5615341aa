/* stats_check.c: entry-wise z-scores with a Bonferroni threshold
 * (DESIGN.md section 4; see stats_check.h). */
#include "stats_check.h"
#include "nzk_error.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_cdf.h>

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

  memset(res, 0, sizeof *res);
  double worst = -1.0, diff2 = 0.0, ref2 = 0.0;
  size_t m = 0;
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < (symmetric ? i + 1 : c); j++) {
      double e = gsl_matrix_get(est, i, j), f = gsl_matrix_get(formula, i, j);
      double s = gsl_matrix_get(se, i, j), z;
      if (s > 0) z = fabs(e - f) / s;
      else z = (e == f) ? 0.0 : INFINITY;
      if (isnan(z)) z = INFINITY; /* a NaN estimate must never pass */
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
