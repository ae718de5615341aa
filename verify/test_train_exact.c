/* test_train_exact.c: exact properties of the trainer and of the
 * function-space dynamics (DESIGN.md sections 2 and 3), to rounding.
 *
 *  - ZO on a linear model: the central difference from two forward passes
 *    equals u . (J^T r) / n, and f moves exactly by f - (eta/n) K_t r with
 *    the realised K_t = coef (J z)(J zeta)^T, for every scheme.
 *  - FO on a linear model is kernel GD with the NTK X X^T.
 *  - Directions are replayed from (seed, run, step) alone; best of K keeps
 *    the most negative d_k.
 *  - The closed form equals step-by-step kernel GD to 1e-10 relative; the
 *    flow solves dr/dt = -(eta/n) K r.
 *  - The eigenbasis second-moment recursion equals the literal one; the
 *    stability limit matches 2/(p+2) for isotropic A and separates decay
 *    from growth of the recursion itself.
 *  - Every error path of the API returns its documented code.
 * Tolerances are a named factor times the size times DBL_EPSILON, with the
 * a-priori rounding bound of each quantity written next to it. */
#include "dynamics.h"
#include "kernel.h"
#include "model_mlp.h"
#include "nzk_error.h"
#include "train.h"
#include "train_fixture.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nzk_blas.h"

static uint64_t seed;

/* A-priori rounding bound of d_u = (1/4 eps n) sum (f+ - f-)(f+ + f- - 2y):
 * each f+-_i carries at most p u sum_k |x_ik| (|theta_k| + eps |u_k|) of
 * error (dot product of length p, u = DBL_EPSILON), the sum adds n u of
 * its absolute terms.  Returned with a safety factor of 4. */
static double d_bound(const fixture *fx, const double *theta, const double *u, double eps,
                      const double *r)
{
  const double ue = DBL_EPSILON;
  double s = 0.0;
  for (size_t i = 0; i < fx->n; i++) {
    double B = 0.0, v = 0.0;
    for (size_t k = 0; k < fx->d; k++) {
      double x = gsl_matrix_get(fx->X, i, k);
      B += fabs(x) * (fabs(theta[k]) + eps * fabs(u[k]));
      v += x * u[k];
    }
    double df = (double)fx->d * ue * B; /* error of each f+-_i */
    s += 2 * df * (2 * fabs(r[i]) + 2 * df) + 2 * eps * fabs(v) * (2 * df + 2 * ue * fabs(r[i]));
    s += (double)(fx->n + 2) * ue * 2 * eps * fabs(v) * 2 * fabs(r[i]);
  }
  return 4.0 * s / (4.0 * eps * (double)fx->n);
}

/* One ZO step checked against J^T r and the realised kernel. */
/* The realised coefficient of DESIGN.md section 2, recomputed here from the
 * logged directions (not taken from the trainer): 1 (plain), z.zeta (pair),
 * |z|^2 (shared). */
static double coef_of(nzk_scheme scheme, const double *z, const double *zeta, size_t d)
{
  if (scheme == NZK_SCHEME_PLAIN) return 1.0;
  const double *b = scheme == NZK_SCHEME_PAIR ? zeta : z;
  double c = 0.0;
  for (size_t k = 0; k < d; k++) c += z[k] * b[k];
  return c;
}

/* Rounding bound of coef: two sums of d products, 2 d u sum |z_k zeta_k|
 * (the trainer's and ours); zeta = z for plain and shared. */
static double coef_rounding(const double *z, const double *zeta, size_t d)
{
  double a = 0.0;
  for (size_t k = 0; k < d; k++) a += fabs(z[k] * zeta[k]);
  return 2.0 * (double)d * DBL_EPSILON * a;
}

static void check_zo_step(const fixture *fx, nzk_trainer *t, nzk_scheme scheme, double eta,
                          double eps, int *ok_d, int *ok_f, double *worst_d, double *worst_f)
{
  const size_t n = fx->n, d = fx->d;
  const double *r, *f1, *theta = nzk_trainer_theta(t);
  double g[64], f0[256], r0[256], th0[64], v[256], w[256];
  nzk_trainer_residual(t, &r);
  memcpy(r0, r, n * sizeof(double));
  nzk_trainer_f(t, &f1);
  memcpy(f0, f1, n * sizeof(double));
  memcpy(th0, theta, d * sizeof(double));
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0 / (double)n, fx->X->data,
              (int)fx->X->tda, r0, 1, 0.0, g, 1); /* J^T r / n */

  int status = nzk_trainer_step(t);
  *ok_d &= status == 0;
  *ok_f &= status == 0;
  if (status) return;
  const nzk_step_info *in = nzk_trainer_last(t);
  double d_exact = cblas_ddot((int)d, in->zeta, 1, g, 1);
  double tol_d = d_bound(fx, th0, in->zeta, eps, r0);
  *worst_d = vt_nan_max(*worst_d, fabs(in->d - d_exact) / tol_d);
  *ok_d &= fabs(in->d - d_exact) <= tol_d;

  /* f1 = f0 - (eta/n) coef v (w . r0), v = X z, w = X zeta */
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, fx->X->data, (int)fx->X->tda,
              in->z, 1, 0.0, v, 1);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, fx->X->data, (int)fx->X->tda,
              in->zeta, 1, 0.0, w, 1);
  const double coef = coef_of(scheme, in->z, in->zeta, d);
  double s = -eta / (double)n * coef * cblas_ddot((int)n, w, 1, r0, 1);
  double pred[256];
  for (size_t i = 0; i < n; i++) pred[i] = f0[i] + s * v[i];
  nzk_trainer_f(t, &f1);
  /* d differs from d_exact by tol_d; the rest is O((n + d) u) of the scale */
  double scale = vt_max_abs(f0, n) + fabs(s) * vt_max_abs(v, n);
  double tol_f = 16.0 * (double)(n + d) * DBL_EPSILON * scale +
                 eta * fabs(coef) * tol_d * vt_max_abs(v, n) +
                 eta / (double)n * fabs(cblas_ddot((int)n, w, 1, r0, 1)) * vt_max_abs(v, n) *
                     coef_rounding(in->z, in->zeta, d);
  double err = vt_max_abs_diff(pred, f1, n);
  *worst_f = vt_nan_max(*worst_f, err / tol_f);
  *ok_f &= err <= tol_f;
}

