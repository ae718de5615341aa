/* test_moments_formula.c: the two families of moment formulas of
 * DESIGN.md section 2 agree where they overlap.  i.i.d. Normal(sigma)
 * entries with mean m are the Gaussian N(m 1, sigma^2 I), so the symbolic
 * i.i.d. M2 and M4 must equal the dense Gaussian ones to rounding. */
#include "direction.h"
#include "kernel.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

/* max |A - B| / max |B| */
static double max_rel_diff(const gsl_matrix *A, const gsl_matrix *B)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++) {
      num = vt_nan_max(num, fabs(gsl_matrix_get(A, i, j) - gsl_matrix_get(B, i, j)));
      den = vt_nan_max(den, fabs(gsl_matrix_get(B, i, j)));
    }
  return num / den;
}

static void compare_families(size_t p, double sigma, double m)
{
  nzk_law law = nzk_law_normal(sigma);
  law.mean = m;
  gsl_vector *mu = gsl_vector_alloc(p);
  gsl_matrix *Sigma = gsl_matrix_calloc(p, p);
  gsl_vector_set_all(mu, m);
  for (size_t k = 0; k < p; k++) gsl_matrix_set(Sigma, k, k, sigma * sigma);

  nzk_dir *iid = nzk_dir_alloc_iid(&law, p);
  nzk_dir *gauss = nzk_dir_alloc_gaussian(mu, Sigma);
  gsl_matrix *A = gsl_matrix_alloc(p, p), *B = gsl_matrix_alloc(p, p);
  nzk_moment ma, mb;
  const double tol = 16.0 * (double)p * DBL_EPSILON;

  nzk_dir_second_moment(iid, &ma);
  nzk_dir_second_moment(gauss, &mb);
  nzk_moment_to_dense(&ma, A);
  nzk_moment_to_dense(&mb, B);
  vt_rel(max_rel_diff(A, B) + 1.0, 1.0, tol, "M2 iid = M2 Gaussian (p=%zu, sigma=%g, m=%g)", p,
         sigma, m);
  nzk_moment_free(&ma);
  nzk_moment_free(&mb);

  nzk_dir_fourth_moment(iid, &ma);
  nzk_dir_fourth_moment(gauss, &mb);
  nzk_moment_to_dense(&ma, A);
  nzk_moment_to_dense(&mb, B);
  vt_rel(max_rel_diff(A, B) + 1.0, 1.0, tol, "M4 iid = M4 Gaussian (p=%zu, sigma=%g, m=%g)", p,
         sigma, m);
  nzk_moment_free(&ma);
  nzk_moment_free(&mb);

  gsl_matrix_free(A);
  gsl_matrix_free(B);
  nzk_dir_free(iid);
  nzk_dir_free(gauss);
  gsl_vector_free(mu);
  gsl_matrix_free(Sigma);
}

/* Zero-mean isotropic Gaussian: shared kernel = (p+2) sigma^4 NTK, plain
 * kernel = sigma^2 NTK (DESIGN.md section 2, consequences). */
static void check_isotropic_scaling(size_t n, size_t p, double sigma)
{
  gsl_matrix *J = gsl_matrix_alloc(n, p), *K = gsl_matrix_alloc(n, n), *T = gsl_matrix_alloc(n, n);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < p; k++) gsl_matrix_set(J, i, k, sin(1.7319 * (double)(i * p + k + 1)));
  nzk_law law = nzk_law_normal(sigma);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  nzk_kernel_ntk(J, T);

  nzk_kernel_expected(NZK_SCHEME_SHARED, J, z, NULL, K);
  gsl_matrix_scale(T, (double)(p + 2) * pow(sigma, 4));
  vt_rel(max_rel_diff(K, T) + 1.0, 1.0, 16.0 * (double)p * DBL_EPSILON,
         "shared E K = (p+2) sigma^4 NTK (n=%zu, p=%zu)", n, p);
  nzk_kernel_ntk(J, T);
  nzk_kernel_expected(NZK_SCHEME_PLAIN, J, z, NULL, K);
  gsl_matrix_scale(T, sigma * sigma);
  vt_rel(max_rel_diff(K, T) + 1.0, 1.0, 16.0 * (double)p * DBL_EPSILON,
         "plain E K = sigma^2 NTK (n=%zu, p=%zu)", n, p);

  /* Student-t with nu <= 4 has no shared expectation. */
  nzk_law t4 = nzk_law_student_t(4.0, 1.0);
  nzk_dir *zt = nzk_dir_alloc_iid(&t4, p);
  vt_ok(nzk_kernel_expected(NZK_SCHEME_SHARED, J, zt, NULL, K) == GSL_EDOM,
        "shared E K with t(nu=4) entries is reported as not existing");
  vt_ok(nzk_kernel_expected(NZK_SCHEME_PLAIN, J, zt, NULL, K) == 0,
        "plain E K with t(nu=4) entries exists");
  nzk_dir_free(zt);
  nzk_dir_free(z);
  gsl_matrix_free(J);
  gsl_matrix_free(K);
  gsl_matrix_free(T);
}

int main(void)
{
  compare_families(2, 1.0, 0.0);
  compare_families(7, 0.61, 0.37);
  compare_families(50, 1.7319, -0.2);
  check_isotropic_scaling(5, 3, 1.3);
  check_isotropic_scaling(12, 40, 0.7);
  return vt_finish();
}
