/* bench_nzk_micro.c: Monte Carlo NZK micro-benchmark, the harness's own
 * canary.
 *
 * Estimates the kernel sums of the three ZO schemes (DESIGN.md section 2)
 * the way DESIGN.md section 7 prescribes, with nothing but the library's
 * direction sampler and BLAS, independently of the issue-2 estimator:
 * per batch of B draws Z (B x p, rows z_s ~ iid N(0, 1)),
 *   V = Z J^T (GEMM),  plain:  S1 += V^T V,  S2 += (V o V)^T (V o V)  (SYRK)
 *                      shared: the same on rows scaled by |z_s|
 *                      pair:   W = Zeta J^T, S1 += V^T diag(c) W,
 *                              S2 += (V o V)^T diag(c^2) (W o W)     (GEMM)
 * with c_s = z_s . zeta_s.  S1 / S and S2 give the mean and its standard
 * error, so this is the full arithmetic of an estimate with error bars.
 *
 * Figures per scheme: end-to-end GFLOP/s (sampling included), BLAS-only
 * GFLOP/s (the same calls on one pre-drawn batch), draws per second, and
 * both as fractions of a square DGEMM measured in the same run: each
 * repeat is paired with one DGEMM timed right after it, and the fraction
 * is the median of the per-repeat fractions (bench_time_paired).  Flops
 * counted: GEMM 2 m n k, SYRK n (n + 1) k; scaling and squaring are not
 * counted.  Output: one line per scheme, whitespace-separated columns
 * with units; and records (bench.h) when NZK_BENCH_JSON is set.
 *
 * Limitation: this is a stand-in that measures the BLAS-3 recipe, not the
 * project's estimator nzk_kacc_* (bench_kernel.c measures that one). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "bench.h"
#include "direction.h"
#include "kernel.h"
#include "rng_stream.h"

typedef struct {
  size_t n, p, draws, batch, dgemm_n;
  int repeats;
  uint64_t seed;
} micro_opts;

typedef struct {
  nzk_scheme scheme;
  const micro_opts *o;
  const nzk_dir *dir;
  gsl_rng *r;
  int resample;             /* 0: reuse the first batch (BLAS-only timing) */
  gsl_matrix *J, *Z, *Zeta; /* n x p, B x p, B x p */
  gsl_matrix *V, *W, *V2, *W2; /* B x n each */
  gsl_matrix *S1, *S2;      /* n x n sums */
  double *c;                /* length B */
} micro_ws;

/* Flops of one batch of B draws (see the file comment). */
static double batch_flops(nzk_scheme scheme, size_t n, size_t p, size_t B)
{
  double gemm_v = 2.0 * (double)B * (double)n * (double)p;
  double syrk = (double)n * (double)(n + 1) * (double)B;
  if (scheme == NZK_SCHEME_PAIR) return 2.0 * gemm_v + 2.0 * (2.0 * (double)n * (double)n * B);
  return gemm_v + 2.0 * syrk;
}

/* OUT = IN J^T for a batch of directions (B x p) -> B x n. */
static void project(const gsl_matrix *In, const gsl_matrix *J, gsl_matrix *Out)
{
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)In->size1, (int)J->size1,
              (int)J->size2, 1.0, In->data, (int)In->tda, J->data, (int)J->tda, 0.0,
              Out->data, (int)Out->tda);
}

/* Row s of V2 = V's row s scaled by a_s, entry-wise squared when `sq`. */
static void scale_rows(const gsl_matrix *V, const double *a, int sq, gsl_matrix *V2)
{
  for (size_t s = 0; s < V->size1; s++)
    for (size_t i = 0; i < V->size2; i++) {
      double v = gsl_matrix_get(V, s, i) * (a ? a[s] : 1.0);
      gsl_matrix_set(V2, s, i, sq ? v * v : v);
    }
}

static void syrk_add(const gsl_matrix *A, gsl_matrix *S)
{
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)S->size1, (int)A->size1, 1.0,
              A->data, (int)A->tda, 1.0, S->data, (int)S->tda);
}

static void gemm_tn_add(const gsl_matrix *A, const gsl_matrix *B, gsl_matrix *S)
{
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S->size1, (int)S->size2,
              (int)A->size1, 1.0, A->data, (int)A->tda, B->data, (int)B->tda, 1.0, S->data,
              (int)S->tda);
}

/* c_s = |z_s| (shared) or z_s . zeta_s (pair). */
static void row_factors(const micro_ws *w)
{
  for (size_t s = 0; s < w->Z->size1; s++) {
    const double *z = w->Z->data + s * w->Z->tda, *t = w->Zeta->data + s * w->Zeta->tda;
    double acc = 0.0;
    for (size_t k = 0; k < w->Z->size2; k++)
      acc += z[k] * (w->scheme == NZK_SCHEME_PAIR ? t[k] : z[k]);
    w->c[s] = w->scheme == NZK_SCHEME_PAIR ? acc : sqrt(acc);
  }
}

