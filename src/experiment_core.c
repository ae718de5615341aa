/* experiment_core.c: the linear-in-theta experiment shared by every row of
 * DESIGN.md section 5 (experiment.h, nzk_xp_linear_run).
 *
 * For f = J theta under the squared loss every method is kernel gradient
 * descent on the residual r = f - y (DESIGN.md sections 1-3):
 *   FO                     r <- (I - c J J^T) r,          c = eta / n
 *   ZO kernel GD           r <- (I - c E K) r             (closed form, T3)
 *   ZO runs (one seed)     r <- (I - c K_t) r,  K_t the kernel of step t's draws
 * so the mean of the runs must follow the kernel-GD residual (T3), which is
 * checked with a t-test per coordinate and record step (the standard error
 * comes from the R runs, so the threshold is Student's with R - 1 degrees
 * of freedom, Bonferroni over all tested entries).  The negative control
 * predicts the same runs with another scheme's kernel and must fail. */
#include "experiment.h"
#include "dynamics.h"
#include "kernel.h"
#include "model_linear.h"
#include "nzk_error.h"
#include "report.h"
#include "report_io.h"
#include "rng_stream.h"
#include "stats_check.h"
#include "train.h"
#include "zo_exact.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#define N_SCHEMES 3
#define MC_BATCH 256

/* Everything one run of the core computes. */
typedef struct {
  const nzk_xp_linear *set;
  size_t n, p, npts;
  size_t rec[NZK_XP_N_RECORD];
  size_t t3[NZK_XP_N_RECORD];  /* T3 test steps T / 2^8 .. T (geometric) */
  size_t *pts;                 /* npts curve steps */
  gsl_vector *r0, *y_eff;      /* r0 = f0 - y; y_eff = y - f0 (targets from theta0 = 0) */
  gsl_matrix *ntk, *ek[N_SCHEMES], *mc_est, *mc_se;
  int ek_ok[N_SCHEMES];
  nzk_dir *dir;
  /* curves: column 0 step, then methods (see method_names) */
  gsl_matrix *curves;
  /* runs: per scheme R x npts losses, R x (n * N_RECORD) residuals */
  gsl_matrix *run_loss[N_SCHEMES + 1], *run_res[N_SCHEMES];
  size_t diverged[N_SCHEMES + 1];
  gsl_matrix *snap;            /* n x (2 + N_RECORD): index, y, f at record steps */
  double step_factor[16];      /* by column: (eta/n) lambda_max of its kernel GD */
} core;

enum { COL_FO = 1, COL_KGD_PLAIN, COL_KGD_PAIR, COL_KGD_SHARED, COL_KGD_MC, COL_ZO_PLAIN,
       COL_ZO_PAIR, COL_ZO_SHARED, COL_BEST, N_COLS };

static const char *method_names[N_COLS] = {
    "step", "FO (NTK GD)", "kernel GD E K plain", "kernel GD E K pair",
    "kernel GD E K shared", "kernel GD shared (MC NZK)", "ZO runs plain (mean)",
    "ZO runs pair (mean)", "ZO runs shared (mean)", "best-of-K baseline (mean)"};

static void core_free(core *c)
{
  free(c->pts);
  gsl_vector_free(c->r0);
  gsl_vector_free(c->y_eff);
  gsl_matrix_free(c->ntk);
  for (int s = 0; s < N_SCHEMES; s++) {
    gsl_matrix_free(c->ek[s]);
    gsl_matrix_free(c->run_res[s]);
  }
  for (int s = 0; s <= N_SCHEMES; s++) gsl_matrix_free(c->run_loss[s]);
  gsl_matrix_free(c->mc_est);
  gsl_matrix_free(c->mc_se);
  gsl_matrix_free(c->curves);
  gsl_matrix_free(c->snap);
  nzk_dir_free(c->dir);
}

