/* dynamics.c: kernel gradient descent, the closed form of T3 and the
 * second-moment recursion of T3b (see dynamics.h; DESIGN.md section 3). */
#include "dynamics.h"
#include "nzk_error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nzk_blas.h"

int nzk_kgd_step(const gsl_matrix *K, double eta, const gsl_vector *y, gsl_vector *f,
                 gsl_vector *work)
{
  const size_t n = f->size;
  if (K->size1 != n || K->size2 != n || y->size != n || work->size != n)
    return NZK_FAIL(GSL_EBADLEN, "kernel GD: K is %zu x %zu, y %zu, f %zu, work %zu", K->size1,
                    K->size2, y->size, n, work->size);
  if (!isfinite(eta)) return NZK_FAIL(GSL_EINVAL, "kernel GD: eta must be finite, got %g", eta);
  gsl_vector_memcpy(work, f);
  gsl_vector_sub(work, y); /* r = f - y */
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, -eta / (double)n, K->data,
              (int)K->tda, work->data, (int)work->stride, 1.0, f->data, (int)f->stride);
  return 0;
}

/* --- symmetric eigendecomposition ---------------------------------------- */

/* GSL_EINVAL unless K is square, finite and symmetric to NZK_CLOSED_SYM_TOL
 * of max|K| (dynamics.h). */
static int check_symmetric(const gsl_matrix *K, const char *who)
{
  const size_t n = K->size1;
  if (K->size2 != n || n == 0)
    return NZK_FAIL(GSL_EBADLEN, "%s: kernel is %zu x %zu, expected square", who, K->size1,
                    K->size2);
  double scale = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *row = gsl_matrix_const_ptr(K, i, 0);
    for (size_t j = 0; j < n; j++) {
      if (!isfinite(row[j]))
        return NZK_FAIL(GSL_EINVAL, "%s: kernel entry (%zu,%zu) is not finite", who, i, j);
      scale = fmax(scale, fabs(row[j]));
    }
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (fabs(K->data[i * K->tda + j] - K->data[j * K->tda + i]) > NZK_CLOSED_SYM_TOL * scale)
        return NZK_FAIL(GSL_EINVAL, "%s: kernel is not symmetric at (%zu,%zu); the closed form "
                        "needs a symmetric kernel (use kernel GD)", who, i, j);
  return 0;
}

/* K = Q diag(lambda) Q^T, eigenvalues ascending, eigenvectors in columns
 * of Q.  K is not modified (its lower triangle is copied into Q first). */
static int sym_eigen(const gsl_matrix *K, gsl_vector *lambda, gsl_matrix *Q, const char *who)
{
  const size_t n = K->size1;
  gsl_matrix *A = gsl_matrix_alloc(n, n);
  lapack_int *isuppz = malloc(2 * n * sizeof *isuppz);
  if (!A || !isuppz) {
    gsl_matrix_free(A);
    free(isuppz);
    return NZK_FAIL(GSL_ENOMEM, "%s: out of memory (n = %zu)", who, n);
  }
  gsl_matrix_memcpy(A, K);
  lapack_int m = 0;
  lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'A', 'L', (lapack_int)n, A->data,
                                   (lapack_int)A->tda, 0.0, 0.0, 0, 0, 0.0, &m, lambda->data,
                                   Q->data, (lapack_int)Q->tda, isuppz);
  gsl_matrix_free(A);
  free(isuppz);
  if (info != 0 || (size_t)m != n)
    return NZK_FAIL(GSL_EFAILED, "%s: eigendecomposition failed (dsyevr info %d, %d of %zu "
                    "eigenvalues)", who, (int)info, (int)m, n);
  return 0;
}

/* --- closed form (T3) ----------------------------------------------------
 *
 * K = Q diag(lambda) Q^T over m modes (Q: n x m orthonormal columns); the
 * complement of Q's range has lambda = 0 and never moves.  With b = Q^T r0
 * and the fixed part r_perp = r0 - Q b:
 *   r_t = r_perp + Q (g_t o b),   |r_t|^2 = |r_perp|^2 + sum_k g_k^2 b_k^2.
 * Dense kernels have m = n (r_perp = 0); factored ones m = p < n. */

