/* experiment_network.c: the network rows.
 *
 *  - FFN synthetic (DESIGN.md section 5): unit-sphere data with d = 2,
 *    n = 150; the MLP 2-5-5-1 (ReLU, PyTorch-default initialisation); its
 *    Jacobian at theta0 with rows normalised, and the authors' model
 *    f = Jh0 theta (model_linearized.h, paper variant); then the
 *    linear-in-theta core of experiment_core.c with forward-pass ZO runs.
 *  - T4 width sweep (DESIGN.md section 3): full networks against their
 *    linearisation at hidden widths 16..1024 (quick: 8..32), two hidden
 *    layers, both parametrisations, FO and the plain and shared schemes,
 *    through nzk_width_sweep (network.h); the function gap and kernel drift
 *    at the end, their log-log slopes against width, and the figure.  The
 *    T4 checks with their negative controls live in verify/ (test_t4_*.c);
 *    here the measurements are reported.
 * Limitation: one seed per width (the 1024-wide networks take most of the
 * full run), so the slopes' standard errors come from the scatter across
 * widths only. */
#include "experiment.h"
#include "data_synth.h"
#include "model_linearized.h"
#include "model_mlp.h"
#include "network.h"
#include "nzk_error.h"
#include "report.h"
#include "report_io.h"
#include "rng_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nzk_exp_ffn_synthetic(const nzk_exp_config *cfg, json_t *doc)
{
  const size_t n = 150, d = 2;
  nzk_mlp_spec spec = {.act = NZK_ACT_RELU, .param = NZK_PARAM_STANDARD};
  gsl_matrix *X = gsl_matrix_alloc(n, d);
  gsl_vector *y = gsl_vector_alloc(n), *f0 = gsl_vector_alloc(n);
  gsl_rng *r = nzk_stream_alloc(cfg->seed + 31, 0);
  nzk_model *net = NULL, *lin = NULL;
  double *theta0 = NULL;
  int status = (!X || !y || !f0 || !r) ? GSL_ENOMEM : 0;
  if (!status) status = nzk_synth_sphere(r, 0.05, X, y, NULL);
  if (!status) status = nzk_mlp_widths_parse("2,5,5,1", &spec);
  if (!status && !(net = nzk_mlp_alloc(&spec))) status = nzk_error_code();
  if (!status && !(theta0 = malloc(net->p * sizeof *theta0))) status = GSL_ENOMEM;
  if (!status) status = nzk_mlp_init(&spec, r, theta0);
  if (!status && !(lin = nzk_linearized_alloc(net, theta0, X, NZK_LIN_PAPER, 1)))
    status = nzk_error_code();
  /* the linearised model's Jacobian on X is the constant Jh0 */
  gsl_matrix *J = status ? NULL : gsl_matrix_alloc(n, net->p);
  if (!status && !J) status = GSL_ENOMEM;
  if (!status) status = nzk_model_jacobian(lin, theta0, X, J);
  if (!status) {
    memcpy(f0->data, nzk_linearized_f_init(lin), n * sizeof(double));
    nzk_xp_linear set = {.id = "ffn_synthetic",
                         .title = "MLP 2-5-5-1, normalised Jacobian rows (J0 theta), synthetic "
                                  "sphere data, d = 2",
                         .J = J, .y = y, .f0 = f0,
                         .law = nzk_law_normal(1.0), .eta = 1e-3,
                         .steps = cfg->quick ? 2000 : 16000,
                         .mc_draws = cfg->quick ? 1000 : 10000, .runs = cfg->quick ? 16 : 32};
    status = nzk_xp_linear_run(cfg, &set, doc);
  }
  gsl_matrix_free(J);
  nzk_model_free(lin);
  nzk_model_free(net);
  free(theta0);
  gsl_matrix_free(X);
  gsl_vector_free(y);
  gsl_vector_free(f0);
  gsl_rng_free(r);
  return status;
}

/* --- T4 width sweep ------------------------------------------------------ */

#define N_SERIES 6 /* (standard, ntk) x (fo, plain, shared) */

static const nzk_method sweep_methods[3] = {NZK_METHOD_FO, NZK_METHOD_PLAIN, NZK_METHOD_SHARED};

