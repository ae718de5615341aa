/* test_t2_invariance.c: T2 of DESIGN.md section 3 on real ZO training runs.
 *
 * A linear model has the constant Jacobian J = X, so the expected kernel
 * of every step is the same.  We train one linear model per (scheme, law)
 * by parameter-space ZO (forward passes only) and collect, at every step,
 * the kernel realised by its draws, K_t = coef_t (J_t z_t)(J_t zeta_t)^T
 * with J_t the model's Jacobian at theta_t (nzk_model_jacobian; X for a
 * correct linear model), in an accumulator per window of steps
 * (nzk_kacc: the rows v_t = J_t z_t, w_t = J_t zeta_t, c_t = coef_t; no n x n
 * matrix per step).  Checks, entry-wise z-scores with Bonferroni at
 * alpha = 1e-4 (stats_check.h):
 *  - each window's mean kernel equals T1's formula J M J^T;
 *  - every later window agrees with the first, z = (K_w - K_1) /
 *    sqrt(se_w^2 + se_1^2), at alpha / (windows - 1) each;
 *  - negative controls: the whole run's kernel is rejected by the formula
 *    of another scheme (shared for plain and pair, plain for shared), and
 *    by its own formula scaled by 1 + 6 x (worst relative se).
 * Steps use independent streams (train.h), so the per-step kernels of a
 * window are i.i.d. and the accumulator's standard errors apply; all laws
 * used have the 8th moments the shared scheme's variance needs. */
#include "kernel.h"
#include "train.h"
#include "train_fixture.h"
#include "vtest.h"

#include <stdio.h>
#include "nzk_blas.h"

#define WINDOWS 4
#define STEPS_PER_WINDOW 10000
#define BATCH 250

typedef struct {
  nzk_kacc *win[WINDOWS], *all;
  gsl_matrix *V, *W; /* BATCH x n */
  double c[BATCH];
  size_t fill;
} kernel_log;

/* Append the last step's v = J_t z, w = J_t zeta, c; J_t is the model's
 * Jacobian at the parameters the step started from (n x d).  Flush full
 * batches into both the window's accumulator and the whole run's. */
static void log_step(kernel_log *lg, const gsl_matrix *J, const nzk_step_info *in, size_t w)
{
  const size_t n = J->size1, d = J->size2;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, J->data, (int)J->tda,
              in->z, 1, 0.0, gsl_matrix_ptr(lg->V, lg->fill, 0), 1);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, J->data, (int)J->tda,
              in->zeta, 1, 0.0, gsl_matrix_ptr(lg->W, lg->fill, 0), 1);
  lg->c[lg->fill++] = in->coef;
  if (lg->fill < BATCH) return;
  nzk_kacc_add(lg->win[w], lg->V, lg->W, lg->c);
  nzk_kacc_add(lg->all, lg->V, lg->W, lg->c);
  lg->fill = 0;
}

/* z-test of (ma - mb) against 0 with se = sqrt(sa^2 + sb^2); ma and sa
 * are overwritten with the difference and its se. */
static void compare_windows(gsl_matrix *ma, gsl_matrix *sa, const gsl_matrix *mb,
                            const gsl_matrix *sb, int sym, double alpha, nzk_check_result *res)
{
  gsl_matrix *zero = gsl_matrix_calloc(ma->size1, ma->size2);
  gsl_matrix_sub(ma, mb);
  for (size_t k = 0; k < sa->size1 * sa->size2; k++) /* full matrices: tda == size2 */
    sa->data[k] = hypot(sa->data[k], sb->data[k]);
  nzk_check_zscores(ma, sa, zero, sym, alpha, res);
  gsl_matrix_free(zero);
}

/* One ZO run of WINDOWS x STEPS_PER_WINDOW steps, kernels logged. */
static void train_and_log(const fixture *fx, nzk_scheme scheme, const nzk_dir *z, double eta,
                          uint64_t seed, kernel_log *lg)
{
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = scheme;
  par.z = z;
  par.eta = eta;
  par.seed = seed;
  nzk_trainer *t = nzk_trainer_alloc(fx->model, fx->X, fx->y, &par);
  int status = nzk_trainer_init(t, fx->theta0, 0);
  double loss0 = 0.0, loss1 = 0.0;
  nzk_trainer_loss(t, &loss0);
  /* The kernel of each step is built from the model's own Jacobian at
   * theta_t (not from the fixed X), so a model whose Jacobian drifted
   * during training would show it: invariance is tested, not assumed. */
  gsl_matrix *J = gsl_matrix_alloc(fx->n, fx->d);
  for (size_t w = 0; w < WINDOWS; w++)
    for (size_t s = 0; s < STEPS_PER_WINDOW && !status; s++) {
      status = nzk_model_jacobian(fx->model, nzk_trainer_theta(t), fx->X, J);
      if (!status) status = nzk_trainer_step(t);
      if (!status) log_step(lg, J, nzk_trainer_last(t), w);
    }
  gsl_matrix_free(J);
  if (!status) status = nzk_trainer_loss(t, &loss1);
  vt_ok(status == 0 && loss1 < loss0, "%s run of %d steps trains without diverging: loss "
        "%.4g -> %.4g", nzk_scheme_name(scheme), WINDOWS * STEPS_PER_WINDOW, loss0, loss1);
  nzk_trainer_free(t);
}

