/* cmd_train.c: `nzk train`, training dynamics of a linear model f = X theta
 * (DESIGN.md sections 2, 3 and 5): FO gradient descent and ZO in parameter
 * space (train.h), kernel gradient descent with the expected kernel of the
 * ZO scheme, its closed form and flow limit (dynamics.h), on the synthetic
 * sphere data of section 5 or on a CSV file.  Everything is computed in
 * memory first; files are written only when every method finished, so a
 * diverged run (reported with its step, exit 1) leaves no results behind.
 *
 * Outputs in --out DIR (comma-separated, one header line, gnuplot reads
 * them with `set datafile separator ','` and `columnheader`):
 *   loss.csv        step, then one column per method (zo and zo-best: mean
 *                   over the runs, plus <method>_sd when --runs > 1)
 *   f_<method>.csv  i, y, then f at each record step (columns t<step>)
 *   f_<method>_sd.csv  spread over the runs at the record steps (R > 1)
 *   summary.json    parameters, data, kernel spectrum, final losses, files
 */
#include "cli.h"
#include "data_synth.h"
#include "dynamics.h"
#include "kernel.h"
#include "model_linear.h"
#include "nzk_error.h"
#include "report_io.h"
#include "rng_stream.h"
#include "train.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

static const char *const CMD = "train";

enum { M_FO, M_ZO, M_ZO_BEST, M_KGD, M_CLOSED, M_FLOW, N_METHODS };
static const char *const method_names[N_METHODS] = {"fo", "zo", "zo-best", "kgd", "closed",
                                                    "flow"};

#define MAX_RECORDS 64
/* The trainer's stream layout allows 2^32 steps per run (train.h). */
#define MAX_STEPS (UINT64_C(1) << 32)

typedef struct {
  size_t n, d, steps, runs, best_k, mc_draws, target_col, feature_from, nrec;
  double noise, eta, eps, runaway;
  uint64_t seed;
  const char *csv, *out, *law, *zeta_law, *scheme, *kernel, *methods, *records;
  int use[N_METHODS];
  int have_n, have_d; /* --n / --d given (checked against --csv) */
  size_t rec[MAX_RECORDS];
} train_args;

static void usage(FILE *out)
{
  fprintf(out,
    "usage: nzk train --out DIR [--methods LIST] [--scheme S] [--law SPEC]\n"
    "                 [--eta E] [--steps T] [--eps H] [--record LIST] [--runs R]\n"
    "                 [--n N --d D --noise SD | --csv FILE [--target-col K]\n"
    "                  [--feature-from M]] [--seed S] [--kernel expected|mc]\n"
    "                 [--mc-draws S] [--best-k K] [--zeta-law SPEC] [--runaway F]\n\n"
    "Trains the linear model f = X theta under the squared loss (1/2n)|f - y|^2 and\n"
    "writes the loss at every step and f at the record steps.  Methods (--methods,\n"
    "comma-separated, default fo,zo,kgd,closed):\n"
    "  fo       first-order gradient descent in parameter space\n"
    "  zo       parameter-space ZO of the scheme (plain, pair, shared; default\n"
    "           shared, the paper's), forward passes only, R runs (--runs)\n"
    "  zo-best  the best-of-K standard-ZO baseline (--best-k, default 100;\n"
    "           directions N(0, I) as in the authors' code, whatever --law)\n"
    "  kgd      kernel GD f <- f - (eta/n) K (f - y) with the scheme's kernel\n"
    "  closed   the closed form (I - (eta/n) K)^t r0 (one eigendecomposition)\n"
    "  flow     the flow limit exp(-(eta/n) K t) r0, t in steps\n"
    "K is the expected kernel of --scheme and --law (default normal:scale=1), or\n"
    "with --kernel mc the Monte Carlo estimate from --mc-draws draws (default\n"
    "10000, as the paper).  Data: the unit-sphere set of DESIGN.md section 5\n"
    "(--n 100 --d 2 --noise 0.05), or --csv FILE with the target in column\n"
    "--target-col (0-based, default 0) and features in the other columns from\n"
    "--feature-from on (default 0).  theta0 ~ N(0, I), seed --seed (default 0;\n"
    "NZK_SEED overrides).  Defaults: --eta 1e-3 --steps 16000 --eps 1e-3 --runs 1\n"
    "--record 0,49,99,199,999,1999,2999,3999,T-1 (the paper's).  A run whose loss\n"
    "is not finite or exceeds --runaway (default 1e8) times max(L0, |y|^2/2n) is\n"
    "reported with its step and nothing is written (exit 1).\n");
}

