/* test_law_moments.c: the samplers of law.h and direction.h produce the
 * moments their formulas claim.
 *
 * Entry laws: for each law (with a mean shift) the sample raw moments
 * E u^k, k = 1..4, of N draws must match nzk_law_raw_moment within
 * z* standard errors, the standard error being the sample standard
 * deviation of u^k over sqrt(N); z* is Bonferroni at family-wise
 * alpha = 1e-4 over all moment checks of the file.  Orders are tested only
 * where E u^(4k) is finite, so that the standard error is itself reliable
 * (hence t(nu=10) up to k = 2, t(nu=20) up to k = 4).  Negative control:
 * the same samples against the formula of the law with its scale 5 %
 * larger must be rejected.
 * Gaussian directions N(mu, Sigma): the sample mean must match mu and the
 * sample second moment (1/N) sum z z^T must match Sigma + mu mu^T (formed
 * here directly, not through nzk_dir_second_moment), entry-wise with
 * standard errors from the same draws; controls: Sigma alone (mu mu^T
 * forgotten) and Sigma + mu mu^T with Sigma 5 % larger are rejected.
 * The standard normal sampler (our ziggurat, law_ziggurat.c): a chi-square
 * goodness-of-fit test over 34 bins whose edges include the base-layer
 * edge R = 3.4426 and the tails beyond 4.25, from 4 million variates of
 * an MT19937 and a taus2 stream, at level 1e-4; control: the same counts
 * against N(0, 1.01^2) are rejected. */
#include "direction.h"
#include "kernel.h"
#include "law.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "stats_check.h"
#include "t1_cases.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <gsl/gsl_cdf.h>

#define ALPHA 1e-4
#define N_DRAWS 400000
#define N_MOMENT_TESTS 40 /* Bonferroni family: 10 laws x 4 orders (upper bound) */

static const char *LAW_SPECS[] = {
  "normal:scale=1.7319,mean=0.3", "normal:scale=0.5",          "laplace:scale=0.61,mean=-0.2",
  "t:nu=10,scale=0.5,mean=0.1",   "t:nu=20,scale=1.3,mean=0.7", "rademacher:scale=1.3,mean=0.4",
  "rademacher:scale=0.8",         "uniform:scale=0.9,mean=-0.5", "uniform:scale=2.1",
  "laplace:scale=1.1",
};

/* Largest |sample - formula| / se over orders 1..kmax; formula from law. */
static double moment_zmax(const double *x, size_t N, const nzk_law *law, int kmax, int *worst)
{
  double zmax = 0.0;
  for (int k = 1; k <= kmax; k++) {
    double s1 = 0, s2 = 0, f;
    for (size_t i = 0; i < N; i++) {
      double xk = pow(x[i], k);
      s1 += xk;
      s2 += xk * xk;
    }
    double m = s1 / (double)N, var = s2 / (double)N - m * m;
    double se = sqrt(vt_nan_max(var, 0.0) / (double)(N - 1));
    nzk_law_raw_moment(law, k, &f);
    /* A moment with no spread (Rademacher's even powers) must equal its
     * formula to rounding: 16 N eps relative for the sum of N equal terms. */
    double z = se > 0 ? fabs(m - f) / se
                      : (fabs(m - f) <= 16.0 * (double)N * DBL_EPSILON * fabs(f) ? 0.0 : INFINITY);
    if (!isnan(zmax) && !(z <= zmax)) { /* NaN-sticky: a NaN z is never overwritten */
      zmax = z;
      *worst = k;
    }
  }
  return zmax;
}

