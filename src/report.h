/* report.h: the reporting layer of `nzk reproduce`: the results document
 * (JSON), its tables in Markdown and CSV, figures drawn by gnuplot from the
 * templates in reports/, and the static HTML page.
 *
 * The results document is the single source of every output: tables,
 * figure captions, verdicts and the text of each experiment live in it, and
 * the Markdown, CSV and HTML writers only render it.  Schema
 * "nzk-reproduce/1" (also documented in README.md):
 *
 *   { "schema": "nzk-reproduce/1", "program": "nzk-verify <version>",
 *     "mode": "quick" | "full", "seed": integer, "started": ISO-8601 UTC,
 *     "elapsed_s": number, "datasets": [ {"name", "found": bool,
 *     "source": string} ], "experiments": [ experiment ] }
 *   experiment = { "id": [a-z0-9_]+, "title", "theorems": [string],
 *     "settings": {key: number | string}, "elapsed_s": number,
 *     "compared": text, "found": text, "against_paper": [text],
 *     "metrics": {key: number | null}, "tables": [table],
 *     "figures": [ {"id", "file": path relative to the output folder,
 *     "caption"} ], "verdicts": [verdict] }
 *   table = { "id", "title", "columns": [ {"name", "unit"} ],
 *     "rows": [ [number | string | null, ...] ] }   (every row as long as
 *     "columns"; null stands for a number that does not exist)
 *   verdict = { "theorem", "check", "verdict": "pass" | "fail" |
 *     "not testable" | "undefined", "expected": same set, "ok": bool
 *     (verdict == expected; a negative control expects "fail"),
 *     "statistic", "threshold", "alpha", "n_tests", "rel_frobenius",
 *     "reason" }
 *
 * Builders borrow nothing: strings are copied into the document.  JSON
 * objects returned as `json_t *` from *_add_* functions are borrowed
 * references owned by the document. */
#ifndef NZK_REPORT_H
#define NZK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gsl/gsl_matrix.h>
#include <jansson.h>

#include "stats_check.h"

#define NZK_RESULTS_SCHEMA "nzk-reproduce/1"

/* --- results document ---------------------------------------------------- */

/* A new document (owned by the caller, json_decref to free).  `mode` is
 * "quick" or "full".  NULL after NZK_FAIL on a bad mode. */
json_t *nzk_results_new(const char *mode, uint64_t seed);
/* Record a data set that was looked for (found or not) and where. */
int nzk_results_add_dataset(json_t *doc, const char *name, int found, const char *source);
/* Append an experiment; returns it (borrowed) or NULL after NZK_FAIL when
 * the id is not [a-z0-9_]+ or already used. */
json_t *nzk_results_add_experiment(json_t *doc, const char *id, const char *title);
/* Look an experiment up by id (borrowed), NULL if absent. */
json_t *nzk_results_experiment(const json_t *doc, const char *id);

