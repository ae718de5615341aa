# clilib.sh: the harness shared by verify/cli_*.sh tests that check exit
# statuses.  Sourced, not run (its name keeps it out of the cli_*.sh glob).
# Gives $T, a temporary folder removed on exit; check DESCRIPTION STATUS,
# which counts a PASS when STATUS is 0 and a FAIL otherwise; and finish,
# which prints the "N passed, N failed" line and returns non-zero on any
# failure.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0

check() { # check DESCRIPTION EXIT-STATUS-OF-CONDITION
  if [ "$2" = 0 ]; then
    echo "PASS: $1"
    pass=$((pass + 1))
  else
    echo "FAIL: $1"
    fail=$((fail + 1))
  fi
}

finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
