/* cmd_kernel.c: `nzk kernel`, theorem T1 on one configuration.
 *
 * Takes features (the unit-sphere synthetic set of DESIGN.md section 5, or
 * a CSV matrix), uses them as the Jacobian J of a linear model (J = X),
 * estimates the expected kernel of a ZO scheme by Monte Carlo and compares
 * it with its moment formula (nzk_check_kernel, DESIGN.md sections 2-4).
 * Writes into the output folder estimate.csv, formula.csv, se.csv and
 * result.json (written last: its presence marks a complete run), and a
 * one-paragraph summary on stdout.  Every option is validated and every
 * number computed before the first file is written; a failure while
 * writing removes what this run wrote. */
#include "cli.h"
#include "data_synth.h"
#include "kernel.h"
#include "law.h"
#include "nzk_error.h"
#include "report_io.h"
#include "rng_stream.h"
#include "stats_check.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "kernel"
/* Guards against a typo allocating the machine away: n x n matrices. */
#define MAX_N 5000
#define MAX_P 10000000
/* ... and a typo in --draws running for days (10^9 draws of n = 100,
 * p = 50 take hours). */
#define MAX_DRAWS 1000000000

/* The synthetic features use their own stream, far from the draw chunks. */
#define FEATURE_CHUNK UINT64_C(0xfeed000000000000)

typedef struct {
  size_t n, d, draws, batch;
  int have_n, have_d, have_mean, have_zeta;
  uint64_t seed;
  double alpha, mean, perturb;
  const char *features, *out;
  nzk_scheme scheme;
  nzk_law law, zeta;
} kernel_opts;

static void usage(FILE *out)
{
  fprintf(out,
    "usage: nzk kernel --out DIR [options]\n\n"
    "Estimates the expected zeroth-order kernel E K of a scheme by Monte Carlo on\n"
    "the features of a linear model (J = X) and tests it against its moment\n"
    "formula (theorem T1): entry-wise z-scores, Bonferroni, family-wise alpha.\n\n"
    "features (default: synthetic unit-sphere set, n = 100, d = 50):\n"
    "  --n N            number of examples of the synthetic set\n"
    "  --d D            input dimension (= number of parameters p)\n"
    "  --features FILE  CSV matrix, one example per row (then --n/--d must match)\n"
    "directions and draws:\n"
    "  --scheme NAME    plain, pair (independent) or shared (default shared)\n"
    "  --law SPEC       entry law, e.g. normal, laplace:scale=0.5,\n"
    "                   t:nu=10,scale=0.5, rademacher, uniform:scale=2\n"
    "                   (default normal:scale=1)\n"
    "  --mean M         mean shift of every entry (overrides the law's mean=)\n"
    "  --zeta SPEC      law of the second direction, pair scheme only\n"
    "                   (default: the law of z)\n"
    "  --draws S        Monte Carlo draws, 2 to 10^9 (default 10000); below\n"
    "                   1000 the verdict is \"not testable\" (too few draws for\n"
    "                   the normal approximation of the z-test)\n"
    "  --batch B        draws per BLAS batch and random-stream chunk (default 256)\n"
    "  --seed N         seed of the features and the draws (default 1, or NZK_SEED)\n"
    "  --alpha A        family-wise level in (0, 1) (default 1e-4)\n"
    "  --perturb F      negative control (F > -1): test against (1 + F) x formula,\n"
    "                   which must be rejected once S is large enough (default 0)\n"
    "output:\n"
    "  --out DIR        folder for estimate.csv, formula.csv, se.csv, result.json\n\n"
    "Exit status: 0 when the verdict is pass, undefined or not testable; 1 when it\n"
    "is fail or a file cannot be written; 2 for bad options or bad input.\n");
}