/* Every scheme, eps = 1e-3 (the paper's) with awkward law scales. */
static void check_zo_exact(void)
{
  fixture fx = fixture_make(37, 6, 0.05, seed);
  const char *laws[] = {"normal:scale=1.7319", "laplace:scale=0.61", "rademacher:scale=0.83"};
  for (int s = 0; s < 3; s++)
    for (int l = 0; l < 3; l++) {
      nzk_law law;
      nzk_law_parse(laws[l], &law);
      nzk_dir *z = nzk_dir_alloc_iid(&law, fx.d);
      nzk_train_params par;
      nzk_train_params_default(&par);
      par.kind = NZK_STEP_ZO;
      par.scheme = (nzk_scheme)s;
      par.z = z;
      /* the shared update is |z|^2 ~ p a2 times larger: keep c lambda < 2 */
      par.eta = s == NZK_SCHEME_SHARED ? 0.0731 / ((double)fx.d * law.scale * law.scale) : 0.0731;
      par.eps = l == 0 ? 0.9 : 1e-3; /* exact for any eps on a quadratic loss */
      par.seed = seed;
      nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
      nzk_trainer_init(t, fx.theta0, 3);
      int ok_d = 1, ok_f = 1;
      double wd = 0, wf = 0;
      for (int k = 0; k < 40; k++)
        check_zo_step(&fx, t, par.scheme, par.eta, par.eps, &ok_d, &ok_f, &wd, &wf);
      vt_ok(ok_d, "%s %s eps=%g: d_u = u.(J^T r)/n over 40 steps (worst error/bound %.2g)",
            nzk_scheme_name(par.scheme), laws[l], par.eps, wd);
      vt_ok(ok_f, "%s %s eps=%g: f_{t+1} = f_t - (eta/n) K_t r_t (worst error/bound %.2g)",
            nzk_scheme_name(par.scheme), laws[l], par.eps, wf);
      nzk_trainer_free(t);
      nzk_dir_free(z);
    }
  fixture_free(&fx);
}

/* FO on a linear model equals kernel GD with the NTK. */
static void check_fo_is_ntk_gd(void)
{
  fixture fx = fixture_make(41, 5, 0.05, seed);
  const size_t n = fx.n;
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  gsl_vector *f = gsl_vector_alloc(n), *work = gsl_vector_alloc(n);
  nzk_kernel_ntk(fx.X, K);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.eta = 0.377;
  nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
  nzk_trainer_init(t, fx.theta0, 0);
  const double *ft;
  nzk_trainer_f(t, &ft);
  memcpy(f->data, ft, n * sizeof(double));
  double worst = 0.0, tol = 0.0;
  for (int k = 0; k < 200; k++) {
    nzk_trainer_step(t);
    nzk_kgd_step(K, par.eta, fx.y, f, work);
    nzk_trainer_f(t, &ft);
    worst = vt_nan_max(worst, vt_max_abs_diff(ft, f->data, n));
    tol = vt_nan_max(tol, vt_max_abs(ft, n));
  }
  /* both are O(n + d) rounding per step away from the exact path, which
   * contracts (c lambda_max < 2), so errors add at most linearly */
  tol *= 16.0 * 200.0 * (double)(n + fx.d) * DBL_EPSILON;
  vt_abs(worst, 0.0, tol, "FO on linear model = kernel GD with NTK over 200 steps");
  nzk_trainer_free(t);
  gsl_matrix_free(K);
  gsl_vector_free(f);
  gsl_vector_free(work);
  fixture_free(&fx);
}

