/* cmd_network.c: `nzk network`, MLPs trained by FO and by ZO in parameter
 * space (forward passes only), side by side with their linearization
 * (DESIGN.md section 3, T4; section 5, the FFN synthetic experiment), and
 * `nzk network --sweep-width`, the T4 width sweep.  The work is done by
 * the library (model_mlp.h, model_linearized.h, network.h, train.h,
 * dynamics.h); this file parses options, calls it and writes files.
 * Everything is computed first; files are written only when every run
 * finished, summary.json last, and a failure removes what was written, so
 * a diverged or failed run leaves no results behind (exit 1).
 *
 * Outputs of a single run in --out DIR (CSV with one header line):
 *   trajectory.csv        step, then per method <m>_loss_full, <m>_loss_lin,
 *                         <m>_gap, <m>_drift (and <m>_loss_kgd)
 *   f_<m>_<model>.csv     i, y, f at each record step (columns t<step>);
 *                         model full, lin or kgd
 *   kernel_<m>_start.csv  the method's kernel (NTK for fo, expected NZK
 *   kernel_<m>_end.csv    otherwise) of the trained model at theta0 / end
 *   summary.json          parameters, data, p, final figures, files
 * Outputs of --sweep-width:
 *   sweep.csv             one row per (width, param, seed, method)
 *   sweep_fit.csv         log-log slopes of gap and drift with their se
 *   gap_<param>.csv       width, then the geometric mean over seeds per
 *   drift_<param>.csv     method (the input of reports/width_sweep.gp)
 *   summary.json */
#include "cli.h"
#include "data_synth.h"
#include "dynamics.h"
#include "model_linearized.h"
#include "model_mlp.h"
#include "network.h"
#include "nzk_error.h"
#include "report_io.h"
#include "rng_stream.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#include <unistd.h>

static const char *const CMD = "network";

#define UNSET_Z ((size_t)-1)
#define MAX_FILES 64

typedef struct {
  const char *out, *widths, *activation, *param, *linearize, *train, *methods, *law;
  const char *eta_policy, *preset, *csv, *sweep_widths, *params;
  int normalise, eta_relative, kernel_gd, sweep;
  size_t n, d, steps, record_every, mc_draws, target_col, feature_from, depth, seeds;
  double noise, eta, eps, runaway;
  uint64_t seed;
} net_args;

static void usage(FILE *out)
{
  fprintf(out,
    "usage: nzk network --out DIR [--widths LIST] [--activation relu|tanh]\n"
    "         [--param standard|ntk] [--linearize none|offset|paper] [--normalise-rows]\n"
    "         [--train both|full|lin] [--methods LIST] [--eta E] [--eta-relative]\n"
    "         [--eta-policy matched|same] [--steps T] [--eps H] [--record-every K]\n"
    "         [--law SPEC] [--kernel-gd [--mc-draws S]] [--runaway F] [--seed S]\n"
    "         [--n N --noise SD | --csv FILE [--target-col K] [--feature-from M]]\n"
    "       nzk network --sweep-width --out DIR [--sweep-widths LIST] [--depth L]\n"
    "         [--params LIST] [--seeds R] [--d D] (and the training options)\n"
    "       nzk network --preset ffn-synthetic --out DIR\n\n"
    "Trains an MLP (--widths input,hidden...,1; default 2,16,16,1) by FO and ZO in\n"
    "parameter space (--methods from fo, plain, pair, shared; default fo,plain,shared)\n"
    "next to its linearization f0 + J0 (theta - theta0) (offset, the default) or the\n"
    "paper code's J0 theta (paper), and records losses, the function gap\n"
    "|f_full - f_lin| / |f_lin - y| and the kernel drift |K_t - K_0|_F / |K_0|_F.\n"
    "--train full or lin trains one model only.  --normalise-rows divides each\n"
    "Jacobian row of the linearization by its norm.  --kernel-gd adds kernel GD\n"
    "f <- f - (eta/n) K (f - y) from the linearization's start with each method's\n"
    "kernel (the expected NZK, or its Monte Carlo estimate from --mc-draws draws).\n"
    "Step sizes: --eta (default 1e-3), times n / tr(NTK at theta0) with\n"
    "--eta-relative; per method by --eta-policy: matched (default) gives plain\n"
    "eta / E z^2 and pair, shared eta / D (README); same gives every method eta.\n"
    "Data: unit-sphere points (--n 100, d = the input width, --noise 0.05) or\n"
    "--csv FILE (target --target-col 0, features from --feature-from 0).\n"
    "--sweep-width trains d-w-...-w-1 networks (--depth 2 hidden layers) for each\n"
    "w in --sweep-widths (default 16,64,256,1024), --params (standard,ntk), --seeds\n"
    "(3) and method; defaults there: --n 32 --d 2 --steps 200 --eta 0.01\n"
    "--eta-relative.  Memory: about three n x p Jacobians (p = 1.05e6 at width 1024:\n"
    "270 MB each for n = 32).\n"
    "--preset ffn-synthetic: DESIGN.md section 5, 2-5-5-1 ReLU, standard init,\n"
    "paper linearization with normalised rows trained alone, fo and shared at\n"
    "eta 1e-3 (policy same), 16000 steps, n = 150, kernel GD with the NTK and the\n"
    "Monte Carlo NZK of 10000 draws.  Options given explicitly override a preset.\n");
}

/* ---- option parsing ---------------------------------------------------- */

static const cli_opt opts[] = {
  {"out", 's', offsetof(net_args, out)},          {"widths", 's', offsetof(net_args, widths)},
  {"activation", 's', offsetof(net_args, activation)},
  {"param", 's', offsetof(net_args, param)},      {"linearize", 's', offsetof(net_args, linearize)},
  {"train", 's', offsetof(net_args, train)},      {"methods", 's', offsetof(net_args, methods)},
  {"law", 's', offsetof(net_args, law)},
  {"eta-policy", 's', offsetof(net_args, eta_policy)},
  {"preset", 's', offsetof(net_args, preset)},    {"csv", 's', offsetof(net_args, csv)},
  {"sweep-widths", 's', offsetof(net_args, sweep_widths)},
  {"params", 's', offsetof(net_args, params)},    {"n", 'z', offsetof(net_args, n)},
  {"d", 'z', offsetof(net_args, d)},              {"steps", 'z', offsetof(net_args, steps)},
  {"record-every", 'z', offsetof(net_args, record_every)},
  {"mc-draws", 'z', offsetof(net_args, mc_draws)},
  {"target-col", 'z', offsetof(net_args, target_col)},
  {"feature-from", 'z', offsetof(net_args, feature_from)},
  {"depth", 'z', offsetof(net_args, depth)},      {"seeds", 'z', offsetof(net_args, seeds)},
  {"noise", 'd', offsetof(net_args, noise)},      {"eta", 'd', offsetof(net_args, eta)},
  {"eps", 'd', offsetof(net_args, eps)},          {"runaway", 'd', offsetof(net_args, runaway)},
  {"seed", 'u', offsetof(net_args, seed)},
};

