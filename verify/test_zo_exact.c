/* test_zo_exact.c: the exact-law function-space ZO stepper (zo_exact.h)
 * against the reference parameter-space trainer (train.h), which takes
 * every step with two forward passes per direction.
 *
 * The two draw differently, so paths differ; their laws must agree.  For
 * each scheme (plain, pair, shared, best of K) R independent runs of both
 * go T steps from the same r0; at T the mean residual (n coordinates) and
 * the mean loss are compared with Welch z-statistics, Bonferroni over the
 * n + 1 statistics at family-wise alpha = 1e-4 (R = 300 per side, so the
 * normal threshold is accurate).  The mean loss carries the variance of
 * the residual (E L = |E r|^2/2n + tr Cov r/2n), so the check sees the
 * second moment too, not only the mean.  J is n x p with p > n (a null
 * space, which the shared and pair schemes see through |z|^2 and z.zeta)
 * and, once, p < n (rank-deficient NTK).
 * Negative controls, each of which must be rejected: best of 20 against a
 * reference best of 5; shared against a reference plain run; pair against
 * a reference plain run (same mean kernel, larger variance); and a fast
 * plain run at 1.25 eta.  Also the exact-law Monte Carlo kernel
 * (nzk_zox_kernel_mc) against the reference estimator nzk_kernel_mc for
 * each scheme, with two negative controls, and the O(n)-per-step loss
 * curve nzk_closed_loss_curve against nzk_closed_loss. */
#include "dynamics.h"
#include "kernel.h"
#include "model_linear.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "train.h"
#include "vtest.h"
#include "zo_exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>

#define R_RUNS 300
#define ALPHA 1e-4

static uint64_t g_seed; /* NZK_SEED or the default; keys every stream */

typedef struct {
  size_t n, p, T;
  double sigma;
  gsl_matrix *J;
  gsl_vector *y, *r0;
} fixture;

/* Sums over runs of r_T (n), r_T^2 (n), L_T and L_T^2. */
typedef struct {
  double *s1, *s2, l1, l2;
  size_t count;
} moments;

static void moments_add(moments *m, const double *r, size_t n, double loss)
{
  for (size_t i = 0; i < n; i++) {
    m->s1[i] += r[i];
    m->s2[i] += r[i] * r[i];
  }
  m->l1 += loss;
  m->l2 += loss * loss;
  m->count++;
}

/* Welch z of two sample means from sums. */
static double welch(double a1, double a2, double b1, double b2, double na, double nb)
{
  double ma = a1 / na, mb = b1 / nb;
  double va = (a2 - na * ma * ma) / (na - 1), vb = (b2 - nb * mb * mb) / (nb - 1);
  double se = sqrt(vt_nan_max(va, 0.0) / na + vt_nan_max(vb, 0.0) / nb);
  return se > 0 ? (ma - mb) / se : (ma == mb ? 0 : INFINITY);
}

static void run_fast(const fixture *f, nzk_zox_kind kind, double eta, size_t k, moments *m)
{
  nzk_zox *zx = nzk_zox_alloc(f->J, f->sigma);
  gsl_vector *r = gsl_vector_alloc(f->n);
  for (size_t run = 0; run < R_RUNS; run++) {
    gsl_rng *rng = nzk_stream_alloc(g_seed + 4242, run);
    nzk_zox_set_r0(zx, f->r0);
    for (size_t t = 0; t < f->T; t++) nzk_zox_step(zx, kind, eta, k, rng);
    nzk_zox_residual(zx, r);
    moments_add(m, r->data, f->n, nzk_zox_loss(zx));
    gsl_rng_free(rng);
  }
  gsl_vector_free(r);
  nzk_zox_free(zx);
}

