/* bench_train.c: costs of the training dynamics of linear models, each measured
 * against its own reference in the same run.
 *
 *  1. ZO step vs the two forward passes it needs: time S steps of the
 *     trainer (plain scheme, N(0, 1) directions, loss not queried) and S
 *     pairs of forward passes of the same model at the same theta; the
 *     ratio is the step's overhead (goal <= 1.5).  Models: linear at the
 *     paper's sizes (n = 100, d = 2 and 50; n = 200, d = 64 pixels) and the
 *     image MLP 64-10-5-1 at n = 200.  The ratio with the loss query (a
 *     third forward pass, what `nzk train` pays to record the loss of
 *     every step) is printed too.
 *  2. Closed form vs kernel GD at n = 200 for the paper's 9 record steps
 *     (0, 49, ..., 15999): 16000 kernel-GD steps (one GEMV each) against
 *     one eigendecomposition plus 9 evaluations (goal >= 100x), for a
 *     full-rank kernel (NTK of 256 features) and for the rank-2 kernel of
 *     the degree-2 data; the same dense dsyevr path serves both.
 *  3. The whole linear degree-2 experiment of DESIGN.md section 5 as the
 *     authors' script runs it (n = 100, 16000 steps, FO with the NTK and
 *     ZO with the shared NZK estimated from 10000 Monte Carlo draws, loss
 *     at every step, f at the 9 record steps): wall time and peak RSS with
 *     the closed form (goal well under 0.1 s; the authors' code takes about
 *     5 s and 1.4 GiB), and with step-by-step kernel GD for reference.
 * Every status is checked: a failed call, or closed form and kernel GD
 * disagreeing beyond rounding (cf_tolerance), ends with exit 1.  Part 1's
 * short timings are at the mercy of the machine's load: a row whose
 * paired ratios spread beyond 2x or whose median is below 1 (impossible:
 * the step contains both passes) is flagged NOISY with a note.
 * Output: whitespace-separated columns with units, one block per part;
 * records (bench.h) when NZK_BENCH_JSON is set.  Options: --steps S (ZO
 * steps per timing), --repeats R, --kgd-steps T (default 16000). */
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "bench.h"
#include "data_synth.h"
#include "dynamics.h"
#include "kernel.h"
#include "model_linear.h"
#include "model_mlp.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "train.h"

typedef struct {
  size_t steps, kgd_steps;
  int repeats;
} bench_opts;

/* ---- paired timing ---------------------------------------------------------
 *
 * Two pieces of work compared on a machine shared with other jobs: the
 * repeats alternate a, b, a, b, ... and the ratio is taken per adjacent
 * pair, so a change of load between the two timings moves both.  The
 * median, min and max of the per-pair ratios are reported. */
typedef struct {
  bench_stat a, b, ratio; /* seconds, seconds, b / a */
} paired;

static double time_once(void (*fn)(void *), void *arg)
{
  double t0 = bench_now_s();
  fn(arg);
  return bench_now_s() - t0;
}

static bench_stat stat_of(double *v, int m)
{
  qsort(v, (size_t)m, sizeof v[0], bench_cmp_double);
  bench_stat s = {v[m / 2], v[0], v[m - 1], m};
  return s;
}

static paired time_paired(void (*fa)(void *), void (*fb)(void *), void *arg, int repeats)
{
  double ta[64], tb[64], tr[64];
  if (repeats > 64) repeats = 64;
  fa(arg); /* warm-up */
  fb(arg);
  for (int k = 0; k < repeats; k++) {
    ta[k] = time_once(fa, arg);
    tb[k] = time_once(fb, arg);
    tr[k] = tb[k] / ta[k];
  }
  paired p = {stat_of(ta, repeats), stat_of(tb, repeats), stat_of(tr, repeats)};
  return p;
}

/* ---- 1. ZO step vs two forward passes ----------------------------------- */

typedef struct {
  nzk_model *model;
  nzk_trainer *t;
  const gsl_matrix *X;
  double *theta, *f;
  size_t steps;
  int status; /* first failure of a timed call, 0 if none */
} zo_arg;