static int parse_flag(const char *arg, net_args *a)
{
  struct { const char *flag; int *dst; } f[] = {
    {"--normalise-rows", &a->normalise}, {"--eta-relative", &a->eta_relative},
    {"--kernel-gd", &a->kernel_gd},      {"--sweep-width", &a->sweep},
  };
  for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
    if (strcmp(arg, f[k].flag) == 0) {
      *f[k].dst = 1;
      return 1;
    }
  return 0;
}

/* Fill what the user left unset: preset first, then the mode's defaults. */
static int apply_defaults(net_args *a)
{
  if (a->preset) {
    if (strcmp(a->preset, "ffn-synthetic") != 0)
      return cli_usage_error(CMD, "unknown --preset '%s' (expected ffn-synthetic)", a->preset);
    if (!a->widths) a->widths = "2,5,5,1";
    if (!a->linearize) a->linearize = "paper";
    if (!a->train) a->train = "lin";
    if (!a->methods) a->methods = "fo,shared";
    if (!a->eta_policy) a->eta_policy = "same";
    if (a->n == UNSET_Z) a->n = 150;
    if (a->steps == UNSET_Z) a->steps = 16000;
    if (a->mc_draws == UNSET_Z) a->mc_draws = 10000;
    a->normalise = a->kernel_gd = 1;
  }
  const int sw = a->sweep;
  if (!a->widths) a->widths = "2,16,16,1";
  if (!a->activation) a->activation = "relu";
  if (!a->param) a->param = "standard";
  if (!a->linearize) a->linearize = "offset";
  if (!a->methods) a->methods = sw ? "fo,plain,pair,shared" : "fo,plain,shared";
  if (!a->law) a->law = "normal:scale=1";
  if (!a->eta_policy) a->eta_policy = "matched";
  if (!a->sweep_widths) a->sweep_widths = "16,64,256,1024";
  if (!a->params) a->params = "standard,ntk";
  if (a->n == UNSET_Z) a->n = sw ? 32 : 100;
  if (a->d == UNSET_Z) a->d = 2;
  if (a->steps == UNSET_Z) a->steps = sw ? 200 : 1000;
  if (a->mc_draws == UNSET_Z) a->mc_draws = 0;
  if (a->depth == UNSET_Z) a->depth = 2;
  if (a->seeds == UNSET_Z) a->seeds = 3;
  if (isnan(a->eta)) a->eta = sw ? 0.01 : 1e-3;
  if (sw) a->eta_relative = 1;
  if (!a->train) a->train = strcmp(a->linearize, "none") ? "both" : "full";
  if (a->record_every == UNSET_Z) a->record_every = a->steps >= 100 ? a->steps / 100 : 1;
  return 0;
}

static int parse_args(int argc, char **argv, net_args *a)
{
  memset(a, 0, sizeof *a);
  a->n = a->d = a->steps = a->record_every = a->mc_draws = UNSET_Z;
  a->depth = a->seeds = UNSET_Z;
  a->noise = 0.05;
  a->eta = NAN;
  a->eps = 1e-3;
  a->runaway = 1e4;
  a->seed = nzk_stream_default_seed(0);
  for (int i = 1; i < argc; i++) {
    int bad = 0;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return -1;
    size_t which;
    if (!parse_flag(argv[i], a) &&
        !cli_parse_table(CMD, opts, sizeof opts / sizeof opts[0], argc, argv, &i, a, &which,
                         &bad))
      return cli_usage_error(CMD, "unknown option '%s'", argv[i]);
    if (bad) return NZK_EXIT_USAGE;
  }
  if (!a->out) return cli_usage_error(CMD, "--out DIR is required");
  if (!a->sweep && (a->sweep_widths || a->params || a->depth != UNSET_Z || a->seeds != UNSET_Z))
    return cli_usage_error(CMD, "--sweep-widths, --params, --depth and --seeds apply to "
                           "--sweep-width only");
  if (apply_defaults(a)) return NZK_EXIT_USAGE;
  if (a->n == 0 || a->d == 0 || a->steps == 0 || a->seeds == 0 || a->record_every == 0)
    return cli_usage_error(CMD, "--n, --d, --steps, --seeds and --record-every must be positive");
  if (!(a->eta > 0) || !(a->eps > 0) || !(a->runaway > 1) || a->noise < 0)
    return cli_usage_error(CMD, "--eta and --eps must be positive, --runaway > 1, --noise >= 0");
  if (a->mc_draws == 1) return cli_usage_error(CMD, "--mc-draws must be 0 (expected) or >= 2");
  return 0;
}

/* ---- choices ------------------------------------------------------------ */

typedef struct {
  nzk_mlp_spec spec;
  int lin_none, train_full, train_lin;
  nzk_lin_variant variant;
  nzk_eta_policy policy;
  nzk_law law;
  int use[NZK_N_METHODS];
  unsigned params_mask;
  size_t sweep_w[NZK_MLP_MAX_LAYERS], n_sweep_w;
} net_choice;

/* Comma-separated names, each parsed by `parse` into bit k of *mask. */
static int parse_list(const char *opt, const char *list, int (*parse)(const char *, int *),
                      int *use, int n_max)
{
  char buf[256];
  if (strlen(list) >= sizeof buf) return cli_usage_error(CMD, "--%s is too long", opt);
  strcpy(buf, list);
  char *save = NULL;
  int any = 0;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int k;
    if (parse(tok, &k) || k < 0 || k >= n_max) return cli_library_error(CMD, NZK_EXIT_USAGE);
    use[k] = any = 1;
  }
  return any ? 0 : cli_usage_error(CMD, "--%s is empty", opt);
}

