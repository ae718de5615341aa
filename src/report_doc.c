/* report_doc.c: builders and the structural validator of the results
 * document of `nzk reproduce` (schema in report.h).  The document is a
 * Jansson tree; every builder copies its strings and keeps insertion
 * order, so the JSON file reads in the order the experiments ran. */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#ifndef NZK_VERSION
#define NZK_VERSION "0.1.0"
#endif

/* Set key on obj to a new value, checking allocation. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
  if (!v || json_object_set_new(obj, key, v) != 0)
    return NZK_FAIL(GSL_ENOMEM, "results: cannot set '%s'", key);
  return 0;
}

static int append_new(json_t *arr, json_t *v, const char *what)
{
  if (!v || json_array_append_new(arr, v) != 0)
    return NZK_FAIL(GSL_ENOMEM, "results: cannot append to %s", what);
  return 0;
}

static int id_ok(const char *id)
{
  if (!id || !*id) return 0;
  for (const char *s = id; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

json_t *nzk_results_new(const char *mode, uint64_t seed)
{
  if (!mode || (strcmp(mode, "quick") != 0 && strcmp(mode, "full") != 0)) {
    NZK_FAIL(GSL_EINVAL, "results: mode must be quick or full, got '%s'", mode ? mode : "");
    return NULL;
  }
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:s, s:f, s:[], s:[]}", "schema",
                          NZK_RESULTS_SCHEMA, "program", "nzk-verify " NZK_VERSION, "mode", mode,
                          "seed", (json_int_t)seed, "started", stamp, "elapsed_s", 0.0,
                          "datasets", "experiments");
  if (!doc) NZK_FAIL(GSL_ENOMEM, "results: out of memory");
  return doc;
}

int nzk_results_add_dataset(json_t *doc, const char *name, int found, const char *source)
{
  json_t *d = json_pack("{s:s, s:b, s:s}", "name", name, "found", found, "source",
                        source ? source : "");
  return append_new(json_object_get(doc, "datasets"), d, "datasets");
}

json_t *nzk_results_experiment(const json_t *doc, const char *id)
{
  size_t k;
  json_t *e;
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0) return e;
  return NULL;
}

json_t *nzk_results_add_experiment(json_t *doc, const char *id, const char *title)
{
  if (!id_ok(id)) {
    NZK_FAIL(GSL_EINVAL, "results: experiment id '%s' is not [a-z0-9_]+", id ? id : "");
    return NULL;
  }
  if (nzk_results_experiment(doc, id)) {
    NZK_FAIL(GSL_EINVAL, "results: experiment id '%s' used twice", id);
    return NULL;
  }
  json_t *e = json_pack("{s:s, s:s, s:[], s:{}, s:f, s:s, s:s, s:[], s:{}, s:[], s:[], s:[]}",
                        "id", id, "title", title, "theorems", "settings", "elapsed_s", 0.0,
                        "compared", "", "found", "", "against_paper", "metrics", "tables",
                        "figures", "verdicts");
  if (append_new(json_object_get(doc, "experiments"), e, "experiments")) return NULL;
  return e;
}

int nzk_exp_set_text(json_t *exp, const char *key, const char *fmt, ...)
{
  if (strcmp(key, "compared") != 0 && strcmp(key, "found") != 0)
    return NZK_FAIL(GSL_EINVAL, "results: unknown text field '%s'", key);
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return set_new(exp, key, json_string(buf));
}

int nzk_exp_add_against(json_t *exp, const char *fmt, ...)
{
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return append_new(json_object_get(exp, "against_paper"), json_string(buf), "against_paper");
}

int nzk_exp_add_theorem(json_t *exp, const char *theorem)
{
  return append_new(json_object_get(exp, "theorems"), json_string(theorem), "theorems");
}

int nzk_exp_set_setting_real(json_t *exp, const char *key, double v)
{
  return set_new(json_object_get(exp, "settings"), key, json_real(v));
}

int nzk_exp_set_setting_str(json_t *exp, const char *key, const char *v)
{
  return set_new(json_object_get(exp, "settings"), key, json_string(v));
}

int nzk_exp_set_metric(json_t *exp, const char *key, double v)
{
  return set_new(json_object_get(exp, "metrics"), key, isfinite(v) ? json_real(v) : json_null());
}

int nzk_exp_set_elapsed(json_t *exp, double seconds)
{
  return set_new(exp, "elapsed_s", json_real(seconds));
}

int nzk_exp_add_figure(json_t *exp, const char *id, const char *file, const char *caption)
{
  if (!id_ok(id)) return NZK_FAIL(GSL_EINVAL, "results: figure id '%s' is not [a-z0-9_]+", id);
  json_t *f = json_pack("{s:s, s:s, s:s}", "id", id, "file", file, "caption", caption);
  return append_new(json_object_get(exp, "figures"), f, "figures");
}

int nzk_exp_add_verdict(json_t *exp, const char *theorem, const char *check,
                        const nzk_check_result *res, nzk_verdict expected)
{
  json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:I, s:o, s:s}", "theorem",
                        theorem, "check", check, "verdict", nzk_verdict_name(res->verdict),
                        "expected", nzk_verdict_name(expected), "ok", res->verdict == expected,
                        "statistic", nzk_json_real(res->statistic), "threshold",
                        nzk_json_real(res->threshold), "alpha", nzk_json_real(res->alpha),
                        "n_tests", (json_int_t)res->n_tests, "rel_frobenius",
                        nzk_json_real(res->rel_frobenius), "reason", res->reason);
  return append_new(json_object_get(exp, "verdicts"), v, "verdicts");
}

int nzk_exp_add_table(json_t *exp, json_t *table)
{
  return append_new(json_object_get(exp, "tables"), table, "tables");
}

void nzk_results_tally(const json_t *doc, nzk_verdict_tally *t)
{
  memset(t, 0, sizeof *t);
  size_t k, j;
  json_t *e, *v;
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    json_array_foreach(json_object_get(e, "verdicts"), j, v) {
      const char *name = json_string_value(json_object_get(v, "verdict"));
      t->total++;
      if (!name) continue;
      int untestable = !strcmp(name, "not testable") || !strcmp(name, "undefined");
      if (json_is_true(json_object_get(v, "ok"))) t->ok++;
      else if (untestable) t->untested++, t->not_ok++;
      else t->missed++, t->not_ok++;
      if (strcmp(name, "pass") == 0) t->pass++;
      else if (strcmp(name, "fail") == 0) t->fail++;
      else if (strcmp(name, "not testable") == 0) t->not_testable++;
      else if (strcmp(name, "undefined") == 0) t->undefined++;
    }
}

/* Append "; <label>: <exp>: <check> (<reason>); ..." for every verdict
 * that is not ok and whose untestability equals `untestable`. */
