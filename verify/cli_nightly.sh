#!/usr/bin/env bash
# cli_nightly.sh: the nightly report at its smallest size.
#
# Runs scripts/nightly twice into a temporary root, without building and
# without ctest (this test runs inside ctest) or reproduce, and checks that
#  - the first report says it has nothing to compare with;
#  - the second compares itself with the first: names it, judges every
#    ratio against it, and charts two points of history per figure;
#  - negative control: against a fabricated previous run whose ratios are
#    100 times better, the report flags every ratio as a regression and
#    exits 3; positive control: against an exact copy of tonight's figures
#    nothing is flagged (a change of 0 is within any threshold);
#  - the run-to-run drift of earlier reports widens the threshold;
#  - bad usage fails with one line and exit 2.
# Usage: bash cli_nightly.sh path/to/nzk   (the build folder is its folder)
set -u
NZK=${1:?usage: cli_nightly.sh path/to/nzk}
BUILD=$(cd "$(dirname "$NZK")" && pwd)
SRC=${NZK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
NIGHTLY="$SRC/scripts/nightly"
HARNESS="$BUILD/bench/nzk_bench"
. "$(dirname "$0")/clilib.sh"

nightly() { # nightly OUT-FOLDER: smallest run into $T/root
  bash "$NIGHTLY" --build-dir "$BUILD" --no-build --smallest --no-ctest --no-reproduce \
    --root "$T/root" --out "$T/root/$1" 2>"$T/$1.err"
}

# Rows of the ratios table for the micro-benchmark's six ratios.
ROW='^| nzk_micro | [a-z_]*_vs_dgemm | ratio |'
rows() { grep -c "$ROW$1" "$2"; } # rows PATTERN-AFTER-PREFIX FILE

# Data lines of a chart's .dat file (comments excluded).
points() { grep -vc '^#' "$1" 2>/dev/null; }

# --- first run: nothing to compare with -------------------------------------
nightly run1
rc=$?
check "first nightly run exits 0 (got $rc)" $((rc != 0))
for f in summary.md summary.html bench.json nightly.json steps.tsv; do
  [ -s "$T/root/run1/$f" ]
  check "first run wrote $f" $?
done
grep -q "No previous run of this size to compare with" "$T/root/run1/summary.md"
check "first summary says there is nothing to compare with" $?
grep -q "| ctest | skipped | 0.0 | --no-ctest |" "$T/root/run1/summary.md"
check "skipped ctest is noted with its reason" $?

# --- second run: compares with the first ------------------------------------
nightly run2
rc=$?
# 3 (a regression) is possible here: timings at the smallest size are noisy.
check "second nightly run exits 0 or 3 (got $rc)" $((rc != 0 && rc != 3))
grep -q "Compared with the previous run run1 " "$T/root/run2/summary.md"
check "second summary names run1 as the previous run" $?
grep -q '"dir": "run1"' "$T/root/run2/nightly.json"
check "nightly.json of run2 records run1 as previous" $?
ratios=$(rows '' "$T/root/run2/summary.md")
judged=$(($(rows '.*| within noise |$' "$T/root/run2/summary.md") +
  $(rows '.*| improvement |$' "$T/root/run2/summary.md") +
  $(rows '.*| REGRESSION |$' "$T/root/run2/summary.md")))
check "every ratio of run2 judged against run1 ($judged of $ratios, need 6)" \
  $((ratios != 6 || judged != ratios))
n=$(points "$T/root/run2/charts/nzk_micro__shared_vs_dgemm.dat")
check "history chart data of run2 has 2 points (got $n)" $((n != 2))
[ -s "$T/root/run2/charts/nzk_micro__shared_vs_dgemm.svg" ] &&
  grep -q 'src="charts/nzk_micro__shared_vs_dgemm.svg"' "$T/root/run2/summary.html"
check "summary.html shows the SVG history chart" $?

# --- controls: a fabricated previous run ------------------------------------
# fabricate FACTOR IN OUT [DAY]: a copy of bench.json started on 2000-01-DAY
# (default 01) in which
# every ratio is FACTOR times better (x FACTOR if higher is better, / FACTOR
# if lower) and has no spread (min = max = median), so the regression
# threshold is set by tonight's spread alone.
fabricate() {
  awk -v f="$1" -v day="${4:-01}" '
    /^ "started_utc": / { print " \"started_utc\": \"2000-01-" day "T00:00:00Z\","; next }
    /"kind": "ratio"/ { ratio = 1 }
    /"better": "lower"/ { lower = 1 }
    ratio && /"median": / {
      match($0, /-?[0-9.]+([eE][-+]?[0-9]+)?/)
      v = sprintf("%.17g", substr($0, RSTART, RLENGTH) * (lower ? 1 / f : f))
    }
    ratio && /"(median|min|max)": / {
      match($0, /-?[0-9.]+([eE][-+]?[0-9]+)?/)
      $0 = substr($0, 1, RSTART - 1) v substr($0, RSTART + RLENGTH)
    }
    /^ *}/ { ratio = 0; lower = 0 }
    { print }' "$2" >"$3"
}