static int core_alloc(core *c, const nzk_xp_linear *set)
{
  memset(c, 0, sizeof *c);
  c->set = set;
  c->n = set->J->size1;
  c->p = set->J->size2;
  c->npts = set->steps < 160 ? set->steps + 1 : 161;
  nzk_xp_record_steps(set->steps, c->rec);
  /* T3 is tested at geometric steps: the early ones carry the information
   * (the runs and every prediction have often converged by T/8). */
  for (size_t k = 0; k < NZK_XP_N_RECORD; k++) {
    size_t t = set->steps >> (NZK_XP_N_RECORD - 1 - k);
    c->t3[k] = t ? t : 1;
  }
  c->pts = malloc(c->npts * sizeof *c->pts);
  c->r0 = gsl_vector_alloc(c->n);
  c->y_eff = gsl_vector_alloc(c->n);
  c->ntk = gsl_matrix_alloc(c->n, c->n);
  c->mc_est = gsl_matrix_alloc(c->n, c->n);
  c->mc_se = gsl_matrix_alloc(c->n, c->n);
  c->curves = gsl_matrix_alloc(c->npts, N_COLS);
  c->snap = gsl_matrix_alloc(c->n, 2 + NZK_XP_N_RECORD);
  c->dir = nzk_dir_alloc_iid(&set->law, c->p);
  if (!c->pts || !c->r0 || !c->y_eff || !c->ntk || !c->mc_est || !c->mc_se || !c->curves ||
      !c->snap || !c->dir)
    return NZK_FAIL(GSL_ENOMEM, "%s: out of memory", set->id);
  for (size_t k = 0; k < c->npts; k++) {
    c->pts[k] = (set->steps * k + (c->npts - 1) / 2) / (c->npts - 1);
    gsl_matrix_set(c->curves, k, 0, (double)c->pts[k]);
  }
  gsl_matrix_set_all(c->curves, NAN);
  for (size_t k = 0; k < c->npts; k++) gsl_matrix_set(c->curves, k, 0, (double)c->pts[k]);
  for (size_t i = 0; i < c->n; i++) {
    double f0 = set->f0 ? gsl_vector_get(set->f0, i) : 0.0;
    gsl_vector_set(c->r0, i, f0 - gsl_vector_get(set->y, i));
    gsl_vector_set(c->y_eff, i, gsl_vector_get(set->y, i) - f0);
  }
  return 0;
}

/* NTK and the expected kernel of each scheme; a scheme whose expectation
 * does not exist keeps ek_ok = 0 (verdict "undefined" later). */
static int core_kernels(core *c)
{
  int status = nzk_kernel_ntk(c->set->J, c->ntk);
  for (int s = 0; s < N_SCHEMES && !status; s++) {
    c->ek[s] = gsl_matrix_alloc(c->n, c->n);
    if (!c->ek[s]) return NZK_FAIL(GSL_ENOMEM, "out of memory");
    int st = nzk_kernel_expected((nzk_scheme)s, c->set->J, c->dir, NULL, c->ek[s]);
    if (st == GSL_EDOM) continue;
    status = st;
    c->ek_ok[s] = !st;
  }
  nzk_error_clear();
  return status;
}

/* Loss curve and record-step residuals of kernel GD with K into column col. */
static int closed_curve(core *c, const gsl_matrix *K, int col, int snapshot)
{
  nzk_closed *cf = nzk_closed_alloc(K);
  if (!cf) return nzk_error_code();
  int status = nzk_closed_set_r0(cf, c->r0);
  const gsl_vector *ev = nzk_closed_eigenvalues(cf);
  c->step_factor[col] = c->set->eta / (double)c->n * gsl_vector_get(ev, ev->size - 1);
  for (size_t k = 0; k < c->npts && !status; k++) {
    double loss;
    status = nzk_closed_loss(cf, c->set->eta, (double)c->pts[k], NZK_EVOLVE_STEPS, &loss);
    gsl_matrix_set(c->curves, k, (size_t)col, loss);
  }
  gsl_vector *r = gsl_vector_alloc(c->n);
  for (size_t j = 0; snapshot && j < NZK_XP_N_RECORD && !status; j++) {
    status = nzk_closed_residual(cf, c->set->eta, (double)c->rec[j], NZK_EVOLVE_STEPS, r);
    for (size_t i = 0; i < c->n; i++)
      gsl_matrix_set(c->snap, i, 2 + j, gsl_vector_get(r, i) + gsl_vector_get(c->set->y, i));
  }
  gsl_vector_free(r);
  nzk_closed_free(cf);
  return status;
}

/* Symmetric copy (K + K^T)/2, for closed forms of estimated kernels. */
static gsl_matrix *symmetrised(const gsl_matrix *K)
{
  gsl_matrix *S = gsl_matrix_alloc(K->size1, K->size2);
  if (!S) return NULL;
  for (size_t i = 0; i < K->size1; i++)
    for (size_t j = 0; j < K->size2; j++)
      gsl_matrix_set(S, i, j, 0.5 * (gsl_matrix_get(K, i, j) + gsl_matrix_get(K, j, i)));
  return S;
}

/* --- parameter-space runs ----------------------------------------------- */

/* One run of the reference trainer (forward passes); losses at the curve
 * steps into lrow, residuals at the record steps into rrow (may be NULL). */
