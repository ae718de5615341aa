#!/usr/bin/env bash
# cli_train.sh: `nzk train`, happy path and every error path.
#
#  - the paper's linear setting at a small size writes loss.csv (one row
#    per step), f_<method>.csv (one row per example, a column per record
#    step), the _sd files of ZO ensembles and summary.json (written last);
#  - numbers: with the plain scheme and N(0, 1) directions the expected
#    kernel is the NTK, so FO in parameter space, kernel GD and the closed
#    form must give the same loss at every step (to 1e-9 relative);
#  - a CSV data set (target in column 0, an index column skipped);
#  - bad usage and bad input: one line on stderr, exit 2, nothing written;
#  - divergence (FO, ZO, closed form): the step is named, exit 1, and no
#    result file (in particular none full of NaNs) is left behind.
# Usage: bash cli_train.sh path/to/nzk
set -u
NZK=${1:?usage: cli_train.sh path/to/nzk}
. "$(dirname "$0")/clilib.sh"

# --- happy path: paper's degree-2 setting, 1200 steps, 3 ZO runs ------------
O="$T/run"
"$NZK" train --out "$O" --n 40 --d 2 --steps 1200 --runs 3 --scheme shared \
  --methods fo,zo,zo-best,kgd,closed,flow --best-k 10 >"$T/out" 2>"$T/err"
rc=$?
check "happy path exits 0 (got $rc)" "$rc"
for f in loss.csv summary.json f_fo.csv f_zo.csv f_zo_sd.csv f_zo-best.csv f_zo-best_sd.csv \
         f_kgd.csv f_closed.csv f_flow.csv; do
  [ -s "$O/$f" ]
  check "wrote $f" $?
