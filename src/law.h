/* law.h: entry laws of the random directions and their moments
 * (DESIGN.md section 2, "Expected kernels").
 *
 * An entry is u = m + s X where X is one of five symmetric laws and m is a
 * mean shift; `scale` is the parameter GSL uses for the law:
 *
 *   law          scale  variance s^2             4th central moment
 *   normal       sigma  sigma^2                  3 sigma^4
 *   laplace      b      2 b^2                    24 b^4
 *   t (nu)       a      a^2 nu/(nu-2)            3 a^4 nu^2/((nu-2)(nu-4))
 *   rademacher   a      a^2                      a^4
 *   uniform      a      a^2/3  (on [-a, a])      a^4/5
 *
 * Student-t's absolute moment of order k exists only for k < nu; every
 * other law has all moments.  Functions asking for a moment that does not
 * exist return GSL_EDOM; callers turn that into the verdict "undefined" or
 * "not testable", never into a number. */
#ifndef NZK_LAW_H
#define NZK_LAW_H

#include <stddef.h>
#include <gsl/gsl_rng.h>

typedef enum {
  NZK_LAW_NORMAL = 0,
  NZK_LAW_LAPLACE,
  NZK_LAW_STUDENT_T,
  NZK_LAW_RADEMACHER,
  NZK_LAW_UNIFORM
} nzk_law_kind;

typedef struct {
  nzk_law_kind kind;
  double scale; /* sigma, b or a as in the table above; > 0 */
  double nu;    /* degrees of freedom, Student-t only; > 0 */
  double mean;  /* shift m added to every entry */
} nzk_law;

/* Constructors for the common cases (mean 0). */
nzk_law nzk_law_normal(double sigma);
nzk_law nzk_law_laplace(double b);
nzk_law nzk_law_student_t(double nu, double a);
nzk_law nzk_law_rademacher(double a);
nzk_law nzk_law_uniform(double a);

/* 0 if the parameters are admissible (finite, scale > 0, nu > 0), else
 * GSL_EINVAL with a reason naming the parameter. */
int nzk_law_validate(const nzk_law *law);

/* Parse "name[:key=value,...]" with name one of normal, laplace, t,
 * rademacher, uniform and keys scale, nu, mean (scale defaults to 1, mean
 * to 0; t requires nu).  Example: "t:nu=10,scale=0.5,mean=0.1".
 * Returns 0, or GSL_EINVAL naming the offending part of the spec. */
int nzk_law_parse(const char *spec, nzk_law *law);

/* Write the canonical spec of `law` into buf (never more than len bytes). */
void nzk_law_format(const nzk_law *law, char *buf, size_t len);
const char *nzk_law_kind_name(nzk_law_kind kind);

/* 1 if E|u|^order is finite, else 0. */
int nzk_law_moment_exists(const nzk_law *law, int order);

/* E[(u - m)^order] for order >= 0 (zero for odd orders).  GSL_EDOM if the
 * moment does not exist. */
int nzk_law_central_moment(const nzk_law *law, int order, double *value);

/* E[u^order] for order >= 0, from the central moments and the binomial
 * expansion.  GSL_EDOM if the moment does not exist. */
int nzk_law_raw_moment(const nzk_law *law, int order, double *value);

/* Standard normal variates (ziggurat method, law_ziggurat.c); the fill
 * uses the stream exactly as n successive calls of nzk_std_normal.  The
 * normal entry law and the Gaussian directions draw from here. */
double nzk_std_normal(gsl_rng *r);
void nzk_std_normal_fill(gsl_rng *r, double *x, size_t n);

/* One entry; and n entries into x, in order (so filling B*p entries equals
 * B successive fills of p). */
double nzk_law_draw(const nzk_law *law, gsl_rng *r);
void nzk_law_fill(const nzk_law *law, gsl_rng *r, double *x, size_t n);

#endif