static int run_reference(core *c, nzk_scheme scheme, size_t run, double *lrow, double *rrow)
{
  const nzk_xp_linear *set = c->set;
  nzk_model *m = nzk_model_linear_alloc(c->p);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = scheme;
  par.z = c->dir;
  par.eta = set->eta;
  par.seed = set->mc_draws * 1000003u + 17u + (uint64_t)scheme;
  par.runaway_factor = NZK_XP_RUNAWAY;
  /* For f = J theta the residual depends on theta - theta0 only, so the run
   * starts at 0 with targets y - f0: the same residuals as from theta0. */
  nzk_trainer *t = m ? nzk_trainer_alloc(m, set->J, c->y_eff, &par) : NULL;
  double *theta0 = calloc(c->p, sizeof *theta0);
  int status = (!t || !theta0) ? GSL_ENOMEM : 0;
  if (!status) status = nzk_trainer_init(t, theta0, run);
  size_t ip = 0, ir = 0;
  for (size_t step = 0; !status && step <= set->steps; step++) {
    if (ip < c->npts && c->pts[ip] == step) {
      status = nzk_trainer_loss(t, &lrow[ip++]);
    }
    while (!status && rrow && ir < NZK_XP_N_RECORD && c->t3[ir] == step) {
      const double *r;
      status = nzk_trainer_residual(t, &r);
      if (!status) memcpy(rrow + c->n * ir++, r, c->n * sizeof *r);
    }
    if (!status && step < set->steps) status = nzk_trainer_step(t);
  }
  nzk_trainer_free(t);
  nzk_model_free(m);
  free(theta0);
  return status;
}

/* One run through the exact-law stepper (isotropic Gaussian laws). */
static int run_exact(core *c, nzk_zox *zx, nzk_zox_kind kind, size_t run, double *lrow,
                     double *rrow)
{
  const nzk_xp_linear *set = c->set;
  gsl_rng *rng = nzk_stream_alloc(set->mc_draws * 7919u + 101u + (uint64_t)kind, run);
  if (!rng) return GSL_ENOMEM;
  int status = nzk_zox_set_r0(zx, c->r0);
  /* the reference trainer's divergence rule (train.h) with the same
   * factor: loss above NZK_XP_RUNAWAY max(L0, |y|^2 / 2n) or not finite */
  double bound = NZK_XP_RUNAWAY * fmax(fmax(nzk_zox_loss(zx), gsl_blas_dnrm2(set->y) *
                                 gsl_blas_dnrm2(set->y) / (2.0 * (double)c->n)), DBL_MIN);
  size_t ip = 0, ir = 0;
  gsl_vector_view rv;
  for (size_t step = 0; !status && step <= set->steps; step++) {
    double loss = nzk_zox_loss(zx);
    if (!(loss <= bound)) {
      status = NZK_FAIL(GSL_ERUNAWAY, "%s: %s run %zu diverged at step %zu", set->id,
                        nzk_zox_kind_name(kind), (size_t)run, step);
      break;
    }
    if (ip < c->npts && c->pts[ip] == step) lrow[ip++] = loss;
    while (!status && rrow && ir < NZK_XP_N_RECORD && c->t3[ir] == step) {
      rv = gsl_vector_view_array(rrow + c->n * ir++, c->n);
      status = nzk_zox_residual(zx, &rv.vector);
    }
    if (!status && step < set->steps)
      status = nzk_zox_step(zx, kind, set->eta, set->best_k, rng);
  }
  gsl_rng_free(rng);
  return status;
}

/* R runs of one scheme (or the baseline, slot N_SCHEMES). */
static int core_runs(const nzk_exp_config *cfg, core *c, int slot, nzk_zox *zx)
{
  const size_t R = c->set->runs;
  c->run_loss[slot] = gsl_matrix_alloc(R, c->npts);
  if (slot < N_SCHEMES) c->run_res[slot] = gsl_matrix_alloc(R, c->n * NZK_XP_N_RECORD);
  if (!c->run_loss[slot] || (slot < N_SCHEMES && !c->run_res[slot]))
    return NZK_FAIL(GSL_ENOMEM, "out of memory for %zu runs", R);
  for (size_t run = 0; run < R; run++) {
    nzk_xp_progress(cfg, "%s: %s run %zu/%zu", c->set->id,
                    slot < N_SCHEMES ? nzk_scheme_name((nzk_scheme)slot) : "best-of-K", run + 1,
                    R);
    double *lrow = gsl_matrix_ptr(c->run_loss[slot], run, 0);
    double *rrow = slot < N_SCHEMES ? gsl_matrix_ptr(c->run_res[slot], run, 0) : NULL;
    int st = zx ? run_exact(c, zx, slot < N_SCHEMES ? (nzk_zox_kind)slot : NZK_ZOX_BEST, run,
                            lrow, rrow)
                : run_reference(c, (nzk_scheme)slot, run, lrow, rrow);
    if (st == GSL_ERUNAWAY) {
      c->diverged[slot]++;
      for (size_t k = 0; k < c->npts; k++) lrow[k] = NAN;
      nzk_error_clear();
      continue;
    }
    if (st) return st;
  }
  return 0;
}