/* Add one batch of draws to S1 and S2. */
static void micro_batch(micro_ws *w)
{
  if (w->resample) {
    nzk_dir_sample_batch(w->dir, w->r, w->Z);
    if (w->scheme == NZK_SCHEME_PAIR) nzk_dir_sample_batch(w->dir, w->r, w->Zeta);
  }
  project(w->Z, w->J, w->V);
  if (w->scheme == NZK_SCHEME_PLAIN) {
    syrk_add(w->V, w->S1);
    scale_rows(w->V, NULL, 1, w->V2);
    syrk_add(w->V2, w->S2);
    return;
  }
  row_factors(w);
  if (w->scheme == NZK_SCHEME_SHARED) {
    scale_rows(w->V, w->c, 0, w->V2);
    syrk_add(w->V2, w->S1);
    scale_rows(w->V, w->c, 1, w->V2);
    syrk_add(w->V2, w->S2);
    return;
  }
  project(w->Zeta, w->J, w->W);
  scale_rows(w->V, w->c, 0, w->V2);
  gemm_tn_add(w->V2, w->W, w->S1);
  scale_rows(w->V, w->c, 1, w->V2);
  scale_rows(w->W, NULL, 1, w->W2);
  gemm_tn_add(w->V2, w->W2, w->S2);
}

/* One full estimate: S draws in batches of B, from a fresh stream. */
static void micro_run(void *arg)
{
  micro_ws *w = arg;
  gsl_matrix_set_zero(w->S1);
  gsl_matrix_set_zero(w->S2);
  for (size_t done = 0, chunk = 0; done < w->o->draws; done += w->o->batch, chunk++) {
    if (w->resample) nzk_stream_reset(w->r, w->o->seed, chunk);
    micro_batch(w);
  }
}

static int ws_alloc(micro_ws *w, const micro_opts *o)
{
  size_t n = o->n, p = o->p, B = o->batch;
  w->o = o;
  w->J = gsl_matrix_alloc(n, p);
  w->Z = gsl_matrix_alloc(B, p);
  w->Zeta = gsl_matrix_alloc(B, p);
  w->V = gsl_matrix_alloc(B, n);
  w->W = gsl_matrix_alloc(B, n);
  w->V2 = gsl_matrix_alloc(B, n);
  w->W2 = gsl_matrix_alloc(B, n);
  w->S1 = gsl_matrix_alloc(n, n);
  w->S2 = gsl_matrix_alloc(n, n);
  w->c = malloc(B * sizeof *w->c);
  w->r = nzk_stream_alloc(o->seed, 0);
  nzk_law law = {0};
  if (nzk_law_parse("normal:scale=1", &law) == 0) w->dir = nzk_dir_alloc_iid(&law, p);
  if (!w->dir || !w->r || !w->c) return -1;

  /* A fixed, awkward-valued Jacobian: the timing does not depend on it. */
  for (size_t k = 0; k < n * p; k++) w->J->data[k] = sin(1.7319 * (double)k) / sqrt((double)p);
  return 0;
}

static void ws_free(micro_ws *w)
{
  gsl_matrix *m[] = {w->J, w->Z, w->Zeta, w->V, w->W, w->V2, w->W2, w->S1, w->S2};
  for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) gsl_matrix_free(m[k]);
  free(w->c);
  if (w->r) gsl_rng_free(w->r);
  nzk_dir_free((nzk_dir *)w->dir);
}

static void record_scheme(const char *name, bench_stat gflops, bench_stat draws,
                          bench_stat r_all, bench_stat r_blas, const char *params)
{
  char fig[64];
  snprintf(fig, sizeof fig, "%s_gflops", name);
  bench_record("nzk_micro", fig, "GFLOP/s", gflops, params);
  snprintf(fig, sizeof fig, "%s_draws_per_s", name);
  bench_record("nzk_micro", fig, "draws/s", draws, params);
  snprintf(fig, sizeof fig, "%s_vs_dgemm", name);
  bench_record_ratio("nzk_micro", fig, r_all, BENCH_HIGHER_IS_BETTER, params);
  snprintf(fig, sizeof fig, "%s_blas_vs_dgemm", name);
  bench_record_ratio("nzk_micro", fig, r_blas, BENCH_HIGHER_IS_BETTER, params);
}

/* Time one scheme end to end and BLAS-only, each repeat paired with a
 * reference DGEMM (bench_time_paired); print and record its figures. */
