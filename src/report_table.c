/* report_table.c: Markdown and CSV renderings of the tables of the results
 * document (report.h).  Markdown is for reading and pasting (4 significant
 * digits); CSV keeps every digit (17 significant) for further analysis. */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"

#include <math.h>
#include <string.h>

/* One cell as display text: 4 significant digits, "n/a" for null. */
static void cell_text(const json_t *c, char *buf, size_t len)
{
  if (json_is_string(c)) snprintf(buf, len, "%s", json_string_value(c));
  else if (json_is_integer(c)) snprintf(buf, len, "%lld", (long long)json_integer_value(c));
  else if (json_is_real(c)) snprintf(buf, len, "%.4g", json_real_value(c));
  else snprintf(buf, len, "n/a");
}

/* Markdown cell: '|' would split the cell, newlines the row. */
static void md_cell(FILE *fp, const char *s)
{
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", fp);
    else if (*s == '\n') fputc(' ', fp);
    else fputc(*s, fp);
  }
}

static void column_label(const json_t *col, char *buf, size_t len)
{
  const char *name = json_string_value(json_object_get(col, "name"));
  const char *unit = json_string_value(json_object_get(col, "unit"));
  if (unit && *unit) snprintf(buf, len, "%s [%s]", name, unit);
  else snprintf(buf, len, "%s", name);
}

int nzk_table_write_md(FILE *fp, const json_t *table)
{
  const json_t *cols = json_object_get(table, "columns");
  size_t k, j;
  json_t *col, *row, *c;
  char buf[512];

  fprintf(fp, "**%s**\n\n|", json_string_value(json_object_get(table, "title")));
  json_array_foreach(cols, k, col) {
    column_label(col, buf, sizeof buf);
    fputc(' ', fp);
    md_cell(fp, buf);
    fputs(" |", fp);
  }
  fputs("\n|", fp);
  json_array_foreach(cols, k, col) fputs(k ? "---:|" : "---|", fp);
  fputc('\n', fp);
  json_array_foreach(json_object_get(table, "rows"), k, row) {
    fputc('|', fp);
    json_array_foreach(row, j, c) {
      cell_text(c, buf, sizeof buf);
      fputc(' ', fp);
      md_cell(fp, buf);
      fputs(" |", fp);
    }
    fputc('\n', fp);
  }
  fputc('\n', fp);
  return ferror(fp) ? NZK_FAIL(GSL_EFAILED, "error writing a Markdown table") : 0;
}

/* A CSV field, quoted (with doubled quotes) when it needs it. */
static void csv_field(FILE *fp, const char *s)
{
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"') fputc('"', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}

int nzk_table_write_csv(const char *path, const json_t *table)
{
  nzk_outfile o;
  int status = nzk_out_open(&o, path);
  if (status) return status;
  size_t k, j;
  json_t *col, *row, *c;
  char buf[512];
  json_array_foreach(json_object_get(table, "columns"), k, col) {
    column_label(col, buf, sizeof buf);
    if (k) fputc(',', o.fp);
    csv_field(o.fp, buf);
  }
  fputc('\n', o.fp);
  json_array_foreach(json_object_get(table, "rows"), k, row) {
    json_array_foreach(row, j, c) {
      if (j) fputc(',', o.fp);
      if (json_is_string(c)) csv_field(o.fp, json_string_value(c));
      else if (json_is_integer(c)) fprintf(o.fp, "%lld", (long long)json_integer_value(c));
      else if (json_is_real(c)) fprintf(o.fp, "%.17g", json_real_value(c));
    }
    fputc('\n', o.fp);
  }
  return nzk_out_commit(&o);
}

/* The verdict summary: one row per check of every experiment. */
static void write_verdict_summary(FILE *fp, const json_t *doc)
{
  nzk_verdict_tally t;
  nzk_results_tally(doc, &t);
  char head[2048];
  nzk_results_headline(doc, head, sizeof head);
  fprintf(fp, "## Theorem checks\n\n%s\n\nVerdicts: pass %zu, fail %zu, not testable %zu, "
          "undefined %zu; negative controls are expected to fail.\n\n", head, t.pass, t.fail,
          t.not_testable, t.undefined);
  fputs("| experiment | theorem | check | verdict | expected | ok | max abs z | threshold |\n"
        "|---|---|---|---|---|---|---:|---:|\n", fp);
  size_t k, j;
  json_t *e, *v;
  char s1[64], s2[64];
  json_array_foreach(json_object_get(doc, "experiments"), k, e)
    json_array_foreach(json_object_get(e, "verdicts"), j, v) {
      cell_text(json_object_get(v, "statistic"), s1, sizeof s1);
      cell_text(json_object_get(v, "threshold"), s2, sizeof s2);
      fprintf(fp, "| %s | %s | ", json_string_value(json_object_get(e, "id")),
              json_string_value(json_object_get(v, "theorem")));
      md_cell(fp, json_string_value(json_object_get(v, "check")));
      fprintf(fp, " | %s | %s | %s | %s | %s |\n",
              json_string_value(json_object_get(v, "verdict")),
              json_string_value(json_object_get(v, "expected")),
              json_is_true(json_object_get(v, "ok")) ? "yes" : "NO", s1, s2);
    }
  fputc('\n', fp);
}

int nzk_results_write_tables(const json_t *doc, const char *dir)
{
  char path[4096], tdir[4096];
  int status = nzk_path_join(tdir, sizeof tdir, dir, "tables");
  if (!status) status = nzk_mkdir_p(tdir);
  if (!status) status = nzk_path_join(path, sizeof path, dir, "tables.md");
  if (status) return status;

  nzk_outfile o;
  if ((status = nzk_out_open(&o, path))) return status;
  fprintf(o.fp, "# nzk reproduce: tables (%s mode, seed %lld)\n\n",
          json_string_value(json_object_get(doc, "mode")),
          (long long)json_integer_value(json_object_get(doc, "seed")));
  write_verdict_summary(o.fp, doc);

  size_t k, j;
  json_t *e, *t;
  json_array_foreach(json_object_get(doc, "experiments"), k, e) {
    const char *eid = json_string_value(json_object_get(e, "id"));
    fprintf(o.fp, "## %s (`%s`, %.2f s)\n\n", json_string_value(json_object_get(e, "title")),
            eid, json_number_value(json_object_get(e, "elapsed_s")));
    json_array_foreach(json_object_get(e, "tables"), j, t) {
      char name[512];
      snprintf(name, sizeof name, "tables/%s_%s.csv", eid,
               json_string_value(json_object_get(t, "id")));
      if (!status) status = nzk_table_write_md(o.fp, t);
      fprintf(o.fp, "CSV: `%s`\n\n", name);
      if (!status) status = nzk_path_join(path, sizeof path, dir, name);
      if (!status) status = nzk_table_write_csv(path, t);
    }
  }
  if (status) {
    nzk_out_abort(&o);
    return status;
  }
  return nzk_out_commit(&o);
}