/* Mean over the runs that stayed finite, per column, and their standard
 * deviation by two passes (converged runs agree to 1e-10, where the
 * one-pass sum of squares cancels to zero). */
static double column_mean(const gsl_matrix *M, size_t col, double *sd)
{
  double sum = 0, ss = 0;
  size_t cnt = 0;
  for (size_t r = 0; r < M->size1; r++) {
    double v = gsl_matrix_get(M, r, col);
    if (isfinite(v)) {
      sum += v;
      cnt++;
    }
  }
  double mean = cnt ? sum / (double)cnt : NAN;
  for (size_t r = 0; sd && r < M->size1; r++) {
    double v = gsl_matrix_get(M, r, col);
    if (isfinite(v)) ss += (v - mean) * (v - mean);
  }
  if (sd) *sd = cnt > 1 ? sqrt(ss / (double)(cnt - 1)) : NAN;
  return mean;
}

/* --- checks ------------------------------------------------------------- */

/* The kernel a negative control predicts with: another scheme's expected
 * kernel when it differs from K by at least 20 % (Frobenius), else 2 K
 * (plain and shared coincide, e.g. for p = 2 and sigma = 1/2, where
 * (p+2) sigma^4 = sigma^2).  Returns a new matrix and its name. */
static gsl_matrix *wrong_kernel(const core *c, int scheme, int other, char *name, size_t len)
{
  const gsl_matrix *K = c->ek[scheme];
  gsl_matrix *W = gsl_matrix_alloc(c->n, c->n);
  if (!W) return NULL;
  double num = 0, den = 0;
  if (c->ek_ok[other])
    for (size_t k = 0; k < c->n * c->n; k++) {
      double d = c->ek[other]->data[k] - K->data[k];
      num += d * d;
      den += K->data[k] * K->data[k];
    }
  if (c->ek_ok[other] && num > 0.04 * den) {
    gsl_matrix_memcpy(W, c->ek[other]);
    snprintf(name, len, "E K %s", nzk_scheme_name((nzk_scheme)other));
  } else {
    gsl_matrix_memcpy(W, K);
    gsl_matrix_scale(W, 2.0);
    snprintf(name, len, "2 x E K %s (the %s kernel equals it here)",
             nzk_scheme_name((nzk_scheme)scheme), nzk_scheme_name((nzk_scheme)other));
  }
  return W;
}

/* T3: mean residual of the runs at the T3 steps against the closed form
 * with kernel K; t threshold with R - 1 degrees of freedom.  The standard
 * error gets a rounding floor: T steps of accumulated rounding,
 * 16 T DBL_EPSILON max|r0|, under which converged runs cannot be told
 * apart from the closed form. */
static int t3_check(core *c, int scheme, const gsl_matrix *K, nzk_check_result *res)
{
  const size_t n = c->n, R = c->set->runs, m = NZK_XP_N_RECORD;
  gsl_matrix *est = gsl_matrix_alloc(m, n), *se = gsl_matrix_alloc(m, n);
  gsl_matrix *pred = gsl_matrix_alloc(m, n);
  gsl_vector *r = gsl_vector_alloc(n);
  nzk_closed *cf = nzk_closed_alloc(K);
  int status = (!est || !se || !pred || !r || !cf) ? GSL_ENOMEM : 0;
  const double floor = 16.0 * (double)c->set->steps * DBL_EPSILON *
                       fabs(gsl_vector_get(c->r0, gsl_blas_idamax(c->r0)));
  if (!status) status = nzk_closed_set_r0(cf, c->r0);
  for (size_t j = 0; j < m && !status; j++) {
    status = nzk_closed_residual(cf, c->set->eta, (double)c->t3[j], NZK_EVOLVE_STEPS, r);
    for (size_t i = 0; i < n; i++) {
      double sd, mean = column_mean(c->run_res[scheme], n * j + i, &sd);
      double s_err = sd / sqrt((double)R);
      gsl_matrix_set(est, j, i, mean);
      gsl_matrix_set(se, j, i, sqrt(s_err * s_err + floor * floor));
      gsl_matrix_set(pred, j, i, gsl_vector_get(r, i));
    }
  }
  if (!status) status = nzk_check_zscores(est, se, pred, 0, NZK_CHECK_ALPHA_DEFAULT, res);
  if (!status && !isfinite(res->statistic)) {
    nzk_check_set_verdict(res, NZK_VERDICT_NOT_TESTABLE, "the spread of the runs is not "
                          "finite in double precision");
    return status;
  }
  if (!status) {
    size_t kept = R - c->diverged[scheme];
    res->threshold = gsl_cdf_tdist_Qinv(res->alpha / (2.0 * (double)res->n_tests),
                                        (double)(kept > 2 ? kept - 1 : 1));
    res->verdict = res->statistic <= res->threshold ? NZK_VERDICT_PASS : NZK_VERDICT_FAIL;
    snprintf(res->reason, sizeof res->reason, "max |t| over %zu entries, t(%zu) threshold",
             res->n_tests, kept - 1);
  }
  nzk_closed_free(cf);
  gsl_vector_free(r);
  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(pred);
  return status;
}