/* Mean over seeds (non-diverged) of gap or drift per width and series. */
static void sweep_means(const nzk_sweep_config *sc, const nzk_sweep_row *rows, size_t n_rows,
                        int drift, gsl_matrix *M)
{
  gsl_matrix_set_all(M, NAN);
  for (size_t w = 0; w < sc->n_widths; w++) {
    gsl_matrix_set(M, w, 0, (double)sc->widths[w]);
    for (int s = 0; s < N_SERIES; s++) {
      nzk_parametrisation par = s < 3 ? NZK_PARAM_STANDARD : NZK_PARAM_NTK;
      double sum = 0;
      size_t cnt = 0;
      for (size_t k = 0; k < n_rows; k++) {
        const nzk_sweep_row *row = &rows[k];
        double v = drift ? row->res.drift : row->res.gap;
        if (row->width != sc->widths[w] || row->param != par ||
            row->method != sweep_methods[s % 3] || !isfinite(v) || v <= 0)
          continue;
        sum += v;
        cnt++;
      }
      if (cnt) gsl_matrix_set(M, w, 1 + (size_t)s, sum / (double)cnt);
    }
  }
}

static const char *series_names[1 + N_SERIES] = {"width", "FO standard", "plain standard",
                                                 "shared standard", "FO NTK", "plain NTK",
                                                 "shared NTK"};

static int sweep_figure(const nzk_exp_config *cfg, json_t *exp, const nzk_sweep_config *sc,
                        const nzk_sweep_row *rows, size_t n_rows)
{
  char gap[4096], drift[4096], png[4096];
  const char *rel = "fig/width_sweep_gap_drift.png";
  gsl_matrix *G = gsl_matrix_alloc(sc->n_widths, 1 + N_SERIES);
  gsl_matrix *D = gsl_matrix_alloc(sc->n_widths, 1 + N_SERIES);
  int status = (!G || !D) ? GSL_ENOMEM : 0;
  if (!status) status = nzk_path_join(gap, sizeof gap, cfg->out_dir, "fig/width_sweep_gap_drift.gap.dat");
  if (!status)
    status = nzk_path_join(drift, sizeof drift, cfg->out_dir,
                           "fig/width_sweep_gap_drift.drift.dat");
  if (!status) status = nzk_path_join(png, sizeof png, cfg->out_dir, rel);
  if (!status) {
    sweep_means(sc, rows, n_rows, 0, G);
    sweep_means(sc, rows, n_rows, 1, D);
    status = nzk_plot_write_columns(gap, series_names, G);
  }
  if (!status) status = nzk_plot_write_columns(drift, series_names, D);
  const char *vars[] = {"gapfile", gap, "driftfile", drift, "ncol", "7", "title",
                        "T4: full network against its linearisation, by hidden width", NULL};
  if (!status) status = nzk_plot_run("width_sweep", png, vars);
  if (!status)
    status = nzk_exp_add_figure(exp, "gap_drift", rel,
                                "Function gap |f_full - f_lin| / |f_lin - y| and kernel drift "
                                "|K_T - K_0|_F / |K_0|_F at the end of training against hidden "
                                "width (mean over seeds), log-log.");
  gsl_matrix_free(G);
  gsl_matrix_free(D);
  return status;
}

static json_t *slope_table(const nzk_sweep_row *rows, size_t n_rows)
{
  static const char *names[] = {"parametrisation", "method", "gap slope", "gap slope SE",
                                "drift slope", "drift slope SE", "runs diverged"};
  json_t *t = nzk_table_new("slopes", "Log-log slopes of gap and drift against width", 7,
                            names, NULL);
  for (int s = 0; t && s < N_SERIES; s++) {
    nzk_parametrisation par = s < 3 ? NZK_PARAM_STANDARD : NZK_PARAM_NTK;
  nzk_sweep_fit fit;
    nzk_sweep_fit_slopes(rows, n_rows, par, sweep_methods[s % 3], &fit);
    json_t *row = nzk_table_add_row(t);
    nzk_row_str(row, nzk_parametrisation_name(par));
    nzk_row_str(row, nzk_method_name(sweep_methods[s % 3]));
    nzk_row_real(row, fit.gap_slope);
    nzk_row_real(row, fit.gap_se);
    nzk_row_real(row, fit.drift_slope);
    nzk_row_real(row, fit.drift_se);
    nzk_row_int(row, (long long)fit.n_diverged);
  }
  return t;
}

