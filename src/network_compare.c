/* network_compare.c: step-size policies, and a network trained side by
 * side with its linearization (network.h, DESIGN.md section 3, T4). */
#include "network.h"
#include "nzk_error.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <string.h>

int nzk_eta_policy_parse(const char *name, nzk_eta_policy *policy)
{
  if (strcmp(name, "matched") == 0) *policy = NZK_ETA_MATCHED;
  else if (strcmp(name, "same") == 0) *policy = NZK_ETA_SAME;
  else
    return NZK_FAIL(GSL_EINVAL, "unknown step-size policy '%s' (expected matched or same)",
                    name);
  return 0;
}

const char *nzk_eta_policy_name(nzk_eta_policy policy)
{
  return policy == NZK_ETA_MATCHED ? "matched" : policy == NZK_ETA_SAME ? "same" : "unknown";
}

int nzk_method_eta(nzk_method method, nzk_eta_policy policy, double eta, const nzk_dir *z,
                   double *eta_out)
{
  if (!(eta > 0 && isfinite(eta)))
    return NZK_FAIL(GSL_EINVAL, "step size must be positive and finite, got %g", eta);
  *eta_out = eta;
  if (policy == NZK_ETA_SAME || method == NZK_METHOD_FO) return 0;
  const nzk_law *law = z ? nzk_dir_law(z) : NULL;
  double a2, a4;
  if (!law || law->mean != 0)
    return NZK_FAIL(GSL_EINVAL, "matched step sizes need zero-mean i.i.d. directions");
  if (nzk_law_raw_moment(law, 2, &a2))
    return NZK_FAIL(GSL_EDOM, "matched step sizes need the 2nd moment of the direction entries");
  if (method == NZK_METHOD_PLAIN) { /* eta / E z^2: the 2nd moment suffices */
    *eta_out = eta / a2;
    return 0;
  }
  if (nzk_law_raw_moment(law, 4, &a4))
    return NZK_FAIL(GSL_EDOM, "matched step sizes of %s need the 4th moment of the direction "
                    "entries", nzk_method_name(method));
  const double p = (double)nzk_dir_dim(z), D = (p - 1) * a2 * a2 + a4;
  *eta_out = eta / D;
  return 0;
}

/* Flush the B buffered rows of V (and W) into acc. */
static int kacc_flush(nzk_kacc *acc, gsl_matrix *V, gsl_matrix *W, const double *c, size_t B,
                      int pair)
{
  if (B == 0) return 0;
  gsl_matrix_view v = gsl_matrix_submatrix(V, 0, 0, B, V->size2);
  gsl_matrix_view w = gsl_matrix_submatrix(W, 0, 0, B, W->size2);
  return nzk_kacc_add(acc, &v.matrix, pair ? &w.matrix : NULL, c);
}

/* K_avg += E K(theta_t) / window for the Jacobian J (Ktmp: n x n scratch). */
static int add_expected(gsl_matrix *K_avg, gsl_matrix *Ktmp, const gsl_matrix *J,
                        nzk_scheme scheme, const nzk_dir *z, const nzk_dir *zeta, size_t window)
{
  int status = nzk_kernel_expected(scheme, J, z, zeta, Ktmp);
  if (!status) gsl_matrix_scale(Ktmp, 1.0 / (double)window);
  if (!status) gsl_matrix_add(K_avg, Ktmp);
  return status;
}

/* Row B of V (and W) for the last step's draws: J z (and J zeta). */
static int record_draw(const nzk_trainer *t, const gsl_matrix *J, gsl_matrix *V, gsl_matrix *W,
                       double *c, size_t B, int *pair)
{
  const nzk_step_info *info = nzk_trainer_last(t);
  const size_t p = J->size2;
  if (!info->zeta) return NZK_FAIL(GSL_EINVAL, "realised kernels: the trainer is not a ZO one");
  *pair = info->zeta != info->z;
  gsl_vector_const_view z = gsl_vector_const_view_array(info->z, p);
  gsl_vector_const_view zeta = gsl_vector_const_view_array(info->zeta, p);
  gsl_vector_view v = gsl_matrix_row(V, B), w = gsl_matrix_row(W, B);
  gsl_blas_dgemv(CblasNoTrans, 1.0, J, &z.vector, 0.0, &v.vector);
  if (*pair) gsl_blas_dgemv(CblasNoTrans, 1.0, J, &zeta.vector, 0.0, &w.vector);
  c[B] = info->coef;
  return 0;
}

