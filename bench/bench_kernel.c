/* bench_kernel.c: speed and memory of the Monte Carlo NZK estimator
 * (nzk_kernel_mc, DESIGN.md section 7) at the paper's MNIST size.
 *
 * Default problem: n = 200 examples, p = 711 parameters (the 64-10-5-1
 * MLP), S = 10^4 draws, shared scheme, z ~ N(0, I) (i.i.d. normal
 * entries), single-threaded BLAS.  For each batch size B it prints the
 * median time of the whole estimate (mean and standard errors) over
 * `repeats` runs after a warm-up (wall clock and process CPU time), draws
 * per second, GFLOP/s, the ratio to a square DGEMM measured in the same
 * run (also paired run by run), the shares of the time spent drawing the
 * directions (same chunked streams), in V = Z J^T and in the accumulator,
 * and the memory: the process's peak RSS, the estimator's own working
 * set, and the S n^2 doubles that storing every draw's kernel would take.
 *
 * Process CPU time is the headline because the machine is shared: wall
 * times there varied by a factor of two between runs minutes apart.
 *
 * Flops counted per draw (BLAS work actually done): 2 n p for V = Z J^T,
 * n^2 for the SYRK of the sum, 2 n^2 for the SYR2K and n^2 for the SYRK of
 * the shifted second moment, 2 p for |z|^2: 2np + 4n^2 + 2p.
 *
 * usage: bench_kernel [n p S repeats dgemm_size]   (defaults 200 711 10000 7 1024)
 * Output: whitespace-separated columns with units in the header. */
#include "bench.h"
#include "kernel.h"
#include "rng_stream.h"

#include <math.h>
#include <stdio.h>
#include <gsl/gsl_randist.h>

typedef struct {
  const gsl_matrix *J;
  const nzk_dir *z;
  size_t S, B;
  gsl_matrix *mean, *se, *Z, *V;
  nzk_kacc *acc;
  double c[1024];
} run_arg;

static void run_estimate(void *p)
{
  run_arg *a = p;
  if (nzk_kernel_mc(NZK_SCHEME_SHARED, a->J, a->z, NULL, a->S, a->B, 1, a->mean, a->se))
    fprintf(stderr, "bench_kernel: estimator failed\n");
}

/* Only the directions: the same chunks and streams as the estimator
 * (taus2), or the same with MT19937, the generator used before. */
static void draw_directions(run_arg *a, const gsl_rng_type *T)
{
  gsl_rng *r = nzk_stream_alloc_type(T, 1, 0);
  for (size_t k = 0, done = 0; done < a->S; k++) {
    size_t B = a->S - done < a->B ? a->S - done : a->B;
    gsl_matrix_view Z = gsl_matrix_submatrix(a->Z, 0, 0, B, a->Z->size2);
    nzk_stream_reset(r, 1, k);
    nzk_dir_sample_batch(a->z, r, &Z.matrix);
    done += B;
  }
  gsl_rng_free(r);
}

static void run_rng(void *p) { draw_directions(p, gsl_rng_taus2); }
static void run_rng_mt(void *p) { draw_directions(p, gsl_rng_mt19937); }

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

/* Square DGEMM of size ng in the same run: GFLOP/s from the median wall
 * time and from the median CPU time. */
static void dgemm_reference(size_t ng, int repeats, double *wall, double *cpu)
{
  bench_dgemm_arg d = {gsl_matrix_alloc(ng, ng), gsl_matrix_alloc(ng, ng),
                       gsl_matrix_alloc(ng, ng)};
  for (size_t k = 0; k < ng * ng; k++) {
    d.A->data[k] = 1.0 / (double)(k % 97 + 1);
    d.B->data[k] = 1.0 / (double)(k % 89 + 2);
  }
  bench_stat t = bench_time(bench_dgemm_once, &d, repeats);
  double f = 2.0 * (double)ng * (double)ng * (double)ng * 1e-9;
  *wall = f / t.median;
  *cpu = f / t.cpu_median;
  gsl_matrix_free(d.A);
  gsl_matrix_free(d.B);
  gsl_matrix_free(d.C);
}

/* Ratio to DGEMM with the two timed back to back, `repeats` times: each
 * estimate's GFLOP/s over the DGEMM run just before it (CPU time), and the
 * median of those ratios, so that load from other jobs, which changes by
 * the second on a shared machine, hits both sides of a ratio alike. */
static double paired_ratio(run_arg *a, bench_dgemm_arg *d, double flops, int repeats)
{
  double q[64], ng = (double)d->A->size1;
  if (repeats > 64) repeats = 64;
  for (int k = 0; k < repeats; k++) {
    double c0 = bench_cpu_s();
    bench_dgemm_once(d);
    double c1 = bench_cpu_s();
    run_estimate(a);
    double c2 = bench_cpu_s();
    q[k] = (flops / (c2 - c1)) / (2.0 * ng * ng * ng / (c1 - c0));
  }
  qsort(q, (size_t)repeats, sizeof q[0], bench_cmp_double);
  return q[repeats / 2];
}

/* Estimator working set in bytes (kernel_nzk.c): two n x n sums, 5 B x n
 * accumulator scratch, Z (B x p), V (B x n), vectors. */
static double work_bytes(size_t n, size_t p, size_t B)
{
  return 8.0 * (2.0 * n * n + 5.0 * B * n + (double)B * p + (double)B * n + 3.0 * n + B);
}

