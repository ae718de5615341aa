/* nzk_error.h: one place where every failure of the library is reported,
 * and the leveled logger.
 *
 * Library functions return int status codes: 0 on success, otherwise one
 * of GSL's codes (GSL_EINVAL bad parameter, GSL_EBADLEN shape mismatch,
 * GSL_EDOM a quantity that does not exist, GSL_ENOMEM, GSL_EFAILED for I/O
 * and format errors, GSL_ERUNAWAY for divergence).  Before returning a
 * failure they call NZK_FAIL, which records file, line and a one-line
 * reason; the program prints nzk_error_message() and exits non-zero.  Set
 * a breakpoint on nzk_error_raise to catch every failure.  The library
 * never exits and never prints to stdout. */
#ifndef NZK_ERROR_H
#define NZK_ERROR_H

#include <gsl/gsl_errno.h>

/* Record a failure and return `code`, so callers write
 *   return NZK_FAIL(GSL_EINVAL, "scale must be positive, got %g", s); */
#define NZK_FAIL(code, ...) nzk_error_raise(__FILE__, __LINE__, (code), __VA_ARGS__)

int nzk_error_raise(const char *file, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The reason of the last failure ("" if none), without file and line. */
const char *nzk_error_message(void);
/* Where the last failure was raised, "file:line". */
const char *nzk_error_where(void);
int nzk_error_code(void);
void nzk_error_clear(void);

/* Leveled logger on stderr; messages below the current level are skipped
 * before any formatting.  The level comes from NZK_LOG_LEVEL (error, warn,
 * info, debug) the first time it is asked for, else `warn`. */
enum { NZK_LOG_ERROR = 0, NZK_LOG_WARN = 1, NZK_LOG_INFO = 2, NZK_LOG_DEBUG = 3 };
int nzk_log_level(void);
void nzk_log_set_level(int level);
#define nzk_log(level, ...)                                                 \
  do {                                                                      \
    if ((level) <= nzk_log_level()) nzk_log_write((level), __VA_ARGS__);   \
  } while (0)
void nzk_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