static const cli_opt opts[] = {
  {"n", 'z', offsetof(train_args, n)},         {"d", 'z', offsetof(train_args, d)},
  {"steps", 'z', offsetof(train_args, steps)}, {"runs", 'z', offsetof(train_args, runs)},
  {"best-k", 'z', offsetof(train_args, best_k)},
  {"mc-draws", 'z', offsetof(train_args, mc_draws)},
  {"target-col", 'z', offsetof(train_args, target_col)},
  {"feature-from", 'z', offsetof(train_args, feature_from)},
  {"noise", 'd', offsetof(train_args, noise)}, {"eta", 'd', offsetof(train_args, eta)},
  {"eps", 'd', offsetof(train_args, eps)},     {"runaway", 'd', offsetof(train_args, runaway)},
  {"seed", 'u', offsetof(train_args, seed)},   {"csv", 's', offsetof(train_args, csv)},
  {"out", 's', offsetof(train_args, out)},     {"law", 's', offsetof(train_args, law)},
  {"zeta-law", 's', offsetof(train_args, zeta_law)},
  {"scheme", 's', offsetof(train_args, scheme)},
  {"kernel", 's', offsetof(train_args, kernel)},
  {"methods", 's', offsetof(train_args, methods)},
  {"record", 's', offsetof(train_args, records)},
};

/* --methods: comma-separated names into a->use; empty items and repeated
 * names are refused. */
static int parse_methods(train_args *a)
{
  const char *s = a->methods;
  for (;;) {
    size_t len = strcspn(s, ",");
    int k = 0;
    while (k < N_METHODS && (strlen(method_names[k]) != len ||
                             strncmp(s, method_names[k], len) != 0))
      k++;
    if (len == 0)
      return cli_usage_error(CMD, "--methods: empty item in '%s'", a->methods);
    if (k == N_METHODS)
      return cli_usage_error(CMD, "--methods: unknown method '%.*s' (expected fo, zo, "
                             "zo-best, kgd, closed or flow)", (int)len, s);
    if (a->use[k])
      return cli_usage_error(CMD, "--methods: '%s' is listed twice", method_names[k]);
    a->use[k] = 1;
    if (!s[len]) return 0;
    s += len + 1;
  }
}

/* --record: ascending step counts <= steps; default the paper's list. */
static int parse_records(train_args *a)
{
  if (!a->records) {
    const size_t paper[] = {0, 49, 99, 199, 999, 1999, 2999, 3999};
    a->nrec = 0;
    for (size_t k = 0; k < 8; k++)
      if (paper[k] + 1 < a->steps) a->rec[a->nrec++] = paper[k];
    a->rec[a->nrec++] = a->steps ? a->steps - 1 : 0; /* the last step the paper records */
    return 0;
  }
  const char *s = a->records;
  for (a->nrec = 0; *s; a->nrec++) {
    char *end;
    if (a->nrec == MAX_RECORDS)
      return cli_usage_error(CMD, "--record: at most %d record steps", MAX_RECORDS);
    if (*s < '0' || *s > '9')
      return cli_usage_error(CMD, "--record: '%s' is not a list of step counts", a->records);
    unsigned long long v = strtoull(s, &end, 10);
    if ((*end && *end != ',') || v > a->steps || (a->nrec && v <= a->rec[a->nrec - 1]))
      return cli_usage_error(CMD, "--record: '%s' must be increasing step counts <= --steps %zu",
                             a->records, a->steps);
    a->rec[a->nrec] = (size_t)v;
    s = *end ? end + 1 : end;
  }
  return a->nrec ? 0 : cli_usage_error(CMD, "--record is empty");
}

