/* harness.h: the benchmark harness `nzk_bench`, internal API.
 *
 * `nzk_bench run` runs every benchmark driver listed in bench/suite.txt at
 * one size (smallest or full), gives each the environment variable
 * NZK_BENCH_JSON so it appends its records (bench.h), measures each
 * driver's wall time and peak memory (wait4), measures a DGEMM reference
 * at the start and the end of the run, and writes one JSON document with
 * the machine's facts and every record (schema below).
 *
 * `nzk_bench report` turns the JSON of one run (a nightly folder) into
 * summary.md, summary.html, nightly.json and gnuplot charts of each
 * figure's history across the sibling nightly folders, and compares the
 * run with the previous one of the same size (regression rule in
 * harness_compare.c and README).
 *
 * bench.json (schema "nzk-bench/1"):
 *   {"schema", "size", "started_utc", "finished_utc", "wall_s",
 *    "machine": {cpu_model, cores_online, mem_total_bytes, os,
 *                openblas_config, openblas_core, openblas_threads,
 *                compiler, build_type, git_commit, git_dirty},
 *    "dgemm": {"n", "start": stat, "end": stat}   (GFLOP/s)
 *    "drivers": [{"driver", "args": [..], "status", "exit_code",
 *                 "wall_s", "user_s", "sys_s", "peak_rss_bytes",
 *                 "log", "records": [record...], "errors": [..]}]}
 * where stat = {median, min, max, repeats} and a record is bench.h's. */
#ifndef NZK_HARNESS_H
#define NZK_HARNESS_H

#include <stdio.h>
#include <jansson.h>

#define HARNESS_SCHEMA "nzk-bench/1"

/* Subcommands; argv[0] is the subcommand name.  Exit 0 on success, 1 on
 * failure, 2 on bad usage; `report` exits 3 when it flags a regression. */
int harness_run_main(int argc, char **argv);
int harness_report_main(int argc, char **argv);

/* --- small shared helpers (harness_util.c) ------------------------------ */

/* "2026-03-21T02:00:00Z" for now, UTC. */
void harness_utc_now(char *buf, size_t len);
/* Read a whole text file into a malloc'd string (NULL on failure). */
char *harness_slurp(const char *path);
/* Load a JSON file; NULL with a one-line reason on stderr. */
json_t *harness_json_load(const char *path);
/* Write `doc` atomically (path.partial then rename); 0 or -1. */
int harness_json_save(const char *path, const json_t *doc);
/* Number from a JSON value (integer or real); NAN if absent or null. */
double harness_num(const json_t *obj, const char *key);
/* String member or "" if absent. */
const char *harness_str(const json_t *obj, const char *key);
/* Write `s` with HTML's special characters escaped. */
void harness_html_escape(FILE *fp, const char *s);
/* Create a directory and its parents; 0 if it exists. */
int harness_mkdir_p(const char *dir);

/* --- comparison (harness_compare.c) ------------------------------------- */

/* Settings of the regression rule (harness_compare.c). */
typedef struct {
  double floor_rel;    /* smallest relative worsening ever flagged */
  double drift_factor; /* multiple of the run-to-run drift flagged */
} harness_rule;

/* Compare every record of `cur` (a bench.json) with the same record
 * (same bench, figure and params) of the previous run, earlier[n - 1];
 * earlier[0..n-1] are the runs before `cur`, oldest first (n may be 0),
 * used for the run-to-run drift.  Returns a JSON array of rows:
 *   {"key", "bench", "figure", "unit", "kind", "better", "params",
 *    "cur": stat, "prev": stat or null, "change_rel", "threshold_rel",
 *    "drift_rel", "verdict"}
 * verdict is "regression", "improvement", "within noise" (ratios),
 * "info" (plain figures, never flagged), "new", "params changed" or
 * "missing" (in the previous run, not in this one).
 * *n_regressions counts the "regression" rows. */
json_t *harness_compare(const json_t *cur, const json_t *const *earlier, int n_earlier,
                        const harness_rule *rule, int *n_regressions);

/* Every record of a bench.json, flattened: array of records each with an
 * added "key" = "bench/figure" (borrowed values are copied). */
json_t *harness_records(const json_t *bench);

/* --- report writers (harness_write.c) ----------------------------------- */

/* nightly.json-like document {"bench", "steps", "previous", "comparison",
 * "n_regressions", "charts"} rendered as Markdown or HTML into `dir`. */
int harness_write_markdown(const char *path, const json_t *report);
int harness_write_html(const char *path, const json_t *report);

#endif