static int parse_method_k(const char *s, int *k)
{
  nzk_method m;
  int st = nzk_method_parse(s, &m);
  *k = (int)m;
  return st;
}

static int parse_param_k(const char *s, int *k)
{
  nzk_parametrisation p;
  int st = nzk_parametrisation_parse(s, &p);
  *k = (int)p;
  return st;
}

static int parse_sweep_widths(const char *list, net_choice *c)
{
  nzk_mlp_spec tmp;
  char buf[256];
  /* Reuse the width parser: "1,<list>,1" must be a valid architecture. */
  if (snprintf(buf, sizeof buf, "1,%s,1", list) >= (int)sizeof buf)
    return cli_usage_error(CMD, "--sweep-widths is too long");
  memset(&tmp, 0, sizeof tmp);
  if (nzk_mlp_widths_parse(buf, &tmp)) {
    fprintf(stderr, "nzk %s: error: --sweep-widths '%s': give positive integers, comma "
            "separated, at most %d\n", CMD, list, NZK_MLP_MAX_LAYERS - 1);
    return NZK_EXIT_USAGE;
  }
  c->n_sweep_w = tmp.n_layers - 1;
  memcpy(c->sweep_w, tmp.widths + 1, c->n_sweep_w * sizeof(size_t));
  for (size_t k = 1; k < c->n_sweep_w; k++)
    if (c->sweep_w[k] != c->sweep_w[0]) return 0;
  return cli_usage_error(CMD, "--sweep-widths '%s': a slope against width needs at least 2 "
                         "distinct widths", list);
}

/* The moment of the direction law each used method needs: its expected
 * kernel (2nd for plain and pair, 4th for shared) and, under the matched
 * policy, its step size (2nd for plain, zero mean and 4th for pair and
 * shared; network.h).  A missing one is a bad combination of options. */
static int check_moments(const net_args *a, const net_choice *c)
{
  for (int k = 0; k < NZK_N_METHODS; k++) {
    if (!c->use[k] || k == NZK_METHOD_FO) continue;
    int order = nzk_scheme_mean_order(nzk_method_scheme((nzk_method)k));
    if (c->policy == NZK_ETA_MATCHED && k != NZK_METHOD_PLAIN) order = 4;
    double v;
    if (nzk_law_raw_moment(&c->law, order, &v))
      return cli_usage_error(CMD, "--methods %s with --law %s%s: the law has no moment of "
                             "order %d", nzk_method_name((nzk_method)k), a->law,
                             c->policy == NZK_ETA_MATCHED ? " and matched step sizes" : "",
                             order);
    if (c->policy == NZK_ETA_MATCHED && c->law.mean != 0)
      return cli_usage_error(CMD, "--eta-policy matched needs zero-mean directions (--law %s); "
                             "use --eta-policy same", a->law);
  }
  return 0;
}

static int make_choice(const net_args *a, net_choice *c)
{
  memset(c, 0, sizeof *c);
  if (nzk_mlp_widths_parse(a->widths, &c->spec) ||
      nzk_activation_parse(a->activation, &c->spec.act) ||
      nzk_parametrisation_parse(a->param, &c->spec.param) ||
      nzk_eta_policy_parse(a->eta_policy, &c->policy) || nzk_law_parse(a->law, &c->law))
    return cli_library_error(CMD, NZK_EXIT_USAGE);
  c->lin_none = strcmp(a->linearize, "none") == 0;
  if (!c->lin_none && nzk_lin_variant_parse(a->linearize, &c->variant))
    return cli_usage_error(CMD, "unknown --linearize '%s' (expected none, offset or paper)",
                           a->linearize);
  if (strcmp(a->train, "both") && strcmp(a->train, "full") && strcmp(a->train, "lin"))
    return cli_usage_error(CMD, "unknown --train '%s' (expected both, full or lin)", a->train);
  c->train_full = strcmp(a->train, "lin") != 0;
  c->train_lin = strcmp(a->train, "full") != 0;
  if (c->lin_none && (c->train_lin || a->kernel_gd || a->normalise))
    return cli_usage_error(CMD, "--train %s, --kernel-gd and --normalise-rows need a "
                           "linearization (--linearize offset or paper)", a->train);
  if (parse_list("methods", a->methods, parse_method_k, c->use, NZK_N_METHODS))
    return NZK_EXIT_USAGE;
  int pu[2] = {0, 0};
  if (a->sweep && parse_list("params", a->params, parse_param_k, pu, 2)) return NZK_EXIT_USAGE;
  c->params_mask = (unsigned)pu[0] | ((unsigned)pu[1] << 1);
  if (a->sweep && parse_sweep_widths(a->sweep_widths, c)) return NZK_EXIT_USAGE;
  if (a->sweep && (a->depth < 1 || a->depth >= NZK_MLP_MAX_LAYERS))
    return cli_usage_error(CMD, "--depth must be 1 to %d", NZK_MLP_MAX_LAYERS - 1);
  return check_moments(a, c);
}

/* ---- data ----------------------------------------------------------------- */

typedef struct {
  gsl_matrix *X;
  gsl_vector *y;
  char source[600];
} net_data;