/* Step t of run `run` uses the stream of chunk (run << 32) + t only. */
static void check_replay(void)
{
  fixture fx = fixture_make(23, 7, 0.05, seed);
  nzk_law law = nzk_law_laplace(0.73);
  nzk_dir *z = nzk_dir_alloc_iid(&law, fx.d);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.scheme = NZK_SCHEME_PAIR;
  par.z = z;
  par.seed = seed + 11;
  nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
  nzk_trainer_init(t, fx.theta0, 5);
  double zz[7], zeta[7];
  int same = 1;
  for (uint64_t k = 0; k < 30; k++) {
    nzk_trainer_step(t);
    const nzk_step_info *in = nzk_trainer_last(t);
    gsl_rng *r = nzk_stream_alloc_light(par.seed, (5ULL << 32) + k);
    nzk_dir_sample(z, r, zz);
    nzk_dir_sample(z, r, zeta);
    gsl_rng_free(r);
    same &= in->step == k && memcmp(zz, in->z, sizeof zz) == 0 &&
            memcmp(zeta, in->zeta, sizeof zeta) == 0;
  }
  vt_ok(same, "pair directions of 30 steps replayed bitwise from (seed, run 5, step)");
  nzk_trainer_free(t);
  nzk_dir_free(z);
  fixture_free(&fx);
}

/* Best of K keeps the most negative d_k of the K replayed directions. */
static void check_best_of_k(void)
{
  fixture fx = fixture_make(30, 4, 0.05, seed);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, fx.d);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO_BEST;
  par.z = z;
  par.best_k = 17;
  par.seed = seed;
  nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
  nzk_trainer_init(t, fx.theta0, 2);
  int ok = 1, downhill = 1;
  for (uint64_t s = 0; s < 20; s++) {
    const double *r;
    double g[4], u[4], th[4], best = INFINITY, ubest[4], L0, L1;
    nzk_trainer_residual(t, &r);
    memcpy(th, nzk_trainer_theta(t), sizeof th);
    nzk_trainer_loss(t, &L0);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)fx.n, (int)fx.d, 1.0 / (double)fx.n,
                fx.X->data, (int)fx.X->tda, r, 1, 0.0, g, 1);
    gsl_rng *rng = nzk_stream_alloc_light(par.seed, (2ULL << 32) + s);
    for (size_t k = 0; k < par.best_k; k++) {
      nzk_dir_sample(z, rng, u);
      double dk = cblas_ddot(4, u, 1, g, 1);
      if (dk < best) {
        best = dk;
        memcpy(ubest, u, sizeof u);
      }
    }
    gsl_rng_free(rng);
    double tol = d_bound(&fx, th, ubest, par.eps, r);
    nzk_trainer_step(t);
    const nzk_step_info *in = nzk_trainer_last(t);
    ok &= memcmp(ubest, in->z, sizeof ubest) == 0 && fabs(in->d - best) <= tol;
    nzk_trainer_loss(t, &L1);
    downhill &= L1 < L0;
  }
  vt_ok(ok, "best of 17: kept direction and d_k are the replayed argmin over 20 steps");
  vt_ok(downhill, "best of 17 with small eta decreases the loss at every step");
  nzk_trainer_free(t);
  nzk_dir_free(z);
  fixture_free(&fx);
}

/* |a - b| / |b| in the 2-norm */
static double rel_err(const gsl_vector *a, const gsl_vector *b)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a->size; i++) {
    double e = gsl_vector_get(a, i) - gsl_vector_get(b, i);
    num += e * e;
    den += gsl_vector_get(b, i) * gsl_vector_get(b, i);
  }
  return sqrt(num / den);
}

/* Closed form = iterated kernel GD at every record step, to 1e-10
 * relative (the requirement), for contracting, oscillating
 * (c lambda_max > 1) and growing (c lambda_max > 2) step sizes. */
static void check_closed_vs_iteration(double c_lmax, size_t T)
{
  fixture fx = fixture_make(60, 9, 0.05, seed);
  const size_t n = fx.n;
  nzk_law law = nzk_law_laplace(0.61);
  nzk_dir *z = nzk_dir_alloc_iid(&law, fx.d);
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  gsl_vector *f = gsl_vector_alloc(n), *work = gsl_vector_alloc(n), *r = gsl_vector_alloc(n);
  gsl_vector *rc = gsl_vector_alloc(n);
  nzk_kernel_expected(NZK_SCHEME_SHARED, fx.X, z, NULL, K);
  nzk_closed *cf = nzk_closed_alloc(K);
  const double eta = c_lmax * (double)n / gsl_vector_get(nzk_closed_eigenvalues(cf), n - 1);
  fixture_r0(&fx, r);
  nzk_closed_set_r0(cf, r);
  gsl_vector_memcpy(f, r);
  gsl_vector_add(f, fx.y);

  const size_t rec[] = {0, 1, 7, 49, 333, 1000, 3000, 16000};
  double worst = 0.0, worst_loss = 0.0;
  size_t t = 0;
  for (size_t k = 0; k < sizeof rec / sizeof rec[0] && rec[k] <= T; k++) {
    for (; t < rec[k]; t++) nzk_kgd_step(K, eta, fx.y, f, work);
    gsl_vector_memcpy(r, f);
    gsl_vector_sub(r, fx.y);
    double loss_it, loss_cf;
    gsl_blas_ddot(r, r, &loss_it);
    loss_it *= 0.5 / (double)n;
    nzk_closed_residual(cf, eta, (double)t, NZK_EVOLVE_STEPS, rc);
    nzk_closed_loss(cf, eta, (double)t, NZK_EVOLVE_STEPS, &loss_cf);
    worst = vt_nan_max(worst, rel_err(rc, r));
    worst_loss = vt_nan_max(worst_loss, fabs(loss_cf - loss_it) / loss_it);
  }
  vt_abs(worst, 0.0, 1e-10, "closed form = kernel GD, c lambda_max = %g, t <= %zu (rel. error)",
         c_lmax, T);
  vt_abs(worst_loss, 0.0, 1e-10, "closed-form loss = kernel-GD loss, c lambda_max = %g", c_lmax);
  nzk_closed_free(cf);
  nzk_dir_free(z);
  gsl_matrix_free(K);
  gsl_vector_free(f);
  gsl_vector_free(work);
  gsl_vector_free(r);
  gsl_vector_free(rc);
  fixture_free(&fx);
}

