/* nzk_error.c: failure records and the stderr logger (see nzk_error.h). */
#include "nzk_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Thread_local char error_message[512];
static _Thread_local char error_where[256];
static _Thread_local int error_code;

int nzk_error_raise(const char *file, int line, int code, const char *fmt, ...)
{
  va_list ap;
  const char *base = strrchr(file, '/');

  va_start(ap, fmt);
  vsnprintf(error_message, sizeof error_message, fmt, ap);
  va_end(ap);
  snprintf(error_where, sizeof error_where, "%s:%d", base ? base + 1 : file, line);
  error_code = code;
  nzk_log(NZK_LOG_DEBUG, "failure at %s: %s", error_where, error_message);
  return code;
}

const char *nzk_error_message(void) { return error_message; }
const char *nzk_error_where(void) { return error_where; }
int nzk_error_code(void) { return error_code; }

void nzk_error_clear(void)
{
  error_message[0] = '\0';
  error_where[0] = '\0';
  error_code = 0;
}

static int log_level = -1;

int nzk_log_level(void)
{
  if (log_level < 0) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    const char *env = getenv("NZK_LOG_LEVEL");
    log_level = NZK_LOG_WARN;
    for (int k = 0; env && k < 4; k++)
      if (strcasecmp(env, names[k]) == 0) log_level = k;
  }
  return log_level;
}

void nzk_log_set_level(int level) { log_level = level; }

void nzk_log_write(int level, const char *fmt, ...)
{
  static const char *tags[] = {"error", "warning", "info", "debug"};
  va_list ap;

  fprintf(stderr, "nzk: %s: ", tags[level < 0 ? 0 : level > 3 ? 3 : level]);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