# control NAME FACTOR: run2's medians, without spread, against a fabricated
# previous run FACTOR times better.  Tonight's spread is removed too: the
# controls test the rule, and at the smallest size a ratio's own repeats
# can spread over a factor of 1000 on a loaded machine (microsecond
# timings), which rightly widens its threshold past any fixed factor.
control() {
  mkdir -p "$T/$1/prev" "$T/$1/now"
  fabricate "$2" "$T/root/run2/bench.json" "$T/$1/prev/bench.json"
  fabricate 1 "$T/root/run2/bench.json" "$T/$1/now/bench.json" 02
  "$HARNESS" report --dir "$T/$1/now" --root "$T/$1" --no-charts >/dev/null 2>&1
}

# 100x better last time, no spread on either side: every ratio is flagged.
control neg 100
rc=$?
check "negative control: ratios 100x better last time -> exit 3 (got $rc)" $((rc != 3))
flagged=$(rows '.*| REGRESSION |$' "$T/neg/now/summary.md")
check "negative control flags all 6 ratios (got $flagged)" $((flagged != 6))
grep -q "REGRESSION flagged" "$T/neg/now/summary.md"
check "negative control summary says REGRESSION flagged" $?

control pos 1
rc=$?
check "positive control: the same medians -> exit 0 (got $rc)" $((rc != 0))
same=$(rows '.*| +0.0 % |.*| within noise |$' "$T/pos/now/summary.md")
check "positive control: all 6 ratios unchanged and within noise (got $same)" $((same != 6))

# --- the run-to-run drift term ----------------------------------------------
# Tonight's figures without spread, the previous run 25 % better: the drop
# (20 %) exceeds the 10 % floor and is flagged when there is no history;
# after earlier runs that moved 25 % and 0 % (log drift = median of
# log 1.25 and 0 = 0.1116, shown as exp(0.1116) - 1 = 11.8 %; threshold
# exp(5 x 0.1116) - 1 = 74.7 %) the same drop is within noise.
drift_case() { # drift_case NAME FACTORS...: earlier runs, oldest first
  local name=$1 day=1
  shift
  mkdir -p "$T/$name/now"
  fabricate 1 "$T/root/run2/bench.json" "$T/$name/now/bench.json" 09
  for f in "$@"; do
    mkdir -p "$T/$name/e$day"
    fabricate "$f" "$T/root/run2/bench.json" "$T/$name/e$day/bench.json" "0$day"
    day=$((day + 1))
  done
  "$HARNESS" report --dir "$T/$name/now" --root "$T/$name" --no-charts >/dev/null 2>&1
}
drift_case nohist 1.25
rc=$?
flagged=$(rows '.*| -20.0 % | 0.0 % | 10.0 % | REGRESSION |$' "$T/nohist/now/summary.md")
check "drift: a 20 % drop with no history is flagged on all 6 ratios (rc $rc, got $flagged)" \
  $((rc != 3 || flagged != 6))
drift_case hist 1 1.25 1.25
rc=$?
quiet=$(rows '.*| -20.0 % | 11.8 % | 74.7 % | within noise |$' "$T/hist/now/summary.md")
check "drift: the same drop after runs moving 25 % is within noise (rc $rc, got $quiet)" \
  $((rc != 0 || quiet != 6))

# --- bad usage ----------------------------------------------------------------
bash "$NIGHTLY" --size huge >/dev/null 2>"$T/bad.err"
rc=$?
check "--size huge is refused with exit 2 and one line (got $rc)" \
  $((rc != 2 || $(wc -l <"$T/bad.err") != 1))
"$HARNESS" report --dir "$T/nowhere" >/dev/null 2>&1
rc=$?
check "report on a folder without bench.json exits 1 (got $rc)" $((rc != 1))

finish