struct nzk_closed {
  size_t n, m;
  gsl_vector *lambda; /* m eigenvalues, ascending */
  gsl_matrix *Q;      /* n x m */
  gsl_vector *b;      /* Q^T r_0 (m) */
  gsl_vector *g;      /* scratch (m): g_k b_k */
  gsl_vector *perp;   /* r_perp (n) */
  double perp2;       /* |r_perp|^2 */
  int have_r0;
};

void nzk_closed_free(nzk_closed *cf)
{
  if (!cf) return;
  gsl_vector_free(cf->lambda);
  gsl_matrix_free(cf->Q);
  gsl_vector_free(cf->b);
  gsl_vector_free(cf->g);
  gsl_vector_free(cf->perp);
  free(cf);
}

static nzk_closed *closed_new(size_t n, size_t m)
{
  nzk_closed *cf = calloc(1, sizeof *cf);
  if (cf) {
    cf->n = n;
    cf->m = m;
    cf->lambda = gsl_vector_alloc(m);
    cf->Q = gsl_matrix_alloc(n, m);
    cf->b = gsl_vector_alloc(m);
    cf->g = gsl_vector_alloc(m);
    cf->perp = gsl_vector_calloc(n);
  }
  if (!cf || !cf->lambda || !cf->Q || !cf->b || !cf->g || !cf->perp) {
    nzk_closed_free(cf);
    NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (n = %zu, m = %zu)", n, m);
    return NULL;
  }
  return cf;
}

nzk_closed *nzk_closed_alloc(const gsl_matrix *K)
{
  if (check_symmetric(K, "closed form")) return NULL;
  nzk_closed *cf = closed_new(K->size1, K->size1);
  if (cf && sym_eigen(K, cf->lambda, cf->Q, "closed form")) {
    nzk_closed_free(cf);
    return NULL;
  }
  return cf;
}

/* B = J W diag(sqrt(mu)) with M = W diag(mu) W^T (mu < 0 from rounding
 * clipped to 0), so that B B^T = J M J^T.  B: n x p. */
static int sandwich_factor(const gsl_matrix *J, const gsl_matrix *M, gsl_matrix *B)
{
  const size_t n = J->size1, p = J->size2;
  gsl_matrix *W = gsl_matrix_alloc(p, p);
  gsl_vector *mu = gsl_vector_alloc(p);
  int status = (W && mu) ? sym_eigen(M, mu, W, "closed form (moment matrix)")
                         : NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (p = %zu)", p);
  if (!status) {
    for (size_t k = 0; k < p; k++) {
      double s = sqrt(fmax(gsl_vector_get(mu, k), 0.0));
      for (size_t j = 0; j < p; j++) *gsl_matrix_ptr(W, j, k) *= s;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)p, (int)p, 1.0, J->data,
                (int)J->tda, W->data, (int)W->tda, 0.0, B->data, (int)B->tda);
  }
  gsl_matrix_free(W);
  gsl_vector_free(mu);
  return status;
}

/* From B (n x p, p < n, overwritten): B = Q_B R (Householder QR), then
 * R R^T = U diag(lambda) U^T (p x p, dsyevr) and Q = Q_B U.  Q_B is
 * orthonormal to rounding whatever the conditioning of B, so r_perp is
 * accurate even when K has tiny eigenvalues. */
