/* bench.h: timing and memory helpers shared by the benchmark drivers.
 *
 * Benchmarks print whitespace-separated columns with units in the header
 * so gnuplot reads them directly; they never pass or fail on time.  Every
 * figure is the median of several repeats after a warm-up, with its spread
 * (min and max), from the monotonic clock. */
#ifndef NZK_BENCH_H
#define NZK_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <gsl/gsl_matrix.h>
#include "nzk_blas.h"

static inline double bench_now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this process, in seconds: unlike the wall clock it does not
 * count the time the process waits for a core, so it stays meaningful on
 * a machine shared with other jobs (single-threaded runs only). */
static inline double bench_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set size of this process so far, in bytes. */
static inline double bench_peak_rss_bytes(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return 1024.0 * (double)ru.ru_maxrss;
}

static int bench_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  double median, min, max; /* seconds, wall clock */
  int repeats;
  double cpu_median, cpu_min; /* seconds of process CPU time */
} bench_stat;

/* Run fn(arg) once to warm up, then `repeats` timed times (at most 64). */
static inline bench_stat bench_time(void (*fn)(void *), void *arg, int repeats)
{
  double t[64], c[64];
  if (repeats < 1) repeats = 1;
  if (repeats > 64) repeats = 64;
  fn(arg);
  for (int k = 0; k < repeats; k++) {
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    fn(arg);
    t[k] = bench_now_s() - t0;
    c[k] = bench_cpu_s() - c0;
  }
  qsort(t, (size_t)repeats, sizeof t[0], bench_cmp_double);
  qsort(c, (size_t)repeats, sizeof c[0], bench_cmp_double);
  bench_stat s = {t[repeats / 2], t[0], t[repeats - 1], repeats, c[repeats / 2], c[0]};
  return s;
}

/* Reference speed of this machine, measured in the same run: GFLOP/s of a
 * square DGEMM of size n (2 n^3 flops), median of `repeats`. */
typedef struct { gsl_matrix *A, *B, *C; } bench_dgemm_arg;

static void bench_dgemm_once(void *p)
{
  bench_dgemm_arg *a = p;
  int n = (int)a->A->size1;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a->A->data, n,
              a->B->data, n, 0.0, a->C->data, n);
}

static inline double bench_dgemm_gflops(size_t n, int repeats)
{
  bench_dgemm_arg a = {gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n)};
  for (size_t k = 0; k < n * n; k++) {
    a.A->data[k] = 1.0 / (double)(k % 97 + 1);
    a.B->data[k] = 1.0 / (double)(k % 89 + 2);
  }
  bench_stat s = bench_time(bench_dgemm_once, &a, repeats);
  gsl_matrix_free(a.A);
  gsl_matrix_free(a.B);
  gsl_matrix_free(a.C);
  return 2.0 * (double)n * (double)n * (double)n / s.median * 1e-9;
}

#endif
