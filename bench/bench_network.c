/* bench_network.c: cost of the MLP's exact Jacobian relative to one
 * batched forward pass, and ZO training steps per second, for the
 * image-experiment network 64-10-5-1 and a wide 64-1024-1024-1 one.
 *
 * usage: bench_network [n] [repeats] [zo_steps_small] [zo_steps_wide]
 *   defaults 200, 5, 2000, 20.
 * Output: one table per part, whitespace-separated columns with units in
 * the header, every ratio formed from figures measured in this run; and
 * the same figures as records (bench.h) when NZK_BENCH_JSON is set.  The
 * Jacobian of the wide network at n = 200 is 200 x 1117185 doubles
 * (1.8 GB); peak RSS is printed.
 *
 * Work counts: a forward pass does 2 n p multiply-adds (one GEMM per
 * layer); the Jacobian does one forward pass, one GEMM per layer for the
 * deltas (about the same flops again) and writes n p entries, so the
 * expected ratio is about 2-3 when the write of J is not the bottleneck
 * and larger when it is (memory bandwidth). */
#include "bench.h"
#include "model_mlp.h"
#include "rng_stream.h"
#include "train.h"

#include <stdio.h>
#include <gsl/gsl_errno.h>

typedef struct {
  nzk_model *m;
  const double *theta;
  const gsl_matrix *X;
  double *f;
  gsl_matrix *J;
} pass_arg;

static void run_forward(void *p)
{
  pass_arg *a = p;
  nzk_model_forward(a->m, a->theta, a->X, a->f);
}

static void run_jacobian(void *p)
{
  pass_arg *a = p;
  nzk_model_jacobian(a->m, a->theta, a->X, a->J);
}

typedef struct {
  nzk_mlp_spec spec;
  nzk_model *m;
  double *theta;
  gsl_matrix *X;
  gsl_vector *y;
} bench_net;

static int bench_net_make(const char *widths, size_t n, bench_net *b)
{
  memset(&b->spec, 0, sizeof b->spec);
  if (nzk_mlp_widths_parse(widths, &b->spec)) return -1;
  b->m = nzk_mlp_alloc(&b->spec);
  gsl_rng *r = nzk_stream_alloc(11, 0);
  b->theta = malloc(b->m->p * sizeof *b->theta);
  b->X = gsl_matrix_alloc(n, b->spec.widths[0]);
  b->y = gsl_vector_alloc(n);
  for (size_t k = 0; k < n * b->spec.widths[0]; k++) b->X->data[k] = gsl_rng_uniform(r);
  for (size_t i = 0; i < n; i++) gsl_vector_set(b->y, i, (double)(i % 2));
  nzk_mlp_init(&b->spec, r, b->theta);
  gsl_rng_free(r);
  return 0;
}

static void bench_net_free(bench_net *b)
{
  nzk_model_free(b->m);
  free(b->theta);
  gsl_matrix_free(b->X);
  gsl_vector_free(b->y);
}

/* Record name `what`_<widths with '_'> and the params of this case. */
static void record_names(const char *what, const char *widths, size_t n, char *fig,
                         size_t flen, char *params, size_t plen)
{
  snprintf(fig, flen, "%s_%s", what, widths);
  for (char *c = fig; *c; c++)
    if (*c == ',') *c = '_';
  snprintf(params, plen, "net=%s n=%zu", widths, n);
}

static void bench_jacobian(const char *widths, size_t n, int repeats, bench_stat dgemm)
{
  const double dgemm_gflops = dgemm.median;
  bench_net b;
  bench_net_make(widths, n, &b);
  const size_t p = b.m->p;
  pass_arg a = {b.m, b.theta, b.X, malloc(n * sizeof(double)), gsl_matrix_alloc(n, p)};
  if (!a.J) {
    printf("%-16s %6zu %9zu  (no memory for the %zu x %zu Jacobian)\n", widths, n, p, n, p);
    bench_net_free(&b);
    return;
  }
  bench_stat sf = bench_time(run_forward, &a, repeats);
  bench_stat sj = bench_time(run_jacobian, &a, repeats);
  double gflops = 2.0 * (double)n * (double)p / sf.median * 1e-9;
  printf("%-16s %6zu %9zu %12.1f %12.1f %12.1f %12.1f %8.2f %8.1f %8.2f %9.0f\n", widths, n, p,
         sf.median * 1e6, sf.max * 1e6, sj.median * 1e6, sj.max * 1e6, sj.median / sf.median,
         gflops, gflops / dgemm_gflops, bench_peak_rss_bytes() / 1048576.0);

  char fig[96], params[96];
  bench_stat fwd_gflops = bench_rate(sf, 2.0 * (double)n * (double)p * 1e-9);
  record_names("forward_gflops", widths, n, fig, sizeof fig, params, sizeof params);
  bench_record("network", fig, "GFLOP/s", fwd_gflops, params);
  record_names("jacobian_time", widths, n, fig, sizeof fig, params, sizeof params);
  bench_record("network", fig, "s", sj, params);
  record_names("jacobian_vs_forward", widths, n, fig, sizeof fig, params, sizeof params);
  bench_record_ratio("network", fig, bench_ratio(sj, sf), BENCH_LOWER_IS_BETTER, params);
  record_names("forward_vs_dgemm", widths, n, fig, sizeof fig, params, sizeof params);
  bench_record_ratio("network", fig, bench_ratio(fwd_gflops, dgemm), BENCH_HIGHER_IS_BETTER,
                     params);
  free(a.f);
  gsl_matrix_free(a.J);
  bench_net_free(&b);
}