int nzk_network_realised_kernels(nzk_trainer *t, nzk_model *model, const gsl_matrix *X,
                                 size_t steps, size_t window, nzk_kacc *acc, nzk_scheme scheme,
                                 const nzk_dir *z, const nzk_dir *zeta, gsl_matrix *K_avg)
{
  const size_t n = X->size1, p = model->p, Bmax = 64;
  if (nzk_trainer_n(t) != n || nzk_trainer_p(t) != p)
    return NZK_FAIL(GSL_EBADLEN, "realised kernels: trainer has n = %zu, p = %zu; model and X "
                    "give %zu, %zu", nzk_trainer_n(t), nzk_trainer_p(t), n, p);
  if (window > steps || window == 0)
    return NZK_FAIL(GSL_EINVAL, "realised kernels: window %zu, expected 1 to %zu steps", window,
                    steps);
  if (K_avg && (!z || K_avg->size1 != n || K_avg->size2 != n))
    return NZK_FAIL(GSL_EINVAL, "realised kernels: K_avg needs a direction law and n x n shape");
  gsl_matrix *Ktmp = K_avg ? gsl_matrix_alloc(n, n) : NULL;
  gsl_matrix *J = gsl_matrix_alloc(n, p), *V = gsl_matrix_alloc(Bmax, n);
  gsl_matrix *W = gsl_matrix_alloc(Bmax, n);
  double c[64];
  int status = 0, pair = 0;
  if (!J || !V || !W || (K_avg && !Ktmp))
    status = NZK_FAIL(GSL_ENOMEM, "realised kernels: out of memory (n = %zu, p = %zu)", n, p);
  if (K_avg) gsl_matrix_set_zero(K_avg);
  size_t B = 0;
  for (size_t k = 0; k < steps && !status; k++) {
    const int rec = k >= steps - window;
    /* J_t at the parameters the step starts from */
    if (rec) status = nzk_model_jacobian(model, nzk_trainer_theta(t), X, J);
    if (!status && rec && K_avg) status = add_expected(K_avg, Ktmp, J, scheme, z, zeta, window);
    if (!status) status = nzk_trainer_step(t);
    if (!status && rec) status = record_draw(t, J, V, W, c, B++, &pair);
    if (!status && B == Bmax) {
      status = kacc_flush(acc, V, W, c, B, pair);
      B = 0;
    }
  }
  if (!status) status = kacc_flush(acc, V, W, c, B, pair);
  if (J) gsl_matrix_free(J);
  if (Ktmp) gsl_matrix_free(Ktmp);
  if (V) gsl_matrix_free(V);
  if (W) gsl_matrix_free(W);
  return status;
}

void nzk_compare_params_default(nzk_compare_params *par)
{
  memset(par, 0, sizeof *par);
  par->method = NZK_METHOD_FO;
  par->eta = 1e-3;
  par->eps = 1e-3;
  par->steps = 1000;
  par->record_every = 100;
  par->record_drift = 1;
  par->runaway_factor = 1e4;
}

void nzk_compare_trace_free(nzk_compare_trace *tr)
{
  if (!tr) return;
  free(tr->step);
  free(tr->loss_full);
  free(tr->loss_lin);
  free(tr->gap);
  free(tr->drift);
  if (tr->f_full) gsl_matrix_free(tr->f_full);
  if (tr->f_lin) gsl_matrix_free(tr->f_lin);
  memset(tr, 0, sizeof *tr);
}

/* Record steps: 0, k, 2k, ... and `steps`. */
static size_t count_records(size_t steps, size_t k)
{
  if (k == 0 || k >= steps) return steps ? 2 : 1;
  return 1 + steps / k + (steps % k != 0);
}

static int is_record(size_t t, size_t steps, size_t k)
{
  return t == 0 || t == steps || (k && t % k == 0);
}

static int trace_alloc(nzk_compare_trace *tr, size_t m, size_t n)
{
  memset(tr, 0, sizeof *tr);
  tr->step = calloc(m, sizeof *tr->step);
  tr->loss_full = calloc(m, sizeof(double));
  tr->loss_lin = calloc(m, sizeof(double));
  tr->gap = calloc(m, sizeof(double));
  tr->drift = calloc(m, sizeof(double));
  tr->f_full = gsl_matrix_calloc(m, n);
  tr->f_lin = gsl_matrix_calloc(m, n);
  if (tr->step && tr->loss_full && tr->loss_lin && tr->gap && tr->drift && tr->f_full &&
      tr->f_lin)
    return 0;
  nzk_compare_trace_free(tr);
  return NZK_FAIL(GSL_ENOMEM, "compare: out of memory for %zu records", m);
}

