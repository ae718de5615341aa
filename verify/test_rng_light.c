/* test_rng_light.c: the light per-step generator "nzk-splitmix64"
 * (rng_stream.h) produces the laws the trainer relies on.
 *
 * Not a substitute for TestU01 (SplitMix64 is documented to pass BigCrush);
 * these checks catch wiring mistakes: wrong output range, a biased double,
 * broken integer draws (used by Rademacher and by GSL's ziggurat), chunks
 * that repeat each other.  Each bound is a z-score of 5 from the
 * estimator's own standard error, or a chi-square quantile at 1e-6.
 *
 * Negative controls: each statistic is computed again on a deliberately
 * flawed variant of the draws and must reject it with the same bound.  The
 * flaws are sized to sit 10 or more SE outside the bound, so rejection
 * does not depend on the seed: u^1.02 (mean 1/2.02, 17 SE), 1/2 + 0.98
 * (u - 1/2) (variance x 0.96, 44 SE), uniform_int(257) with 256 folded
 * onto 0 (one cell doubled: chi-square ~ 3900 vs 370), 1.02 g (second
 * moment 1.0404, 28 SE), a scale mixture sqrt(1 +- 0.3) g (variance 1,
 * fourth moment 3.27, 27 SE), and chunk k+1's draw replaced by chunk k's
 * with probability 0.05 (correlation 0.05, 16 SE). */
#include "rng_stream.h"
#include "vtest.h"

#include <math.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

/* Uniform doubles: z-scores of the mean and variance against 1/2 and 1/12
 * and the range; flawed = 1 bends the draws (file comment). */
static void uniform_stats(gsl_rng *r, size_t N, int flawed, double *zm, double *zv, double *lo,
                          double *hi)
{
  double s1 = 0, s2 = 0;
  *lo = 1;
  *hi = 0;
  for (size_t k = 0; k < N; k++) {
    double u = gsl_rng_uniform(r);
    if (flawed == 1) u = pow(u, 1.02);
    if (flawed == 2) u = 0.5 + 0.98 * (u - 0.5);
    s1 += u;
    s2 += u * u;
    *lo = vt_nan_min(*lo, u);
    *hi = vt_nan_max(*hi, u);
  }
  const double n = (double)N, m = s1 / n;
  *zm = fabs(m - 0.5) / sqrt(1.0 / 12.0 / n);
  *zv = fabs(s2 / n - m * m - 1.0 / 12.0) / sqrt(1.0 / 180.0 / n);
}

/* Chi-square of uniform_int(256) over its 256 cells (flawed: one cell
 * doubled). */
static double int_chi2(gsl_rng *r, size_t N, int flawed)
{
  double cnt[256] = {0}, chi2 = 0, e = (double)N / 256.0;
  for (size_t k = 0; k < N; k++) {
    unsigned long v = flawed ? gsl_rng_uniform_int(r, 257) % 256 : gsl_rng_uniform_int(r, 256);
    cnt[v]++;
  }
  for (int b = 0; b < 256; b++) chi2 += (cnt[b] - e) * (cnt[b] - e) / e;
  return chi2;
}

/* z-scores of the ziggurat Gaussian's second and fourth moments against 1
 * and 3 (SE sqrt(2/N), sqrt(96/N)); flawed 1: 1.02 g, 2: scale mixture. */
static void gauss_stats(gsl_rng *r, size_t N, int flawed, double *z2, double *z4)
{
  double g2 = 0, g4 = 0;
  for (size_t k = 0; k < N; k++) {
    double g = gsl_ran_gaussian_ziggurat(r, 1.0);
    if (flawed == 1) g *= 1.02;
    if (flawed == 2) g *= sqrt(gsl_rng_uniform(r) < 0.5 ? 0.7 : 1.3);
    g2 += g * g;
    g4 += g * g * g * g;
  }
  *z2 = fabs(g2 / (double)N - 1.0) / sqrt(2.0 / (double)N);
  *z4 = fabs(g4 / (double)N - 3.0) / sqrt(96.0 / (double)N);
}

/* z-score of the correlation of the first draws of chunks k and k+1 (SE
 * 1/sqrt(K) for the normalised product); flawed: chunk k's draw reused
 * with probability 0.05. */