static int parse_args(int argc, char **argv, train_args *a)
{
  *a = (train_args){.n = 100, .d = 2, .steps = 16000, .runs = 1, .best_k = 100,
                    .mc_draws = 10000, .noise = 0.05, .eta = 1e-3, .eps = 1e-3, .runaway = 1e8,
                    .law = "normal:scale=1", .scheme = "shared", .kernel = "expected",
                    .methods = "fo,zo,kgd,closed"};
  a->seed = nzk_stream_default_seed(0);
  for (int i = 1; i < argc; i++) {
    int bad = 0;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return -1;
    size_t k;
    if (!cli_parse_table(CMD, opts, sizeof opts / sizeof opts[0], argc, argv, &i, a, &k, &bad))
      return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
    a->have_n |= opts[k].off == offsetof(train_args, n);
    a->have_d |= opts[k].off == offsetof(train_args, d);
    if (bad) return NZK_EXIT_USAGE;
  }
  if (!a->out) return cli_usage_error(CMD, "--out DIR is required");
  if (strcmp(a->kernel, "expected") && strcmp(a->kernel, "mc"))
    return cli_usage_error(CMD, "--kernel must be expected or mc, got '%s'", a->kernel);
  if (!(a->eta > 0) || !(a->eps > 0) || !(a->runaway > 1))
    return cli_usage_error(CMD, "--eta and --eps must be positive, --runaway above 1");
  if (a->runs == 0 || a->best_k == 0 || a->mc_draws < 2)
    return cli_usage_error(CMD, "--runs and --best-k must be >= 1, --mc-draws >= 2");
  if (!a->csv && (a->n == 0 || a->d == 0))
    return cli_usage_error(CMD, "--n and --d must be positive");
  if (a->steps > MAX_STEPS)
    return cli_usage_error(CMD, "--steps %zu is above the limit of 2^32 steps per run",
                           a->steps);
  nzk_scheme scheme;
  if (nzk_scheme_parse(a->scheme, &scheme))
    return cli_usage_error(CMD, "--scheme: %s", nzk_error_message());
  if (a->zeta_law && scheme != NZK_SCHEME_PAIR)
    return cli_usage_error(CMD, "--zeta-law applies to the pair scheme only (scheme is %s)",
                           nzk_scheme_name(scheme));
  if (parse_methods(a)) return NZK_EXIT_USAGE;
  return parse_records(a) ? NZK_EXIT_USAGE : 0;
}

/* ---- data ------------------------------------------------------------------ */

typedef struct {
  gsl_matrix *X; /* n x d */
  gsl_vector *y;
  double *theta0;
  char source[512];
} train_data;

static void data_free(train_data *D)
{
  gsl_matrix_free(D->X);
  gsl_vector_free(D->y);
  free(D->theta0);
}

/* Columns of a CSV: target a->target_col, features from a->feature_from. */
static int load_csv(const train_args *a, train_data *D)
{
  gsl_matrix *M;
  if (nzk_csv_read_matrix(a->csv, &M)) return cli_library_error(CMD, NZK_EXIT_USAGE);
  const size_t cols = M->size2, n = M->size1;
  size_t d = nzk_csv_feature_count(cols, a->target_col, a->feature_from);
  if ((a->have_n && a->n != n) || (a->have_d && a->d != d)) {
    gsl_matrix_free(M);
    return cli_usage_error(CMD, "%s gives n = %zu examples and d = %zu features but --n %zu / "
                           "--d %zu were given", a->csv, n, d, a->have_n ? a->n : n,
                           a->have_d ? a->d : d);
  }
  if (nzk_csv_split_xy(M, a->target_col, a->feature_from, a->csv, &D->X, &D->y)) {
    gsl_matrix_free(M);
    return cli_library_error(CMD, NZK_EXIT_USAGE);
  }
  snprintf(D->source, sizeof D->source, "%s (target column %zu, %zu feature columns from %zu)",
           a->csv, a->target_col, d, a->feature_from);
  gsl_matrix_free(M);
  return 0;
}