/* Trainer parameters of the comparison. */
static void trainer_params(const nzk_compare_params *par, nzk_train_params *tp)
{
  nzk_train_params_default(tp);
  tp->kind = par->method == NZK_METHOD_FO ? NZK_STEP_FO : NZK_STEP_ZO;
  tp->scheme = nzk_method_scheme(par->method);
  tp->z = par->z;
  tp->eta = par->eta;
  tp->eps = par->eps;
  tp->runaway_factor = par->runaway_factor;
  tp->seed = par->seed;
}

/* Everything one comparison holds. */
typedef struct {
  nzk_model *net;
  const gsl_matrix *X;
  const double *y;
  const nzk_compare_params *par;
  nzk_trainer *tf, *tl;
  gsl_matrix *J, *K0, *Kt;
} compare_ws;

static void ws_free(compare_ws *w, gsl_matrix *K0_user, gsl_matrix *KT_user)
{
  nzk_trainer_free(w->tf);
  nzk_trainer_free(w->tl);
  if (w->J) gsl_matrix_free(w->J);
  if (w->K0 && w->K0 != K0_user) gsl_matrix_free(w->K0);
  if (w->Kt && w->Kt != KT_user) gsl_matrix_free(w->Kt);
}

/* Kernel drift of the net at the full trainer's current theta. */
static int drift_now(compare_ws *w, double *drift)
{
  int status = nzk_network_kernel(w->net, nzk_trainer_theta(w->tf), w->X, w->par->method,
                                  w->par->z, NULL, w->J, w->Kt);
  if (!status) *drift = nzk_kernel_rel_change(w->K0, w->Kt);
  return status;
}

/* Losses, gap (and drift when asked) now; into record r of tr if any.  A
 * runaway seen by a query sets res->diverged and returns 0. */
static int measure(compare_ws *w, int with_drift, nzk_compare_trace *tr, size_t r,
                   nzk_compare_result *res)
{
  const double *ff, *fl = NULL;
  const size_t n = w->X->size1;
  int sf = nzk_trainer_loss(w->tf, &res->loss_full);
  if (!sf) sf = nzk_trainer_f(w->tf, &ff);
  int sl = w->tl ? nzk_trainer_loss(w->tl, &res->loss_lin) : 0;
  if (!sl && w->tl) sl = nzk_trainer_f(w->tl, &fl);
  if (sf == GSL_ERUNAWAY) res->diverged |= 1;
  if (sl == GSL_ERUNAWAY) res->diverged |= 2;
  if (res->diverged) return 0;
  if (sf || sl) return sf ? sf : sl;
  int status;
  if (!w->tl) res->loss_lin = NAN;
  res->gap = fl ? nzk_function_gap(ff, fl, w->y, n) : NAN;
  res->drift = NAN;
  if (with_drift && (status = drift_now(w, &res->drift))) return status;
  if (!tr) return 0;
  tr->step[r] = nzk_trainer_iter(w->tf);
  tr->loss_full[r] = res->loss_full;
  tr->loss_lin[r] = res->loss_lin;
  tr->gap[r] = res->gap;
  tr->drift[r] = res->drift;
  memcpy(gsl_matrix_ptr(tr->f_full, r, 0), ff, n * sizeof *ff);
  for (size_t i = 0; i < n; i++) gsl_matrix_set(tr->f_lin, r, i, fl ? fl[i] : NAN);
  return 0;
}

/* Allocate trainers and kernels, start both runs, compute K0. */
static int ws_start(compare_ws *w, nzk_model *lin, const double *theta0, const gsl_vector *y,
                    gsl_matrix *K0, gsl_matrix *KT)
{
  const size_t n = w->X->size1, p = w->net->p;
  nzk_train_params tp;
  trainer_params(w->par, &tp);
  w->tf = nzk_trainer_alloc(w->net, w->X, y, &tp);
  if (!w->tf) return nzk_error_code();
  if (lin && !(w->tl = nzk_trainer_alloc(lin, w->X, y, &tp))) return nzk_error_code();
  w->J = gsl_matrix_alloc(n, p);
  w->K0 = K0 ? K0 : gsl_matrix_alloc(n, n);
  w->Kt = KT ? KT : gsl_matrix_alloc(n, n);
  if (!w->J || !w->K0 || !w->Kt)
    return NZK_FAIL(GSL_ENOMEM, "compare: out of memory for a %zu x %zu Jacobian", n, p);
  int status = nzk_trainer_init(w->tf, theta0, w->par->run);
  if (!status && w->tl) status = nzk_trainer_init(w->tl, theta0, w->par->run);
  if (!status)
    status = nzk_network_kernel(w->net, theta0, w->X, w->par->method, w->par->z, NULL, w->J,
                                w->K0);
  return status;
}

