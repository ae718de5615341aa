/* network.h: kernels and measurements of trained networks, full versus
 * linearized (DESIGN.md section 3, T2 contrast and T4).
 *
 * A training method is FO or one ZO scheme.  Its kernel at theta is the
 * NTK J J^T for FO and the expected NZK J M J^T for a ZO scheme
 * (kernel.h), J = J(X; theta) the n x p Jacobian.  The two T4 measures:
 *   function gap   |f_full - f_lin| / |f_lin - y|            (Euclidean)
 *   kernel drift   |Kbar_t - Kbar_0|_F / |Kbar_0|_F
 * where f_full and f_lin are the outputs on the training inputs after
 * the same number of steps of the same method (ZO runs share their
 * direction streams, so the two see the same draws), and Kbar_t is the
 * method's kernel at the full network's theta_t. */
#ifndef NZK_NETWORK_H
#define NZK_NETWORK_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "direction.h"
#include "kernel.h"
#include "law.h"
#include "model.h"
#include "model_linearized.h"
#include "model_mlp.h"
#include "train.h"

typedef enum {
  NZK_METHOD_FO = 0,
  NZK_METHOD_PLAIN,
  NZK_METHOD_PAIR,
  NZK_METHOD_SHARED
} nzk_method;

#define NZK_N_METHODS 4

/* "fo", "plain", "pair" (or "independent"), "shared"; GSL_EINVAL else. */
int nzk_method_parse(const char *name, nzk_method *method);
const char *nzk_method_name(nzk_method method);
/* The ZO scheme of a ZO method (plain for FO, which has none). */
nzk_scheme nzk_method_scheme(nzk_method method);

/* K (n x n) = the method's kernel at theta: J J^T (FO) or the expected
 * kernel of the scheme with direction laws z, zeta (zeta NULL = law of z;
 * both ignored for FO).  J_work is an n x p workspace that receives
 * J(X; theta), or NULL to allocate one for the call (n p doubles).
 * Returns 0, the model's status, GSL_EBADLEN on shapes, GSL_EDOM if the
 * expectation does not exist, GSL_ENOMEM. */
int nzk_network_kernel(nzk_model *m, const double *theta, const gsl_matrix *X, nzk_method method,
                       const nzk_dir *z, const nzk_dir *zeta, gsl_matrix *J_work, gsl_matrix *K);

/* *trace = tr(J J^T) = sum_i |g_i|^2 at theta (the NTK's trace), with
 * J_work as in nzk_network_kernel. */
int nzk_network_ntk_trace(nzk_model *m, const double *theta, const gsl_matrix *X,
                          gsl_matrix *J_work, double *trace);

/* |K1 - K0|_F / |K0|_F (NaN if |K0|_F = 0 or the shapes differ). */
double nzk_kernel_rel_change(const gsl_matrix *K0, const gsl_matrix *K1);

/* |f_full - f_lin| / |f_lin - y| over n entries (NaN if f_lin = y). */
double nzk_function_gap(const double *f_full, const double *f_lin, const double *y, size_t n);

/* --- realised kernels along a run (T2 on networks) ----------------------
 *
 * Drive an initialised ZO trainer (train.h) for `steps` steps over
 * `model` (the trainer's model) on X; for each of the last `window`
 * steps add the kernel realised by that step's draws at the parameters it
 * started from,
 *   K_t = coef_t (J_t z_t)(J_t zeta_t)^T,   J_t = J(X; theta_t),
 * to acc (kernel.h; n x n, allocated with batch_max >= 64).  For a model linear in theta
 * J_t is constant, the draws are independent of it, and the mean of K_t
 * estimates the expected kernel of DESIGN.md section 2 without bias (T2);
 * for a network, J_t drifts and the window mean is the expected kernel
 * averaged along the trajectory instead.  If K_avg (n x n) is not NULL it
 * receives that average, (1/window) sum_t E K(theta_t), the expected
 * kernel of `scheme` under the laws z, zeta (zeta NULL = z's, as for the
 * trainer) at each recorded theta_t; the window mean of K_t is an
 * unbiased estimate of it for any model, since step t's draws are
 * independent of theta_t.  One Jacobian (and one expected kernel) per
 * recorded step.  Returns 0, GSL_EINVAL (window > steps, an FO trainer,
 * K_avg without z), GSL_EBADLEN, or the status of a step (GSL_ERUNAWAY),
 * of the model or of the expected kernel. */
int nzk_network_realised_kernels(nzk_trainer *t, nzk_model *model, const gsl_matrix *X,
                                 size_t steps, size_t window, nzk_kacc *acc, nzk_scheme scheme,
                                 const nzk_dir *z, const nzk_dir *zeta, gsl_matrix *K_avg);

