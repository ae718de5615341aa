/* test_t3_mean.c: T3 of DESIGN.md section 3 on real parameter-space ZO runs.
 *
 * For a linear model the draws of step t are independent of r_t, so
 *     E r_t = (I - (eta/n) Kbar)^t r_0,
 * Kbar the expected kernel of the scheme and law.  For each scheme
 * (plain, pair, shared) and law (Normal, Laplace, Rademacher) we run R
 * independent ZO runs (forward passes only) and test the mean residual
 * at every record step against the closed form, entry by entry:
 * z = (mean - prediction) / (s / sqrt(R)), s the spread of the R runs,
 * Bonferroni over the n x (record steps) entries at alpha = 1e-4.
 * Every coordinate of r_t is a polynomial of bounded degree in the draws,
 * so it has all moments the law has (4th moments suffice for the CLT
 * with a consistent s; all three laws have them).
 * Negative control: the FO prediction (Kbar replaced by the NTK X X^T)
 * must be rejected for every configuration.  The law scales are chosen
 * != 1 so that M2 != I and the plain kernel differs from the NTK. */
#include "dynamics.h"
#include "kernel.h"
#include "train.h"
#include "train_fixture.h"
#include "vtest.h"

#include <stdio.h>

#define R_RUNS 500
#define N_REC 5
static const size_t rec[N_REC] = {3, 10, 30, 100, 300};

/* Closed-form mean residuals at the record steps (N_REC x n) for K. */
static void predict(const gsl_matrix *K, const gsl_vector *r0, double eta, gsl_matrix *pred)
{
  nzk_closed *cf = nzk_closed_alloc(K);
  nzk_closed_set_r0(cf, r0);
  for (size_t k = 0; k < N_REC; k++) {
    gsl_vector_view row = gsl_matrix_row(pred, k);
    nzk_closed_residual(cf, eta, (double)rec[k], NZK_EVOLVE_STEPS, &row.vector);
  }
  nzk_closed_free(cf);
}

static void check_config(const fixture *fx, nzk_scheme scheme, const char *spec, uint64_t seed)
{
  const size_t n = fx->n;
  nzk_law law;
  nzk_law_parse(spec, &law);
  nzk_dir *z = nzk_dir_alloc_iid(&law, fx->d);
  gsl_matrix *Kbar = gsl_matrix_alloc(n, n), *Kfo = gsl_matrix_alloc(n, n);
  gsl_matrix *pred = gsl_matrix_alloc(N_REC, n), *mean = gsl_matrix_alloc(N_REC, n);
  gsl_matrix *se = gsl_matrix_alloc(N_REC, n);
  gsl_vector *r0 = gsl_vector_alloc(n), *lam = gsl_vector_alloc(n);
  double *out = malloc(R_RUNS * N_REC * n * sizeof(double));
  nzk_kernel_expected(scheme, fx->X, z, NULL, Kbar);
  nzk_kernel_ntk(fx->X, Kfo);
  fixture_r0(fx, r0);

  /* eta with c lambda_max(Kbar) = 0.03: the top mode decays 1e-4 by t = 300 */
  nzk_closed *cf = nzk_closed_alloc(Kbar);
  const double lmax = gsl_vector_get(nzk_closed_eigenvalues(cf), n - 1);
  nzk_closed_free(cf);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = scheme;
  par.z = z;
  par.eta = 0.03 * (double)n / lmax;
  par.seed = seed;
  size_t div = ensemble_run(fx, &par, R_RUNS, rec, N_REC, out);
  vt_ok(div == 0, "%s %s: %d runs of %zu steps, none diverged (%zu)", nzk_scheme_name(scheme),
        spec, R_RUNS, rec[N_REC - 1], div);

  ensemble_moments(out, R_RUNS, N_REC, n, mean, se, NULL);
  for (size_t k = 0; k < N_REC * n; k++) se->data[k] = sqrt(se->data[k] / R_RUNS);
  nzk_check_result res;
  predict(Kbar, r0, par.eta, pred);
  nzk_check_zscores(mean, se, pred, 0, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "T3 %s %s: mean of %d runs = (I - c Kbar)^t r0",
             nzk_scheme_name(scheme), spec, R_RUNS);
  predict(Kfo, r0, par.eta, pred);
  nzk_check_zscores(mean, se, pred, 0, NZK_CHECK_ALPHA_DEFAULT, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "T3 negative control %s %s: FO kernel prediction rejected",
             nzk_scheme_name(scheme), spec);

  free(out);
  nzk_dir_free(z);
  gsl_matrix_free(Kbar);
  gsl_matrix_free(Kfo);
  gsl_matrix_free(pred);
  gsl_matrix_free(mean);
  gsl_matrix_free(se);
  gsl_vector_free(r0);
  gsl_vector_free(lam);
}

int main(void)
{
  const uint64_t seed = vt_seed(31);
  fixture fx = fixture_make(20, 5, 0.05, seed);
  const char *laws[] = {"normal:scale=1.3", "laplace:scale=0.6", "rademacher:scale=1.2"};
  for (int s = 0; s < 3; s++)
    for (int l = 0; l < 3; l++) check_config(&fx, (nzk_scheme)s, laws[l], seed + 100 + 3 * s + l);
  fixture_free(&fx);
  return vt_finish();
}