/* Synthetic data with d columns (stream chunk 0 of the seed), or the CSV. */
static int load_data(const net_args *a, size_t d, net_data *D)
{
  if (!a->csv) {
    D->X = gsl_matrix_alloc(a->n, d);
    D->y = gsl_vector_alloc(a->n);
    gsl_rng *r = nzk_stream_alloc(a->seed, 0);
    int st = nzk_synth_sphere(r, a->noise, D->X, D->y, NULL);
    gsl_rng_free(r);
    snprintf(D->source, sizeof D->source, "unit-sphere synthetic data (n = %zu, d = %zu, noise "
             "%g, seed %llu)", a->n, d, a->noise, (unsigned long long)a->seed);
    return st ? cli_library_error(CMD, NZK_EXIT_USAGE) : 0;
  }
  gsl_matrix *M;
  if (nzk_csv_read_matrix(a->csv, &M)) return cli_library_error(CMD, NZK_EXIT_USAGE);
  const size_t cols = M->size2;
  size_t nf = nzk_csv_feature_count(cols, a->target_col, a->feature_from);
  if (a->target_col >= cols || nf != d) {
    gsl_matrix_free(M);
    return cli_usage_error(CMD, "the input width %zu does not match %s: %zu columns give %zu "
                           "feature columns (--target-col %zu, --feature-from %zu)", d, a->csv,
                           cols, a->target_col >= cols ? 0 : nf, a->target_col, a->feature_from);
  }
  if (nzk_csv_split_xy(M, a->target_col, a->feature_from, a->csv, &D->X, &D->y)) {
    gsl_matrix_free(M);
    return cli_library_error(CMD, NZK_EXIT_FAIL);
  }
  snprintf(D->source, sizeof D->source, "%s (target column %zu, %zu feature columns from %zu)",
           a->csv, a->target_col, d, a->feature_from);
  gsl_matrix_free(M);
  return 0;
}

static void data_free(net_data *D)
{
  if (D->X) gsl_matrix_free(D->X);
  if (D->y) gsl_vector_free(D->y);
}

/* ---- files ------------------------------------------------------------------ */

typedef struct {
  char path[MAX_FILES][4096];
  size_t count;
} written;

/* Remove every file written so far (after a failure). */
static void unwrite(written *w)
{
  for (size_t k = 0; k < w->count; k++) unlink(w->path[k]);
  w->count = 0;
}

/* Remove every file a previous `nzk network` run may have left in dir
 * (this command's own names only; summary.json first, so the folder never
 * looks complete meanwhile): a rerun with fewer methods leaves nothing
 * stale behind. */
static void remove_previous(const char *dir)
{
  static const char *fixed[] = {"summary.json", "trajectory.csv", "sweep.csv", "sweep_fit.csv"};
  static const char *models[] = {"full", "lin", "kgd"};
  char path[4096], name[128];
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
    if (!nzk_path_join(path, sizeof path, dir, fixed[k])) unlink(path);
  for (int pz = 0; pz < 2; pz++)
    for (int dr = 0; dr < 2; dr++) {
      snprintf(name, sizeof name, "%s_%s.csv", dr ? "drift" : "gap",
               nzk_parametrisation_name((nzk_parametrisation)pz));
      if (!nzk_path_join(path, sizeof path, dir, name)) unlink(path);
    }
  for (int k = 0; k < NZK_N_METHODS; k++) {
    const char *nm = nzk_method_name((nzk_method)k);
    for (int m = 0; m < 5; m++) {
      if (m < 3) snprintf(name, sizeof name, "f_%s_%s.csv", nm, models[m]);
      else snprintf(name, sizeof name, "kernel_%s_%s.csv", nm, m == 3 ? "start" : "end");
      if (!nzk_path_join(path, sizeof path, dir, name)) unlink(path);
    }
  }
}

/* ",v" with 17 digits, or "," alone when v is not finite (a value that
 * could not be computed is left empty, never written as NaN). */
static void put_num(FILE *fp, double v, const char *fmt)
{
  fputc(',', fp);
  if (isfinite(v)) fprintf(fp, fmt, v);
}

/* Write M with header to DIR/name and remember it. */
static int write_csv(const char *dir, const char *name, const char *header, const gsl_matrix *M,
                     written *w)
{
  if (w->count == MAX_FILES) return NZK_FAIL(GSL_EFAILED, "too many output files");
  int st = nzk_path_join(w->path[w->count], sizeof w->path[0], dir, name);
  if (!st) st = nzk_csv_write_matrix(w->path[w->count], header, M);
  if (!st) w->count++;
  return st;
}

static json_t *files_json(const written *w)
{
  json_t *f = json_array();
  for (size_t k = 0; k < w->count; k++) {
    const char *base = strrchr(w->path[k], '/');
    json_array_append_new(f, json_string(base ? base + 1 : w->path[k]));
  }
  return f;
}

static int write_summary(const char *dir, json_t *doc, written *w)
{
  char path[4096];
  json_object_set_new(doc, "files", files_json(w));
  int st = nzk_path_join(path, sizeof path, dir, "summary.json");
  if (!st) st = nzk_json_write(path, doc);
  json_decref(doc);
  return st;
}

/* ---- single run --------------------------------------------------------------- */

typedef struct {
  double eta;
  nzk_compare_trace tr;
  nzk_compare_result res;
  gsl_matrix *K0, *KT;
  double *kgd_loss; /* steps + 1 entries */
  gsl_matrix *kgd_F; /* records x n */
  double seconds;
} method_out;

typedef struct {
  const net_args *a;
  const net_choice *c;
  net_data D;
  nzk_model *net, *lin;
  double *theta0;
  nzk_dir *z;
  method_out m[NZK_N_METHODS];
} single_ctx;

static void single_free(single_ctx *x)
{
  for (int k = 0; k < NZK_N_METHODS; k++) {
    method_out *m = &x->m[k];
    nzk_compare_trace_free(&m->tr);
    if (m->K0) gsl_matrix_free(m->K0);
    if (m->KT) gsl_matrix_free(m->KT);
    if (m->kgd_F) gsl_matrix_free(m->kgd_F);
    free(m->kgd_loss);
  }
  nzk_model_free(x->lin);
  nzk_model_free(x->net);
  nzk_dir_free(x->z);
  free(x->theta0);
  data_free(&x->D);
}

/* Network, theta0 (stream chunk 1), linearization, direction law. */
static int single_setup(single_ctx *x)
{
  const net_choice *c = x->c;
  if (load_data(x->a, c->spec.widths[0], &x->D)) return NZK_EXIT_USAGE;
  x->net = nzk_mlp_alloc(&c->spec);
  if (!x->net) return cli_library_error(CMD, NZK_EXIT_USAGE);
  x->theta0 = malloc(x->net->p * sizeof *x->theta0);
  gsl_rng *r = nzk_stream_alloc(x->a->seed, 1);
  int st = nzk_mlp_init(&c->spec, r, x->theta0);
  gsl_rng_free(r);
  if (!st && !c->lin_none) {
    x->lin = nzk_linearized_alloc(x->net, x->theta0, x->D.X, c->variant, x->a->normalise);
    if (!x->lin) st = nzk_error_code();
  }
  if (!st && !(x->z = nzk_dir_alloc_iid(&c->law, x->net->p))) st = nzk_error_code();
  return st ? cli_library_error(CMD, NZK_EXIT_FAIL) : 0;
}

