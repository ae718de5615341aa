/* test_kacc.c: the BLAS-3 kernel accumulator (kernel.h, DESIGN.md section 7)
 * against naive per-draw sums.
 *
 * For draws K_s = c_s v_s w_s^T the reference forms every n x n draw in
 * long double and takes a two-pass mean and variance.  The accumulator
 * must agree to a small multiple of (S + n) DBL_EPSILON: for the mean
 * relative to sum_s |K_s,ij| / S (the condition of a sum), for the
 * standard error relative to itself.  Covered: plain (c = 1, w = v),
 * shared (c >= 0, w = v), pair (signed c, separate w), batches of uneven
 * size, switching from symmetric to general batches, and draws whose mean
 * is 10^4 times their spread, where the one-pass formula sum K^2 - S mean^2
 * loses about 8 digits and the shifted accumulation must not. */
#include "kernel.h"
#include "rng_stream.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

typedef struct {
  size_t S, n;
  gsl_matrix *V, *W; /* S x n */
  double *c;         /* length S */
} draws;

/* v_si = mv_i + sd xi, w likewise (or w = v), c_s = mc + sdc xi. */
static draws make_draws(gsl_rng *r, size_t S, size_t n, double mean, double sd, int has_w,
                        int c_kind_arg)
{
  draws d = {S, n, gsl_matrix_alloc(S, n), has_w ? gsl_matrix_alloc(S, n) : NULL,
             malloc(S * sizeof(double))};
  for (size_t s = 0; s < S; s++) {
    for (size_t i = 0; i < n; i++) {
      double m = mean * (1.0 + 0.37 * (double)i);
      gsl_matrix_set(d.V, s, i, m + sd * gsl_ran_gaussian(r, 1.0));
      if (has_w) gsl_matrix_set(d.W, s, i, -0.6 * m + sd * gsl_ran_gaussian(r, 1.0));
    }
    /* c_kind: 0 none, 1 positive (shared), 2 signed (pair), 3 positive
     * then signed, 4 signed then positive (switching batch kinds) */
    double xi = gsl_ran_gaussian(r, 1.0);
    int c_kind = c_kind_arg, first_half = s < S / 2;
    if (c_kind == 3) c_kind = first_half ? 1 : 2;
    if (c_kind == 4) c_kind = first_half ? 2 : 1;
    d.c[s] = c_kind == 1 ? (mean != 0 ? 2.3 + sd * xi : xi * xi)
                         : (mean != 0 ? 1.7 + sd * xi : -0.4 + xi);
  }
  if (c_kind_arg == 0) {
    free(d.c);
    d.c = NULL;
  }
  return d;
}

static void free_draws(draws *d)
{
  gsl_matrix_free(d->V);
  gsl_matrix_free(d->W);
  free(d->c);
}

static long double draw_entry(const draws *d, size_t s, size_t i, size_t j)
{
  const gsl_matrix *W = d->W ? d->W : d->V;
  long double c = d->c ? d->c[s] : 1.0L;
  return c * (long double)gsl_matrix_get(d->V, s, i) * (long double)gsl_matrix_get(W, s, j);
}

/* Feed draws in batches of the given sizes (cycled) until S are in. */
static void feed(nzk_kacc *acc, const draws *d, const size_t *sizes, size_t nsizes)
{
  for (size_t s0 = 0, k = 0; s0 < d->S; k++) {
    size_t B = sizes[k % nsizes];
    if (B > d->S - s0) B = d->S - s0;
    gsl_matrix_const_view V = gsl_matrix_const_submatrix(d->V, s0, 0, B, d->n);
    gsl_matrix_const_view W =
        gsl_matrix_const_submatrix(d->W ? d->W : d->V, s0, 0, B, d->n);
    int st = nzk_kacc_add(acc, &V.matrix, d->W ? &W.matrix : NULL, d->c ? d->c + s0 : NULL);
    if (st) vt_ok(0, "nzk_kacc_add failed: %d", st);
    s0 += B;
  }
}

/* Compare the accumulator with the two-pass long double reference; returns
 * the worst relative errors of mean and se. */
