/* harness_util.c: small file, time and JSON helpers of the benchmark
 * harness (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void harness_utc_now(char *buf, size_t len)
{
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *harness_slurp(const char *path)
{
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len - 1, fp);
    len += got;
    if (len + 1 < cap) break;
    char *bigger = realloc(buf, cap *= 2);
    if (!bigger) free(buf);
    buf = bigger;
  }
  int bad = ferror(fp);
  fclose(fp);
  if (!buf || bad) return free(buf), NULL;
  buf[len] = '\0';
  return buf;
}

json_t *harness_json_load(const char *path)
{
  json_error_t err;
  json_t *doc = json_load_file(path, 0, &err);
  if (!doc)
    fprintf(stderr, "nzk_bench: %s:%d:%d: %s\n", path, err.line, err.column, err.text);
  return doc;
}

int harness_json_save(const char *path, const json_t *doc)
{
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.partial", path) >= (int)sizeof tmp) return -1;
  if (json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 ||
      rename(tmp, path) != 0) {
    fprintf(stderr, "nzk_bench: cannot write %s: %s\n", path, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}

double harness_num(const json_t *obj, const char *key)
{
  const json_t *v = json_object_get(obj, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *harness_str(const json_t *obj, const char *key)
{
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

void harness_html_escape(FILE *fp, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", fp); break;
    case '<': fputs("&lt;", fp); break;
    case '>': fputs("&gt;", fp); break;
    case '"': fputs("&quot;", fp); break;
    default: fputc(*s, fp);
    }
  }
}

int harness_mkdir_p(const char *dir)
{
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}