/* Gaussian direction N(0, Sigma) with an awkward diagonal Sigma. */
static nzk_dir *awkward_gaussian(size_t p)
{
  gsl_matrix *S = gsl_matrix_calloc(p, p);
  for (size_t k = 0; k < p; k++) gsl_matrix_set(S, k, k, 0.37 + 0.29 * (double)k);
  gsl_matrix_set(S, 0, 1, 0.11);
  gsl_matrix_set(S, 1, 0, 0.11);
  nzk_dir *z = nzk_dir_alloc_gaussian(NULL, S);
  gsl_matrix_free(S);
  return z;
}

/* The factored closed form of K = X M X^T (nzk_closed_alloc_sandwich)
 * equals step-by-step kernel GD with the dense K to 1e-10 relative, both
 * when 2p <= n (p modes, the rest fixed) and p >= n (dense fallback), for
 * the shared M4 of an i.i.d. law and the M2 of a correlated Gaussian. */
static void check_sandwich(size_t n, size_t d, int gaussian)
{
  fixture fx = fixture_make(n, d, 0.05, seed);
  nzk_law law = nzk_law_uniform(1.37);
  nzk_dir *z = gaussian ? awkward_gaussian(d) : nzk_dir_alloc_iid(&law, d);
  const nzk_scheme scheme = gaussian ? NZK_SCHEME_PLAIN : NZK_SCHEME_SHARED;
  nzk_moment mom;
  if (gaussian) nzk_dir_second_moment(z, &mom);
  else nzk_dir_fourth_moment(z, &mom);
  gsl_matrix *M = gsl_matrix_alloc(d, d), *K = gsl_matrix_alloc(n, n);
  gsl_vector *f = gsl_vector_alloc(n), *w = gsl_vector_alloc(n), *r = gsl_vector_alloc(n);
  gsl_vector *rc = gsl_vector_alloc(n);
  nzk_moment_to_dense(&mom, M);
  nzk_kernel_expected(scheme, fx.X, z, NULL, K);
  nzk_closed *cf = nzk_closed_alloc_sandwich(fx.X, M);
  vt_ok(cf && nzk_closed_modes(cf) == (2 * d <= n ? d : n), "sandwich closed form keeps %zu modes "
        "(n = %zu, p = %zu)", cf ? nzk_closed_modes(cf) : 0, n, d);
  const gsl_vector *lam = nzk_closed_eigenvalues(cf);
  const double eta = 1.3 * (double)n / gsl_vector_get(lam, lam->size - 1);
  fixture_r0(&fx, r);
  nzk_closed_set_r0(cf, r);
  gsl_vector_add(r, fx.y);
  gsl_vector_memcpy(f, r);
  double worst = 0.0, worst_loss = 0.0, L;
  for (size_t t = 0; t <= 2000; t++) {
    if (t % 250 == 0 || t == 7) {
      gsl_vector_memcpy(r, f);
      gsl_vector_sub(r, fx.y);
      nzk_closed_residual(cf, eta, (double)t, NZK_EVOLVE_STEPS, rc);
      nzk_closed_loss(cf, eta, (double)t, NZK_EVOLVE_STEPS, &L);
      worst = vt_nan_max(worst, rel_err(rc, r));
      worst_loss = vt_nan_max(worst_loss, fabs(L / (0.5 * gsl_blas_dnrm2(r) * gsl_blas_dnrm2(r) /
                                               (double)n) - 1.0));
    }
    nzk_kgd_step(K, eta, fx.y, f, w);
  }
  vt_abs(worst, 0.0, 1e-10, "sandwich closed form (%s, n = %zu, p = %zu) = kernel GD, "
         "t <= 2000 (rel. error)", gaussian ? "Gaussian M2" : "uniform M4", n, d);
  vt_abs(worst_loss, 0.0, 1e-10, "sandwich closed-form loss = kernel GD loss (n = %zu, p = %zu)",
         n, d);
  nzk_closed_free(cf);
  nzk_moment_free(&mom);
  nzk_dir_free(z);
  gsl_matrix_free(M);
  gsl_matrix_free(K);
  gsl_vector_free(f);
  gsl_vector_free(w);
  gsl_vector_free(r);
  gsl_vector_free(rc);
  fixture_free(&fx);
}