static void run_reference(const fixture *f, nzk_step_kind kind, nzk_scheme scheme, double eta,
                          size_t k, moments *m)
{
  nzk_law law = nzk_law_normal(f->sigma);
  nzk_dir *dir = nzk_dir_alloc_iid(&law, f->p);
  nzk_model *model = nzk_model_linear_alloc(f->p);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = kind;
  par.scheme = scheme;
  par.z = dir;
  par.eta = eta;
  par.best_k = k ? k : 1;
  par.seed = g_seed + 777;
  nzk_trainer *t = nzk_trainer_alloc(model, f->J, f->y, &par);
  double *theta0 = calloc(f->p, sizeof *theta0);
  for (size_t run = 0; run < R_RUNS; run++) {
    const double *r;
    double loss;
    nzk_trainer_init(t, theta0, run);
    for (size_t s = 0; s < f->T; s++) nzk_trainer_step(t);
    nzk_trainer_residual(t, &r);
    nzk_trainer_loss(t, &loss);
    moments_add(m, r, f->n, loss);
  }
  free(theta0);
  nzk_trainer_free(t);
  nzk_model_free(model);
  nzk_dir_free(dir);
}

/* Compare a fast configuration with a reference one; want pass or fail. */
static void compare(const fixture *f, const char *what, nzk_zox_kind fk, double feta, size_t fkk,
                    nzk_step_kind rk, nzk_scheme rs, double reta, size_t rkk, nzk_verdict want)
{
  moments a = {calloc(f->n, sizeof(double)), calloc(f->n, sizeof(double)), 0, 0, 0};
  moments b = {calloc(f->n, sizeof(double)), calloc(f->n, sizeof(double)), 0, 0, 0};
  run_fast(f, fk, feta, fkk, &a);
  run_reference(f, rk, rs, reta, rkk, &b);
  double zmax = fabs(welch(a.l1, a.l2, b.l1, b.l2, R_RUNS, R_RUNS));
  for (size_t i = 0; i < f->n; i++)
    zmax = vt_nan_max(zmax, fabs(welch(a.s1[i], a.s2[i], b.s1[i], b.s2[i], R_RUNS, R_RUNS)));
  nzk_check_result res = {.statistic = zmax, .alpha = ALPHA, .n_tests = f->n + 1,
                          .rel_frobenius = NAN};
  res.threshold = gsl_cdf_ugaussian_Qinv(ALPHA / (2.0 * (double)(f->n + 1)));
  res.verdict = zmax <= res.threshold ? NZK_VERDICT_PASS : NZK_VERDICT_FAIL;
  vt_verdict(&res, want, "%s (n=%zu, p=%zu, T=%zu, R=%d per side)", what, f->n, f->p, f->T,
             R_RUNS);
  free(a.s1);
  free(a.s2);
  free(b.s1);
  free(b.s2);
}

static void fixture_make(fixture *f, size_t n, size_t p, size_t T, uint64_t seed)
{
  f->n = n;
  f->p = p;
  f->T = T;
  f->sigma = 0.8;
  f->J = gsl_matrix_alloc(n, p);
  f->y = gsl_vector_alloc(n);
  f->r0 = gsl_vector_alloc(n);
  gsl_rng *r = nzk_stream_alloc(seed, 0);
  for (size_t k = 0; k < n * p; k++) f->J->data[k] = gsl_rng_uniform(r) - 0.3;
  for (size_t i = 0; i < n; i++) {
    gsl_vector_set(f->y, i, 1.7319 * sin((double)i) + 0.5);
    gsl_vector_set(f->r0, i, -gsl_vector_get(f->y, i)); /* theta0 = 0 */
  }
  gsl_rng_free(r);
}

static void fixture_free(fixture *f)
{
  gsl_matrix_free(f->J);
  gsl_vector_free(f->y);
  gsl_vector_free(f->r0);
}

/* Exact algebra: one plain step from a known a equals the parameter-space
 * update (rank, loss and residual bookkeeping). */
