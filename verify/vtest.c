/* vtest.c: PASS/FAIL lines and the summary (see vtest.h). */
#include "vtest.h"
#include "rng_stream.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int n_pass, n_fail, n_skip;

static void report(int ok, const char *detail, const char *fmt, va_list ap)
{
  printf("%s ", ok ? "PASS" : "FAIL");
  vprintf(fmt, ap);
  if (detail && *detail) printf(": %s", detail);
  putchar('\n');
  fflush(stdout);
  if (ok) n_pass++;
  else n_fail++;
}

void vt_ok(int ok, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  report(ok, NULL, fmt, ap);
  va_end(ap);
}

void vt_rel(double observed, double expected, double tol_rel, const char *fmt, ...)
{
  char detail[200];
  double err = fabs(observed - expected), bound = tol_rel * fabs(expected);
  int ok = err <= bound; /* false for NaN */
  snprintf(detail, sizeof detail, "observed %.17g, expected %.17g, rel. error %.3g (tol %.3g)",
           observed, expected, expected != 0 ? err / fabs(expected) : err, tol_rel);
  va_list ap;
  va_start(ap, fmt);
  report(ok, detail, fmt, ap);
  va_end(ap);
}

void vt_abs(double observed, double expected, double tol_abs, const char *fmt, ...)
{
  char detail[200];
  double err = fabs(observed - expected);
  snprintf(detail, sizeof detail, "observed %.17g, expected %.17g, abs. error %.3g (tol %.3g)",
           observed, expected, err, tol_abs);
  va_list ap;
  va_start(ap, fmt);
  report(err <= tol_abs, detail, fmt, ap);
  va_end(ap);
}

void vt_verdict(const nzk_check_result *res, nzk_verdict want, const char *fmt, ...)
{
  char detail[400];
  if (res->verdict == NZK_VERDICT_PASS || res->verdict == NZK_VERDICT_FAIL)
    snprintf(detail, sizeof detail, "verdict %s (want %s), max|z| = %.3g vs z* = %.3g, m = %zu, "
             "alpha = %g, rel. Frobenius %.3g", nzk_verdict_name(res->verdict),
             nzk_verdict_name(want), res->statistic, res->threshold, res->n_tests, res->alpha,
             res->rel_frobenius);
  else
    snprintf(detail, sizeof detail, "verdict %s (want %s): %s", nzk_verdict_name(res->verdict),
             nzk_verdict_name(want), res->reason);
  va_list ap;
  va_start(ap, fmt);
  report(res->verdict == want, detail, fmt, ap);
  va_end(ap);
}

void vt_skip(const char *fmt, ...)
{
  va_list ap;
  printf("SKIP ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  n_skip++;
}

double vt_nan_max(double m, double d)
{
  if (isnan(m)) return m;
  return d <= m ? m : d; /* the comparison is false for a NaN d */
}

double vt_nan_min(double m, double d)
{
  if (isnan(m)) return m;
  return d >= m ? m : d;
}

double vt_max_abs_diff(const double *a, const double *b, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = vt_nan_max(m, fabs(a[i] - b[i]));
  return m;
}

double vt_max_abs(const double *a, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = vt_nan_max(m, fabs(a[i]));
  return m;
}

uint64_t vt_seed(uint64_t fallback) { return nzk_stream_default_seed(fallback); }

int vt_finish(void)
{
  printf("%d passed, %d failed", n_pass, n_fail);
  if (n_skip) printf(", %d skipped", n_skip);
  putchar('\n');
  return n_fail ? 1 : 0;
}