/* ZO steps per second of `scheme` on the network (plain, pair, shared). */
static void bench_zo(const char *widths, size_t n, size_t steps)
{
  bench_net b;
  bench_net_make(widths, n, &b);
  const size_t p = b.m->p;
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  for (int s = 0; s < 3; s++) {
    nzk_train_params par;
    nzk_train_params_default(&par);
    par.kind = NZK_STEP_ZO;
    par.scheme = (nzk_scheme)s;
    par.z = z;
    /* Small enough that no scheme diverges in `steps` steps. */
    par.eta = 1e-3 / ((double)p + 2);
    par.seed = 5;
    nzk_trainer *t = nzk_trainer_alloc(b.m, b.X, b.y, &par);
    nzk_trainer_init(t, b.theta, 0);
    nzk_trainer_step(t); /* warm-up */
    double t0 = bench_now_s();
    int status = 0;
    for (size_t k = 0; k < steps && !status; k++) status = nzk_trainer_step(t);
    double el = bench_now_s() - t0;
    double fwd_s = 0;
    bench_stat fwd = {0};
    {
      pass_arg a = {b.m, b.theta, b.X, malloc(n * sizeof(double)), NULL};
      fwd = bench_time(run_forward, &a, 5);
      fwd_s = fwd.median;
      free(a.f);
    }
    printf("%-16s %6zu %9zu %-8s %8zu %12.1f %12.1f %10.2f%s\n", widths, n, p,
           nzk_scheme_name((nzk_scheme)s), steps, (double)steps / el, el / (double)steps * 1e6,
           el / (double)steps / fwd_s, status ? "  (stopped: diverged)" : "");

    /* One timing of `steps` steps: its spread comes from the forward pass. */
    char what[64], fig[96], params[96];
    bench_stat step = bench_exact(el / (double)steps);
    snprintf(what, sizeof what, "zo_%s_steps_per_s", nzk_scheme_name((nzk_scheme)s));
    record_names(what, widths, n, fig, sizeof fig, params, sizeof params);
    if (!status) bench_record("network", fig, "steps/s", bench_rate(step, 1.0), params);
    snprintf(what, sizeof what, "zo_%s_step_vs_forward", nzk_scheme_name((nzk_scheme)s));
    record_names(what, widths, n, fig, sizeof fig, params, sizeof params);
    if (!status)
      bench_record_ratio("network", fig, bench_ratio(step, fwd), BENCH_LOWER_IS_BETTER, params);
    nzk_trainer_free(t);
  }
  nzk_dir_free(z);
  bench_net_free(&b);
}

int main(int argc, char **argv)
{
  gsl_set_error_handler_off();
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 200;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  size_t steps_small = argc > 3 ? (size_t)atol(argv[3]) : 2000;
  size_t steps_wide = argc > 4 ? (size_t)atol(argv[4]) : 20;
  bench_stat ref_stat = bench_dgemm_stat(512, 7);
  double ref = ref_stat.median;

  printf("# Jacobian vs one batched forward pass (ReLU, standard); DGEMM 512: %.1f GFLOP/s\n",
         ref);
  printf("# threads: OpenBLAS %d\n", openblas_get_num_threads());
  printf("%-16s %6s %9s %12s %12s %12s %12s %8s %8s %8s %9s\n", "network", "n", "p",
         "fwd_us", "fwd_max_us", "jac_us", "jac_max_us", "jac/fwd", "fwd_gf", "fwd/dgemm",
         "rss_MiB");
  bench_jacobian("64,10,5,1", n, repeats, ref_stat);
  bench_jacobian("64,1024,1024,1", n, repeats, ref_stat);

  printf("\n# ZO training steps per second (2 forward passes + direction draw + update)\n");
  printf("%-16s %6s %9s %-8s %8s %12s %12s %10s\n", "network", "n", "p", "scheme", "steps",
         "steps_per_s", "us_per_step", "step/fwd");
  bench_zo("64,10,5,1", n, steps_small);
  bench_zo("64,1024,1024,1", n, steps_wide);
  return 0;
}
