/* test_input_strict.c: the readers of user input refuse what they cannot
 * read exactly.  Law specs (law.h): every malformed spec is an error, never
 * a silently changed law.  Student-t moments stay exact for huge nu, where
 * a log-gamma formula cancels.  CSV matrices (report_io.h): a header is
 * skipped only when it is all names; any other bad cell is an error naming
 * file, line and column, never a dropped row. */
#include "law.h"
#include "nzk_error.h"
#include "report_io.h"
#include "vtest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_law_specs(void)
{
  static const char *bad[] = {
    "normal:", "normal:scale=1,scale=2", "normal:scale=1,", "normal:,scale=1",
    "normal:scale=1,,mean=0", "normal:scale=0x10", "normal:scale=-1", "normal:scale=nan",
    "t", "t:nu=3,nu=4", "rademacher:nu=3", "cauchy", "normal:sigma=1", "t:nu=0",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    nzk_law law = nzk_law_normal(1.7319);
    int status = nzk_law_parse(bad[k], &law);
    vt_ok(status == GSL_EINVAL && law.scale == 1.7319,
          "law spec '%s' is refused and leaves the law untouched (%s)", bad[k],
          nzk_error_message());
  }
  nzk_law law;
  int status = nzk_law_parse("t:nu=10,scale=0.5,mean=0.1", &law);
  vt_ok(status == 0 && law.kind == NZK_LAW_STUDENT_T && law.nu == 10 && law.scale == 0.5 &&
        law.mean == 0.1, "law spec 't:nu=10,scale=0.5,mean=0.1' is read exactly");
}

/* Central moments of Student-t against the closed forms of DESIGN.md §2,
 * s^2 nu/(nu-2) and 3 s^4 nu^2/((nu-2)(nu-4)), up to nu = 1e300. */
static void check_t_moments(void)
{
  const double nus[] = {4.5, 10.0, 1000.0, 1e10, 1e14, 1e155, 1e300};
  const double s = 0.61;
  for (size_t k = 0; k < sizeof nus / sizeof nus[0]; k++) {
    nzk_law law = nzk_law_student_t(nus[k], s);
    double c2, c4, nu = nus[k];
    nzk_law_central_moment(&law, 2, &c2);
    nzk_law_central_moment(&law, 4, &c4);
    vt_rel(c2, s * s * (nu / (nu - 2)), 8 * DBL_EPSILON, "t(nu=%g) variance", nu);
    vt_rel(c4, 3 * pow(s, 4) * (nu / (nu - 2)) * (nu / (nu - 4)), 16 * DBL_EPSILON,
           "t(nu=%g) 4th central moment", nu);
  }
  nzk_law law = nzk_law_student_t(4.0, 1.0);
  double v;
  vt_ok(nzk_law_central_moment(&law, 4, &v) == GSL_EDOM,
        "t(nu=4) has no 4th moment: GSL_EDOM");
}

/* Write `text` to a fresh temporary file; returns its path in buf. */
static void write_tmp(char *buf, size_t len, const char *text)
{
  snprintf(buf, len, "/tmp/nzk_csv_XXXXXX");
  int fd = mkstemp(buf);
  FILE *fp = fdopen(fd, "w");
  fputs(text, fp);
  fclose(fp);
}

static void check_csv(void)
{
  static const struct { const char *text; size_t rows, cols; } good[] = {
    {"1,2,3\n4,5,6\n", 2, 3},
    {"a,b,c\n1,2,3\n", 1, 3},
    {"x_1, \"y\" ,target\n1.5e-3, -2, 7\n", 1, 3},
  };
  static const char *bad[] = {
    "1,,3\n4,5,6\n",   /* empty cell in the first row: was dropped as a "header" */
    "1,x,3\n4,5,6\n",  /* a name among numbers in the first row */
    "0x10,1\n2,3\n",   /* hexadecimal */
    "nan,inf\n1,2\n",  /* non-finite words are not names */
    "1,2\n3\n",        /* ragged */
    "a,b\n",           /* header only */
    "",                /* empty */
    "1,2\n\n3,4\n",    /* data after an empty line */
  };
  char path[64];
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
    gsl_matrix *M = NULL;
    write_tmp(path, sizeof path, good[k].text);
    int status = nzk_csv_read_matrix(path, &M);
    vt_ok(status == 0 && M && M->size1 == good[k].rows && M->size2 == good[k].cols,
          "CSV case %zu reads as %zu x %zu", k, good[k].rows, good[k].cols);
    gsl_matrix_free(M);
    unlink(path);
  }
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    gsl_matrix *M = NULL;
    write_tmp(path, sizeof path, bad[k]);
    int status = nzk_csv_read_matrix(path, &M);
    vt_ok(status != 0 && M == NULL && strstr(nzk_error_message(), path),
          "bad CSV case %zu is refused, naming the file (%s)", k, nzk_error_message());
    gsl_matrix_free(M);
    unlink(path);
  }
}

int main(void)
{
  check_law_specs();
  check_t_moments();
  check_csv();
  return vt_finish();
}