/* Data (stream chunk 0 of the seed) and theta0 ~ N(0, I) (chunk 1). */
static int load_data(const train_args *a, train_data *D)
{
  int status = 0;
  if (a->csv) status = load_csv(a, D);
  else {
    D->X = gsl_matrix_alloc(a->n, a->d);
    D->y = gsl_vector_alloc(a->n);
    gsl_rng *r = nzk_stream_alloc(a->seed, 0);
    if (nzk_synth_sphere(r, a->noise, D->X, D->y, NULL))
      status = cli_library_error(CMD, NZK_EXIT_USAGE);
    gsl_rng_free(r);
    snprintf(D->source, sizeof D->source, "unit-sphere synthetic data (n = %zu, d = %zu, "
             "noise %g, seed %llu)", a->n, a->d, a->noise, (unsigned long long)a->seed);
  }
  if (status) return status;
  const size_t d = D->X->size2;
  D->theta0 = malloc(d * sizeof(double));
  gsl_rng *r = nzk_stream_alloc(a->seed, 1);
  for (size_t k = 0; k < d; k++) D->theta0[k] = gsl_ran_gaussian(r, 1.0);
  gsl_rng_free(r);
  return 0;
}

/* ---- methods ---------------------------------------------------------------- */

typedef struct {
  double *loss, *loss_sd; /* steps + 1; loss_sd only for ensembles with R > 1 */
  gsl_matrix *F, *F_sd;   /* nrec x n */
  double seconds;
} method_result;

typedef struct {
  const train_args *a;
  const train_data *D;
  nzk_model *model;
  nzk_scheme scheme;
  nzk_dir *z, *zeta, *gauss; /* gauss: N(0, I) for zo-best, as the authors */
  gsl_matrix *K;             /* n x n kernel of kgd (and of closed / flow with mc) */
  gsl_matrix *M;             /* p x p moment matrix: expected kernel = X M X^T */
  double K_asymmetry; /* max |K_ij - K_ji| / max |K| before symmetrising */
  method_result res[N_METHODS];
} train_ctx;

static int alloc_result(method_result *m, size_t steps, size_t nrec, size_t n, int with_sd)
{
  m->loss = malloc((steps + 1) * sizeof(double));
  m->F = gsl_matrix_alloc(nrec, n);
  if (with_sd) {
    m->loss_sd = malloc((steps + 1) * sizeof(double));
    m->F_sd = gsl_matrix_alloc(nrec, n);
  }
  if (!m->loss || !m->F || (with_sd && (!m->loss_sd || !m->F_sd)))
    return NZK_FAIL(GSL_ENOMEM, "out of memory for %zu steps", steps);
  return 0;
}

static void free_result(method_result *m)
{
  free(m->loss);
  free(m->loss_sd);
  gsl_matrix_free(m->F);
  gsl_matrix_free(m->F_sd);
}

/* fo, zo, zo-best: parameter-space runs through the trainer. */
static int run_trainer(train_ctx *c, int method)
{
  const train_args *a = c->a;
  method_result *m = &c->res[method];
  nzk_train_params par;
  nzk_train_params_default(&par);
  par.kind = method == M_FO ? NZK_STEP_FO : method == M_ZO ? NZK_STEP_ZO : NZK_STEP_ZO_BEST;
  par.scheme = c->scheme;
  par.z = method == M_ZO_BEST ? c->gauss : c->z;
  par.zeta = c->zeta;
  par.eta = a->eta;
  par.eps = a->eps;
  par.best_k = a->best_k;
  par.runaway_factor = a->runaway;
  par.seed = a->seed;
  const size_t runs = method == M_FO ? 1 : a->runs;
  nzk_trainer *t = nzk_trainer_alloc(c->model, c->D->X, c->D->y, &par);
  if (!t) return GSL_EINVAL;
  int status = nzk_trainer_ensemble(t, c->D->theta0, runs, a->steps, a->rec, a->nrec, m->loss,
                                    m->loss_sd, m->F, m->F_sd);
  nzk_trainer_free(t);
  return status;
}

