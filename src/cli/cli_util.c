/* cli_util.c: option parsing and error lines shared by the subcommands. */
#include "cli.h"
#include "nzk_error.h"
#include "rng_stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *opt)
{
  size_t len = strlen(opt);
  const char *a = argv[*i];
  if (strncmp(a, opt, len) != 0 || (a[len] != '=' && a[len] != '\0')) return NULL;
  if (a[len] == '=' && a[len + 1]) return a + len + 1;
  if (a[len] == '=' || *i + 1 >= argc || !argv[*i + 1][0]) {
    cli_usage_error(cmd, "%s needs a value", opt);
    return "";
  }
  return argv[++*i];
}

int cli_parse_table(const char *cmd, const cli_opt *table, size_t n, int argc, char **argv,
                    int *i, void *args, size_t *which, int *bad)
{
  char flag[40];
  for (size_t k = 0; k < n; k++) {
    snprintf(flag, sizeof flag, "--%s", table[k].name);
    const char *v = cli_opt_value(cmd, argc, argv, i, flag);
    if (!v) continue;
    char *dst = (char *)args + table[k].off;
    *which = k;
    if (!*v) *bad = 1;
    else if (table[k].kind == 's') *(const char **)dst = v;
    else if (table[k].kind == 'd') *bad = cli_parse_double(cmd, table[k].name, v, (double *)dst);
    else if (table[k].kind == 'z') *bad = cli_parse_size(cmd, table[k].name, v, (size_t *)dst);
    else *bad = cli_parse_seed(cmd, v, (uint64_t *)dst);
    return 1;
  }
  return 0;
}