/* T1 for the shared scheme on this J, and its negative control (the plain
 * formula); the heatmap figure. */
static int core_t1(const nzk_exp_config *cfg, core *c, json_t *exp)
{
  nzk_check_result res, neg;
  gsl_matrix *formula = gsl_matrix_alloc(c->n, c->n);
  if (!formula) return GSL_ENOMEM;
  nzk_xp_progress(cfg, "%s: Monte Carlo NZK, %zu draws", c->set->id, c->set->mc_draws);
  int status = nzk_check_kernel(NZK_SCHEME_SHARED, c->set->J, c->dir, NULL, c->set->mc_draws,
                                MC_BATCH, cfg->seed + 11, NZK_CHECK_ALPHA_DEFAULT, c->mc_est,
                                c->mc_se, formula, &res);
  if (!status) status = nzk_exp_add_verdict(exp, "T1", "shared MC NZK vs M4 formula", &res,
                                            NZK_VERDICT_PASS);
  if (!status && res.verdict == NZK_VERDICT_PASS && c->ek_ok[NZK_SCHEME_SHARED]) {
    char wname[160], name[220];
    gsl_matrix *W = wrong_kernel(c, NZK_SCHEME_SHARED, NZK_SCHEME_PLAIN, wname, sizeof wname);
    status = W ? nzk_check_zscores(c->mc_est, c->mc_se, W, 1, NZK_CHECK_ALPHA_DEFAULT, &neg)
               : GSL_ENOMEM;
    snprintf(name, sizeof name, "negative control: shared MC NZK vs %s", wname);
    if (!status) status = nzk_exp_add_verdict(exp, "T1", name, &neg, NZK_VERDICT_FAIL);
    gsl_matrix_free(W);
  }
  if (!status && res.verdict == NZK_VERDICT_PASS)
    status = nzk_xp_plot_heatmap(cfg, exp, "heatmap", c->mc_est, c->mc_se, formula,
                                 "shared NZK");
  gsl_matrix_free(formula);
  return status;
}

/* --- tables, figures and text ------------------------------------------- */

/* Losses at the record steps: one row per method that ran. */
static json_t *loss_table(core *c)
{
  const char *names[1 + NZK_XP_N_RECORD];
  char labels[NZK_XP_N_RECORD][32];
  const char *units[1 + NZK_XP_N_RECORD] = {""};
  names[0] = "method";
  for (size_t j = 0; j < NZK_XP_N_RECORD; j++) {
    snprintf(labels[j], sizeof labels[j], "L(t=%zu)", c->rec[j]);
    names[1 + j] = labels[j];
    units[1 + j] = "";
  }
  json_t *t = nzk_table_new("losses", "Training loss (1/2n)|f - y|^2 at the record steps "
                            "(ZO runs: mean over seeds)", 1 + NZK_XP_N_RECORD, names, units);
  for (int col = COL_FO; t && col < N_COLS; col++) {
    /* the curve holds every record step: record steps are curve steps */
    if (!isfinite(gsl_matrix_get(c->curves, 0, (size_t)col))) continue;
    json_t *row = nzk_table_add_row(t);
    nzk_row_str(row, method_names[col]);
    for (size_t j = 0; j < NZK_XP_N_RECORD; j++) {
      size_t k = 0;
      while (k + 1 < c->npts && c->pts[k] < c->rec[j]) k++;
      nzk_row_real(row, gsl_matrix_get(c->curves, k, (size_t)col));
    }
  }
  return t;
}

