/* harness_report.c: `nzk_bench report`, the nightly report of one run.
 *
 * Input: a run folder DIR holding bench.json (written by `nzk_bench run`)
 * and optionally steps.tsv (one line per step of the nightly script:
 * name, status, seconds, detail, log file; tab-separated).  The sibling
 * folders of DIR under ROOT (default: DIR's parent) that hold a bench.json
 * of the same size form the history, ordered by their start time (then
 * folder name); runs after DIR are ignored, so an old report can be
 * regenerated as it was.  The previous run is the last one before DIR.
 *
 * Output in DIR: nightly.json (everything: the run, the steps, the
 * comparison, the chart list), summary.md, summary.html, and charts/ with
 * one .dat file (run index, median, min, max, folder) and one SVG drawn
 * by gnuplot from reports/nightly_history.gp per figure.
 * Exit status: 0, or 3 when a regression is flagged, 1 on failure. */
#define _DEFAULT_SOURCE /* wait4, realpath */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  const char *dir, *root, *steps, *template_gp, *gnuplot;
  double floor_rel, drift_factor;
  int charts;
} report_opts;

typedef struct {
  char name[256];
  char path[4096]; /* real path of the folder */
  json_t *bench;
} run_entry;

/* --- history ------------------------------------------------------------- */

static int run_cmp(const void *a, const void *b)
{
  const run_entry *x = a, *y = b;
  int c = strcmp(harness_str(x->bench, "started_utc"), harness_str(y->bench, "started_utc"));
  return c ? c : strcmp(x->name, y->name);
}

/* Load every ROOT/<folder>/bench.json of schema and size `size`.  Sorted
 * by start time; *n set.  Unreadable folders are skipped with a note. */
static run_entry *history_load(const char *root, const char *size, int *n)
{
  DIR *d = opendir(root);
  run_entry *runs = NULL;
  struct dirent *de;
  *n = 0;
  while (d && (de = readdir(d))) {
    char file[4400], real[PATH_MAX];
    if (de->d_name[0] == '.') continue;
    if (snprintf(file, sizeof file, "%s/%s/bench.json", root, de->d_name) >= (int)sizeof file ||
        access(file, R_OK) != 0)
      continue;
    json_t *b = harness_json_load(file);
    if (!b || strcmp(harness_str(b, "schema"), HARNESS_SCHEMA) != 0 ||
        strcmp(harness_str(b, "size"), size) != 0) {
      json_decref(b);
      continue;
    }
    if (snprintf(file, sizeof file, "%s/%s", root, de->d_name) >= (int)sizeof file) file[0] = 0;
    run_entry *grown = realloc(runs, (size_t)(*n + 1) * sizeof *runs);
    if (!grown || !realpath(file, real)) {
      json_decref(b);
      if (grown) runs = grown;
      continue;
    }
    runs = grown;
    snprintf(runs[*n].name, sizeof runs[*n].name, "%s", de->d_name);
    snprintf(runs[*n].path, sizeof runs[*n].path, "%s", real);
    runs[(*n)++].bench = b;
  }
  if (d) closedir(d);
  if (*n) qsort(runs, (size_t)*n, sizeof *runs, run_cmp);
  return runs;
}

static void history_free(run_entry *runs, int n)
{
  for (int k = 0; k < n; k++) json_decref(runs[k].bench);
  free(runs);
}

/* --- charts -------------------------------------------------------------- */

/* A file name from a record key: letters, digits, '-' kept, '/' -> "__". */
static void safe_name(const char *key, char *buf, size_t len)
{
  size_t o = 0;
  for (; *key && o + 3 < len; key++) {
    if (*key == '/') buf[o++] = '_', buf[o++] = '_';
    else buf[o++] = (isalnum((unsigned char)*key) || *key == '-') ? *key : '_';
  }
  buf[o] = '\0';
}

/* Write the history of `rec` (runs[0..n_runs-1]); returns points written. */
static int write_dat(const char *path, const json_t *rec, const run_entry *runs, int n_runs)
{
  FILE *fp = fopen(path, "w");
  if (!fp) return -1;
  fprintf(fp, "# history of %s (%s), unit %s\n# run median min max folder\n",
          harness_str(rec, "key"), harness_str(rec, "params"), harness_str(rec, "unit"));
  int points = 0;
  for (int k = 0; k < n_runs; k++) {
    json_t *recs = harness_records(runs[k].bench);
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
      if (strcmp(harness_str(r, "key"), harness_str(rec, "key")) != 0 ||
          strcmp(harness_str(r, "params"), harness_str(rec, "params")) != 0)
        continue;
      fprintf(fp, "%d %.9g %.9g %.9g %s\n", points++, harness_num(r, "median"),
              harness_num(r, "min"), harness_num(r, "max"), runs[k].name);
      break;
    }
    json_decref(recs);
  }
  return fclose(fp) == 0 ? points : -1;
}