static void append_misses(const json_t *doc, int untestable, size_t count, const char *label,
                          char *buf, size_t len)
{
  size_t k, j, used = strlen(buf), n = 0;
  json_t *e, *v;
  if (!count) return;
  used += (size_t)snprintf(buf + used, len - used, "; %zu %s: ", count, label);
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    json_array_foreach(json_object_get(e, "verdicts"), j, v) {
      const char *name = json_string_value(json_object_get(v, "verdict"));
      if (used >= len || !name || json_is_true(json_object_get(v, "ok"))) continue;
      int u = !strcmp(name, "not testable") || !strcmp(name, "undefined");
      if (u != untestable) continue;
      used += (size_t)snprintf(buf + used, len - used, "%s%s: %s (%s)", n++ ? "; " : "",
                               json_string_value(json_object_get(e, "id")),
                               json_string_value(json_object_get(v, "check")),
                               u ? json_string_value(json_object_get(v, "reason")) : name);
    }
}

void nzk_results_headline(const json_t *doc, char *buf, size_t len)
{
  nzk_verdict_tally t;
  if (len < 8) {
    if (len) buf[0] = '\0';
    return;
  }
  nzk_results_tally(doc, &t);
  snprintf(buf, len, "%zu of %zu checks reached their expected verdict", t.ok, t.total);
  append_misses(doc, 1, t.untested, "not testable", buf, len);
  append_misses(doc, 0, t.missed, "reached another verdict than expected", buf, len);
  size_t used = strlen(buf);
  if (used + 2 < len) {
    buf[used] = '.';
    buf[used + 1] = '\0';
  } else {
    memcpy(buf + len - 4, "...", 4);
  }
}