static int factor_modes(gsl_matrix *B, nzk_closed *cf)
{
  const size_t n = B->size1, p = B->size2;
  const int ln = (int)n, lp = (int)p, ld = (int)B->tda;
  gsl_vector *tau = gsl_vector_alloc(p);
  gsl_matrix *S = gsl_matrix_calloc(p, p), *U = gsl_matrix_alloc(p, p);
  if (!tau || !S || !U) {
    gsl_vector_free(tau);
    gsl_matrix_free(S);
    gsl_matrix_free(U);
    return NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (p = %zu)", p);
  }
  int status = 0;
  if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, ln, lp, B->data, ld, tau->data) != 0)
    status = NZK_FAIL(GSL_EFAILED, "closed form: QR of the %zu x %zu factor failed", n, p);
  if (!status) { /* S = R R^T with R the upper triangle of B's first p rows (U scratch) */
    gsl_matrix_set_zero(U);
    for (size_t i = 0; i < p; i++)
      memcpy(gsl_matrix_ptr(U, i, i), gsl_matrix_const_ptr(B, i, i), (p - i) * sizeof(double));
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, lp, lp, 1.0, U->data, (int)U->tda, 0.0,
                S->data, (int)S->tda); /* sym_eigen reads the lower triangle only */
  }
  if (!status && LAPACKE_dorgqr(LAPACK_ROW_MAJOR, ln, lp, lp, B->data, ld, tau->data) != 0)
    status = NZK_FAIL(GSL_EFAILED, "closed form: forming Q of the factor failed");
  if (!status) status = sym_eigen(S, cf->lambda, U, "closed form (factor)");
  if (!status)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ln, lp, lp, 1.0, B->data, ld, U->data,
                (int)U->tda, 0.0, cf->Q->data, (int)cf->Q->tda);
  gsl_vector_free(tau);
  gsl_matrix_free(S);
  gsl_matrix_free(U);
  return status;
}

nzk_closed *nzk_closed_alloc_sandwich(const gsl_matrix *J, const gsl_matrix *M)
{
  const size_t n = J->size1, p = J->size2;
  if (M->size1 != p || M->size2 != p || n == 0) {
    NZK_FAIL(GSL_EBADLEN, "closed form: J is %zu x %zu, M is %zu x %zu", n, p, M->size1,
             M->size2);
    return NULL;
  }
  if (check_symmetric(M, "closed form (moment matrix)")) return NULL;
  gsl_matrix *B = gsl_matrix_alloc(n, p);
  nzk_closed *cf = NULL;
  if (!B) NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (n = %zu, p = %zu)", n, p);
  else if (!sandwich_factor(J, M, B)) {
    if (2 * p <= n) { /* measured: near p = n two p x p eigenproblems and a QR cost more */
      cf = closed_new(n, p);
      if (cf && factor_modes(B, cf)) {
        nzk_closed_free(cf);
        cf = NULL;
      }
    } else { /* little rank to exploit: K = B B^T, dense path */
      gsl_matrix *K = gsl_matrix_alloc(n, n);
      if (K) {
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)p, 1.0, B->data,
                    (int)B->tda, 0.0, K->data, (int)K->tda);
        for (size_t i = 0; i < n; i++)
          for (size_t j = 0; j < i; j++) gsl_matrix_set(K, j, i, gsl_matrix_get(K, i, j));
        cf = nzk_closed_alloc(K);
      } else NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (n = %zu)", n);
      gsl_matrix_free(K);
    }
  }
  gsl_matrix_free(B);
  return cf;
}

size_t nzk_closed_modes(const nzk_closed *cf) { return cf->m; }

int nzk_closed_set_r0(nzk_closed *cf, const gsl_vector *r0)
{
  const size_t n = cf->n, m = cf->m;
  if (r0->size != n)
    return NZK_FAIL(GSL_EBADLEN, "closed form: r0 has %zu entries, expected %zu", r0->size, n);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, 1.0, cf->Q->data, (int)cf->Q->tda,
              r0->data, (int)r0->stride, 0.0, cf->b->data, 1);
  cf->perp2 = 0.0;
  if (m < n) { /* r_perp = r0 - Q b */
    for (size_t i = 0; i < n; i++) gsl_vector_set(cf->perp, i, gsl_vector_get(r0, i));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, -1.0, cf->Q->data,
                (int)cf->Q->tda, cf->b->data, 1, 1.0, cf->perp->data, 1);
    cf->perp2 = cblas_ddot((int)n, cf->perp->data, 1, cf->perp->data, 1);
  }
  cf->have_r0 = 1;
  return 0;
}

const gsl_vector *nzk_closed_eigenvalues(const nzk_closed *cf) { return cf->lambda; }

/* Per-mode factor (1 - c lambda)^t or exp(-c lambda t). */
static int mode_factor(double c, double lambda, double t, nzk_evolve_mode mode, double *g)
{
  *g = mode == NZK_EVOLVE_FLOW ? exp(-c * lambda * t) : pow(1.0 - c * lambda, t);
  return 0;
}