/* Run gnuplot on the template; its messages go to `log`.  0 on success. */
static int run_gnuplot(const report_opts *o, char *const argv[], const char *log)
{
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    execv(o->gnuplot, argv);
    _exit(127);
  }
  int ws = 0;
  if (pid < 0 || waitpid(pid, &ws, 0) < 0) return -1;
  return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : -1;
}

/* Chart of one figure's history; returns its entry for nightly.json. */
static json_t *chart_one(const report_opts *o, const json_t *rec, const run_entry *runs,
                         int n_runs)
{
  char base[256], dat[4400], svg[4400], log[4400], title[512], ylabel[256], npts[16];
  safe_name(harness_str(rec, "key"), base, sizeof base);
  snprintf(dat, sizeof dat, "%s/charts/%s.dat", o->dir, base);
  snprintf(svg, sizeof svg, "%s/charts/%s.svg", o->dir, base);
  snprintf(log, sizeof log, "%s/charts/gnuplot.log", o->dir);
  int points = write_dat(dat, rec, runs, n_runs);
  json_t *c = json_pack("{s:s,s:s,s:i}", "key", harness_str(rec, "key"), "dat", "", "points",
                        points);
  json_object_set_new(c, "dat", json_sprintf("charts/%s.dat", base));
  if (points <= 0) return json_object_set_new(c, "error", json_string("no data")), c;

  const char *unit = harness_str(rec, "unit");
  int lower = strcmp(harness_str(rec, "better"), "lower") == 0;
  snprintf(title, sizeof title, "%s %s (%s)", harness_str(rec, "bench"),
           harness_str(rec, "figure"), harness_str(rec, "params"));
  snprintf(ylabel, sizeof ylabel, "%s [%s], %s is better", harness_str(rec, "figure"),
           strcmp(unit, "ratio") == 0 ? "ratio, no unit" : unit, lower ? "lower" : "higher");
  snprintf(npts, sizeof npts, "%d", points);
  char *const argv[] = {(char *)o->gnuplot, "-c", (char *)o->template_gp, dat, svg, title,
                        ylabel, npts, NULL};
  if (run_gnuplot(o, argv, log) != 0)
    json_object_set_new(c, "error", json_string("gnuplot failed, see charts/gnuplot.log"));
  else
    json_object_set_new(c, "svg", json_sprintf("charts/%s.svg", base));
  return c;
}

static json_t *charts_all(const report_opts *o, const json_t *bench, const run_entry *runs,
                          int n_runs)
{
  json_t *charts = json_array(), *recs = harness_records(bench);
  char dir[4400];
  snprintf(dir, sizeof dir, "%s/charts", o->dir);
  if (o->charts && harness_mkdir_p(dir) == 0) {
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) json_array_append_new(charts, chart_one(o, r, runs, n_runs));
  }
  json_decref(recs);
  return charts;
}

/* --- steps of the nightly script ---------------------------------------- */

static json_t *steps_load(const char *path)
{
  json_t *steps = json_array();
  char *text = path ? harness_slurp(path) : NULL, *save = NULL;
  for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    const char *f[5] = {"", "", "", "", ""};
    char *p = line;
    for (int k = 0; k < 5 && p; k++) {
      f[k] = p;
      p = strchr(p, '\t');
      if (p) *p++ = '\0';
    }
    json_array_append_new(steps, json_pack("{s:s,s:s,s:f,s:s,s:s}", "name", f[0], "status",
                                           f[1], "seconds", atof(f[2]), "detail", f[3],
                                           "log", f[4]));
  }
  free(text);
  return steps;
}

/* --- the subcommand ------------------------------------------------------ */

static void report_usage(FILE *out)
{
  fprintf(out,
          "usage: nzk_bench report --dir DIR [--root ROOT] [--steps FILE] [--floor F]\n"
          "                        [--drift-factor K] [--template FILE] [--no-charts]\n"
          "Writes DIR/nightly.json, summary.md, summary.html and charts/ from\n"
          "DIR/bench.json, comparing with the previous run under ROOT (default: the\n"
          "parent of DIR).  --floor is the smallest relative worsening of a ratio\n"
          "flagged as a regression (default 0.10); --drift-factor the multiple of the\n"
          "run-to-run drift flagged (default 5).  Exit 3 if a regression is flagged.\n");
}

static int report_parse(int argc, char **argv, report_opts *o)
{
  static const struct option longopts[] = {
      {"dir", 1, 0, 'd'},      {"root", 1, 0, 'r'},      {"steps", 1, 0, 's'},
      {"floor", 1, 0, 'f'},    {"template", 1, 0, 't'},  {"no-charts", 0, 0, 'n'},
      {"drift-factor", 1, 0, 'k'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': o->dir = optarg; break;
    case 'r': o->root = optarg; break;
    case 's': o->steps = optarg; break;
    case 't': o->template_gp = optarg; break;
    case 'n': o->charts = 0; break;
    case 'f':
      o->floor_rel = strtod(optarg, &end);
      if (*end || !(o->floor_rel >= 0 && o->floor_rel < 1)) {
        fprintf(stderr, "nzk_bench report: error: --floor must be in [0, 1), got '%s'\n", optarg);
        return 2;
      }
      break;
    case 'k':
      o->drift_factor = strtod(optarg, &end);
      if (*end || !(o->drift_factor >= 0)) {
        fprintf(stderr, "nzk_bench report: error: --drift-factor must be >= 0, got '%s'\n",
                optarg);
        return 2;
      }
      break;
    case 'h': report_usage(stdout); return 1;
    default: report_usage(stderr); return 2;
    }
  }
  if (!o->dir || optind < argc) {
    fprintf(stderr, "nzk_bench report: error: %s\n",
            o->dir ? "unexpected argument" : "--dir is required");
    return 2;
  }
  return 0;
}