static void keep_status(int *dst, int status)
{
  if (!*dst) *dst = status;
}

static void zo_steps(void *p)
{
  zo_arg *a = p;
  for (size_t s = 0; s < a->steps; s++) keep_status(&a->status, nzk_trainer_step(a->t));
}

static void zo_steps_with_loss(void *p)
{
  zo_arg *a = p;
  double loss;
  for (size_t s = 0; s < a->steps; s++) {
    keep_status(&a->status, nzk_trainer_step(a->t));
    keep_status(&a->status, nzk_trainer_loss(a->t, &loss));
  }
}

static void forward_pairs(void *p)
{
  zo_arg *a = p;
  for (size_t s = 0; s < a->steps; s++) {
    keep_status(&a->status, nzk_model_forward(a->model, a->theta, a->X, a->f));
    keep_status(&a->status, nzk_model_forward(a->model, a->theta, a->X, a->f));
  }
}

/* Part 1 pairs at least this many repeats: its timings are short and a
 * shared machine's load moves them by tens of per cent. */
#define ZO_MIN_REPEATS 15

/* A ZO step contains both forward passes, so a ratio below 1 is noise; so
 * is a spread of the paired ratios beyond a factor 2.  Nonzero if the row
 * must be flagged. */
static int zo_noisy(const bench_stat *ratio)
{
  return ratio->median < 1.0 || ratio->max > 2.0 * ratio->min;
}

/* One row of part 1 for `model` on n examples of its input width;
 * nonzero (after a message) if a call failed. */
static int zo_row(nzk_model *model, const char *name, size_t n, const bench_opts *o)
{
  const size_t p = model->p, d = model->d;
  gsl_matrix *X = gsl_matrix_alloc(n, d);
  gsl_vector *y = gsl_vector_alloc(n);
  gsl_rng *r = nzk_stream_alloc(11, 0);
  nzk_synth_sphere(r, 0.05, X, y, NULL);
  double *theta = malloc(p * sizeof(double)), *f = malloc(n * sizeof(double));
  for (size_t k = 0; k < p; k++) theta[k] = 0.1 * gsl_ran_gaussian_ziggurat(r, 1.0);
  nzk_law law = nzk_law_normal(1.0);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = NZK_STEP_ZO;
  par.z = z;
  par.eta = 1e-6; /* tiny: theta stays put, so both timings see the same model */
  par.runaway_factor = 1e300;
  nzk_trainer *t = nzk_trainer_alloc(model, X, y, &par);
  zo_arg a = {model, t, X, theta, f, o->steps, t ? nzk_trainer_init(t, theta, 0) : GSL_EINVAL};
  if (a.status) {
    fprintf(stderr, "bench_train: %s: trainer setup failed: %s\n", name, nzk_error_message());
    goto cleanup;
  }

  const int reps = o->repeats > ZO_MIN_REPEATS ? o->repeats : ZO_MIN_REPEATS;
  paired ps = time_paired(forward_pairs, zo_steps, &a, reps);
  paired pl = time_paired(forward_pairs, zo_steps_with_loss, &a, reps);
  bench_stat ratio = ps.ratio;
  double per = 1e6 / (double)o->steps;
  const int noisy = zo_noisy(&ratio);
  printf("%-22s %5zu %6zu %12.3f %12.3f %12.3f %9.3f %7.3f-%-7.3f %9.3f %s\n", name, n, p,
         ps.a.median * per, ps.b.median * per, pl.b.median * per, ratio.median, ratio.min,
         ratio.max, pl.ratio.median, noisy ? "NOISY" : "ok");
  if (noisy)
    printf("#   note: %s: the paired ratios spread over %.3g-%.3g%s; timing noise from the "
           "machine's load, not a measurement of the step (rerun on an idle machine)\n", name,
           ratio.min, ratio.max,
           ratio.median < 1.0 ? " and their median is below 1, impossible for a step that "
                                "contains both forward passes" : "");
  if (a.status)
    fprintf(stderr, "bench_train: %s: a timed call failed: %s\n", name, nzk_error_message());
  char params[128], fig[64];
  snprintf(params, sizeof params, "model=%s n=%zu p=%zu steps=%zu", name, n, p, o->steps);
  snprintf(fig, sizeof fig, "zo_step_vs_two_forward_%s_n%zu_p%zu",
           strncmp(name, "mlp", 3) == 0 ? "mlp" : "linear", n, p);
  bench_record_ratio("train", fig, ratio, BENCH_LOWER_IS_BETTER, params);

cleanup:
  nzk_trainer_free(t);
  nzk_dir_free(z);
  gsl_rng_free(r);
  gsl_matrix_free(X);
  gsl_vector_free(y);
  free(theta);
  free(f);
  return a.status != 0;
}

