/* train.c: FO and parameter-space ZO steps for any nzk_model under the
 * squared loss (see train.h; DESIGN.md sections 1, 2 and 5). */
#include "train.h"
#include "dynamics.h"
#include "nzk_error.h"
#include "rng_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nzk_blas.h"

struct nzk_trainer {
  nzk_model *model;
  const gsl_matrix *X;
  nzk_train_params par;
  size_t n, p;
  double *y;              /* n, copy of the targets */
  double *theta, *theta_pm; /* p: current parameters, theta +- eps u */
  double *z, *zeta, *zbest; /* p: directions of the current step */
  double *f, *fp, *fm;    /* n: f(theta), f(theta + eps u), f(theta - eps u) */
  double *r;              /* n: residual f - y (valid with f) */
  gsl_matrix *J;          /* n x p, FO only */
  gsl_rng *rng;
  uint64_t run;
  size_t iter;
  int started, f_valid, diverged;
  double loss, bound;
  nzk_step_info last;
  int have_last;
};

static const char *kind_names[] = {"fo", "zo", "zo-best"};

void nzk_train_params_default(nzk_train_params *par)
{
  memset(par, 0, sizeof *par);
  par->kind = NZK_STEP_FO;
  par->scheme = NZK_SCHEME_PLAIN;
  par->eta = 1e-3;
  par->eps = 1e-3;
  par->best_k = 100;
  par->runaway_factor = 1e8;
}

const char *nzk_step_kind_name(nzk_step_kind kind)
{
  return (unsigned)kind < 3 ? kind_names[kind] : "unknown";
}

int nzk_step_kind_parse(const char *name, nzk_step_kind *kind)
{
  for (int k = 0; k < 3; k++)
    if (strcmp(name, kind_names[k]) == 0) {
      *kind = (nzk_step_kind)k;
      return 0;
    }
  return NZK_FAIL(GSL_EINVAL, "unknown step kind '%s' (expected fo, zo or zo-best)", name);
}

/* --- allocation -------------------------------------------------------- */

static int check_params(const nzk_train_params *par, size_t p)
{
  if (!(par->eta > 0 && isfinite(par->eta)))
    return NZK_FAIL(GSL_EINVAL, "trainer: eta must be positive and finite, got %g", par->eta);
  if (!(par->runaway_factor > 1 && isfinite(par->runaway_factor)))
    return NZK_FAIL(GSL_EINVAL, "trainer: runaway_factor must exceed 1, got %g",
                    par->runaway_factor);
  if ((unsigned)par->kind > NZK_STEP_ZO_BEST)
    return NZK_FAIL(GSL_EINVAL, "trainer: unknown step kind %d", (int)par->kind);
  if (par->kind == NZK_STEP_FO) return 0;
  if (!(par->eps > 0 && isfinite(par->eps)))
    return NZK_FAIL(GSL_EINVAL, "trainer: eps must be positive and finite, got %g", par->eps);
  if ((unsigned)par->scheme > NZK_SCHEME_SHARED)
    return NZK_FAIL(GSL_EINVAL, "trainer: unknown scheme %d", (int)par->scheme);
  if (par->kind == NZK_STEP_ZO_BEST && par->best_k == 0)
    return NZK_FAIL(GSL_EINVAL, "trainer: best_k must be at least 1");
  if (!par->z) return NZK_FAIL(GSL_EINVAL, "trainer: a ZO step needs a direction law z");
  const nzk_dir *zeta = par->zeta ? par->zeta : par->z;
  if (nzk_dir_dim(par->z) != p || nzk_dir_dim(zeta) != p)
    return NZK_FAIL(GSL_EBADLEN, "trainer: direction laws have dimension %zu and %zu, model "
                    "has p = %zu", nzk_dir_dim(par->z), nzk_dir_dim(zeta), p);
  return 0;
}

void nzk_trainer_free(nzk_trainer *t)
{
  if (!t) return;
  double *bufs[] = {t->y, t->theta, t->theta_pm, t->z, t->zeta, t->zbest,
                    t->f, t->fp, t->fm, t->r};
  for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) free(bufs[k]);
  gsl_matrix_free(t->J);
  gsl_rng_free(t->rng);
  free(t);
}

