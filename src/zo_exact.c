/* zo_exact.c: exact-law function-space ZO steps for f = J theta with
 * z ~ N(0, sigma^2 I) (see zo_exact.h for the derivation). */
#include "zo_exact.h"
#include "nzk_blas.h"
#include "nzk_error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "rng_stream.h"

struct nzk_zox {
  size_t n, p, q; /* examples, parameters, rank of J */
  double sigma;
  double *U;      /* n x q, row-major: eigenvectors of J J^T, descending */
  double *s;      /* q: singular values of J */
  double *rt;     /* q: U^T r */
  double *a, *b;  /* q: scratch for direction coordinates */
  double *rperp;  /* n: r0 - U U^T r0, the part no step moves */
  double rperp2;  /* |rperp|^2 */
};

static const char *kind_names[] = {"plain", "pair", "shared", "best"};

const char *nzk_zox_kind_name(nzk_zox_kind kind)
{
  return (unsigned)kind < 4 ? kind_names[kind] : "unknown";
}

void nzk_zox_free(nzk_zox *zx)
{
  if (!zx) return;
  free(zx->U);
  free(zx->s);
  free(zx->rt);
  free(zx->a);
  free(zx->b);
  free(zx->rperp);
  free(zx);
}

/* Eigendecompose J J^T and keep the q eigenpairs above the numerical rank
 * threshold 16 n eps lambda_max, in descending order. */
static int factor_ntk(nzk_zox *zx, const gsl_matrix *J)
{
  const size_t n = zx->n;
  double *T = malloc(n * n * sizeof *T), *w = malloc(n * sizeof *w);
  if (!T || !w) {
    free(T);
    free(w);
    return NZK_FAIL(GSL_ENOMEM, "zo_exact: no memory for the %zu x %zu NTK", n, n);
  }
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)zx->p, 1.0, J->data,
              (int)J->tda, 0.0, T, (int)n);
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, T, (lapack_int)n, w);
  int status = 0;
  if (info != 0) status = NZK_FAIL(GSL_EFAILED, "zo_exact: dsyevd failed (info %d)", (int)info);
  double tol = 16.0 * (double)n * DBL_EPSILON * fmax(w[n - 1], 0.0);
  size_t q = 0;
  while (!status && q < n && w[n - 1 - q] > tol && w[n - 1 - q] > 0) q++;
  if (!status && q == 0) status = NZK_FAIL(GSL_EINVAL, "zo_exact: the Jacobian has rank 0");
  if (!status) {
    zx->q = q;
    zx->U = malloc(n * q * sizeof *zx->U);
    zx->s = malloc(q * sizeof *zx->s);
    if (!zx->U || !zx->s) status = NZK_FAIL(GSL_ENOMEM, "zo_exact: out of memory");
  }
  for (size_t k = 0; !status && k < q; k++) {
    size_t col = n - 1 - k; /* dsyevd sorts ascending */
    zx->s[k] = sqrt(w[col]);
    for (size_t i = 0; i < n; i++) zx->U[i * q + k] = T[i * n + col];
  }
  free(T);
  free(w);
  return status;
}

nzk_zox *nzk_zox_alloc(const gsl_matrix *J, double sigma)
{
  if (!(sigma > 0) || !isfinite(sigma)) {
    NZK_FAIL(GSL_EINVAL, "zo_exact: sigma must be positive, got %g", sigma);
    return NULL;
  }
  nzk_zox *zx = calloc(1, sizeof *zx);
  if (!zx) {
    NZK_FAIL(GSL_ENOMEM, "zo_exact: out of memory");
    return NULL;
  }
  zx->n = J->size1;
  zx->p = J->size2;
  zx->sigma = sigma;
  if (factor_ntk(zx, J)) {
    nzk_zox_free(zx);
    return NULL;
  }
  zx->rt = calloc(zx->q, sizeof *zx->rt);
  zx->a = malloc(zx->q * sizeof *zx->a);
  zx->b = malloc(zx->q * sizeof *zx->b);
  zx->rperp = calloc(zx->n, sizeof *zx->rperp);
  if (!zx->rt || !zx->a || !zx->b || !zx->rperp) {
    NZK_FAIL(GSL_ENOMEM, "zo_exact: out of memory");
    nzk_zox_free(zx);
    return NULL;
  }
  return zx;
}

size_t nzk_zox_rank(const nzk_zox *zx) { return zx->q; }

int nzk_zox_set_r0(nzk_zox *zx, const gsl_vector *r0)
{
  if (r0->size != zx->n)
    return NZK_FAIL(GSL_EBADLEN, "zo_exact: r0 has length %zu, expected %zu", r0->size, zx->n);
  const size_t n = zx->n, q = zx->q;
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)q, 1.0, zx->U, (int)q, r0->data,
              (int)r0->stride, 0.0, zx->rt, 1);
  /* The part outside range(U), formed explicitly for accuracy. */
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    double proj = cblas_ddot((int)q, zx->U + i * q, 1, zx->rt, 1);
    double e = gsl_vector_get(r0, i) - proj;
    zx->rperp[i] = e;
    acc += e * e;
  }
  zx->rperp2 = acc;
  return 0;
}

