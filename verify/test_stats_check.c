/* test_stats_check.c: the decision rule of DESIGN.md section 4 on inputs
 * built by hand.  Estimates placed at z just below and just above the
 * Bonferroni threshold must pass and fail; anything non-finite (estimate,
 * formula, standard error) must fail, never pass; an empty check is an
 * error; and the accumulator's standard error must not turn an overflowed
 * (NaN) variance into a zero error bar. */
#include "kernel.h"
#include "nzk_error.h"
#include "stats_check.h"
#include "vtest.h"

#include <float.h>
#include <math.h>

/* 3 x 3 symmetric case: formula F, se 0.25 everywhere, estimate F + z se
 * at entry (2,1) and F elsewhere; m = 6 distinct entries. */
static nzk_verdict verdict_with(double z, double se_value, double est_override)
{
  gsl_matrix *F = gsl_matrix_alloc(3, 3), *E = gsl_matrix_alloc(3, 3);
  gsl_matrix *S = gsl_matrix_alloc(3, 3);
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++) gsl_matrix_set(F, i, j, 1.7319 + (double)(i + j));
  gsl_matrix_memcpy(E, F);
  gsl_matrix_set_all(S, 0.25);
  gsl_matrix_set(E, 2, 1, gsl_matrix_get(F, 2, 1) + z * 0.25);
  gsl_matrix_set(S, 2, 1, se_value);
  if (est_override != 0) gsl_matrix_set(E, 2, 1, est_override);
  nzk_check_result res;
  nzk_check_zscores(E, S, F, 1, 1e-4, &res);
  gsl_matrix_free(F);
  gsl_matrix_free(E);
  gsl_matrix_free(S);
  return res.verdict;
}

int main(void)
{
  /* Phi^-1(1 - 0.05/2) = 1.959963984540054 (two-sided 5 %, one test). */
  vt_rel(nzk_check_bonferroni_z(0.05, 1), 1.959963984540054, 1e-12,
         "Bonferroni z for alpha = 0.05, m = 1");
  double zstar = nzk_check_bonferroni_z(1e-4, 6);
  vt_ok(verdict_with(0.999 * zstar, 0.25, 0) == NZK_VERDICT_PASS,
        "z = 0.999 z* passes (z* = %.4f, m = 6)", zstar);
  vt_ok(verdict_with(1.001 * zstar, 0.25, 0) == NZK_VERDICT_FAIL, "z = 1.001 z* fails");
  vt_ok(verdict_with(-1.001 * zstar, 0.25, 0) == NZK_VERDICT_FAIL, "z = -1.001 z* fails");
  vt_ok(verdict_with(5.0, INFINITY, 0) == NZK_VERDICT_FAIL, "an infinite standard error fails");
  vt_ok(verdict_with(0.0, NAN, 0) == NZK_VERDICT_FAIL,
        "a NaN standard error fails even where est = formula");
  vt_ok(verdict_with(0.0, 0.25, NAN) == NZK_VERDICT_FAIL, "a NaN estimate fails");
  vt_ok(verdict_with(0.0, -0.25, 0) == NZK_VERDICT_FAIL, "a negative standard error fails");
  vt_ok(verdict_with(0.0, 0.0, 0) == NZK_VERDICT_PASS, "se = 0 with est = formula passes");
  vt_ok(verdict_with(1e-9, 0.0, 0) == NZK_VERDICT_FAIL, "se = 0 with est != formula fails");

  gsl_matrix_view empty = gsl_matrix_view_array((double[1]){0}, 1, 1);
  empty.matrix.size1 = empty.matrix.size2 = 0;
  nzk_check_result res;
  vt_ok(nzk_check_zscores(&empty.matrix, &empty.matrix, &empty.matrix, 1, 1e-4, &res) ==
        GSL_EBADLEN, "an empty check is an error, not a pass");

  /* Kernel entries of 1e160 overflow the sum of squares: the variance is
   * NaN (inf - inf) and so must be the standard error. */
  nzk_kacc *acc = nzk_kacc_alloc(2, 4);
  gsl_matrix *V = gsl_matrix_alloc(4, 2), *M = gsl_matrix_alloc(2, 2), *S = gsl_matrix_alloc(2, 2);
  for (size_t s = 0; s < 4; s++) {
    gsl_matrix_set(V, s, 0, 1e80 * (1.0 + (double)s));
    gsl_matrix_set(V, s, 1, -3e80 * (double)(s % 2));
  }
  nzk_kacc_add(acc, V, NULL, NULL);
  nzk_kacc_result(acc, M, S);
  double se00 = gsl_matrix_get(S, 0, 0);
  vt_ok(!(se00 == 0.0), "overflowed variance does not become a zero standard error (se %g)",
        se00);
  nzk_kacc_free(acc);
  gsl_matrix_free(V);
  gsl_matrix_free(M);
  gsl_matrix_free(S);
  return vt_finish();
}
