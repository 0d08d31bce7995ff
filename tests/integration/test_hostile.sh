#!/usr/bin/env bash
# Hostile input (README "What survives what"): every case exits with status 2
# and a message that names what is wrong, and touches nothing: no output
# file, no directory, no lock file, an existing output unchanged. Then the
# disk-full cases (root only: a small tmpfs): a failed create names the OS
# error, never crashes, and --force leaves the old file intact.
. "$(dirname "$0")/lib.sh"

SMALL=tests/data/sweeps/small.yaml
cd_tmp=$TMP/w
mkdir -p "$cd_tmp"
cp "$SMALL" "$cd_tmp/spec.yaml"
"$NM" run "$SMALL" -o "$cd_tmp/keep.h5" --quiet >/dev/null 2>&1
mkfifo "$cd_tmp/fifo"
printf 'kernel: probe\ngrid: {x: [1, 2]}\n' | iconv -f UTF-8 -t UTF-16 >"$cd_tmp/utf16.yaml"
printf 'kernel: probe\ngrid: {x: [1, \0002]}\n' >"$cd_tmp/nul.yaml"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$cd_tmp/huge.yaml"
long=$(printf 'd/%.0s' $(seq 24))$(head -c 300 /dev/zero | tr '\0' a).h5
longdir=$(head -c 300 /dev/zero | tr '\0' b)/out.h5
# plan and run on a legal grid of 10^12 tasks
cat >"$cd_tmp/big.yaml" <<'YAML'
kernel: probe
grid:
  x: {from: 0, to: 1, num: 10000}
  n: {from: 1, to: 10000, step: 1}
  seed: {from: 0, to: 9999, step: 1}
YAML

listing() { (cd "$cd_tmp" && find . | sort && sha256sum keep.h5 spec.yaml); }
before=$(listing)

# hostile NAME EXPECTED-MESSAGE ARGS...: status 2, message, nothing touched.
tried=0 held=0
hostile() {
    local name=$1 msg=$2; shift 2
    tried=$((tried + 1))
    (cd "$cd_tmp" && timeout 60 "$NM" "$@") >"$TMP/out" 2>&1
    local rc=$? ok=1
    [ $rc -eq 2 ] || { ok=0; fail "hostile: $name: exit status 2" "got $rc" "$(tail -3 "$TMP/out")"; }
    grep -qF -- "$msg" "$TMP/out" || { ok=0; fail "hostile: $name: message" "$(tail -3 "$TMP/out")"; }
    grep -q "AddressSanitizer\|runtime error" "$TMP/out" && { ok=0; fail "hostile: $name: sanitizer report"; }
    [ "$(listing)" = "$before" ] || { ok=0; fail "hostile: $name: touches nothing" "$(diff <(echo "$before") <(listing))"; }
    [ $ok = 1 ] && { held=$((held + 1)); pass "hostile: $name"; }
}
S=spec.yaml
hostile "-o empty" "-o: empty file name" run $S -o ""
hostile "-o with a trailing slash" "not a file name (ends with '/')" run $S -o out.h5/
hostile "-o ." "not a file name" run $S -o .
hostile "-o an existing directory" "a directory, not a result file" run $S -o /tmp --force
hostile "-o over-long (24 levels)" "more than this system allows" run $S -o "$long"
hostile "-o with an over-long directory name" "more than this system allows" run $S -o "$longdir"
hostile "--force onto the spec itself" "the sweep file itself" run $S -o spec.yaml --force
hostile "--force onto the spec by another path" "the sweep file itself" run $S -o ./../w/spec.yaml --force
hostile "--force onto a FIFO" "a FIFO, not a result file" run $S -o fifo --force
hostile "--force onto a device" "a character device, not a result file" run $S -o /dev/null --force
hostile "--resume of a FIFO" "a FIFO, not a result file" run $S -o fifo --resume
hostile "--resume of a device" "a character device" run $S -o /dev/zero --resume
hostile "run on an existing file without --force" "keep.h5 exists" run $S -o keep.h5
hostile "spec: a directory" "cannot read /tmp: Is a directory" run /tmp -o x.h5
hostile "spec: a directory (plan)" "cannot read /tmp: Is a directory" plan /tmp
hostile "spec: a FIFO" "not a regular file (a FIFO)" run fifo -o x.h5
hostile "spec: a FIFO (plan)" "not a regular file (a FIFO)" plan fifo
hostile "spec: /dev/zero (plan)" "not a regular file (a character device)" plan /dev/zero
hostile "spec: /dev/zero" "not a regular file (a character device)" run /dev/zero -o x.h5
hostile "spec: /dev/stdin" "cannot read /dev/stdin" plan /dev/stdin
hostile "spec: a /proc file" "/proc/self/status:1:1: Name: unknown top-level key" run /proc/self/status -o x.h5
hostile "spec: larger than the limit" "more than the 16777216" plan huge.yaml
hostile "spec: UTF-16" "utf16.yaml:1:1: the file starts with a UTF-16" run utf16.yaml -o x.h5
hostile "spec: a NUL byte" "nul.yaml:2:15: NUL byte" run nul.yaml -o x.h5
hostile "spec: a NUL byte (plan)" "nul.yaml:2:15: NUL byte" plan nul.yaml
hostile "spec: missing" "cannot read nope.yaml: No such file or directory" run nope.yaml -o x.h5
echo "hostile inputs: $held of $tried held"

