/* kernel_nzk.c: expected zeroth-order kernels from the moment formulas
 * (DESIGN.md section 2): E K = J M J^T with M = M2 (plain),
 * M2_z M2_zeta (independent pair) or M4 (shared). */
#include "kernel.h"
#include "nzk_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nzk_blas.h"
#include "rng_stream.h"

static const char *scheme_names[] = {"plain", "pair", "shared"};

const char *nzk_scheme_name(nzk_scheme scheme)
{
  return (unsigned)scheme < 3 ? scheme_names[scheme] : "unknown";
}

int nzk_scheme_parse(const char *name, nzk_scheme *scheme)
{
  for (int k = 0; k < 3; k++)
    if (strcmp(name, scheme_names[k]) == 0) {
      *scheme = (nzk_scheme)k;
      return 0;
    }
  if (strcmp(name, "independent") == 0) {
    *scheme = NZK_SCHEME_PAIR;
    return 0;
  }
  return NZK_FAIL(GSL_EINVAL, "unknown scheme '%s' (expected plain, pair or shared)", name);
}

int nzk_scheme_mean_order(nzk_scheme scheme) { return scheme == NZK_SCHEME_SHARED ? 4 : 2; }
int nzk_scheme_variance_order(nzk_scheme scheme) { return scheme == NZK_SCHEME_SHARED ? 8 : 4; }

/* GSL_EDOM naming the missing moment when `dir` lacks the order needed. */
static int require_moment(const nzk_dir *dir, nzk_scheme scheme, int order, const char *what)
{
  if (nzk_dir_moment_exists(dir, order)) return 0;
  char desc[200];
  nzk_dir_describe(dir, desc, sizeof desc);
  return NZK_FAIL(GSL_EDOM, "the %s of the %s kernel does not exist: %s has no moment of order %d",
                  what, nzk_scheme_name(scheme), desc, order);
}

int nzk_kernel_expected(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z,
                        const nzk_dir *zeta, gsl_matrix *K)
{
  const size_t p = J->size2;
  if (!zeta) zeta = z;
  if (nzk_dir_dim(z) != p || nzk_dir_dim(zeta) != p)
    return NZK_FAIL(GSL_EBADLEN, "expected kernel: J has %zu columns, directions have p = %zu, %zu",
                    p, nzk_dir_dim(z), nzk_dir_dim(zeta));

  int status = require_moment(z, scheme, nzk_scheme_mean_order(scheme), "expectation");
  if (!status && scheme == NZK_SCHEME_PAIR)
    status = require_moment(zeta, scheme, 2, "expectation");
  if (status) return status;

  nzk_moment M = {0}, Mz = {0}, Mzeta = {0};
  switch (scheme) {
  case NZK_SCHEME_PLAIN:
    status = nzk_dir_second_moment(z, &M);
    break;
  case NZK_SCHEME_SHARED:
    status = nzk_dir_fourth_moment(z, &M);
    break;
  case NZK_SCHEME_PAIR:
    status = nzk_dir_second_moment(z, &Mz);
    if (!status) status = nzk_dir_second_moment(zeta, &Mzeta);
    if (!status) status = nzk_moment_product(&Mz, &Mzeta, &M);
    break;
  default:
    status = NZK_FAIL(GSL_EINVAL, "unknown scheme %d", (int)scheme);
  }
  if (!status) status = nzk_kernel_sandwich(J, &M, K);
  nzk_moment_free(&M);
  nzk_moment_free(&Mz);
  nzk_moment_free(&Mzeta);
  return status;
}

