/* network_sweep.c: the T4 width sweep, full networks against their
 * linearizations (network.h, DESIGN.md section 3). */
#include "network.h"
#include "model_linearized.h"
#include "nzk_error.h"
#include "rng_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nzk_sweep_config_default(nzk_sweep_config *cfg)
{
  static const size_t widths[] = {16, 64, 256, 1024};
  memset(cfg, 0, sizeof *cfg);
  memcpy(cfg->widths, widths, sizeof widths);
  cfg->n_widths = 4;
  cfg->depth = 2;
  cfg->act = NZK_ACT_RELU;
  cfg->params_mask = 3;
  cfg->methods_mask = 15;
  cfg->n_seeds = 3;
  cfg->seed = 1;
  cfg->steps = 200;
  cfg->eta = 0.01;
  cfg->eta_relative = 1;
  cfg->eps = 1e-3;
  cfg->policy = NZK_ETA_MATCHED;
  cfg->law = nzk_law_normal(1.0);
  cfg->runaway_factor = 1e4;
  cfg->variant = NZK_LIN_OFFSET;
}

static int sweep_validate(const nzk_sweep_config *cfg, const gsl_matrix *X)
{
  if (cfg->n_widths == 0 || cfg->n_widths > NZK_MLP_MAX_LAYERS)
    return NZK_FAIL(GSL_EINVAL, "sweep: %zu widths, expected 1 to %d", cfg->n_widths,
                    NZK_MLP_MAX_LAYERS);
  if (cfg->depth < 1 || cfg->depth >= NZK_MLP_MAX_LAYERS)
    return NZK_FAIL(GSL_EINVAL, "sweep: depth %zu, expected 1 to %d", cfg->depth,
                    NZK_MLP_MAX_LAYERS - 1);
  if (cfg->n_seeds == 0 || !(cfg->params_mask & 3) || !(cfg->methods_mask & 15))
    return NZK_FAIL(GSL_EINVAL, "sweep: no seeds, parametrisations or methods selected");
  if (X->size1 == 0 || X->size2 == 0)
    return NZK_FAIL(GSL_EINVAL, "sweep: empty data (%zu x %zu)", X->size1, X->size2);
  for (size_t k = 0; k < cfg->n_widths; k++)
    if (cfg->widths[k] == 0) return NZK_FAIL(GSL_EINVAL, "sweep: width %zu is zero", k + 1);
  return nzk_law_validate(&cfg->law);
}

/* The spec d - w (depth times) - 1. */
static nzk_mlp_spec sweep_spec(const nzk_sweep_config *cfg, size_t d, size_t w,
                               nzk_parametrisation param)
{
  nzk_mlp_spec s;
  memset(&s, 0, sizeof s);
  s.n_layers = cfg->depth + 1;
  s.widths[0] = d;
  for (size_t l = 1; l <= cfg->depth; l++) s.widths[l] = w;
  s.widths[cfg->depth + 1] = 1;
  s.act = cfg->act;
  s.param = param;
  return s;
}

