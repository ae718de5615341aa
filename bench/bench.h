/* bench.h: timing and memory helpers shared by the benchmark drivers, and
 * the machine-readable records every driver emits for the harness.
 *
 * Benchmarks print whitespace-separated columns with units in the header
 * so gnuplot reads them directly; they never pass or fail on time.  Every
 * figure is the median of several repeats after a warm-up, with its spread
 * (min and max), from the monotonic clock.
 *
 * Records (see "Machine-readable records" below): besides its columns, a
 * driver calls bench_record / bench_record_ratio once per figure.  When the
 * environment variable NZK_BENCH_JSON names a file, each call appends one
 * JSON object on one line (JSON lines) to it; otherwise records are
 * silent.  The harness (bench/harness_*.c, program nzk_bench) sets the
 * variable, runs every driver and gathers the records into one report. */
#ifndef NZK_BENCH_H
#define NZK_BENCH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <stdio.h>
#include <gsl/gsl_matrix.h>
#include <jansson.h>
#include "nzk_blas.h"

static inline double bench_now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set size of this process so far, in bytes. */
static inline double bench_peak_rss_bytes(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return 1024.0 * (double)ru.ru_maxrss;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A figure over repeats: median and spread.  bench_time returns seconds;
 * the conversions below turn it into rates and ratios in other units. */
typedef struct {
  double median, min, max;
  int repeats;
} bench_stat;

/* Median, min and max of v[0..n-1] (sorts v in place). */
static inline bench_stat bench_stat_of(double *v, int n)
{
  qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
  bench_stat s = {v[n / 2], v[0], v[n - 1], n};
  return s;
}

/* Run fn(arg) once to warm up, then `repeats` timed times (at most 64). */
static inline bench_stat bench_time(void (*fn)(void *), void *arg, int repeats)
{
  double t[64];
  if (repeats < 1) repeats = 1;
  if (repeats > 64) repeats = 64;
  fn(arg);
  for (int k = 0; k < repeats; k++) {
    double t0 = bench_now_s();
    fn(arg);
    t[k] = bench_now_s() - t0;
  }
  return bench_stat_of(t, repeats);
}

/* Paired timing for same-run ratios on a shared machine.  After one
 * warm-up of each, every repeat times fn(arg) and then ref(ref_arg) back
 * to back; the result is the median and spread over repeats of the
 * per-repeat quotient t_ref / t_fn.  Both halves of a pair see the same
 * machine load, so the quotient moves far less than the quotient of two
 * medians timed seconds apart.  The rate ratio of fn to ref is then
 *   (work_fn / work_ref) * quotient      (scale with bench_scale).
 * t_fn and t_ref (may be NULL) receive each side's own time statistics. */
static inline bench_stat bench_time_paired(void (*fn)(void *), void *arg,
                                           void (*ref)(void *), void *ref_arg, int repeats,
                                           bench_stat *t_fn, bench_stat *t_ref)
{
  double q[64], a[64], b[64];
  if (repeats < 1) repeats = 1;
  if (repeats > 64) repeats = 64;
  fn(arg);
  ref(ref_arg);
  for (int k = 0; k < repeats; k++) {
    double t0 = bench_now_s();
    fn(arg);
    double t1 = bench_now_s();
    ref(ref_arg);
    a[k] = t1 - t0;
    b[k] = bench_now_s() - t1;
    q[k] = b[k] / a[k];
  }
  if (t_fn) *t_fn = bench_stat_of(a, repeats);
  if (t_ref) *t_ref = bench_stat_of(b, repeats);
  return bench_stat_of(q, repeats);
}

/* s times a positive factor f. */
static inline bench_stat bench_scale(bench_stat s, double f)
{
  bench_stat r = {s.median * f, s.min * f, s.max * f, s.repeats};
  return r;
}

/* Rate `work` per second from times in seconds: the median rate is
 * work / median time, the slowest repeat gives the min, the fastest the
 * max.  E.g. bench_rate(t, flops * 1e-9) is in GFLOP/s. */
static inline bench_stat bench_rate(bench_stat t, double work)
{
  bench_stat r = {work / t.median, work / t.max, work / t.min, t.repeats};
  return r;
}

/* Ratio a / b of two figures with positive values.  The spread is the
 * interval quotient [a.min / b.max, a.max / b.min]: the widest ratio the
 * repeats allow, so a spread never looks tighter than its inputs. */
static inline bench_stat bench_ratio(bench_stat a, bench_stat b)
{
  int reps = a.repeats < b.repeats ? a.repeats : b.repeats;
  bench_stat r = {a.median / b.median, a.min / b.max, a.max / b.min, reps};
  return r;
}

/* A figure with one exactly known value (a count, a size in bytes). */
static inline bench_stat bench_exact(double v)
{
  bench_stat r = {v, v, v, 1};
  return r;
}

/* Reference speed of this machine, measured in the same run: GFLOP/s of a
 * square DGEMM of size n (2 n^3 flops), median of `repeats`. */
typedef struct { gsl_matrix *A, *B, *C; } bench_dgemm_arg;

static inline void bench_dgemm_once(void *p)
{
  bench_dgemm_arg *a = p;
  int n = (int)a->A->size1;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a->A->data, n,
              a->B->data, n, 0.0, a->C->data, n);
}