/* --- Monte Carlo accumulation (DESIGN.md section 7) ----------------------
 *
 * A draw contributes K_s = c_s v_s w_s^T.  The running sum of K_s is one
 * BLAS-3 product per batch: SYRK on T = diag(sqrt c) V when the draw is
 * symmetric (w = v, c >= 0: plain and shared), GEMM of (diag(c) V)^T W
 * otherwise (pair).
 *
 * Variance, around a shift.  sum K^2 - S mean^2 cancels catastrophically
 * when the mean of an entry is large against its spread (a direction law
 * with a large mean and a small scale).  So the second moment is taken of
 * D_s = K_s - C with a fixed shift C = a b^T set from the first batch
 * (a, b the batch means of c_s v_s and w_s; a = b = mean sqrt(c_s) v_s for
 * symmetric draws).  D_s has rank two and
 * its factors are differences of nearby vectors, so D_s o D_s is again a
 * sum of BLAS-3 products of small quantities:
 *   symmetric, t = sqrt(c) v, C = s s^T, d = t - s, q = t + s:
 *     D_ij = (d_i q_j + q_i d_j) / 2,
 *     sum_s D_ij^2 = [ (D2^T Q2 + Q2^T D2) / 4 + (P^T P) / 2 ]_ij
 *     with D2 = d o d, Q2 = q o q, P = d o q (one SYR2K and one SYRK);
 *   general, x = c v, e = w - b, y = c v - a:
 *     D_ij = x_i e_j + y_i b_j,
 *     sum_s D_ij^2 = [X2^T E2]_ij + 2 [(X o Y)^T E]_ij b_j + (sum_s y_si^2) b_j^2.
 * Then var_ij = sum D_ij^2 / S - (mean_ij - C_ij)^2, where the second term
 * is small, so rounding errors stay relative to the variance itself (the
 * "shifted data" algorithm of Chan, Golub and LeVeque, Amer. Stat. 1983).
 * Batch scratch is 5 B x n; the state is two n x n sums: O(n^2 + n B). */

struct nzk_kacc {
  size_t n, batch_max, count;
  int have_shift; /* C fixed by the first non-empty batch */
  int shift_sym;  /* C = s s^T (a = b = s) */
  int general;    /* a non-symmetric batch was added: sums are full, not lower */
  double *a, *b, *ysq; /* length n */
  gsl_matrix *sum;     /* sum_s K_s */
  gsl_matrix *sumd2;   /* sum_s (K_s - C) o (K_s - C) */
  double *X, *E, *Y, *X2, *E2; /* B x n scratch, leading dimension n */
};

nzk_kacc *nzk_kacc_alloc(size_t n, size_t batch_max)
{
  if (n == 0 || batch_max == 0) {
    NZK_FAIL(GSL_EINVAL, "kernel accumulator: n = %zu and batch_max = %zu must be positive", n,
             batch_max);
    return NULL;
  }
  nzk_kacc *acc = calloc(1, sizeof *acc);
  if (!acc) goto nomem;
  acc->n = n;
  acc->batch_max = batch_max;
  acc->a = malloc(3 * n * sizeof(double));
  acc->sum = gsl_matrix_calloc(n, n);
  acc->sumd2 = gsl_matrix_calloc(n, n);
  acc->X = malloc(5 * batch_max * n * sizeof(double));
  if (!acc->a || !acc->sum || !acc->sumd2 || !acc->X) goto nomem;
  acc->b = acc->a + n;
  acc->ysq = acc->a + 2 * n;
  acc->E = acc->X + batch_max * n;
  acc->Y = acc->E + batch_max * n;
  acc->X2 = acc->Y + batch_max * n;
  acc->E2 = acc->X2 + batch_max * n;
  return acc;

nomem:
  NZK_FAIL(GSL_ENOMEM, "out of memory for a kernel accumulator (n = %zu, batch %zu)", n,
           batch_max);
  nzk_kacc_free(acc);
  return NULL;
}

void nzk_kacc_free(nzk_kacc *acc)
{
  if (!acc) return;
  free(acc->a);
  free(acc->X);
  gsl_matrix_free(acc->sum);
  gsl_matrix_free(acc->sumd2);
  free(acc);
}

void nzk_kacc_reset(nzk_kacc *acc)
{
  acc->count = 0;
  acc->have_shift = acc->shift_sym = acc->general = 0;
  gsl_matrix_set_zero(acc->sum);
  gsl_matrix_set_zero(acc->sumd2);
}

size_t nzk_kacc_count(const nzk_kacc *acc) { return acc->count; }

static void copy_lower_to_upper(gsl_matrix *K)
{
  for (size_t i = 0; i < K->size1; i++)
    for (size_t j = 0; j < i; j++) gsl_matrix_set(K, j, i, gsl_matrix_get(K, i, j));
}