/* The flow r(t) = exp(-c K t) r0 solves dr/dt = -c K r: central
 * difference with step h has truncation error <= h^2/6 (c lambda_max)^3
 * |r0| (all factors exp(-c lambda t) <= 1) and rounding error of order
 * n u |r0| / h; the bound below doubles both. */
static void check_flow(void)
{
  fixture fx = fixture_make(50, 8, 0.05, seed);
  const size_t n = fx.n;
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  gsl_vector *r0 = gsl_vector_alloc(n), *rp = gsl_vector_alloc(n), *rm = gsl_vector_alloc(n);
  gsl_vector *r = gsl_vector_alloc(n), *Kr = gsl_vector_alloc(n);
  nzk_kernel_ntk(fx.X, K);
  nzk_closed *cf = nzk_closed_alloc(K);
  fixture_r0(&fx, r0);
  nzk_closed_set_r0(cf, r0);
  const double lmax = gsl_vector_get(nzk_closed_eigenvalues(cf), n - 1);
  const double eta = 0.7319, c = eta / (double)n, h = 1e-3 / (c * lmax), t = 3.3 / (c * lmax);

  nzk_closed_residual(cf, eta, 0.0, NZK_EVOLVE_FLOW, r);
  vt_abs(rel_err(r, r0), 0.0, 16.0 * (double)n * DBL_EPSILON, "flow at t = 0 returns r0");
  nzk_closed_residual(cf, eta, t + h, NZK_EVOLVE_FLOW, rp);
  nzk_closed_residual(cf, eta, t - h, NZK_EVOLVE_FLOW, rm);
  nzk_closed_residual(cf, eta, t, NZK_EVOLVE_FLOW, r);
  gsl_blas_dgemv(CblasNoTrans, -c, K, r, 0.0, Kr); /* -c K r(t) */
  gsl_vector_sub(rp, rm);
  gsl_vector_scale(rp, 0.5 / h);
  gsl_vector_sub(rp, Kr);
  double r0n = gsl_blas_dnrm2(r0), cl = c * lmax;
  double tol = 2.0 * (h * h / 6.0 * cl * cl * cl + 8.0 * (double)n * DBL_EPSILON / h) * r0n;
  vt_abs(gsl_blas_dnrm2(rp), 0.0, tol, "flow solves dr/dt = -(eta/n) K r (|residual of ODE|)");
  nzk_closed_free(cf);
  gsl_matrix_free(K);
  gsl_vector_free(r0);
  gsl_vector_free(rp);
  gsl_vector_free(rm);
  gsl_vector_free(r);
  gsl_vector_free(Kr);
  fixture_free(&fx);
}

/* Eigenbasis recursion = literal recursion; its mean = closed form with A.
 * The long run guards the literal form against carrying the antisymmetric
 * part rounding creates, which it used to amplify geometrically. */
static void check_secmom_forms(size_t steps, double eta_frac)
{
  fixture fx = fixture_make(40, 6, 0.05, seed);
  const size_t n = fx.n;
  nzk_dir *z = awkward_gaussian(fx.d);
  gsl_matrix *A = gsl_matrix_alloc(n, n), *R = gsl_matrix_alloc(n, n), *Re = gsl_matrix_alloc(n, n);
  gsl_matrix *W1 = gsl_matrix_alloc(n, n), *W2 = gsl_matrix_alloc(n, n);
  gsl_vector *r0 = gsl_vector_alloc(n), *m = gsl_vector_alloc(n), *mc = gsl_vector_alloc(n);
  nzk_kernel_expected(NZK_SCHEME_PLAIN, fx.X, z, NULL, A); /* A = X Sigma X^T */
  nzk_secmom *sm = nzk_secmom_alloc(A);
  nzk_closed *cf = nzk_closed_alloc(A);
  fixture_r0(&fx, r0);
  nzk_secmom_set_r0(sm, r0);
  nzk_closed_set_r0(cf, r0);
  double eta_max;
  nzk_secmom_stability_eta(sm, &eta_max);
  const double eta = eta_frac * eta_max, c = eta / (double)n;

  gsl_matrix_set_zero(R);
  gsl_blas_dger(1.0, r0, r0, R);
  for (size_t k = 0; k < steps; k++) nzk_secmom_step_dense(A, c, R, W1, W2);
  nzk_secmom_advance(sm, eta, steps / 2);
  nzk_secmom_advance(sm, eta, steps - steps / 2); /* two calls compose */
  nzk_secmom_get(sm, Re, m, NULL);
  gsl_matrix_sub(Re, R);
  double tol = 16.0 * (double)(n * steps) * DBL_EPSILON;
  vt_abs(gsl_matrix_norm1(Re) / gsl_matrix_norm1(R), 0.0, tol,
         "T3b eigenbasis recursion = literal recursion, %zu steps at %g eta* (rel. 1-norm)",
         steps, eta_frac);
  nzk_closed_residual(cf, eta, (double)steps, NZK_EVOLVE_STEPS, mc);
  vt_abs(rel_err(m, mc), 0.0, tol, "T3b mean = closed form with K = A");
  vt_ok(nzk_secmom_steps(sm) == steps, "T3b step count %zu", nzk_secmom_steps(sm));
  nzk_secmom_free(sm);
  nzk_closed_free(cf);
  nzk_dir_free(z);
  gsl_matrix_free(A);
  gsl_matrix_free(R);
  gsl_matrix_free(Re);
  gsl_matrix_free(W1);
  gsl_matrix_free(W2);
  gsl_vector_free(r0);
  gsl_vector_free(m);
  gsl_vector_free(mc);
  fixture_free(&fx);
}