/* kgd, closed, flow: function-space dynamics with the kernel c->K. */
static int run_kernel(train_ctx *c, int method)
{
  const train_args *a = c->a;
  method_result *m = &c->res[method];
  const size_t n = c->D->X->size1;
  gsl_vector *f0 = gsl_vector_alloc(n), *r0 = gsl_vector_alloc(n);
  gsl_vector_view th = gsl_vector_view_array(c->D->theta0, c->D->X->size2);
  gsl_blas_dgemv(CblasNoTrans, 1.0, c->D->X, &th.vector, 0.0, f0);
  int status;
  if (method == M_KGD) {
    status = nzk_kgd_run(c->K, a->eta, c->D->y, f0, a->steps, a->runaway, m->loss, a->rec,
                         a->nrec, m->F);
  } else {
    nzk_closed *cf = c->M ? nzk_closed_alloc_sandwich(c->D->X, c->M) : nzk_closed_alloc(c->K);
    gsl_vector_memcpy(r0, f0);
    gsl_vector_sub(r0, c->D->y);
    status = cf ? nzk_closed_set_r0(cf, r0) : GSL_EINVAL;
    if (!status)
      status = nzk_closed_run(cf, a->eta, method == M_FLOW ? NZK_EVOLVE_FLOW : NZK_EVOLVE_STEPS,
                              c->D->y, a->steps, a->runaway, m->loss, a->rec, a->nrec, m->F);
    nzk_closed_free(cf);
  }
  gsl_vector_free(f0);
  gsl_vector_free(r0);
  return status;
}

/* M of the expected kernel X M X^T: M2 (plain), M2_z M2_zeta (pair) or
 * M4 (shared) of DESIGN.md section 2, as a dense p x p matrix.  GSL_EDOM
 * when the law lacks the moment. */
static int expected_moment(const train_ctx *c, gsl_matrix *M)
{
  nzk_moment a = {0}, b = {0}, m = {0};
  int status;
  if (c->scheme == NZK_SCHEME_SHARED) status = nzk_dir_fourth_moment(c->z, &m);
  else if (c->scheme == NZK_SCHEME_PLAIN) status = nzk_dir_second_moment(c->z, &m);
  else {
    status = nzk_dir_second_moment(c->z, &a);
    if (!status) status = nzk_dir_second_moment(c->zeta ? c->zeta : c->z, &b);
    if (!status) status = nzk_moment_product(&a, &b, &m);
  }
  if (!status) status = nzk_moment_to_dense(&m, M);
  nzk_moment_free(&a);
  nzk_moment_free(&b);
  nzk_moment_free(&m);
  return status;
}

/* The kernel: expected (moment formula; closed and flow then use the
 * factored form X M X^T, dense K only for kgd) or Monte Carlo (the
 * paper's way), symmetrised when the estimate is not (pair). */
static int build_kernel(train_ctx *c)
{
  const train_args *a = c->a;
  const size_t n = c->D->X->size1, d = c->D->X->size2;
  const int mc = strcmp(a->kernel, "mc") == 0;
  if (!mc) {
    c->M = gsl_matrix_alloc(d, d);
    if (!c->M) return NZK_FAIL(GSL_ENOMEM, "out of memory for a %zu x %zu moment", d, d);
    int status = expected_moment(c, c->M);
    if (status) return status;
    if (!a->use[M_KGD]) return 0;
  }
  c->K = gsl_matrix_alloc(n, n);
  if (!c->K) return NZK_FAIL(GSL_ENOMEM, "out of memory for a %zu x %zu kernel", n, n);
  if (mc) {
    /* a seed of its own, so the draws do not reuse the data's streams */
    int status = nzk_kernel_mc(c->scheme, c->D->X, c->z, c->zeta, a->mc_draws, 256,
                               nzk_stream_seed(a->seed, 2), c->K, NULL);
    if (status) return status;
  } else if (nzk_kernel_expected(c->scheme, c->D->X, c->z, c->zeta, c->K)) {
    return GSL_EDOM;
  }
  double asym = 0.0, scale = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      double kij = gsl_matrix_get(c->K, i, j), kji = gsl_matrix_get(c->K, j, i);
      asym = fmax(asym, fabs(kij - kji));
      scale = fmax(scale, fabs(kij));
      gsl_matrix_set(c->K, i, j, 0.5 * (kij + kji));
      gsl_matrix_set(c->K, j, i, 0.5 * (kij + kji));
    }
  c->K_asymmetry = scale > 0 ? asym / scale : 0.0;
  return 0;
}