static int alloc_buffers(nzk_trainer *t)
{
  const size_t n = t->n, p = t->p;
  t->y = malloc(n * sizeof(double));
  t->f = malloc(n * sizeof(double));
  t->fp = malloc(n * sizeof(double));
  t->fm = malloc(n * sizeof(double));
  t->r = malloc(n * sizeof(double));
  t->theta = malloc(p * sizeof(double));
  t->theta_pm = malloc(p * sizeof(double));
  t->z = malloc(p * sizeof(double));
  t->zeta = malloc(p * sizeof(double));
  t->zbest = malloc(p * sizeof(double));
  t->rng = nzk_stream_alloc_light(t->par.seed, 0);
  if (t->par.kind == NZK_STEP_FO) t->J = gsl_matrix_alloc(n, p);
  if (!t->y || !t->f || !t->fp || !t->fm || !t->r || !t->theta || !t->theta_pm || !t->z ||
      !t->zeta || !t->zbest || !t->rng || (t->par.kind == NZK_STEP_FO && !t->J))
    return NZK_FAIL(GSL_ENOMEM, "trainer: out of memory (n = %zu, p = %zu)", n, p);
  return 0;
}

nzk_trainer *nzk_trainer_alloc(nzk_model *model, const gsl_matrix *X, const gsl_vector *y,
                               const nzk_train_params *par)
{
  if (X->size2 != model->d || y->size != X->size1 || X->size1 == 0) {
    NZK_FAIL(GSL_EBADLEN, "trainer: X is %zu x %zu, y has %zu entries, model %s has d = %zu",
             X->size1, X->size2, y->size, model->name, model->d);
    return NULL;
  }
  if (check_params(par, model->p)) return NULL;
  nzk_trainer *t = calloc(1, sizeof *t);
  if (!t) {
    NZK_FAIL(GSL_ENOMEM, "trainer: out of memory");
    return NULL;
  }
  t->model = model;
  t->X = X;
  t->par = *par;
  t->n = X->size1;
  t->p = model->p;
  if (alloc_buffers(t)) {
    nzk_trainer_free(t);
    return NULL;
  }
  for (size_t i = 0; i < t->n; i++) t->y[i] = gsl_vector_get(y, i);
  return t;
}

/* --- losses and divergence --------------------------------------------- */

/* (1/2n) |f - y|^2 */
static double half_mse(const nzk_trainer *t, const double *f)
{
  double s = 0.0;
  for (size_t i = 0; i < t->n; i++) {
    double e = f[i] - t->y[i];
    s += e * e;
  }
  return 0.5 * s / (double)t->n;
}

/* GSL_ERUNAWAY if `loss` (seen at step t->iter) is not finite or too big. */
static int check_runaway(nzk_trainer *t, double loss, const char *what)
{
  if (isfinite(loss) && loss <= t->bound) return 0;
  t->diverged = 1;
  return NZK_FAIL(GSL_ERUNAWAY, "%s run %llu diverged at step %zu: %s = %g exceeds the bound %g "
                  "(runaway factor %g x initial loss scale)", nzk_step_kind_name(t->par.kind),
                  (unsigned long long)t->run, t->iter, what, loss, t->bound,
                  t->par.runaway_factor);
}

/* Evaluate f(theta_t), r and the loss once per step. */
static int refresh_f(nzk_trainer *t)
{
  if (t->diverged)
    return NZK_FAIL(GSL_ERUNAWAY, "trainer: run %llu already diverged; init again",
                    (unsigned long long)t->run);
  if (t->f_valid) return 0;
  int status = nzk_model_forward(t->model, t->theta, t->X, t->f);
  if (status) return status;
  for (size_t i = 0; i < t->n; i++) t->r[i] = t->f[i] - t->y[i];
  t->loss = half_mse(t, t->f);
  t->f_valid = 1;
  return check_runaway(t, t->loss, "loss");
}

int nzk_trainer_init(nzk_trainer *t, const double *theta0, uint64_t run)
{
  memcpy(t->theta, theta0, t->p * sizeof(double));
  t->run = run;
  t->iter = 0;
  t->started = 1;
  t->diverged = 0;
  t->have_last = 0;
  t->f_valid = 0;
  t->bound = INFINITY; /* refresh_f only rejects a non-finite L(theta0) */
  int status = refresh_f(t);
  if (status) {
    t->started = 0;
    return status;
  }
  t->bound = nzk_runaway_bound(t->par.runaway_factor, t->loss, t->y, t->n);
  return 0;
}

/* --- steps --------------------------------------------------------------- */

