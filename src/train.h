/* train.h: training any nzk_model under the squared loss, first order (FO)
 * or zeroth order (ZO) in parameter space (DESIGN.md sections 1, 2, 5).
 *
 * Loss L(theta) = (1/2n) |f(X; theta) - y|^2, residual r = f - y.
 *
 *   FO        theta <- theta - eta J^T r / n           (uses the Jacobian)
 *   ZO plain  theta <- theta - eta d_z z
 *   ZO pair   theta <- theta - eta d_zeta (z.zeta) z    (z, zeta independent)
 *   ZO shared theta <- theta - eta d_z |z|^2 z
 *   ZO best   K directions z_k, keep the most negative d_k,
 *             theta <- theta - eta d_k z_k             (DESIGN.md section 5)
 *
 * with the central difference d_u = [L(theta + eps u) - L(theta - eps u)] /
 * (2 eps), computed from the two forward passes only.  The loss difference
 * is formed as (1/2n) sum_i (f+_i - f-_i)(f+_i + f-_i - 2 y_i), which is the
 * same number as L+ - L- without the cancellation of two nearly equal
 * losses.  For a model linear in theta, d_u = u . (J^T r) / n exactly.
 *
 * The trainer follows GSL's solver style: alloc once, init with theta0 and
 * a run index, then the driver calls step and the query functions in its
 * own loop and records what it wants.  Workspaces are allocated once; a
 * step never calls malloc (the model's forward should not either).
 *
 * Randomness: step t of run `run` draws its directions from the light
 * stream (nzk_stream_alloc_light, rng_stream.h) of chunk (run << 32) + t
 * of params.seed; re-keying it costs nanoseconds, where re-keying MT19937
 * would cost more than a small model's step.  A direction lives
 * in a workspace during its step only, so any step of any run can be
 * replayed from (seed, run, t) alone; nothing is stored across steps
 * except what nzk_trainer_last exposes until the next step.
 * Limitation: at most 2^32 steps per run and 2^32 runs per seed.
 * Limitation: besides its two forward passes a ZO step draws p numbers
 * (~12 ns each) and makes O(n + p) passes over vectors; that is ~20% of
 * the forwards from n p ~ 1e4 up, but ~80% for a 100 x 2 linear model
 * whose forward pass takes 60 ns (bench/bench_train.c).
 *
 * Divergence: a loss seen during a step or a query that is not finite, or
 * exceeds  runaway_factor * max(L(theta0), |y|^2 / (2n), DBL_MIN),  makes
 * the call return GSL_ERUNAWAY with the run and step in the reason; the
 * trainer then refuses further steps until the next init. */
#ifndef NZK_TRAIN_H
#define NZK_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "direction.h"
#include "kernel.h"
#include "model.h"

typedef enum {
  NZK_STEP_FO = 0, /* first-order gradient descent */
  NZK_STEP_ZO,     /* one ZO step of params.scheme */
  NZK_STEP_ZO_BEST /* best of params.best_k directions (plain update) */
} nzk_step_kind;

typedef struct {
  nzk_step_kind kind;
  nzk_scheme scheme;     /* NZK_STEP_ZO: plain, pair or shared */
  const nzk_dir *z;      /* ZO: law of z (borrowed; must outlive the trainer) */
  const nzk_dir *zeta;   /* ZO pair: law of zeta; NULL means the law of z */
  double eta;            /* step size, > 0 */
  double eps;            /* finite-difference half-width, > 0 */
  size_t best_k;         /* NZK_STEP_ZO_BEST: directions per step, >= 1 */
  double runaway_factor; /* divergence bound factor, > 1 (see above) */
  uint64_t seed;         /* seed of the direction streams */
} nzk_train_params;

/* Defaults: FO, plain, z NULL, eta 1e-3, eps 1e-3, best_k 100,
 * runaway_factor 1e8, seed 0. */
void nzk_train_params_default(nzk_train_params *par);
const char *nzk_step_kind_name(nzk_step_kind kind);
/* "fo", "zo" or "zo-best"; GSL_EINVAL otherwise. */
int nzk_step_kind_parse(const char *name, nzk_step_kind *kind);

typedef struct nzk_trainer nzk_trainer;

/* A trainer of `model` on X (n x d) and y (length n).  model and X are
 * borrowed and must outlive the trainer; y is copied.  The parameters are
 * copied and validated: GSL_EINVAL (eta, eps, best_k, runaway_factor, a
 * missing direction law), GSL_EBADLEN (shapes, a law whose dimension is
 * not model->p).  Returns NULL after NZK_FAIL. */