/* Kernel GD from the linearization's start with the method's kernel. */
static int single_kgd(single_ctx *x, nzk_method method, method_out *m)
{
  const size_t n = x->D.X->size1, p = x->lin->p, nrec = m->tr.n_records;
  gsl_matrix *K = gsl_matrix_alloc(n, n);
  int st;
  if (method != NZK_METHOD_FO && x->a->mc_draws >= 2) {
    gsl_matrix *J = gsl_matrix_alloc(n, p), *se = gsl_matrix_alloc(n, n);
    st = nzk_model_jacobian(x->lin, x->theta0, x->D.X, J);
    if (!st) st = nzk_kernel_mc(nzk_method_scheme(method), J, x->z, NULL, x->a->mc_draws, 64,
                                x->a->seed + 2, K, se);
    gsl_matrix_free(J);
    gsl_matrix_free(se);
  } else {
    st = nzk_network_kernel(x->lin, x->theta0, x->D.X, method, x->z, NULL, NULL, K);
  }
  gsl_vector_const_view f0 = gsl_vector_const_view_array(nzk_linearized_f_init(x->lin), n);
  m->kgd_loss = malloc((x->a->steps + 1) * sizeof(double));
  m->kgd_F = gsl_matrix_alloc(nrec, n);
  if (!st)
    st = nzk_kgd_run(K, m->eta, x->D.y, &f0.vector, x->a->steps, x->a->runaway, m->kgd_loss,
                     m->tr.step, nrec, m->kgd_F);
  gsl_matrix_free(K);
  return st;
}

static int single_method(single_ctx *x, nzk_method method, double eta_base)
{
  const net_choice *c = x->c;
  const size_t n = x->D.X->size1;
  method_out *m = &x->m[method];
  nzk_compare_params par;
  nzk_compare_params_default(&par);
  par.method = method;
  par.eps = x->a->eps;
  par.steps = x->a->steps;
  par.record_every = x->a->record_every;
  par.record_drift = 1;
  par.runaway_factor = x->a->runaway;
  par.z = x->z;
  par.seed = x->a->seed + 1;
  int st = nzk_method_eta(method, c->policy, eta_base, x->z, &par.eta);
  m->eta = par.eta;
  m->K0 = gsl_matrix_alloc(n, n);
  m->KT = gsl_matrix_alloc(n, n);
  nzk_model *first = c->train_full ? x->net : x->lin;
  nzk_model *second = c->train_full && c->train_lin ? x->lin : NULL;
  clock_t t0 = clock();
  if (!st)
    st = nzk_compare_run(first, second, x->theta0, x->D.X, x->D.y, &par, m->K0, m->KT, &m->tr,
                         &m->res);
  if (!st && m->res.diverged)
    st = NZK_FAIL(GSL_ERUNAWAY, "%s training diverged at step %zu (eta %g); nothing written",
                  nzk_method_name(method), m->res.steps_done, par.eta);
  if (!st && x->a->kernel_gd) st = single_kgd(x, method, m);
  m->seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
  return st;
}

/* trajectory.csv: step, then the columns of every method. */
static int write_trajectory(const single_ctx *x, written *w)
{
  const net_choice *c = x->c;
  char header[4096] = "step";
  size_t cols = 1, nrec = 0;
  for (int k = 0; k < NZK_N_METHODS; k++) {
    if (!c->use[k]) continue;
    const char *nm = nzk_method_name((nzk_method)k);
    size_t len = strlen(header);
    nrec = x->m[k].tr.n_records;
    if (c->train_full && c->train_lin) {
      snprintf(header + len, sizeof header - len, ",%s_loss_full,%s_loss_lin,%s_gap,%s_drift",
               nm, nm, nm, nm);
      cols += 4;
    } else {
      snprintf(header + len, sizeof header - len, ",%s_loss_%s,%s_drift", nm,
               c->train_full ? "full" : "lin", nm);
      cols += 2;
    }
    len = strlen(header);
    if (x->a->kernel_gd) {
      snprintf(header + len, sizeof header - len, ",%s_loss_kgd", nm);
      cols++;
    }
  }
  gsl_matrix *M = gsl_matrix_alloc(nrec, cols);
  for (size_t r = 0; r < nrec; r++) {
    size_t j = 0;
    for (int k = 0; k < NZK_N_METHODS; k++) {
      if (!c->use[k]) continue;
      const nzk_compare_trace *tr = &x->m[k].tr;
      if (j == 0) gsl_matrix_set(M, r, j++, (double)tr->step[r]);
      gsl_matrix_set(M, r, j++, tr->loss_full[r]);
      if (c->train_full && c->train_lin) {
        gsl_matrix_set(M, r, j++, tr->loss_lin[r]);
        gsl_matrix_set(M, r, j++, tr->gap[r]);
      }
      gsl_matrix_set(M, r, j++, tr->drift[r]);
      if (x->a->kernel_gd) gsl_matrix_set(M, r, j++, x->m[k].kgd_loss[tr->step[r]]);
    }
  }
  int st = write_csv(x->a->out, "trajectory.csv", header, M, w);
  gsl_matrix_free(M);
  return st;
}

/* f_<m>_<model>.csv: i, y, then F (records x n) transposed. */
static int write_f(const single_ctx *x, const char *method, const char *model,
                   const nzk_compare_trace *tr, const gsl_matrix *F, written *w)
{
  const size_t n = x->D.X->size1, nrec = tr->n_records;
  char name[128], header[8192];
  size_t len = (size_t)snprintf(header, sizeof header, "i,y");
  for (size_t r = 0; r < nrec && len < sizeof header; r++)
    len += (size_t)snprintf(header + len, sizeof header - len, ",t%zu", tr->step[r]);
  if (len >= sizeof header) return NZK_FAIL(GSL_EFAILED, "too many record steps for a header");
  snprintf(name, sizeof name, "f_%s_%s.csv", method, model);
  gsl_matrix *M = gsl_matrix_alloc(n, nrec + 2);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(M, i, 0, (double)i);
    gsl_matrix_set(M, i, 1, gsl_vector_get(x->D.y, i));
    for (size_t r = 0; r < nrec; r++) gsl_matrix_set(M, i, r + 2, gsl_matrix_get(F, r, i));
  }
  int st = write_csv(x->a->out, name, header, M, w);
  gsl_matrix_free(M);
  return st;
}

