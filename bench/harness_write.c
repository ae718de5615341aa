/* harness_write.c: renders a nightly report (nightly.json, see
 * harness_report.c) as summary.md and summary.html.
 *
 * Both pages have the same sections in the same order: the verdict line,
 * the steps of the nightly script, the comparison of ratios with the
 * previous run, the plain figures, the drivers (status, time, peak
 * memory), the machine and the charts.  One small writer with a Markdown
 * and an HTML back end produces both, so they cannot drift apart. */
#include "harness.h"

#include <math.h>
#include <string.h>

typedef struct {
  FILE *fp;
  int html;
} page;

/* --- the two back ends --------------------------------------------------- */

static void text(const page *pg, const char *s)
{
  if (pg->html) return harness_html_escape(pg->fp, s);
  for (; *s; s++) {
    if (*s == '|') fputc('\\', pg->fp);
    fputc(*s, pg->fp);
  }
}

static void heading(const page *pg, int level, const char *s)
{
  if (pg->html) fprintf(pg->fp, "<h%d>", level);
  else fprintf(pg->fp, "\n%.*s ", level, "####");
  text(pg, s);
  if (pg->html) fprintf(pg->fp, "</h%d>\n", level);
  else fputs("\n\n", pg->fp);
}

static void para(const page *pg, const char *s)
{
  fputs(pg->html ? "<p>" : "", pg->fp);
  text(pg, s);
  fputs(pg->html ? "</p>\n" : "\n\n", pg->fp);
}

static void row(const page *pg, const char *const cells[], int n, int header)
{
  const char *td = header ? "th" : "td";
  fputs(pg->html ? "<tr>" : "|", pg->fp);
  for (int k = 0; k < n; k++) {
    if (pg->html) fprintf(pg->fp, "<%s>", td);
    else fputc(' ', pg->fp);
    text(pg, cells[k] ? cells[k] : "");
    fputs(pg->html ? (header ? "</th>" : "</td>") : " |", pg->fp);
  }
  fputs(pg->html ? "</tr>\n" : "\n", pg->fp);
  if (header && !pg->html) {
    fputc('|', pg->fp);
    for (int k = 0; k < n; k++) fputs("---|", pg->fp);
    fputc('\n', pg->fp);
  }
}

static void table_begin(const page *pg, const char *const head[], int n)
{
  if (pg->html) fputs("<table>\n", pg->fp);
  row(pg, head, n, 1);
}

static void table_end(const page *pg) { fputs(pg->html ? "</table>\n" : "\n", pg->fp); }

/* --- formatting of figures ----------------------------------------------- */

/* "median [min, max]" of a stat object, or "-" if absent. */
static void fmt_stat(const json_t *s, char *buf, size_t len)
{
  if (!json_is_object(s)) snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.4g [%.4g, %.4g]", harness_num(s, "median"), harness_num(s, "min"),
             harness_num(s, "max"));
}

static void fmt_pct(double v, char *buf, size_t len, int sign)
{
  if (!isfinite(v)) snprintf(buf, len, "-");
  else snprintf(buf, len, sign ? "%+.1f %%" : "%.1f %%", 100.0 * v);
}

/* One table of comparison rows: kind "ratio" or any other (figures). */
static void comparison_table(const page *pg, const json_t *rows, int ratios)
{
  static const char *head[] = {"benchmark", "figure", "unit",  "params",    "previous",
                               "tonight",   "change", "drift", "threshold", "verdict"};
  table_begin(pg, head, 10);
  size_t i;
  const json_t *r;
  json_array_foreach(rows, i, r)
  {
    if ((strcmp(harness_str(r, "kind"), "ratio") == 0) != ratios) continue;
    char prev[96], cur[96], chg[32], drift[32], thr[32], verdict[64];
    fmt_stat(json_object_get(r, "prev"), prev, sizeof prev);
    fmt_stat(json_object_get(r, "cur"), cur, sizeof cur);
    fmt_pct(harness_num(r, "change_rel"), chg, sizeof chg, 1);
    fmt_pct(harness_num(r, "drift_rel"), drift, sizeof drift, 0);
    fmt_pct(harness_num(r, "threshold_rel"), thr, sizeof thr, 0);
    const char *v = harness_str(r, "verdict");
    snprintf(verdict, sizeof verdict, "%s", strcmp(v, "regression") ? v : "REGRESSION");
    const char *cells[] = {harness_str(r, "bench"), harness_str(r, "figure"),
                           harness_str(r, "unit"),  harness_str(r, "params"),
                           prev, cur, chg, drift, thr, verdict};
    row(pg, cells, 10, 0);
  }
  table_end(pg);
}