static void check_rank_and_loss(const fixture *f)
{
  nzk_zox *zx = nzk_zox_alloc(f->J, f->sigma);
  nzk_zox_set_r0(zx, f->r0);
  double l0 = 0;
  for (size_t i = 0; i < f->n; i++) l0 += pow(gsl_vector_get(f->r0, i), 2) / (2.0 * f->n);
  size_t want_rank = f->p < f->n ? f->p : f->n;
  vt_ok(nzk_zox_rank(zx) == want_rank, "rank of J found: %zu (want %zu)", nzk_zox_rank(zx),
        want_rank);
  vt_rel(nzk_zox_loss(zx), l0, 64.0 * (double)f->n * 2.2e-16, "initial loss from eigenbasis");
  nzk_zox_free(zx);
}

/* The exact-law Monte Carlo kernel against the reference estimator
 * nzk_kernel_mc: entry-wise z of the difference with both standard
 * errors, Bonferroni over the distinct entries. */
static void compare_kernel(const fixture *f, nzk_scheme fast, double fast_sigma, nzk_scheme ref,
                           nzk_verdict want, const char *what)
{
  const size_t n = f->n, S = 20000;
  nzk_law law = nzk_law_normal(f->sigma);
  nzk_dir *dir = nzk_dir_alloc_iid(&law, f->p);
  nzk_zox *zx = nzk_zox_alloc(f->J, fast_sigma);
  gsl_matrix *e1 = gsl_matrix_alloc(n, n), *s1 = gsl_matrix_alloc(n, n);
  gsl_matrix *e2 = gsl_matrix_alloc(n, n), *s2 = gsl_matrix_alloc(n, n);
  nzk_zox_kernel_mc(zx, fast, S, 256, g_seed + 31, e1, s1);
  nzk_kernel_mc(ref, f->J, dir, NULL, S, 256, g_seed + 32, e2, s2);
  for (size_t k = 0; k < n * n; k++) s1->data[k] = hypot(s1->data[k], s2->data[k]);
  nzk_check_result res;
  nzk_check_zscores(e1, s1, e2, fast != NZK_SCHEME_PAIR, ALPHA, &res);
  vt_verdict(&res, want, "%s (n=%zu, p=%zu, S=%zu each)", what, n, f->p, S);
  gsl_matrix_free(e1);
  gsl_matrix_free(s1);
  gsl_matrix_free(e2);
  gsl_matrix_free(s2);
  nzk_zox_free(zx);
  nzk_dir_free(dir);
}

/* The O(n)-per-step loss curve against the closed form's own loss(t). */
static void check_loss_curve(const fixture *f)
{
  const size_t T = 500, n = f->n;
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  double *curve = malloc((T + 1) * sizeof *curve), worst = 0;
  nzk_kernel_ntk(f->J, K);
  nzk_closed *cf = nzk_closed_alloc(K);
  nzk_closed_set_r0(cf, f->r0);
  nzk_closed_loss_curve(cf, 0.02, T, curve);
  for (size_t t = 0; t <= T; t++) {
    double ref;
    nzk_closed_loss(cf, 0.02, (double)t, NZK_EVOLVE_STEPS, &ref);
    worst = vt_nan_max(worst, fabs(curve[t] - ref) / ref);
  }
  vt_abs(worst, 0.0, 4.0 * (double)(T * n) * 2.2204460492503131e-16,
         "loss curve by carried products = closed-form loss(t), t = 0..%zu (max rel. diff)", T);
  nzk_closed_free(cf);
  gsl_matrix_free(K);
  free(curve);
}