/* Parse one option value into o; nonzero (after one error line) if bad. */
static int set_option(kernel_opts *o, int c, const char *v)
{
  switch (c) {
  case 'n': o->have_n = 1; return cli_parse_size(CMD, "n", v, &o->n);
  case 'd': o->have_d = 1; return cli_parse_size(CMD, "d", v, &o->d);
  case 'f': o->features = v; return 0;
  case 'S': return cli_parse_size(CMD, "draws", v, &o->draws);
  case 'B': return cli_parse_size(CMD, "batch", v, &o->batch);
  case 's': return cli_parse_seed(CMD, v, &o->seed);
  case 'a': return cli_parse_double(CMD, "alpha", v, &o->alpha);
  case 'p': return cli_parse_double(CMD, "perturb", v, &o->perturb);
  case 'm': o->have_mean = 1; return cli_parse_double(CMD, "mean", v, &o->mean);
  case 'o': o->out = v; return 0;
  case 'c':
    if (nzk_scheme_parse(v, &o->scheme)) return cli_usage_error(CMD, "--scheme: %s",
                                                                nzk_error_message());
    return 0;
  case 'l':
    if (nzk_law_parse(v, &o->law)) return cli_usage_error(CMD, "--law: %s", nzk_error_message());
    return 0;
  case 'z':
    o->have_zeta = 1;
    if (nzk_law_parse(v, &o->zeta)) return cli_usage_error(CMD, "--zeta: %s", nzk_error_message());
    return 0;
  }
  return 1;
}

/* Ranges and combinations, after every option has been read. */
static int check_options(kernel_opts *o)
{
  if (!o->out) return cli_usage_error(CMD, "--out DIR is required");
  if (o->draws < 2 || o->draws > MAX_DRAWS)
    return cli_usage_error(CMD, "--draws must lie in [2, %d], got %zu", MAX_DRAWS, o->draws);
  if (!(o->perturb > -1))
    return cli_usage_error(CMD, "--perturb must be above -1 (the formula is scaled by 1 + F), "
                           "got %g", o->perturb);
  if (o->batch < 1) return cli_usage_error(CMD, "--batch must be at least 1");
  if (!(o->alpha > 0 && o->alpha < 1))
    return cli_usage_error(CMD, "--alpha must lie in (0, 1), got %g", o->alpha);
  if (o->have_zeta && o->scheme != NZK_SCHEME_PAIR)
    return cli_usage_error(CMD, "--zeta applies to the pair scheme only (scheme is %s)",
                           nzk_scheme_name(o->scheme));
  if ((o->have_n && (o->n < 1 || o->n > MAX_N)) || (o->have_d && (o->d < 1 || o->d > MAX_P)))
    return cli_usage_error(CMD, "--n must lie in [1, %d] and --d in [1, %d]", MAX_N, MAX_P);
  if (o->have_mean) {
    o->law.mean = o->mean;
    if (!o->have_zeta) o->zeta.mean = o->mean;
  }
  if (!o->have_zeta) o->zeta = o->law;
  if (nzk_law_validate(&o->law)) return cli_usage_error(CMD, "--law: %s", nzk_error_message());
  return 0;
}

static int parse_options(int argc, char **argv, kernel_opts *o)
{
  static const struct option longs[] = {
    {"n", required_argument, 0, 'n'},       {"d", required_argument, 0, 'd'},
    {"features", required_argument, 0, 'f'}, {"scheme", required_argument, 0, 'c'},
    {"law", required_argument, 0, 'l'},     {"mean", required_argument, 0, 'm'},
    {"zeta", required_argument, 0, 'z'},    {"draws", required_argument, 0, 'S'},
    {"batch", required_argument, 0, 'B'},   {"seed", required_argument, 0, 's'},
    {"alpha", required_argument, 0, 'a'},   {"out", required_argument, 0, 'o'},
    {"perturb", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
  };
  *o = (kernel_opts){.n = 100, .d = 50, .draws = 10000, .batch = 256, .alpha = 1e-4,
                     .seed = nzk_stream_default_seed(1), .scheme = NZK_SCHEME_SHARED,
                     .law = nzk_law_normal(1.0)};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return -1;
    }
    if (c == ':') return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
    if (c == '?') return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
    if (set_option(o, c, optarg)) return NZK_EXIT_USAGE;
  }
  if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
  return check_options(o);
}