static void check_entry_law(const char *spec, uint64_t seed, size_t index)
{
  nzk_law law;
  if (nzk_law_parse(spec, &law)) {
    vt_ok(0, "parse %s: %s", spec, nzk_error_message());
    return;
  }
  int kmax = 4;
  while (kmax > 0 && !nzk_law_moment_exists(&law, 4 * kmax)) kmax--;
  double *x = malloc(N_DRAWS * sizeof(double));
  gsl_rng *r = nzk_stream_alloc(seed, index);
  nzk_law_fill(&law, r, x, N_DRAWS);

  double zstar = nzk_check_bonferroni_z(ALPHA, N_MOMENT_TESTS);
  int worst = 0;
  double z = moment_zmax(x, N_DRAWS, &law, kmax, &worst);
  vt_ok(z <= zstar, "%s: raw moments 1..%d match, max|z| = %.3g (order %d) <= %.3g", spec, kmax,
        z, worst, zstar);
  nzk_law wrong = law;
  wrong.scale *= 1.05;
  z = moment_zmax(x, N_DRAWS, &wrong, kmax, &worst);
  vt_ok(z > zstar, "control: %s against scale x 1.05 rejected, max|z| = %.3g (order %d) > %.3g",
        spec, z, worst, zstar);
  free(x);
  gsl_rng_free(r);
}

/* max_j |mean_j - mu_j - shift sd_j| / sd_j, sd_j = sqrt(Sigma_jj / S): the
 * z-scores of the sample mean (zsum / S) against mu shifted by `shift`
 * standard errors. */
static double mean_zmax(const gsl_vector *zsum, size_t S, const gsl_matrix *Sigma,
                        const gsl_vector *mu, double shift)
{
  double zmax = 0.0;
  for (size_t j = 0; j < mu->size; j++) {
    double m = zsum->data[j] / (double)S, sd = sqrt(gsl_matrix_get(Sigma, j, j) / (double)S);
    zmax = vt_nan_max(zmax, fabs(m - gsl_vector_get(mu, j) - shift * sd) / sd);
  }
  return zmax;
}

/* Sample mean and M2 of N(mu, Sigma) against mu and Sigma + mu mu^T. */
static void check_gaussian(size_t p, int aniso, uint64_t seed)
{
  gsl_rng *r = nzk_stream_alloc(seed, 100 + p);
  dir_spec spec = {aniso ? DIR_GAUSS_ANISO : DIR_GAUSS_ISO, NULL, 0.83};
  nzk_dir *dir = t1_direction(&spec, p, r);
  /* Rebuild mu and Sigma exactly as t1_direction did, from the same stream. */
  gsl_rng *r2 = nzk_stream_alloc(seed, 100 + p);
  gsl_matrix *Sigma = t1_sigma(r2, p, aniso), *F = gsl_matrix_alloc(p, p);
  gsl_vector *mu = gsl_vector_alloc(p);
  for (size_t k = 0; k < p; k++) gsl_vector_set(mu, k, 0.83 * sin(1.7319 * (double)k + 0.4));

  const size_t B = 500, S = 100000;
  nzk_kacc *acc = nzk_kacc_alloc(p, B);
  gsl_matrix *Z = gsl_matrix_alloc(B, p), *M = gsl_matrix_alloc(p, p), *se = gsl_matrix_alloc(p, p);
  gsl_vector *zsum = gsl_vector_calloc(p);
  for (size_t k = 0; k < S / B; k++) {
    nzk_dir_sample_batch(dir, r, Z);
    nzk_kacc_add(acc, Z, NULL, NULL);
    for (size_t s = 0; s < B; s++)
      for (size_t j = 0; j < p; j++) zsum->data[j] += gsl_matrix_get(Z, s, j);
  }
  nzk_kacc_result(acc, M, se);

  double zstar = nzk_check_bonferroni_z(ALPHA, p);
  double zmax = mean_zmax(zsum, S, Sigma, mu, 0.0);
  vt_ok(zmax <= zstar, "N(mu, Sigma) p=%zu %s: sample mean = mu, max|z| = %.3g <= %.3g", p,
        aniso ? "anisotropic" : "isotropic", zmax, zstar);
  /* control: mu shifted by 12 SE per entry; whenever the check above
   * passes, every |z| here is >= 12 - z* > z* (z* < 6), whatever the seed */
  zmax = mean_zmax(zsum, S, Sigma, mu, 12.0);
  vt_ok(!(zmax <= zstar), "control: sample mean against mu + 12 SE rejected (p=%zu), max|z| = "
        "%.3g > %.3g", p, zmax, zstar);

  nzk_check_result res;
  gsl_matrix_memcpy(F, Sigma);
  nzk_check_zscores(M, se, F, 1, ALPHA, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "control: sample M2 against Sigma alone rejected (p=%zu)", p);
  for (size_t i = 0; i < p; i++)
    for (size_t j = 0; j < p; j++)
      gsl_matrix_set(F, i, j, 1.05 * gsl_matrix_get(Sigma, i, j) + mu->data[i] * mu->data[j]);
  nzk_check_zscores(M, se, F, 1, ALPHA, &res);
  vt_verdict(&res, NZK_VERDICT_FAIL, "control: 1.05 Sigma + mu mu^T rejected (p=%zu)", p);
  for (size_t i = 0; i < p; i++)
    for (size_t j = 0; j < p; j++)
      gsl_matrix_set(F, i, j, gsl_matrix_get(Sigma, i, j) + mu->data[i] * mu->data[j]);
  nzk_check_zscores(M, se, F, 1, ALPHA, &res);
  vt_verdict(&res, NZK_VERDICT_PASS, "N(mu, Sigma) p=%zu %s: sample M2 = Sigma + mu mu^T", p,
             aniso ? "anisotropic" : "isotropic");

  nzk_kacc_free(acc);
  gsl_matrix_free(Z);
  gsl_matrix_free(M);
  gsl_matrix_free(se);
  gsl_matrix_free(F);
  gsl_matrix_free(Sigma);
  gsl_vector_free(mu);
  gsl_vector_free(zsum);
  nzk_dir_free(dir);
  gsl_rng_free(r);
  gsl_rng_free(r2);
}

