#!/bin/bash
# cli_datasets.sh: `nzk datasets` end to end (run as: bash cli_datasets.sh path/to/nzk).
# Lists the data sets, loads a two-class set from a tiny IDX fixture written
# here (and checks the CSV values against the fixture's pixels), and checks
# that every kind of bad input ends with exit code 2, exactly one error line
# on stderr naming the file, and no output file.
set -u
NZK=${1:?usage: bash cli_datasets.sh path/to/nzk}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nzk-cli-data-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0

check() { # check <ok> <description>
  if [ "$1" = 0 ]; then echo "PASS $2"; pass=$((pass + 1)); else echo "FAIL $2"; fail=$((fail + 1)); fi
}

# IDX fixture: $1 = folder, $2 = label bytes as \ooo escapes (6 labels);
# 6 images of 2 x 2 pixels, pixel k of image i = 10 i + k.
idx_fixture() {
  mkdir -p "$1"
  { printf '\000\000\010\003\000\000\000\006\000\000\000\002\000\000\000\002'
    for i in 0 1 2 3 4 5; do for k in 0 1 2 3; do printf "\\$(printf '%03o' $((10 * i + k)))"; done; done
  } > "$1/train-images-idx3-ubyte"
  { printf '\000\000\010\001\000\000\000\006'; printf "$2"; } > "$1/train-labels-idx1-ubyte"
}

# --- listing ---------------------------------------------------------------
out=$("$NZK" datasets 2>&1); rc=$?
echo "$out" | grep -q '^mnist: ' && echo "$out" | grep -q '^fashion-mnist: ' &&
  echo "$out" | grep -q '^cifar10: ' && echo "$out" | grep -q '^tiny-imagenet: ' &&
  echo "$out" | grep -q 'looked in:'
check $((rc + $?)) "nzk datasets lists the four data sets and where it looked (exit $rc)"
"$NZK" datasets --help | grep -q 'usage: nzk datasets'
check $? "nzk datasets --help"

idx_fixture "$TMP/d/mnist" '\003\005\003\005\003\005'
out=$("$NZK" datasets --data "$TMP/d" 2>&1)
echo "$out" | grep -q "location: $TMP/d/mnist (--data)" &&
  echo "$out" | grep -q 'train 6 images 2 x 2'
check $? "--data DIR: mnist found in DIR/mnist, header read (6 images 2 x 2)"

# --- --load ----------------------------------------------------------------
"$NZK" datasets --load mnist --data "$TMP/d" --per-class 4 --resolution 2 --seed 3 \
  --out "$TMP/o/pair" 2>/dev/null
rc=$?
lines=$(wc -l < "$TMP/o/pair.csv" 2>/dev/null || echo 0)
check $(( rc != 0 || lines != 9 )) "--load writes 8 rows + header (exit $rc, $lines lines)"
head -1 "$TMP/o/pair.csv" | grep -q '^y,index,x0,x1,x2,x3$'
check $? "CSV header y,index,x0..x3"
grep -q '"dataset": "mnist"' "$TMP/o/pair.json" && grep -q '"per_class": 4' "$TMP/o/pair.json"
check $? "JSON metadata names the data set and the draw"
# 2 x 2 -> 2 x 2 is a copy: x_k = (10 index + k) / 255; label 0 rows are
# class 3 (even index), label 1 rows class 5 (odd index).
awk -F, 'NR > 1 { for (k = 0; k < 4; k++) { d = $(k + 3) - (10 * $2 + k) / 255; if (d > 1e-15 || d < -1e-15) bad++ }
                  if ($1 != $2 % 2) bad++ } END { exit bad > 0 }' "$TMP/o/pair.csv"
check $? "every row holds its image's pixels / 255 and its class label"
"$NZK" datasets --load mnist --data "$TMP/d" --per-class 4 --resolution 2 --seed 3 --out "$TMP/o/again" 2>/dev/null
cmp -s "$TMP/o/pair.csv" "$TMP/o/again.csv"
check $? "same seed, same CSV"
ls "$TMP/o" | grep -q partial
check $(( $? == 0 )) "no .partial file left"

# --- bad input: exit 2, one error line naming the file, no output ---------
bad() { # bad <description> <text expected in the error> <nzk arguments...>
  local what=$1 want=$2; shift 2
  rm -rf "$TMP/out"
  err=$("$NZK" datasets "$@" 2>&1 >/dev/null); rc=$?
  n=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" = 2 ] && [ "$n" = 1 ] && printf '%s' "$err" | grep -qF -- "$want" && [ ! -e "$TMP/out" ]; then
    check 0 "$what: exit 2, '$err'"
  else
    check 1 "$what: exit $rc, $n lines, want '$want': $err"
  fi
}
load() { echo --load "$1" --data "$2" --out "$TMP/out/p"; }

idx_fixture "$TMP/b1/mnist" '\003\005\003\005\003\005'
cp "$TMP/b1/mnist/train-labels-idx1-ubyte" "$TMP/b1/mnist/train-images-idx3-ubyte"
bad "wrong magic" "$TMP/b1/mnist/train-images-idx3-ubyte: wrong magic" $(load mnist "$TMP/b1")