static int part_zo(const bench_opts *o)
{
  int bad = 0;
  printf("# 1. ZO step (plain, N(0,1), forward passes only) vs its two forward passes\n");
  printf("# median of at least %d paired repeats; flag NOISY: ratio below 1 or min-max "
         "beyond 2x\n", ZO_MIN_REPEATS);
  printf("# %-20s %5s %6s %12s %12s %12s %9s %15s %9s %s\n", "model", "n", "p", "2fwd_us",
         "step_us", "step+L_us", "ratio", "ratio_min-max", "ratio+L", "flag");
  const size_t lin[][2] = {{100, 2}, {100, 50}, {200, 64}, {200, 711}};
  for (size_t k = 0; k < 4; k++) {
    char name[32];
    snprintf(name, sizeof name, "linear d=%zu", lin[k][1]);
    nzk_model *m = nzk_model_linear_alloc(lin[k][1]);
    bad |= zo_row(m, name, lin[k][0], o);
    nzk_model_free(m);
  }
  nzk_mlp_spec spec = {.act = NZK_ACT_RELU, .param = NZK_PARAM_STANDARD};
  nzk_mlp_widths_parse("64,10,5,1", &spec);
  nzk_model *m = nzk_mlp_alloc(&spec);
  bad |= zo_row(m, "mlp 64-10-5-1", 200, o);
  nzk_model_free(m);
  return bad;
}

/* ---- 2. closed form vs kernel GD ------------------------------------------- */

/* The paper's record steps for a run of T iterations: f before iteration
 * i for i in {0, 49, 99, 199, 999, 1999, 2999, 3999, T - 1}, i.e. after i
 * steps; the list is cut to the steps below T - 1.  Returns the count. */
static size_t paper_records(size_t T, size_t rec[9])
{
  const size_t paper[8] = {0, 49, 99, 199, 999, 1999, 2999, 3999};
  size_t m = 0;
  for (size_t k = 0; k < 8; k++)
    if (paper[k] + 1 < T) rec[m++] = paper[k];
  rec[m++] = T - 1;
  return m;
}

typedef struct {
  const gsl_matrix *K, *X, *M; /* M != NULL: factored form K = X M X^T */
  const gsl_vector *y, *f0;
  gsl_matrix *F;
  double eta;
  size_t steps, nrec, rec[9]; /* steps = T - 1 updates reach the last record */
  int status;                 /* first failure, 0 if none */
} cf_arg;

static void run_kgd(void *p)
{
  cf_arg *a = p;
  keep_status(&a->status, nzk_kgd_run(a->K, a->eta, a->y, a->f0, a->steps, 1e300, NULL, a->rec,
                                      a->nrec, a->F));
}

/* Everything the closed form needs for the 9 records: one
 * eigendecomposition, Q^T r0, and 9 residuals. */