/* Operands of the reference DGEMM of size n, filled with fixed values;
 * bench_dgemm_once(&a) runs one product (for bench_time_paired). */
static inline bench_dgemm_arg bench_dgemm_alloc(size_t n)
{
  bench_dgemm_arg a = {gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n)};
  for (size_t k = 0; k < n * n; k++) {
    a.A->data[k] = 1.0 / (double)(k % 97 + 1);
    a.B->data[k] = 1.0 / (double)(k % 89 + 2);
  }
  return a;
}

static inline void bench_dgemm_free(bench_dgemm_arg *a)
{
  gsl_matrix_free(a->A);
  gsl_matrix_free(a->B);
  gsl_matrix_free(a->C);
}

/* Flops of one reference product: 2 n^3. */
static inline double bench_dgemm_flops(const bench_dgemm_arg *a)
{
  double n = (double)a->A->size1;
  return 2.0 * n * n * n;
}

/* GFLOP/s of the square DGEMM of size n: median and spread over repeats. */
static inline bench_stat bench_dgemm_stat(size_t n, int repeats)
{
  bench_dgemm_arg a = bench_dgemm_alloc(n);
  bench_stat s = bench_time(bench_dgemm_once, &a, repeats);
  double gflop = bench_dgemm_flops(&a) * 1e-9;
  bench_dgemm_free(&a);
  return bench_rate(s, gflop);
}

/* Median GFLOP/s of the square DGEMM of size n (the figure alone). */
static inline double bench_dgemm_gflops(size_t n, int repeats)
{
  return bench_dgemm_stat(n, repeats).median;
}

/* --- Machine-readable records --------------------------------------------
 *
 * One record is one figure of one benchmark:
 *   {"bench": "kernel", "figure": "shared_gflops", "unit": "GFLOP/s",
 *    "kind": "figure", "better": "higher", "median": 41.2, "min": 39.8,
 *    "max": 42.0, "repeats": 7, "params": "n=200 p=711 S=10000",
 *    "peak_rss_bytes": 12345678}
 * kind is "ratio" for figures normalised by another figure of the same
 * run (fraction of DGEMM, speed-up, cost relative to forward passes);
 * the nightly report flags regressions on ratios only, because absolute
 * figures move with the machine's load and ratios largely do not.
 * better says which direction is an improvement.  peak_rss_bytes is the
 * process's peak resident set when the record was written (getrusage).
 *
 * Adopting it in a driver takes one line per figure, for example
 *   bench_record("kernel", "shared_gflops", "GFLOP/s", g, params);
 *   bench_record_ratio("kernel", "shared_vs_dgemm", bench_ratio(g, d),
 *                      BENCH_HIGHER_IS_BETTER, params);
 * Figure names: lower-case words joined by '_', stable from run to run
 * (the report follows each name's history). */
