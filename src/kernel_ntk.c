/* kernel_ntk.c: the neural tangent kernel J J^T and the sandwich J M J^T
 * that every expected zeroth-order kernel reduces to (DESIGN.md section 2). */
#include "kernel.h"
#include "nzk_error.h"

#include <stdlib.h>
#include "nzk_blas.h"

/* Copy the lower triangle of a square matrix to its upper triangle. */
static void symmetrize_from_lower(gsl_matrix *K)
{
  for (size_t i = 0; i < K->size1; i++)
    for (size_t j = 0; j < i; j++) gsl_matrix_set(K, j, i, gsl_matrix_get(K, i, j));
}

int nzk_kernel_ntk(const gsl_matrix *J, gsl_matrix *K)
{
  const size_t n = J->size1, p = J->size2;
  if (K->size1 != n || K->size2 != n)
    return NZK_FAIL(GSL_EBADLEN, "NTK: K is %zu x %zu, expected %zu x %zu", K->size1, K->size2,
                    n, n);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)p, 1.0, J->data,
              (int)J->tda, 0.0, K->data, (int)K->tda);
  symmetrize_from_lower(K);
  return 0;
}

int nzk_kernel_sandwich(const gsl_matrix *J, const nzk_moment *M, gsl_matrix *K)
{
  const size_t n = J->size1, p = J->size2;
  if (M->p != p || K->size1 != n || K->size2 != n)
    return NZK_FAIL(GSL_EBADLEN, "kernel J M J^T: J is %zu x %zu, M is %zu x %zu, K is %zu x %zu",
                    n, p, M->p, M->p, K->size1, K->size2);

  if (!M->dense) {
    /* alpha J J^T + beta (J 1)(J 1)^T */
    double *rowsum = malloc(n * sizeof *rowsum);
    if (!rowsum) return NZK_FAIL(GSL_ENOMEM, "out of memory (n=%zu)", n);
    for (size_t i = 0; i < n; i++) {
      double s = 0.0;
      const double *g = gsl_matrix_const_ptr(J, i, 0);
      for (size_t k = 0; k < p; k++) s += g[k];
      rowsum[i] = s;
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)p, M->alpha, J->data,
                (int)J->tda, 0.0, K->data, (int)K->tda);
    cblas_dsyr(CblasRowMajor, CblasLower, (int)n, M->beta, rowsum, 1, K->data, (int)K->tda);
    symmetrize_from_lower(K);
    free(rowsum);
    return 0;
  }

  /* Dense M (possibly non-symmetric for the pair scheme): T = J M, K = T J^T. */
  gsl_matrix *T = gsl_matrix_alloc(n, p);
  if (!T) return NZK_FAIL(GSL_ENOMEM, "out of memory for a %zu x %zu product", n, p);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)p, (int)p, 1.0, J->data,
              (int)J->tda, M->dense->data, (int)M->dense->tda, 0.0, T->data, (int)T->tda);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)p, 1.0, T->data,
              (int)T->tda, J->data, (int)J->tda, 0.0, K->data, (int)K->tda);
  gsl_matrix_free(T);
  return 0;
}