static void run_closed(void *p)
{
  cf_arg *a = p;
  gsl_vector *r0 = gsl_vector_alloc(a->y->size);
  gsl_vector_memcpy(r0, a->f0);
  gsl_vector_sub(r0, a->y);
  nzk_closed *cf = a->M ? nzk_closed_alloc_sandwich(a->X, a->M) : nzk_closed_alloc(a->K);
  int st = cf ? nzk_closed_set_r0(cf, r0) : GSL_EFAILED;
  /* loss NULL: only the records, so the run costs 9 evaluations */
  if (!st)
    st = nzk_closed_run(cf, a->eta, NZK_EVOLVE_STEPS, a->y, a->steps, 1e300, NULL, a->rec,
                        a->nrec, a->F);
  keep_status(&a->status, st);
  nzk_closed_free(cf);
  gsl_vector_free(r0);
}

/* Largest accepted max_rel_diff between kernel GD and the closed form
 * after T steps: each of the T GEMV updates rounds at the relative level
 * n DBL_EPSILON, the eigendecomposition at n^2 DBL_EPSILON; a factor 10
 * of margin.  A wrong record (the wrong step, a missing row) is off by
 * O(1). */
static double cf_tolerance(size_t n, size_t T)
{
  return 10.0 * ((double)T * (double)n + (double)n * (double)n) * DBL_EPSILON;
}

/* One row of part 2; nonzero (after a message) if a call failed or the two
 * paths disagree beyond cf_tolerance. */
static int cf_row(size_t n, size_t d, int factored, const bench_opts *o)
{
  size_t rec[9], nrec = paper_records(o->kgd_steps, rec);
  gsl_matrix *X = gsl_matrix_alloc(n, d), *K = gsl_matrix_alloc(n, n);
  gsl_matrix *Mid = gsl_matrix_alloc(d, d);
  gsl_matrix_set_identity(Mid); /* NTK: M = I */
  /* one row per record: the runs refuse a record matrix of another height */
  gsl_matrix *F1 = gsl_matrix_alloc(nrec, n), *F2 = gsl_matrix_alloc(nrec, n);
  gsl_vector *y = gsl_vector_alloc(n), *f0 = gsl_vector_calloc(n);
  gsl_rng *r = nzk_stream_alloc(12, 0);
  nzk_synth_sphere(r, 0.05, X, y, NULL);
  nzk_kernel_ntk(X, K);
  cf_arg a = {K, X, factored ? Mid : NULL, y, f0, F1, 1e-3, o->kgd_steps - 1, nrec, {0}, 0};
  memcpy(a.rec, rec, sizeof rec);
  run_kgd(&a); /* F1: kernel GD's records, kept for the comparison below */
  a.F = F2;
  paired pt = time_paired(run_closed, run_kgd, &a, o->repeats);
  run_closed(&a);
  bench_stat tk = pt.b, tc = pt.a;
  double diff = 0.0, ref = 0.0;
  for (size_t k = 0; k < a.nrec * n; k++) {
    diff = fmax(diff, fabs(F1->data[k] - F2->data[k]));
    ref = fmax(ref, fabs(F1->data[k]));
  }
  bench_stat sp = pt.ratio;
  const double rel = ref > 0 ? diff / ref : INFINITY, tol = cf_tolerance(n, o->kgd_steps);
  int bad = 0;
  if (a.status) {
    fprintf(stderr, "bench_train: closed form vs kernel GD (n = %zu, d = %zu): %s\n", n, d,
            nzk_error_message());
    bad = 1;
  } else if (!(rel <= tol)) {
    fprintf(stderr, "bench_train: closed form and kernel GD disagree (n = %zu, d = %zu, T = "
            "%zu): max_rel_diff %.3g above %.3g\n", n, d, o->kgd_steps, rel, tol);
    bad = 1;
  }
  printf("%5zu %5zu %-9s %6zu %12.3f %12.4f %10.1f %7.1f-%-7.1f %12.2e %s\n", n, d,
         factored ? "factored" : "dense", o->kgd_steps, tk.median * 1e3, tc.median * 1e3,
         sp.median, sp.min, sp.max, rel, bad ? "FAILED" : "ok");
  char params[96], fig[64];
  snprintf(params, sizeof params, "n=%zu d=%zu steps=%zu records=%zu", n, d, o->kgd_steps,
           nrec);
  snprintf(fig, sizeof fig, "closed_vs_kgd_%s_d%zu", factored ? "factored" : "dense", d);
  if (!bad) bench_record_ratio("train", fig, sp, BENCH_HIGHER_IS_BETTER, params);
  gsl_matrix_free(Mid);
  gsl_rng_free(r);
  gsl_matrix_free(X);
  gsl_matrix_free(K);
  gsl_matrix_free(F1);
  gsl_matrix_free(F2);
  gsl_vector_free(y);
  gsl_vector_free(f0);
  return bad;
}

