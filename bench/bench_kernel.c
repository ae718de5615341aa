/* bench_kernel.c: speed and memory of the project's Monte Carlo NZK
 * estimator, nzk_kernel_mc (DESIGN.md section 7), at the paper's MNIST
 * size.
 *
 * Default problem: n = 200 examples, p = 711 parameters (the 64-10-5-1
 * MLP), S = 10^4 draws, shared scheme, z ~ N(0, I) (i.i.d. normal
 * entries), one BLAS thread.  For each batch size B of a sweep it prints
 * the median time of a whole estimate (mean and standard errors), by wall
 * clock and by thread CPU time, draws per second, GFLOP/s, the ratio to a
 * square DGEMM measured in the same run, the shares of the time spent
 * drawing the directions (the estimator's own streams), in V = Z J^T and
 * in the accumulator nzk_kacc_add, and the estimator's working set; then
 * the process's peak RSS and the S n^2 doubles that storing every draw's
 * kernel would take.
 *
 * CPU time is the headline: the machine is shared, and wall times
 * there moved by a factor of two between runs minutes apart.  The ratio
 * to DGEMM is taken run by run: each estimate is timed right after one
 * DGEMM and the median of the per-pair ratios is reported (ratio_paired);
 * ratio divides the median GFLOP/s by a DGEMM median taken before the
 * sweep.
 *
 * Flops counted per draw (BLAS work actually done): 2 n p for V = Z J^T,
 * n^2 for the SYRK of the sum, 2 n^2 for the SYR2K and n^2 for the SYRK of
 * the shifted second moments, 2 p for |z|^2: 2np + 4n^2 + 2p.
 *
 * usage: bench_kernel [--n N] [--p P] [--draws S] [--batch B] [--repeats R]
 *                     [--dgemm-n M]     (defaults 200 711 10000, sweep, 7, 1024)
 * Output: whitespace-separated columns with units in the header, and
 * records (bench.h) for the batch size of the estimator's default, 256,
 * or the --batch given. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <gsl/gsl_randist.h>

#include "bench.h"
#include "kernel.h"
#include "rng_stream.h"

typedef struct {
  const gsl_matrix *J;
  const nzk_dir *z;
  size_t S, B;
  gsl_matrix *mean, *se, *Z, *V;
  nzk_kacc *acc;
  double *c;
} run_arg;

static void run_estimate(void *p)
{
  run_arg *a = p;
  if (nzk_kernel_mc(NZK_SCHEME_SHARED, a->J, a->z, NULL, a->S, a->B, 1, a->mean, a->se))
    fprintf(stderr, "bench_kernel: estimator failed\n");
}

/* Only the directions, from the estimator's chunked taus2 streams. */
static void run_rng(void *p)
{
  run_arg *a = p;
  gsl_rng *r = nzk_stream_alloc_type(gsl_rng_taus2, 1, 0);
  for (size_t k = 0, done = 0; done < a->S; k++) {
    size_t B = a->S - done < a->B ? a->S - done : a->B;
    gsl_matrix_view Z = gsl_matrix_submatrix(a->Z, 0, 0, B, a->Z->size2);
    nzk_stream_reset(r, 1, k);
    nzk_dir_sample_batch(a->z, r, &Z.matrix);
    done += B;
  }
  gsl_rng_free(r);
}

/* Only V = Z J^T for every chunk (Z fixed). */
static void run_gemm(void *p)
{
  run_arg *a = p;
  const int n = (int)a->J->size1, pp = (int)a->J->size2;
  for (size_t done = 0; done < a->S; done += a->B)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a->B, n, pp, 1.0, a->Z->data, pp,
                a->J->data, pp, 0.0, a->V->data, n);
}

/* Only the accumulator: S / B batches of a fixed V with c_s > 0. */
static void run_acc(void *p)
{
  run_arg *a = p;
  nzk_kacc_reset(a->acc);
  for (size_t done = 0; done < a->S; done += a->B) nzk_kacc_add(a->acc, a->V, NULL, a->c);
  nzk_kacc_result(a->acc, a->mean, a->se);
}

/* CPU time of the calling thread: with one BLAS thread all the work runs
 * here, and idle OpenBLAS helper threads are not counted. */
static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* As bench_time, by thread CPU time (seconds). */
static bench_stat cpu_time(void (*fn)(void *), void *arg, int repeats)
{
  double t[64];
  fn(arg);
  for (int k = 0; k < repeats; k++) {
    double c0 = cpu_s();
    fn(arg);
    t[k] = cpu_s() - c0;
  }
  return bench_stat_of(t, repeats);
}

/* Per-pair ratio (estimate GFLOP/s) / (DGEMM GFLOP/s), the DGEMM timed
 * just before each estimate, by CPU time: median and spread. */