double nzk_zox_loss(const nzk_zox *zx)
{
  double acc = zx->rperp2;
  for (size_t k = 0; k < zx->q; k++) acc += zx->rt[k] * zx->rt[k];
  return acc / (2.0 * (double)zx->n);
}

int nzk_zox_residual(const nzk_zox *zx, gsl_vector *r)
{
  if (r->size != zx->n)
    return NZK_FAIL(GSL_EBADLEN, "zo_exact: r has length %zu, expected %zu", r->size, zx->n);
  /* r = U rt + rperp */
  for (size_t i = 0; i < zx->n; i++) gsl_vector_set(r, i, zx->rperp[i]);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)zx->n, (int)zx->q, 1.0, zx->U, (int)zx->q,
              zx->rt, 1, 1.0, r->data, (int)r->stride);
  return 0;
}

static void fill_normal(gsl_rng *r, double *x, size_t m)
{
  for (size_t k = 0; k < m; k++) x[k] = gsl_ran_gaussian_ziggurat(r, 1.0);
}

/* Best of K: a drawn from its conditional law given the kept z.g (header). */
static double best_direction(nzk_zox *zx, size_t best_k, gsl_rng *r)
{
  const size_t q = zx->q;
  double g2 = 0, e_min = INFINITY;
  for (size_t k = 0; k < q; k++) {
    zx->b[k] = zx->s[k] * zx->rt[k]; /* w = S rt, |w| = |g| */
    g2 += zx->b[k] * zx->b[k];
  }
  /* The least of K i.i.d. N(0,1) by inversion: P(min > x) = (1 - Phi(x))^K,
   * so min = -Phi^{-1}(U^{1/K}), U uniform: one draw instead of K. */
  e_min = -gsl_cdf_ugaussian_Pinv(pow(gsl_rng_uniform_pos(r), 1.0 / (double)best_k));
  fill_normal(r, zx->a, q);
  if (g2 == 0) return 0; /* at a stationary point every d_k is 0 */
  double zg = zx->sigma * sqrt(g2) * e_min; /* the kept z.g */
  double wxi = cblas_ddot((int)q, zx->b, 1, zx->a, 1);
  for (size_t k = 0; k < q; k++)
    zx->a[k] += (zg / zx->sigma - wxi) * zx->b[k] / g2;
  return zg;
}

int nzk_zox_step(nzk_zox *zx, nzk_zox_kind kind, double eta, size_t best_k, gsl_rng *r)
{
  if (!isfinite(eta)) return NZK_FAIL(GSL_EINVAL, "zo_exact: eta must be finite");
  if (kind == NZK_ZOX_BEST && best_k == 0)
    return NZK_FAIL(GSL_EINVAL, "zo_exact: best-of-K needs K >= 1");
  const size_t q = zx->q, m = zx->p - zx->q;
  const double sg = zx->sigma, n = (double)zx->n;
  double d, coef = 1.0;

  if (kind == NZK_ZOX_BEST) {
    d = best_direction(zx, best_k, r) / n;
  } else {
    fill_normal(r, zx->a, q); /* z's row-space coordinates */
    if (kind == NZK_ZOX_PAIR) fill_normal(r, zx->b, q); /* zeta's */
    const double *probe = kind == NZK_ZOX_PAIR ? zx->b : zx->a;
    double zg = 0;
    for (size_t k = 0; k < q; k++) zg += zx->s[k] * probe[k] * zx->rt[k];
    d = sg * zg / n;
    if (kind == NZK_ZOX_SHARED) {
      double a2 = cblas_ddot((int)q, zx->a, 1, zx->a, 1);
      coef = sg * sg * (a2 + (m ? gsl_ran_chisq(r, (double)m) : 0.0));
    } else if (kind == NZK_ZOX_PAIR) {
      double ab = cblas_ddot((int)q, zx->a, 1, zx->b, 1);
      double null = m ? sqrt(gsl_ran_chisq(r, (double)m)) * gsl_ran_gaussian_ziggurat(r, 1.0) : 0;
      coef = sg * sg * (ab + null);
    }
  }

  /* r <- r - eta d coef J z, with J z = sigma U S a */
  const double scale = eta * d * coef * sg;
  int finite = isfinite(scale); /* every entry is checked, not only rt[0] */
  for (size_t k = 0; k < q; k++) {
    zx->rt[k] -= scale * zx->s[k] * zx->a[k];
    finite &= isfinite(zx->rt[k]) != 0;
  }
  if (!finite)
    return NZK_FAIL(GSL_ERUNAWAY, "zo_exact: %s step diverged (eta %g)", nzk_zox_kind_name(kind),
                    eta);
  return 0;
}