idx_fixture "$TMP/b2/mnist" '\003\005\003\005\003\005'
gzip -c "$TMP/b2/mnist/train-images-idx3-ubyte" | head -c 30 > "$TMP/b2/mnist/train-images-idx3-ubyte.gz"
rm "$TMP/b2/mnist/train-images-idx3-ubyte"
bad "truncated gzip" "train-images-idx3-ubyte.gz: truncated gzip" $(load mnist "$TMP/b2")

idx_fixture "$TMP/b3/mnist" '\003\005\003\014\003\005'
bad "label out of range" "label 12 of record 3 is outside 0..9" $(load mnist "$TMP/b3")

idx_fixture "$TMP/b4/mnist" '\003\005\003\005\003\005'
head -c 30 "$TMP/b4/mnist/train-images-idx3-ubyte" > "$TMP/b4/x" && mv "$TMP/b4/x" "$TMP/b4/mnist/train-images-idx3-ubyte"
bad "file shorter than its header" "dimensions do not match" $(load mnist "$TMP/b4")

idx_fixture "$TMP/b5/mnist" '\003\003\003\003\003\003'
bad "class with no images" "has no images" $(load mnist "$TMP/b5")

mkdir -p "$TMP/t1/tiny-imagenet-200/train"
bad "missing wnids.txt" "tiny-imagenet-200/wnids.txt: cannot open" $(load tiny-imagenet "$TMP/t1")

mkdir -p "$TMP/t2/tiny-imagenet-200/train/n1/images" "$TMP/t2/tiny-imagenet-200/train/n2/images"
printf 'n1\nn2\n' > "$TMP/t2/tiny-imagenet-200/wnids.txt"
echo "not a jpeg" > "$TMP/t2/tiny-imagenet-200/train/n1/images/n1_0.JPEG"
cp "$TMP/t2/tiny-imagenet-200/train/n1/images/n1_0.JPEG" "$TMP/t2/tiny-imagenet-200/train/n2/images/n2_0.JPEG"
bad "non-JPEG file" "_0.JPEG: not a readable JPEG image: Not a JPEG file" $(load tiny-imagenet "$TMP/t2")

rm -r "$TMP/t2/tiny-imagenet-200/train/n2"
bad "class without a folder" "train/n2/images: no such folder" $(load tiny-imagenet "$TMP/t2")

mkdir -p "$TMP/c1/cifar-10-batches-bin"
head -c 3074 /dev/zero > "$TMP/c1/cifar-10-batches-bin/data_batch_1.bin"
bad "CIFAR batch of the wrong size" "data_batch_1.bin: 3074 bytes is not a whole number" $(load cifar10 "$TMP/c1")

bad "unknown data set" "unknown data set 'imagenet'" $(load imagenet "$TMP/d")
bad "--load without --out" "--load needs --out" --load mnist
bad "unknown option" "unknown option '--bogus'" --bogus
bad "--classes with one class" "--classes expects A,B" $(load mnist "$TMP/d") --classes 3
bad "bad --prep" "must be 'opencv' or 'exact'" $(load mnist "$TMP/d") --prep cubic
bad "--per-class 0" "images per class must be 1..1000000" $(load mnist "$TMP/d") --per-class 0
bad "--per-class not a number" "--per-class expects a non-negative integer" $(load mnist "$TMP/d") --per-class x

bad "--out prefix ending in /" "is a folder" $(load mnist "$TMP/d" | sed 's|/p$|/|')
bad "--out prefix ending in /." "is a folder" --load mnist --data "$TMP/d" --out "$TMP/out/."

# A failed --load removes the previous PREFIX.csv / .json (they would look
# like this run's result).
"$NZK" datasets --load mnist --data "$TMP/d" --per-class 2 --resolution 2 --out "$TMP/s/p" \
  2>/dev/null && [ -s "$TMP/s/p.csv" ] && [ -s "$TMP/s/p.json" ]
check $? "stale test: a first --load writes p.csv and p.json"
"$NZK" datasets --load mnist --data "$TMP/b3" --out "$TMP/s/p" 2>/dev/null
rc=$?
[ "$rc" = 2 ] && [ ! -e "$TMP/s/p.csv" ] && [ ! -e "$TMP/s/p.json" ]
check $? "a failed --load into the same prefix exits 2 and leaves neither file (exit $rc)"

# The fallback warning (set not under --data, found elsewhere): once.
mkdir -p "$TMP/empty"
NZK_DATA="$TMP/d" "$NZK" datasets --load mnist --data "$TMP/empty" --per-class 2 \
  --resolution 2 --out "$TMP/fb/p" >/dev/null 2>"$TMP/err"
n=$(grep -c "mnist is not under --data" "$TMP/err")
check $(( n != 1 )) "--data fallback warning printed once ($n times)"
NZK_DATA="$TMP/d" "$NZK" datasets --data "$TMP/empty" >/dev/null 2>"$TMP/err"
n=$(grep -c "^nzk: warning: mnist is not under --data" "$TMP/err")
check $(( n != 1 )) "listing: the mnist fallback warning printed once ($n times)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