done
[ "$(head -1 "$O/loss.csv")" = "step,fo,zo,zo_sd,zo-best,zo-best_sd,kgd,closed,flow" ]
check "loss.csv header names every method" $?
[ "$(wc -l <"$O/loss.csv")" -eq 1202 ]
check "loss.csv has a row per step 0..1200 (got $(wc -l <"$O/loss.csv") lines)" $?
[ "$(head -1 "$O/f_closed.csv")" = "i,y,t0,t49,t99,t199,t999,t1199" ]
check "f_closed.csv columns are the paper's record steps below 1200" $?
[ "$(wc -l <"$O/f_kgd.csv")" -eq 41 ]
check "f_kgd.csv has one row per example" $?
! grep -qi nan "$O"/*.csv
check "no NaN in any CSV" $?
# JSON fields, read with grep/awk (jq is not among the dependencies)
json_files() {
  awk '/"files": \[/ { on = 1; next } on && /\]/ { on = 0 } on { n++ } END { print n + 0 }' "$1"
}
grep -q '"n": 40,' "$O/summary.json" && grep -q '"d": 2,' "$O/summary.json" &&
  grep -q '"runs": 3,' "$O/summary.json" && [ "$(json_files "$O/summary.json")" -eq 9 ]
check "summary.json records n, d, runs and the 9 files written before it" $?
awk -F, 'NR > 1 && ($8 - $7 > 1e-9 * $7 || $7 - $8 > 1e-9 * $7) { bad = 1 } END { exit bad }' \
  "$O/loss.csv"
check "closed form = kernel GD at every step (1e-9 relative)" $?
[ -z "$(ls "$O" | grep partial)" ]
check "no .partial file left" $?

# --- numbers: plain N(0,1) kernel is the NTK, so fo = kgd = closed ------------
"$NZK" train --out "$T/ntk" --n 30 --d 3 --steps 500 --scheme plain --law normal:scale=1 \
  --methods fo,kgd,closed --eta 0.37 >/dev/null 2>&1
awk -F, 'function bad(a, b) { return a - b > 1e-9 * b || b - a > 1e-9 * b }
         NR > 1 && (bad($2, $3) || bad($2, $4)) { n++ } END { exit n > 0 }' "$T/ntk/loss.csv"
check "FO in parameter space = kernel GD = closed form with the NTK (1e-9)" $?
awk -F, 'NR == 2 { l0 = $2 } END { exit !($2 < 0.5 * l0) }' "$T/ntk/loss.csv"
check "FO loss falls (sanity of the comparison above)" $?

# --- CSV input ---------------------------------------------------------------
printf 'y,index,x0,x1\n' >"$T/d.csv"
awk 'BEGIN { for (i = 0; i < 25; i++) printf "%.6f,%d,%.6f,%.6f\n",
             1.7 * sin(i) + 0.3 * cos(i), i, sin(i), cos(i) }' >>"$T/d.csv"
"$NZK" train --out "$T/csv" --csv "$T/d.csv" --target-col 0 --feature-from 2 --steps 50 \
  --methods fo,zo >/dev/null 2>"$T/err"
rc=$?
check "CSV input exits 0 (got $rc)" "$rc"
grep -q '"n": 25,' "$T/csv/summary.json" && grep -q '"d": 2,' "$T/csv/summary.json"
check "CSV input: 25 examples, 2 features (index column skipped)" $?

# --- bad usage and input: exit 2, one line, nothing written -------------------
usage_case() { # usage_case DESCRIPTION ARGS...
  local what=$1
  shift
  rm -rf "$T/bad"
  "$NZK" train "$@" >/dev/null 2>"$T/err"
  local rc=$?
  check "$what: exit 2 (got $rc)" $((rc != 2))
  [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^nzk train: error: " "$T/err"
  check "$what: one error line ($(head -c 120 "$T/err"))" $?
  [ -z "$(ls -A "$T/bad" 2>/dev/null)" ]
  check "$what: nothing written" $?
}
printf 'y,x\n1,2\n3,abc\n' >"$T/badcell.csv"
usage_case "missing --out" --steps 5
usage_case "unknown option" --out "$T/bad" --frobnicate
usage_case "non-numeric --eta" --out "$T/bad" --eta fast
usage_case "unknown method" --out "$T/bad" --methods fo,sgd
usage_case "decreasing --record" --out "$T/bad" --record 9,3
usage_case "--record past --steps" --out "$T/bad" --steps 10 --record 3,11
usage_case "unknown scheme" --out "$T/bad" --scheme triple
usage_case "unknown law" --out "$T/bad" --law cauchy
usage_case "shared kernel of t(3) does not exist" --out "$T/bad" --law t:nu=3 --methods kgd
usage_case "missing CSV" --out "$T/bad" --csv "$T/none.csv"
usage_case "bad CSV cell" --out "$T/bad" --csv "$T/badcell.csv"
usage_case "--target-col out of range" --out "$T/bad" --csv "$T/d.csv" --target-col 9
usage_case "--runs 0" --out "$T/bad" --runs 0
usage_case "negative noise" --out "$T/bad" --noise -1
usage_case "non-positive --eta" --out "$T/bad" --eta 0
usage_case "repeated method" --out "$T/bad" --methods fo,fo
usage_case "empty method item" --out "$T/bad" --methods ,fo
usage_case "trailing comma in --methods" --out "$T/bad" --methods fo,
usage_case "--zeta-law without the pair scheme" --out "$T/bad" --scheme shared --zeta-law laplace
usage_case "--csv with a mismatched --n" --out "$T/bad" --csv "$T/d.csv" --feature-from 2 --n 5
usage_case "--csv with a mismatched --d" --out "$T/bad" --csv "$T/d.csv" --feature-from 2 --d 7
usage_case "--steps above 2^32" --out "$T/bad" --steps 5000000000
grep -q "2^32" "$T/err"
check "--steps above the limit names the 2^32 limit ($(head -c 100 "$T/err"))" $?

# --- a rerun into the same folder with fewer methods leaves no stale file ----
"$NZK" train --out "$T/rerun" --steps 20 --runs 2 --methods fo,zo,kgd >/dev/null 2>&1 &&
  "$NZK" train --out "$T/rerun" --steps 20 --methods fo >/dev/null 2>&1
check "rerun with fewer methods exits 0" $?
[ "$(cd "$T/rerun" && ls | tr '\n' ' ')" = "f_fo.csv loss.csv summary.json " ]
check "rerun leaves only its own files ($(cd "$T/rerun" && ls | tr '\n' ' '))" $?

# --- a rerun that diverges leaves none of the previous run's files ---------
"$NZK" train --out "$T/rerun" --steps 20 --eta 1e10 >/dev/null 2>&1
check "a diverging rerun exits 1" $(($? != 1))
[ -z "$(ls -A "$T/rerun")" ]
check "a diverging rerun leaves no earlier result behind ($(ls -A "$T/rerun" | tr '\n' ' '))" $?

# --- divergence: step named, exit 1, no files ----------------------------------
diverge_case() { # diverge_case METHOD ETA
  rm -rf "$T/div"
  "$NZK" train --out "$T/div" --methods "$1" --eta "$2" --steps 400 >/dev/null 2>"$T/err"
  local rc=$?
  check "$1 at eta $2 diverges: exit 1 (got $rc)" $((rc != 1))
  grep -q "diverged at step [0-9]" "$T/err"
  check "$1 divergence names the step ($(head -c 140 "$T/err"))" $?
  [ -z "$(ls -A "$T/div" 2>/dev/null)" ]
  check "$1 divergence leaves no file" $?
}
diverge_case fo 100
diverge_case zo 3
diverge_case kgd 3
diverge_case closed 3

"$NZK" train --out /proc/nzk-cannot-exist --steps 5 --methods fo >/dev/null 2>"$T/err"
rc=$?
check "unwritable --out: exit 1 with one line (got $rc: $(head -c 100 "$T/err"))" \
  $((rc != 1 || $(wc -l <"$T/err") != 1))
"$NZK" train --help >/dev/null
check "--help exits 0" $?

finish