static int setup(train_ctx *c)
{
  const train_args *a = c->a;
  const size_t d = c->D->X->size2;
  nzk_law law, gauss = nzk_law_normal(1.0);
  if (nzk_scheme_parse(a->scheme, &c->scheme) || nzk_law_parse(a->law, &law))
    return cli_library_error(CMD, NZK_EXIT_USAGE);
  c->z = nzk_dir_alloc_iid(&law, d);
  c->gauss = nzk_dir_alloc_iid(&gauss, d);
  if (a->zeta_law) {
    nzk_law zl;
    if (nzk_law_parse(a->zeta_law, &zl)) return cli_library_error(CMD, NZK_EXIT_USAGE);
    c->zeta = nzk_dir_alloc_iid(&zl, d);
  }
  c->model = nzk_model_linear_alloc(d);
  if (!c->z || !c->gauss || !c->model || (a->zeta_law && !c->zeta))
    return cli_library_error(CMD, NZK_EXIT_FAIL);
  if ((c->a->use[M_KGD] || c->a->use[M_CLOSED] || c->a->use[M_FLOW]) && build_kernel(c))
    return cli_library_error(CMD, nzk_error_code() == GSL_EDOM ? NZK_EXIT_USAGE : NZK_EXIT_FAIL);
  return 0;
}

/* Run every requested method; the first failure ends the command. */
static int run_methods(train_ctx *c)
{
  const train_args *a = c->a;
  const size_t n = c->D->X->size1;
  for (int k = 0; k < N_METHODS; k++) {
    if (!a->use[k]) continue;
    int ensemble = (k == M_ZO || k == M_ZO_BEST) && a->runs > 1;
    if (alloc_result(&c->res[k], a->steps, a->nrec, n, ensemble))
      return cli_library_error(CMD, NZK_EXIT_FAIL);
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    int status = k <= M_ZO_BEST ? run_trainer(c, k) : run_kernel(c, k);
    c->res[k].seconds = (double)clock() / CLOCKS_PER_SEC - t0;
    if (status) {
      fprintf(stderr, "nzk %s: error: method %s: %s\n", CMD, method_names[k],
              nzk_error_message());
      return status == GSL_EINVAL || status == GSL_EBADLEN ? NZK_EXIT_USAGE : NZK_EXIT_FAIL;
    }
  }
  return 0;
}

/* ---- output ----------------------------------------------------------------- */

#define MAX_FILES (2 * N_METHODS + 2)

typedef struct {
  char path[MAX_FILES][4096];
  int count;
} written;

/* loss.csv: step, then a column per method (and its _sd for ensembles). */
static int write_loss(const train_ctx *c, written *w)
{
  const train_args *a = c->a;
  nzk_outfile o;
  if (nzk_path_join(w->path[w->count], sizeof w->path[0], a->out, "loss.csv") ||
      nzk_out_open(&o, w->path[w->count]))
    return GSL_EFAILED;
  fprintf(o.fp, "step");
  for (int k = 0; k < N_METHODS; k++) {
    if (a->use[k]) fprintf(o.fp, ",%s", method_names[k]);
    if (a->use[k] && c->res[k].loss_sd) fprintf(o.fp, ",%s_sd", method_names[k]);
  }
  fputc('\n', o.fp);
  for (size_t s = 0; s <= a->steps; s++) {
    fprintf(o.fp, "%zu", s);
    for (int k = 0; k < N_METHODS; k++) {
      if (a->use[k]) fprintf(o.fp, ",%.17g", c->res[k].loss[s]);
      if (a->use[k] && c->res[k].loss_sd) fprintf(o.fp, ",%.17g", c->res[k].loss_sd[s]);
    }
    fputc('\n', o.fp);
  }
  int status = nzk_out_commit(&o);
  w->count += !status;
  return status;
}

/* f_<name>.csv: i, y, f at each record step. */
static int write_records(const train_ctx *c, const gsl_matrix *F, const char *name, written *w)
{
  const train_args *a = c->a;
  const size_t n = c->D->X->size1;
  char file[64], header[64 + 24 * MAX_RECORDS];
  snprintf(file, sizeof file, "f_%s.csv", name);
  int len = snprintf(header, sizeof header, "i,y");
  for (size_t k = 0; k < a->nrec; k++)
    len += snprintf(header + len, sizeof header - (size_t)len, ",t%zu", a->rec[k]);
  gsl_matrix *M = gsl_matrix_alloc(n, 2 + a->nrec);
  if (!M) return NZK_FAIL(GSL_ENOMEM, "out of memory writing %s", file);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(M, i, 0, (double)i);
    gsl_matrix_set(M, i, 1, gsl_vector_get(c->D->y, i));
    for (size_t k = 0; k < a->nrec; k++) gsl_matrix_set(M, i, 2 + k, gsl_matrix_get(F, k, i));
  }
  int status = nzk_path_join(w->path[w->count], sizeof w->path[0], a->out, file);
  if (!status) status = nzk_csv_write_matrix(w->path[w->count], header, M);
  w->count += !status;
  gsl_matrix_free(M);
  return status;
}