/* d_u from f(theta +- eps u); sets loss_plus / loss_minus of t->last. */
static int central_difference(nzk_trainer *t, const double *u, double *d)
{
  const size_t p = t->p, n = t->n;
  const double eps = t->par.eps;
  int status;
  for (size_t k = 0; k < p; k++) t->theta_pm[k] = t->theta[k] + eps * u[k];
  if ((status = nzk_model_forward(t->model, t->theta_pm, t->X, t->fp))) return status;
  for (size_t k = 0; k < p; k++) t->theta_pm[k] = t->theta[k] - eps * u[k];
  if ((status = nzk_model_forward(t->model, t->theta_pm, t->X, t->fm))) return status;

  /* one pass: L+ - L- = (1/2n) sum (f+ - f-)(f+ + f- - 2y), and L+, L- */
  double diff = 0.0, sp = 0.0, sm = 0.0;
  for (size_t i = 0; i < n; i++) {
    double ep = t->fp[i] - t->y[i], em = t->fm[i] - t->y[i];
    diff += (t->fp[i] - t->fm[i]) * (ep + em);
    sp += ep * ep;
    sm += em * em;
  }
  *d = diff / (4.0 * eps * (double)n); /* (L+ - L-) / (2 eps) */
  t->last.loss_plus = 0.5 * sp / (double)n;
  t->last.loss_minus = 0.5 * sm / (double)n;
  if ((status = check_runaway(t, fmax(t->last.loss_plus, t->last.loss_minus), "probe loss")))
    return status;
  if (!isfinite(*d)) return check_runaway(t, *d, "central difference");
  return 0;
}

/* theta <- theta - eta * d * coef * z */
static void update_theta(nzk_trainer *t, double d, double coef, const double *z)
{
  cblas_daxpy((int)t->p, -t->par.eta * d * coef, z, 1, t->theta, 1);
  t->f_valid = 0;
}

static int step_fo(nzk_trainer *t)
{
  int status = refresh_f(t);
  if (!status) status = nzk_model_jacobian(t->model, t->theta, t->X, t->J);
  if (status) return status;
  /* gradient J^T r / n into z */
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)t->n, (int)t->p, 1.0 / (double)t->n, t->J->data,
              (int)t->J->tda, t->r, 1, 0.0, t->z, 1);
  t->last = (nzk_step_info){t->iter, 1.0, 1.0, t->z, NULL, t->loss, t->loss};
  update_theta(t, 1.0, 1.0, t->z);
  return 0;
}

static int step_zo(nzk_trainer *t)
{
  const size_t p = t->p;
  const nzk_scheme scheme = t->par.scheme;
  nzk_dir_sample(t->par.z, t->rng, t->z);
  const double *probe = t->z;
  double coef = 1.0, d;
  if (scheme == NZK_SCHEME_PAIR) {
    nzk_dir_sample(t->par.zeta ? t->par.zeta : t->par.z, t->rng, t->zeta);
    probe = t->zeta;
    coef = cblas_ddot((int)p, t->z, 1, t->zeta, 1);
  } else if (scheme == NZK_SCHEME_SHARED) {
    coef = cblas_ddot((int)p, t->z, 1, t->z, 1);
  }
  int status = central_difference(t, probe, &d);
  if (status) return status;
  t->last.step = t->iter;
  t->last.d = d;
  t->last.coef = coef;
  t->last.z = t->z;
  t->last.zeta = probe;
  update_theta(t, d, coef, t->z);
  return 0;
}

/* Best of K: keep the direction with the most negative d_k. */
static int step_zo_best(nzk_trainer *t)
{
  double best = INFINITY, lp = 0.0, lm = 0.0, d;
  for (size_t k = 0; k < t->par.best_k; k++) {
    nzk_dir_sample(t->par.z, t->rng, t->z);
    int status = central_difference(t, t->z, &d);
    if (status) return status;
    if (d < best) {
      best = d;
      lp = t->last.loss_plus;
      lm = t->last.loss_minus;
      memcpy(t->zbest, t->z, t->p * sizeof(double));
    }
  }
  t->last = (nzk_step_info){t->iter, best, 1.0, t->zbest, t->zbest, lp, lm};
  update_theta(t, best, 1.0, t->zbest);
  return 0;
}

int nzk_trainer_step(nzk_trainer *t)
{
  if (!t->started) return NZK_FAIL(GSL_EFAILED, "trainer: step called before init");
  if (t->diverged)
    return NZK_FAIL(GSL_ERUNAWAY, "trainer: run %llu already diverged; init again",
                    (unsigned long long)t->run);
  if (t->par.kind != NZK_STEP_FO) /* FO draws nothing */
    nzk_stream_reset_light(t->rng, t->par.seed, (t->run << 32) + (uint64_t)t->iter);
  int status;
  switch (t->par.kind) {
  case NZK_STEP_FO: status = step_fo(t); break;
  case NZK_STEP_ZO: status = step_zo(t); break;
  default: status = step_zo_best(t); break;
  }
  if (status) return status;
  t->have_last = 1;
  t->iter++;
  return 0;
}

/* --- queries ------------------------------------------------------------- */

size_t nzk_trainer_iter(const nzk_trainer *t) { return t->iter; }
const double *nzk_trainer_theta(const nzk_trainer *t) { return t->theta; }
size_t nzk_trainer_n(const nzk_trainer *t) { return t->n; }
size_t nzk_trainer_p(const nzk_trainer *t) { return t->p; }
const nzk_step_info *nzk_trainer_last(const nzk_trainer *t)
{
  return t->have_last ? &t->last : NULL;
}