/* --- sections ------------------------------------------------------------ */

static void section_verdict(const page *pg, const json_t *rep)
{
  const json_t *b = json_object_get(rep, "bench"), *prev = json_object_get(rep, "previous");
  char buf[512];
  int n_reg = (int)harness_num(rep, "n_regressions"), failed = 0;
  size_t i;
  const json_t *s;
  json_array_foreach(json_object_get(rep, "steps"), i, s)
      failed += strcmp(harness_str(s, "status"), "failed") == 0;
  snprintf(buf, sizeof buf, "Run of %s (size %s), commit %.12s. %s; %s.",
           harness_str(b, "started_utc"), harness_str(b, "size"),
           harness_str(json_object_get(b, "machine"), "git_commit"),
           n_reg ? "REGRESSION flagged" : "No regression flagged",
           failed ? "a step FAILED" : "no step failed");
  para(pg, buf);
  if (json_is_object(prev))
    snprintf(buf, sizeof buf, "Compared with the previous run %s (started %s, commit %.12s).",
             harness_str(prev, "dir"), harness_str(prev, "started_utc"),
             harness_str(prev, "git_commit"));
  else
    snprintf(buf, sizeof buf, "No previous run of this size to compare with.");
  para(pg, buf);
}

static void section_steps(const page *pg, const json_t *rep)
{
  static const char *head[] = {"step", "status", "time (s)", "detail", "log"};
  heading(pg, 2, "Steps");
  table_begin(pg, head, 5);
  size_t i;
  const json_t *s;
  json_array_foreach(json_object_get(rep, "steps"), i, s)
  {
    char secs[32];
    snprintf(secs, sizeof secs, "%.1f", harness_num(s, "seconds"));
    const char *cells[] = {harness_str(s, "name"), harness_str(s, "status"), secs,
                           harness_str(s, "detail"), harness_str(s, "log")};
    row(pg, cells, 5, 0);
  }
  table_end(pg);
}

static void section_comparison(const page *pg, const json_t *rep)
{
  char buf[512];
  heading(pg, 2, "Ratios (checked for regressions)");
  const json_t *rule = json_object_get(rep, "rule");
  snprintf(buf, sizeof buf,
           "A ratio regresses when, on the log scale, it is worse than in the previous run "
           "by more than max(log(1 + %.0f %%), ranges, %g x drift): ranges = log(max/min) "
           "of the previous run plus that of tonight, so the two runs' min-max ranges are "
           "disjoint with margin; drift = median |log change| of the figure from run to "
           "run over the earlier reports (0 until 3 exist). Change, drift and threshold "
           "are shown as exp(.) - 1. Figures are median [min, max] over repeats; change "
           "is signed, positive = better.",
           100.0 * harness_num(rule, "floor_rel"), harness_num(rule, "drift_factor"));
  para(pg, buf);
  comparison_table(pg, json_object_get(rep, "comparison"), 1);
  heading(pg, 2, "Figures (information, not judged: they move with the machine's load)");
  comparison_table(pg, json_object_get(rep, "comparison"), 0);
}