static int check_time(const nzk_closed *cf, double eta, double t, nzk_evolve_mode mode)
{
  if (!cf->have_r0) return NZK_FAIL(GSL_EFAILED, "closed form: r0 was not set");
  if (!isfinite(eta)) return NZK_FAIL(GSL_EINVAL, "closed form: eta must be finite, got %g", eta);
  if (!(t >= 0 && isfinite(t)))
    return NZK_FAIL(GSL_EINVAL, "closed form: time must be finite and >= 0, got %g", t);
  if (mode == NZK_EVOLVE_STEPS && t != floor(t))
    return NZK_FAIL(GSL_EINVAL, "closed form: a step count must be an integer, got %g", t);
  if (mode != NZK_EVOLVE_STEPS && mode != NZK_EVOLVE_FLOW)
    return NZK_FAIL(GSL_EINVAL, "closed form: unknown mode %d", (int)mode);
  return 0;
}

int nzk_closed_residual(const nzk_closed *cf, double eta, double t, nzk_evolve_mode mode,
                        gsl_vector *r)
{
  int status = check_time(cf, eta, t, mode);
  if (status) return status;
  const size_t n = cf->n, m = cf->m;
  if (r->size != n)
    return NZK_FAIL(GSL_EBADLEN, "closed form: r has %zu entries, expected %zu", r->size, n);
  const double c = eta / (double)n;
  for (size_t k = 0; k < m; k++) {
    double g;
    mode_factor(c, gsl_vector_get(cf->lambda, k), t, mode, &g);
    gsl_vector_set(cf->g, k, g * gsl_vector_get(cf->b, k));
  }
  for (size_t i = 0; i < n; i++) gsl_vector_set(r, i, gsl_vector_get(cf->perp, i));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, 1.0, cf->Q->data, (int)cf->Q->tda,
              cf->g->data, 1, 1.0, r->data, (int)r->stride);
  return 0;
}

int nzk_closed_loss(const nzk_closed *cf, double eta, double t, nzk_evolve_mode mode,
                    double *loss)
{
  int status = check_time(cf, eta, t, mode);
  if (status) return status;
  const double c = eta / (double)cf->n;
  double s = cf->perp2;
  for (size_t k = 0; k < cf->m; k++) {
    double g, bk = gsl_vector_get(cf->b, k);
    mode_factor(c, gsl_vector_get(cf->lambda, k), t, mode, &g);
    s += g * g * bk * bk;
  }
  *loss = 0.5 * s / (double)cf->n;
  return 0;
}

/* For nzk reproduce: the loss at every step 0..steps at
 * O(n) per step, by carrying w_k = b_k^2 (1 - c lambda_k)^(2t) forward
 * instead of one pow per mode and step.  Agrees with nzk_closed_loss to
 * rounding (checked in verify/test_zo_exact.c). */
int nzk_closed_loss_curve(const nzk_closed *cf, double eta, size_t steps, double *loss)
{
  int status = check_time(cf, eta, (double)steps, NZK_EVOLVE_STEPS);
  if (status) return status;
  const size_t n = cf->n, m = cf->m;
  const double c = eta / (double)n;
  double *w = malloc(2 * m * sizeof *w), *rho2 = w + m;
  if (!w) return NZK_FAIL(GSL_ENOMEM, "closed form: out of memory for the loss curve");
  for (size_t k = 0; k < m; k++) {
    double bk = gsl_vector_get(cf->b, k), g = 1.0 - c * gsl_vector_get(cf->lambda, k);
    w[k] = bk * bk;
    rho2[k] = g * g;
  }
  for (size_t t = 0; t <= steps; t++) {
    double s = cf->perp2; /* the part outside the kernel's range never moves */
    for (size_t k = 0; k < m; k++) {
      s += w[k];
      w[k] *= rho2[k];
    }
    loss[t] = 0.5 * s / (double)n;
  }
  free(w);
  return 0;
}

/* --- second moment (T3b) ------------------------------------------------- */

struct nzk_secmom {
  size_t n, steps;
  gsl_vector *a;   /* eigenvalues of A, ascending */
  gsl_matrix *U;   /* eigenvectors of A in columns */
  gsl_matrix *S;   /* U^T R U */
  gsl_vector *m;   /* U^T E r */
  gsl_matrix *T;   /* scratch n x n */
};