/* Band data: step, then mean / 10 % / 90 % quantile of each scheme's runs. */
static int band_figure(const nzk_exp_config *cfg, core *c, json_t *exp)
{
  static const char *bn[] = {"step", "ZO plain (mean, 10-90 %)", "lo", "hi",
                             "ZO pair (mean, 10-90 %)", "lo", "hi",
                             "ZO shared (mean, 10-90 %)", "lo", "hi"};
  gsl_matrix *B = gsl_matrix_alloc(c->npts, 10);
  double *buf = malloc(c->set->runs * sizeof *buf);
  if (!B || !buf) return GSL_ENOMEM;
  for (size_t k = 0; k < c->npts; k++) {
    gsl_matrix_set(B, k, 0, (double)c->pts[k]);
    for (int s = 0; s < N_SCHEMES; s++) {
      size_t cnt = 0;
      for (size_t r = 0; r < c->set->runs; r++) {
        double v = gsl_matrix_get(c->run_loss[s], r, k);
        if (isfinite(v)) buf[cnt++] = v;
      }
      gsl_sort(buf, 1, cnt);
      gsl_matrix_set(B, k, 1 + 3 * (size_t)s, column_mean(c->run_loss[s], k, NULL));
      double lo = cnt ? gsl_stats_quantile_from_sorted_data(buf, 1, cnt, 0.1) : NAN;
      double hi = cnt ? gsl_stats_quantile_from_sorted_data(buf, 1, cnt, 0.9) : NAN;
      gsl_matrix_set(B, k, 2 + 3 * (size_t)s, lo);
      gsl_matrix_set(B, k, 3 + 3 * (size_t)s, hi);
    }
  }
  char title[300];
  snprintf(title, sizeof title, "%s: parameter-space ZO runs, %zu seeds per scheme",
           c->set->title, c->set->runs);
  int status = nzk_xp_plot_curves(cfg, exp, "zo_runs", title,
                                  "Real ZO runs: mean loss over seeds with the band between the "
                                  "10 % and 90 % quantiles.", bn, B, 1);
  gsl_matrix_free(B);
  free(buf);
  return status;
}

/* f at the record steps of kernel GD with the estimated NZK, examples sorted
 * by target. */
static int snapshot_figure(const nzk_exp_config *cfg, core *c, json_t *exp)
{
  size_t *perm = malloc(c->n * sizeof *perm);
  gsl_matrix *S = gsl_matrix_alloc(c->n, 2 + NZK_XP_N_RECORD);
  const char *names[2 + NZK_XP_N_RECORD];
  char labels[NZK_XP_N_RECORD][32];
  if (!perm || !S) return GSL_ENOMEM;
  gsl_sort_index(perm, c->set->y->data, c->set->y->stride, c->n);
  names[0] = "i";
  names[1] = "target y";
  for (size_t j = 0; j < NZK_XP_N_RECORD; j++) {
    snprintf(labels[j], sizeof labels[j], "f at t=%zu", c->rec[j]);
    names[2 + j] = labels[j];
  }
  for (size_t i = 0; i < c->n; i++) {
    gsl_matrix_set(S, i, 0, (double)i);
    gsl_matrix_set(S, i, 1, gsl_vector_get(c->set->y, perm[i]));
    for (size_t j = 0; j < NZK_XP_N_RECORD; j++)
      gsl_matrix_set(S, i, 2 + j, gsl_matrix_get(c->snap, perm[i], 2 + j));
  }
  char title[300];
  snprintf(title, sizeof title, "%s: function evolution under ZO kernel GD (MC NZK)",
           c->set->title);
  int status = nzk_xp_plot_snapshots(cfg, exp, "evolution", title, names, S);
  free(perm);
  gsl_matrix_free(S);
  return status;
}

static void set_settings(json_t *exp, const nzk_xp_linear *set, size_t n, size_t p)
{
  char law[128];
  nzk_xp_law_label(&set->law, law, sizeof law);
  nzk_exp_set_setting_real(exp, "n", (double)n);
  nzk_exp_set_setting_real(exp, "p", (double)p);
  nzk_exp_set_setting_real(exp, "steps", (double)set->steps);
  nzk_exp_set_setting_real(exp, "eta", set->eta);
  nzk_exp_set_setting_real(exp, "mc_draws", (double)set->mc_draws);
  nzk_exp_set_setting_real(exp, "runs", (double)set->runs);
  nzk_exp_set_setting_str(exp, "direction law", law);
  nzk_exp_set_setting_str(exp, "ZO runs by", set->use_exact_law
                          ? "exact-law function-space stepper (zo_exact.h)"
                          : "forward passes in parameter space (train.h)");
  if (set->best_k) nzk_exp_set_setting_real(exp, "best_k", (double)set->best_k);
}