nzk_trainer *nzk_trainer_alloc(nzk_model *model, const gsl_matrix *X, const gsl_vector *y,
                               const nzk_train_params *par);
void nzk_trainer_free(nzk_trainer *t);

/* Start run `run` at theta0 (length p, copied): iteration count 0,
 * evaluates f(theta0) and fixes the divergence bound.  Returns 0, the
 * model's status, or GSL_ERUNAWAY if L(theta0) is not finite. */
int nzk_trainer_init(nzk_trainer *t, const double *theta0, uint64_t run);

/* One step of the configured kind from theta_t to theta_{t+1}.  Costs:
 * ZO 2 forward passes + O(p) (the step does not evaluate f(theta_{t+1});
 * a later query does, once); ZO best 2K forward passes; FO one Jacobian
 * and, if f(theta_t) was not queried, one forward pass.
 * Returns 0, the model's status, GSL_EFAILED if init was not called, or
 * GSL_ERUNAWAY (reason names run and step t). */
int nzk_trainer_step(nzk_trainer *t);

/* Queries.  iter: steps taken since init.  theta: length p, valid until
 * the next step or init.  loss, f (length n) and residual r = f - y
 * (length n) evaluate f(theta_t) once per step (one forward pass) and
 * cache it; they return the model's status or GSL_ERUNAWAY as above. */
size_t nzk_trainer_iter(const nzk_trainer *t);
const double *nzk_trainer_theta(const nzk_trainer *t);
int nzk_trainer_loss(nzk_trainer *t, double *loss);
int nzk_trainer_f(nzk_trainer *t, const double **f);
int nzk_trainer_residual(nzk_trainer *t, const double **r);
size_t nzk_trainer_n(const nzk_trainer *t);
size_t nzk_trainer_p(const nzk_trainer *t);

/* Drive an initialised trainer for `steps` steps, recording as it goes:
 * loss[j] = L(theta) after iter0 + j steps, j = 0..steps (loss has
 * steps + 1 entries, may be NULL), where iter0 is the iteration count on
 * entry; and row k of F (nrec x n) = f(theta) after rec[k] steps in
 * total (rec ascending, iter0 <= rec[k] <= iter0 + steps; F may be NULL
 * when nrec == 0).  One forward pass per step for the loss, on top of the
 * step's own.  Returns 0, GSL_EINVAL / GSL_EBADLEN for bad records or
 * shapes, or the first failure of a step (GSL_ERUNAWAY names the step);
 * on failure the outputs hold what was recorded before it. */
int nzk_trainer_run(nzk_trainer *t, size_t steps, double *loss, const size_t *rec, size_t nrec,
                    gsl_matrix *F);

/* R independent runs (run indices 0..R-1, each from theta0) of `steps`
 * steps, recorded as in nzk_trainer_run and summarised over the runs:
 * loss_mean / loss_sd (steps + 1 entries) and F_mean / F_sd (nrec x n)
 * hold the mean and the standard deviation across runs (divisor R - 1;
 * zero when R == 1).  Any output may be NULL (F_mean only if nrec == 0).
 * Running sums (Welford), so memory does not grow with R.  Returns 0, or
 * the first failure (GSL_ERUNAWAY names run and step), GSL_EINVAL for
 * R == 0. */
int nzk_trainer_ensemble(nzk_trainer *t, const double *theta0, size_t runs, size_t steps,
                         const size_t *rec, size_t nrec, double *loss_mean, double *loss_sd,
                         gsl_matrix *F_mean, gsl_matrix *F_sd);

/* What the last step did (valid until the next step or init).  The update
 * was theta_{t+1} = theta_t - eta * d * coef * z.  For ZO, the realised
 * one-step kernel is K_t = coef (J z)(J zeta)^T (DESIGN.md section 2), so
 * v = J z and w = J zeta are the rows to feed nzk_kacc_add.  For FO, z is
 * the gradient J^T r / n, d = 1, coef = 1, zeta = NULL. */
typedef struct {
  size_t step;       /* t, the index of the step (0 for the first) */
  double d;          /* central difference d_u (ZO) */
  double coef;       /* 1 (plain, best, FO), z.zeta (pair), |z|^2 (shared) */
  const double *z;   /* update direction, length p */
  const double *zeta;/* probe direction (pair), z otherwise; NULL for FO */
  double loss_plus;  /* L(theta_t + eps u) (ZO; for best, of the kept u) */
  double loss_minus; /* L(theta_t - eps u) */
} nzk_step_info;

/* NULL before the first step after init. */
const nzk_step_info *nzk_trainer_last(const nzk_trainer *t);

#endif
