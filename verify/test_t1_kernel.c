/* test_t1_kernel.c: theorem T1 (DESIGN.md section 3), the Monte Carlo NZK
 * equals its moment formula, for every scheme x direction law.
 *
 * Laws: i.i.d. Normal, Laplace, Student-t, Rademacher, Uniform entries and
 * Gaussian N(mu, Sigma) with isotropic and anisotropic Sigma, each with
 * zero and non-zero mean; features of sizes n = 3..50, p = 2..200.  Each
 * case must pass the z-test against its formula (alpha = 1e-4 family-wise,
 * Bonferroni over the distinct entries, DESIGN.md section 4) and have its
 * negative controls rejected:
 *   - a wrong formula on the same estimate: the plain formula J M2 J^T for
 *     the shared scheme, the FO kernel J J^T for the plain scheme, the
 *     shared formula J M4 J^T for the pair scheme (the zeta = z confusion);
 *   - a 1 % perturbed formula at large S, on a small problem (n = 3,
 *     p = 3) with the same laws (for each scheme x law, one of the two
 *     means, alternating, to keep the run short), with S chosen from a
 *     pilot run's own standard errors so that the most sensitive entry
 *     shifts by z* + 4 standard errors: then the
 *     perturbation is rejected with probability about 1 - 3e-5 while the
 *     exact formula must still pass at that precision.
 * Heavy-tailed laws report "undefined" (no expectation) and "not testable"
 * (infinite variance), never "pass".
 *
 * Student-t in the shared scheme uses nu = 18: with 8 < nu <= 16 the
 * variance of a draw is finite (so the check is "testable") but the
 * standard error itself has infinite variance and under-covers in small
 * samples; the verdicts at nu = 10 are checked separately below. */
#include "kernel.h"
#include "nzk_error.h"
#include "stats_check.h"
#include "t1_cases.h"
#include "vtest.h"

#include <math.h>
#include <stdio.h>

#define ALPHA 1e-4
#define S_CHECK 20000
#define S_PILOT 20000
#define S_CAP 40000000

static const dir_spec LAWS[] = {
  {DIR_IID, "normal:scale=1.7319", 0},    {DIR_IID, "laplace:scale=0.61", 0},
  {DIR_IID, "t:nu=10,scale=0.5", 0},      {DIR_IID, "rademacher:scale=1.3", 0},
  {DIR_IID, "uniform:scale=0.9", 0},      {DIR_GAUSS_ISO, NULL, 0},
  {DIR_GAUSS_ANISO, NULL, 0},
};
#define N_LAWS (sizeof LAWS / sizeof LAWS[0])

static const struct { size_t n, p; int sphere; } SIZES[] = {
  {3, 2, 0}, {12, 40, 1}, {50, 200, 0}, {7, 5, 1}, {20, 100, 1}, {30, 9, 0}, {50, 60, 1},
};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])

/* Case law: the spec with the mean applied; t gets nu = 18 for shared. */
static dir_spec case_law(size_t k, double mean, nzk_scheme scheme)
{
  dir_spec d = LAWS[k];
  d.mean = mean;
  if (scheme == NZK_SCHEME_SHARED && d.kind == DIR_IID && d.law[0] == 't')
    d.law = "t:nu=18,scale=0.5";
  return d;
}

/* The wrong formula of the first negative control (see the file comment). */
static void wrong_formula(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z,
                          gsl_matrix *F)
{
  if (scheme == NZK_SCHEME_SHARED) nzk_kernel_expected(NZK_SCHEME_PLAIN, J, z, NULL, F);
  else if (scheme == NZK_SCHEME_PAIR) nzk_kernel_expected(NZK_SCHEME_SHARED, J, z, NULL, F);
  else nzk_kernel_ntk(J, F);
}

static const char *wrong_name(nzk_scheme scheme)
{
  return scheme == NZK_SCHEME_SHARED ? "plain formula"
         : scheme == NZK_SCHEME_PAIR ? "shared formula" : "FO kernel J J^T";
}

/* Largest |formula| / se over the entries: how many standard errors a 1 %
 * change moves the most sensitive entry, per 1 %. */
static double max_sensitivity(const gsl_matrix *F, const gsl_matrix *se)
{
  double best = 0.0;
  for (size_t k = 0; k < F->size1 * F->size2; k++)
    if (se->data[k] > 0) best = vt_nan_max(best, fabs(F->data[k]) / se->data[k]);
  return 0.01 * best;
}