/* Text fields: key is "compared" or "found"; printf-style. */
int nzk_exp_set_text(json_t *exp, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A finding that goes against the paper (shown highlighted). */
int nzk_exp_add_against(json_t *exp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int nzk_exp_add_theorem(json_t *exp, const char *theorem);
int nzk_exp_set_setting_real(json_t *exp, const char *key, double v);
int nzk_exp_set_setting_str(json_t *exp, const char *key, const char *v);
/* A named number (null when not finite). */
int nzk_exp_set_metric(json_t *exp, const char *key, double v);
int nzk_exp_set_elapsed(json_t *exp, double seconds);
/* `file` is relative to the output folder (e.g. "fig/linear_loss.png"). */
int nzk_exp_add_figure(json_t *exp, const char *id, const char *file, const char *caption);
/* Record a check; `expected` is the verdict the check should reach (FAIL
 * for a negative control). */
int nzk_exp_add_verdict(json_t *exp, const char *theorem, const char *check,
                        const nzk_check_result *res, nzk_verdict expected);
/* Append a table built with nzk_table_new (the reference is stolen). */
int nzk_exp_add_table(json_t *exp, json_t *table);

/* Structural check of a whole document against the schema above: every
 * required key with its type, ids unique and well formed, every row as
 * long as its header, verdict names known, "ok" consistent.  Returns 0 or
 * GSL_EFAILED naming the first offending path ("experiments[2].tables[0]
 * .rows[3]: 4 cells, 5 columns"). */
int nzk_results_validate(const json_t *doc);

/* Counts over all verdicts of the document.  not_ok = untested + missed:
 * `untested` checks expected a pass or fail (fixed before the run) but came
 * out "not testable" or "undefined" (e.g. the runs diverged); `missed`
 * checks reached a decided verdict other than the expected one. */
typedef struct {
  size_t total, ok, not_ok, untested, missed, pass, fail, not_testable, undefined;
} nzk_verdict_tally;
void nzk_results_tally(const json_t *doc, nzk_verdict_tally *tally);
/* The headline sentence of a run into buf (always NUL-terminated, cut
 * with "..." if too long): "X of Y checks reached their expected verdict"
 * then, when there are any, "; K not testable: <experiment>: <check>
 * (<reason>); ..." and "; M reached another verdict: <experiment>:
 * <check>; ...", ending with a full stop. */
void nzk_results_headline(const json_t *doc, char *buf, size_t len);

/* --- tables -------------------------------------------------------------- */

/* A table with `ncols` columns; names[k] and units[k] (units may be NULL,
 * or an entry "" for a dimensionless column).  New reference. */
json_t *nzk_table_new(const char *id, const char *title, size_t ncols, const char *const *names,
                      const char *const *units);
/* Append an empty row and return it (borrowed); then add cells in order. */
json_t *nzk_table_add_row(json_t *table);
int nzk_row_real(json_t *row, double v); /* null when not finite */
int nzk_row_int(json_t *row, long long v);
int nzk_row_str(json_t *row, const char *s);

/* One table as GitHub Markdown (numbers with 4 significant digits, null as
 * "n/a") or as CSV (a header "name [unit]", numbers with 17 digits, empty
 * cell for null, strings quoted when they hold a comma or a quote). */
int nzk_table_write_md(FILE *fp, const json_t *table);
int nzk_table_write_csv(const char *path, const json_t *table);

/* Every table of the document: <dir>/tables/<experiment>_<table>.csv and
 * <dir>/tables.md (all tables, one section per experiment, with the
 * verdict summary first).  Atomic per file. */
int nzk_results_write_tables(const json_t *doc, const char *dir);

/* --- figures (gnuplot) --------------------------------------------------- */

/* Folder of the gnuplot templates, the first that exists of:
 * $NZK_REPORTS_DIR; <dir of the program>/../share/nzk/reports; the
 * configured install prefix's share/nzk/reports (CMAKE_INSTALL_FULL_DATADIR,
 * compiled in); the source tree's reports/ (compiled in); "reports". */
const char *nzk_plot_template_dir(void);

/* Whitespace-separated data file for gnuplot: a first line of quoted
 * column names (read by `columnheader`), then one row per line with 17
 * significant digits; non-finite values are written as NaN, which gnuplot
 * skips.  `names` has M->size2 entries. */
int nzk_plot_write_columns(const char *path, const char *const *names, const gsl_matrix *M);
/* A matrix for gnuplot's `matrix` format (for heatmaps). */
int nzk_plot_write_matrix(const char *path, const gsl_matrix *M);

/* Run gnuplot on reports/<tmpl>.gp with variables set by -e before the
 * script: vars is a NULL-terminated list of name, value pairs; each value
 * is passed as a gnuplot string ('value'), so templates read numbers with
 * real(...).  The template writes the PNG named by the variable `outfile`
 * (set here to `out_png`).  gnuplot's messages go to <out_png>.log.
 * Returns 0 only if gnuplot exited with status 0 and `out_png` is a PNG of
 * nonzero size; otherwise GSL_EFAILED with gnuplot's first error line.  A
 * value holding a quote or a newline is refused (GSL_EINVAL). */
int nzk_plot_run(const char *tmpl, const char *out_png, const char *const *vars);

/* 1 if the file is a complete PNG (signature first, IEND chunk last) or
 * starts with an SVG/XML opening; 0 otherwise (missing, empty, truncated). */
int nzk_plot_file_ok(const char *path);

/* --- HTML ---------------------------------------------------------------- */

/* The static page <dir>/index.html from a validated document: a summary
 * (mode, seed, time, data sets, verdict tally), then per experiment its
 * time, what was compared and found, the findings against the paper,
 * tables, figures and verdicts.  Figure paths are relative, so the folder
 * can be moved as a whole.  An inline script marks, once the page has
 * loaded, every image whose naturalWidth is 0 and writes the counts into
 * <div id="figcheck" data-total=.. data-loaded=.. data-broken=..>, which
 * scripts/check-report reads from the DOM dumped by headless Chromium. */
int nzk_html_write(const json_t *doc, const char *dir);

/* --- output folder check ------------------------------------------------- */

/* Checks a finished output folder: results.json parses and validates,
 * every figure file it names is a PNG/SVG (nzk_plot_file_ok), every table
 * has its CSV, tables.md and index.html exist, and every <img src> in the
 * page names an existing good figure, and every entry of fig/ and tables/
 * is named by the document: a figure file, a file of the figure's data
 * (fig/<figure without extension>.<anything>), or a table's CSV
 * (tables/<experiment>_<table>.csv).  Returns 0 or GSL_EFAILED with the
 * first problem. */
int nzk_results_check_dir(const char *dir);

/* Removes what an earlier `nzk reproduce` wrote into `dir`, so that a run
 * that fails leaves no old report and a run of one group leaves no other
 * group's figures: results.json, index.html, tables.md (and their
 * .partial files) in `dir`; regular files ending in .png, .svg, .png.log,
 * .dat, .est, .formula, .z or .partial in dir/fig; .csv and .csv.partial in
 * dir/tables.  Nothing else is touched (other files, subfolders, links).
 * Returns 0 (also when the folders do not exist) or GSL_EFAILED naming a
 * file that could not be removed. */
int nzk_results_clear_dir(const char *dir);

#endif
