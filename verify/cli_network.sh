#!/usr/bin/env bash
# cli_network.sh: `nzk network`, happy paths and error paths.
#
#  - a small full-vs-linearized run writes trajectory.csv (one row per
#    record step), f_<method>_<model>.csv, kernel_<method>_start/end.csv and
#    summary.json (written last); at step 0 the gap and the drift are 0;
#  - the FFN synthetic preset (DESIGN.md section 5) at reduced size: the
#    paper linearization with normalised rows trained alone, and kernel GD
#    with its kernel.  Numbers: FO on a model linear in theta is exactly
#    kernel GD with the NTK, so their losses agree to 1e-9 relative at
#    every record; the linearization's drift is exactly 0; the NTK of
#    normalised rows has unit diagonal;
#  - the width sweep at a tiny size writes its tables, with a row per run;
#  - bad architectures and bad input (zero width, unknown activation,
#    output width not 1, input width not matching the CSV, unknown
#    linearization or method, ...): one line on stderr, exit 2, nothing
#    written; divergence: exit 1, one line naming the step, nothing written.
# Usage: bash cli_network.sh path/to/nzk
set -u
NZK=${1:?usage: cli_network.sh path/to/nzk}
. "$(dirname "$0")/clilib.sh"

# --- happy path: 2-16-16-1 tanh, NTK parametrisation, three methods --------
O="$T/run"
"$NZK" network --out "$O" --widths 2,16,16,1 --activation tanh --param ntk --n 30 \
  --steps 200 --record-every 50 --methods fo,plain,shared >"$T/out" 2>"$T/err"
rc=$?
check "happy path exits 0 (got $rc: $(head -1 "$T/err"))" "$rc"
for f in trajectory.csv summary.json f_fo_full.csv f_fo_lin.csv f_plain_full.csv \
         f_shared_lin.csv kernel_fo_start.csv kernel_shared_end.csv; do
  [ -s "$O/$f" ]
  check "wrote $f" $?
done
want="step"
for m in fo plain shared; do want="$want,${m}_loss_full,${m}_loss_lin,${m}_gap,${m}_drift"; done
[ "$(head -1 "$O/trajectory.csv")" = "$want" ]
check "trajectory.csv header names every method and measure" $?
[ "$(wc -l <"$O/trajectory.csv")" -eq 6 ]
check "trajectory.csv has rows for steps 0,50,...,200 (got $(wc -l <"$O/trajectory.csv") lines)" $?
awk -F, 'NR == 2 { exit !($1 == 0 && $4 == 0 && $5 == 0 && $8 == 0 && $9 == 0) }' \
  "$O/trajectory.csv"
check "at step 0 the gap and the drift are 0" $?
awk -F, 'NR == 6 { exit !($4 > 0 && $5 > 0 && $8 > 0 && $9 > 0) }' "$O/trajectory.csv"
check "at the end the gap and the drift are positive" $?
[ "$(head -1 "$O/f_fo_full.csv")" = "i,y,t0,t50,t100,t150,t200" ]
check "f_fo_full.csv columns are the record steps" $?
[ "$(wc -l <"$O/kernel_fo_start.csv")" -eq 30 ]
check "kernel_fo_start.csv is 30 x 30" $?
grep -q '"network": "2-16-16-1 tanh ntk"' "$O/summary.json" && grep -q '"p": 337' "$O/summary.json"
check "summary.json names the network and p = 337" $?
[ "$(wc -l <"$T/out")" -eq 1 ] && grep -q "^T4, network 2-16-16-1 tanh ntk" "$T/out" &&
  grep -q "Results in $O/" "$T/out"
check "success prints a one-paragraph summary ($(head -c 80 "$T/out"))" $?

# a rerun into the same folder with fewer methods leaves no stale file
"$NZK" network --out "$O" --widths 2,16,16,1 --n 30 --steps 20 --methods fo >/dev/null 2>&1
check "rerun with one method exits 0" $?
[ -z "$(ls "$O" | grep -e plain -e shared)" ] && [ -s "$O/f_fo_full.csv" ]
check "rerun removed the previous run's plain and shared files ($(ls "$O" | tr '\n' ' '))" $?

# plain's matched step eta / E z^2 needs only the 2nd moment: t(3) is fine
"$NZK" network --out "$T/t3" --widths 2,8,1 --n 20 --steps 20 --methods fo,plain \
  --law t:nu=3 >/dev/null 2>"$T/err"
rc=$?
check "fo,plain under t(3) directions trains (rc $rc: $(head -1 "$T/err"))" "$rc"

# --- the FFN synthetic preset, reduced --------------------------------------
O="$T/ffn"
"$NZK" network --preset ffn-synthetic --out "$O" --steps 800 --mc-draws 2000 \
  --record-every 100 >"$T/out" 2>"$T/err"
rc=$?
check "FFN synthetic preset exits 0 (got $rc: $(head -1 "$T/err"))" "$rc"
grep -q '"network": "2-5-5-1 relu standard"' "$O/summary.json" && \
  grep -q '"n": 150' "$O/summary.json" && grep -q '"p": 51' "$O/summary.json"
