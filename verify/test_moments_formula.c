/* test_moments_formula.c: the two families of moment formulas of
 * DESIGN.md section 2 agree where they overlap.  i.i.d. Normal(sigma)
 * entries with mean m are the Gaussian N(m 1, sigma^2 I), so the symbolic
 * i.i.d. M2 and M4 must equal the dense Gaussian ones to rounding.  M2 and
 * M4 also equal exact enumeration for Rademacher entries at p = 1, 2, 3,
 * and their identity coefficients keep full accuracy at m/s = 1e6. */
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

/* M2 and M4 of i.i.d. Rademacher entries u_k = m + a e_k, e_k = +-1, by
 * exact enumeration of the 2^p sign patterns (each of probability 2^-p):
 * M4_ij = 2^-p sum (u.u) u_i u_j.  p = 1 and 2 exercise the (p-2) term of
 * O with a negative and a zero factor. */
static void check_enumeration(size_t p, double a, double m)
{
  nzk_law law = nzk_law_rademacher(a);
  law.mean = m;
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  gsl_matrix *E2 = gsl_matrix_calloc(p, p), *E4 = gsl_matrix_calloc(p, p);
  gsl_matrix *A = gsl_matrix_alloc(p, p);
  double u[8];
  for (unsigned pat = 0; pat < (1u << p); pat++) {
    double uu = 0.0;
    for (size_t k = 0; k < p; k++) {
      u[k] = m + ((pat >> k) & 1u ? a : -a);
      uu += u[k] * u[k];
    }
    for (size_t i = 0; i < p; i++)
      for (size_t j = 0; j < p; j++) {
        *gsl_matrix_ptr(E2, i, j) += u[i] * u[j] / (double)(1u << p);
        *gsl_matrix_ptr(E4, i, j) += uu * u[i] * u[j] / (double)(1u << p);
      }
  }
  /* 2^p terms of p + 2 products each; 16 is the named safety factor */
  const double tol = 16.0 * (double)((1u << p) + p) * DBL_EPSILON;
  nzk_moment mom;
  nzk_dir_second_moment(z, &mom);
  nzk_moment_to_dense(&mom, A);
  vt_rel(max_rel_diff(A, E2) + 1.0, 1.0, tol, "M2 = enumeration, Rademacher a=%g m=%g p=%zu",
         a, m, p);
  nzk_moment_free(&mom);
  nzk_dir_fourth_moment(z, &mom);
  nzk_moment_to_dense(&mom, A);
  vt_rel(max_rel_diff(A, E4) + 1.0, 1.0, tol, "M4 = enumeration, Rademacher a=%g m=%g p=%zu",
         a, m, p);
  nzk_moment_free(&mom);
  gsl_matrix_free(A);
  gsl_matrix_free(E2);
  gsl_matrix_free(E4);
  nzk_dir_free(z);
}

/* The central-moment form of the identity coefficients (direction.c)
 * equals the raw form a2 - m^2 and D - O at moderate m/s, for every law,
 * where the raw form has lost at most a few eps. */
static void check_alpha_algebra(const char *spec, size_t p)
{
  nzk_law law;
  nzk_law_parse(spec, &law);
  const double m = law.mean;
  double a2, a3, a4;
  nzk_law_raw_moment(&law, 2, &a2);
  nzk_law_raw_moment(&law, 3, &a3);
  nzk_law_raw_moment(&law, 4, &a4);
  double D = (double)(p - 1) * a2 * a2 + a4, O = ((double)p - 2.0) * a2 * m * m + 2.0 * m * a3;
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  nzk_moment m2, m4;
  nzk_dir_second_moment(z, &m2);
  nzk_dir_fourth_moment(z, &m4);
  vt_abs(m2.alpha, a2 - m * m, 16.0 * DBL_EPSILON * a2, "alpha2 = a2 - m^2 for %s", spec);
  vt_abs(m4.alpha, D - O, 64.0 * (double)p * DBL_EPSILON * (D + fabs(O)),
         "alpha4 = D - O for %s, p=%zu", spec, p);
  nzk_dir_free(z);
}

/* |m| >> s: m = 1000003, a = 1 (m/s ~ 1e6), Rademacher entries, so every
 * u_k = m +- 1 is an integer and the enumeration is exact in 128-bit
 * integers (p m^4 < 2^83).  The identity coefficients alpha = M_00 - M_01
 * must keep full double accuracy; the raw form a2 - m^2, D - O lost
 * eps (m/s)^2 ~ 2e-4 relative. */
static void check_large_mean(size_t p)
{
  const long long mi = 1000003;
  nzk_law law = nzk_law_rademacher(1.0);
  law.mean = (double)mi;
  __int128 s2d = 0, s2o = 0, s4d = 0, s4o = 0; /* sums over the 2^p patterns */
  for (unsigned pat = 0; pat < (1u << p); pat++) {
    __int128 u[4], uu = 0;
    for (size_t k = 0; k < p; k++) {
      u[k] = mi + ((pat >> k) & 1u ? 1 : -1);
      uu += u[k] * u[k];
    }
    s2d += u[0] * u[0];
    s2o += u[0] * u[1];
    s4d += uu * u[0] * u[0];
    s4o += uu * u[0] * u[1];
  }
  /* alpha = (diag - off) / 2^p, exact: both sums are multiples of 2^p */
  const double alpha2 = (double)((s2d - s2o) >> p), alpha4 = (double)((s4d - s4o) >> p);
  nzk_dir *z = nzk_dir_alloc_iid(&law, p);
  nzk_moment m2, m4;
  nzk_dir_second_moment(z, &m2);
  nzk_dir_fourth_moment(z, &m4);
  const double tol = 16.0 * (double)p * DBL_EPSILON;
  vt_rel(m2.alpha, alpha2, tol, "alpha2 at m/s = 1e6 (p=%zu) = exact enumeration", p);
  vt_rel(m4.alpha, alpha4, tol, "alpha4 at m/s = 1e6 (p=%zu) = exact enumeration", p);
  nzk_dir_free(z);
}

int main(void)
{
  for (size_t p = 1; p <= 3; p++) {
    check_enumeration(p, 0.83, 0.4);
    check_enumeration(p, 1.3, -2.9);
  }
  const char *specs[] = {"normal:scale=1.7319,mean=0.6", "laplace:scale=0.61,mean=-0.3",
                         "t:nu=10,scale=0.5,mean=0.2", "uniform:scale=0.9,mean=-0.5",
                         "rademacher:scale=1.3,mean=0.4"};
  for (int i = 0; i < 5; i++) {
    check_alpha_algebra(specs[i], 1);
    check_alpha_algebra(specs[i], 7);
  }
  check_large_mean(2);
  check_large_mean(4);
  compare_families(2, 1.0, 0.0);
  compare_families(7, 0.61, 0.37);
  compare_families(50, 1.7319, -0.2);
  check_isotropic_scaling(5, 3, 1.3);
  check_isotropic_scaling(12, 40, 0.7);
  return vt_finish();
}