int nzk_trainer_loss(nzk_trainer *t, double *loss)
{
  if (!t->started) return NZK_FAIL(GSL_EFAILED, "trainer: queried before init");
  int status = refresh_f(t);
  *loss = t->loss;
  return status;
}

int nzk_trainer_f(nzk_trainer *t, const double **f)
{
  if (!t->started) return NZK_FAIL(GSL_EFAILED, "trainer: queried before init");
  int status = refresh_f(t);
  *f = t->f;
  return status;
}

int nzk_trainer_residual(nzk_trainer *t, const double **r)
{
  if (!t->started) return NZK_FAIL(GSL_EFAILED, "trainer: queried before init");
  int status = refresh_f(t);
  *r = t->r;
  return status;
}

/* --- driver -------------------------------------------------------------- */

int nzk_trainer_run(nzk_trainer *t, size_t steps, double *loss, const size_t *rec, size_t nrec,
                    gsl_matrix *F)
{
  if (!t->started) return NZK_FAIL(GSL_EFAILED, "trainer: run called before init");
  const size_t iter0 = t->iter;
  int status = nzk_check_records(rec, nrec, iter0, iter0 + steps, F, t->n);
  size_t k = 0;
  for (size_t j = 0; !status; j++) {
    if (loss) status = nzk_trainer_loss(t, &loss[j]);
    if (!status && k < nrec && rec[k] == t->iter) {
      const double *f = NULL;
      status = nzk_trainer_f(t, &f);
      if (!status) memcpy(gsl_matrix_ptr(F, k++, 0), f, t->n * sizeof(double));
    }
    if (status || j == steps) break;
    status = nzk_trainer_step(t);
  }
  return status;
}

/* Welford update of mean m and sum of squared deviations q with x, run j. */
static void welford(double *m, double *q, const double *x, size_t len, size_t j)
{
  for (size_t k = 0; k < len; k++) {
    double d = x[k] - m[k];
    m[k] += d / (double)(j + 1);
    q[k] += d * (x[k] - m[k]);
  }
}

static void finish_sd(double *q, size_t len, size_t runs)
{
  for (size_t k = 0; k < len; k++) q[k] = runs > 1 ? sqrt(q[k] / (double)(runs - 1)) : 0.0;
}

int nzk_trainer_ensemble(nzk_trainer *t, const double *theta0, size_t runs, size_t steps,
                         const size_t *rec, size_t nrec, double *loss_mean, double *loss_sd,
                         gsl_matrix *F_mean, gsl_matrix *F_sd)
{
  const size_t n = t->n, nl = steps + 1, nf = nrec * n;
  if (runs == 0) return NZK_FAIL(GSL_EINVAL, "ensemble: needs at least one run");
  int status = nzk_check_records(rec, nrec, 0, steps, F_mean, n);
  if (status) return status;
  if (F_sd && (F_sd->size1 != nrec || F_sd->size2 != n))
    return NZK_FAIL(GSL_EBADLEN, "ensemble: F_sd must be %zu x %zu", nrec, n);
  /* scratch: this run's losses and records, then the running sums */
  double *buf = calloc(2 * (nl + nf) + nl + nf, sizeof(double));
  if (!buf) return NZK_FAIL(GSL_ENOMEM, "ensemble: out of memory (%zu steps)", steps);
  double *lm = buf, *lq = lm + nl, *fm = lq + nl, *fq = fm + nf, *lr = fq + nf, *fr = lr + nl;
  gsl_matrix_view Fr = gsl_matrix_view_array(fr, nrec ? nrec : 1, n);
  for (size_t j = 0; j < runs && !status; j++) {
    status = nzk_trainer_init(t, theta0, j);
    if (!status) status = nzk_trainer_run(t, steps, lr, rec, nrec, nrec ? &Fr.matrix : NULL);
    if (status) break;
    welford(lm, lq, lr, nl, j);
    welford(fm, fq, fr, nf, j);
  }
  finish_sd(lq, nl, runs);
  finish_sd(fq, nf, runs);
  if (!status) {
    if (loss_mean) memcpy(loss_mean, lm, nl * sizeof(double));
    if (loss_sd) memcpy(loss_sd, lq, nl * sizeof(double));
    for (size_t k = 0; k < nf; k++) {
      if (F_mean) F_mean->data[(k / n) * F_mean->tda + k % n] = fm[k];
      if (F_sd) F_sd->data[(k / n) * F_sd->tda + k % n] = fq[k];
    }
  }
  free(buf);
  return status;
}
