/* cli_util.c: option parsing and error lines shared by the subcommands. */
#include "cli.h"
#include "nzk_error.h"
#include "rng_stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "nzk %s: error: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'nzk %s --help')\n", cmd);
  return NZK_EXIT_USAGE;
}

int cli_library_error(const char *cmd, int exit_code)
{
  fprintf(stderr, "nzk %s: error: %s\n", cmd, nzk_error_message());
  nzk_log(NZK_LOG_DEBUG, "raised at %s", nzk_error_where());
  return exit_code;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || !isfinite(v) || errno == ERANGE) {
    cli_usage_error(cmd, "--%s expects a finite number, got '%s'", opt, s);
    return 1;
  }
  *out = v;
  return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
  char *end;
  errno = 0;
  if (*s == '-' || *s == '\0') {
    cli_usage_error(cmd, "--%s expects a non-negative integer, got '%s'", opt, s);
    return 1;
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || errno == ERANGE) {
    cli_usage_error(cmd, "--%s expects a non-negative integer, got '%s'", opt, s);
    return 1;
  }
  *out = (uint64_t)v;
  return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t *out)
{
  uint64_t v;
  if (cli_parse_u64(cmd, opt, s, &v)) return 1;
  *out = (size_t)v;
  return 0;
}

int cli_parse_seed(const char *cmd, const char *s, uint64_t *out)
{
  uint64_t v;
  if (cli_parse_u64(cmd, "seed", s, &v)) return 1;
  if (v > (uint64_t)NZK_SEED_MAX) {
    cli_usage_error(cmd, "--seed must lie in [0, 2^63-1] (stored as a JSON integer), got '%s'",
                    s);
    return 1;
  }
  *out = v;
  return 0;
}