/* --- tables -------------------------------------------------------------- */

json_t *nzk_table_new(const char *id, const char *title, size_t ncols, const char *const *names,
                      const char *const *units)
{
  if (!id_ok(id)) {
    NZK_FAIL(GSL_EINVAL, "results: table id '%s' is not [a-z0-9_]+", id ? id : "");
    return NULL;
  }
  json_t *cols = json_array();
  for (size_t k = 0; cols && k < ncols; k++)
    json_array_append_new(cols, json_pack("{s:s, s:s}", "name", names[k], "unit",
                                          units && units[k] ? units[k] : ""));
  json_t *t = json_pack("{s:s, s:s, s:o, s:[]}", "id", id, "title", title, "columns", cols,
                        "rows");
  if (!t) NZK_FAIL(GSL_ENOMEM, "results: out of memory building table %s", id);
  return t;
}

json_t *nzk_table_add_row(json_t *table)
{
  json_t *row = json_array();
  if (append_new(json_object_get(table, "rows"), row, "rows")) return NULL;
  return row;
}

int nzk_row_real(json_t *row, double v)
{
  return append_new(row, isfinite(v) ? json_real(v) : json_null(), "row");
}

int nzk_row_int(json_t *row, long long v) { return append_new(row, json_integer(v), "row"); }

int nzk_row_str(json_t *row, const char *s) { return append_new(row, json_string(s), "row"); }

/* --- validation ---------------------------------------------------------- */

/* Fail with the path of the offending node. */
#define BAD(...) NZK_FAIL(GSL_EFAILED, "results.json: " __VA_ARGS__)

static int need(const json_t *obj, const char *key, json_type type, const char *where)
{
  json_t *v = json_object_get(obj, key);
  if (!v) return BAD("%s: missing \"%s\"", where, key);
  int ok = json_typeof(v) == type ||
           (type == JSON_REAL && json_is_number(v)) || (type == JSON_TRUE && json_is_boolean(v));
  if (!ok) return BAD("%s.%s: wrong type", where, key);
  return 0;
}

static int verdict_name_ok(const char *s)
{
  return s && (!strcmp(s, "pass") || !strcmp(s, "fail") || !strcmp(s, "not testable") ||
               !strcmp(s, "undefined"));
}

static int validate_table(const json_t *t, const char *where)
{
  int s = need(t, "id", JSON_STRING, where) || need(t, "title", JSON_STRING, where) ||
          need(t, "columns", JSON_ARRAY, where) || need(t, "rows", JSON_ARRAY, where);
  if (s) return GSL_EFAILED;
  if (!id_ok(json_string_value(json_object_get(t, "id")))) return BAD("%s: bad id", where);
  size_t ncols = json_array_size(json_object_get(t, "columns")), k;
  json_t *row, *col;
  json_array_foreach(json_object_get(t, "columns"), k, col)
    if (!json_is_string(json_object_get(col, "name")) ||
        !json_is_string(json_object_get(col, "unit")))
      return BAD("%s.columns[%zu]: needs name and unit strings", where, k);
  json_array_foreach(json_object_get(t, "rows"), k, row) {
    if (!json_is_array(row) || json_array_size(row) != ncols)
      return BAD("%s.rows[%zu]: %zu cells, %zu columns", where, k, json_array_size(row), ncols);
    size_t j;
    json_t *c;
    json_array_foreach(row, j, c)
      if (!json_is_number(c) && !json_is_string(c) && !json_is_null(c))
        return BAD("%s.rows[%zu][%zu]: not a number, string or null", where, k, j);
  }
  return 0;
}