const double *nzk_zox_singular_values(const nzk_zox *zx) { return zx->s; }

/* One chunk of B draws into acc; A, A2: B x q scratch, W0 = diag(sigma S)
 * U^T (q x n), V, W: B x n scratch, c: B. */
static int mc_chunk(const nzk_zox *zx, nzk_scheme scheme, gsl_rng *r, size_t B,
                    gsl_matrix *A, gsl_matrix *A2, const gsl_matrix *W0, gsl_matrix *V,
                    gsl_matrix *W, double *c, nzk_kacc *acc)
{
  const size_t q = zx->q, n = zx->n, m = zx->p - zx->q;
  const double s2 = zx->sigma * zx->sigma;
  const int pair = scheme == NZK_SCHEME_PAIR;
  gsl_matrix_view a = gsl_matrix_submatrix(A, 0, 0, B, q);
  gsl_matrix_view a2 = gsl_matrix_submatrix(A2, 0, 0, B, q);
  gsl_matrix_view v = gsl_matrix_submatrix(V, 0, 0, B, n), w = gsl_matrix_submatrix(W, 0, 0, B, n);
  for (size_t s = 0; s < B; s++) {
    double *as = gsl_matrix_ptr(&a.matrix, s, 0), *bs = gsl_matrix_ptr(&a2.matrix, s, 0);
    fill_normal(r, as, q);
    if (pair) fill_normal(r, bs, q);
    if (scheme == NZK_SCHEME_SHARED)
      c[s] = s2 * (cblas_ddot((int)q, as, 1, as, 1) + (m ? gsl_ran_chisq(r, (double)m) : 0.0));
    else if (pair)
      c[s] = s2 * (cblas_ddot((int)q, as, 1, bs, 1) +
                   (m ? sqrt(gsl_ran_chisq(r, (double)m)) * gsl_ran_gaussian_ziggurat(r, 1.0)
                      : 0.0));
  }
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &a.matrix, W0, 0.0, &v.matrix);
  if (pair) gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &a2.matrix, W0, 0.0, &w.matrix);
  return nzk_kacc_add(acc, &v.matrix, pair ? &w.matrix : NULL,
                      scheme == NZK_SCHEME_PLAIN ? NULL : c);
}

int nzk_zox_kernel_mc(const nzk_zox *zx, nzk_scheme scheme, size_t n_draws, size_t batch,
                      uint64_t seed, gsl_matrix *mean, gsl_matrix *se)
{
  const size_t n = zx->n, q = zx->q;
  if (mean->size1 != n || mean->size2 != n || (se && (se->size1 != n || se->size2 != n)))
    return NZK_FAIL(GSL_EBADLEN, "zo_exact kernel: outputs must be %zu x %zu", n, n);
  if (n_draws < 2 || batch == 0)
    return NZK_FAIL(GSL_EINVAL, "zo_exact kernel: needs S >= 2 and B > 0 (S = %zu, B = %zu)",
                    n_draws, batch);
  if (batch > n_draws) batch = n_draws;
  gsl_matrix *A = gsl_matrix_alloc(batch, q), *A2 = gsl_matrix_alloc(batch, q);
  gsl_matrix *W0 = gsl_matrix_alloc(q, n), *V = gsl_matrix_alloc(batch, n);
  gsl_matrix *W = gsl_matrix_alloc(batch, n);
  double *c = malloc(batch * sizeof *c);
  nzk_kacc *acc = nzk_kacc_alloc(n, batch);
  gsl_rng *r = nzk_stream_alloc(seed, 0);
  int status = (!A || !A2 || !W0 || !V || !W || !c || !acc || !r)
                   ? NZK_FAIL(GSL_ENOMEM, "zo_exact kernel: out of memory") : 0;
  for (size_t k = 0; !status && k < q; k++) /* W0 = diag(sigma S) U^T */
    for (size_t i = 0; i < n; i++)
      gsl_matrix_set(W0, k, i, zx->sigma * zx->s[k] * zx->U[i * q + k]);
  size_t n_chunks = (n_draws + batch - 1) / batch;
  for (size_t k = 0; k < n_chunks && !status; k++) {
    size_t B = k + 1 < n_chunks ? batch : n_draws - k * batch;
    nzk_stream_reset(r, seed, k);
    status = mc_chunk(zx, scheme, r, B, A, A2, W0, V, W, c, acc);
  }
  if (!status) status = nzk_kacc_result(acc, mean, se);
  gsl_matrix_free(A);
  gsl_matrix_free(A2);
  gsl_matrix_free(W0);
  gsl_matrix_free(V);
  gsl_matrix_free(W);
  free(c);
  nzk_kacc_free(acc);
  gsl_rng_free(r);
  return status;
}
