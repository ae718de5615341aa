/* test_report.c: the reporting layer of `nzk reproduce` (report.h).
 *
 * Builds a results document by hand, draws every gnuplot template of
 * reports/ on small made-up data, writes tables, CSV and the HTML page into
 * a temporary folder, and checks the folder with nzk_results_check_dir.
 * Each check has its negative control: the validator must reject a row of
 * the wrong length, an unknown verdict and an "ok" that contradicts the
 * verdict; the folder check must reject a deleted and a truncated figure;
 * the folder check must reject a file in fig/ the document does not name,
 * and nzk_results_clear_dir must remove it; the plot runner must reject a
 * missing template, a data file with no usable points and a value
 * holding a quote. */
#include "report.h"
#include "report_io.h"
#include "nzk_error.h"
#include "vtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void path(char *buf, const char *name) { snprintf(buf, 4096, "%s/%s", dir, name); }

/* Loss curves and the loss band; returns the number drawn. */
static int draw_curves(json_t *ex)
{
  char data[4096], png[4096];
  int drawn = 0;
  gsl_matrix *M = gsl_matrix_alloc(50, 4);
  for (size_t i = 0; i < 50; i++) {
    gsl_matrix_set(M, i, 0, 10.0 * (double)i);
    for (size_t j = 1; j < 4; j++) gsl_matrix_set(M, i, j, exp(-0.01 * (double)(i * j)) + 0.1);
  }
  const char *names[] = {"step", "FO", "kernel GD (E K)", "zo_shared"};
  path(data, "fig/loss.dat");
  path(png, "fig/loss.png");
  nzk_plot_write_columns(data, names, M);
  const char *v1[] = {"datafile", data, "ncol", "4", "title", "loss curves (test)", NULL};
  int s = nzk_plot_run("loss_curves", png, v1);
  vt_ok(s == 0, "loss_curves.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "loss", "fig/loss.png", "Loss curves.");

  /* loss_band: step, then mean/low/high for one method */
  const char *bnames[] = {"step", "zo plain", "lo", "hi"};
  for (size_t i = 0; i < 50; i++) {
    double m = gsl_matrix_get(M, i, 1);
    gsl_matrix_set(M, i, 2, 0.8 * m);
    gsl_matrix_set(M, i, 3, 1.2 * m);
  }
  path(data, "fig/band.dat");
  path(png, "fig/band.png");
  nzk_plot_write_columns(data, bnames, M);
  const char *v2[] = {"datafile", data, "nmeth", "1", "title", "band", NULL};
  s = nzk_plot_run("loss_band", png, v2);
  vt_ok(s == 0, "loss_band.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "band", "fig/band.png", "Loss band.");
  gsl_matrix_free(M);
  return drawn;
}

/* Heatmaps, the Monte Carlo error, the width sweep and the snapshots. */
static int draw_maps(json_t *ex)
{
  char data[4096], data2[4096], data3[4096], png[4096];
  int s, drawn = 0;

  /* heatmaps */
  gsl_matrix *K = gsl_matrix_alloc(12, 12), *Z = gsl_matrix_alloc(12, 12);
  for (size_t i = 0; i < 12; i++)
    for (size_t j = 0; j < 12; j++) {
      gsl_matrix_set(K, i, j, cos(0.3 * (double)i - 0.2 * (double)j));
      gsl_matrix_set(Z, i, j, sin(1.7319 * (double)(i * 12 + j)));
    }
  path(data, "fig/heat.est");
  path(data2, "fig/heat.formula");
  path(data3, "fig/heat.z");
  nzk_plot_write_matrix(data, K);
  nzk_plot_write_matrix(data2, K);
  nzk_plot_write_matrix(data3, Z);
  path(png, "fig/heat.png");
  const char *v3[] = {"estfile", data, "formfile", data2, "zfile", data3, "title", "heat",
                      "what", "shared NZK", NULL};
  s = nzk_plot_run("kernel_heatmap", png, v3);
  vt_ok(s == 0, "kernel_heatmap.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "heat", "fig/heat.png", "Heatmaps.");
  gsl_matrix_free(K);
  gsl_matrix_free(Z);

  /* MC error, log-log with slopes */
  gsl_matrix *E = gsl_matrix_alloc(5, 3);
  for (size_t i = 0; i < 5; i++) {
    double S = pow(10.0, 1.0 + 0.5 * (double)i);
    gsl_matrix_set(E, i, 0, S);
    gsl_matrix_set(E, i, 1, 2.0 / sqrt(S));
    gsl_matrix_set(E, i, 2, 5.0 / sqrt(S));
  }
  const char *enames[] = {"S", "plain", "shared"};
  path(data, "fig/mc.dat");
  path(png, "fig/mc.png");
  nzk_plot_write_columns(data, enames, E);
  const char *v4[] = {"datafile", data, "ncol", "3", "slopes", "-0.5 -0.5", "intercepts",
                      "0.30103 0.69897", "title", "mc", NULL};
  s = nzk_plot_run("mc_error", png, v4);
  vt_ok(s == 0, "mc_error.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "mc", "fig/mc.png", "MC error.");
  gsl_matrix_free(E);

  /* width sweep uses the same layout: width, series */
  path(png, "fig/width.png");
  const char *v5[] = {"gapfile", data, "driftfile", data, "ncol", "3", "title", "w", NULL};
  s = nzk_plot_run("width_sweep", png, v5);
  vt_ok(s == 0, "width_sweep.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "width", "fig/width.png", "Width sweep.");

  /* function evolution: index, y, f at two steps */
  gsl_matrix *F = gsl_matrix_alloc(20, 4);
  for (size_t i = 0; i < 20; i++) {
    gsl_matrix_set(F, i, 0, (double)i);
    gsl_matrix_set(F, i, 1, 0.1 * (double)i);
    gsl_matrix_set(F, i, 2, 0.0);
    gsl_matrix_set(F, i, 3, 0.09 * (double)i);
  }
  const char *fnames[] = {"i", "target y", "t=0", "t=16000"};
  path(data, "fig/fev.dat");
  path(png, "fig/fev.png");
  nzk_plot_write_columns(data, fnames, F);
  const char *v6[] = {"datafile", data, "ncol", "4", "title", "f", NULL};
  s = nzk_plot_run("function_evolution", png, v6);
  vt_ok(s == 0, "function_evolution.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  drawn += s == 0 && !nzk_exp_add_figure(ex, "fev", "fig/fev.png", "Function evolution.");
  gsl_matrix_free(F);
  return drawn;
}

/* The acceleration template reads a label column: written by hand. */
static int draw_acceleration(json_t *ex)
{
  char data[4096], png[4096];
  path(data, "fig/acc.dat");
  path(png, "fig/acc.png");
  FILE *fp = fopen(data, "w");
  fprintf(fp, "\"regime\" \"shared measured\" \"shared predicted\"\n"
              "\"equal eta\" 40.2 41\n\"equal tr EK\" 1.02 1\n\"max stable eta\" 0.9 NaN\n");
  fclose(fp);
  const char *v[] = {"datafile", data, "ncol", "3", "title", "acc", NULL};
  int s = nzk_plot_run("acceleration", png, v);
  vt_ok(s == 0, "acceleration.gp draws a PNG (%s)", s ? nzk_error_message() : "ok");
  return s == 0 && !nzk_exp_add_figure(ex, "acc", "fig/acc.png", "Acceleration.");
}

static void plot_negative_controls(void)
{
  char data[4096], png[4096];
  path(png, "fig/bad.png");
  const char *v[] = {"datafile", "x", NULL};
  vt_ok(nzk_plot_run("no_such_template", png, v) == GSL_EFAILED,
        "a missing template is an error (%s)", nzk_error_message());

  path(data, "fig/empty.dat");
  FILE *fp = fopen(data, "w");
  fprintf(fp, "\"step\" \"loss\"\nNaN NaN\nNaN NaN\n");
  fclose(fp);
  const char *v2[] = {"datafile", data, "ncol", "2", "title", "empty", NULL};
  vt_ok(nzk_plot_run("loss_curves", png, v2) == GSL_EFAILED && access(png, F_OK) != 0,
        "a data file with no usable point is an error and leaves no PNG (%s)",
        nzk_error_message());

  const char *v3[] = {"datafile", data, "title", "it's", NULL};
  vt_ok(nzk_plot_run("loss_curves", png, v3) == GSL_EINVAL,
        "a value holding a quote is refused (%s)", nzk_error_message());

  const char *v4[] = {"datafile", "/nonexistent/file.dat", "ncol", "2", "title", "x", NULL};
  vt_ok(nzk_plot_run("loss_curves", png, v4) == GSL_EFAILED,
        "a missing data file is an error (%s)", nzk_error_message());
  remove(data); /* leave fig/ holding only files of the document */
  path(data, "fig/bad.png.log");
  remove(data);
}

static json_t *build_doc(void)
{
  json_t *doc = nzk_results_new("quick", 1234);
  nzk_results_add_dataset(doc, "synthetic", 1, "generated");
  json_t *e = nzk_results_add_experiment(doc, "demo", "Demo <experiment> & co");
  vt_ok(nzk_results_add_experiment(doc, "demo", "again") == NULL, "a repeated id is refused");
  vt_ok(nzk_results_add_experiment(doc, "Bad-Id", "x") == NULL, "an ill-formed id is refused");
  nzk_exp_add_theorem(e, "T1");
  nzk_exp_set_setting_real(e, "eta", 1e-3);
  nzk_exp_set_setting_str(e, "law", "normal:scale=1");
  nzk_exp_set_text(e, "compared", "a \"quoted\" | piped text");
  nzk_exp_set_text(e, "found", "something");
  nzk_exp_add_against(e, "a finding against the paper");
  nzk_exp_set_metric(e, "nan_metric", NAN);
  nzk_exp_set_elapsed(e, 0.25);

  const char *names[] = {"method", "loss, final", "steps"};
  const char *units[] = {"", "squared units", NULL};
  json_t *t = nzk_table_new("losses", "Final losses", 3, names, units);
  json_t *row = nzk_table_add_row(t);
  nzk_row_str(row, "zo \"shared\"");
  nzk_row_real(row, 1.7319e-3);
  nzk_row_int(row, 16000);
  row = nzk_table_add_row(t);
  nzk_row_str(row, "fo");
  nzk_row_real(row, INFINITY);
  nzk_row_int(row, 3);
  nzk_exp_add_table(e, t);

  nzk_check_result pass = {.verdict = NZK_VERDICT_PASS, .statistic = 2.1, .threshold = 4.4,
                           .alpha = 1e-4, .n_tests = 55, .rel_frobenius = 0.01};
  nzk_check_result fail = pass;
  fail.verdict = NZK_VERDICT_FAIL;
  fail.statistic = 40;
  nzk_exp_add_verdict(e, "T1", "shared vs M4", &pass, NZK_VERDICT_PASS);
  nzk_exp_add_verdict(e, "T1", "shared vs M2 (negative control)", &fail, NZK_VERDICT_FAIL);
  return doc;
}

static void validator_negative_controls(json_t *doc)
{
  json_t *e = nzk_results_experiment(doc, "demo");
  json_t *t = json_array_get(json_object_get(e, "tables"), 0);
  json_t *row = nzk_table_add_row(t);
  nzk_row_str(row, "short row");
  vt_ok(nzk_results_validate(doc) == GSL_EFAILED && strstr(nzk_error_message(), "rows[2]"),
        "validator rejects a short row (%s)", nzk_error_message());
  json_array_remove(json_object_get(t, "rows"), 2);
  vt_ok(nzk_results_validate(doc) == 0, "validator accepts the repaired document");

  json_t *v = json_array_get(json_object_get(e, "verdicts"), 0);
  json_object_set_new(v, "ok", json_false());
  vt_ok(nzk_results_validate(doc) == GSL_EFAILED, "validator rejects an inconsistent ok (%s)",
        nzk_error_message());
  json_object_set_new(v, "ok", json_true());
  json_object_set_new(v, "verdict", json_string("maybe"));
  vt_ok(nzk_results_validate(doc) == GSL_EFAILED, "validator rejects an unknown verdict (%s)",
        nzk_error_message());
  json_object_set_new(v, "verdict", json_string("pass"));
  vt_ok(nzk_results_validate(doc) == 0, "validator accepts the repaired document");
}

/* Write a file of `len` bytes (to truncate a figure). */
static void truncate_to(const char *file, size_t len)
{
  FILE *fp = fopen(file, "wb");
  for (size_t k = 0; k < len; k++) fputc(0x89, fp);
  fclose(fp);
}

static void folder_checks(json_t *doc, int n_fig)
{
  char file[4096], save[4096], cmd[8500];
  nzk_error_clear();
  nzk_json_write((snprintf(file, sizeof file, "%s/results.json", dir), file), doc);
  vt_ok(nzk_results_write_tables(doc, dir) == 0, "tables written (%s)", nzk_error_message());
  vt_ok(nzk_html_write(doc, dir) == 0, "index.html written (%s)", nzk_error_message());
  vt_ok(nzk_results_check_dir(dir) == 0, "folder with %d figures checks out (%s)", n_fig,
        nzk_error_message());

  nzk_verdict_tally tally;
  nzk_results_tally(doc, &tally);
  vt_ok(tally.total == 2 && tally.ok == 2 && tally.pass == 1 && tally.fail == 1,
        "tally: %zu checks, %zu ok, %zu pass, %zu fail", tally.total, tally.ok, tally.pass,
        tally.fail);

  path(file, "fig/mc.png");
  path(save, "fig/mc.png.save");
  rename(file, save);
  vt_ok(nzk_results_check_dir(dir) == GSL_EFAILED, "a deleted figure is found (%s)",
        nzk_error_message());
  truncate_to(file, 0);
  vt_ok(nzk_results_check_dir(dir) == GSL_EFAILED, "an empty figure is found (%s)",
        nzk_error_message());
  {
    /* a PNG cut short keeps its header; the missing IEND chunk gives it away */
    char cmd2[9000];
    snprintf(cmd2, sizeof cmd2, "head -c 300 '%s' > '%s'", save, file);
    vt_ok(system(cmd2) == 0 && nzk_results_check_dir(dir) == GSL_EFAILED,
          "a truncated figure is found (%s)", nzk_error_message());
  }
  rename(save, file);
  vt_ok(nzk_results_check_dir(dir) == 0, "restored figure checks out again");
  path(file, "tables/demo_losses.csv");
  remove(file);
  vt_ok(nzk_results_check_dir(dir) == GSL_EFAILED && strstr(nzk_error_message(), "table CSV"),
        "a missing table CSV is found (%s)", nzk_error_message());
  vt_ok(nzk_results_write_tables(doc, dir) == 0 && nzk_results_check_dir(dir) == 0,
        "rewritten tables check out again (%s)", nzk_error_message());
  path(file, "fig/old_run.dat");
  truncate_to(file, 10);
  vt_ok(nzk_results_check_dir(dir) == GSL_EFAILED && strstr(nzk_error_message(), "old_run"),
        "a file in fig/ the document does not name is found (%s)", nzk_error_message());
  vt_ok(nzk_results_clear_dir(dir) == 0 && access(file, F_OK) != 0,
        "clearing the folder removes it (%s)", nzk_error_message());
  nzk_json_write((snprintf(file, sizeof file, "%s/results.json", dir), file), doc);
  nzk_results_write_tables(doc, dir);
  nzk_html_write(doc, dir);
  path(file, "fig/mc.png");
  vt_ok(access(file, F_OK) != 0 && nzk_results_check_dir(dir) == GSL_EFAILED,
        "the cleared folder no longer checks out: its figures are gone (%s)",
        nzk_error_message());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (getenv("NZK_KEEP_TMP") == NULL && system(cmd) != 0) vt_skip("could not remove %s", dir);
}

static void csv_markdown_format(json_t *doc)
{
  char file[4096], line[512];
  json_t *t = json_array_get(json_object_get(nzk_results_experiment(doc, "demo"), "tables"), 0);
  path(file, "fmt.csv");
  nzk_table_write_csv(file, t);
  FILE *fp = fopen(file, "r");
  char *ok1 = fgets(line, sizeof line, fp);
  int head_ok = ok1 && strcmp(line, "method,\"loss, final [squared units]\",steps\n") == 0;
  line[strcspn(line, "\n")] = '\0';
  vt_ok(head_ok, "CSV header quotes a comma and carries units: %s", line);
  char *ok2 = fgets(line, sizeof line, fp), *num = strstr(line, "\",") + 2;
  vt_ok(ok2 && strncmp(line, "\"zo \"\"shared\"\"\",", 16) == 0 &&
        strtod(num, NULL) == 1.7319e-3 && strcmp(strchr(num, ','), ",16000\n") == 0,
        "CSV row: doubled quotes, the number reads back exactly: %s", line);
  char *ok3 = fgets(line, sizeof line, fp);
  vt_ok(ok3 && strcmp(line, "fo,,3\n") == 0, "CSV: a non-finite number is an empty cell");
  fclose(fp);
  remove(file);

  fp = tmpfile();
  nzk_table_write_md(fp, t);
  rewind(fp);
  int seen = 0;
  while (fgets(line, sizeof line, fp))
    seen |= strcmp(line, "| zo \"shared\" | 0.001732 | 16000 |\n") == 0;
  fclose(fp);
  vt_ok(seen, "Markdown row with 4 significant digits");
}

/* A check that could not be tested counts as not reached in the tally and
 * is named, with its reason, in the headline; a missed one as missed. */
static void headline_counts_untested(void)
{
  char head[1024];
  json_t *doc = nzk_results_new("quick", 1);
  json_t *e = nzk_results_add_experiment(doc, "img", "Image row");
  nzk_check_result pass = {.verdict = NZK_VERDICT_PASS, .statistic = 1, .threshold = 4};
  nzk_check_result nt = {.verdict = NZK_VERDICT_NOT_TESTABLE};
  snprintf(nt.reason, sizeof nt.reason, "3 of 4 runs diverged");
  nzk_exp_add_verdict(e, "T3", "runs vs closed form", &pass, NZK_VERDICT_PASS);
  nzk_exp_add_verdict(e, "T3", "shared runs vs closed form", &nt, NZK_VERDICT_PASS);
  nzk_verdict_tally t;
  nzk_results_tally(doc, &t);
  nzk_results_headline(doc, head, sizeof head);
  vt_ok(t.ok == 1 && t.untested == 1 && t.missed == 0 && t.not_ok == 1,
        "an untested check is not counted as reached (ok %zu, untested %zu)", t.ok, t.untested);
  vt_ok(strstr(head, "1 of 2 checks reached") && strstr(head, "1 not testable: img: shared runs "
        "vs closed form (3 of 4 runs diverged)"), "headline names it: %s", head);
  nzk_exp_add_verdict(e, "T3", "control", &pass, NZK_VERDICT_FAIL);
  nzk_results_tally(doc, &t);
  nzk_results_headline(doc, head, sizeof head);
  vt_ok(t.missed == 1 && strstr(head, "1 of 3") && strstr(head, "img: control (pass)"),
        "a missed control is counted and named: %s", head);
  json_decref(doc);
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/nzk_test_report_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  char fig[4096];
  path(fig, "fig");
  nzk_mkdir_p(fig);

  json_t *doc = build_doc();
  nzk_error_clear();
  vt_ok(nzk_results_validate(doc) == 0, "hand-built document validates (%s)",
        nzk_error_message());
  validator_negative_controls(doc);
  csv_markdown_format(doc);
  headline_counts_untested();

  json_t *e = nzk_results_experiment(doc, "demo");
  int n_fig = draw_curves(e) + draw_maps(e) + draw_acceleration(e);
  vt_ok(n_fig == 7, "all 7 templates drew (%d)", n_fig);
  plot_negative_controls();
  folder_checks(doc, n_fig);
  json_decref(doc);
  return vt_finish();
}