static int validate_verdict(const json_t *v, const char *where)
{
  int s = need(v, "theorem", JSON_STRING, where) || need(v, "check", JSON_STRING, where) ||
          need(v, "verdict", JSON_STRING, where) || need(v, "expected", JSON_STRING, where) ||
          need(v, "ok", JSON_TRUE, where) || need(v, "reason", JSON_STRING, where);
  if (s) return GSL_EFAILED;
  const char *got = json_string_value(json_object_get(v, "verdict"));
  const char *want = json_string_value(json_object_get(v, "expected"));
  if (!verdict_name_ok(got) || !verdict_name_ok(want)) return BAD("%s: unknown verdict", where);
  if (json_is_true(json_object_get(v, "ok")) != (strcmp(got, want) == 0))
    return BAD("%s: \"ok\" disagrees with verdict and expected", where);
  return 0;
}

static int validate_list(const json_t *e, const char *key, const char *where,
                         int (*fn)(const json_t *, const char *))
{
  size_t k;
  json_t *x;
  char sub[256];
  json_array_foreach(json_object_get(e, key), k, x) {
    snprintf(sub, sizeof sub, "%s.%s[%zu]", where, key, k);
    if (!json_is_object(x)) return BAD("%s: not an object", sub);
    if (fn(x, sub)) return GSL_EFAILED;
  }
  return 0;
}

static int validate_figure(const json_t *f, const char *where)
{
  if (need(f, "id", JSON_STRING, where) || need(f, "file", JSON_STRING, where) ||
      need(f, "caption", JSON_STRING, where))
    return GSL_EFAILED;
  const char *file = json_string_value(json_object_get(f, "file"));
  if (file[0] == '/' || strstr(file, "..")) return BAD("%s: file must be relative", where);
  return 0;
}

static int validate_experiment(const json_t *e, const char *where)
{
  static const char *arrays[] = {"theorems", "against_paper", "tables", "figures", "verdicts"};
  static const char *strings[] = {"id", "title", "compared", "found"};
  for (size_t k = 0; k < 4; k++)
    if (need(e, strings[k], JSON_STRING, where)) return GSL_EFAILED;
  for (size_t k = 0; k < 5; k++)
    if (need(e, arrays[k], JSON_ARRAY, where)) return GSL_EFAILED;
  if (need(e, "settings", JSON_OBJECT, where) || need(e, "metrics", JSON_OBJECT, where) ||
      need(e, "elapsed_s", JSON_REAL, where))
    return GSL_EFAILED;
  if (!id_ok(json_string_value(json_object_get(e, "id")))) return BAD("%s: bad id", where);
  if (validate_list(e, "tables", where, validate_table) ||
      validate_list(e, "figures", where, validate_figure) ||
      validate_list(e, "verdicts", where, validate_verdict))
    return GSL_EFAILED;
  return 0;
}

int nzk_results_validate(const json_t *doc)
{
  if (!json_is_object(doc)) return BAD("top level is not an object");
  if (need(doc, "schema", JSON_STRING, "$") || need(doc, "program", JSON_STRING, "$") ||
      need(doc, "mode", JSON_STRING, "$") || need(doc, "seed", JSON_INTEGER, "$") ||
      need(doc, "started", JSON_STRING, "$") || need(doc, "elapsed_s", JSON_REAL, "$") ||
      need(doc, "datasets", JSON_ARRAY, "$") || need(doc, "experiments", JSON_ARRAY, "$"))
    return GSL_EFAILED;
  if (strcmp(json_string_value(json_object_get(doc, "schema")), NZK_RESULTS_SCHEMA) != 0)
    return BAD("$.schema: expected %s", NZK_RESULTS_SCHEMA);
  size_t k, j;
  json_t *e, *other;
  char where[64];
  json_array_foreach(json_object_get(doc, "experiments"), k, e) {
    snprintf(where, sizeof where, "experiments[%zu]", k);
    if (!json_is_object(e)) return BAD("%s: not an object", where);
    if (validate_experiment(e, where)) return GSL_EFAILED;
    const char *id = json_string_value(json_object_get(e, "id"));
    json_array_foreach(json_object_get(doc, "experiments"), j, other)
      if (j < k && !strcmp(id, json_string_value(json_object_get(other, "id"))))
        return BAD("%s: id '%s' used twice", where, id);
  }
  return 0;
}
