#!/usr/bin/env bash
# Fault injection at every write (README "What survives what"): an
# LD_PRELOAD shim (tests/fault/nm_fault.c) counts the writes a small run
# makes to its result file and then, run by run, kills the process with
# SIGKILL at write 1, 2, ..., N (of a first run, and of a --resume run), or
# makes write N and all later ones fail with ENOSPC. After each: the file, if
# there is one, opens in xarray, and --resume (which starts the sweep when
# there is no file) completes with the results of an uninterrupted run, bit
# for bit; a failed write exits with status 1 naming the OS error, never with
# a crash, and --force never harms the file it was to replace.
# Uses the optimised build (a sanitizer runtime cannot be preloaded after).
#
# Every write point costs a run and a resume, about a second each: `make
# check` tries every NM_FAULT_STRIDE-th write (default 5) from an offset
# drawn per run (NM_FAULT_OFFSET, printed in the log, to repeat a run), so
# that successive runs cover every write. NM_FAULT_STRIDE=1 tries each one.
. "$(dirname "$0")/lib.sh"

FNM=${NM_PLAIN:-$PWD/build/neuromic}
SP=$PWD/tests/data/sweeps/faults.yaml
RESULTS=(/value /trace /draw /tasks/status)
SHIM=$TMP/libnmfault.so
cc -shared -fPIC -O1 tests/fault/nm_fault.c -o "$SHIM" -ldl || { fail "fault injector builds"; exit 0; }

# faulty FILE AT ACTION ARGS...: a run on $TMP/FILE with the fault at write AT.
faulty() {
    local f=$1 at=$2 act=$3; shift 3
    NM_FAULT_MATCH=$f NM_FAULT_AT=$at NM_FAULT_ACTION=$act LD_PRELOAD=$SHIM \
        timeout -k 5 120 "$FNM" run "$SP" -o "$TMP/$f" --quiet "$@" >"$TMP/fault.out" 2>&1
}
# equal FILE: results bitwise equal to the reference's.
equal() {
    local d
    for d in "${RESULTS[@]}"; do
        dump_raw "$TMP/ref.h5" "$d" "$TMP/a.bin" && dump_raw "$1" "$d" "$TMP/b.bin" &&
            cmp -s "$TMP/a.bin" "$TMP/b.bin" || return 1
    done
}
# Files that must open in xarray, checked in batches by one Python process.
mkdir -p "$TMP/open"
xarray_batch() {
    [ -n "$(ls "$TMP/open")" ] || return 0
    /usr/bin/python3 - "$TMP/open" <<'PY'
import os, sys, xarray as xr
bad = []
for name in sorted(os.listdir(sys.argv[1])):
    p = os.path.join(sys.argv[1], name)
    try:
        for g in (None, "tasks", "attempts"):
            xr.open_dataset(p, engine="h5netcdf", group=g).load().close()
    except Exception as e:
        bad.append(f"{name}: {e}")
    os.remove(p)
for b in bad:
    print("XARRAY-FAIL", b)
PY
}

expect_status "reference run" 0 "$FNM" run "$SP" -o "$TMP/ref.h5" --quiet
NM_FAULT_MATCH=count.h5 NM_FAULT_COUNT=$TMP/count LD_PRELOAD=$SHIM "$FNM" run "$SP" -o "$TMP/count.h5" --quiet
total=$(awk '$2 > n { n = $2 } END { print n + 0 }' "$TMP/count")
[ "$total" -gt 20 ] && pass "a run makes $total writes to its file" || fail "counting writes" "$total"
STRIDE=${NM_FAULT_STRIDE:-5}
OFFSET=${NM_FAULT_OFFSET:-$((RANDOM % STRIDE + 1))}
echo "fault points: every ${STRIDE}th write from write $OFFSET (NM_FAULT_STRIDE, NM_FAULT_OFFSET)"
# points N: the write numbers tried out of N.
points() { seq "$OFFSET" "$STRIDE" "$1"; }

# ---- kill -9 at every write of a first run ----
tried=0 held=0 nofile=0
for n in $(points "$total"); do
    rm -f "$TMP"/k.h5*
    faulty k.h5 "$n" kill
    rc=$?
    tried=$((tried + 1))
    [ -e "$TMP/k.h5" ] && cp "$TMP/k.h5" "$TMP/open/first-$n.h5" || nofile=$((nofile + 1))
    if [ $rc -ne 137 ] && [ $rc -ne 0 ]; then
        fail "kill at write $n: killed" "status $rc" "$(tail -3 "$TMP/fault.out")"; continue
    fi
    "$FNM" run "$SP" -o "$TMP/k.h5" --resume --quiet >"$TMP/res.out" 2>&1 ||
        { fail "kill at write $n: resume" "$(tail -3 "$TMP/res.out")"; continue; }
    equal "$TMP/k.h5" && held=$((held + 1)) || fail "kill at write $n: resumed file equals an uninterrupted run"
    [ $((n % 16)) = 0 ] && xarray_batch >>"$TMP/xarray.out"