typedef struct {
  nzk_scheme scheme;
  dir_spec z, zeta;
  int same_zeta;
  uint64_t seed;
} t1_case;

/* One size: estimate, z-test, wrong-formula control. */
static void check_main(const t1_case *c, size_t n, size_t p, int sphere, const char *name)
{
  gsl_rng *r = nzk_stream_alloc(c->seed, 1000);
  gsl_matrix *J = t1_features(r, n, p, sphere);
  nzk_dir *z = t1_direction(&c->z, p, r);
  nzk_dir *zeta = c->same_zeta ? NULL : t1_direction(&c->zeta, p, r);
  gsl_matrix *est = gsl_matrix_alloc(n, n), *se = gsl_matrix_alloc(n, n);
  gsl_matrix *F = gsl_matrix_alloc(n, n);
  nzk_check_result res;
  size_t B = 64 + 97 * (c->seed % 3); /* batch sizes 64, 161, 258 */

  int st = nzk_check_kernel(c->scheme, J, z, zeta, S_CHECK, B, c->seed, ALPHA, est, se, F, &res);
  if (st) vt_ok(0, "%s: %s", name, nzk_error_message());
  else vt_verdict(&res, NZK_VERDICT_PASS, "T1 %s (n=%zu, p=%zu, S=%d)", name, n, p, S_CHECK);
  wrong_formula(c->scheme, J, z, F);
  nzk_check_zscores(est, se, F, c->scheme != NZK_SCHEME_PAIR, ALPHA, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "control: %s rejected, %s", wrong_name(c->scheme), name);

  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(F);
  gsl_matrix_free(J);
  nzk_dir_free(z);
  nzk_dir_free(zeta);
  gsl_rng_free(r);
}

/* Small size, large S: exact formula passes, 1 % perturbation rejected. */
static void check_one_percent(const t1_case *c, const char *name)
{
  const size_t n = 3, p = 3;
  gsl_rng *r = nzk_stream_alloc(c->seed, 2000);
  gsl_matrix *J = t1_features(r, n, p, 0);
  nzk_dir *z = t1_direction(&c->z, p, r);
  nzk_dir *zeta = c->same_zeta ? NULL : t1_direction(&c->zeta, p, r);
  gsl_matrix *est = gsl_matrix_alloc(n, n), *se = gsl_matrix_alloc(n, n);
  gsl_matrix *F = gsl_matrix_alloc(n, n);
  nzk_check_result res;
  const int sym = c->scheme != NZK_SCHEME_PAIR;

  nzk_check_kernel(c->scheme, J, z, zeta, S_PILOT, 256, c->seed + 1, ALPHA, est, se, F, &res);
  double zstar = nzk_check_bonferroni_z(ALPHA, sym ? n * (n + 1) / 2 : n * n);
  double ratio = (zstar + 4.0) / max_sensitivity(F, se);
  double S = fmin(ceil(S_PILOT * ratio * ratio), S_CAP);

  nzk_check_kernel(c->scheme, J, z, zeta, (size_t)S, 1024, c->seed + 2, ALPHA, est, se, F, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "T1 at large S %s (n=3, p=3, S=%.3g)", name, S);
  gsl_matrix_scale(F, 1.01);
  nzk_check_zscores(est, se, F, sym, ALPHA, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "control: 1%% perturbed formula rejected, %s (S=%.3g)", name,
             S);

  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(F);
  gsl_matrix_free(J);
  nzk_dir_free(z);
  nzk_dir_free(zeta);
  gsl_rng_free(r);
}

static void run_matrix(uint64_t seed)
{
  static const double means[] = {0.0, 0.37};
  size_t index = 0;
  for (int s = 0; s < 3; s++)
    for (size_t k = 0; k < N_LAWS; k++)
      for (int mi = 0; mi < 2; mi++, index++) {
        t1_case c = {(nzk_scheme)s, case_law(k, means[mi], (nzk_scheme)s),
                     case_law((k + 3) % N_LAWS, 0.21, (nzk_scheme)s), index % 2 == 0,
                     seed + 7919 * index};
        char name[200], dz[80], dzeta[80];
        t1_describe(&c.z, dz, sizeof dz);
        t1_describe(&c.zeta, dzeta, sizeof dzeta);
        snprintf(name, sizeof name, "%s, z %s%s%s", nzk_scheme_name(c.scheme), dz,
                 c.scheme == NZK_SCHEME_PAIR ? ", zeta " : "",
                 c.scheme == NZK_SCHEME_PAIR ? (c.same_zeta ? "same law" : dzeta) : "");
        size_t sz = index % N_SIZES;
        check_main(&c, SIZES[sz].n, SIZES[sz].p, SIZES[sz].sphere, name);
        /* The large-S control alternates between the two means (time). */
        if ((size_t)mi == (k + (size_t)s) % 2) check_one_percent(&c, name);
      }
}

