/* kernel_nzk.c: expected zeroth-order kernels from the moment formulas
 * (DESIGN.md section 2): E K = J M J^T with M = M2 (plain),
 * M2_z M2_zeta (independent pair) or M4 (shared). */
#include "kernel.h"
#include "nzk_error.h"

#include <string.h>

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