done
xarray_batch >>"$TMP/xarray.out"
[ $held = $tried ] && pass "kill -9 at $tried of the $total writes of a first run: $held resumed bitwise equal ($nofile before the file existed)" ||
    fail "kill -9 at every write of a first run" "$held of $tried held"
grep -q XARRAY-FAIL "$TMP/xarray.out" && fail "every killed first run's file opens in xarray" "$(grep XARRAY-FAIL "$TMP/xarray.out" | head -5)" ||
    pass "every killed first run's file opens in xarray ($((tried - nofile)) files)"

# ---- kill -9 at every write of a --resume run ----
# The partial file: a first run killed five sixths through its writes
# (after its first checkpoints).
rm -f "$TMP"/p.h5*
faulty p.h5 $((total * 5 / 6)) kill
cp "$TMP/p.h5" "$TMP/partial.h5"
NM_FAULT_MATCH=p.h5 NM_FAULT_COUNT=$TMP/rcount LD_PRELOAD=$SHIM "$FNM" run "$SP" -o "$TMP/p.h5" --resume --quiet
rtotal=$(awk '$2 > n { n = $2 } END { print n + 0 }' "$TMP/rcount")
pdone=$(dump_values "$TMP/partial.h5" /tasks/status | tr ' ' '\n' | grep -c '^1$')
equal "$TMP/p.h5" && pass "the partial file ($pdone tasks done) resumes with $rtotal writes" ||
    fail "the partial file resumes"
rtried=0 rheld=0
for n in $(points "$rtotal"); do
    rm -f "$TMP"/k.h5*
    cp "$TMP/partial.h5" "$TMP/k.h5"
    faulty k.h5 "$n" kill --resume
    rc=$?
    rtried=$((rtried + 1))
    cp "$TMP/k.h5" "$TMP/open/resume-$n.h5"
    [ $rc -eq 137 ] || [ $rc -eq 0 ] || { fail "kill at write $n of a resume: killed" "status $rc"; continue; }
    "$FNM" run "$SP" -o "$TMP/k.h5" --resume --quiet >"$TMP/res.out" 2>&1 ||
        { fail "kill at write $n of a resume: resume again" "$(tail -3 "$TMP/res.out")"; continue; }
    equal "$TMP/k.h5" && rheld=$((rheld + 1)) || fail "kill at write $n of a resume: result equals an uninterrupted run"
done
: >"$TMP/xarray.out"
xarray_batch >>"$TMP/xarray.out"
[ $rheld = $rtried ] && pass "kill -9 at $rtried of the $rtotal writes of a resume run: $rheld resumed bitwise equal" ||
    fail "kill -9 at every write of a resume run" "$rheld of $rtried held"
grep -q XARRAY-FAIL "$TMP/xarray.out" && fail "every killed resume's file opens in xarray" "$(grep XARRAY-FAIL "$TMP/xarray.out" | head -5)" ||
    pass "every killed resume's file opens in xarray ($rtried files)"

# ---- ENOSPC from every write on: a new file, and --force over an old one ----
etried=0 eheld=0
cp "$TMP/ref.h5" "$TMP/old.h5.orig"
for mode in new force; do
    for n in $(points "$total"); do
        rm -f "$TMP"/e.h5*
        [ $mode = force ] && cp "$TMP/old.h5.orig" "$TMP/e.h5"
        [ $mode = force ] && set -- --force || set --
        faulty e.h5 "$n" enospc "$@"
        rc=$?
        etried=$((etried + 1))
        why=""
        grep -q "Segmentation\|Bus error\|Aborted\|signal [0-9]" "$TMP/fault.out" && why="crashed"
        [ $rc -eq 0 ] || [ $rc -eq 1 ] || why+=" status $rc"
        [ $rc -eq 1 ] && ! grep -q "neuromic: .*No space left on device (errno 28)" "$TMP/fault.out" &&
            why+=" no OS error named"
        if [ $mode = force ] && grep -q "\.tmp\.[0-9]" "$TMP/fault.out"; then
            cmp -s "$TMP/old.h5.orig" "$TMP/e.h5" || why+=" the old file changed"
            ls "$TMP" | grep -q "^e.h5.tmp" && why+=" a temporary file left"
        else
            "$FNM" run "$SP" -o "$TMP/e.h5" --resume --quiet >"$TMP/res.out" 2>&1 && equal "$TMP/e.h5" ||
                why+=" resume: $(tail -1 "$TMP/res.out")"
        fi
        [ -z "$why" ] && eheld=$((eheld + 1)) ||
            fail "ENOSPC from write $n ($mode file)" "$why" "$(grep -v '^\s*$' "$TMP/fault.out" | tail -3)"
    done
done
[ $eheld = $etried ] && pass "ENOSPC from $etried write points (new file and --force): $eheld held" ||
    fail "ENOSPC from every write" "$eheld of $etried held"
echo "fault injection: kill first run $held/$tried, kill resume $rheld/$rtried, ENOSPC $eheld/$etried"