static int part_closed(const bench_opts *o)
{
  size_t rec[9];
  printf("\n# 2. closed form (1 eigendecomposition + %zu records) vs kernel GD, NTK kernel\n",
         paper_records(o->kgd_steps, rec));
  printf("# %3s %5s %-9s %6s %12s %12s %10s %15s %12s %s\n", "n", "d", "path", "steps",
         "kgd_ms", "closed_ms", "speedup", "speedup_min-max", "max_rel_diff", "check");
  int bad = cf_row(200, 256, 0, o); /* full rank: the dense dsyevr path is the only one */
  bad |= cf_row(200, 64, 0, o);     /* the paper's linear MNIST row (8 x 8 pixels) */
  bad |= cf_row(200, 64, 1, o);
  bad |= cf_row(200, 2, 1, o); /* degree 2 */
  return bad;
}

/* ---- 3. the whole linear degree-2 experiment ------------------------------ */

typedef struct {
  size_t n, d, T, mc_draws;
  int use_closed; /* 0: step-by-step kernel GD, as the authors' code */
  double loss_fo_final, loss_zo_final;
  int status; /* first failure, 0 if none */
} exp_arg;

/* FO with the NTK and ZO with the Monte Carlo shared NZK, loss at every
 * iteration 0..T-1 and f at the paper's records, from the data up. */
static void dynamics_of(exp_arg *a, const gsl_matrix *K, const gsl_vector *y,
                        const gsl_vector *f0, double *loss, gsl_matrix *F, const size_t *rec,
                        size_t nrec)
{
  if (!a->use_closed) {
    keep_status(&a->status, nzk_kgd_run(K, 1e-3, y, f0, a->T - 1, 1e300, loss, rec, nrec, F));
    return;
  }
  gsl_vector *r0 = gsl_vector_alloc(a->n);
  gsl_vector_memcpy(r0, f0);
  gsl_vector_sub(r0, y);
  nzk_closed *cf = nzk_closed_alloc(K);
  int st = cf ? nzk_closed_set_r0(cf, r0) : GSL_EFAILED;
  if (!st) st = nzk_closed_run(cf, 1e-3, NZK_EVOLVE_STEPS, y, a->T - 1, 1e300, loss, rec, nrec, F);
  keep_status(&a->status, st);
  nzk_closed_free(cf);
  gsl_vector_free(r0);
}

static void whole_experiment(void *p)
{
  exp_arg *a = p;
  const size_t n = a->n, d = a->d;
  size_t rec[9], nrec = paper_records(a->T, rec);
  gsl_matrix *X = gsl_matrix_alloc(n, d), *K = gsl_matrix_alloc(n, n);
  gsl_matrix *F = gsl_matrix_alloc(nrec, n);
  gsl_vector *y = gsl_vector_alloc(n), *f0 = gsl_vector_alloc(n), *th = gsl_vector_alloc(d);
  double *loss = malloc(a->T * sizeof(double));
  gsl_rng *r = nzk_stream_alloc(0, 0);
  nzk_synth_sphere(r, 0.05, X, y, NULL);
  nzk_stream_reset(r, 0, 1);
  for (size_t k = 0; k < d; k++) gsl_vector_set(th, k, gsl_ran_gaussian(r, 1.0));
  gsl_blas_dgemv(CblasNoTrans, 1.0, X, th, 0.0, f0);

  nzk_kernel_ntk(X, K); /* FO */
  dynamics_of(a, K, y, f0, loss, F, rec, nrec);
  a->loss_fo_final = loss[a->T - 1];
  nzk_law law = nzk_law_normal(1.0); /* ZO: shared NZK from Monte Carlo draws */
  nzk_dir *z = nzk_dir_alloc_iid(&law, d);
  keep_status(&a->status, nzk_kernel_mc(NZK_SCHEME_SHARED, X, z, NULL, a->mc_draws, 256, 5, K,
                                        NULL));
  dynamics_of(a, K, y, f0, loss, F, rec, nrec);
  a->loss_zo_final = loss[a->T - 1];

  nzk_dir_free(z);
  gsl_rng_free(r);
  free(loss);
  gsl_matrix_free(X);
  gsl_matrix_free(K);
  gsl_matrix_free(F);
  gsl_vector_free(y);
  gsl_vector_free(f0);
  gsl_vector_free(th);
}

