/* law.c: entry laws, their moments and their samplers (see law.h).
 *
 * Even central moments of order 2k, with s the scale parameter:
 *   normal      (2k-1)!! s^2k
 *   laplace     (2k)! s^2k
 *   t(nu)       s^2k nu^k Gamma(k+1/2) Gamma(nu/2-k) / (sqrt(pi) Gamma(nu/2))
 *               = s^2k prod_{j=1..k} nu (2j-1) / (nu - 2j), finite for 2k < nu
 *   rademacher  s^2k
 *   uniform     s^2k / (2k+1)
 * These reproduce the table of DESIGN.md section 2 at k = 1, 2. */
#include "law.h"
#include "nzk_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_gamma.h>

static const char *kind_names[] = {"normal", "laplace", "t", "rademacher", "uniform"};

nzk_law nzk_law_normal(double sigma) { return (nzk_law){NZK_LAW_NORMAL, sigma, 0.0, 0.0}; }
nzk_law nzk_law_laplace(double b) { return (nzk_law){NZK_LAW_LAPLACE, b, 0.0, 0.0}; }
nzk_law nzk_law_student_t(double nu, double a)
{
  return (nzk_law){NZK_LAW_STUDENT_T, a, nu, 0.0};
}
nzk_law nzk_law_rademacher(double a) { return (nzk_law){NZK_LAW_RADEMACHER, a, 0.0, 0.0}; }
nzk_law nzk_law_uniform(double a) { return (nzk_law){NZK_LAW_UNIFORM, a, 0.0, 0.0}; }

const char *nzk_law_kind_name(nzk_law_kind kind)
{
  return (unsigned)kind < 5 ? kind_names[kind] : "unknown";
}

int nzk_law_validate(const nzk_law *law)
{
  if ((unsigned)law->kind >= 5)
    return NZK_FAIL(GSL_EINVAL, "unknown law kind %d", (int)law->kind);
  if (!(isfinite(law->scale) && law->scale > 0))
    return NZK_FAIL(GSL_EINVAL, "law %s: scale must be positive and finite, got %g",
                    kind_names[law->kind], law->scale);
  if (!isfinite(law->mean))
    return NZK_FAIL(GSL_EINVAL, "law %s: mean must be finite, got %g",
                    kind_names[law->kind], law->mean);
  if (law->kind == NZK_LAW_STUDENT_T && !(isfinite(law->nu) && law->nu > 0))
    return NZK_FAIL(GSL_EINVAL, "law t: nu must be positive and finite, got %g", law->nu);
  return 0;
}

/* Parse one "key=value" item of a law spec into law; `seen` has one bit
 * per key (scale, mean, nu) so that a repeated key is an error. */
static int parse_law_item(const char *spec, char *item, nzk_law *law, unsigned *seen)
{
  static const char *keys[] = {"scale", "mean", "nu"};
  char *eq = strchr(item, '=');
  if (!eq)
    return NZK_FAIL(GSL_EINVAL, "law '%s': expected key=value, got '%s'", spec, item);
  *eq = '\0';
  const char *key = item, *val = eq + 1;
  int k = 0;
  while (k < 3 && strcmp(key, keys[k]) != 0) k++;
  if (k == 3 || (k == 2 && law->kind != NZK_LAW_STUDENT_T))
    return NZK_FAIL(GSL_EINVAL, "law '%s': unknown parameter '%s' for %s", spec, key,
                    kind_names[law->kind]);
  if (*seen & (1u << k))
    return NZK_FAIL(GSL_EINVAL, "law '%s': parameter '%s' given twice", spec, key);
  *seen |= 1u << k;

  char *end;
  double v = strtod(val, &end);
  if (end == val || *end || strpbrk(val, "xX"))
    return NZK_FAIL(GSL_EINVAL, "law '%s': %s is not a decimal number: '%s'", spec, key, val);
  if (k == 0) law->scale = v;
  else if (k == 1) law->mean = v;
  else law->nu = v;
  return 0;
}

int nzk_law_parse(const char *spec, nzk_law *law)
{
  char buf[256];
  if (strlen(spec) >= sizeof buf)
    return NZK_FAIL(GSL_EINVAL, "law spec too long: '%.40s...'", spec);
  strcpy(buf, spec);

  char *colon = strchr(buf, ':');
  if (colon) *colon = '\0';
  int kind = -1;
  for (int k = 0; k < 5; k++)
    if (strcmp(buf, kind_names[k]) == 0) kind = k;
  if (kind < 0)
    return NZK_FAIL(GSL_EINVAL,
                    "unknown law '%s' (expected normal, laplace, t, rademacher or uniform)",
                    buf);

  nzk_law out = {(nzk_law_kind)kind, 1.0, 0.0, 0.0};
  unsigned seen = 0;
  /* Items are separated by single commas; an empty item ("normal:",
   * "scale=1,,mean=0", a trailing comma) is an error, not ignored. */
  for (char *it = colon ? colon + 1 : NULL; it;) {
    char *comma = strchr(it, ',');
    if (comma) *comma = '\0';
    if (*it == '\0')
      return NZK_FAIL(GSL_EINVAL, "law '%s': empty parameter (stray ':' or ',')", spec);
    int status = parse_law_item(spec, it, &out, &seen);
    if (status) return status;
    it = comma ? comma + 1 : NULL;
  }
  if (out.kind == NZK_LAW_STUDENT_T && !(seen & 4u))
    return NZK_FAIL(GSL_EINVAL, "law '%s': Student-t needs nu, e.g. t:nu=10", spec);
  int status = nzk_law_validate(&out);
  if (status) return status;
  *law = out;
  return 0;
}

