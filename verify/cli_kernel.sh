#!/bin/bash
# cli_kernel.sh: `nzk kernel` end to end.  The happy paths write the files
# README promises, with a verdict and the numbers it rests on; every bad
# input (unknown or missing option, negative scale, nu out of
# range, non-numeric CSV cell, mismatched dimension) gets exactly one error
# line, exit status 2, and leaves no output behind.
# Usage: bash cli_kernel.sh path/to/nzk
set -u
NZK=${1:?usage: cli_kernel.sh path/to/nzk}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# has FILE KEY VALUE-PREFIX: result.json holds "KEY": VALUE...
has() { grep -q "\"$2\": $3" "$1"; }
lines() { wc -l <"$1"; }
cols() { head -1 "$1" | tr , '\n' | wc -l; }

# --- happy paths ----------------------------------------------------------
out=$TMP/default
"$NZK" kernel --out "$out" >"$TMP/stdout" 2>"$TMP/stderr"
rc=$?
check "default run exits 0 (rc=$rc)" '[ $rc -eq 0 ]'
for f in estimate.csv formula.csv se.csv result.json; do
  check "default run writes $f" '[ -s "$out/$f" ]'
done
check "no .partial file left" '! ls "$out" | grep -q partial'
check "summary paragraph on stdout names the verdict" 'grep -q "Verdict: PASS" "$TMP/stdout"'
check "summary is one paragraph (one line)" '[ "$(wc -l <"$TMP/stdout")" -eq 1 ]'
check "estimate.csv is 100 x 100" \
  '[ "$(lines "$out/estimate.csv")" -eq 100 ] && [ "$(cols "$out/estimate.csv")" -eq 100 ]'
J=$out/result.json
check "result.json has verdict, statistic, threshold and parameters" \
  'has $J verdict \"pass && has $J statistic [0-9] && has $J threshold [0-9] && has $J draws 10000'

# Same options, same bits (seeded); another seed, other numbers.
"$NZK" kernel --out "$TMP/again" >/dev/null 2>&1
check "a rerun reproduces estimate.csv bit for bit" \
  'cmp -s "$out/estimate.csv" "$TMP/again/estimate.csv"'
"$NZK" kernel --seed 2 --out "$TMP/seed2" >/dev/null 2>&1
check "another seed gives another estimate" '! cmp -s "$out/estimate.csv" "$TMP/seed2/estimate.csv"'

# Every scheme with a law, a mean and a CSV feature file.
printf 'x1,x2,x3,x4\n0.3,1.7319,-0.5,0.2\n1.1,0.4,0.9,-1.3\n-0.7,0.25,0.6,0.8\n' >"$TMP/feat.csv"
for scheme in plain pair shared; do
  "$NZK" kernel --features "$TMP/feat.csv" --scheme $scheme --law laplace:scale=0.61 \
    --mean 0.2 --draws 20000 --batch 100 --out "$TMP/$scheme" >"$TMP/stdout" 2>&1
  rc=$?
  check "$scheme, Laplace, mean 0.2, CSV features: pass (rc=$rc)" \
    '[ $rc -eq 0 ] && has "$TMP/$scheme/result.json" verdict \"pass'
done
check "pair scheme tests all n^2 = 9 entries" 'has "$TMP/pair/result.json" n_tests 9'
check "shared scheme tests n(n+1)/2 = 6 entries" 'has "$TMP/shared/result.json" n_tests 6'
"$NZK" kernel --scheme pair --zeta uniform:scale=2 --n 5 --d 3 --out "$TMP/zeta" >/dev/null 2>&1
check "pair with its own zeta law runs" 'has "$TMP/zeta/result.json" zeta_law \"uniform'

# The built-in negative control: a formula 20 % too large is rejected at
# the default S (relative Frobenius error there is about 1 %): exit 1.
"$NZK" kernel --perturb 0.2 --out "$TMP/ctl" >"$TMP/stdout" 2>&1
rc=$?
check "--perturb 0.2: verdict fail, exit 1 (rc=$rc)" \
  '[ $rc -eq 1 ] && has "$TMP/ctl/result.json" verdict \"fail &&
   grep -q "Verdict: FAIL" "$TMP/stdout"'