static int write_method_files(const single_ctx *x, int k, written *w)
{
  const net_choice *c = x->c;
  const method_out *m = &x->m[k];
  const char *nm = nzk_method_name((nzk_method)k);
  char name[128];
  int st = write_f(x, nm, c->train_full ? "full" : "lin", &m->tr, m->tr.f_full, w);
  if (!st && c->train_full && c->train_lin) st = write_f(x, nm, "lin", &m->tr, m->tr.f_lin, w);
  if (!st && x->a->kernel_gd) st = write_f(x, nm, "kgd", &m->tr, m->kgd_F, w);
  snprintf(name, sizeof name, "kernel_%s_start.csv", nm);
  if (!st) st = write_csv(x->a->out, name, NULL, m->K0, w);
  snprintf(name, sizeof name, "kernel_%s_end.csv", nm);
  if (!st) st = write_csv(x->a->out, name, NULL, m->KT, w);
  return st;
}

static json_t *single_json(const single_ctx *x)
{
  const net_args *a = x->a;
  char desc[256];
  nzk_mlp_describe(&x->c->spec, desc, sizeof desc);
  json_t *doc = json_object(), *res = json_object();
  json_object_set_new(doc, "command", json_string("nzk network"));
  json_object_set_new(doc, "network", json_string(desc));
  json_object_set_new(doc, "p", json_integer((json_int_t)x->net->p));
  json_object_set_new(doc, "data", json_string(x->D.source));
  json_object_set_new(doc, "n", json_integer((json_int_t)x->D.X->size1));
  json_object_set_new(doc, "linearize", json_string(a->linearize));
  json_object_set_new(doc, "normalise_rows", json_boolean(a->normalise));
  json_object_set_new(doc, "train", json_string(a->train));
  json_object_set_new(doc, "law", json_string(a->law));
  json_object_set_new(doc, "eta_base", json_real(a->eta));
  json_object_set_new(doc, "eta_relative", json_boolean(a->eta_relative));
  json_object_set_new(doc, "eta_policy", json_string(a->eta_policy));
  json_object_set_new(doc, "steps", json_integer((json_int_t)a->steps));
  json_object_set_new(doc, "eps", json_real(a->eps));
  json_object_set_new(doc, "mc_draws", json_integer((json_int_t)a->mc_draws));
  json_object_set_new(doc, "seed", json_integer((json_int_t)a->seed));
  for (int k = 0; k < NZK_N_METHODS; k++) {
    if (!x->c->use[k]) continue;
    const method_out *m = &x->m[k];
    json_t *o = json_object();
    json_object_set_new(o, "eta", json_real(m->eta));
    json_object_set_new(o, "loss_initial", nzk_json_real(m->res.loss0));
    const int full = x->c->train_full;
    json_object_set_new(o, "loss_final_full", nzk_json_real(full ? m->res.loss_full : NAN));
    json_object_set_new(o, "loss_final_lin", nzk_json_real(full ? m->res.loss_lin
                                                                 : m->res.loss_full));
    json_object_set_new(o, "gap_final", nzk_json_real(m->res.gap));
    json_object_set_new(o, "drift_final", nzk_json_real(m->res.drift));
    json_object_set_new(o, "drift_of", json_string(full ? "full" : "lin"));
    if (m->kgd_loss)
      json_object_set_new(o, "loss_final_kgd", nzk_json_real(m->kgd_loss[a->steps]));
    json_object_set_new(o, "cpu_seconds", json_real(m->seconds));
    json_object_set_new(res, nzk_method_name((nzk_method)k), o);
  }
  json_object_set_new(doc, "results", res);
  return doc;
}

/* Writes every output of a single run; a GSL status. */
static int single_write(const single_ctx *x, written *w)
{
  int st = write_trajectory(x, w);
  for (int k = 0; k < NZK_N_METHODS && !st; k++)
    if (x->c->use[k]) st = write_method_files(x, k, w);
  if (!st) st = write_summary(x->a->out, single_json(x), w);
  return st;
}

/* One paragraph on stdout: what was trained and the final figures. */
static void print_single(const single_ctx *x)
{
  const net_args *a = x->a;
  char desc[256];
  nzk_mlp_describe(&x->c->spec, desc, sizeof desc);
  printf("T4, network %s (p = %zu) on %s, trained %s (linearization %s) for %zu steps "
         "under %s directions.", desc, x->net->p, x->D.source, a->train, a->linearize,
         a->steps, a->law);
  for (int k = 0; k < NZK_N_METHODS; k++) {
    if (!x->c->use[k]) continue;
    const method_out *m = &x->m[k];
    printf(" %s (eta %.3g): loss %.4g -> %.4g", nzk_method_name((nzk_method)k), m->eta,
           m->res.loss0, m->res.loss_full);
    if (x->c->train_full && x->c->train_lin)
      printf(" (linearized %.4g, gap %.3g)", m->res.loss_lin, m->res.gap);
    printf(", kernel drift %.3g.", m->res.drift);
  }
  printf(" Results in %s/ (summary.json lists the files).\n", a->out);
}

static int run_single(const net_args *a, const net_choice *c)
{
  single_ctx x;
  memset(&x, 0, sizeof x);
  x.a = a;
  x.c = c;
  int rc = single_setup(&x); /* an exit code */
  double eta_base = a->eta, trace = 0;
  if (!rc && a->eta_relative) {
    nzk_model *first = c->train_full ? x.net : x.lin;
    if (nzk_network_ntk_trace(first, x.theta0, x.D.X, NULL, &trace))
      rc = cli_library_error(CMD, NZK_EXIT_FAIL);
    eta_base = a->eta * (double)x.D.X->size1 / trace;
  }
  for (int k = 0; k < NZK_N_METHODS && !rc; k++)
    if (c->use[k] && single_method(&x, (nzk_method)k, eta_base))
      rc = cli_library_error(CMD, NZK_EXIT_FAIL);
  written w = {.count = 0};
  if (!rc && single_write(&x, &w)) {
    rc = cli_library_error(CMD, NZK_EXIT_FAIL);
    unwrite(&w);
  }
  if (!rc) print_single(&x);
  single_free(&x);
  return rc;
}