/* The T3 checks of each scheme with its negative control. */
static int core_t3(core *c, json_t *exp)
{
  static const int other[N_SCHEMES] = {NZK_SCHEME_SHARED, NZK_SCHEME_SHARED, NZK_SCHEME_PLAIN};
  int status = 0;
  char name[400];
  for (int s = 0; s < N_SCHEMES && !status; s++) {
    nzk_check_result res;
    if (!c->run_res[s]) continue;
    if (c->ek_ok[s] && c->diverged[s]) {
      /* E r_t still follows the closed form, but runs that blow up make the
       * sample mean meaningless: second-moment instability (T3b).  The
       * expected verdicts stay those of the design (pass, and fail for the
       * control), so the untested checks show as not reached. */
      char why[200];
      memset(&res, 0, sizeof res);
      snprintf(why, sizeof why, "%zu of %zu runs diverged (second-moment instability); the "
               "mean of the runs cannot be tested", c->diverged[s], c->set->runs);
      nzk_check_set_verdict(&res, NZK_VERDICT_NOT_TESTABLE, why);
      snprintf(name, sizeof name, "mean residual of %s runs vs closed form (E K %s)",
               nzk_scheme_name(s), nzk_scheme_name(s));
      status = nzk_exp_add_verdict(exp, "T3", name, &res, NZK_VERDICT_PASS);
      snprintf(name, sizeof name, "negative control: %s runs vs closed form with another "
               "scheme's kernel", nzk_scheme_name(s));
      if (!status) status = nzk_exp_add_verdict(exp, "T3", name, &res, NZK_VERDICT_FAIL);
      continue;
    }
    if (!c->ek_ok[s]) {
      memset(&res, 0, sizeof res);
      nzk_check_set_verdict(&res, NZK_VERDICT_UNDEFINED, "the expected kernel does not exist");
      snprintf(name, sizeof name, "mean residual of %s runs vs closed form", nzk_scheme_name(s));
      status = nzk_exp_add_verdict(exp, "T3", name, &res, NZK_VERDICT_UNDEFINED);
      continue;
    }
    status = t3_check(c, s, c->ek[s], &res);
    snprintf(name, sizeof name, "mean residual of %s runs vs closed form (E K %s)",
             nzk_scheme_name(s), nzk_scheme_name(s));
    if (!status) status = nzk_exp_add_verdict(exp, "T3", name, &res, NZK_VERDICT_PASS);
    if (status) continue;
    char wname[160];
    gsl_matrix *W = wrong_kernel(c, s, other[s], wname, sizeof wname);
    status = W ? t3_check(c, s, W, &res) : GSL_ENOMEM;
    gsl_matrix_free(W);
    snprintf(name, sizeof name, "negative control: %s runs vs closed form with %s",
             nzk_scheme_name(s), wname);
    if (!status) status = nzk_exp_add_verdict(exp, "T3", name, &res, NZK_VERDICT_FAIL);
  }
  return status;
}

static int core_all_runs(const nzk_exp_config *cfg, core *c)
{
  const nzk_xp_linear *set = c->set;
  nzk_zox *zx = NULL;
  if (set->use_exact_law || set->best_k) {
    zx = nzk_zox_alloc(set->J, set->law.scale);
    if (!zx) return nzk_error_code();
  }
  int status = 0;
  for (int s = 0; s < N_SCHEMES && !status && set->runs; s++) {
    status = core_runs(cfg, c, s, set->use_exact_law ? zx : NULL);
    for (size_t k = 0; k < c->npts && !status; k++)
      gsl_matrix_set(c->curves, k, COL_ZO_PLAIN + (size_t)s,
                     column_mean(c->run_loss[s], k, NULL));
  }
  if (!status && set->best_k && set->runs) {
    status = core_runs(cfg, c, N_SCHEMES, zx);
    for (size_t k = 0; k < c->npts && !status; k++)
      gsl_matrix_set(c->curves, k, COL_BEST, column_mean(c->run_loss[N_SCHEMES], k, NULL));
  }
  nzk_zox_free(zx);
  return status;
}

static int core_curves(core *c)
{
  int status = closed_curve(c, c->ntk, COL_FO, 0);
  for (int s = 0; s < N_SCHEMES && !status; s++)
    if (c->ek_ok[s]) status = closed_curve(c, c->ek[s], COL_KGD_PLAIN + s, 0);
  gsl_matrix *S = status ? NULL : symmetrised(c->mc_est);
  if (!status) status = S ? closed_curve(c, S, COL_KGD_MC, 1) : GSL_ENOMEM;
  gsl_matrix_free(S);
  return status;
}