check "--perturb: result.json records the scaling" \
  'has "$TMP/ctl/result.json" formula_scaled_by 1.2'

# Heavy tails: undefined and not testable, never pass, and the files say so.
"$NZK" kernel --law t:nu=3 --n 10 --d 4 --out "$out" >"$TMP/stdout" 2>&1
rc=$?
check "shared t(nu=3) reruns into the same folder: verdict undefined (rc=$rc)" \
  '[ $rc -eq 0 ] && has $J verdict \"undefined'
check "undefined: no formula.csv or se.csv left from the earlier run" \
  '[ ! -e "$out/formula.csv" ] && [ ! -e "$out/se.csv" ] && [ -s "$out/estimate.csv" ]'
check "undefined: statistic is null and the summary says why" \
  'has $J statistic null && grep -q "order 4" "$TMP/stdout"'
"$NZK" kernel --law t:nu=6 --n 10 --d 4 --out "$TMP/nt" >"$TMP/stdout" 2>&1
check "shared t(nu=6): not testable, formula written, no se.csv" \
  'has "$TMP/nt/result.json" verdict \"not && [ -s "$TMP/nt/formula.csv" ] &&
   [ ! -e "$TMP/nt/se.csv" ]'
"$NZK" kernel --scheme plain --law t:nu=3 --n 10 --d 4 --out "$TMP/nt2" >/dev/null 2>&1
check "plain t(nu=3): not testable" 'has "$TMP/nt2/result.json" verdict \"not.testable'

# Below S_min = 1000 draws the z-test's normal approximation is not valid
# (true formulas were rejected for 2 of 40 seeds at S = 100, 8 of 40 at
# S = 20): the verdict is "not testable", even for a wrong formula; at
# S_min the test runs and the true formula passes.
for S in 20 100 999; do
  "$NZK" kernel --draws $S --perturb 0.5 --out "$TMP/small" >"$TMP/stdout" 2>&1
  rc=$?
  check "S = $S: not testable, too few draws (rc=$rc)" \
    '[ $rc -eq 0 ] && has "$TMP/small/result.json" verdict \"not.testable &&
     grep -q "too few draws for the normal approximation" "$TMP/small/result.json" &&
     grep -q "S_min = 1000" "$TMP/stdout"'
done
for scheme in plain shared; do
  "$NZK" kernel --draws 1000 --scheme $scheme --out "$TMP/smin" >/dev/null 2>&1
  rc=$?
  check "S = S_min, $scheme: the z-test runs and passes (rc=$rc)" \
    '[ $rc -eq 0 ] && has "$TMP/smin/result.json" verdict \"pass'
done

# Seeds: NZK_SEED outside [0, 2^63-1] is ignored with one warning line; the
# largest seed is stored as a JSON integer and --seed accepts it back.
for bad_seed in -1 18446744073709551615 12x; do
  NZK_SEED=$bad_seed "$NZK" kernel --n 5 --d 3 --out "$TMP/sd" >/dev/null 2>"$TMP/stderr"
  rc=$?
  check "NZK_SEED=$bad_seed: one warning, default seed 1 recorded (rc=$rc)" \
    '[ $rc -eq 0 ] && [ "$(lines "$TMP/stderr")" -eq 1 ] && grep -q "NZK_SEED" "$TMP/stderr" &&
     has "$TMP/sd/result.json" seed "1,"'
done
NZK_SEED=9223372036854775807 "$NZK" kernel --n 5 --d 3 --out "$TMP/sd" >/dev/null 2>&1
seed=$(grep -o '"seed": [0-9-]*' "$TMP/sd/result.json" | awk '{print $2}')
"$NZK" kernel --n 5 --d 3 --seed "$seed" --out "$TMP/sd2" >/dev/null 2>&1
check "NZK_SEED=2^63-1 is recorded as $seed and --seed repeats the run from it" \
  '[ "$seed" = 9223372036854775807 ] && cmp -s "$TMP/sd/estimate.csv" "$TMP/sd2/estimate.csv"'

"$NZK" kernel --help >"$TMP/help" 2>&1
check "--help exits 0 and lists --features" '[ $? -eq 0 ] && grep -q -- "--features" "$TMP/help"'