/* ---- the width sweep ---------------------------------------------------------- */

/* sweep.csv, one row per run, names as text. */
static int write_sweep_rows(const char *dir, const nzk_sweep_row *rows, size_t n_rows,
                            written *w)
{
  nzk_outfile o;
  if (w->count == MAX_FILES) return NZK_FAIL(GSL_EFAILED, "too many output files");
  int st = nzk_path_join(w->path[w->count], sizeof w->path[0], dir, "sweep.csv");
  if (!st) st = nzk_out_open(&o, w->path[w->count]);
  if (st) return st;
  fprintf(o.fp, "width,p,param,method,seed,eta,loss0,loss_full,loss_lin,gap,drift,diverged\n");
  for (size_t i = 0; i < n_rows; i++) {
    const nzk_sweep_row *r = &rows[i];
    fprintf(o.fp, "%zu,%zu,%s,%s,%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n", r->width, r->p,
            nzk_parametrisation_name(r->param), nzk_method_name(r->method), r->seed_index,
            r->eta, r->res.loss0, r->res.loss_full, r->res.loss_lin, r->res.gap, r->res.drift,
            r->res.diverged);
  }
  st = nzk_out_commit(&o);
  if (!st) w->count++;
  return st;
}

static int write_sweep_fits(const char *dir, const nzk_sweep_row *rows, size_t n_rows,
                            const net_choice *c, json_t *fits, written *w)
{
  nzk_outfile o;
  if (w->count == MAX_FILES) return NZK_FAIL(GSL_EFAILED, "too many output files");
  int st = nzk_path_join(w->path[w->count], sizeof w->path[0], dir, "sweep_fit.csv");
  if (!st) st = nzk_out_open(&o, w->path[w->count]);
  if (st) return st;
  fprintf(o.fp, "param,method,gap_slope,gap_se,gap_runs,drift_slope,drift_se,drift_runs,"
          "diverged\n");
  for (int pz = 0; pz < 2; pz++)
    for (int k = 0; k < NZK_N_METHODS; k++) {
      if (!(c->params_mask & (1u << pz)) || !c->use[k]) continue;
      nzk_sweep_fit f;
      nzk_sweep_fit_slopes(rows, n_rows, (nzk_parametrisation)pz, (nzk_method)k, &f);
      const char *pn = nzk_parametrisation_name((nzk_parametrisation)pz);
      const char *mn = nzk_method_name((nzk_method)k);
      fprintf(o.fp, "%s,%s", pn, mn);
      put_num(o.fp, f.gap_slope, "%.6g");
      put_num(o.fp, f.gap_se, "%.6g");
      fprintf(o.fp, ",%zu", f.gap_used);
      put_num(o.fp, f.drift_slope, "%.6g");
      put_num(o.fp, f.drift_se, "%.6g");
      fprintf(o.fp, ",%zu,%zu\n", f.drift_used, f.n_diverged);
      json_t *j = json_object();
      json_object_set_new(j, "param", json_string(pn));
      json_object_set_new(j, "method", json_string(mn));
      json_object_set_new(j, "gap_slope", nzk_json_real(f.gap_slope));
      json_object_set_new(j, "gap_se", nzk_json_real(f.gap_se));
      json_object_set_new(j, "drift_slope", nzk_json_real(f.drift_slope));
      json_object_set_new(j, "drift_se", nzk_json_real(f.drift_se));
      json_object_set_new(j, "diverged", json_integer((json_int_t)f.n_diverged));
      json_array_append_new(fits, j);
    }
  st = nzk_out_commit(&o);
  if (!st) w->count++;
  return st;
}

/* Geometric mean of the gap (or drift) over the seeds of (width, param,
 * method) that did not diverge; NaN if none. */
static double sweep_mean(const nzk_sweep_row *rows, size_t n_rows, size_t width, int pz, int k,
                         int drift)
{
  double s = 0;
  size_t m = 0;
  for (size_t i = 0; i < n_rows; i++) {
    const nzk_sweep_row *r = &rows[i];
    double v = drift ? r->res.drift : r->res.gap;
    if (r->width != width || (int)r->param != pz || (int)r->method != k) continue;
    if (!r->res.diverged && v > 0) s += log(v), m++;
  }
  return m ? exp(s / (double)m) : NAN;
}

/* gap_<param>.csv / drift_<param>.csv: width, then per method the
 * geometric mean over the seeds that did not diverge (an empty cell if
 * every seed diverged). */
static int write_sweep_means(const char *dir, const nzk_sweep_row *rows, size_t n_rows,
                             const net_choice *c, int pz, int drift, written *w)
{
  char name[64];
  nzk_outfile o;
  snprintf(name, sizeof name, "%s_%s.csv", drift ? "drift" : "gap",
           nzk_parametrisation_name((nzk_parametrisation)pz));
  if (w->count == MAX_FILES) return NZK_FAIL(GSL_EFAILED, "too many output files");
  int st = nzk_path_join(w->path[w->count], sizeof w->path[0], dir, name);
  if (!st) st = nzk_out_open(&o, w->path[w->count]);
  if (st) return st;
  fprintf(o.fp, "width");
  for (int k = 0; k < NZK_N_METHODS; k++)
    if (c->use[k]) fprintf(o.fp, ",%s", nzk_method_name((nzk_method)k));
  for (size_t wi = 0; wi < c->n_sweep_w; wi++) {
    fprintf(o.fp, "\n%zu", c->sweep_w[wi]);
    for (int k = 0; k < NZK_N_METHODS; k++)
      if (c->use[k]) put_num(o.fp, sweep_mean(rows, n_rows, c->sweep_w[wi], pz, k, drift), "%.17g");
  }
  fputc('\n', o.fp);
  st = nzk_out_commit(&o);
  if (!st) w->count++;
  return st;
}