void nzk_secmom_free(nzk_secmom *sm)
{
  if (!sm) return;
  gsl_vector_free(sm->a);
  gsl_matrix_free(sm->U);
  gsl_matrix_free(sm->S);
  gsl_vector_free(sm->m);
  gsl_matrix_free(sm->T);
  free(sm);
}

nzk_secmom *nzk_secmom_alloc(const gsl_matrix *A)
{
  if (check_symmetric(A, "second moment")) return NULL;
  const size_t n = A->size1;
  nzk_secmom *sm = calloc(1, sizeof *sm);
  if (sm) {
    sm->n = n;
    sm->a = gsl_vector_alloc(n);
    sm->U = gsl_matrix_alloc(n, n);
    sm->S = gsl_matrix_calloc(n, n);
    sm->m = gsl_vector_calloc(n);
    sm->T = gsl_matrix_alloc(n, n);
  }
  if (!sm || !sm->a || !sm->U || !sm->S || !sm->m || !sm->T) {
    nzk_secmom_free(sm);
    NZK_FAIL(GSL_ENOMEM, "second moment: out of memory (n = %zu)", n);
    return NULL;
  }
  if (sym_eigen(A, sm->a, sm->U, "second moment")) {
    nzk_secmom_free(sm);
    return NULL;
  }
  return sm;
}

int nzk_secmom_set_r0(nzk_secmom *sm, const gsl_vector *r0)
{
  const size_t n = sm->n;
  if (r0->size != n)
    return NZK_FAIL(GSL_EBADLEN, "second moment: r0 has %zu entries, expected %zu", r0->size, n);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)n, 1.0, sm->U->data, (int)sm->U->tda,
              r0->data, (int)r0->stride, 0.0, sm->m->data, 1);
  gsl_matrix_set_zero(sm->S);
  cblas_dger(CblasRowMajor, (int)n, (int)n, 1.0, sm->m->data, 1, sm->m->data, 1, sm->S->data,
             (int)sm->S->tda); /* S_0 = m m^T, R_0 = r_0 r_0^T */
  sm->steps = 0;
  return 0;
}

/* Off-diagonal S_kl evolve independently by the factor
 * F_kl = 1 - c (a_k + a_l) + 2 c^2 a_k a_l per step, so `steps` steps
 * multiply them by F_kl^steps; only the diagonal couples (see header). */
int nzk_secmom_advance(nzk_secmom *sm, double eta, size_t steps)
{
  const size_t n = sm->n;
  if (!isfinite(eta)) return NZK_FAIL(GSL_EINVAL, "second moment: eta must be finite, got %g", eta);
  const double c = eta / (double)n, *a = sm->a->data;
  for (size_t k = 0; k < n; k++)
    for (size_t l = 0; l < n; l++)
      if (k != l) {
        double F = 1.0 - c * (a[k] + a[l]) + 2.0 * c * c * a[k] * a[l];
        *gsl_matrix_ptr(sm->S, k, l) *= pow(F, (double)steps);
      }
  for (size_t k = 0; k < n; k++)
    gsl_vector_set(sm->m, k, gsl_vector_get(sm->m, k) * pow(1.0 - c * a[k], (double)steps));

  const size_t ld = sm->S->tda + 1; /* stride of the diagonal */
  double *s = sm->S->data;
  for (size_t t = 0; t < steps; t++) {
    double as = 0.0;
    for (size_t k = 0; k < n; k++) as += a[k] * s[k * ld];
    for (size_t k = 0; k < n; k++)
      s[k * ld] = (1.0 - 2.0 * c * a[k] + 2.0 * c * c * a[k] * a[k]) * s[k * ld] +
                  c * c * a[k] * as;
  }
  sm->steps += steps;
  return 0;
}

size_t nzk_secmom_steps(const nzk_secmom *sm) { return sm->steps; }

double nzk_secmom_mean_square(const nzk_secmom *sm)
{
  double tr = 0.0;
  for (size_t k = 0; k < sm->n; k++) tr += gsl_matrix_get(sm->S, k, k);
  return tr;
}