/* Column means of the B x n matrix A (leading dimension lda). */
static void column_means(const double *A, size_t lda, size_t B, size_t n, double *out)
{
  for (size_t j = 0; j < n; j++) out[j] = 0.0;
  for (size_t s = 0; s < B; s++)
    for (size_t j = 0; j < n; j++) out[j] += A[s * lda + j];
  for (size_t j = 0; j < n; j++) out[j] /= (double)B;
}

/* Symmetric batch: T = diag(sqrt c) V is in acc->X.  Lower triangles only. */
static void add_symmetric(nzk_kacc *acc, size_t B)
{
  const size_t n = acc->n;
  const int ni = (int)n, Bi = (int)B, ld = (int)acc->sum->tda;
  const double *s = acc->a;
  double *T = acc->X, *P = acc->E, *D2 = acc->X2, *Q2 = acc->E2;

  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, ni, Bi, 1.0, T, ni, 1.0, acc->sum->data,
              ld);
  for (size_t r = 0; r < B; r++)
    for (size_t j = 0; j < n; j++) {
      double d = T[r * n + j] - s[j], q = T[r * n + j] + s[j];
      D2[r * n + j] = d * d;
      Q2[r * n + j] = q * q;
      P[r * n + j] = d * q;
    }
  cblas_dsyr2k(CblasRowMajor, CblasLower, CblasTrans, ni, Bi, 0.25, D2, ni, Q2, ni, 1.0,
               acc->sumd2->data, ld);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, ni, Bi, 0.5, P, ni, 1.0, acc->sumd2->data,
              ld);
}

/* General batch: X = diag(c) V is in acc->X, W (B x n, leading dimension
 * ldw) holds w_s.  Full matrices. */
static void add_general(nzk_kacc *acc, size_t B, const double *W, size_t ldw)
{
  const size_t n = acc->n;
  const int ni = (int)n, Bi = (int)B, ld = (int)acc->sum->tda;
  double *X = acc->X, *E = acc->E, *Y = acc->Y, *X2 = acc->X2, *E2 = acc->E2;
  const double *a = acc->a, *b = acc->b;

  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, ni, Bi, 1.0, X, ni, W, (int)ldw, 1.0,
              acc->sum->data, ld);
  for (size_t j = 0; j < n; j++) acc->ysq[j] = 0.0;
  for (size_t r = 0; r < B; r++)
    for (size_t j = 0; j < n; j++) {
      double x = X[r * n + j], e = W[r * ldw + j] - b[j], y = x - a[j];
      X2[r * n + j] = x * x;
      E2[r * n + j] = e * e;
      E[r * n + j] = e * b[j]; /* columns of E scaled by b */
      Y[r * n + j] = x * y;    /* X o Y */
      acc->ysq[j] += y * y;
    }
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, ni, Bi, 1.0, X2, ni, E2, ni, 1.0,
              acc->sumd2->data, ld);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, ni, Bi, 2.0, Y, ni, E, ni, 1.0,
              acc->sumd2->data, ld);
  for (size_t j = 0; j < n; j++) E2[j] = b[j] * b[j];
  cblas_dger(CblasRowMajor, ni, ni, 1.0, acc->ysq, 1, E2, 1, acc->sumd2->data, ld);
}

/* Fix the shift C = a b^T from the first batch (X holds T or diag(c) V).
 * Column means only: a near-constant draw then gives D_s near 0. */
static void set_shift(nzk_kacc *acc, size_t B, int symmetric, const double *W, size_t ldw)
{
  const size_t n = acc->n;
  acc->have_shift = 1;
  acc->shift_sym = symmetric;
  column_means(acc->X, n, B, n, acc->a);
  if (symmetric) memcpy(acc->b, acc->a, n * sizeof(double));
  else column_means(W, ldw, B, n, acc->b);
}