static void section_drivers(const page *pg, const json_t *rep)
{
  static const char *head[] = {"driver", "status", "wall (s)", "peak memory (MiB)",
                               "records", "arguments", "log", "note"};
  heading(pg, 2, "Benchmark drivers");
  table_begin(pg, head, 8);
  size_t i, j;
  const json_t *d, *a;
  json_array_foreach(json_object_get(json_object_get(rep, "bench"), "drivers"), i, d)
  {
    char wall[32], mem[32], nrec[16], args[512] = "";
    snprintf(wall, sizeof wall, "%.2f", harness_num(d, "wall_s"));
    snprintf(mem, sizeof mem, "%.1f", harness_num(d, "peak_rss_bytes") / 1048576.0);
    snprintf(nrec, sizeof nrec, "%zu", json_array_size(json_object_get(d, "records")));
    json_array_foreach(json_object_get(d, "args"), j, a)
    {
      size_t used = strlen(args);
      snprintf(args + used, sizeof args - used, "%s%s", used ? " " : "", json_string_value(a));
    }
    const char *cells[] = {harness_str(d, "driver"), harness_str(d, "status"), wall, mem,
                           nrec, args, harness_str(d, "log"), harness_str(d, "note")};
    row(pg, cells, 8, 0);
  }
  table_end(pg);
}

static void section_machine(const page *pg, const json_t *rep)
{
  static const char *head[] = {"fact", "value"};
  const json_t *b = json_object_get(rep, "bench"), *dg = json_object_get(b, "dgemm");
  heading(pg, 2, "Machine");
  table_begin(pg, head, 2);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)json_object_get(b, "machine"), key, v)
  {
    char *val = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
    const char *cells[] = {key, val};
    row(pg, cells, 2, 0);
    free(val);
  }
  char d0[96], d1[96], label[64];
  fmt_stat(json_object_get(dg, "start"), d0, sizeof d0);
  fmt_stat(json_object_get(dg, "end"), d1, sizeof d1);
  snprintf(label, sizeof label, "DGEMM n=%d GFLOP/s, start", (int)harness_num(dg, "n"));
  row(pg, (const char *const[]){label, d0}, 2, 0);
  snprintf(label, sizeof label, "DGEMM n=%d GFLOP/s, end", (int)harness_num(dg, "n"));
  row(pg, (const char *const[]){label, d1}, 2, 0);
  table_end(pg);
}

static void section_charts(const page *pg, const json_t *rep)
{
  char buf[512];
  heading(pg, 2, "History charts");
  snprintf(buf, sizeof buf, "Each chart shows one figure over the %d run(s) of this size up "
                            "to this one: median, with bars from min to max of the repeats.",
           (int)harness_num(rep, "history_runs"));
  para(pg, buf);
  size_t i;
  const json_t *c;
  json_array_foreach(json_object_get(rep, "charts"), i, c)
  {
    const char *svg = harness_str(c, "svg"), *key = harness_str(c, "key");
    if (!*svg) {
      snprintf(buf, sizeof buf, "%s: no chart (%s)", key, harness_str(c, "error"));
      para(pg, buf);
    } else if (pg->html) {
      fprintf(pg->fp, "<figure><img src=\"%s\" alt=\"", svg);
      harness_html_escape(pg->fp, key);
      fputs("\"></figure>\n", pg->fp);
    } else {
      fprintf(pg->fp, "![%s](%s)\n\n", key, svg);
    }
  }
}

/* --- pages --------------------------------------------------------------- */

static int write_page(const char *path, const json_t *rep, int html)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.partial", path);
  page pg = {fopen(tmp, "w"), html};
  if (!pg.fp) return fprintf(stderr, "nzk_bench: cannot write %s\n", tmp), -1;
  if (html)
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nzk-verify nightly"
          "</title>\n<style>body{font-family:sans-serif;max-width:75em;margin:auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px}"
          "</style></head><body>\n<h1>nzk-verify nightly report</h1>\n", pg.fp);
  else
    fputs("# nzk-verify nightly report\n\n", pg.fp);
  section_verdict(&pg, rep);
  section_steps(&pg, rep);
  section_comparison(&pg, rep);
  section_drivers(&pg, rep);
  section_machine(&pg, rep);
  section_charts(&pg, rep);
  if (html) fputs("</body></html>\n", pg.fp);
  if (fclose(pg.fp) != 0 || rename(tmp, path) != 0) {
    remove(tmp);
    return fprintf(stderr, "nzk_bench: cannot write %s\n", path), -1;
  }
  return 0;
}

int harness_write_markdown(const char *path, const json_t *report)
{
  return write_page(path, report, 0);
}

int harness_write_html(const char *path, const json_t *report)
{
  return write_page(path, report, 1);
}