static void sweep_config(const net_args *a, const net_choice *c, nzk_sweep_config *cfg)
{
  nzk_sweep_config_default(cfg);
  memcpy(cfg->widths, c->sweep_w, c->n_sweep_w * sizeof(size_t));
  cfg->n_widths = c->n_sweep_w;
  cfg->depth = a->depth;
  cfg->act = c->spec.act;
  cfg->params_mask = c->params_mask;
  cfg->methods_mask = 0;
  for (int k = 0; k < NZK_N_METHODS; k++) cfg->methods_mask |= (unsigned)c->use[k] << k;
  cfg->n_seeds = a->seeds;
  cfg->seed = a->seed;
  cfg->steps = a->steps;
  cfg->eta = a->eta;
  cfg->eta_relative = 1;
  cfg->eps = a->eps;
  cfg->policy = c->policy;
  cfg->law = c->law;
  cfg->runaway_factor = a->runaway;
  cfg->variant = c->variant;
}

/* One paragraph on stdout: the sweep's size and its fitted slopes. */
static void print_sweep(const net_args *a, const net_choice *c, const nzk_sweep_row *rows,
                        size_t n_rows, double seconds)
{
  printf("T4 width sweep: %zu runs (%zu widths from %zu to %zu, depth %zu, %zu seeds, %zu "
         "steps, %.1f s CPU). Log-log slopes against width of the gap and the kernel drift:",
         n_rows, c->n_sweep_w, c->sweep_w[0], c->sweep_w[c->n_sweep_w - 1], a->depth, a->seeds,
         a->steps, seconds);
  for (int pz = 0; pz < 2; pz++)
    for (int k = 0; k < NZK_N_METHODS; k++) {
      if (!(c->params_mask & (1u << pz)) || !c->use[k]) continue;
      nzk_sweep_fit f;
      nzk_sweep_fit_slopes(rows, n_rows, (nzk_parametrisation)pz, (nzk_method)k, &f);
      printf(" %s/%s ", nzk_parametrisation_name((nzk_parametrisation)pz),
             nzk_method_name((nzk_method)k));
      if (isfinite(f.gap_slope)) printf("%.3g, ", f.gap_slope);
      else printf("not fitted, ");
      if (isfinite(f.drift_slope)) printf("%.3g", f.drift_slope);
      else printf("not fitted");
      if (f.n_diverged) printf(" (%zu diverged)", f.n_diverged);
      printf(";");
    }
  printf(" Results in %s/ (summary.json lists the files).\n", a->out);
}

static int run_sweep(const net_args *a, const net_choice *c)
{
  if (c->lin_none || a->normalise || a->kernel_gd || strcmp(a->train, "both"))
    return cli_usage_error(CMD, "--sweep-width compares full and linearized networks: it needs "
                           "--linearize offset or paper, --train both, no --normalise-rows or "
                           "--kernel-gd");
  net_data D = {NULL, NULL, ""};
  size_t d = a->d;
  if (a->csv) { /* the sweep takes the CSV's feature count as input width */
    gsl_matrix *M;
    if (nzk_csv_read_matrix(a->csv, &M)) return cli_library_error(CMD, NZK_EXIT_USAGE);
    d = 0;
    for (size_t j = a->feature_from; j < M->size2; j++) d += j != a->target_col;
    gsl_matrix_free(M);
  }
  if (load_data(a, d, &D)) return NZK_EXIT_USAGE;
  nzk_sweep_config cfg;
  nzk_sweep_row *rows = NULL;
  size_t n_rows = 0;
  sweep_config(a, c, &cfg);
  clock_t t0 = clock();
  int st = nzk_width_sweep(&cfg, D.X, D.y, &rows, &n_rows);
  double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
  written w = {.count = 0};
  json_t *doc = json_object(), *fits = json_array();
  if (!st) st = write_sweep_rows(a->out, rows, n_rows, &w);
  if (!st) st = write_sweep_fits(a->out, rows, n_rows, c, fits, &w);
  for (int pz = 0; pz < 2 && !st; pz++)
    if (c->params_mask & (1u << pz))
      for (int dr = 0; dr < 2 && !st; dr++)
        st = write_sweep_means(a->out, rows, n_rows, c, pz, dr, &w);
  json_object_set_new(doc, "command", json_string("nzk network --sweep-width"));
  json_object_set_new(doc, "data", json_string(D.source));
  json_object_set_new(doc, "depth", json_integer((json_int_t)a->depth));
  json_object_set_new(doc, "activation", json_string(a->activation));
  json_object_set_new(doc, "linearize", json_string(a->linearize));
  json_object_set_new(doc, "steps", json_integer((json_int_t)a->steps));
  json_object_set_new(doc, "eta_fraction", json_real(a->eta));
  json_object_set_new(doc, "eta_policy", json_string(a->eta_policy));
  json_object_set_new(doc, "seeds", json_integer((json_int_t)a->seeds));
  json_object_set_new(doc, "seed", json_integer((json_int_t)a->seed));
  json_object_set_new(doc, "runs", json_integer((json_int_t)n_rows));
  json_object_set_new(doc, "cpu_seconds", json_real(seconds));
  json_object_set_new(doc, "fits", fits);
  if (!st) st = write_summary(a->out, doc, &w);
  else json_decref(doc);
  if (st) {
    cli_library_error(CMD, NZK_EXIT_FAIL);
    unwrite(&w);
  } else {
    print_sweep(a, c, rows, n_rows, seconds);
  }
  free(rows);
  data_free(&D);
  return st ? NZK_EXIT_FAIL : NZK_EXIT_OK;
}

int cmd_network(int argc, char **argv)
{
  net_args a;
  net_choice c;
  int st = parse_args(argc, argv, &a);
  if (st < 0) {
    usage(stdout);
    return NZK_EXIT_OK;
  }
  if (st || (st = make_choice(&a, &c))) return st;
  /* an output folder that cannot be made is an I/O error: exit 1 (README) */
  struct stat st_out;
  int existed = stat(a.out, &st_out) == 0;
  if (nzk_mkdir_p(a.out)) return cli_library_error(CMD, NZK_EXIT_FAIL);
  remove_previous(a.out);
  int code = a.sweep ? run_sweep(&a, &c) : run_single(&a, &c);
  if (code && !existed) rmdir(a.out); /* a folder this run made, left empty: remove it */
  return code;
}