static int part_experiment(const bench_opts *o)
{
  size_t rec[9];
  printf("\n# 3. whole linear degree-2 experiment (n = 100, %zu iterations, FO + ZO with the\n"
         "#    shared NZK from 10000 draws, loss every step, %zu records)\n", o->kgd_steps,
         paper_records(o->kgd_steps, rec));
  printf("# %-14s %10s %14s %14s %14s\n", "dynamics", "wall_ms", "peak_rss_MiB", "loss_fo",
         "loss_zo");
  exp_arg a = {100, 2, o->kgd_steps, 10000, 1, 0, 0, 0};
  bench_stat tc = bench_time(whole_experiment, &a, o->repeats);
  /* the first timing's peak RSS: the closed form runs alone so far */
  double rss = bench_peak_rss_bytes() / 1048576.0;
  printf("  %-14s %10.3f %14.1f %14.6g %14.6g\n", "closed form", tc.median * 1e3, rss,
         a.loss_fo_final, a.loss_zo_final);
  char params[96];
  snprintf(params, sizeof params, "n=100 d=2 T=%zu mc_draws=10000", o->kgd_steps);
  bench_record("train", "linear_degree2_experiment_s", "s", tc, params);
  a.use_closed = 0;
  bench_stat tk = bench_time(whole_experiment, &a, o->repeats > 3 ? 3 : o->repeats);
  printf("  %-14s %10.3f %14.1f %14.6g %14.6g\n", "kernel GD", tk.median * 1e3,
         bench_peak_rss_bytes() / 1048576.0, a.loss_fo_final, a.loss_zo_final);
  if (a.status) {
    fprintf(stderr, "bench_train: whole experiment: %s\n", nzk_error_message());
    return 1;
  }
  bench_record_ratio("train", "experiment_kgd_vs_closed", bench_ratio(tk, tc),
                     BENCH_HIGHER_IS_BETTER, params);
  return 0;
}

int main(int argc, char **argv)
{
  bench_opts o = {2000, 16000, 7};
  static const struct option longs[] = {{"steps", required_argument, 0, 's'},
                                        {"kgd-steps", required_argument, 0, 'k'},
                                        {"repeats", required_argument, 0, 'r'},
                                        {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    if (c == 's') o.steps = strtoul(optarg, NULL, 10);
    else if (c == 'k') o.kgd_steps = strtoul(optarg, NULL, 10);
    else if (c == 'r') o.repeats = atoi(optarg);
    else {
      fprintf(stderr, "usage: bench_train [--steps S] [--kgd-steps T] [--repeats R]\n");
      return 2;
    }
  }
  if (o.steps == 0 || o.kgd_steps < 2 || o.repeats < 1) {
    fprintf(stderr, "bench_train: --steps >= 1, --kgd-steps >= 2, --repeats >= 1\n");
    return 2;
  }
  gsl_set_error_handler_off();
  printf("# bench_train: OPENBLAS_NUM_THREADS=%s, median of %d repeats after a warm-up\n",
         getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)", o.repeats);
  int bad = part_zo(&o);
  bad |= part_closed(&o);
  bad |= part_experiment(&o);
  if (bad) fprintf(stderr, "bench_train: a check failed (see above); exit 1\n");
  return bad ? 1 : 0;
}