/* Chi-square statistic of the counts against N(0, sd^2) bin masses. */
static double chi2_normal(const size_t *count, const double *edge, size_t nb, size_t N, double sd)
{
  double chi2 = 0.0;
  for (size_t b = 0; b < nb; b++) {
    double lo = b ? gsl_cdf_gaussian_P(edge[b - 1], sd) : 0.0;
    double hi = b + 1 < nb ? gsl_cdf_gaussian_P(edge[b], sd) : 1.0;
    double e = (double)N * (hi - lo), d = (double)count[b] - e;
    chi2 += d * d / e;
  }
  return chi2;
}

static void check_std_normal(const gsl_rng_type *T, uint64_t seed)
{
  enum { NE = 33, N = 4000000 };
  double edge[NE];
  size_t count[NE + 1] = {0}, k = 0;
  static const double pos[] = {0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75,
                               3.0, 3.25, 3.442619855899, 3.75, 4.25};
  for (int i = 15; i >= 0; i--) edge[k++] = -pos[i];
  edge[k++] = 0.0;
  for (int i = 0; i < 16; i++) edge[k++] = pos[i];
  double *x = malloc(N * sizeof(double));
  gsl_rng *r = nzk_stream_alloc_type(T, seed, 9000);
  nzk_std_normal_fill(r, x, N);
  for (size_t i = 0; i < N; i++) {
    size_t b = 0;
    while (b < NE && x[i] >= edge[b]) b++;
    count[b]++;
  }
  double crit = gsl_cdf_chisq_Qinv(ALPHA, NE);
  double c1 = chi2_normal(count, edge, NE + 1, N, 1.0);
  double c2 = chi2_normal(count, edge, NE + 1, N, 1.01);
  vt_ok(c1 <= crit, "standard normal sampler (%s): chi^2 = %.1f <= %.1f (%d bins, N = %d)",
        gsl_rng_name(r), c1, crit, NE + 1, N);
  vt_ok(c2 > crit, "control (%s): the same counts against N(0, 1.01^2) rejected, chi^2 = %.1f",
        gsl_rng_name(r), c2);
  free(x);
  gsl_rng_free(r);
}

int main(void)
{
  uint64_t seed = vt_seed(20260403);
  for (size_t k = 0; k < sizeof LAW_SPECS / sizeof LAW_SPECS[0]; k++)
    check_entry_law(LAW_SPECS[k], seed, k);
  check_gaussian(2, 0, seed);
  check_gaussian(6, 1, seed);
  check_gaussian(25, 1, seed);
  check_std_normal(gsl_rng_mt19937, seed);
  check_std_normal(gsl_rng_taus2, seed);
  return vt_finish();
}