int nzk_secmom_get(const nzk_secmom *sm, gsl_matrix *R, gsl_vector *mean, gsl_vector *var)
{
  const size_t n = sm->n;
  const int ln = (int)n;
  if ((R && (R->size1 != n || R->size2 != n)) || (mean && mean->size != n) ||
      (var && var->size != n))
    return NZK_FAIL(GSL_EBADLEN, "second moment: outputs must have size %zu", n);
  gsl_matrix *T = sm->T, *U = sm->U;
  if (mean)
    cblas_dgemv(CblasRowMajor, CblasNoTrans, ln, ln, 1.0, U->data, (int)U->tda, sm->m->data, 1,
                0.0, mean->data, (int)mean->stride);
  if (!R && !var) return 0;
  /* T = U S, then R = T U^T and R_ii = row_i(T) . row_i(U) */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ln, ln, ln, 1.0, U->data, (int)U->tda,
              sm->S->data, (int)sm->S->tda, 0.0, T->data, (int)T->tda);
  if (R)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ln, ln, ln, 1.0, T->data, (int)T->tda,
                U->data, (int)U->tda, 0.0, R->data, (int)R->tda);
  if (var)
    for (size_t i = 0; i < n; i++) {
      double rii = cblas_ddot(ln, gsl_matrix_const_ptr(T, i, 0), 1, gsl_matrix_const_ptr(U, i, 0),
                              1);
      double mi = cblas_ddot(ln, gsl_matrix_const_ptr(U, i, 0), 1, sm->m->data, 1);
      gsl_vector_set(var, i, rii - mi * mi);
    }
  return 0;
}

/* g(c) = sum over positive a_k of c a_k / (2 (1 - c a_k)) */
static double msq_g(const gsl_vector *a, double a_tol, double c)
{
  double g = 0.0;
  for (size_t k = 0; k < a->size; k++) {
    double ak = gsl_vector_get(a, k);
    if (ak > a_tol) g += c * ak / (2.0 * (1.0 - c * ak));
  }
  return g;
}

int nzk_secmom_stability_eta(const nzk_secmom *sm, double *eta_max)
{
  const double a_max = gsl_vector_get(sm->a, sm->n - 1);
  /* eigenvalues below this are rounding noise of a rank-deficient A */
  const double a_tol = 64.0 * (double)sm->n * DBL_EPSILON * fabs(a_max);
  if (!(a_max > 0))
    return NZK_FAIL(GSL_EDOM, "second moment: A has no positive eigenvalue; every eta is stable");
  double lo = 0.0, hi = 1.0 / a_max; /* g(lo) < 1 <= g(hi) = inf */
  for (int it = 0; it < 200 && hi - lo > 4.0 * DBL_EPSILON * hi; it++) {
    double mid = 0.5 * (lo + hi);
    if (msq_g(sm->a, a_tol, mid) < 1.0) lo = mid;
    else hi = mid;
  }
  *eta_max = (double)sm->n * lo;
  return 0;
}

int nzk_secmom_step_dense(const gsl_matrix *A, double c, gsl_matrix *R, gsl_matrix *work1,
                          gsl_matrix *work2)
{
  const size_t n = A->size1;
  const int ln = (int)n;
  if (A->size2 != n || R->size1 != n || R->size2 != n || work1->size1 != n ||
      work1->size2 != n || work2->size1 != n || work2->size2 != n)
    return NZK_FAIL(GSL_EBADLEN, "second moment step: all matrices must be %zu x %zu", n, n);
  /* W1 = A R, W2 = W1 A = A R A; R A = W1^T as both are symmetric */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ln, ln, ln, 1.0, A->data, (int)A->tda,
              R->data, (int)R->tda, 0.0, work1->data, (int)work1->tda);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ln, ln, ln, 1.0, work1->data,
              (int)work1->tda, A->data, (int)A->tda, 0.0, work2->data, (int)work2->tda);
  double tr = 0.0;
  for (size_t i = 0; i < n; i++) tr += gsl_matrix_get(work1, i, i);
  /* Written from the symmetric parts of R and A R A, both entries at once:
   * the recursion keeps R symmetric in exact arithmetic, but rounding adds
   * an antisymmetric part that the literal update multiplies by
   * 1 + 2 c^2 a_k a_l > 1 each step (it reached 1e20 in 3000 steps at
   * 0.3 eta*), so it must not be carried. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) {
      double r = 0.5 * (gsl_matrix_get(R, i, j) + gsl_matrix_get(R, j, i));
      double ara = 0.5 * (gsl_matrix_get(work2, i, j) + gsl_matrix_get(work2, j, i));
      double v = r - c * (gsl_matrix_get(work1, i, j) + gsl_matrix_get(work1, j, i)) +
                 c * c * (tr * 0.5 * (gsl_matrix_get(A, i, j) + gsl_matrix_get(A, j, i)) +
                          2.0 * ara);
      gsl_matrix_set(R, i, j, v);
      gsl_matrix_set(R, j, i, v);
    }
  return 0;
}

/* --- drivers with recording ---------------------------------------------- */