static json_t *params_json(const train_ctx *c)
{
  const train_args *a = c->a;
  json_t *p = json_object(), *rec = json_array(), *meth = json_array();
  for (size_t k = 0; k < a->nrec; k++)
    json_array_append_new(rec, json_integer((json_int_t)a->rec[k]));
  for (int k = 0; k < N_METHODS; k++)
    if (a->use[k]) json_array_append_new(meth, json_string(method_names[k]));
  json_object_set_new(p, "methods", meth);
  json_object_set_new(p, "scheme", json_string(nzk_scheme_name(c->scheme)));
  json_object_set_new(p, "law", json_string(a->law));
  json_object_set_new(p, "zeta_law", a->zeta_law ? json_string(a->zeta_law) : json_null());
  json_object_set_new(p, "eta", json_real(a->eta));
  json_object_set_new(p, "eps", json_real(a->eps));
  json_object_set_new(p, "steps", json_integer((json_int_t)a->steps));
  json_object_set_new(p, "runs", json_integer((json_int_t)a->runs));
  json_object_set_new(p, "best_k", json_integer((json_int_t)a->best_k));
  json_object_set_new(p, "kernel", json_string(a->kernel));
  json_object_set_new(p, "mc_draws", json_integer((json_int_t)a->mc_draws));
  json_object_set_new(p, "runaway_factor", json_real(a->runaway));
  json_object_set_new(p, "seed", json_integer((json_int_t)a->seed));
  json_object_set_new(p, "record_steps", rec);
  return p;
}

/* Spectrum of the kernel (min, max eigenvalue) and the step-size limits it
 * implies for kernel GD: 2n / lambda_max. */
static json_t *kernel_json(const train_ctx *c)
{
  if (!c->K && !c->M) return json_null();
  const size_t n = c->D->X->size1;
  json_t *k = json_object();
  nzk_closed *cf = c->M ? nzk_closed_alloc_sandwich(c->D->X, c->M) : nzk_closed_alloc(c->K);
  if (cf) {
    const gsl_vector *lam = nzk_closed_eigenvalues(cf);
    const double lmax = gsl_vector_get(lam, lam->size - 1);
    json_object_set_new(k, "source", json_string(c->M ? "expected" : "monte carlo"));
    json_object_set_new(k, "modes", json_integer((json_int_t)nzk_closed_modes(cf)));
    json_object_set_new(k, "lambda_min", nzk_json_real(lam->size < n ? 0.0
                                                       : gsl_vector_get(lam, 0)));
    json_object_set_new(k, "lambda_max", nzk_json_real(lmax));
    json_object_set_new(k, "eta_mean_stability", nzk_json_real(2.0 * (double)n / lmax));
    nzk_closed_free(cf);
  }
  json_object_set_new(k, "asymmetry_removed", nzk_json_real(c->K_asymmetry));
  return k;
}

static json_t *results_json(const train_ctx *c)
{
  const train_args *a = c->a;
  json_t *r = json_object();
  for (int k = 0; k < N_METHODS; k++) {
    if (!a->use[k]) continue;
    json_t *m = json_object();
    json_object_set_new(m, "loss_initial", nzk_json_real(c->res[k].loss[0]));
    json_object_set_new(m, "loss_final", nzk_json_real(c->res[k].loss[a->steps]));
    if (c->res[k].loss_sd)
      json_object_set_new(m, "loss_final_sd", nzk_json_real(c->res[k].loss_sd[a->steps]));
    json_object_set_new(m, "cpu_seconds", json_real(c->res[k].seconds));
    json_object_set_new(r, method_names[k], m);
  }
  return r;
}