/* Index of DIR in the history (by real path), or -1. */
static int history_find(const run_entry *runs, int n, const char *dir)
{
  char real[PATH_MAX];
  if (!realpath(dir, real)) return -1;
  for (int k = 0; k < n; k++)
    if (strcmp(runs[k].path, real) == 0) return k;
  return -1;
}

static json_t *previous_info(const run_entry *prev)
{
  if (!prev) return json_null();
  const json_t *m = json_object_get(prev->bench, "machine");
  return json_pack("{s:s,s:s,s:s}", "dir", prev->name, "started_utc",
                   harness_str(prev->bench, "started_utc"), "git_commit",
                   harness_str(m, "git_commit"));
}

/* Assemble nightly.json; *n_reg receives the number of regressions. */
static json_t *report_build(const report_opts *o, json_t *bench, int *n_reg)
{
  int n_runs = 0;
  run_entry *runs = history_load(o->root, harness_str(bench, "size"), &n_runs);
  int me = history_find(runs, n_runs, o->dir);
  if (me < 0) fprintf(stderr, "nzk_bench report: note: %s is not under %s\n", o->dir, o->root);
  const run_entry *prev = me > 0 ? &runs[me - 1] : NULL;
  harness_rule rule = {o->floor_rel, o->drift_factor};
  int n_earlier = me > 0 ? me : 0;
  const json_t **earlier = calloc((size_t)n_earlier + 1, sizeof *earlier);
  for (int k = 0; k < n_earlier; k++) earlier[k] = runs[k].bench;
  char now[32];
  harness_utc_now(now, sizeof now);

  json_t *rep = json_object();
  json_object_set_new(rep, "schema", json_string("nzk-nightly/1"));
  json_object_set_new(rep, "generated_utc", json_string(now));
  json_object_set_new(rep, "rule",
                      json_pack("{s:f,s:f,s:s}", "floor_rel", o->floor_rel, "drift_factor",
                                o->drift_factor, "text",
                                "log ratio worse by more than max(log(1 + floor), summed "
                                "log(max/min) ranges, drift_factor x run-to-run |log| "
                                "drift)"));
  json_object_set(rep, "bench", bench);
  json_object_set_new(rep, "steps", steps_load(o->steps));
  json_object_set_new(rep, "previous", previous_info(prev));
  json_object_set_new(rep, "history_runs", json_integer(me < 0 ? 0 : me + 1));
  json_object_set_new(rep, "comparison",
                      harness_compare(bench, earlier, n_earlier, &rule, n_reg));
  free(earlier);
  json_object_set_new(rep, "n_regressions", json_integer(*n_reg));
  json_object_set_new(rep, "charts", charts_all(o, bench, runs, me < 0 ? 0 : me + 1));
  history_free(runs, n_runs);
  return rep;
}

int harness_report_main(int argc, char **argv)
{
  char root[4400], steps[4400], tpl[4400], file[4400];
  snprintf(tpl, sizeof tpl, "%s/reports/nightly_history.gp", NZK_SOURCE_DIR);
  report_opts o = {NULL, NULL, NULL, tpl, NZK_GNUPLOT, 0.10, 5.0, 1};
  int status = report_parse(argc, argv, &o);
  if (status) return status == 1 ? 0 : status;
  if (!o.root) {
    snprintf(root, sizeof root, "%s/..", o.dir);
    o.root = root;
  }
  snprintf(steps, sizeof steps, "%s/steps.tsv", o.dir);
  if (!o.steps && access(steps, R_OK) == 0) o.steps = steps;

  snprintf(file, sizeof file, "%s/bench.json", o.dir);
  json_t *bench = harness_json_load(file);
  if (!bench) return 1;
  int n_reg = 0;
  json_t *rep = report_build(&o, bench, &n_reg);
  snprintf(file, sizeof file, "%s/nightly.json", o.dir);
  status = harness_json_save(file, rep);
  snprintf(file, sizeof file, "%s/summary.md", o.dir);
  if (!status) status = harness_write_markdown(file, rep);
  snprintf(file, sizeof file, "%s/summary.html", o.dir);
  if (!status) status = harness_write_html(file, rep);
  json_decref(rep);
  json_decref(bench);
  if (status) return 1;
  return n_reg ? 3 : 0;
}