static bench_stat paired_ratio(run_arg *a, bench_dgemm_arg *d, double flops, int repeats)
{
  double q[64];
  for (int k = 0; k < repeats; k++) {
    double c0 = cpu_s();
    bench_dgemm_once(d);
    double c1 = cpu_s();
    run_estimate(a);
    double c2 = cpu_s();
    q[k] = (flops / (c2 - c1)) / (bench_dgemm_flops(d) / (c1 - c0));
  }
  return bench_stat_of(q, repeats);
}

/* Estimator working set in bytes (kernel_nzk.c): two n x n sums, 5 B x n
 * accumulator scratch, Z (B x p), V (B x n), vectors. */
static double work_bytes(size_t n, size_t p, size_t B)
{
  return 8.0 * (2.0 * n * n + 5.0 * B * n + (double)B * p + (double)B * n + 3.0 * n + B);
}

typedef struct {
  size_t n, p, S, B, ng;
  int repeats;
} kernel_opts;

/* Options into o; 1 after --help, 2 on bad usage (one line), else 0. */
static int parse_opts(int argc, char **argv, kernel_opts *o)
{
  static const struct option longopts[] = {
      {"n", 1, 0, 'n'},     {"p", 1, 0, 'p'},       {"draws", 1, 0, 'S'},
      {"batch", 1, 0, 'B'}, {"repeats", 1, 0, 'R'}, {"dgemm-n", 1, 0, 'M'},
      {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  static const char keys[] = "npSBRM";
  size_t rep = 7, *dst[] = {&o->n, &o->p, &o->S, &o->B, &rep, &o->ng};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c == 'h') {
      printf("usage: bench_kernel [--n N] [--p P] [--draws S] [--batch B] [--repeats R] "
             "[--dgemm-n M]\n");
      return 1;
    }
    char *end;
    unsigned long long v = c == '?' || optarg[0] == '-' ? 0 : strtoull(optarg, &end, 10);
    if (v == 0 || *end) {
      fprintf(stderr, "bench_kernel: every option takes a positive integer (see --help)\n");
      return 2;
    }
    *dst[strchr(keys, c) - keys] = (size_t)v;
  }
  if (optind < argc || o->S < 2) {
    fprintf(stderr, "bench_kernel: stray argument or fewer than 2 draws (see --help)\n");
    return 2;
  }
  o->repeats = (int)(rep > 64 ? 64 : rep);
  return 0;
}

typedef struct {
  size_t B;
  bench_stat wall, cpu, ratio, rng, gemm, acc;
} sweep_row;

/* Time one batch size: the estimate (wall, CPU, paired ratio) and its
 * three parts. */
static void time_batch(run_arg *a, bench_dgemm_arg *d, double flops, int repeats,
                       gsl_rng *r, sweep_row *row)
{
  const size_t n = a->J->size1, p = a->J->size2;
  row->B = a->B;
  row->wall = bench_time(run_estimate, a, repeats);
  row->cpu = cpu_time(run_estimate, a, repeats);
  row->ratio = paired_ratio(a, d, flops, repeats);
  a->Z = gsl_matrix_alloc(a->B, p);
  a->V = gsl_matrix_alloc(a->B, n);
  a->acc = nzk_kacc_alloc(n, a->B);
  a->c = malloc(a->B * sizeof(double));
  for (size_t s = 0; s < a->B; s++) a->c[s] = (double)p * (1.0 + 0.01 * gsl_ran_gaussian(r, 1.0));
  row->rng = cpu_time(run_rng, a, repeats);
  row->gemm = cpu_time(run_gemm, a, repeats);
  row->acc = cpu_time(run_acc, a, repeats);
  nzk_kacc_free(a->acc);
  gsl_matrix_free(a->Z);
  gsl_matrix_free(a->V);
  free(a->c);
}

static void print_row(const sweep_row *w, const kernel_opts *o, double flops, double dg)
{
  double c = w->cpu.median;
  printf("%5zu %8.4f %8.4f %11.4g %7.2f %6.3f %12.3f %9.3f %10.3f %9.3f %8.2f\n", w->B,
         w->wall.median, c, (double)o->S / c, flops / c * 1e-9, flops / c * 1e-9 / dg,
         w->ratio.median, w->rng.median / c, w->gemm.median / c, w->acc.median / c,
         work_bytes(o->n, o->p, w->B) / 1048576.0);
}