/* eta* for an isotropic A (p equal eigenvalues a) is n * 2 / ((p + 2) a);
 * for a general A the recursion itself decays just below eta* and grows
 * just above it. */
static void check_stability_limit(void)
{
  const size_t n = 30, p = 4;
  const double a = 1.7319;
  gsl_matrix *A = gsl_matrix_calloc(n, n);
  for (size_t k = 0; k < p; k++) gsl_matrix_set(A, 3 * k + 1, 3 * k + 1, a);
  nzk_secmom *sm = nzk_secmom_alloc(A);
  double eta_max;
  nzk_secmom_stability_eta(sm, &eta_max);
  vt_rel(eta_max, (double)n * 2.0 / ((double)(p + 2) * a), 64.0 * DBL_EPSILON,
         "isotropic A: eta* = n 2/((p+2) a)");
  nzk_secmom_free(sm);
  gsl_matrix_free(A);

  fixture fx = fixture_make(40, 6, 0.05, seed);
  nzk_dir *z = awkward_gaussian(fx.d);
  A = gsl_matrix_alloc(fx.n, fx.n);
  gsl_vector *r0 = gsl_vector_alloc(fx.n), *u = gsl_vector_alloc(fx.n);
  nzk_kernel_expected(NZK_SCHEME_PLAIN, fx.X, z, NULL, A);
  fixture_r0(&fx, u);
  gsl_blas_dgemv(CblasNoTrans, 1.0, A, u, 0.0, r0); /* r0 in the range of A */
  sm = nzk_secmom_alloc(A);
  nzk_secmom_stability_eta(sm, &eta_max);
  double ms[2][2];
  for (int side = 0; side < 2; side++) {
    nzk_secmom_set_r0(sm, r0);
    nzk_secmom_advance(sm, eta_max * (side ? 1.03 : 0.97), 3000);
    ms[side][0] = nzk_secmom_mean_square(sm);
    nzk_secmom_advance(sm, eta_max * (side ? 1.03 : 0.97), 3000);
    ms[side][1] = nzk_secmom_mean_square(sm);
  }
  vt_ok(ms[0][1] < ms[0][0], "recursion at 0.97 eta* decays (E|r|^2 %.3g -> %.3g)", ms[0][0],
        ms[0][1]);
  vt_ok(ms[1][1] > ms[1][0], "recursion at 1.03 eta* grows (E|r|^2 %.3g -> %.3g)", ms[1][0],
        ms[1][1]);
  nzk_secmom_free(sm);
  nzk_dir_free(z);
  gsl_matrix_free(A);
  gsl_vector_free(r0);
  gsl_vector_free(u);
  fixture_free(&fx);
}

/* The trainer takes any nzk_model: with a tanh MLP 3-5-1 the central
 * difference matches u . (J^T r)/n up to its O(eps^2) truncation (checked
 * by its decrease by ~100 when eps shrinks 10x), and FO lowers the loss. */
static void check_any_model(void)
{
  fixture fx = fixture_make(20, 3, 0.05, seed);
  nzk_mlp_spec spec = {.act = NZK_ACT_TANH, .param = NZK_PARAM_STANDARD};
  nzk_mlp_widths_parse("3,5,1", &spec);
  nzk_model *mlp = nzk_mlp_alloc(&spec);
  const size_t p = mlp->p, n = fx.n;
  double *theta = malloc(p * sizeof(double)), *g = malloc(p * sizeof(double)), err[2], L0, L1;
  gsl_matrix *J = gsl_matrix_alloc(n, p);
  gsl_rng *r = nzk_stream_alloc(seed, 9);
  nzk_mlp_init(&spec, r, theta);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.z = z;
  for (int e = 0; e < 2; e++) {
    par.eps = e ? 1e-3 : 1e-2;
    nzk_trainer *t = nzk_trainer_alloc(mlp, fx.X, fx.y, &par);
    const double *res;
    nzk_trainer_init(t, theta, 0);
    nzk_trainer_residual(t, &res);
    nzk_model_jacobian(mlp, theta, fx.X, J);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)p, 1.0 / (double)n, J->data,
                (int)J->tda, res, 1, 0.0, g, 1);
    nzk_trainer_step(t);
    err[e] = fabs(nzk_trainer_last(t)->d - cblas_ddot((int)p, nzk_trainer_last(t)->z, 1, g, 1));
    nzk_trainer_free(t);
  }
  vt_ok(err[1] < err[0] / 30.0, "MLP 3-5-1: central-difference error %.3g (eps 1e-2) -> %.3g "
        "(eps 1e-3), falls like eps^2", err[0], err[1]);
  par.kind = NZK_STEP_FO;
  par.eta = 0.1;
  nzk_trainer *t = nzk_trainer_alloc(mlp, fx.X, fx.y, &par);
  nzk_trainer_init(t, theta, 0);
  nzk_trainer_loss(t, &L0);
  nzk_trainer_run(t, 100, NULL, NULL, 0, NULL);
  nzk_trainer_loss(t, &L1);
  vt_ok(L1 < 0.5 * L0, "MLP 3-5-1: 100 FO steps lower the loss %.4g -> %.4g", L0, L1);
  nzk_trainer_free(t);
  nzk_dir_free(z);
  gsl_rng_free(r);
  gsl_matrix_free(J);
  free(theta);
  free(g);
  nzk_model_free(mlp);
  fixture_free(&fx);
}