int nzk_kacc_add(nzk_kacc *acc, const gsl_matrix *V, const gsl_matrix *W, const double *c)
{
  const size_t n = acc->n, B = V->size1;
  if (V->size2 != n || B > acc->batch_max || (W && (W->size1 != B || W->size2 != n)))
    return NZK_FAIL(GSL_EBADLEN,
                    "kernel accumulator (n = %zu, batch_max = %zu): V is %zu x %zu, W is %zu x %zu",
                    n, acc->batch_max, V->size1, V->size2, W ? W->size1 : B, W ? W->size2 : n);
  if (B == 0) return 0;
  if (W == V) W = NULL;

  int symmetric = W == NULL;
  for (size_t r = 0; r < B && symmetric && c; r++) symmetric = c[r] >= 0.0;
  if (acc->have_shift && !acc->shift_sym) symmetric = 0;
  if (acc->general) symmetric = 0;

  /* X = diag(sqrt c) V (symmetric) or diag(c) V (general). */
  for (size_t r = 0; r < B; r++) {
    double f = c ? (symmetric ? sqrt(c[r]) : c[r]) : 1.0;
    const double *v = gsl_matrix_const_ptr(V, r, 0);
    for (size_t j = 0; j < n; j++) acc->X[r * n + j] = f * v[j];
  }
  const double *Wd = W ? W->data : V->data;
  size_t ldw = W ? W->tda : V->tda;
  if (!acc->have_shift) set_shift(acc, B, symmetric, Wd, ldw);

  if (symmetric) add_symmetric(acc, B);
  else {
    if (!acc->general && acc->count > 0) {
      copy_lower_to_upper(acc->sum);
      copy_lower_to_upper(acc->sumd2);
    }
    acc->general = 1;
    add_general(acc, B, Wd, ldw);
  }
  acc->count += B;
  return 0;
}

int nzk_kacc_result(const nzk_kacc *acc, gsl_matrix *mean, gsl_matrix *se)
{
  const size_t n = acc->n, S = acc->count;
  if ((mean && (mean->size1 != n || mean->size2 != n)) ||
      (se && (se->size1 != n || se->size2 != n)))
    return NZK_FAIL(GSL_EBADLEN, "kernel accumulator result: outputs must be %zu x %zu", n, n);
  if (S < 1 || (se && S < 2))
    return NZK_FAIL(GSL_EDOM, "kernel accumulator holds %zu draws; the mean needs 1 and the "
                    "standard error 2", S);

  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < (acc->general ? n : i + 1); j++) {
      double m = gsl_matrix_get(acc->sum, i, j) / (double)S;
      double dbar = m - acc->a[i] * acc->b[j];
      double var = gsl_matrix_get(acc->sumd2, i, j) / (double)S - dbar * dbar;
      if (mean) gsl_matrix_set(mean, i, j, m);
      /* Clamp rounding below zero to 0, but let a NaN variance (overflow)
       * through: fmax(NaN, 0) would turn it into a zero error bar. */
      if (se) gsl_matrix_set(se, i, j, sqrt((var < 0.0 ? 0.0 : var) / (double)(S - 1)));
    }
  if (!acc->general) {
    if (mean) copy_lower_to_upper(mean);
    if (se) copy_lower_to_upper(se);
  }
  return 0;
}

/* --- Monte Carlo estimator --------------------------------------------- */

/* The generator of the draw streams.  Drawing the p Gaussian entries of a
 * direction costs about as much as the BLAS work per draw at the MNIST
 * size: with MT19937 and GSL's ziggurat the directions took about 40 % of
 * the estimate's time; with taus2 (L'Ecuyer's maximally equidistributed
 * combined Tausworthe, Math. Comp. 1996, a GSL generator) and the ziggurat
 * of law_ziggurat.c about 21 % (bench/bench_kernel.c, process CPU time). */
#define MC_RNG gsl_rng_taus2

typedef struct {
  gsl_matrix *Z;  /* B x p, or 2B x p for the pair scheme */
  gsl_matrix *V;  /* Z J^T */
  double *c;      /* B */
  gsl_rng *r;
  nzk_kacc *acc;
} mc_work;

static void mc_work_free(mc_work *w)
{
  gsl_matrix_free(w->Z);
  gsl_matrix_free(w->V);
  free(w->c);
  if (w->r) gsl_rng_free(w->r);
  nzk_kacc_free(w->acc);
}

static int mc_work_alloc(mc_work *w, size_t n, size_t p, size_t B, int pair)
{
  size_t rows = pair ? 2 * B : B;
  *w = (mc_work){gsl_matrix_alloc(rows, p), gsl_matrix_alloc(rows, n),
                 malloc(B * sizeof(double)), nzk_stream_alloc_type(MC_RNG, 0, 0),
                 nzk_kacc_alloc(n, B)};
  if (w->Z && w->V && w->c && w->r && w->acc) return 0;
  mc_work_free(w);
  return NZK_FAIL(GSL_ENOMEM, "out of memory for Monte Carlo batches (n=%zu, p=%zu, B=%zu)", n,
                  p, B);
}

