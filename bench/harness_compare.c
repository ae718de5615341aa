/* harness_compare.c: compares one benchmark run with the previous one and
 * decides which figures regressed.
 *
 * Regression rule (README, "Benchmarks and the nightly report").  Only
 * ratios are judged (kind "ratio": a figure divided by another figure of
 * the same run, such as the fraction of DGEMM speed), because the machine
 * is shared and its absolute speed moves with load; a ratio's numerator
 * and denominator move together.  For a ratio with previous figure P and
 * current figure C (median, min, max over repeats), everything is measured
 * on the log scale, so that "higher is better" and "lower is better" are
 * mirror images and a factor means the same thing in either direction:
 *   worsening = log(P.median / C.median)   (higher is better)
 *             = log(C.median / P.median)   (lower is better)
 *   threshold = max(log(1 + floor), ranges, factor x drift)
 *   ranges    = log(P.max / P.min) + log(C.max / C.min)
 *   drift     = median over the earlier runs of |log(m_k / m_(k-1))|, the
 *               run-to-run change of the median (needs 3 earlier runs with
 *               the figure; 0 before that).
 * The run regressed on that ratio when worsening > threshold.  Change and
 * threshold are reported as relative figures, exp(.) - 1.
 *  - Exceeding `ranges` means the two runs' min-max ranges are disjoint
 *    with room to spare: every repeat tonight is worse than every repeat
 *    of the previous run, so the drop is not repeat-to-repeat noise.  (An
 *    earlier version divided linear ranges by P.median; for a lower-is-
 *    better ratio that is far better last time, P.median is small and the
 *    threshold blew up, so real regressions went unflagged.)
 *  - `drift` is the noise between runs that the repeats of one run do not
 *    see (other jobs on the machine, CPU frequency, memory placement).  If
 *    the log medians of successive runs scattered normally with spread s,
 *    a run-to-run change would have spread sqrt(2) s and median absolute
 *    value 0.674 sqrt(2) s = 0.95 s; the default factor 5 then puts the
 *    threshold at 4.8 s = 3.4 spreads of a change, a one-sided false alarm
 *    rate near 0.04 % per ratio (more in practice: the tails are heavier
 *    and the drift is estimated from few runs).
 *  - `floor` (default 10 %) covers the first nights, before 3 earlier
 *    runs exist: on this 2-core shared machine, with repeats paired with
 *    DGEMM, the medians of BLAS-bound ratios moved 2-4 % from run to run
 *    and end-to-end ratios up to 40 % under heavy load (README).
 * An improvement is the mirror image.  Plain figures
 * are listed with their change, verdict "info", never flagged. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The DGEMM reference of the run, as two records of bench "harness". */
static void add_dgemm_records(const json_t *bench, json_t *out)
{
  const json_t *dg = json_object_get(bench, "dgemm");
  const char *when[2] = {"start", "end"};
  for (int k = 0; dg && k < 2; k++) {
    const json_t *s = json_object_get(dg, when[k]);
    if (!s) continue;
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:s}", "bench", "harness",
                          "figure", k ? "dgemm_end_gflops" : "dgemm_start_gflops", "unit",
                          "GFLOP/s", "kind", "figure", "better", "higher", "median",
                          json_object_get(s, "median"), "min", json_object_get(s, "min"),
                          "max", json_object_get(s, "max"), "repeats",
                          json_object_get(s, "repeats"), "params", "");
    if (!r) continue;
    json_object_set_new(r, "params", json_sprintf("n=%d", (int)harness_num(dg, "n")));
    json_object_set_new(r, "key", json_sprintf("harness/%s", harness_str(r, "figure")));
    json_array_append_new(out, r);
  }
}

json_t *harness_records(const json_t *bench)
{
  json_t *out = json_array();
  add_dgemm_records(bench, out);
  size_t i, j;
  const json_t *d, *r;
  json_array_foreach(json_object_get(bench, "drivers"), i, d)
  {
    json_array_foreach(json_object_get(d, "records"), j, r)
    {
      json_t *c = json_deep_copy(r);
      json_object_set_new(c, "key", json_sprintf("%s/%s", harness_str(r, "bench"),
                                                 harness_str(r, "figure")));
      json_array_append_new(out, c);
    }
  }
  return out;
}

static const json_t *find_key(const json_t *recs, const char *key)
{
  size_t i;
  const json_t *r;
  json_array_foreach(recs, i, r) if (strcmp(harness_str(r, "key"), key) == 0) return r;
  return NULL;
}

static json_t *stat_of(const json_t *r)
{
  return json_pack("{s:O,s:O,s:O,s:O}", "median", json_object_get(r, "median"), "min",
                   json_object_get(r, "min"), "max", json_object_get(r, "max"), "repeats",
                   json_object_get(r, "repeats"));
}

/* Median of |log(m_k / m_(k-1))| over consecutive medians of `key`
 * (same params) in the earlier runs hist[0..n-1]; 0 with fewer than 3. */