check "preset: 2-5-5-1 ReLU, n = 150, p = 51" $?
[ "$(head -1 "$O/trajectory.csv")" = \
  "step,fo_loss_lin,fo_drift,fo_loss_kgd,shared_loss_lin,shared_drift,shared_loss_kgd" ]
check "preset trains the linearization alone, with kernel GD" $?
awk -F, 'NR > 1 { d = $2 - $4; if (d < 0) d = -d; if (d > 1e-9 * $4) bad = 1; if ($3 != 0) bad = 1 }
         END { exit bad }' "$O/trajectory.csv"
check "FO in parameter space = kernel GD with the NTK (1e-9 rel.), drift 0" $?
awk -F, 'NR == 10 { exit !($5 < 0.5 * $2) }' "$O/trajectory.csv"
check "shared ZO at eta 1e-3 trains faster than FO (the (p+2) kernel factor)" $?
awk -F, '{ d = $NR - 1; if (d < 0) d = -d; if (d > 1e-12) bad = 1 } END { exit bad }' \
  "$O/kernel_fo_start.csv"
check "normalised rows: the NTK has unit diagonal" $?

# --- the width sweep, tiny ---------------------------------------------------
O="$T/sweep"
"$NZK" network --sweep-width --out "$O" --sweep-widths 8,16,32 --seeds 2 --steps 30 \
  --params ntk --n 12 >"$T/out" 2>"$T/err"
rc=$?
check "sweep exits 0 (got $rc: $(head -1 "$T/err"))" "$rc"
for f in sweep.csv sweep_fit.csv gap_ntk.csv drift_ntk.csv summary.json; do
  [ -s "$O/$f" ]
  check "sweep wrote $f" $?
done
[ "$(wc -l <"$O/sweep.csv")" -eq 25 ]
check "sweep.csv: 3 widths x 2 seeds x 4 methods rows (got $(wc -l <"$O/sweep.csv") lines)" $?
[ "$(head -1 "$O/drift_ntk.csv")" = "width,fo,plain,pair,shared" ]
check "drift_ntk.csv: width, then one column per method" $?
! grep -qi nan "$O"/*.csv
check "no NaN in any sweep CSV" $?
[ "$(wc -l <"$T/out")" -eq 1 ] && grep -q "^T4 width sweep: 24 runs" "$T/out"
check "sweep prints a one-paragraph summary ($(head -c 60 "$T/out"))" $?

# --- errors: one line on stderr, exit 2, nothing written ---------------------
printf 'y,a,b\n1,0.5,0.2\n2,0.1,0.3\n3,0.7,0.9\n' >"$T/data.csv"
expect_usage() { # expect_usage DESCRIPTION ARGS...
  local what=$1
  shift
  rm -rf "$T/bad"
  "$NZK" network --out "$T/bad" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ -z "$(ls -A "$T/bad" 2>/dev/null)" ]
  check "$what: exit 2, one line, nothing written (rc $rc: $(head -1 "$T/err"))" $?
}
expect_usage "zero width" --widths 2,0,1
expect_usage "unknown activation" --activation sigmoid
expect_usage "output width 3" --widths 2,4,3
expect_usage "input width 3 on a 2-feature CSV" --csv "$T/data.csv" --widths 3,4,1
expect_usage "unknown parametrisation" --param mup
expect_usage "unknown linearization" --linearize taylor
expect_usage "training a linearization that does not exist" --linearize none --train lin
expect_usage "unknown method" --methods fo,adam
expect_usage "negative eta" --eta -1
expect_usage "zero sweep width" --sweep-width --sweep-widths 16,0
expect_usage "unknown option" --bogus
expect_usage "--sweep-widths without --sweep-width" --sweep-widths 4,8
expect_usage "--depth without --sweep-width" --depth 3
expect_usage "--seeds without --sweep-width" --seeds 2
expect_usage "a sweep over one width" --sweep-width --sweep-widths 4
expect_usage "a sweep over one width repeated" --sweep-width --sweep-widths 4,4
expect_usage "shared with t(3) directions (no 4th moment)" --methods fo,shared --law t:nu=3
expect_usage "matched step sizes with mean-shifted directions" --methods plain \
  --law normal:mean=0.5
expect_usage "missing value" --steps
rm -rf "$T/bad"
"$NZK" network --widths 2,4,1 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ]
check "missing --out: exit 2, one line" $?

: >"$T/afile"
"$NZK" network --out "$T/afile/sub" --widths 2,4,1 --steps 5 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ]
check "unwritable --out (under a file): exit 1 like every command, one line (rc $rc)" $?

O="$T/csvrun"
"$NZK" network --out "$O" --csv "$T/data.csv" --widths 2,4,1 --steps 20 >"$T/out" 2>"$T/err"
check "a CSV whose feature count matches the input width trains (exit $?)" $?

O="$T/div"
"$NZK" network --out "$O" --eta 50 --steps 100 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "diverged at step" "$T/err" && \
  [ -z "$(ls -A "$O" 2>/dev/null)" ]
check "divergence: exit 1, the step named, nothing written (rc $rc: $(head -1 "$T/err"))" $?

"$NZK" network --help >"$T/out" 2>&1
[ $? -eq 0 ] && grep -q "sweep-width" "$T/out"
check "--help describes the sweep" $?

finish
