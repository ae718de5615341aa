/* test_t4_width.c: T4, full networks approach their linearizations as the
 * width grows (DESIGN.md section 3), under NTK parametrisation.
 *
 * A reduced version of `nzk network --sweep-width` (network.h): hidden
 * widths 16, 32, 64, 128 (two hidden layers, ReLU), 32 sphere points,
 * independent networks per width, eta = fraction x n / tr(Theta_0):
 *   FO          16 networks, 100 steps, fraction 0.02
 *   plain ZO    16 networks, 400 steps, fraction 0.005
 * (the same progress eta t = 2; ZO takes smaller steps because its random
 * walk in parameter space, of size ~ eta |grad L| sqrt(t) per weight, adds
 * a width-independent part to drift and gap; see README).  For each
 * method the log-log slopes against width are fitted by least squares
 * over all runs; "falls with width" means
 *   slope + t* se < 0,   t* = t_{m-2}^{-1}(1 - alpha),  alpha = 1e-4
 * (one-sided; se from the scatter about the line), so a slope the data
 * cannot tell from zero fails the check.  Checked: the drift of FO and of
 * plain ZO.  The gap slopes are printed as measurements only (FO about
 * -0.75, plain about -0.5 over the seeds tried): the gap's denominator
 * |f_lin - y| makes it heavy-tailed across networks, its standard error
 * ranged from 0.07 to 0.19, and a verdict at alpha = 1e-4 then hinges
 * on the seed (one of eight seeds tried failed with 24 networks).
 *
 * Negative controls, decided by the same rule and required to fail: the
 * FO and the plain ZO drifts with their width labels shuffled (a fixed
 * random permutation of the runs).  The measurements and their scatter
 * are the real ones but carry no trend, so the rule rejects them unless
 * chance produces a significant slope, which happens with probability
 * alpha.  (The paper variant J0 theta was tried as a control and is not
 * one: its gap also falls with width at some seeds; `nzk network
 * --sweep-width --linearize paper` measures it.) */
#include "data_synth.h"
#include "network.h"
#include "nzk_error.h"
#include "rng_stream.h"
#include "vtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#define N_POINTS 32
#define ALPHA 1e-4

static void base_config(nzk_sweep_config *cfg, uint64_t seed, nzk_method method)
{
  static const size_t widths[] = {16, 32, 64, 128};
  nzk_sweep_config_default(cfg);
  memcpy(cfg->widths, widths, sizeof widths);
  cfg->n_widths = 4;
  cfg->params_mask = 1u << NZK_PARAM_NTK;
  cfg->methods_mask = 1u << method;
  cfg->seed = seed;
  cfg->n_seeds = 16;
  cfg->steps = method == NZK_METHOD_FO ? 100 : 400;
  cfg->eta = method == NZK_METHOD_FO ? 0.02 : 0.005;
}

/* The one-sided decision, printed with its numbers; returns 1 on "falls". */
static int falls(double slope, double se, size_t used, double *bound)
{
  const double t = gsl_cdf_tdist_Pinv(1.0 - ALPHA, (double)used - 2.0);
  *bound = slope + t * se;
  return *bound < 0;
}

static void check_falls(const char *what, double slope, double se, size_t used, int want)
{
  double bound = NAN;
  int f = isfinite(slope) && isfinite(se) && used > 2 && falls(slope, se, used, &bound);
  vt_ok(f == want, "%s%s: slope %.3f +- %.3f over %zu runs, slope + t* se = %.3f (%s 0)",
        want ? "" : "negative control: ", what, slope, se, used, bound, f ? "<" : ">=");
}

/* The drifts of `method` with their widths permuted by r. */
static void check_shuffled(const nzk_sweep_row *rows, size_t n_rows, nzk_method method,
                           gsl_rng *r)
{
  double *w = malloc(n_rows * sizeof *w), *v = malloc(n_rows * sizeof *v), s, se = NAN;
  size_t m = 0, used = 0;
  for (size_t i = 0; i < n_rows; i++) {
    if (rows[i].method != method || rows[i].res.diverged) continue;
    w[m] = (double)rows[i].width;
    v[m++] = rows[i].res.drift;
  }
  gsl_ran_shuffle(r, w, m, sizeof *w);
  if (nzk_loglog_slope(w, v, m, &s, &se, &used)) s = NAN;
  char what[120];
  snprintf(what, sizeof what, "%s drift with the width labels shuffled falls",
           nzk_method_name(method));
  check_falls(what, s, se, used, 0);
  free(w);
  free(v);
}

/* Sweep one method; returns its rows (caller frees) and fit. */
static nzk_sweep_row *sweep(const nzk_sweep_config *cfg, const gsl_matrix *X,
                            const gsl_vector *y, nzk_method method, nzk_sweep_fit *fit,
                            size_t *n_rows)
{
  nzk_sweep_row *rows = NULL;
  int status = nzk_width_sweep(cfg, X, y, &rows, n_rows);
  vt_ok(status == 0, "%s sweep ran (%zu runs of %zu steps)%s%s", nzk_method_name(method),
        *n_rows, cfg->steps, status ? ": " : "", status ? nzk_error_message() : "");
  nzk_sweep_fit_slopes(rows, *n_rows, NZK_PARAM_NTK, method, fit);
  vt_ok(status == 0 && fit->n_diverged == 0, "%s: no run diverged (%zu)", nzk_method_name(method),
        fit->n_diverged);
  printf("INFO %s %s linearization: function gap slope %.3f +- %.3f over %zu runs\n",
         nzk_method_name(method), nzk_lin_variant_name(cfg->variant), fit->gap_slope,
         fit->gap_se, fit->gap_used);
  return rows;
}

int main(void)
{
  const uint64_t seed = vt_seed(20260305);
  gsl_rng *r = nzk_stream_alloc(seed, 99);
  gsl_matrix *X = gsl_matrix_alloc(N_POINTS, 2);
  gsl_vector *y = gsl_vector_alloc(N_POINTS);
  nzk_synth_sphere(r, 0.05, X, y, NULL);
  nzk_sweep_config cfg;
  nzk_sweep_fit fit;
  size_t n_rows;

  base_config(&cfg, seed, NZK_METHOD_FO);
  nzk_sweep_row *rows = sweep(&cfg, X, y, NZK_METHOD_FO, &fit, &n_rows);
  check_falls("NTK param, FO: kernel drift falls with width", fit.drift_slope, fit.drift_se,
              fit.drift_used, 1);
  if (rows) check_shuffled(rows, n_rows, NZK_METHOD_FO, r);
  free(rows);

  base_config(&cfg, seed, NZK_METHOD_PLAIN);
  rows = sweep(&cfg, X, y, NZK_METHOD_PLAIN, &fit, &n_rows);
  check_falls("NTK param, plain ZO: kernel drift falls with width", fit.drift_slope,
              fit.drift_se, fit.drift_used, 1);
  if (rows) check_shuffled(rows, n_rows, NZK_METHOD_PLAIN, r);
  free(rows);

  gsl_matrix_free(X);
  gsl_vector_free(y);
  gsl_rng_free(r);
  return vt_finish();
}
