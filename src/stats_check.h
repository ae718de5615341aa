/* stats_check.h: how a statistical check decides (DESIGN.md section 4).
 *
 * An estimate with per-entry standard errors is compared with a formula
 * entry by entry: z_k = (est_k - formula_k) / se_k.  With m distinct
 * entries and family-wise level alpha, the Bonferroni threshold is
 * z* = Phi^{-1}(1 - alpha / (2m)); the check passes when max |z_k| <= z*.
 * Verdicts "undefined" (the expectation does not exist) and "not testable"
 * (the estimator has infinite variance, so its standard error means
 * nothing) are decided by the caller from the moment flags and recorded
 * with nzk_check_set_verdict; a check never reports "pass" for them. */
#ifndef NZK_STATS_CHECK_H
#define NZK_STATS_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <gsl/gsl_matrix.h>

typedef enum {
  NZK_VERDICT_PASS = 0,
  NZK_VERDICT_FAIL,
  NZK_VERDICT_NOT_TESTABLE,
  NZK_VERDICT_UNDEFINED
} nzk_verdict;

typedef struct {
  nzk_verdict verdict;
  double statistic; /* max |z| over the tested entries */
  double threshold; /* Bonferroni z* */
  double alpha;     /* family-wise level */
  size_t n_tests;   /* distinct entries tested */
  size_t worst_i, worst_j;
  double rel_frobenius; /* |est - formula|_F / |formula|_F */
  char reason[200];     /* why, for undefined / not testable */
} nzk_check_result;

/* Default family-wise level of DESIGN.md section 4. */
#define NZK_CHECK_ALPHA_DEFAULT 1e-4

const char *nzk_verdict_name(nzk_verdict v);

/* Two-sided Bonferroni z threshold for m tests at family-wise alpha. */
double nzk_check_bonferroni_z(double alpha, size_t m);

/* Entry-wise z-test of est (with standard errors se) against formula; all
 * three r x c.  If `symmetric` is nonzero (square matrices), only entries
 * with j <= i are tested.  An entry with se == 0 counts as z = 0 when est
 * equals the formula exactly and as z = inf otherwise.
 * Returns 0 and fills res; GSL_EBADLEN on shape mismatch; GSL_EINVAL for
 * alpha outside (0, 1). */
int nzk_check_zscores(const gsl_matrix *est, const gsl_matrix *se, const gsl_matrix *formula,
                      int symmetric, double alpha, nzk_check_result *res);

/* Record a verdict that was decided without a test (undefined or not
 * testable), with a reason. */
void nzk_check_set_verdict(nzk_check_result *res, nzk_verdict v, const char *reason);

/* One line: "PASS name: max|z| = 2.31 <= 4.56 (m = 1275, alpha = 1e-4)". */
void nzk_check_print(FILE *out, const char *name, const nzk_check_result *res);

#endif
