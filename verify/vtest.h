/* vtest.h: the small test library of verify/.  Every check prints one line,
 * PASS or FAIL, with what was observed, what was expected and the
 * tolerance; vt_finish prints "N passed, N failed" and returns the exit
 * status.  Tolerances of exact checks are a named factor times the problem
 * size times DBL_EPSILON; statistical ones come from the estimator's own
 * standard error (see stats_check.h). */
/* Tests keep GSL's default error handler, which aborts: the library never
 * calls it for bad input (it returns status codes), so a call means GSL
 * itself was misused, and the test must crash rather than pass. */
#ifndef NZK_VTEST_H
#define NZK_VTEST_H

#include <stddef.h>
#include <stdint.h>
#include "stats_check.h"

/* Generic check: passes when ok != 0. */
void vt_ok(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* |observed - expected| <= tol_rel * |expected| (NaN fails). */
void vt_rel(double observed, double expected, double tol_rel, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* |observed - expected| <= tol_abs (NaN fails). */
void vt_abs(double observed, double expected, double tol_abs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The check result must carry verdict `want`; prints its statistic. */
void vt_verdict(const nzk_check_result *res, nzk_verdict want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A check that was skipped, with the reason (counted separately). */
void vt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NaN-sticky maximum for error reductions: returns d if d > m or d is
 * NaN, and keeps m once m is NaN (fmax(m, NaN) = m would drop a NaN error
 * and let a check pass on a NaN result). */
double vt_nan_max(double m, double d);
/* NaN-sticky minimum, the mirror of vt_nan_max. */
double vt_nan_min(double m, double d);
/* max_i |a_i - b_i| and max_i |a_i| over n entries, NaN-sticky. */
double vt_max_abs_diff(const double *a, const double *b, size_t n);
double vt_max_abs(const double *a, size_t n);

/* Seed for a test: NZK_SEED from the environment, else `fallback`. */
uint64_t vt_seed(uint64_t fallback);

/* Print the summary line and return 0 if nothing failed, else 1. */
int vt_finish(void);

#endif