static void bench_scheme(micro_ws *w, nzk_scheme scheme, bench_dgemm_arg *ref,
                         const char *params)
{
  const micro_opts *o = w->o;
  size_t batches = (o->draws + o->batch - 1) / o->batch;
  double flops = (double)batches * batch_flops(scheme, o->n, o->p, o->batch);
  double rel = flops / bench_dgemm_flops(ref);
  bench_stat t_all, t_blas, t_ref;
  w->scheme = scheme;

  w->resample = 1;
  bench_stat r_all = bench_scale(
      bench_time_paired(micro_run, w, bench_dgemm_once, ref, o->repeats, &t_all, &t_ref), rel);
  nzk_stream_reset(w->r, o->seed, 0);
  nzk_dir_sample_batch(w->dir, w->r, w->Z);
  nzk_dir_sample_batch(w->dir, w->r, w->Zeta);
  w->resample = 0;
  bench_stat r_blas = bench_scale(
      bench_time_paired(micro_run, w, bench_dgemm_once, ref, o->repeats, &t_blas, NULL), rel);

  bench_stat g_all = bench_rate(t_all, flops * 1e-9), g_blas = bench_rate(t_blas, flops * 1e-9);
  bench_stat dgemm = bench_rate(t_ref, bench_dgemm_flops(ref) * 1e-9);
  bench_stat draws = bench_rate(t_all, (double)(batches * o->batch));
  const char *name = nzk_scheme_name(scheme);
  printf("%-7s %5zu %5zu %7zu %5zu %10.4g %12.4g %8.3f %8.3f %8.3f %7.3f %7.3f %9.1f\n", name,
         o->n, o->p, o->draws, o->batch, t_all.median, draws.median, g_all.median,
         g_blas.median, dgemm.median, r_all.median, r_blas.median,
         bench_peak_rss_bytes() / 1048576.0);

  record_scheme(name, g_all, draws, r_all, r_blas, params);
}

static void usage(FILE *out)
{
  fprintf(out, "usage: bench_nzk_micro [--n N] [--p P] [--draws S] [--batch B]\n"
               "                       [--repeats R] [--dgemm-n M] [--seed SEED]\n"
               "Defaults: the paper's MNIST size n=200 p=711 S=10000, B=256, R=5, M=512.\n");
}

/* Strict positive integer, or 0 on failure. */
static size_t parse_size(const char *s)
{
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  return (*s && !*end && s[0] != '-') ? (size_t)v : 0;
}

/* Options into `o`; 1 after --help, 2 (with a line on stderr) on bad
 * usage, else 0. */
static int parse_opts(int argc, char **argv, micro_opts *o)
{
  static const struct option longopts[] = {
      {"n", 1, 0, 'n'},     {"p", 1, 0, 'p'},       {"draws", 1, 0, 'S'},
      {"batch", 1, 0, 'B'}, {"repeats", 1, 0, 'R'}, {"dgemm-n", 1, 0, 'M'},
      {"seed", 1, 0, 's'},  {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
  static const char keys[] = "npSBRMs";
  size_t rep = 5, seed = 20260321;
  size_t *dst[] = {&o->n, &o->p, &o->draws, &o->batch, &rep, &o->dgemm_n, &seed};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 1;
    }
    size_t v = c == '?' ? 0 : parse_size(optarg);
    if (v == 0) {
      fprintf(stderr, "bench_nzk_micro: every option takes a positive integer\n");
      usage(stderr);
      return 2;
    }
    *dst[strchr(keys, c) - keys] = v;
  }
  if (optind < argc) {
    fprintf(stderr, "bench_nzk_micro: stray argument '%s'\n", argv[optind]);
    return 2;
  }
  o->repeats = (int)(rep > 64 ? 64 : rep);
  o->seed = seed;
  return 0;
}

int main(int argc, char **argv)
{
  micro_opts o = {200, 711, 10000, 256, 512, 5, 0};
  int status = parse_opts(argc, argv, &o);
  if (status) return status == 1 ? 0 : status;

  micro_ws w = {0};
  if (ws_alloc(&w, &o) != 0) {
    fprintf(stderr, "bench_nzk_micro: allocation failed\n");
    ws_free(&w);
    return 1;
  }
  char params[128];
  snprintf(params, sizeof params, "n=%zu p=%zu S=%zu B=%zu", o.n, o.p, o.draws, o.batch);
  bench_dgemm_arg ref = bench_dgemm_alloc(o.dgemm_n);
  char dparams[32];
  snprintf(dparams, sizeof dparams, "n=%zu", o.dgemm_n);
  bench_record("nzk_micro", "dgemm_gflops", "GFLOP/s",
               bench_rate(bench_time(bench_dgemm_once, &ref, o.repeats),
                          bench_dgemm_flops(&ref) * 1e-9),
               dparams);

  printf("# scheme     n     p   draws     B     time_s  draws_per_s   gflops blas_gflops"
         " dgemm_gflops  frac_dgemm blas_frac_dgemm peak_rss_mib\n");
  for (int s = 0; s < 3; s++) bench_scheme(&w, (nzk_scheme)s, &ref, params);
  bench_dgemm_free(&ref);
  ws_free(&w);
  return 0;
}