int main(void)
{
  fixture f;
  g_seed = vt_seed(11);
  fixture_make(&f, 12, 30, 60, g_seed);
  check_rank_and_loss(&f);
  compare(&f, "plain: exact law = forward passes", NZK_ZOX_PLAIN, 0.02, 0, NZK_STEP_ZO,
          NZK_SCHEME_PLAIN, 0.02, 0, NZK_VERDICT_PASS);
  compare(&f, "pair: exact law = forward passes", NZK_ZOX_PAIR, 0.004, 0, NZK_STEP_ZO,
          NZK_SCHEME_PAIR, 0.004, 0, NZK_VERDICT_PASS);
  compare(&f, "shared: exact law = forward passes", NZK_ZOX_SHARED, 0.001, 0, NZK_STEP_ZO,
          NZK_SCHEME_SHARED, 0.001, 0, NZK_VERDICT_PASS);
  compare(&f, "best of 20: exact law = forward passes", NZK_ZOX_BEST, 0.02, 20, NZK_STEP_ZO_BEST,
          NZK_SCHEME_PLAIN, 0.02, 20, NZK_VERDICT_PASS);
  compare(&f, "negative control: best of 20 vs reference best of 5", NZK_ZOX_BEST, 0.02, 20,
          NZK_STEP_ZO_BEST, NZK_SCHEME_PLAIN, 0.02, 5, NZK_VERDICT_FAIL);
  compare(&f, "negative control: shared vs reference plain", NZK_ZOX_SHARED, 0.001, 0,
          NZK_STEP_ZO, NZK_SCHEME_PLAIN, 0.001, 0, NZK_VERDICT_FAIL);
  compare(&f, "negative control: pair vs reference plain (same E K)", NZK_ZOX_PAIR, 0.01, 0,
          NZK_STEP_ZO, NZK_SCHEME_PLAIN, 0.01, 0, NZK_VERDICT_FAIL);
  compare(&f, "negative control: plain at 1.25 eta vs reference plain", NZK_ZOX_PLAIN, 0.025, 0,
          NZK_STEP_ZO, NZK_SCHEME_PLAIN, 0.02, 0, NZK_VERDICT_FAIL);
  check_loss_curve(&f);
  compare_kernel(&f, NZK_SCHEME_PLAIN, f.sigma, NZK_SCHEME_PLAIN, NZK_VERDICT_PASS,
                 "exact-law MC kernel = reference MC kernel, plain");
  compare_kernel(&f, NZK_SCHEME_PAIR, f.sigma, NZK_SCHEME_PAIR, NZK_VERDICT_PASS,
                 "exact-law MC kernel = reference MC kernel, pair");
  compare_kernel(&f, NZK_SCHEME_SHARED, f.sigma, NZK_SCHEME_SHARED, NZK_VERDICT_PASS,
                 "exact-law MC kernel = reference MC kernel, shared");
  compare_kernel(&f, NZK_SCHEME_SHARED, f.sigma, NZK_SCHEME_PLAIN, NZK_VERDICT_FAIL,
                 "negative control: exact-law shared kernel vs reference plain kernel");
  compare_kernel(&f, NZK_SCHEME_SHARED, 1.05 * f.sigma, NZK_SCHEME_SHARED, NZK_VERDICT_FAIL,
                 "negative control: exact-law shared kernel at 1.05 sigma vs reference");
  fixture_free(&f);

  /* p < n: rank-deficient NTK, residual part outside range(J) constant */
  fixture_make(&f, 12, 5, 60, g_seed + 1);
  check_rank_and_loss(&f);
  compare(&f, "shared, p < n: exact law = forward passes", NZK_ZOX_SHARED, 0.004, 0, NZK_STEP_ZO,
          NZK_SCHEME_SHARED, 0.004, 0, NZK_VERDICT_PASS);
  compare(&f, "best of 20, p < n: exact law = forward passes", NZK_ZOX_BEST, 0.02, 20,
          NZK_STEP_ZO_BEST, NZK_SCHEME_PLAIN, 0.02, 20, NZK_VERDICT_PASS);
  compare_kernel(&f, NZK_SCHEME_SHARED, f.sigma, NZK_SCHEME_SHARED, NZK_VERDICT_PASS,
                 "exact-law MC kernel = reference MC kernel, shared, p < n");
  fixture_free(&f);
  return vt_finish();
}