/* --- step sizes ---------------------------------------------------------
 *
 * Policy "same" gives every method the base eta (the paper's setting,
 * DESIGN.md T5 (a)).  Policy "matched" scales it so the methods compare
 * at the same footing, for zero-mean i.i.d. directions with raw moments
 * a2 = E u^2, a4 = E u^4 and D = (p-1) a2^2 + a4 (so M2 = a2 I and
 * M4 = D I, DESIGN.md section 2):
 *   FO      eta
 *   plain   eta / a2   E K = a2 Theta: same expected step as FO
 *   shared  eta / D    E K = D Theta:  same expected step as FO
 *   pair    eta / D    E K = a2^2 Theta, but the parameter noise is large:
 *     the loss change of one step is -eta |g|^2 + (eta^2/2) E[dtheta^T H
 *     dtheta] with E[(zeta.g)^2 (z.zeta)^2 z^T H z] ~ p tr(H) |g|^2, p
 *     times the plain scheme's, so its mean-square stability limit on eta
 *     is ~p times smaller; eta / D keeps plain's ratio of noise to
 *     progress and therefore moves ~p times less per step than plain.
 * Under "same", shared and pair are unstable at large p (their limits
 * fall as 1/p); such runs stop with GSL_ERUNAWAY and are reported as
 * diverged. */
typedef enum { NZK_ETA_MATCHED = 0, NZK_ETA_SAME } nzk_eta_policy;

/* "matched" / "same"; GSL_EINVAL otherwise. */
int nzk_eta_policy_parse(const char *name, nzk_eta_policy *policy);
const char *nzk_eta_policy_name(nzk_eta_policy policy);

/* *eta_out = the step size of `method` under `policy` from the base eta.
 * z is the direction law (length p; ignored for FO); the pair scheme's
 * second law is taken to be z's.  GSL_EINVAL if "matched" is asked for a
 * direction law that is not zero-mean i.i.d., or eta is not positive;
 * GSL_EDOM if the law lacks the moment the method's step needs (the 2nd
 * for plain, eta / E z^2; the 4th for pair and shared, eta / D). */
int nzk_method_eta(nzk_method method, nzk_eta_policy policy, double eta, const nzk_dir *z,
                   double *eta_out);

/* --- full versus linearized training (T4) ------------------------------
 *
 * nzk_compare_run trains the network `net` from theta0 and its
 * linearization `lin` (model_linearized.h, made at the same theta0 on X)
 * side by side with the same method, step size and direction streams
 * (trainer run index `run` for both), and measures at every record
 *   loss of each, function gap (net vs lin), kernel drift of the net.
 * The trainer is train.h's; ZO steps use forward passes only.  lin may be
 * NULL: then only `net` is trained (any model, e.g. a linearized one on
 * its own) and the lin losses and the gap are NaN. */
typedef struct {
  nzk_method method;
  double eta;            /* step size used as is (apply nzk_method_eta first) */
  double eps;            /* ZO finite-difference half-width */
  size_t steps;          /* training steps */
  size_t record_every;   /* record every k steps and at the end; 0 = start and end */
  int record_drift;      /* kernel drift at every record (one Jacobian each), else end only */
  double runaway_factor; /* divergence bound (train.h), > 1 */
  const nzk_dir *z;      /* ZO direction law (also zeta) */
  uint64_t seed, run;    /* direction streams */
} nzk_compare_params;

/* Defaults: FO, eta 1e-3, eps 1e-3, 1000 steps, record every 100, drift at
 * records, runaway factor 1e4, z NULL, seed 0, run 0. */
void nzk_compare_params_default(nzk_compare_params *par);

/* Records; arrays of n_records entries, f_full and f_lin n_records x n.
 * Filled by nzk_compare_run (which allocates them); free with
 * nzk_compare_trace_free.  drift is NaN where it was not computed. */
typedef struct {
  size_t n_records;
  size_t *step;
  double *loss_full, *loss_lin, *gap, *drift;
  gsl_matrix *f_full, *f_lin;
} nzk_compare_trace;

void nzk_compare_trace_free(nzk_compare_trace *trace);

typedef struct {
  size_t steps_done;  /* steps both runs completed */
  int diverged;       /* 0, or 1 (net) / 2 (lin) / 3 (both) ran away */
  double loss0;       /* L(theta0) of the net */
  double loss_full, loss_lin, gap, drift; /* at the end (NaN if diverged) */
} nzk_compare_result;

/* Run the comparison.  X: n x d, y: length n, theta0: length p.  K0 and
 * KT (n x n, may be NULL) receive the method's kernel of the net at
 * theta0 and at the end.  trace may be NULL.  Returns 0 (also when a run
 * diverged: see res->diverged), or the status of a model, of the trainer
 * set-up or of a kernel (GSL_EINVAL, GSL_EBADLEN, GSL_ENOMEM, GSL_EDOM). */