static int write_summary(const train_ctx *c, written *w)
{
  json_t *doc = json_object(), *files = json_array();
  json_object_set_new(doc, "command", json_string("nzk train"));
  json_object_set_new(doc, "model", json_string("linear f = X theta"));
  json_object_set_new(doc, "data", json_string(c->D->source));
  json_object_set_new(doc, "n", json_integer((json_int_t)c->D->X->size1));
  json_object_set_new(doc, "d", json_integer((json_int_t)c->D->X->size2));
  json_object_set_new(doc, "parameters", params_json(c));
  json_object_set_new(doc, "kernel", kernel_json(c));
  json_object_set_new(doc, "results", results_json(c));
  for (int k = 0; k < w->count; k++) {
    const char *slash = strrchr(w->path[k], '/');
    json_array_append_new(files, json_string(slash ? slash + 1 : w->path[k]));
  }
  json_object_set_new(doc, "files", files);
  int status = nzk_path_join(w->path[w->count], sizeof w->path[0], c->a->out, "summary.json");
  if (!status) status = nzk_json_write(w->path[w->count], doc);
  w->count += !status;
  json_decref(doc);
  return status;
}

/* Remove every file a previous train run may have left in dir (this
 * command's own names only, summary.json first so the folder never looks
 * complete meanwhile), so a rerun with fewer methods leaves no stale
 * f_<method>.csv behind. */
static void remove_previous(const char *dir)
{
  char path[4096], file[64];
  if (!nzk_path_join(path, sizeof path, dir, "summary.json")) remove(path);
  if (!nzk_path_join(path, sizeof path, dir, "loss.csv")) remove(path);
  for (int k = 0; k < N_METHODS; k++)
    for (int sd = 0; sd < 2; sd++) {
      snprintf(file, sizeof file, "f_%s%s.csv", method_names[k], sd ? "_sd" : "");
      if (!nzk_path_join(path, sizeof path, dir, file)) remove(path);
    }
}

/* All files, summary.json last; on failure remove what was written. */
static int write_outputs(const train_ctx *c)
{
  written w = {.count = 0};
  int status = nzk_mkdir_p(c->a->out);
  if (!status) remove_previous(c->a->out);
  if (!status) status = write_loss(c, &w);
  for (int k = 0; k < N_METHODS && !status; k++) {
    if (!c->a->use[k]) continue;
    char sd[32];
    status = write_records(c, c->res[k].F, method_names[k], &w);
    snprintf(sd, sizeof sd, "%s_sd", method_names[k]);
    if (!status && c->res[k].F_sd) status = write_records(c, c->res[k].F_sd, sd, &w);
  }
  if (!status) status = write_summary(c, &w);
  if (status)
    for (int k = 0; k < w.count; k++) remove(w.path[k]);
  return status;
}

int cmd_train(int argc, char **argv)
{
  train_args a;
  int code = parse_args(argc, argv, &a);
  if (code < 0) {
    usage(stdout);
    return NZK_EXIT_OK;
  }
  if (code) return code;
  train_data D = {0};
  train_ctx c = {.a = &a, .D = &D};
  /* A rerun that fails must not leave the previous run's files looking like
   * its own result: clear them before any work, not just before writing. */
  remove_previous(a.out);
  code = load_data(&a, &D);
  if (!code) code = setup(&c);
  if (!code) code = run_methods(&c);
  if (!code && write_outputs(&c)) code = cli_library_error(CMD, NZK_EXIT_FAIL);
  for (int k = 0; !code && k < N_METHODS; k++)
    if (a.use[k])
      printf("%-8s loss %.6g -> %.6g (%.3g s)\n", method_names[k], c.res[k].loss[0],
             c.res[k].loss[a.steps], c.res[k].seconds);
  if (!code) printf("wrote %s/{loss.csv, f_*.csv, summary.json}\n", a.out);
  for (int k = 0; k < N_METHODS; k++) free_result(&c.res[k]);
  nzk_dir_free(c.z);
  nzk_dir_free(c.zeta);
  nzk_dir_free(c.gauss);
  nzk_model_free(c.model);
  gsl_matrix_free(c.K);
  gsl_matrix_free(c.M);
  data_free(&D);
  return code;
}