/* A trainer configuration with one field broken must be refused. */
static void expect_alloc_fails(const fixture *fx, nzk_train_params par, int code, const char *what)
{
  nzk_error_clear();
  nzk_trainer *t = nzk_trainer_alloc(fx->model, fx->X, fx->y, &par);
  vt_ok(t == NULL && nzk_error_code() == code, "trainer refuses %s (code %d: %s)", what,
        nzk_error_code(), nzk_error_message());
  nzk_trainer_free(t);
}

static void check_error_paths(void)
{
  fixture fx = fixture_make(20, 3, 0.05, seed);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, 3), *z4 = nzk_dir_alloc_iid(&law, 4);
  nzk_train_params par, bad;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.z = z;
  bad = par; bad.eta = 0.0; expect_alloc_fails(&fx, bad, GSL_EINVAL, "eta = 0");
  bad = par; bad.eta = NAN; expect_alloc_fails(&fx, bad, GSL_EINVAL, "eta = NaN");
  bad = par; bad.eps = -1e-3; expect_alloc_fails(&fx, bad, GSL_EINVAL, "eps < 0");
  bad = par; bad.z = NULL; expect_alloc_fails(&fx, bad, GSL_EINVAL, "a ZO step without a law");
  bad = par; bad.z = z4; expect_alloc_fails(&fx, bad, GSL_EBADLEN, "a law of the wrong size");
  bad = par; bad.kind = NZK_STEP_ZO_BEST; bad.best_k = 0;
  expect_alloc_fails(&fx, bad, GSL_EINVAL, "best_k = 0");
  bad = par; bad.runaway_factor = 1.0; expect_alloc_fails(&fx, bad, GSL_EINVAL, "factor 1");

  nzk_model *m4 = nzk_model_linear_alloc(4);
  vt_ok(nzk_trainer_alloc(m4, fx.X, fx.y, &par) == NULL && nzk_error_code() == GSL_EBADLEN,
        "trainer refuses a model whose d differs from X's columns");
  nzk_model_free(m4);
  vt_ok(nzk_model_linear_alloc(0) == NULL && nzk_error_code() == GSL_EINVAL,
        "linear model refuses d = 0");

  nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
  vt_ok(nzk_trainer_step(t) == GSL_EFAILED, "step before init is refused");
  double th[3] = {1.0, NAN, 0.5}, loss;
  vt_ok(nzk_trainer_init(t, th, 0) == GSL_ERUNAWAY, "init at a NaN theta0 reports runaway");
  nzk_trainer_free(t);
  nzk_step_kind kind;
  vt_ok(nzk_step_kind_parse("zo-best", &kind) == 0 && kind == NZK_STEP_ZO_BEST &&
        nzk_step_kind_parse("sgd", &kind) == GSL_EINVAL, "step kind parser");
  (void)loss;
  nzk_dir_free(z);
  nzk_dir_free(z4);
  fixture_free(&fx);
}

/* Divergence: FO with eta far past 2n/lambda_max must stop with
 * GSL_ERUNAWAY at the first step t whose loss exceeds the documented bound
 * factor * max(L0, |y|^2/2n), computed here independently by kernel GD. */