int nzk_compare_run(nzk_model *net, nzk_model *lin, const double *theta0, const gsl_matrix *X,
                    const gsl_vector *y, const nzk_compare_params *par, gsl_matrix *K0,
                    gsl_matrix *KT, nzk_compare_trace *trace, nzk_compare_result *res);

/* --- the width sweep (T4) -------------------------------------------------
 *
 * For every hidden width w, parametrisation, seed s and method: an MLP
 * d - w - ... - w - 1 (`depth` hidden layers) initialised from stream
 * (seed, s) of rng_stream.h (the same network for every method), its
 * linearization (offset unless cfg->variant says otherwise), and one
 * nzk_compare_run of `steps` steps with directions from seed + 1, run s.
 *
 * Step size.  With eta_relative set, the base step of each network is
 *   eta_net = eta * n / tr(Theta_0),   Theta_0 its NTK at theta0,
 * so eta is a fraction of the scale 2n / tr(Theta_0) below which FO and
 * the plain scheme are stable (FO needs eta lambda_max / n < 2 and
 * lambda_max <= tr Theta).  This keeps the function-space step the same
 * across widths and parametrisations: under standard parametrisation
 * tr(Theta_0) grows with the width and a fixed eta diverges (measured:
 * FO at eta = 0.1 diverges at width 1024, n = 32); under NTK
 * parametrisation tr(Theta_0) / n tends to a constant, so eta_net tends
 * to a fixed step, the setting of the NTK limit.  Otherwise eta_net = eta.
 * The method's policy (nzk_method_eta) is then applied to eta_net.
 *
 * Memory: the net's Jacobian (n p doubles) for the NTK trace and the
 * drift, plus the FO trainer's (n p) for FO; the linearization keeps no
 * Jacobian (model_linearized.h).  With n = 32 and w = 1024 (p = 1.05e6
 * for d = 2) that is 270 MB each, so sweeps use a modest n. */
typedef struct {
  size_t widths[NZK_MLP_MAX_LAYERS]; /* hidden widths swept */
  size_t n_widths;
  size_t depth;          /* hidden layers, >= 1 */
  nzk_activation act;
  unsigned params_mask;  /* bit k: parametrisation k (standard 1, ntk 2) */
  unsigned methods_mask; /* bit k: method k (fo 1, plain 2, pair 4, shared 8) */
  size_t n_seeds;
  uint64_t seed;
  size_t steps;
  double eta, eps;
  int eta_relative;      /* 1: eta_net = eta n / tr(Theta_0) (see above) */
  nzk_eta_policy policy;
  nzk_law law;           /* entries of the directions z (and zeta) */
  double runaway_factor;
  nzk_lin_variant variant; /* linearization compared with (offset for T4) */
} nzk_sweep_config;

/* Defaults: widths 16, 64, 256, 1024; depth 2; ReLU; both
 * parametrisations; all four methods; 3 seeds, seed 1; 200 steps;
 * eta 0.01 relative (matched policy), eps 1e-3; N(0, 1) directions; runaway 1e4;
 * offset linearization. */
void nzk_sweep_config_default(nzk_sweep_config *cfg);

typedef struct {
  size_t width, p, seed_index;
  nzk_parametrisation param;
  nzk_method method;
  double eta;               /* step size used */
  nzk_compare_result res;
} nzk_sweep_row;

/* Run the sweep on X (n x d), y.  *rows (allocated, free with free()) gets
 * one row per (width, param, seed, method) in that nesting order.  A
 * diverged run is a row with res.diverged set, not an error.  Returns 0,
 * GSL_EINVAL for a bad configuration, or the first failing status. */
int nzk_width_sweep(const nzk_sweep_config *cfg, const gsl_matrix *X, const gsl_vector *y,
                    nzk_sweep_row **rows, size_t *n_rows);

/* Log-log slopes against width of the gap and of the drift over the rows
 * of one (param, method), all seeds pooled; diverged rows are left out
 * and counted. */
typedef struct {
  double gap_slope, gap_se, drift_slope, drift_se; /* NaN if not fitted */
  size_t gap_used, drift_used, n_rows, n_diverged;
} nzk_sweep_fit;

void nzk_sweep_fit_slopes(const nzk_sweep_row *rows, size_t n_rows, nzk_parametrisation param,
                          nzk_method method, nzk_sweep_fit *fit);

/* Ordinary least squares of log v on log w over the m points with v > 0
 * and finite: slope and its standard error (sigma_hat / sqrt(Sxx)).
 * *used = points used.  GSL_EDOM if fewer than 3 points remain or all
 * widths are equal. */
int nzk_loglog_slope(const double *w, const double *v, size_t m, double *slope, double *se,
                     size_t *used);

#endif