void nzk_law_format(const nzk_law *law, char *buf, size_t len)
{
  if (law->kind == NZK_LAW_STUDENT_T)
    snprintf(buf, len, "t:nu=%.17g,scale=%.17g,mean=%.17g", law->nu, law->scale, law->mean);
  else
    snprintf(buf, len, "%s:scale=%.17g,mean=%.17g", nzk_law_kind_name(law->kind), law->scale,
             law->mean);
}

int nzk_law_moment_exists(const nzk_law *law, int order)
{
  if (law->kind == NZK_LAW_STUDENT_T) return order < law->nu;
  return 1;
}

/* E[X^(2k)] of the centred, unscaled law (scale 1); law must have it. */
static double unit_even_moment(const nzk_law *law, int k)
{
  double v = 1.0;
  switch (law->kind) {
  case NZK_LAW_NORMAL:
    for (int j = 1; j <= k; j++) v *= 2 * j - 1;
    return v;
  case NZK_LAW_LAPLACE:
    return gsl_sf_fact((unsigned)(2 * k));
  case NZK_LAW_STUDENT_T:
    /* nu^k Gamma(k+1/2) Gamma(nu/2-k) / (sqrt(pi) Gamma(nu/2)) written as
     * the product prod_j nu (2j-1) / (nu - 2j): the log-gamma form cancels
     * catastrophically for large nu (relative error 1e-5 at nu = 1e10). */
    for (int j = 1; j <= k; j++) v *= law->nu * (2 * j - 1) / (law->nu - 2 * j);
    return v;
  case NZK_LAW_RADEMACHER:
    return 1.0;
  case NZK_LAW_UNIFORM:
    return 1.0 / (2 * k + 1);
  }
  return NAN;
}

int nzk_law_central_moment(const nzk_law *law, int order, double *value)
{
  if (order < 0) return NZK_FAIL(GSL_EINVAL, "moment order %d is negative", order);
  if (!nzk_law_moment_exists(law, order))
    return NZK_FAIL(GSL_EDOM, "the order-%d moment of t(nu=%g) does not exist (needs nu > %d)",
                    order, law->nu, order);
  if (order % 2) {
    *value = 0.0;
    return 0;
  }
  *value = unit_even_moment(law, order / 2) * pow(law->scale, order);
  return 0;
}

int nzk_law_raw_moment(const nzk_law *law, int order, double *value)
{
  double central;
  int status = nzk_law_central_moment(law, order, &central);
  if (status) return status;

  /* E[(m + X)^k] = sum_j C(k, j) m^(k-j) E[X^j]; odd E[X^j] vanish. */
  double sum = 0.0;
  for (int j = 0; j <= order; j += 2) {
    double cj = 0.0;
    nzk_law_central_moment(law, j, &cj); /* exists: j <= order */
    sum += gsl_sf_choose((unsigned)order, (unsigned)j) * pow(law->mean, order - j) * cj;
  }
  *value = sum;
  return 0;
}

double nzk_law_draw(const nzk_law *law, gsl_rng *r)
{
  double s = law->scale, x = 0.0;
  switch (law->kind) {
  case NZK_LAW_NORMAL: x = s * nzk_std_normal(r); break;
  case NZK_LAW_LAPLACE: x = gsl_ran_laplace(r, s); break;
  case NZK_LAW_STUDENT_T: x = s * gsl_ran_tdist(r, law->nu); break;
  case NZK_LAW_RADEMACHER: x = gsl_rng_uniform_int(r, 2) ? s : -s; break;
  case NZK_LAW_UNIFORM: x = gsl_ran_flat(r, -s, s); break;
  }
  return law->mean + x;
}

void nzk_law_fill(const nzk_law *law, gsl_rng *r, double *x, size_t n)
{
  const double m = law->mean, s = law->scale;
  size_t i;
  switch (law->kind) {
  case NZK_LAW_NORMAL:
    nzk_std_normal_fill(r, x, n);
    for (i = 0; i < n; i++) x[i] = m + s * x[i];
    break;
  default:
    for (i = 0; i < n; i++) x[i] = nzk_law_draw(law, r);
  }
}