/* J = X: the CSV matrix, or the synthetic sphere set.  *J allocated. */
static int load_features(kernel_opts *o, gsl_matrix **J)
{
  *J = NULL;
  if (o->features) {
    if (nzk_csv_read_matrix(o->features, J)) return cli_library_error(CMD, NZK_EXIT_USAGE);
    size_t rows = (*J)->size1, cols = (*J)->size2;
    if ((o->have_n && o->n != rows) || (o->have_d && o->d != cols)) {
      gsl_matrix_free(*J);
      *J = NULL;
      return cli_usage_error(CMD, "%s is %zu x %zu but --n %zu / --d %zu were given",
                             o->features, rows, cols, o->have_n ? o->n : rows,
                             o->have_d ? o->d : cols);
    }
    if (rows > MAX_N || cols > MAX_P) {
      gsl_matrix_free(*J);
      *J = NULL;
      return cli_usage_error(CMD, "%s is %zu x %zu, above the limit of %d rows and %d columns",
                             o->features, rows, cols, MAX_N, MAX_P);
    }
    o->n = rows;
    o->d = cols;
    return 0;
  }
  gsl_rng *r = nzk_stream_alloc(o->seed, FEATURE_CHUNK);
  gsl_vector *y = gsl_vector_alloc(o->n);
  *J = gsl_matrix_alloc(o->n, o->d);
  int status = (r && y && *J) ? nzk_synth_sphere(r, 0.05, *J, y, NULL)
                              : NZK_FAIL(GSL_ENOMEM, "out of memory for %zu x %zu features",
                                         o->n, o->d);
  if (r) gsl_rng_free(r);
  gsl_vector_free(y);
  if (status) {
    gsl_matrix_free(*J);
    *J = NULL;
    return cli_library_error(CMD, NZK_EXIT_FAIL);
  }
  return 0;
}

typedef struct {
  gsl_matrix *J, *est, *se, *formula;
  nzk_dir *z, *zeta;
  nzk_check_result res;
  double elapsed_s;
} kernel_run;