/* All methods of one (width, param, seed): one network, one linearization. */
static int sweep_cell(const nzk_sweep_config *cfg, const gsl_matrix *X, const gsl_vector *y,
                      const nzk_mlp_spec *spec, size_t s, nzk_sweep_row *rows, size_t *k)
{
  nzk_model *net = nzk_mlp_alloc(spec), *lin = NULL;
  if (!net) return nzk_error_code();
  double *theta0 = malloc(net->p * sizeof *theta0);
  gsl_rng *r = nzk_stream_alloc(cfg->seed, s);
  nzk_dir *z = nzk_dir_alloc_iid(&cfg->law, net->p);
  int status = (!theta0 || !r || !z) ? NZK_FAIL(GSL_ENOMEM, "sweep: out of memory (p = %zu)",
                                                net->p) : 0;
  if (!status) status = nzk_mlp_init(spec, r, theta0);
  if (!status && !(lin = nzk_linearized_alloc(net, theta0, X, cfg->variant, 0)))
    status = nzk_error_code();
  double eta_net = cfg->eta, trace = 0;
  if (!status && cfg->eta_relative) {
    status = nzk_network_ntk_trace(net, theta0, X, NULL, &trace);
    eta_net = cfg->eta * (double)X->size1 / trace;
  }
  for (int m = 0; m < NZK_N_METHODS && !status; m++) {
    if (!(cfg->methods_mask & (1u << m))) continue;
    nzk_sweep_row *row = &rows[(*k)++];
    nzk_compare_params par;
    nzk_compare_params_default(&par);
    par.method = (nzk_method)m;
    par.eps = cfg->eps;
    par.steps = cfg->steps;
    par.record_every = 0;
    par.record_drift = 0;
    par.runaway_factor = cfg->runaway_factor;
    par.z = z;
    par.seed = cfg->seed + 1;
    par.run = s;
    *row = (nzk_sweep_row){spec->widths[1], net->p, s, spec->param, (nzk_method)m, 0, {0}};
    status = nzk_method_eta(par.method, cfg->policy, eta_net, z, &par.eta);
    row->eta = par.eta;
    if (!status)
      status = nzk_compare_run(net, lin, theta0, X, y, &par, NULL, NULL, NULL, &row->res);
    nzk_log(NZK_LOG_INFO, "sweep: width %zu %s seed %zu %s: gap %.3g drift %.3g%s",
            row->width, nzk_parametrisation_name(spec->param), s, nzk_method_name(par.method),
            row->res.gap, row->res.drift, row->res.diverged ? " (diverged)" : "");
  }
  nzk_model_free(lin);
  nzk_model_free(net);
  nzk_dir_free(z);
  if (r) gsl_rng_free(r);
  free(theta0);
  return status;
}

int nzk_width_sweep(const nzk_sweep_config *cfg, const gsl_matrix *X, const gsl_vector *y,
                    nzk_sweep_row **rows, size_t *n_rows)
{
  *rows = NULL;
  *n_rows = 0;
  int status = sweep_validate(cfg, X);
  if (status) return status;
  size_t per_cell = 0;
  for (int m = 0; m < NZK_N_METHODS; m++) per_cell += (cfg->methods_mask >> m) & 1u;
  const size_t total = cfg->n_widths * 2 * cfg->n_seeds * per_cell;
  nzk_sweep_row *out = calloc(total, sizeof *out);
  if (!out) return NZK_FAIL(GSL_ENOMEM, "sweep: out of memory for %zu rows", total);
  size_t k = 0;
  for (size_t wi = 0; wi < cfg->n_widths && !status; wi++)
    for (int pz = 0; pz < 2 && !status; pz++) {
      if (!(cfg->params_mask & (1u << pz))) continue;
      nzk_mlp_spec spec = sweep_spec(cfg, X->size2, cfg->widths[wi], (nzk_parametrisation)pz);
      for (size_t s = 0; s < cfg->n_seeds && !status; s++)
        status = sweep_cell(cfg, X, y, &spec, s, out, &k);
    }
  if (status) {
    free(out);
    return status;
  }
  *rows = out;
  *n_rows = k;
  return 0;
}

void nzk_sweep_fit_slopes(const nzk_sweep_row *rows, size_t n_rows, nzk_parametrisation param,
                          nzk_method method, nzk_sweep_fit *fit)
{
  double *w = malloc((n_rows + 1) * sizeof *w), *g = malloc((n_rows + 1) * sizeof *g);
  double *dr = malloc((n_rows + 1) * sizeof *dr);
  size_t m = 0;
  memset(fit, 0, sizeof *fit);
  fit->gap_slope = fit->gap_se = fit->drift_slope = fit->drift_se = NAN;
  for (size_t i = 0; i < n_rows && w && g && dr; i++) {
    if (rows[i].param != param || rows[i].method != method) continue;
    fit->n_rows++;
    if (rows[i].res.diverged) {
      fit->n_diverged++;
      continue;
    }
    w[m] = (double)rows[i].width;
    g[m] = rows[i].res.gap;
    dr[m++] = rows[i].res.drift;
  }
  if (w && g && dr) {
    if (nzk_loglog_slope(w, g, m, &fit->gap_slope, &fit->gap_se, &fit->gap_used))
      fit->gap_slope = fit->gap_se = NAN;
    if (nzk_loglog_slope(w, dr, m, &fit->drift_slope, &fit->drift_se, &fit->drift_used))
      fit->drift_slope = fit->drift_se = NAN;
    nzk_error_clear();
  }
  free(w);
  free(g);
  free(dr);
}