/* Metrics and the text of the sweep, from the NTK-parametrised FO fit. */
static void sweep_text(json_t *exp, const nzk_sweep_config *sc, const nzk_sweep_row *rows,
                       size_t n_rows)
{
  nzk_sweep_fit fit;
  nzk_sweep_fit_slopes(rows, n_rows, NZK_PARAM_NTK, NZK_METHOD_FO, &fit);
  nzk_exp_set_metric(exp, "drift_slope_ntk_fo", fit.drift_slope);
  nzk_exp_set_metric(exp, "gap_slope_ntk_fo", fit.gap_slope);
  nzk_exp_set_text(exp, "compared", "Full ReLU networks trained by FO and by the plain and "
                   "shared ZO schemes against their linearisations at theta0 (same draws), "
                   "for hidden widths %zu to %zu.", sc->widths[0],
                   sc->widths[sc->n_widths - 1]);
  nzk_exp_set_text(exp, "found", "Under NTK parametrisation the FO kernel drift %s with "
                   "width (log-log slope %.3g +- %.3g) and the function gap %s (slope %.3g "
                   "+- %.3g); the table has every method and parametrisation, with the runs "
                   "that diverged.  Linearised dynamics describe a network only where the "
                   "drift is small; the paper's 64-10-5-1 network is narrow.",
                   fit.drift_slope < 0 ? "falls" : "does not fall", fit.drift_slope,
                   fit.drift_se, fit.gap_slope < 0 ? "falls" : "does not fall",
                   fit.gap_slope, fit.gap_se);
}

int nzk_exp_width_sweep(const nzk_exp_config *cfg, json_t *doc)
{
  double t0 = nzk_xp_now();
  nzk_sweep_config sc;
  nzk_sweep_config_default(&sc);
  static const size_t quick_w[] = {8, 16, 32}, full_w[] = {16, 64, 256, 1024};
  sc.n_widths = cfg->quick ? 3 : 4;
  memcpy(sc.widths, cfg->quick ? quick_w : full_w, sc.n_widths * sizeof(size_t));
  sc.methods_mask = 1u | 2u | 8u; /* fo, plain, shared */
  sc.n_seeds = 1; /* width 1024 dominates the full run: about 2 min per seed */
  sc.steps = cfg->quick ? 60 : 300;
  sc.seed = cfg->seed + 61;
  sc.eta = 0.1; /* of 2n / tr NTK; at 0.5 the ZO runs diverged at every width */
  const size_t n = cfg->quick ? 16 : 32;
  gsl_matrix *X = gsl_matrix_alloc(n, 2);
  gsl_vector *y = gsl_vector_alloc(n);
  gsl_rng *r = nzk_stream_alloc(cfg->seed + 62, 0);
  nzk_sweep_row *rows = NULL;
  size_t n_rows = 0;
  int status = (!X || !y || !r) ? GSL_ENOMEM : 0;
  if (!status) status = nzk_synth_sphere(r, 0.05, X, y, NULL);
  nzk_xp_progress(cfg, "T4: width sweep");
  if (!status) status = nzk_width_sweep(&sc, X, y, &rows, &n_rows);
  json_t *exp = status ? NULL : nzk_results_add_experiment(doc, "width_sweep", "Theorem T4: "
                                                           "full networks against their "
                                                           "linearisation, by width");
  if (!status && !exp) status = nzk_error_code();
  if (!status) {
    nzk_exp_add_theorem(exp, "T4");
    nzk_exp_set_setting_real(exp, "n", (double)n);
    nzk_exp_set_setting_real(exp, "steps", (double)sc.steps);
    nzk_exp_set_setting_real(exp, "seeds", (double)sc.n_seeds);
    nzk_exp_set_setting_real(exp, "eta (relative to 2n / tr NTK)", sc.eta);
    nzk_exp_set_setting_str(exp, "network", "d - w - w - 1 ReLU, standard and NTK "
                            "parametrisation, offset linearisation");
    status = nzk_exp_add_table(exp, slope_table(rows, n_rows));
  }
  if (!status) status = sweep_figure(cfg, exp, &sc, rows, n_rows);
  if (!status) sweep_text(exp, &sc, rows, n_rows);
  if (exp) nzk_exp_set_elapsed(exp, nzk_xp_now() - t0);
  free(rows);
  gsl_matrix_free(X);
  gsl_vector_free(y);
  gsl_rng_free(r);
  return status;
}