static void core_text(core *c, json_t *exp)
{
  const size_t T = NZK_XP_N_RECORD - 1, last = c->npts - 1;
  double fo = gsl_matrix_get(c->curves, last, COL_FO);
  double mc = gsl_matrix_get(c->curves, last, COL_KGD_MC);
  double ks = gsl_matrix_get(c->curves, last, COL_KGD_SHARED);
  double zs = gsl_matrix_get(c->curves, last, COL_ZO_SHARED);
  nzk_exp_set_text(exp, "compared",
                   "FO gradient descent (NTK kernel GD), kernel GD with the expected NZK from "
                   "its moment formula and from %zu Monte Carlo draws (the paper's ZO curve), "
                   "%zu real ZO runs per scheme, and the closed form of T3, on %zu examples "
                   "with %zu parameters over %zu steps at eta = %g.",
                   c->set->mc_draws, c->set->runs, c->n, c->p, c->set->steps, c->set->eta);
  size_t ok, total, untested = 0;
  nzk_xp_count_ok(exp, &ok, &total);
  for (int s = 0; s < N_SCHEMES; s++) untested += c->diverged[s] && c->ek_ok[s] ? 2 : 0;
  char zo[160], chk[200];
  const size_t R = c->set->runs, dz = c->diverged[NZK_SCHEME_SHARED];
  if (!R) snprintf(zo, sizeof zo, "no real ZO runs at this size");
  else if (!isfinite(zs)) snprintf(zo, sizeof zo, "all %zu real shared ZO runs diverged", R);
  else if (dz)
    snprintf(zo, sizeof zo, "mean of the %zu of %zu real shared ZO runs that stayed finite "
             "%.4g (the other %zu diverged)", R - dz, R, zs, dz);
  else snprintf(zo, sizeof zo, "mean of the %zu real shared ZO runs %.4g", R, zs);
  if (untested)
    snprintf(chk, sizeof chk, "; %zu T3 checks could NOT be tested because runs diverged, "
             "so they did not reach their expected verdict", untested);
  else chk[0] = '\0';
  nzk_exp_set_text(exp, "found",
                   "Final loss (t = %zu): FO %.4g, kernel GD shared with the formula %.4g and "
                   "with the MC NZK %.4g (%.2g %% apart), %s.  %zu of %zu checks (T1 on the MC "
                   "NZK, T3 on the mean residual of the runs, with their negative controls) "
                   "reached their expected verdict%s.  Runs that diverged: plain %zu, pair "
                   "%zu, shared %zu of %zu.",
                   c->rec[T], fo, ks, mc, 100.0 * fabs(mc - ks) / ks, zo, ok, total, chk,
                   c->diverged[0], c->diverged[1], c->diverged[2], R);
  for (int s = 0; s < N_SCHEMES; s++)
    if (c->diverged[s] && c->ek_ok[s])
      nzk_exp_add_against(exp, "Real parameter-space %s ZO runs diverged in %zu of %zu seeds "
                          "at eta = %g (loss above 10^4 times its start), while kernel GD with "
                          "the expected kernel, which is what the paper plots as ZO, converges "
                          "(final loss %.4g; its step factor (eta/n) lambda_max(E K) is %.3g, "
                          "stable below 2).  The expected kernel describes the mean of the runs "
                          "only; the runs' second moment is unstable at this step.",
                          nzk_scheme_name((nzk_scheme)s), c->diverged[s], c->set->runs,
                          c->set->eta, gsl_matrix_get(c->curves, last, COL_KGD_PLAIN + s),
                          c->step_factor[COL_KGD_PLAIN + s]);
  nzk_exp_set_metric(exp, "step_factor_fo", c->step_factor[COL_FO]);
  nzk_exp_set_metric(exp, "step_factor_kgd_shared", c->step_factor[COL_KGD_SHARED]);
  nzk_exp_set_metric(exp, "final_loss_fo", fo);
  nzk_exp_set_metric(exp, "final_loss_kgd_shared_formula", ks);
  nzk_exp_set_metric(exp, "final_loss_kgd_shared_mc", mc);
  nzk_exp_set_metric(exp, "final_loss_zo_shared_mean", zs);
  if (c->set->best_k)
    nzk_exp_set_metric(exp, "final_loss_best_of_k_mean",
                       gsl_matrix_get(c->curves, last, COL_BEST));
}

int nzk_xp_linear_run(const nzk_exp_config *cfg, const nzk_xp_linear *set, json_t *doc)
{
  double t0 = nzk_xp_now();
  core c;
  int status = core_alloc(&c, set);
  json_t *exp = status ? NULL : nzk_results_add_experiment(doc, set->id, set->title);
  if (!status && !exp) status = nzk_error_code();
  if (!status) {
    nzk_exp_add_theorem(exp, "T1");
    nzk_exp_add_theorem(exp, "T3");
    set_settings(exp, set, c.n, c.p);
    status = core_kernels(&c);
  }
  if (!status) status = core_t1(cfg, &c, exp);
  if (!status) status = core_curves(&c);
  if (!status) status = core_all_runs(cfg, &c);
  if (!status && set->runs) status = core_t3(&c, exp);
  if (!status) status = nzk_exp_add_table(exp, loss_table(&c));
  if (!status) {
    char title[300];
    snprintf(title, sizeof title, "%s: loss curves", set->title);
    status = nzk_xp_plot_curves(cfg, exp, "loss", title,
                                "Loss against step for every method (ZO runs: mean over the seeds "
                                "that stayed finite; a method whose runs all diverged is left "
                                "out).",
                                method_names, c.curves, 0);
  }
  if (!status && set->runs) status = band_figure(cfg, &c, exp);
  if (!status) status = snapshot_figure(cfg, &c, exp);
  if (!status) core_text(&c, exp);
  if (exp) nzk_exp_set_elapsed(exp, nzk_xp_now() - t0);
  core_free(&c);
  return status;
}
