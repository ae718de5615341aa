/* test_rng_light.c: the light per-step generator "nzk-splitmix64"
 * (rng_stream.h) produces the laws the trainer relies on.
 *
 * Not a substitute for TestU01 (SplitMix64 is documented to pass BigCrush);
 * these checks catch wiring mistakes: wrong output range, a biased double,
 * broken integer draws (used by Rademacher and by GSL's ziggurat), chunks
 * that repeat each other.  Each bound is a z-score of 5 from the
 * estimator's own standard error, or a chi-square quantile at 1e-6. */
#include "rng_stream.h"
#include "vtest.h"

#include <math.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

int main(void)
{
  const uint64_t seed = vt_seed(77);
  const size_t N = 1000000;
  gsl_rng *r = nzk_stream_alloc_light(seed, 12345);
  vt_ok(gsl_rng_max(r) == 0xffffffffUL && gsl_rng_min(r) == 0, "32-bit output range");

  /* uniform doubles: mean 1/2, variance 1/12, all in [0, 1) */
  double s1 = 0, s2 = 0, lo = 1, hi = 0;
  for (size_t k = 0; k < N; k++) {
    double u = gsl_rng_uniform(r);
    s1 += u;
    s2 += u * u;
    lo = vt_nan_min(lo, u);
    hi = vt_nan_max(hi, u);
  }
  vt_abs(s1 / N, 0.5, 5.0 * sqrt(1.0 / 12.0 / N), "uniform mean (5 SE)");
  vt_abs(s2 / N - (s1 / N) * (s1 / N), 1.0 / 12.0, 5.0 * sqrt(1.0 / 180.0 / N),
         "uniform variance (5 SE)");
  vt_ok(lo >= 0.0 && hi < 1.0, "uniform in [0, 1): min %.3g, max %.17g", lo, hi);

  /* integer draws: chi-square over 256 cells */
  double cnt[256] = {0}, chi2 = 0;
  for (size_t k = 0; k < N; k++) cnt[gsl_rng_uniform_int(r, 256)]++;
  for (int b = 0; b < 256; b++) chi2 += (cnt[b] - N / 256.0) * (cnt[b] - N / 256.0) / (N / 256.0);
  vt_ok(chi2 < gsl_cdf_chisq_Qinv(1e-6, 255), "uniform_int(256) chi-square %.1f < %.1f", chi2,
        gsl_cdf_chisq_Qinv(1e-6, 255));

  /* ziggurat Gaussian: variance 1 and kurtosis 3 */
  double g2 = 0, g4 = 0;
  for (size_t k = 0; k < N; k++) {
    double g = gsl_ran_gaussian_ziggurat(r, 1.0);
    g2 += g * g;
    g4 += g * g * g * g;
  }
  vt_abs(g2 / N, 1.0, 5.0 * sqrt(2.0 / N), "Gaussian second moment (5 SE)");
  vt_abs(g4 / N, 3.0, 5.0 * sqrt(96.0 / N), "Gaussian fourth moment (5 SE)");

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

  /* correlation of first draws across consecutive chunks (5 SE) */
  double sxy = 0;
  for (uint64_t k = 0; k < 100000; k++) {
    nzk_stream_reset_light(r, seed, k);
    double x = gsl_rng_uniform(r) - 0.5;
    nzk_stream_reset_light(r, seed, k + 1);
    sxy += x * (gsl_rng_uniform(r) - 0.5);
  }
  vt_abs(sxy / 100000 * 12.0, 0.0, 5.0 / sqrt(100000.0),
         "first draws of chunks k, k+1 uncorrelated");
  gsl_rng_free(r);
  return vt_finish();
}