typedef enum { BENCH_HIGHER_IS_BETTER = 0, BENCH_LOWER_IS_BETTER = 1 } bench_better;

/* Exit status of a driver that cannot run here (e.g. its data set is not
 * installed): the harness reports it as skipped, with the driver's last
 * line of output as the reason, not as a failure. */
#define BENCH_EXIT_SKIP 77

typedef struct {
  const char *bench;  /* benchmark name, e.g. "kernel", "train" */
  const char *figure; /* figure name, e.g. "shared_gflops" */
  const char *unit;   /* "GFLOP/s", "s", "images/s", "bytes", "ratio" */
  bench_stat stat;    /* median, min, max, repeats in `unit` */
  const char *params; /* sizes that define the case, or NULL */
  int is_ratio;       /* 1: a same-run ratio, checked for regressions */
  bench_better better;
} bench_rec;

/* Append `r` as one JSON line to the file named by NZK_BENCH_JSON, if set.
 * Returns 0, or -1 (after a line on stderr) if the file cannot be written;
 * a driver may ignore the status, the harness notices missing records. */
static inline int bench_emit(const bench_rec *r)
{
  const char *path = getenv("NZK_BENCH_JSON");
  if (!path || !*path) return 0;
  json_t *o = json_object();
  json_object_set_new(o, "bench", json_string(r->bench ? r->bench : ""));
  json_object_set_new(o, "figure", json_string(r->figure ? r->figure : ""));
  json_object_set_new(o, "unit", json_string(r->unit ? r->unit : ""));
  json_object_set_new(o, "kind", json_string(r->is_ratio ? "ratio" : "figure"));
  json_object_set_new(o, "better",
                      json_string(r->better == BENCH_LOWER_IS_BETTER ? "lower" : "higher"));
  const double v[3] = {r->stat.median, r->stat.min, r->stat.max};
  const char *keys[3] = {"median", "min", "max"};
  for (int k = 0; k < 3; k++)
    json_object_set_new(o, keys[k], isfinite(v[k]) ? json_real(v[k]) : json_null());
  json_object_set_new(o, "repeats", json_integer(r->stat.repeats));
  json_object_set_new(o, "params", json_string(r->params ? r->params : ""));
  json_object_set_new(o, "peak_rss_bytes", json_real(bench_peak_rss_bytes()));

  /* One write of one line in append mode: records of concurrent writers
   * never interleave within a line. */
  char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  FILE *fp = line ? fopen(path, "a") : NULL;
  int ok = fp && fprintf(fp, "%s\n", line) > 0;
  if (fp && fclose(fp) != 0) ok = 0;
  free(line);
  if (!ok) fprintf(stderr, "bench: cannot append a record to %s\n", path);
  return ok ? 0 : -1;
}

/* Lower is better for times and sizes ("s", "ms", "us", "ns", "bytes",
 * "KiB", "MiB", "GiB"), higher for every other unit (rates). */
static inline bench_better bench_unit_better(const char *unit)
{
  static const char *lower[] = {"s", "ms", "us", "ns", "bytes", "KiB", "MiB", "GiB"};
  for (size_t k = 0; unit && k < sizeof lower / sizeof lower[0]; k++)
    if (strcmp(unit, lower[k]) == 0) return BENCH_LOWER_IS_BETTER;
  return BENCH_HIGHER_IS_BETTER;
}

/* A plain figure (kind "figure"); its direction follows from the unit
 * (bench_unit_better).  Use bench_emit to state another direction. */
static inline int bench_record(const char *bench, const char *figure, const char *unit,
                               bench_stat s, const char *params)
{
  bench_rec r = {bench, figure, unit, s, params, 0, bench_unit_better(unit)};
  return bench_emit(&r);
}

/* A same-run ratio (kind "ratio", unit "ratio"), with its direction. */
static inline int bench_record_ratio(const char *bench, const char *figure, bench_stat s,
                                     bench_better better, const char *params)
{
  bench_rec r = {bench, figure, "ratio", s, params, 1, better};
  return bench_emit(&r);
}

#endif