static double history_drift(json_t *const *hist, int n, const json_t *c)
{
  double prev = NAN, d[256];
  int nd = 0;
  for (int k = 0; k < n && nd < 256; k++) {
    const json_t *r = find_key(hist[k], harness_str(c, "key"));
    if (!r || strcmp(harness_str(r, "params"), harness_str(c, "params")) != 0) continue;
    double m = harness_num(r, "median");
    if (isfinite(prev) && prev > 0 && isfinite(m) && m > 0) d[nd++] = fabs(log(m / prev));
    prev = m;
  }
  if (nd < 2) return 0.0;
  for (int i = 1; i < nd; i++) /* insertion sort: nd is small */
    for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
      double t = d[j];
      d[j] = d[j - 1], d[j - 1] = t;
    }
  return nd % 2 ? d[nd / 2] : 0.5 * (d[nd / 2 - 1] + d[nd / 2]);
}

/* Signed relative improvement, threshold and verdict of one figure. */
static const char *judge(const json_t *cur, const json_t *prev, double drift,
                         const harness_rule *rule, double *change, double *threshold)
{
  double pm = harness_num(prev, "median"), cm = harness_num(cur, "median");
  double pmin = harness_num(prev, "min"), pmax = harness_num(prev, "max");
  double cmin = harness_num(cur, "min"), cmax = harness_num(cur, "max");
  int lower = strcmp(harness_str(cur, "better"), "lower") == 0;
  *change = *threshold = NAN;
  if (!(pm > 0 && cm > 0 && pmin > 0 && cmin > 0 && pmax >= pmin && cmax >= cmin))
    return "not comparable";
  double worse = lower ? log(cm / pm) : log(pm / cm);
  double ranges = log(pmax / pmin) + log(cmax / cmin);
  double limit = fmax(fmax(log1p(rule->floor_rel), ranges), rule->drift_factor * drift);
  *change = expm1(-worse) + 0.0; /* + 0.0: no "-0.0 %" for an unchanged figure */
  *threshold = expm1(limit);
  if (!isfinite(*change) || !isfinite(*threshold)) return "not comparable";
  if (strcmp(harness_str(cur, "kind"), "ratio") != 0) return "info";
  if (worse > limit) return "regression";
  if (-worse > limit) return "improvement";
  return "within noise";
}

/* One comparison row for the current record `c`; the previous run is
 * hist[n - 1] (none when n == 0). */
static json_t *compare_row(const json_t *c, json_t *const *hist, int n,
                           const harness_rule *rule, int *n_regressions)
{
  static const char *copied[] = {"key", "bench", "figure", "unit", "kind", "better", "params"};
  const json_t *p = n ? find_key(hist[n - 1], harness_str(c, "key")) : NULL;
  json_t *row = json_object();
  for (size_t k = 0; k < sizeof copied / sizeof copied[0]; k++)
    json_object_set(row, copied[k], json_object_get(c, copied[k]));
  json_object_set_new(row, "cur", stat_of(c));
  json_object_set_new(row, "prev", p ? stat_of(p) : json_null());

  double change = NAN, threshold = NAN, drift = history_drift(hist, n, c);
  const char *verdict = "new";
  if (p && strcmp(harness_str(p, "params"), harness_str(c, "params")) != 0)
    verdict = "params changed";
  else if (p)
    verdict = judge(c, p, drift, rule, &change, &threshold);
  if (strcmp(verdict, "regression") == 0) (*n_regressions)++;
  json_object_set_new(row, "change_rel", isfinite(change) ? json_real(change) : json_null());
  json_object_set_new(row, "threshold_rel",
                      isfinite(threshold) ? json_real(threshold) : json_null());
  json_object_set_new(row, "drift_rel", json_real(expm1(drift)));
  json_object_set_new(row, "verdict", json_string(verdict));
  return row;
}

/* A figure of the previous run that is missing tonight is news too. */
static json_t *missing_row(const json_t *r)
{
  json_t *row = json_pack("{s:O,s:O,s:O,s:O,s:O,s:s,s:o,s:o}", "key", json_object_get(r, "key"),
                          "bench", json_object_get(r, "bench"), "figure",
                          json_object_get(r, "figure"), "unit", json_object_get(r, "unit"),
                          "kind", json_object_get(r, "kind"), "verdict", "missing", "cur",
                          json_null(), "prev", stat_of(r));
  if (row) json_object_set(row, "params", json_object_get(r, "params"));
  return row;
}

json_t *harness_compare(const json_t *cur, const json_t *const *earlier, int n_earlier,
                        const harness_rule *rule, int *n_regressions)
{
  json_t *rows = json_array(), *crec = harness_records(cur);
  json_t **hist = calloc((size_t)n_earlier + 1, sizeof *hist);
  for (int k = 0; k < n_earlier; k++) hist[k] = harness_records(earlier[k]);
  size_t i;
  json_t *r;
  *n_regressions = 0;
  json_array_foreach(crec, i, r)
      json_array_append_new(rows, compare_row(r, hist, n_earlier, rule, n_regressions));
  if (n_earlier) {
    json_array_foreach(hist[n_earlier - 1], i, r) if (!find_key(crec, harness_str(r, "key")))
        json_array_append_new(rows, missing_row(r));
  }
  for (int k = 0; k < n_earlier; k++) json_decref(hist[k]);
  free(hist);
  json_decref(crec);
  return rows;
}
