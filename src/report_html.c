/* report_html.c: the static HTML page of `nzk reproduce` (report.h).
 *
 * The page is rendered from the results document alone: a summary, the
 * verdicts of every check, then one section per experiment with what was
 * compared, what was found, the findings against the paper, its tables,
 * figures and verdicts.  It needs no network and no script to read; the
 * one inline script only checks, after the load event, that every figure
 * decoded (naturalWidth > 0) and writes the counts into #figcheck for
 * scripts/check-report. */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <string.h>

static const char *page_css =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}"
    "h1{font-size:1.6em}h2{border-bottom:2px solid #ccd;padding-bottom:.2em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}"
    "th,td{border:1px solid #ccc;padding:.25em .55em}th{background:#eef}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}"
    ".ok{color:#075}.bad{color:#b00;font-weight:bold}"
    ".against{background:#fff4e0;border-left:4px solid #e90;padding:.4em .8em;margin:.5em 0}"
    "figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}"
    "figcaption{font-size:.9em;color:#444}.meta{color:#555;font-size:.9em}"
    "img.broken{outline:4px solid red}";

static const char *page_script =
    "window.addEventListener('load',function(){"
    "var im=document.images,b=0,l=0;"
    "for(var i=0;i<im.length;i++){"
    "if(im[i].complete&&im[i].naturalWidth>0){l++;}"
    "else{b++;im[i].className+=' broken';im[i].setAttribute('data-broken','1');}}"
    "var d=document.getElementById('figcheck');"
    "d.setAttribute('data-total',im.length);d.setAttribute('data-loaded',l);"
    "d.setAttribute('data-broken',b);d.setAttribute('data-done','1');"
    "d.textContent='Figures: '+l+' of '+im.length+' loaded'+(b?', '+b+' BROKEN':'');});";

/* Write s with &, <, >, " escaped. */
static void esc(FILE *fp, const char *s)
{
  for (; s && *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", fp); break;
    case '<': fputs("&lt;", fp); break;
    case '>': fputs("&gt;", fp); break;
    case '"': fputs("&quot;", fp); break;
    default: fputc(*s, fp);
    }
  }
}