static void compare(const nzk_kacc *acc, const draws *d, double *err_mean, double *err_se,
                    double *err_onepass)
{
  const size_t n = d->n, S = d->S;
  gsl_matrix *mean = gsl_matrix_alloc(n, n), *se = gsl_matrix_alloc(n, n);
  nzk_kacc_result(acc, mean, se);
  *err_mean = *err_se = *err_onepass = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      long double sum = 0, abs_sum = 0, ss = 0;
      double sum1 = 0, sum2 = 0; /* the one-pass formula in double */
      for (size_t s = 0; s < S; s++) {
        long double k = draw_entry(d, s, i, j);
        sum += k;
        abs_sum += fabsl(k);
        sum1 += (double)k;
        sum2 += (double)k * (double)k;
      }
      double m1 = sum1 / (double)S;
      double se1 = sqrt(vt_nan_max(sum2 / (double)S - m1 * m1, 0.0) / (double)(S - 1));
      long double m = sum / S;
      for (size_t s = 0; s < S; s++) {
        long double dev = draw_entry(d, s, i, j) - m;
        ss += dev * dev;
      }
      double ref_se = (double)sqrtl(ss / (S - 1) / S);
      double em = fabs(gsl_matrix_get(mean, i, j) - (double)m) / (double)(abs_sum / S);
      double es = fabs(gsl_matrix_get(se, i, j) - ref_se) / ref_se;
      *err_mean = vt_nan_max(*err_mean, em);
      *err_se = vt_nan_max(*err_se, isnan(es) ? INFINITY : es);
      *err_onepass = vt_nan_max(*err_onepass, fabs(se1 - ref_se) / ref_se);
    }
  gsl_matrix_free(mean);
  gsl_matrix_free(se);
}

static void check_case(const char *name, size_t S, size_t n, double mean, double sd, int has_w,
                       int c_kind, const size_t *sizes, size_t nsizes, uint64_t seed)
{
  gsl_rng *r = nzk_stream_alloc(seed, 0);
  draws d = make_draws(r, S, n, mean, sd, has_w, c_kind);
  size_t bmax = 0;
  for (size_t k = 0; k < nsizes; k++) bmax = sizes[k] > bmax ? sizes[k] : bmax;
  nzk_kacc *acc = nzk_kacc_alloc(n, bmax);
  feed(acc, &d, sizes, nsizes);

  double em, es, e1;
  compare(acc, &d, &em, &es, &e1);
  /* Named factor 16 on (S + n) eps.  For a mean R times the spread, the
   * rounding of c v (relative eps) is R eps relative to the spread, hence
   * the extra R in the se bound; the one-pass formula loses R^2 eps. */
  double cond = sd > 0 ? fabs(mean) / sd : 0.0;
  double tol = 16.0 * (double)(S + n) * DBL_EPSILON;
  double tol_se = 16.0 * ((double)(S + n) + cond) * DBL_EPSILON;
  vt_ok(nzk_kacc_count(acc) == S, "%s: count %zu == S = %zu", name, nzk_kacc_count(acc), S);
  vt_abs(em, 0.0, tol, "%s: batched mean = naive per-draw mean", name);
  vt_abs(es, 0.0, tol_se, "%s: batched standard error = two-pass standard error", name);
  if (cond > 1e3) /* negative control: the bound is tight enough to reject one-pass sums */
    vt_ok(e1 > tol_se, "%s: one-pass sum K^2 - S mean^2 misses the bound (error %.3g > %.3g)",
          name, e1, tol_se);
  nzk_kacc_free(acc);
  free_draws(&d);
  gsl_rng_free(r);
}

/* The estimator: same (seed, S, B) gives the same bits; another seed
 * does not; every error path once. */
static void check_estimator(uint64_t seed)
{
  const size_t n = 4, p = 5;
  gsl_rng *r = nzk_stream_alloc(seed, 77);
  gsl_matrix *J = gsl_matrix_alloc(n, p), *A = gsl_matrix_alloc(n, n), *B = gsl_matrix_alloc(n, n);
  gsl_matrix *se = gsl_matrix_alloc(n, n), *bad = gsl_matrix_alloc(n + 1, n + 1);
  for (size_t k = 0; k < n * p; k++) J->data[k] = gsl_ran_gaussian(r, 1.0);
  nzk_law law = nzk_law_laplace(0.61);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p), *z6 = nzk_dir_alloc_iid(&law, p + 1);

  for (int s = 0; s < 3; s++) {
    nzk_kernel_mc((nzk_scheme)s, J, z, NULL, 1000, 96, seed, A, se);
    nzk_kernel_mc((nzk_scheme)s, J, z, NULL, 1000, 96, seed, B, NULL);
    vt_ok(memcmp(A->data, B->data, n * n * sizeof(double)) == 0,
          "%s estimator: same seed, same bits", nzk_scheme_name((nzk_scheme)s));
    nzk_kernel_mc((nzk_scheme)s, J, z, NULL, 1000, 96, seed + 1, B, NULL);
    vt_ok(memcmp(A->data, B->data, n * n * sizeof(double)) != 0,
          "%s estimator: another seed, other numbers", nzk_scheme_name((nzk_scheme)s));
  }
  vt_ok(nzk_kernel_mc(NZK_SCHEME_PLAIN, J, z, NULL, 1, 16, seed, A, se) == GSL_EINVAL,
        "estimator: S = 1 refused");
  vt_ok(nzk_kernel_mc(NZK_SCHEME_PLAIN, J, z, NULL, 100, 0, seed, A, se) == GSL_EINVAL,
        "estimator: B = 0 refused");
  vt_ok(nzk_kernel_mc(NZK_SCHEME_PLAIN, J, z6, NULL, 100, 16, seed, A, se) == GSL_EBADLEN,
        "estimator: direction of dimension p + 1 refused");
  vt_ok(nzk_kernel_mc(NZK_SCHEME_PAIR, J, z, z6, 100, 16, seed, A, se) == GSL_EBADLEN,
        "estimator: zeta of dimension p + 1 refused");
  vt_ok(nzk_kernel_mc(NZK_SCHEME_SHARED, J, z, NULL, 100, 16, seed, bad, se) == GSL_EBADLEN,
        "estimator: output of the wrong size refused");
  vt_ok(nzk_kernel_mc((nzk_scheme)7, J, z, NULL, 100, 16, seed, A, se) == GSL_EINVAL,
        "estimator: unknown scheme refused");
  gsl_matrix_free(J);
  gsl_matrix_free(A);
  gsl_matrix_free(B);
  gsl_matrix_free(se);
  gsl_matrix_free(bad);
  nzk_dir_free(z);
  nzk_dir_free(z6);
  gsl_rng_free(r);
}