static void run_free(kernel_run *r)
{
  gsl_matrix_free(r->J);
  gsl_matrix_free(r->est);
  gsl_matrix_free(r->se);
  gsl_matrix_free(r->formula);
  nzk_dir_free(r->z);
  nzk_dir_free(r->zeta);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything that can fail before writing: features, laws, estimate. */
static int compute(kernel_opts *o, kernel_run *r)
{
  int code = load_features(o, &r->J);
  if (code) return code;
  const size_t n = o->n, p = o->d;
  r->z = nzk_dir_alloc_iid(&o->law, p);
  r->zeta = o->scheme == NZK_SCHEME_PAIR ? nzk_dir_alloc_iid(&o->zeta, p) : NULL;
  r->est = gsl_matrix_alloc(n, n);
  r->se = gsl_matrix_alloc(n, n);
  r->formula = gsl_matrix_alloc(n, n);
  if (!r->est || !r->se || !r->formula)
    NZK_FAIL(GSL_ENOMEM, "out of memory for three %zu x %zu kernels", n, n);
  if (!r->z || (o->scheme == NZK_SCHEME_PAIR && !r->zeta) || !r->est || !r->se || !r->formula)
    return cli_library_error(CMD, NZK_EXIT_FAIL);
  double t0 = now_s();
  if (nzk_check_kernel(o->scheme, r->J, r->z, r->zeta, o->draws, o->batch, o->seed, o->alpha,
                       r->est, r->se, r->formula, &r->res))
    /* GSL_ERANGE: this law and these features leave double precision, an
     * input the user must change (exit 2); anything else failed (exit 1). */
    return cli_library_error(CMD, nzk_error_code() == GSL_ERANGE ? NZK_EXIT_USAGE
                                                                  : NZK_EXIT_FAIL);
  r->elapsed_s = now_s() - t0;
  const nzk_verdict v = r->res.verdict;
  if (o->perturb != 0.0 && (v == NZK_VERDICT_PASS || v == NZK_VERDICT_FAIL)) {
    gsl_matrix_scale(r->formula, 1.0 + o->perturb);
    nzk_check_zscores(r->est, r->se, r->formula, o->scheme != NZK_SCHEME_PAIR, o->alpha, &r->res);
  }
  return 0;
}

static const char *formula_text(nzk_scheme scheme)
{
  return scheme == NZK_SCHEME_SHARED ? "J M4 J^T, M4 = E[(z.z) z z^T]"
         : scheme == NZK_SCHEME_PAIR ? "J M2_z M2_zeta J^T" : "J M2 J^T, M2 = E[z z^T]";
}

static json_t *result_json(const kernel_opts *o, const kernel_run *r, json_t *files)
{
  const nzk_check_result *c = &r->res;
  char law[200], zeta[200];
  nzk_law_format(&o->law, law, sizeof law);
  nzk_law_format(&o->zeta, zeta, sizeof zeta);
  int tested = c->verdict == NZK_VERDICT_PASS || c->verdict == NZK_VERDICT_FAIL;

  json_t *params = json_pack("{s:s, s:s, s:s?, s:I, s:I}", "scheme", nzk_scheme_name(o->scheme),
                             "law", law, "zeta_law", o->scheme == NZK_SCHEME_PAIR ? zeta : NULL,
                             "n", (json_int_t)o->n, "p", (json_int_t)o->d);
  json_object_set_new(params, "features",
                      o->features ? json_string(o->features)
                                  : json_string("synthetic unit-sphere set (DESIGN.md 5)"));
  json_object_set_new(params, "draws", json_integer((json_int_t)o->draws));
  json_object_set_new(params, "batch", json_integer((json_int_t)o->batch));
  json_object_set_new(params, "seed", json_integer((json_int_t)o->seed));
  json_object_set_new(params, "alpha", json_real(o->alpha));
  json_object_set_new(params, "perturb", json_real(o->perturb));
  json_t *doc = json_pack("{s:s, s:s, s:s}", "command", "nzk kernel", "theorem",
                          "T1: Monte Carlo E K equals its moment formula", "verdict",
                          nzk_verdict_name(c->verdict));
  json_object_set_new(doc, "statistic", tested ? nzk_json_real(c->statistic) : json_null());
  json_object_set_new(doc, "statistic_name", json_string("max |z| over distinct entries"));
  json_object_set_new(doc, "threshold", tested ? nzk_json_real(c->threshold) : json_null());
  json_object_set_new(doc, "n_tests", json_integer((json_int_t)c->n_tests));
  json_object_set_new(doc, "worst_entry",
                      tested ? json_pack("[I, I]", (json_int_t)c->worst_i, (json_int_t)c->worst_j)
                             : json_null());
  json_object_set_new(doc, "rel_frobenius", tested ? nzk_json_real(c->rel_frobenius) : json_null());
  json_object_set_new(doc, "reason", json_string(c->reason));
  json_object_set_new(doc, "formula", json_string(formula_text(o->scheme)));
  if (o->perturb != 0.0)
    json_object_set_new(doc, "formula_scaled_by", json_real(1.0 + o->perturb));
  json_object_set_new(doc, "parameters", params);
  json_object_set_new(doc, "elapsed_s", json_real(r->elapsed_s));
  json_object_set_new(doc, "files", files);
  return doc;
}

/* Remove this command's outputs from a previous run (result.json first,
 * so the folder never looks complete while it is being rewritten). */
static void remove_outputs(const char *dir)
{
  static const char *names[] = {"result.json", "estimate.csv", "formula.csv", "se.csv"};
  char path[4096];
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (!nzk_path_join(path, sizeof path, dir, names[k])) unlink(path);
}

/* Write the CSV files that have meaning for this verdict, then result.json. */
static int write_outputs(const kernel_opts *o, const kernel_run *r)
{
  const nzk_verdict v = r->res.verdict;
  const struct { const char *name; const gsl_matrix *M; int keep; } csv[] = {
    {"estimate.csv", r->est, 1},
    {"formula.csv", r->formula, v != NZK_VERDICT_UNDEFINED},
    {"se.csv", r->se, v == NZK_VERDICT_PASS || v == NZK_VERDICT_FAIL},
  };
  char path[4096];
  if (nzk_mkdir_p(o->out)) return 1;
  remove_outputs(o->out);
  json_t *files = json_array();
  for (size_t k = 0; k < 3; k++) {
    if (!csv[k].keep) continue;
    if (nzk_path_join(path, sizeof path, o->out, csv[k].name) ||
        nzk_csv_write_matrix(path, NULL, csv[k].M))
      goto fail;
    json_array_append_new(files, json_string(csv[k].name));
  }
  json_array_append_new(files, json_string("result.json"));
  json_t *doc = result_json(o, r, files);
  int status = nzk_path_join(path, sizeof path, o->out, "result.json") ||
               nzk_json_write(path, doc);
  json_decref(doc);
  if (!status) return 0;
  remove_outputs(o->out);
  return 1;

fail:
  json_decref(files);
  remove_outputs(o->out);
  return 1;
}

static void print_summary(const kernel_opts *o, const kernel_run *r)
{
  const nzk_check_result *c = &r->res;
  char law[200], feat[300];
  nzk_law_format(&o->law, law, sizeof law);
  if (o->features) snprintf(feat, sizeof feat, "the %zu x %zu features of %s", o->n, o->d,
                            o->features);
  else snprintf(feat, sizeof feat, "%zu synthetic unit-sphere features in d = %zu", o->n, o->d);
  printf("T1, %s scheme: the Monte Carlo kernel of %s under %s directions, over S = %zu draws "
         "(batches of %zu, seed %llu, %.2f s), against the moment formula %s. ",
         nzk_scheme_name(o->scheme), feat, law, o->draws, o->batch, (unsigned long long)o->seed,
         r->elapsed_s, formula_text(o->scheme));
  if (o->perturb != 0.0)
    printf("The formula was scaled by %g (negative control). ", 1 + o->perturb);
  if (c->verdict == NZK_VERDICT_PASS || c->verdict == NZK_VERDICT_FAIL)
    printf("Verdict: %s, max |z| = %.3g %s %.3g over %zu distinct entries at family-wise alpha = "
           "%g (entry %zu,%zu; relative Frobenius error %.3g). ",
           c->verdict == NZK_VERDICT_PASS ? "PASS" : "FAIL", c->statistic,
           c->verdict == NZK_VERDICT_PASS ? "<=" : ">", c->threshold, c->n_tests, c->alpha,
           c->worst_i, c->worst_j, c->rel_frobenius);
  else
    printf("Verdict: %s (%s); no z-test was run. ", nzk_verdict_name(c->verdict), c->reason);
  printf("Results in %s/ (result.json lists the files).\n", o->out);
}

int cmd_kernel(int argc, char **argv)
{
  kernel_opts o;
  int code = parse_options(argc, argv, &o);
  if (code) return code < 0 ? NZK_EXIT_OK : code;

  kernel_run r = {0};
  code = compute(&o, &r);
  if (!code && write_outputs(&o, &r)) code = cli_library_error(CMD, NZK_EXIT_FAIL);
  if (!code) {
    print_summary(&o, &r);
    code = r.res.verdict == NZK_VERDICT_FAIL ? NZK_EXIT_FAIL : NZK_EXIT_OK;
  }
  run_free(&r);
  return code;
}