static const char *str(const json_t *obj, const char *key)
{
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

static void cell(FILE *fp, const json_t *c)
{
  if (json_is_string(c)) {
    fputs("<td>", fp);
    esc(fp, json_string_value(c));
  } else if (json_is_integer(c)) {
    fprintf(fp, "<td class=\"num\">%lld", (long long)json_integer_value(c));
  } else if (json_is_real(c)) {
    fprintf(fp, "<td class=\"num\">%.4g", json_real_value(c));
  } else {
    fputs("<td class=\"num\">n/a", fp);
  }
  fputs("</td>", fp);
}

static void write_table(FILE *fp, const json_t *t)
{
  size_t k, j;
  json_t *col, *row, *c;
  fputs("<table><caption>", fp);
  esc(fp, str(t, "title"));
  fputs("</caption>\n<tr>", fp);
  json_array_foreach(json_object_get(t, "columns"), k, col) {
    fputs("<th>", fp);
    esc(fp, str(col, "name"));
    if (*str(col, "unit")) {
      fputs(" [", fp);
      esc(fp, str(col, "unit"));
      fputc(']', fp);
    }
    fputs("</th>", fp);
  }
  fputs("</tr>\n", fp);
  json_array_foreach(json_object_get(t, "rows"), k, row) {
    fputs("<tr>", fp);
    json_array_foreach(row, j, c) cell(fp, c);
    fputs("</tr>\n", fp);
  }
  fputs("</table>\n", fp);
}

static void write_verdict_rows(FILE *fp, const json_t *e)
{
  size_t j;
  json_t *v;
  json_array_foreach(json_object_get(e, "verdicts"), j, v) {
    int ok = json_is_true(json_object_get(v, "ok"));
    fputs("<tr><td>", fp);
    esc(fp, str(e, "id"));
    fputs("</td><td>", fp);
    esc(fp, str(v, "theorem"));
    fputs("</td><td>", fp);
    esc(fp, str(v, "check"));
    fprintf(fp, "</td><td class=\"%s\">", ok ? "ok" : "bad");
    esc(fp, str(v, "verdict"));
    fputs("</td><td>", fp);
    esc(fp, str(v, "expected"));
    fputs("</td>", fp);
    cell(fp, json_object_get(v, "statistic"));
    cell(fp, json_object_get(v, "threshold"));
    fputs("<td>", fp);
    esc(fp, str(v, "reason"));
    fputs("</td></tr>\n", fp);
  }
}

static void write_verdict_table(FILE *fp, const json_t *doc, const json_t *only)
{
  fputs("<table><tr><th>experiment</th><th>theorem</th><th>check</th><th>verdict</th>"
        "<th>expected</th><th>max |z|</th><th>threshold</th><th>note</th></tr>\n", fp);
  size_t k;
  json_t *e;
  if (only) write_verdict_rows(fp, only);
  else json_array_foreach(json_object_get(doc, "experiments"), k, e) write_verdict_rows(fp, e);
  fputs("</table>\n", fp);
}

static void write_summary(FILE *fp, const json_t *doc)
{
  nzk_verdict_tally t;
  nzk_results_tally(doc, &t);
  fprintf(fp, "<p class=\"meta\">%s, %s mode, seed %lld, started %s, total %.1f s.</p>\n",
          str(doc, "program"), str(doc, "mode"),
          (long long)json_integer_value(json_object_get(doc, "seed")), str(doc, "started"),
          json_number_value(json_object_get(doc, "elapsed_s")));
  fputs("<p>Data sets: ", fp);
  size_t k;
  json_t *d, *e;
  json_array_foreach(json_object_get(doc, "datasets"), k, d) {
    fputs(k ? "; " : "", fp);
    esc(fp, str(d, "name"));
    fputs(json_is_true(json_object_get(d, "found")) ? " (used: " : " (not found: ", fp);
    esc(fp, str(d, "source"));
    fputc(')', fp);
  }
  char head[2048];
  nzk_results_headline(doc, head, sizeof head);
  fprintf(fp, ".</p>\n<p>Checks: <span class=\"%s\">", t.not_ok ? "bad" : "ok");
  esc(fp, head);
  fputs("</span> Negative controls are expected to fail.</p>\n<div id=\"figcheck\" "
        "data-done=\"0\">Figures: not checked (scripts disabled)</div>\n"
        "<h2>Contents</h2><ul>\n", fp);
  json_array_foreach(json_object_get(doc, "experiments"), k, e) {
    fprintf(fp, "<li><a href=\"#%s\">", str(e, "id"));
    esc(fp, str(e, "title"));
    fprintf(fp, "</a> (%.2f s)</li>\n", json_number_value(json_object_get(e, "elapsed_s")));
  }
  fputs("<li><a href=\"#verdicts\">All theorem checks</a></li></ul>\n", fp);
}

static void write_settings(FILE *fp, const json_t *e)
{
  const char *key;
  json_t *v;
  fputs("<p class=\"meta\">", fp);
  int first = 1;
  json_object_foreach(json_object_get(e, "settings"), key, v) {
    fputs(first ? "Settings: " : ", ", fp);
    first = 0;
    esc(fp, key);
    fputs(" = ", fp);
    if (json_is_string(v)) esc(fp, json_string_value(v));
    else fprintf(fp, "%.6g", json_number_value(v));
  }
  fprintf(fp, "%sTime: %.2f s.</p>\n", first ? "" : ". ",
          json_number_value(json_object_get(e, "elapsed_s")));
}

static void write_experiment(FILE *fp, const json_t *doc, const json_t *e)
{
  size_t k;
  json_t *x;
  fprintf(fp, "<section id=\"%s\"><h2>", str(e, "id"));
  esc(fp, str(e, "title"));
  fputs("</h2>\n", fp);
  write_settings(fp, e);
  fputs("<p><b>Compared.</b> ", fp);
  esc(fp, str(e, "compared"));
  fputs("</p>\n<p><b>Found.</b> ", fp);
  esc(fp, str(e, "found"));
  fputs("</p>\n", fp);
  json_array_foreach(json_object_get(e, "against_paper"), k, x) {
    fputs("<p class=\"against\"><b>Against the paper:</b> ", fp);
    esc(fp, json_string_value(x));
    fputs("</p>\n", fp);
  }
  json_array_foreach(json_object_get(e, "tables"), k, x) write_table(fp, x);
  json_array_foreach(json_object_get(e, "figures"), k, x) {
    fputs("<figure><img src=\"", fp);
    esc(fp, str(x, "file"));
    fputs("\" alt=\"", fp);
    esc(fp, str(x, "caption"));
    fputs("\"><figcaption>", fp);
    esc(fp, str(x, "caption"));
    fputs("</figcaption></figure>\n", fp);
  }
  if (json_array_size(json_object_get(e, "verdicts"))) write_verdict_table(fp, doc, e);
  fputs("</section>\n", fp);
}

int nzk_html_write(const json_t *doc, const char *dir)
{
  char path[4096];
  int status = nzk_results_validate(doc);
  if (!status) status = nzk_path_join(path, sizeof path, dir, "index.html");
  if (status) return status;
  nzk_outfile o;
  if ((status = nzk_out_open(&o, path))) return status;
  FILE *fp = o.fp;

  fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>nzk reproduce: report</title>\n<style>%s</style>\n"
          "<script>%s</script>\n</head><body>\n"
          "<h1>Model evolution under zeroth-order optimisation: reproduction report</h1>\n",
          page_css, page_script);
  write_summary(fp, doc);
  size_t k;
  json_t *e;
  json_array_foreach(json_object_get(doc, "experiments"), k, e) write_experiment(fp, doc, e);
  fputs("<section id=\"verdicts\"><h2>All theorem checks</h2>\n", fp);
  write_verdict_table(fp, doc, NULL);
  fputs("</section>\n</body></html>\n", fp);
  return nzk_out_commit(&o);
}