# plan on a legal 10^12-task grid: an estimate from a sample, in seconds.
t0=$(date +%s.%N)
(cd "$cd_tmp" && timeout 60 "$NM" plan big.yaml) >"$TMP/out" 2>&1; rc=$?
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
[ $rc -eq 0 ] && grep -q "tasks:      1000000000000" "$TMP/out" &&
    grep -q "estimated from 1000000 tasks drawn at random" "$TMP/out" &&
    pass "plan of 10^12 tasks estimates the cost from a sample ($secs s)" ||
    fail "plan of 10^12 tasks estimates the cost from a sample" "status $rc" "$(tail -4 "$TMP/out")"

# ---- Memory per rank bounded for any row size ----
# Rows of 2.4 MB (length 300000): a rank may buffer 8 MiB, counting each row
# twice (buffer and the checkpoint's copy), so every row is checkpointed
# alone, and the peak memory does not grow with the number of tasks.
cat >"$cd_tmp/rows.yaml" <<'YAML'
kernel: probe
fixed: {length: 300000, work: 0}
grid:
  n: {from: 0, to: 3, step: 1}
output:
  checkpoint_every: 600
YAML
peak() { # TASKS: peak resident kB of a run of that many tasks
    /usr/bin/time -f "%M" -o "$TMP/rss" "$NM" run "$cd_tmp/rows.yaml" -o "$TMP/rows.h5" --force \
        --set grid.n="{from: 0, to: $(($1 - 1)), step: 1}" >"$TMP/out" 2>&1 && cat "$TMP/rss"
}
if [ -x /usr/bin/time ]; then
    r4=$(peak 4); r16=$(peak 16)
    grep -q "16 checkpoints" "$TMP/out" && pass "huge rows: one checkpoint per row (16 tasks, 16 checkpoints)" ||
        fail "huge rows: one checkpoint per row" "$(tail -2 "$TMP/out")"
    [ -n "$r4" ] && [ -n "$r16" ] && [ $((r16 - r4)) -lt 8192 ] &&
        pass "huge rows: peak memory does not grow with the tasks (4 tasks: $r4 kB, 16: $r16 kB)" ||
        fail "huge rows: peak memory does not grow with the tasks" "4 tasks: $r4 kB, 16 tasks: $r16 kB"
else
    echo "SKIP: peak memory (no /usr/bin/time)"
fi

# ---- A full disk (root: a tmpfs of 512 KiB) ----
if [ "$(id -u)" != 0 ] || ! mkdir -p "$TMP/tfs" || ! mount -t tmpfs -o size=512k tmpfs "$TMP/tfs" 2>/dev/null; then
    echo "SKIP: full-disk cases (need root and tmpfs)"
    exit 0
fi
trap 'umount "$TMP/tfs" 2>/dev/null; rm -rf "$TMP"' EXIT
D=$TMP/tfs
expect_status "full disk: a file that fits is made" 0 "$NM" run "$SMALL" -o "$D/old.h5" --quiet
sum=$(sha256sum "$D/old.h5")
expect_status "full disk: a grid of 10^12 tasks is refused" 1 "$NM" run "$cd_tmp/big.yaml" -o "$D/big.h5"
grep -q "No space left on device (errno 28)" "$TMP/out" && pass "full disk: the refusal names the OS error" ||
    fail "full disk: the refusal names the OS error" "$(tail -3 "$TMP/out")"
expect_status "full disk: --force with a file too large fails" 1 "$NM" run "$SMALL" -o "$D/old.h5" --force \
    --set replicates=100
grep -q "No space left on device" "$TMP/out" && ! grep -q "Segmentation\|signal" "$TMP/out" &&
    pass "full disk: --force names the OS error, no crash" ||
    fail "full disk: --force names the OS error, no crash" "$(tail -5 "$TMP/out")"
[ "$(sha256sum "$D/old.h5")" = "$sum" ] && pass "full disk: --force leaves the old file intact" ||
    fail "full disk: --force leaves the old file intact"
[ -z "$(ls "$D" | grep -v '^old.h5$')" ] && pass "full disk: nothing left behind" ||
    fail "full disk: nothing left behind" "$(ls "$D")"
/usr/bin/python3 -c "import sys, xarray as xr; xr.open_dataset(sys.argv[1], engine='h5netcdf').load()" \
    "$D/old.h5" && pass "full disk: the old file still opens in xarray" ||
    fail "full disk: the old file still opens in xarray"