static double chunk_corr_z(gsl_rng *r, uint64_t seed, uint64_t K, int flawed)
{
  double sxy = 0;
  for (uint64_t k = 0; k < K; k++) {
    nzk_stream_reset_light(r, seed, k);
    double x = gsl_rng_uniform(r) - 0.5, pick = gsl_rng_uniform(r);
    nzk_stream_reset_light(r, seed, k + 1);
    double y = gsl_rng_uniform(r) - 0.5;
    if (flawed && pick < 0.05) y = x;
    sxy += x * y;
  }
  return fabs(sxy / (double)K * 12.0) * sqrt((double)K);
}

int main(void)
{
  const uint64_t seed = vt_seed(77);
  const size_t N = 1000000;
  const double Z = 5.0;
  gsl_rng *r = nzk_stream_alloc_light(seed, 12345);
  vt_ok(gsl_rng_max(r) == 0xffffffffUL && gsl_rng_min(r) == 0, "32-bit output range");

  double zm, zv, lo, hi, z2, z4;
  uniform_stats(r, N, 0, &zm, &zv, &lo, &hi);
  vt_ok(zm <= Z, "uniform mean: |z| = %.2f <= %g", zm, Z);
  vt_ok(zv <= Z, "uniform variance: |z| = %.2f <= %g", zv, Z);
  vt_ok(lo >= 0.0 && hi < 1.0, "uniform in [0, 1): min %.3g, max %.17g", lo, hi);
  uniform_stats(r, N, 1, &zm, &zv, &lo, &hi);
  vt_ok(!(zm <= Z), "negative control: mean of u^1.02 rejected, |z| = %.1f > %g", zm, Z);
  uniform_stats(r, N, 2, &zm, &zv, &lo, &hi);
  vt_ok(!(zv <= Z), "negative control: variance of 1/2 + 0.98 (u - 1/2) rejected, |z| = %.1f "
        "> %g", zv, Z);

  const double q = gsl_cdf_chisq_Qinv(1e-6, 255), chi2 = int_chi2(r, N, 0);
  vt_ok(chi2 < q, "uniform_int(256) chi-square %.1f < %.1f", chi2, q);
  const double chi2_bad = int_chi2(r, N, 1);
  vt_ok(!(chi2_bad < q), "negative control: one cell doubled rejected, chi-square %.1f >= %.1f",
        chi2_bad, q);

  gauss_stats(r, N, 0, &z2, &z4);
  vt_ok(z2 <= Z, "Gaussian second moment: |z| = %.2f <= %g", z2, Z);
  vt_ok(z4 <= Z, "Gaussian fourth moment: |z| = %.2f <= %g", z4, Z);
  gauss_stats(r, N, 1, &z2, &z4);
  vt_ok(!(z2 <= Z), "negative control: second moment of 1.02 g rejected, |z| = %.1f > %g", z2, Z);
  gauss_stats(r, N, 2, &z2, &z4);
  vt_ok(!(z4 <= Z), "negative control: fourth moment of a scale mixture (variance 1) rejected, "
        "|z| = %.1f > %g", z4, Z);

  /* chunks: re-keying reproduces a stream; neighbouring chunks differ */
  unsigned long a[4], b[4], c[4];
  nzk_stream_reset_light(r, seed, 7);
  for (int k = 0; k < 4; k++) a[k] = gsl_rng_get(r);
  nzk_stream_reset_light(r, seed, 7);
  for (int k = 0; k < 4; k++) b[k] = gsl_rng_get(r);
  nzk_stream_reset_light(r, seed, 8);
  for (int k = 0; k < 4; k++) c[k] = gsl_rng_get(r);
  vt_ok(a[0] == b[0] && a[3] == b[3] && a[0] != c[0] && a[1] != c[1],
        "re-keying to chunk 7 repeats it; chunk 8 differs");

  const double zc = chunk_corr_z(r, seed, 100000, 0), zc_bad = chunk_corr_z(r, seed, 100000, 1);
  vt_ok(zc <= Z, "first draws of chunks k, k+1 uncorrelated: |z| = %.2f <= %g", zc, Z);
  vt_ok(!(zc_bad <= Z), "negative control: correlation 0.05 between chunks rejected, |z| = %.1f "
        "> %g", zc_bad, Z);
  gsl_rng_free(r);
  return vt_finish();
}