/* The verdict a heavy-tailed case must get from nzk_check_kernel, and the
 * outputs it leaves: the estimate always, the formula only when E K
 * exists, the standard errors never. */
static void check_heavy(nzk_scheme scheme, const char *zlaw, const char *zetalaw,
                        nzk_verdict want, uint64_t seed)
{
  const size_t n = 4, p = 6;
  gsl_rng *r = nzk_stream_alloc(seed, 3000);
  gsl_matrix *J = t1_features(r, n, p, 1);
  dir_spec dz = {DIR_IID, zlaw, 0.1}, dzeta = {DIR_IID, zetalaw ? zetalaw : zlaw, 0.0};
  nzk_dir *z = t1_direction(&dz, p, r), *zeta = zetalaw ? t1_direction(&dzeta, p, r) : NULL;
  gsl_matrix *est = gsl_matrix_alloc(n, n), *se = gsl_matrix_alloc(n, n);
  gsl_matrix *F = gsl_matrix_alloc(n, n);
  nzk_check_result res;

  int st = nzk_check_kernel(scheme, J, z, zeta, 5000, 128, seed, ALPHA, est, se, F, &res);
  vt_verdict(&res, want, "%s, z %s%s%s", nzk_scheme_name(scheme), zlaw, zetalaw ? ", zeta " : "",
             zetalaw ? zetalaw : "");
  if (want != NZK_VERDICT_PASS) {
    int est_ok = st == 0 && isfinite(gsl_matrix_get(est, 1, 0));
    int formula_ok = (want == NZK_VERDICT_UNDEFINED) == isnan(gsl_matrix_get(F, 1, 0));
    vt_ok(est_ok && formula_ok && isnan(gsl_matrix_get(se, 1, 0)),
          "  outputs: estimate finite, formula %s, standard errors NaN",
          want == NZK_VERDICT_UNDEFINED ? "NaN" : "finite");
  }
  gsl_matrix_free(est);
  gsl_matrix_free(se);
  gsl_matrix_free(F);
  gsl_matrix_free(J);
  nzk_dir_free(z);
  nzk_dir_free(zeta);
  gsl_rng_free(r);
}

static void run_heavy(uint64_t seed)
{
  const nzk_scheme P = NZK_SCHEME_PLAIN, Q = NZK_SCHEME_PAIR, S = NZK_SCHEME_SHARED;
  const nzk_verdict U = NZK_VERDICT_UNDEFINED, N = NZK_VERDICT_NOT_TESTABLE;
  check_heavy(S, "t:nu=3", NULL, U, seed);
  check_heavy(S, "t:nu=4", NULL, U, seed); /* E z^4 needs nu > 4 */
  check_heavy(S, "t:nu=6", NULL, N, seed);
  check_heavy(S, "t:nu=8", NULL, N, seed); /* E z^8 needs nu > 8 */
  check_heavy(P, "t:nu=1.5", NULL, U, seed);
  check_heavy(P, "t:nu=2", NULL, U, seed);
  check_heavy(P, "t:nu=3", NULL, N, seed);
  check_heavy(P, "t:nu=4", NULL, N, seed);
  check_heavy(Q, "normal", "t:nu=1.5", U, seed);
  check_heavy(Q, "t:nu=2", "normal", U, seed);
  check_heavy(Q, "normal", "t:nu=3", N, seed);
  check_heavy(Q, "t:nu=4", "laplace", N, seed);
  /* Just past the boundaries the check runs (and must pass). */
  check_heavy(P, "t:nu=30", NULL, NZK_VERDICT_PASS, seed);
  check_heavy(S, "t:nu=30", NULL, NZK_VERDICT_PASS, seed);
}

int main(void)
{
  uint64_t seed = vt_seed(20260402);
  run_heavy(seed);
  run_matrix(seed);
  return vt_finish();
}