double nzk_runaway_bound(double factor, double loss0, const double *y, size_t n)
{
  double y2 = 0.0;
  for (size_t i = 0; i < n; i++) y2 += y[i] * y[i];
  return factor * fmax(fmax(loss0, 0.5 * y2 / (double)n), DBL_MIN);
}

int nzk_check_records(const size_t *rec, size_t nrec, size_t lo, size_t hi, const gsl_matrix *F,
                      size_t n)
{
  for (size_t k = 0; k < nrec; k++)
    if (rec[k] < lo || rec[k] > hi || (k && rec[k] <= rec[k - 1]))
      return NZK_FAIL(GSL_EINVAL, "record step %zu (entry %zu) must be increasing and lie in "
                      "[%zu, %zu]", rec[k], k, lo, hi);
  if (nrec && (!F || F->size1 != nrec || F->size2 != n))
    return NZK_FAIL(GSL_EBADLEN, "records: F must be %zu x %zu", nrec, n);
  return 0;
}

/* (1/2n)|f - y|^2 */
static double loss_of(const gsl_vector *f, const gsl_vector *y)
{
  double s = 0.0;
  for (size_t i = 0; i < f->size; i++) {
    double e = gsl_vector_get(f, i) - gsl_vector_get(y, i);
    s += e * e;
  }
  return 0.5 * s / (double)f->size;
}

static int check_bound(double loss, double bound, size_t step, const char *who)
{
  if (isfinite(loss) && loss <= bound) return 0;
  return NZK_FAIL(GSL_ERUNAWAY, "%s diverged at step %zu: loss = %g exceeds the bound %g", who,
                  step, loss, bound);
}

static int driver_args(const gsl_vector *y, size_t n, size_t steps, double factor,
                       const size_t *rec, size_t nrec, const gsl_matrix *F, const char *who)
{
  if (y->size != n) return NZK_FAIL(GSL_EBADLEN, "%s: y has %zu entries, expected %zu", who,
                                    y->size, n);
  if (!(factor > 1 && isfinite(factor)))
    return NZK_FAIL(GSL_EINVAL, "%s: runaway factor must exceed 1, got %g", who, factor);
  return nzk_check_records(rec, nrec, 0, steps, F, n);
}

/* nzk_runaway_bound for a (possibly strided) gsl_vector y. */
static double bound_for(double factor, double loss0, const gsl_vector *y)
{
  double y2 = 0.0;
  for (size_t i = 0; i < y->size; i++) y2 += gsl_vector_get(y, i) * gsl_vector_get(y, i);
  return factor * fmax(fmax(loss0, 0.5 * y2 / (double)y->size), DBL_MIN);
}

int nzk_kgd_run(const gsl_matrix *K, double eta, const gsl_vector *y, const gsl_vector *f0,
                size_t steps, double runaway_factor, double *loss, const size_t *rec,
                size_t nrec, gsl_matrix *F)
{
  const size_t n = f0->size;
  int status = driver_args(y, n, steps, runaway_factor, rec, nrec, F, "kernel GD");
  if (status) return status;
  gsl_vector *f = gsl_vector_alloc(n), *w = gsl_vector_alloc(n);
  if (!f || !w) {
    gsl_vector_free(f);
    gsl_vector_free(w);
    return NZK_FAIL(GSL_ENOMEM, "kernel GD: out of memory (n = %zu)", n);
  }
  gsl_vector_memcpy(f, f0);
  const double bound = bound_for(runaway_factor, loss_of(f, y), y);
  for (size_t s = 0, k = 0; !status; s++) {
    double L = loss_of(f, y);
    if (loss) loss[s] = L;
    if ((status = check_bound(L, bound, s, "kernel GD"))) break;
    if (k < nrec && rec[k] == s) {
      gsl_vector_view row = gsl_matrix_row(F, k++);
      gsl_vector_memcpy(&row.vector, f);
    }
    if (s == steps) break;
    status = nzk_kgd_step(K, eta, y, f, w);
  }
  gsl_vector_free(f);
  gsl_vector_free(w);
  return status;
}

