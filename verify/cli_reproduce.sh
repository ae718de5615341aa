#!/bin/bash
# cli_reproduce.sh: `nzk reproduce --quick` end to end.
#
#   bash verify/cli_reproduce.sh path/to/nzk
#
# Runs the main job at quick size into a temporary folder and checks what
# a user gets: the results document (schema, verdict fields, every check at
# its expected verdict), tables.md and one CSV per table, every figure the
# page shows is an existing non-empty PNG, and `nzk reproduce --check`
# agrees.  Negative controls: the folder check must reject a deleted figure
# and a truncated results.json, and a figure not named by results.json; bad
# options (an empty --out, an unknown --only group) and an unwritable output
# folder must fail with one line and leave no results.json; a failed run
# must remove an earlier run's report, figures and tables from its folder
# (and nothing else), and an --only rerun must leave only its own outputs.
# A copy of nzk placed as <prefix>/bin/nzk must use <prefix>/share/nzk/reports
# (a broken template there makes the run fail, proving it is the one used).
# A check may miss its expected verdict only by being untestable, and then
# the summary line names it.  If Debian's chromium
# is installed, scripts/check-report renders the page and must see every
# figure load, and must fail on a copy with a broken figure; otherwise the
# browser check prints SKIP.
set -u
NZK=${1:?usage: cli_reproduce.sh path/to/nzk}
SRC=${NZK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
TMP=$(mktemp -d /tmp/nzk_cli_reproduce.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0 skip=0
ok() {
  if [ "$1" = 0 ]; then echo "PASS $2"; pass=$((pass + 1))
  else echo "FAIL $2"; fail=$((fail + 1)); fi
}
is_png() {
  [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
}

OUT=$TMP/out
start=$(date +%s)
"$NZK" reproduce --quick --out "$OUT" --no-progress >"$TMP/stdout" 2>"$TMP/stderr"
code=$?
ok $code "nzk reproduce --quick exits 0 ($(($(date +%s) - start)) s; $(head -c 300 "$TMP/stderr"))"
grep -q "checks reached their expected verdict" "$TMP/stdout"
ok $? "summary line on stdout: $(head -n 1 "$TMP/stdout")"

J=$OUT/results.json
[ -s "$J" ] && grep -q '"schema": "nzk-reproduce/1"' "$J"
ok $? "results.json exists with schema nzk-reproduce/1"
for key in '"verdict"' '"expected"' '"statistic"' '"threshold"' '"elapsed_s"' \
  '"compared"' '"found"'; do
  grep -q "$key" "$J"
  ok $? "results.json has $key fields"
done
# A check may miss its expected verdict only by being untestable (e.g. the
# image row's ZO runs diverged); then the summary line must say so.
n_ok_false=$(grep -c '"ok": false' "$J")
n_untested=$(grep -B2 '"ok": false' "$J" | grep -Ec '"verdict": "(not testable|undefined)"')
[ "$n_ok_false" = "$n_untested" ]
ok $? "no check reached a decided verdict other than expected ($n_ok_false not reached, \
$n_untested of them untested)"
if [ "$n_untested" = 0 ]; then ! grep -q "not testable: " "$TMP/stdout"
else grep -q "; $n_untested not testable: " "$TMP/stdout"; fi
ok $? "summary line names the $n_untested untested checks"
for id in kernel_t1 linear_d2 linear_d50 linear_laws_summary linear_sigma_summary acceleration; do
  grep -q "\"id\": \"$id\"" "$J"
  ok $? "experiment $id present"
done
grep -q '"theorem": "T1"' "$J" && grep -q '"theorem": "T3"' "$J"
ok $? "T1 and T3 verdicts present"

[ -s "$OUT/tables.md" ] && grep -q '^| experiment | theorem |' "$OUT/tables.md"
ok $? "tables.md with the verdict summary"
n_tables=$(grep -c '"rows": \[' "$J")
n_csv=$(ls "$OUT"/tables/*.csv 2>/dev/null | wc -l)
[ "$n_tables" -gt 0 ] && [ "$n_tables" = "$n_csv" ]
ok $? "one CSV per table ($n_csv CSV files, $n_tables tables)"

imgs=$(grep -o '<img src="[^"]*"' "$OUT/index.html" | sed 's/<img src="//; s/"$//')
n_img=0 bad=""
for f in $imgs; do
  n_img=$((n_img + 1))
  is_png "$OUT/$f" || bad="$bad $f"
done
[ "$n_img" -gt 0 ] && [ -z "$bad" ]
ok $? "every <img> of index.html is a non-empty PNG ($n_img figures)${bad:+; bad:$bad}"
[ "$n_img" = "$(grep -c '"file": "fig/' "$J")" ]
ok $? "index.html shows exactly the figures results.json lists"

"$NZK" reproduce --check "$OUT" >/dev/null 2>&1
ok $? "nzk reproduce --check accepts the folder"

# Negative controls of the folder check.
cp -r "$OUT" "$TMP/broken"
first=$(printf '%s\n' $imgs | head -n 1)
rm -f "$TMP/broken/$first"
"$NZK" reproduce --check "$TMP/broken" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -q "missing" "$TMP/err"
ok $? "--check rejects a deleted figure: $(cat "$TMP/err")"
cp "$OUT/$first" "$TMP/broken/$first"
head -c 500 "$J" >"$TMP/broken/results.json"
"$NZK" reproduce --check "$TMP/broken" >/dev/null 2>"$TMP/err"
[ $? = 1 ]
ok $? "--check rejects a truncated results.json: $(cat "$TMP/err")"

# Bad input: one line, non-zero exit, nothing that looks complete.
"$NZK" reproduce --bogus >/dev/null 2>"$TMP/err"
[ $? = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ]
ok $? "unknown option: exit 2, one line: $(cat "$TMP/err")"
(cd "$TMP" && "$NZK" reproduce --quick --no-progress --out '' >/dev/null 2>"$TMP/err")
[ $? = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && [ ! -e "$TMP/results.json" ]
ok $? "empty --out: exit 2, one line, nothing written: $(cat "$TMP/err")"
"$NZK" reproduce --quick --out >/dev/null 2>"$TMP/err"
[ $? = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ]
ok $? "--out without a value: exit 2, one line: $(cat "$TMP/err")"
"$NZK" reproduce --quick --only foo --out "$TMP/x" >/dev/null 2>"$TMP/err"
[ $? = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && [ ! -e "$TMP/x" ]
ok $? "unknown --only group: exit 2, one line, nothing written: $(cat "$TMP/err")"
"$NZK" reproduce --quick --seed 12x --out "$TMP/x" >/dev/null 2>"$TMP/err"
[ $? = 2 ] && [ ! -e "$TMP/x/results.json" ]
ok $? "bad --seed: exit 2: $(cat "$TMP/err")"
# A failing run must not leave an earlier run's report looking current.
cp -r "$OUT" "$TMP/stale"
echo mine >"$TMP/stale/notes.txt"
echo mine >"$TMP/stale/fig/notes.txt"
NZK_REPORTS_DIR=/nonexistent "$NZK" reproduce --quick --no-progress --only acceleration \
  --out "$TMP/stale" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && [ ! -e "$TMP/stale/results.json" ] && [ ! -e "$TMP/stale/index.html" ] &&
  [ -z "$(ls "$TMP"/stale/fig/*.png "$TMP"/stale/tables/*.csv 2>/dev/null)" ]
ok $? "failed run (no gnuplot templates) removes the earlier report, figures and tables: \
$(cat "$TMP/err")"
[ -s "$TMP/stale/notes.txt" ] && [ -s "$TMP/stale/fig/notes.txt" ]
ok $? "a user's own files in the folder are left alone"
"$NZK" reproduce --check "$TMP/stale" >/dev/null 2>&1
[ $? = 1 ]
ok $? "--check rejects the folder of a failed run"
# An --only rerun into a folder holding a full run: only this run's outputs.
cp -r "$OUT" "$TMP/rerun"
"$NZK" reproduce --quick --no-progress --only acceleration --out "$TMP/rerun" >/dev/null 2>&1
ok $? "--only acceleration rerun into a full run's folder exits 0"
n_png=$(ls "$TMP"/rerun/fig/*.png | wc -l)
n_csv=$(ls "$TMP"/rerun/tables/*.csv | wc -l)
[ "$n_png" = "$(grep -c '"file": "fig/' "$TMP/rerun/results.json")" ] &&
  [ "$n_csv" = "$(grep -c '"rows": \[' "$TMP/rerun/results.json")" ]
ok $? "the rerun's folder holds only its own figures and tables ($n_png PNG, $n_csv CSV)"
"$NZK" reproduce --check "$TMP/rerun" >/dev/null 2>&1
ok $? "--check accepts the rerun's folder"
cp "$OUT/$first" "$TMP/rerun/$first"
"$NZK" reproduce --check "$TMP/rerun" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -q "not named by results.json" "$TMP/err"
ok $? "--check rejects a figure left by another run: $(cat "$TMP/err")"
# An installed copy finds the templates in <prefix>/share/nzk/reports next
# to its bin/ before the source tree: a broken template there must be the
# one used (the run fails), a good copy must work.
mkdir -p "$TMP/prefix/bin" "$TMP/prefix/share/nzk/reports"
cp "$NZK" "$TMP/prefix/bin/nzk"
cp "$SRC"/reports/*.gp "$TMP/prefix/share/nzk/reports/"
(unset NZK_REPORTS_DIR; "$TMP/prefix/bin/nzk" reproduce --quick --no-progress \
  --only acceleration --out "$TMP/inst" >/dev/null 2>"$TMP/err")
ok $? "an installed copy draws with the templates in its prefix: $(cat "$TMP/err")"
echo 'this is not gnuplot' >"$TMP/prefix/share/nzk/reports/acceleration.gp"
(unset NZK_REPORTS_DIR; "$TMP/prefix/bin/nzk" reproduce --quick --no-progress \
  --only acceleration --out "$TMP/inst" >/dev/null 2>"$TMP/err")
[ $? = 1 ] && grep -q "$TMP/prefix/bin/../share/nzk/reports" "$TMP/err"
ok $? "it uses its prefix's templates before the source tree's: $(cat "$TMP/err")"
touch "$TMP/file"
"$NZK" reproduce --quick --no-progress --out "$TMP/file/sub" >/dev/null 2>"$TMP/err"
[ $? = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && [ ! -e "$TMP/file/sub/results.json" ]
ok $? "unwritable output folder: exit 1, one line, no results.json: $(cat "$TMP/err")"

# The page in a real browser.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  sh "$SRC/scripts/check-report" "$OUT" "$TMP/shot.png" >"$TMP/cr" 2>&1
  ok $? "headless chromium loads every figure: $(tail -n 1 "$TMP/cr")"
  is_png "$TMP/shot.png"
  ok $? "screenshot of the page is a PNG"
  cp -r "$OUT" "$TMP/broken2"
  printf 'not a png' >"$TMP/broken2/$first"
  sh "$SRC/scripts/check-report" "$TMP/broken2" "$TMP/shot2.png" >"$TMP/cr2" 2>&1
  [ $? = 1 ]
  ok $? "chromium check fails on a broken figure: $(tail -n 1 "$TMP/cr2")"
else
  echo "SKIP headless chromium check (chromium not installed; apt-get install chromium)"
  skip=$((skip + 1))
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