static void check_runaway(void)
{
  fixture fx = fixture_make(25, 3, 0.05, seed);
  const size_t n = fx.n;
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  gsl_vector *f = gsl_vector_alloc(n), *w = gsl_vector_alloc(n);
  nzk_kernel_ntk(fx.X, K);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.eta = 33.3; /* lambda_max of the NTK is about 0.8 n, so c lambda_max ~ 27 */
  par.runaway_factor = 1e6;
  fixture_r0(&fx, f);
  gsl_vector_add(f, fx.y);

  double y2, L, bound = 0.0;
  gsl_blas_ddot(fx.y, fx.y, &y2);
  size_t expect = 0;
  for (;; expect++) {
    gsl_vector_memcpy(w, f);
    gsl_vector_sub(w, fx.y);
    gsl_blas_ddot(w, w, &L);
    L *= 0.5 / (double)n;
    if (expect == 0) bound = par.runaway_factor * fmax(L, 0.5 * y2 / (double)n);
    if (L > bound || expect > 1000) break;
    nzk_kgd_step(K, par.eta, fx.y, f, w);
  }
  nzk_trainer *t = nzk_trainer_alloc(fx.model, fx.X, fx.y, &par);
  nzk_trainer_init(t, fx.theta0, 0);
  int status = 0;
  while (!status && nzk_trainer_iter(t) < 2000) status = nzk_trainer_step(t);
  char want[64];
  snprintf(want, sizeof want, "at step %zu:", expect);
  vt_ok(status == GSL_ERUNAWAY && strstr(nzk_error_message(), want) != NULL,
        "FO divergence reported at step %zu (expected %zu): %s", nzk_trainer_iter(t), expect,
        nzk_error_message());
  vt_ok(nzk_trainer_step(t) == GSL_ERUNAWAY && nzk_trainer_loss(t, &L) == GSL_ERUNAWAY,
        "a diverged run refuses further steps and queries");
  nzk_trainer_free(t);
  gsl_matrix_free(K);
  gsl_vector_free(f);
  gsl_vector_free(w);
  fixture_free(&fx);
}

static void check_dynamics_errors(void)
{
  const size_t n = 5;
  gsl_matrix *K = gsl_matrix_calloc(n, n), *K4 = gsl_matrix_calloc(4, 4);
  gsl_vector *r = gsl_vector_calloc(n), *r4 = gsl_vector_calloc(4);
  double loss, eta;
  gsl_matrix_set(K, 1, 0, 1.0);
  vt_ok(nzk_closed_alloc(K) == NULL && nzk_error_code() == GSL_EINVAL,
        "closed form refuses a non-symmetric kernel: %s", nzk_error_message());
  /* the documented tolerance is the boundary: 2x over refused, 0.5x kept */
  gsl_matrix_set(K, 0, 1, 1.0 - 2.0 * NZK_CLOSED_SYM_TOL);
  vt_ok(nzk_closed_alloc(K) == NULL && nzk_error_code() == GSL_EINVAL,
        "closed form refuses asymmetry 2 x NZK_CLOSED_SYM_TOL");
  gsl_matrix_set(K, 0, 1, 1.0 - 0.5 * NZK_CLOSED_SYM_TOL);
  nzk_closed *cf = nzk_closed_alloc(K);
  vt_ok(cf != NULL, "closed form accepts asymmetry 0.5 x NZK_CLOSED_SYM_TOL");
  nzk_closed_free(cf);
  gsl_matrix_set(K, 0, 1, 1.0);
  cf = nzk_closed_alloc(K);
  vt_ok(nzk_closed_loss(cf, 0.1, 3.0, NZK_EVOLVE_STEPS, &loss) == GSL_EFAILED,
        "closed form refuses to evaluate before r0 is set");
  vt_ok(nzk_closed_set_r0(cf, r4) == GSL_EBADLEN, "closed form refuses an r0 of the wrong size");
  nzk_closed_set_r0(cf, r);
  vt_ok(nzk_closed_loss(cf, 0.1, 2.5, NZK_EVOLVE_STEPS, &loss) == GSL_EINVAL &&
        nzk_closed_loss(cf, 0.1, 2.5, NZK_EVOLVE_FLOW, &loss) == 0 &&
        nzk_closed_loss(cf, 0.1, -1.0, NZK_EVOLVE_FLOW, &loss) == GSL_EINVAL,
        "closed form: integer steps only in STEPS mode, t >= 0");
  vt_ok(nzk_closed_residual(cf, 0.1, 2.0, NZK_EVOLVE_STEPS, r4) == GSL_EBADLEN,
        "closed form refuses an output of the wrong size");
  vt_ok(nzk_kgd_step(K4, 0.1, r, r, r) == GSL_EBADLEN, "kernel GD refuses mismatched shapes");
  gsl_matrix_set_zero(K);
  nzk_secmom *sm = nzk_secmom_alloc(K);
  vt_ok(nzk_secmom_stability_eta(sm, &eta) == GSL_EDOM,
        "stability limit of A = 0 is reported as not existing");
  nzk_secmom_free(sm);
  nzk_closed_free(cf);
  gsl_matrix_free(K);
  gsl_matrix_free(K4);
  gsl_vector_free(r);
  gsl_vector_free(r4);
}

int main(void)
{
  seed = vt_seed(20260321);
  check_zo_exact();
  check_fo_is_ntk_gd();
  check_replay();
  check_best_of_k();
  check_closed_vs_iteration(0.3, 16000);
  check_closed_vs_iteration(1.7, 3000);
  check_closed_vs_iteration(2.3, 49);
  check_sandwich(60, 7, 0);
  check_sandwich(45, 6, 1);
  check_sandwich(30, 40, 0);
  check_flow();
  check_secmom_forms(60, 0.8);
  check_secmom_forms(3000, 0.5);
  check_stability_limit();
  check_runaway();
  check_any_model();
  check_error_paths();
  check_dynamics_errors();
  return vt_finish();
}