# --- error paths: one line on stderr, exit 2, nothing written -------------
printf '1,2,3\n4,oops,6\n' >"$TMP/badcell.csv"
printf '1,2,3\n4,5\n' >"$TMP/ragged.csv"
n_err=0
expect_error() { # name, then the arguments (the output folder is $TMP/err)
  local name=$1
  shift
  rm -rf "$TMP/err"
  "$NZK" kernel "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  local rc=$? nl
  nl=$(lines "$TMP/stderr")
  if [ $rc -eq 2 ] && [ "$nl" -eq 1 ] && [ ! -e "$TMP/err" ] && [ ! -s "$TMP/stdout" ]; then
    ok "$name: $(cat "$TMP/stderr")"
  else
    bad "$name: rc=$rc, $nl stderr lines, stdout $(wc -c <"$TMP/stdout") bytes," \
      "output folder: $(ls "$TMP/err" 2>/dev/null | tr '\n' ' ')"
  fi
  n_err=$((n_err + 1))
}
expect_error "missing --out"            --n 5
expect_error "--out without a value"    --out
expect_error "unknown option"           --out "$TMP/err" --frobnicate 3
expect_error "unexpected argument"      --out "$TMP/err" extra
expect_error "unknown scheme"           --out "$TMP/err" --scheme sideways
expect_error "unknown law"              --out "$TMP/err" --law cauchy
expect_error "negative scale"           --out "$TMP/err" --law normal:scale=-1
expect_error "zero scale"               --out "$TMP/err" --law uniform:scale=0
expect_error "scale whose kernel overflows" --out "$TMP/err" --law normal:scale=1e200
expect_error "scale whose kernel underflows" --out "$TMP/err" --law normal:scale=1e-200
expect_error "nu out of range"          --out "$TMP/err" --law t:nu=-2
expect_error "t without nu"             --out "$TMP/err" --law t:scale=2
expect_error "non-numeric law value"    --out "$TMP/err" --law laplace:scale=big
expect_error "non-numeric --mean"       --out "$TMP/err" --mean abc
expect_error "one draw"                 --out "$TMP/err" --draws 1
expect_error "negative draws"           --out "$TMP/err" --draws -5
expect_error "2^64 - 1 draws"           --out "$TMP/err" --draws 18446744073709551615
expect_error "draws above 10^9"         --out "$TMP/err" --draws 1000000001
expect_error "--seed 2^63 (not a JSON integer)" --out "$TMP/err" --seed 9223372036854775808
expect_error "--perturb -1 (formula x 0)" --out "$TMP/err" --perturb -1
expect_error "--perturb below -1"       --out "$TMP/err" --perturb -3
expect_error "zero batch"               --out "$TMP/err" --batch 0
expect_error "alpha out of (0, 1)"      --out "$TMP/err" --alpha 1.5
expect_error "non-numeric --perturb"    --out "$TMP/err" --perturb 1%
expect_error "n = 0"                    --out "$TMP/err" --n 0
expect_error "--zeta without pair"      --out "$TMP/err" --scheme plain --zeta normal
expect_error "missing CSV file"         --out "$TMP/err" --features "$TMP/none.csv"
expect_error "non-numeric CSV cell"     --out "$TMP/err" --features "$TMP/badcell.csv"
expect_error "ragged CSV row"           --out "$TMP/err" --features "$TMP/ragged.csv"
expect_error "mismatched dimension --d" --out "$TMP/err" --features "$TMP/feat.csv" --d 5
expect_error "mismatched dimension --n" --out "$TMP/err" --features "$TMP/feat.csv" --n 4
check "the error line names the cell (file:line:column)" \
  '"$NZK" kernel --out "$TMP/err" --features "$TMP/badcell.csv" 2>&1 | grep -q "badcell.csv:2:2"'

# An output path that is a file: exit 1, nothing presented as complete.
touch "$TMP/afile"
"$NZK" kernel --n 4 --d 3 --out "$TMP/afile/sub" >/dev/null 2>"$TMP/stderr"
rc=$?
check "unwritable output folder: exit 1, one error line (rc=$rc)" \
  '[ $rc -eq 1 ] && [ "$(lines "$TMP/stderr")" -eq 1 ]'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