int main(int argc, char **argv)
{
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
  size_t p = argc > 2 ? strtoul(argv[2], NULL, 10) : 711;
  size_t S = argc > 3 ? strtoul(argv[3], NULL, 10) : 10000;
  int repeats = argc > 4 ? atoi(argv[4]) : 7;
  size_t ng = argc > 5 ? strtoul(argv[5], NULL, 10) : 1024;
  static const size_t batches[] = {16, 64, 128, 256, 512, 1024};
  enum { NB = sizeof batches / sizeof batches[0] };
  openblas_set_num_threads(1);
  gsl_set_error_handler_off();

  double rss0 = bench_peak_rss_bytes();
  gsl_matrix *J = gsl_matrix_alloc(n, p);
  gsl_rng *r = nzk_stream_alloc(7, 0);
  for (size_t k = 0; k < n * p; k++) J->data[k] = gsl_ran_gaussian(r, 1.0) / sqrt((double)p);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  run_arg a = {J, z, S, 0, gsl_matrix_alloc(n, n), gsl_matrix_alloc(n, n), NULL, NULL, NULL, {0}};
  const double flops = (double)S * (2.0 * n * p + 4.0 * n * n + 2.0 * p);
  bench_stat t[NB], tr[NB], tm[NB], tg[NB], ta[NB];
  double pr[NB];
  bench_dgemm_arg dref;
  double rss_kernel = 0, dw0, dc0, dw1, dc1;

  /* Memory first, with the largest batch, before any other buffer. */
  a.B = batches[NB - 1];
  run_estimate(&a);
  rss_kernel = bench_peak_rss_bytes();
  dref = (bench_dgemm_arg){gsl_matrix_alloc(ng, ng), gsl_matrix_alloc(ng, ng),
                           gsl_matrix_alloc(ng, ng)};
  for (size_t k = 0; k < ng * ng; k++) {
    dref.A->data[k] = 1.0 / (double)(k % 97 + 1);
    dref.B->data[k] = 1.0 / (double)(k % 89 + 2);
  }
  dgemm_reference(ng, repeats, &dw0, &dc0);
  for (int k = 0; k < NB; k++) {
    a.B = batches[k];
    t[k] = bench_time(run_estimate, &a, repeats);
    pr[k] = paired_ratio(&a, &dref, flops, repeats);
    a.Z = gsl_matrix_alloc(a.B, p);
    a.V = gsl_matrix_alloc(a.B, n);
    a.acc = nzk_kacc_alloc(n, a.B);
    tr[k] = bench_time(run_rng, &a, repeats);
    tm[k] = bench_time(run_rng_mt, &a, repeats);
    for (size_t s = 0; s < a.B; s++) a.c[s] = (double)p * (1.0 + 0.01 * gsl_ran_gaussian(r, 1.0));
    tg[k] = bench_time(run_gemm, &a, repeats);
    ta[k] = bench_time(run_acc, &a, repeats);
    nzk_kacc_free(a.acc);
    gsl_matrix_free(a.Z);
    gsl_matrix_free(a.V);
  }
  dgemm_reference(ng, repeats, &dw1, &dc1);
  double dgw = fmax(dw0, dw1), dgc = fmax(dc0, dc1);

  printf("# nzk_kernel_mc, shared scheme, z ~ N(0, I): n = %zu, p = %zu, S = %zu, 1 BLAS thread, "
         "medians of %d after a warm-up\n", n, p, S, repeats);
  printf("# DGEMM %zu^3 in the same run, before / after: %.2f / %.2f GFLOP/s by CPU time, "
         "%.2f / %.2f by wall time; ratios use the larger of each pair\n", ng, dc0, dc1, dw0, dw1);
  printf("# flops per draw 2np + 4n^2 + 2p = %.0f.  cpu_s, gflops, ratio and the shares use\n"
         "# process CPU time (robust on a shared machine); wall_s and ratio_wall the wall clock.\n"
         "# Shares: directions alone (taus2 streams, as the estimator), V = Z J^T alone, the\n"
         "# accumulator alone, and the directions from MT19937 streams (the generator before).\n",
         flops / (double)S);
  printf("# ratio_paired: median over repeats of (estimate GFLOP/s) / (DGEMM GFLOP/s of a run\n"
         "# timed just before it), both by CPU time.\n");
  printf("%5s %8s %8s %11s %7s %6s %10s %12s %9s %10s %9s %12s %8s\n", "B", "wall_s", "cpu_s",
         "draws_per_s", "gflops", "ratio", "ratio_wall", "ratio_paired", "rng_share",
         "gemm_share", "acc_share", "rng_mt_share", "work_MiB");
  for (int k = 0; k < NB; k++) {
    double c = t[k].cpu_median;
    printf("%5zu %8.4f %8.4f %11.4g %7.2f %6.3f %10.3f %12.3f %9.3f %10.3f %9.3f %12.3f %8.2f\n",
           batches[k], t[k].median, c, (double)S / c, flops / c * 1e-9, flops / c * 1e-9 / dgc,
           flops / t[k].median * 1e-9 / dgw, pr[k], tr[k].cpu_median / c, tg[k].cpu_median / c,
           ta[k].cpu_median / c, tm[k].cpu_median / c, work_bytes(n, p, batches[k]) / 1048576.0);
  }
  printf("# peak RSS after one estimate with B = %zu: %.1f MiB (%.1f MiB at start; J is %.1f MiB); "
         "storing every draw's kernel would take S n^2 doubles = %.1f MiB\n",
         batches[NB - 1], rss_kernel / 1048576.0, rss0 / 1048576.0, 8.0 * n * p / 1048576.0,
         8.0 * (double)S * n * n / 1048576.0);
  gsl_matrix_free(dref.A);
  gsl_matrix_free(dref.B);
  gsl_matrix_free(dref.C);
  gsl_matrix_free(a.mean);
  gsl_matrix_free(a.se);
  gsl_matrix_free(J);
  gsl_rng_free(r);
  nzk_dir_free(z);
  return 0;
}