/* One step of both runs; sets res->diverged on a runaway. */
static int step_both(compare_ws *w, nzk_compare_result *res)
{
  int sf = nzk_trainer_step(w->tf);
  int sl = (sf || !w->tl) ? 0 : nzk_trainer_step(w->tl);
  if (sf == GSL_ERUNAWAY) res->diverged |= 1;
  if (sl == GSL_ERUNAWAY) res->diverged |= 2;
  if (res->diverged) return 0;
  return sf ? sf : sl;
}

int nzk_compare_run(nzk_model *net, nzk_model *lin, const double *theta0, const gsl_matrix *X,
                    const gsl_vector *y, const nzk_compare_params *par, gsl_matrix *K0,
                    gsl_matrix *KT, nzk_compare_trace *trace, nzk_compare_result *res)
{
  if (lin && (lin->p != net->p || lin->d != net->d))
    return NZK_FAIL(GSL_EBADLEN, "compare: net has p = %zu, d = %zu but lin p = %zu, d = %zu",
                    net->p, net->d, lin->p, lin->d);
  memset(res, 0, sizeof *res);
  compare_ws w = {net, X, y->data, par, NULL, NULL, NULL, NULL, NULL};
  if (y->stride != 1) return NZK_FAIL(GSL_EBADLEN, "compare: y must be contiguous");
  const size_t m = count_records(par->steps, par->record_every);
  int status = ws_start(&w, lin, theta0, y, K0, KT);
  if (!status && trace) status = trace_alloc(trace, m, X->size1);
  if (!status) status = nzk_trainer_loss(w.tf, &res->loss0);

  size_t r = 0, t = 0;
  for (; !status; t++) {
    if (is_record(t, par->steps, par->record_every)) {
      int with_drift = par->record_drift || t == par->steps;
      status = measure(&w, with_drift, trace, r, res);
      if (!status && !res->diverged) r++;
    }
    if (status || res->diverged || t == par->steps) break;
    status = step_both(&w, res);
    if (res->diverged) break;
  }
  res->steps_done = t;
  if (res->diverged) {
    res->loss_full = res->loss_lin = res->gap = res->drift = NAN;
    if (trace) trace->n_records = r;
  } else if (trace) {
    trace->n_records = r;
  }
  ws_free(&w, K0, KT);
  if (status && trace) nzk_compare_trace_free(trace);
  return status;
}

static int slope_point(double w, double v) { return v > 0 && isfinite(v) && w > 0 && isfinite(w); }

int nzk_loglog_slope(const double *w, const double *v, size_t m, double *slope, double *se,
                     size_t *used)
{
  /* Two passes (means, then centred sums) to avoid cancellation. */
  double mx = 0, my = 0, sxx = 0, sxy = 0, rss = 0;
  size_t k = 0;
  for (size_t i = 0; i < m; i++)
    if (slope_point(w[i], v[i])) mx += log(w[i]), my += log(v[i]), k++;
  *used = k;
  if (k < 3) return NZK_FAIL(GSL_EDOM, "log-log slope: %zu usable points, need 3", k);
  mx /= (double)k;
  my /= (double)k;
  for (size_t i = 0; i < m; i++)
    if (slope_point(w[i], v[i])) {
      double dx = log(w[i]) - mx, dy = log(v[i]) - my;
      sxx += dx * dx;
      sxy += dx * dy;
    }
  if (!(sxx > 0)) return NZK_FAIL(GSL_EDOM, "log-log slope: all widths are equal");
  *slope = sxy / sxx;
  for (size_t i = 0; i < m; i++)
    if (slope_point(w[i], v[i])) {
      double e = log(v[i]) - my - *slope * (log(w[i]) - mx);
      rss += e * e;
    }
  *se = sqrt(rss / (double)(k - 2) / sxx);
  return 0;
}