/* Every error path of the accumulator once. */
static void check_errors(void)
{
  vt_ok(nzk_kacc_alloc(0, 4) == NULL, "alloc with n = 0 is refused");
  vt_ok(nzk_kacc_alloc(3, 0) == NULL, "alloc with batch_max = 0 is refused");
  nzk_kacc *acc = nzk_kacc_alloc(3, 4);
  gsl_matrix *V = gsl_matrix_alloc(5, 3), *V2 = gsl_matrix_alloc(2, 4);
  gsl_matrix *M = gsl_matrix_alloc(3, 3);
  gsl_matrix *W = gsl_matrix_alloc(3, 3), *M2 = gsl_matrix_alloc(2, 2);
  gsl_matrix_set_all(V, 1.7319);
  gsl_matrix_set_all(W, 0.5);
  gsl_matrix_view V1 = gsl_matrix_submatrix(V, 0, 0, 1, 3);
  gsl_matrix_view V4 = gsl_matrix_submatrix(V, 0, 0, 4, 3);
  vt_ok(nzk_kacc_add(acc, V, NULL, NULL) == GSL_EBADLEN, "a batch above batch_max is refused");
  vt_ok(nzk_kacc_add(acc, V2, NULL, NULL) == GSL_EBADLEN, "V with n + 1 columns is refused");
  vt_ok(nzk_kacc_add(acc, &V4.matrix, W, NULL) == GSL_EBADLEN, "W of another shape is refused");
  vt_ok(nzk_kacc_result(acc, M, NULL) == GSL_EDOM, "an empty accumulator has no mean");
  nzk_kacc_add(acc, &V1.matrix, NULL, NULL);
  vt_ok(nzk_kacc_result(acc, M, NULL) == 0 && gsl_matrix_get(M, 2, 1) == 1.7319 * 1.7319,
        "one draw: the mean is that draw");
  vt_ok(nzk_kacc_result(acc, NULL, M) == GSL_EDOM, "one draw has no standard error");
  vt_ok(nzk_kacc_result(acc, M2, NULL) == GSL_EBADLEN, "a 2 x 2 output for n = 3 is refused");
  nzk_kacc_reset(acc);
  vt_ok(nzk_kacc_count(acc) == 0, "reset empties the accumulator");
  nzk_kacc_free(acc);
  gsl_matrix_free(V);
  gsl_matrix_free(V2);
  gsl_matrix_free(W);
  gsl_matrix_free(M);
  gsl_matrix_free(M2);
}

int main(void)
{
  uint64_t seed = vt_seed(20260401);
  const size_t uneven[] = {13, 13, 5, 9}, one[] = {1}, big[] = {64};

  check_case("plain, uneven batches", 44, 7, 0.0, 1.7319, 0, 0, uneven, 4, seed);
  check_case("plain, one draw per batch", 17, 5, 0.3, 1.1, 0, 0, one, 1, seed + 1);
  check_case("shared, uneven batches", 44, 7, 0.0, 1.7319, 0, 1, uneven, 4, seed + 2);
  check_case("pair, uneven batches", 44, 7, 0.0, 0.83, 1, 2, uneven, 4, seed + 3);
  check_case("w = v, c >= 0 then signed", 60, 6, 0.0, 1.3, 0, 3, uneven, 4, seed + 7);
  check_case("w = v, c signed then >= 0", 60, 6, 0.0, 1.3, 0, 4, uneven, 4, seed + 8);
  check_case("pair, n = 30", 200, 30, 0.21, 1.3, 1, 2, big, 1, seed + 4);
  check_case("shared, mean 1e4 x spread", 150, 6, 3.1, 3.1e-4, 0, 1, big, 1, seed + 5);
  check_case("pair, mean 1e4 x spread", 150, 6, 3.1, 3.1e-4, 1, 2, big, 1, seed + 6);
  check_errors();
  check_estimator(seed);
  return vt_finish();
}