/* Records of the row with the recorded batch size (bench.h). */
static void record_row(const sweep_row *w, const kernel_opts *o, double flops, double rss)
{
  char params[128];
  snprintf(params, sizeof params, "n=%zu p=%zu S=%zu B=%zu scheme=shared", o->n, o->p, o->S,
           w->B);
  bench_record("kernel", "shared_gflops", "GFLOP/s", bench_rate(w->cpu, flops * 1e-9), params);
  bench_record("kernel", "shared_draws_per_s", "draws/s", bench_rate(w->cpu, (double)o->S),
               params);
  bench_record("kernel", "shared_time_cpu", "s", w->cpu, params);
  bench_record_ratio("kernel", "shared_vs_dgemm", w->ratio, BENCH_HIGHER_IS_BETTER, params);
  bench_record_ratio("kernel", "directions_share", bench_ratio(w->rng, w->cpu),
                     BENCH_LOWER_IS_BETTER, params);
  bench_record("kernel", "peak_rss", "bytes", bench_exact(rss), params);
}

int main(int argc, char **argv)
{
  kernel_opts o = {200, 711, 10000, 0, 1024, 7};
  int status = parse_opts(argc, argv, &o);
  if (status) return status == 1 ? 0 : status;
  static const size_t sweep[] = {16, 64, 128, 256, 512, 1024};
  size_t batches[6], nb = 0, recorded = o.B ? o.B : 256;
  if (o.B) batches[nb++] = o.B;
  else
    for (size_t k = 0; k < 6; k++) batches[nb++] = sweep[k];
  openblas_set_num_threads(1);
  gsl_set_error_handler_off();

  const double rss0 = bench_peak_rss_bytes();
  gsl_matrix *J = gsl_matrix_alloc(o.n, o.p);
  gsl_rng *r = nzk_stream_alloc(7, 0);
  for (size_t k = 0; k < o.n * o.p; k++)
    J->data[k] = gsl_ran_gaussian(r, 1.0) / sqrt((double)o.p);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, o.p);
  run_arg a = {J, z, o.S, batches[nb - 1], gsl_matrix_alloc(o.n, o.n),
               gsl_matrix_alloc(o.n, o.n), NULL, NULL, NULL, NULL};
  const double flops = (double)o.S * (2.0 * o.n * o.p + 4.0 * o.n * o.n + 2.0 * o.p);

  /* Memory first, with the largest batch, before any other buffer. */
  run_estimate(&a);
  const double rss = bench_peak_rss_bytes();
  bench_dgemm_arg d = bench_dgemm_alloc(o.ng);
  bench_stat dgc = cpu_time(bench_dgemm_once, &d, o.repeats);
  double dg = bench_dgemm_flops(&d) * 1e-9 / dgc.median;
  char dparams[32];
  snprintf(dparams, sizeof dparams, "n=%zu", o.ng);
  bench_record("kernel", "dgemm_gflops", "GFLOP/s", bench_rate(dgc, bench_dgemm_flops(&d) * 1e-9),
               dparams);

  printf("# nzk_kernel_mc, shared scheme, z ~ N(0, I): n = %zu, p = %zu, S = %zu, 1 BLAS thread, "
         "medians of %d after a warm-up\n", o.n, o.p, o.S, o.repeats);
  printf("# DGEMM %zu^3: %.2f GFLOP/s (CPU time).  Flops per draw 2np + 4n^2 + 2p = %.0f.\n"
         "# cpu_s, draws_per_s, gflops, ratio and the shares use thread CPU time; wall_s the\n"
         "# wall clock.  ratio_paired: median of per-run ratios to a DGEMM timed just before.\n"
         "# Shares of the estimate's CPU time: the directions alone (taus2 streams, as the\n"
         "# estimator), V = Z J^T alone, the accumulator nzk_kacc_add alone.\n",
         o.ng, dg, flops / (double)o.S);
  printf("%5s %8s %8s %11s %7s %6s %12s %9s %10s %9s %8s\n", "B", "wall_s", "cpu_s",
         "draws_per_s", "gflops", "ratio", "ratio_paired", "rng_share", "gemm_share",
         "acc_share", "work_MiB");
  for (size_t k = 0; k < nb; k++) {
    sweep_row w;
    a.B = batches[k];
    time_batch(&a, &d, flops, o.repeats, r, &w);
    print_row(&w, &o, flops, dg);
    if (w.B == recorded) record_row(&w, &o, flops, rss);
  }
  printf("# peak RSS after one estimate with B = %zu: %.1f MiB (%.1f MiB at start; J is %.1f "
         "MiB); storing every draw's kernel would take S n^2 doubles = %.1f MiB\n",
         batches[nb - 1], rss / 1048576.0, rss0 / 1048576.0, 8.0 * o.n * o.p / 1048576.0,
         8.0 * (double)o.S * o.n * o.n / 1048576.0);

  bench_dgemm_free(&d);
  gsl_matrix_free(a.mean);
  gsl_matrix_free(a.se);
  gsl_matrix_free(J);
  gsl_rng_free(r);
  nzk_dir_free(z);
  return 0;
}