/* One chunk of B draws: sample, V = Z J^T, c_s, accumulate.  For the pair
 * scheme zeta_s sits in rows B..2B-1 of Z, so [Z; Zeta] J^T is one GEMM. */
static int mc_chunk(mc_work *w, nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z,
                    const nzk_dir *zeta, size_t B)
{
  const size_t n = J->size1, p = J->size2;
  const int pair = scheme == NZK_SCHEME_PAIR;
  const size_t rows = pair ? 2 * B : B;
  /* Views of rows B..2B-1 exist only for the pair scheme: for the others
   * w->Z and w->V have just B rows, and GSL rejects an out-of-range view. */
  gsl_matrix_view Z = gsl_matrix_submatrix(w->Z, 0, 0, B, p);
  int status = nzk_dir_sample_batch(z, w->r, &Z.matrix);
  if (!status && pair) {
    gsl_matrix_view Zeta = gsl_matrix_submatrix(w->Z, B, 0, B, p);
    status = nzk_dir_sample_batch(zeta, w->r, &Zeta.matrix);
  }
  if (status) return status;

  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)p, 1.0,
              w->Z->data, (int)w->Z->tda, J->data, (int)J->tda, 0.0, w->V->data,
              (int)w->V->tda);
  for (size_t s = 0; s < B && scheme != NZK_SCHEME_PLAIN; s++) {
    const double *zs = gsl_matrix_const_ptr(w->Z, s, 0);
    const double *other = pair ? gsl_matrix_const_ptr(w->Z, B + s, 0) : zs;
    w->c[s] = cblas_ddot((int)p, zs, 1, other, 1);
  }
  gsl_matrix_view V = gsl_matrix_submatrix(w->V, 0, 0, B, n);
  if (pair) {
    gsl_matrix_view W = gsl_matrix_submatrix(w->V, B, 0, B, n);
    return nzk_kacc_add(w->acc, &V.matrix, &W.matrix, w->c);
  }
  return nzk_kacc_add(w->acc, &V.matrix, NULL, scheme == NZK_SCHEME_PLAIN ? NULL : w->c);
}

int nzk_kernel_mc(nzk_scheme scheme, const gsl_matrix *J, const nzk_dir *z, const nzk_dir *zeta,
                  size_t n_draws, size_t batch, uint64_t seed, gsl_matrix *mean, gsl_matrix *se)
{
  const size_t n = J->size1, p = J->size2;
  if (!zeta) zeta = z;
  if ((unsigned)scheme > NZK_SCHEME_SHARED)
    return NZK_FAIL(GSL_EINVAL, "Monte Carlo kernel: unknown scheme %d", (int)scheme);
  if (nzk_dir_dim(z) != p || nzk_dir_dim(zeta) != p || mean->size1 != n || mean->size2 != n ||
      (se && (se->size1 != n || se->size2 != n)))
    return NZK_FAIL(GSL_EBADLEN, "Monte Carlo kernel: J is %zu x %zu, directions have p = %zu, "
                    "%zu, outputs must be %zu x %zu", n, p, nzk_dir_dim(z), nzk_dir_dim(zeta), n,
                    n);
  if (n_draws < 2 || batch == 0)
    return NZK_FAIL(GSL_EINVAL, "Monte Carlo kernel: needs at least 2 draws and a positive "
                    "batch size, got S = %zu, B = %zu", n_draws, batch);
  if (batch > n_draws) batch = n_draws;

  mc_work w;
  int status = mc_work_alloc(&w, n, p, batch, scheme == NZK_SCHEME_PAIR);
  if (status) return status;
  size_t n_chunks = (n_draws + batch - 1) / batch;
  for (size_t k = 0; k < n_chunks && !status; k++) {
    size_t B = k + 1 < n_chunks ? batch : n_draws - k * batch;
    nzk_stream_reset(w.r, seed, k);
    status = mc_chunk(&w, scheme, J, z, zeta, B);
  }
  if (!status) status = nzk_kacc_result(w.acc, mean, se);
  mc_work_free(&w);
  return status;
}