static void free_log(kernel_log *lg)
{
  for (size_t w = 0; w < WINDOWS; w++) nzk_kacc_free(lg->win[w]);
  nzk_kacc_free(lg->all);
  gsl_matrix_free(lg->V);
  gsl_matrix_free(lg->W);
}

/* The three checks of the file comment on the logged kernels. */
static void judge(const kernel_log *lg, const gsl_matrix *Kbar, const gsl_matrix *Kwrong,
                  int sym, const char *name)
{
  const size_t n = Kbar->size1;
  const double alpha = NZK_CHECK_ALPHA_DEFAULT;
  gsl_matrix *m1 = gsl_matrix_alloc(n, n), *s1 = gsl_matrix_alloc(n, n);
  gsl_matrix *m = gsl_matrix_alloc(n, n), *s = gsl_matrix_alloc(n, n);
  nzk_check_result res;
  nzk_kacc_result(lg->win[0], m1, s1);
  for (size_t w = 0; w < WINDOWS; w++) {
    nzk_kacc_result(lg->win[w], m, s);
    nzk_check_zscores(m, s, Kbar, sym, alpha, &res);
    vt_verdict(&res, NZK_VERDICT_PASS, "T2 %s: window %zu (steps %zu..%zu) = J M J^T", name, w,
               w * STEPS_PER_WINDOW, (w + 1) * STEPS_PER_WINDOW - 1);
    if (w == 0) continue;
    compare_windows(m, s, m1, s1, sym, alpha / (WINDOWS - 1), &res);
    vt_verdict(&res, NZK_VERDICT_PASS, "T2 %s: window %zu agrees with window 0", name, w);
  }
  nzk_kacc_result(lg->all, m, s);
  nzk_check_zscores(m, s, Kwrong, sym, alpha, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "T2 negative control %s: whole run rejected by another "
             "scheme's formula", name);
  /* power: the formula scaled by 1 + 6 w, w the worst relative se of the
   * whole run, shifts every entry by >= 6 of its se and must be rejected;
   * the printed factor is the resolution of the check (a few percent) */
  double worst = 0.0;
  for (size_t k = 0; k < n * n; k++) /* Kbar > 0: the features lie in the positive orthant */
    worst = vt_nan_max(worst, s->data[k] / fabs(Kbar->data[k]));
  gsl_matrix *Kp = gsl_matrix_alloc(n, n);
  gsl_matrix_memcpy(Kp, Kbar);
  gsl_matrix_scale(Kp, 1.0 + 6.0 * worst);
  nzk_check_zscores(m, s, Kp, sym, alpha, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "T2 negative control %s: formula x %.4f rejected", name,
             1.0 + 6.0 * worst);
  gsl_matrix_free(Kp);
  gsl_matrix_free(m1);
  gsl_matrix_free(s1);
  gsl_matrix_free(m);
  gsl_matrix_free(s);
}

static void check_config(const fixture *fx, nzk_scheme scheme, const char *spec, uint64_t seed)
{
  const size_t n = fx->n;
  const nzk_scheme wrong = scheme == NZK_SCHEME_SHARED ? NZK_SCHEME_PLAIN : NZK_SCHEME_SHARED;
  char name[96];
  snprintf(name, sizeof name, "%s %s", nzk_scheme_name(scheme), spec);
  nzk_law law;
  nzk_law_parse(spec, &law);
  nzk_dir *z = nzk_dir_alloc_iid(&law, fx->d);
  kernel_log lg = {{NULL}, nzk_kacc_alloc(n, BATCH), gsl_matrix_alloc(BATCH, n),
                   gsl_matrix_alloc(BATCH, n), {0}, 0};
  for (size_t w = 0; w < WINDOWS; w++) lg.win[w] = nzk_kacc_alloc(n, BATCH);
  gsl_matrix *Kbar = gsl_matrix_alloc(n, n), *Kwrong = gsl_matrix_alloc(n, n);
  nzk_kernel_expected(scheme, fx->X, z, NULL, Kbar);
  nzk_kernel_expected(wrong, fx->X, z, NULL, Kwrong);

  /* eta with c tr(Kbar) = 0.01, so c lambda_max <= 0.01: the run trains
   * steadily and never diverges */
  double tr = 0.0;
  for (size_t i = 0; i < n; i++) tr += gsl_matrix_get(Kbar, i, i);
  train_and_log(fx, scheme, z, 0.01 * (double)n / tr, seed, &lg);
  judge(&lg, Kbar, Kwrong, scheme != NZK_SCHEME_PAIR, name);

  free_log(&lg);
  nzk_dir_free(z);
  gsl_matrix_free(Kbar);
  gsl_matrix_free(Kwrong);
}

int main(void)
{
  const uint64_t seed = vt_seed(53);
  fixture fx = fixture_make(15, 4, 0.05, seed);
  const char *laws[] = {"normal:scale=1.3", "laplace:scale=0.6", "rademacher:scale=1.2"};
  for (int s = 0; s < 3; s++)
    for (int l = 0; l < 3; l++) check_config(&fx, (nzk_scheme)s, laws[l], seed + 10 + 3 * s + l);
  fixture_free(&fx);
  return vt_finish();
}