/* Per-step losses use w_k <- w_k q_k with q_k = g_k(1)^2 and w_k = b_k^2
 * at s = 0: O(n) multiply-adds per step instead of n calls of pow (which
 * made 16000 steps at n = 200 cost 60 ms).  The running products carry
 * at most s rounding errors each, 2e-12 relative at s = 16000.  Fills
 * loss[0..upto] (if loss) and returns the first step whose loss breaks
 * `bound` (or is not finite), or upto + 1 if none does. */
static size_t closed_scan(const nzk_closed *cf, double eta, nzk_evolve_mode mode, size_t upto,
                          double bound, double *loss, double *w)
{
  const size_t n = cf->n, m = cf->m;
  double *q = w + m;
  for (size_t k = 0; k < m; k++) {
    double g, b = gsl_vector_get(cf->b, k);
    mode_factor(eta / (double)n, gsl_vector_get(cf->lambda, k), 1.0, mode, &g);
    q[k] = g * g;
    w[k] = b * b;
  }
  for (size_t s = 0; s <= upto; s++) {
    double L = cf->perp2;
    for (size_t k = 0; k < m; k++) {
      L += w[k];
      w[k] *= q[k];
    }
    L *= 0.5 / (double)n;
    if (loss) loss[s] = L;
    if (!(isfinite(L) && L <= bound)) return s;
  }
  return upto + 1;
}

/* Without `loss`, only the record steps and the last step are evaluated
 * (O(n) each), so 9 records cost 9 residuals whatever `steps` is; if one
 * of them breaks the bound, closed_scan finds the first step that did.
 * Checking only there is enough: the loss sum_k b_k^2 g_k^(2s) is a sum
 * of log-linear, hence convex, functions of s, so on every interval
 * between checkpoints it is largest at an end. */
int nzk_closed_run(const nzk_closed *cf, double eta, nzk_evolve_mode mode, const gsl_vector *y,
                   size_t steps, double runaway_factor, double *loss, const size_t *rec,
                   size_t nrec, gsl_matrix *F)
{
  const size_t n = cf->n;
  int status = driver_args(y, n, steps, runaway_factor, rec, nrec, F, "closed form");
  double L0 = 0.0, L = 0.0;
  if (!status) status = nzk_closed_loss(cf, eta, 0.0, mode, &L0);
  if (status) return status;
  double *w = malloc(2 * cf->m * sizeof(double));
  if (!w) return NZK_FAIL(GSL_ENOMEM, "closed form: out of memory (n = %zu)", n);
  const double bound = bound_for(runaway_factor, L0, y);
  size_t bad = steps + 1;
  if (loss) bad = closed_scan(cf, eta, mode, steps, bound, loss, w);
  for (size_t k = 0; !loss && k <= nrec && bad > steps; k++) {
    size_t s = k < nrec ? rec[k] : steps;
    if ((status = nzk_closed_loss(cf, eta, (double)s, mode, &L))) break;
    if (!(isfinite(L) && L <= bound)) bad = closed_scan(cf, eta, mode, s, bound, NULL, w);
  }
  if (!status && bad <= steps) {
    nzk_closed_loss(cf, eta, (double)bad, mode, &L);
    status = check_bound(L, bound, bad, "closed form");
  }
  for (size_t k = 0; k < nrec && !status; k++) {
    gsl_vector_view row = gsl_matrix_row(F, k);
    status = nzk_closed_residual(cf, eta, (double)rec[k], mode, &row.vector);
    if (!status) gsl_vector_add(&row.vector, y);
  }
  free(w);
  return status;
}
