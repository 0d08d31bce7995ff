#!/usr/bin/env bash
# Resume, signals, crashes, failed tasks, bad command lines and two runs on
# one file: what survives what (README). Bounded: a handful of short runs and
# a fixed number of kill -9 trials, each under a few seconds.
. "$(dirname "$0")/lib.sh"

SLOW=tests/data/sweeps/slow.yaml
RESULTS=(/value /trace /draw)

# The reference: one uninterrupted run.
expect_status "reference run" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/ref.h5" --quiet

# pids of the ranks (not mpirun) of a run writing to $1.
rank_pids() { pgrep -f -- "^$NM run .* -o $1" || true; }

# wait_ranks FILE: until the run on FILE has created it, i.e. its ranks are
# past start-up and computing (at most 30 s).
wait_ranks() {
    local i
    for i in $(seq 300); do [ -e "$1" ] && [ -n "$(rank_pids "$1")" ] && return 0; sleep 0.1; done
    return 1
}

# count_status FILE VALUE: how many tasks have that status.
count_status() { dump_values "$1" /tasks/status | tr ' ' '\n' | grep -c "^$2\$"; }

# wait_done FILE N: until at least N tasks of the run on FILE are done (at most 30 s).
wait_done() {
    local i
    for i in $(seq 150); do [ "$(count_status "$1" 1)" -ge "$2" ] && return 0; sleep 0.2; done
    return 1
}

# ---- Signals: SIGTERM to every rank (as Slurm's scancel does) ----
"${MPIRUN[@]}" -n 3 "$NM" run "$SLOW" -o "$TMP/sig.h5" >"$TMP/sig.out" 2>&1 &
job=$!
wait_ranks "$TMP/sig.h5"; wait_done "$TMP/sig.h5" 6
t0=$(date +%s.%N)
kill -TERM $(rank_pids "$TMP/sig.h5") 2>/dev/null
wait $job; rc=$?
t1=$(date +%s.%N)
[ $rc -eq 3 ] && pass "SIGTERM: exit status 3 (incomplete)" ||
    fail "SIGTERM: exit status 3 (incomplete)" "got $rc" "$(tail -5 "$TMP/sig.out")"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
# Documented bound: the longest running task (40 ms here) plus one checkpoint
# and MPI shutdown; 10 s leaves room for a loaded machine.
awk -v s="$secs" 'BEGIN { exit !(s < 10) }' && pass "SIGTERM: stopped within the bound ($secs s)" ||
    fail "SIGTERM: stopped within the bound" "took $secs s"
grep -q -- "--resume" "$TMP/sig.out" && pass "SIGTERM: says how to resume" ||
    fail "SIGTERM: says how to resume" "$(tail -5 "$TMP/sig.out")"
done1=$(count_status "$TMP/sig.h5" 1)
[ "$done1" -gt 0 ] && [ "$done1" -lt 96 ] && pass "SIGTERM: checkpoint kept $done1 finished tasks" ||
    fail "SIGTERM: checkpoint kept the finished tasks" "done: $done1"
check "SIGTERM: file opens (h5dump -H)" h5dump -H "$TMP/sig.h5" >/dev/null
cp "$TMP/sig.h5" "$TMP/part.h5" # a partly done file, for the damage cases below

# ---- Resume on another number of ranks: bitwise equal to the reference ----
expect_status "resume on 2 ranks" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/sig.h5" --resume
grep -q "$((96 - done1)) of 96 tasks" "$TMP/out" && pass "resume runs only the pending tasks" ||
    fail "resume runs only the pending tasks" "$(head -3 "$TMP/out")"
same_results "resumed file equals an uninterrupted run" "$TMP/ref.h5" "$TMP/sig.h5" "${RESULTS[@]}" /tasks/status
st=$(dump_values "$TMP/sig.h5" /attempts/status | cut -d' ' -f1-3)
[ "$st" = "3 0 -2" ] && pass "attempts record both runs (status 3, then 0; -2 unused)" ||
    fail "attempts record both runs" "statuses: $st"
ranks=$(dump_values "$TMP/sig.h5" /attempts/ranks | cut -d' ' -f1-2)
[ "$ranks" = "3 2" ] && pass "attempts record the ranks of each run" || fail "attempts record the ranks of each run" "$ranks"
h5dump -d /attempts/hosts "$TMP/sig.h5" | grep -q "\"0 $(hostname)" && pass "attempts record the hosts" ||
    fail "attempts record the hosts"
h5dump -d /attempts/end_time "$TMP/sig.h5" | grep -q '(1): "20' && pass "attempts record the end times" ||
    fail "attempts record the end times"
expect_status "resume of a complete file does nothing and succeeds" 0 "$NM" run "$SLOW" -o "$TMP/sig.h5" --resume

# ---- A second signal exits at once; the file still resumes ----
"${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/sig2.h5" >"$TMP/sig2.out" 2>&1 &
job=$!
wait_ranks "$TMP/sig2.h5"; sleep 0.3
pids=$(rank_pids "$TMP/sig2.h5")
kill -TERM $pids 2>/dev/null; sleep 1.1; kill -TERM $pids 2>/dev/null
wait $job; rc=$?
[ $rc -ne 0 ] && pass "second signal: run ends (status $rc)" || fail "second signal: run ends" "status 0"
expect_status "second signal: resume accepts the file" 0 "${MPIRUN[@]}" -n 3 "$NM" run "$SLOW" -o "$TMP/sig2.h5" --resume
same_results "second signal: resumed file equals an uninterrupted run" "$TMP/ref.h5" "$TMP/sig2.h5" "${RESULTS[@]}"

# ---- kill -9 at random moments: one rank, or the whole job ----
RANDOM=20261123
trials=6 ok=0 notes=""
for trial in $(seq $trials); do
    f="$TMP/kill$trial.h5"
    "${MPIRUN[@]}" -n 3 "$NM" run "$SLOW" -o "$f" >"$TMP/kill.out" 2>&1 &
    job=$!
    wait_ranks "$f"
    # A random moment after the first checkpoint (trials 1-4), or of the
    # start-up and first tasks (trials 5-6).
    [ "$trial" -le 4 ] && wait_done "$f" 1
    sleep "$((RANDOM % 2)).$(printf '%02d' $((RANDOM % 100)))"
    pids=$(rank_pids "$f")
    if [ $((trial % 2)) = 0 ]; then
        victim=$(echo $pids | tr ' ' '\n' | shuf -n1 --random-source=<(yes))
        kill -9 $victim 2>/dev/null; what="one rank"
    else
        kill -9 $job $pids 2>/dev/null; what="whole job"
    fi
    wait $job 2>/dev/null
    # Wait until no rank of this run is left (mpirun kills the others).
    for i in $(seq 50); do [ -z "$(rank_pids "$f")" ] && break; sleep 0.1; done
    if [ ! -e "$f" ]; then
        # Killed before the file was installed: nothing to resume, a new run starts.
        "$NM" run "$SLOW" -o "$f" --quiet >/dev/null 2>&1
        notes+=" $trial:$what:before-file"
    else
        kept=$(count_status "$f" 1)
        h5dump -H "$f" >/dev/null 2>&1 || { fail "kill -9 trial $trial ($what): file opens"; continue; }
        "${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$f" --resume --quiet >"$TMP/res.out" 2>&1 ||
            { fail "kill -9 trial $trial ($what): resume" "$(tail -5 "$TMP/res.out")"; continue; }
        notes+=" $trial:$what:kept=$kept"
    fi
    same_results "kill -9 trial $trial ($what): resumed file equals an uninterrupted run" \
        "$TMP/ref.h5" "$f" "${RESULTS[@]}" /tasks/status
done
echo "kill -9 trials:$notes"

# ---- Failed tasks: time limit, summary, --retry-failed ----
TO=tests/data/sweeps/timeout.yaml
expect_status "time limit: failed tasks give exit status 4" 4 "$NM" run "$TO" -o "$TMP/to.h5"
grep -q "exceeded the time limit of 0.15 s" "$TMP/out" && pass "time limit: summary says why" ||
    fail "time limit: summary says why" "$(cat "$TMP/out")"
grep -q -- "--retry-failed" "$TMP/out" && pass "failed tasks: summary says how to rerun them" ||
    fail "failed tasks: summary says how to rerun them"
[ "$(dump_values "$TMP/to.h5" /tasks/status)" = "1 1 2 1" ] && pass "time limit: only the slow task failed" ||
    fail "time limit: only the slow task failed" "$(dump_values "$TMP/to.h5" /tasks/status)"
expect_status "resume without --retry-failed keeps the failure" 4 "$NM" run "$TO" -o "$TMP/to.h5" --resume
grep -q "0 of 4 tasks" "$TMP/out" && pass "resume without --retry-failed runs nothing" ||
    fail "resume without --retry-failed runs nothing" "$(head -2 "$TMP/out")"
expect_status "--retry-failed with a longer limit succeeds" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$TO" -o "$TMP/to.h5" \
    --retry-failed --task-timeout 5
grep -q "1 of 4 tasks" "$TMP/out" && pass "--retry-failed runs only the failed task" ||
    fail "--retry-failed runs only the failed task" "$(head -2 "$TMP/out")"
[ "$(dump_values "$TMP/to.h5" /tasks/status)" = "1 1 1 1" ] && pass "--retry-failed: all done" ||
    fail "--retry-failed: all done"

# ---- --resume refuses what it must not touch ----
refuse() { # NAME FILE EXPECTED-MESSAGE [ARGS...]
    local name=$1 f=$2 msg=$3; shift 3
    local before
    before=$(sha256sum "$f" | cut -c1-64)
    expect_status "resume refuses $name" 2 "$NM" run "$@" -o "$f" --resume
    grep -q "$msg" "$TMP/out" && pass "resume refuses $name: says why" ||
        fail "resume refuses $name: says why" "$(cat "$TMP/out")"
    [ "$(sha256sum "$f" | cut -c1-64)" = "$before" ] && pass "resume refuses $name: file untouched" ||
        fail "resume refuses $name: file untouched"
}
cp "$TMP/ref.h5" "$TMP/other.h5"
sed 's/base_seed: 11/base_seed: 12/' "$SLOW" >"$TMP/changed.yaml"
refuse "a changed spec with --strict" "$TMP/other.h5" "has changed since .* --strict: refusing" \
    "$TMP/changed.yaml" --strict
refuse "other --set overrides" "$TMP/other.h5" "other --set overrides" "$SLOW" --set fixed.length=4
echo "not a result file" >"$TMP/text.h5"
refuse "a file that is not HDF5" "$TMP/text.h5" "not an HDF5 file" "$SLOW"
head -c 30000 "$TMP/ref.h5" >"$TMP/trunc.h5"
refuse "a truncated file" "$TMP/trunc.h5" "truncated or damaged" "$SLOW"
/usr/bin/python3 -c "import h5py,sys; h5py.File(sys.argv[1],'w')['x']=[1,2]" "$TMP/foreign.h5"
refuse "an HDF5 file that is not neuromic's" "$TMP/foreign.h5" "not a neuromic result file" "$SLOW"
# A run stopped before it created its file leaves nothing to resume: the
# same --resume command then starts the sweep (README).
expect_status "resume of a missing file starts the sweep" 0 "$NM" run "$SLOW" -o "$TMP/none.h5" --resume
grep -q "does not exist yet: starting the sweep" "$TMP/out" && pass "resume of a missing file says so" ||
    fail "resume of a missing file says so" "$(head -3 "$TMP/out")"
same_results "resume of a missing file gives the uninterrupted run" "$TMP/ref.h5" "$TMP/none.h5" "${RESULTS[@]}"
# The spec file changed (another base seed!) or removed after the file was
# made: --resume warns and continues with the spec text the file keeps.
cp "$TMP/part.h5" "$TMP/edit.h5"
expect_status "resume after the spec file changed" 0 "$NM" run "$TMP/changed.yaml" -o "$TMP/edit.h5" --resume
grep -q "warning: .*changed.yaml has changed since .* resuming with the spec text stored in" "$TMP/out" &&
    pass "resume after the spec file changed: warns" || fail "resume after the spec file changed: warns" "$(head -5 "$TMP/out")"
same_results "resume after the spec file changed: the stored spec's results" "$TMP/ref.h5" "$TMP/edit.h5" "${RESULTS[@]}"
cp "$TMP/part.h5" "$TMP/gone.h5"
expect_status "resume without the spec file" 0 "$NM" run "$TMP/missing.yaml" -o "$TMP/gone.h5" --resume
grep -q "missing.yaml cannot be read" "$TMP/out" && pass "resume without the spec file: warns" ||
    fail "resume without the spec file: warns" "$(head -5 "$TMP/out")"
same_results "resume without the spec file: bitwise equal" "$TMP/ref.h5" "$TMP/gone.h5" "${RESULTS[@]}"
cp "$TMP/part.h5" "$TMP/same.h5"
expect_status "resume with the same spec and --strict" 0 "$NM" run "$SLOW" -o "$TMP/same.h5" --resume --strict
! grep -q "warning" "$TMP/out" && pass "resume with an unchanged spec: no warning" ||
    fail "resume with an unchanged spec: no warning" "$(head -5 "$TMP/out")"
check "output.* overrides may change on resume" "$NM" run "$SLOW" -o "$TMP/other.h5" --resume --quiet \
    --set output.checkpoint_every=5

# ---- Damaged files: refused before anything is written, naming the task ----
# damage NAME PYTHON: a copy of the partly done file, changed by h5py (f is
# the open file, done/pending the task ids with that status).
damage() {
    cp "$TMP/part.h5" "$TMP/dmg.h5"
    /usr/bin/python3 - "$TMP/dmg.h5" "$2" <<'PY' || fail "damage $1: made"
import sys, numpy as np, h5py
with h5py.File(sys.argv[1], "r+") as f:
    st = f["tasks/status"][...]
    done, pending = np.flatnonzero(st == 1), np.flatnonzero(st == 0)
    def flip(name, task, byte=3):
        d = f[name]; v = d[...]
        row = v.reshape(len(st), -1)[task].copy().view(np.uint8)
        row[byte] ^= 0x10
        v.reshape(len(st), -1)[task] = row.view(v.dtype); d[...] = v
    exec(sys.argv[2])
PY
}
refuse_damage() { # NAME EXPECTED-MESSAGE PYTHON
    damage "$1" "$3"
    local before
    before=$(sha256sum "$TMP/dmg.h5" | cut -c1-64)
    expect_status "damaged file refused: $1" 2 "$NM" run "$SLOW" -o "$TMP/dmg.h5" --resume
    grep -q "$2" "$TMP/out" && pass "damaged file refused: $1: says which" ||
        fail "damaged file refused: $1: says which" "$(cat "$TMP/out")"
    [ "$(sha256sum "$TMP/dmg.h5" | cut -c1-64)" = "$before" ] && pass "damaged file refused: $1: not written to" ||
        fail "damaged file refused: $1: not written to"
}
refuse_damage "a pending task's status set to done" "task [0-9]* (.*): its results do not match" \
    'st[pending[0]] = 1; f["tasks/status"][...] = st'
refuse_damage "one byte of a done task's value" "damaged: task [0-9]* (.*): its results do not match" 'flip("value", done[0])'
refuse_damage "one byte of a done task's trace" "its results do not match" 'flip("trace", done[-1], 9)'
refuse_damage "one byte of a done task's draw" "its results do not match" 'flip("draw", done[1], 0)'
refuse_damage "a checksum changed" "its results do not match" 'c = f["tasks/checksum"][...]; c[done[2]] += 1; f["tasks/checksum"][...] = c'
refuse_damage "a status out of range" "its status is not one of" 'st[pending[1]] = 5; f["tasks/status"][...] = st'
refuse_damage "axis values changed (x)" "values of axis 'x' are not this spec's" 'f["x"][1] = 0.5'
refuse_damage "axis values changed (n)" "values of axis 'n' are not this spec's" 'f["n"][0] = 7'
refuse_damage "axis values changed (seed)" "values of axis 'seed' are not this spec's" 'f["seed"][1] = 3'
refuse_damage "value stored as float32" "'value' is not stored as float64" \
    'v = f["value"][...]; a = dict(f["value"].attrs); del f["value"]; f.create_dataset("value", data=v.astype("f4"))'
damage "repair" 'flip("value", done[0]); flip("trace", done[3]); st[pending[0]] = 1; f["tasks/status"][...] = st'
expect_status "--repair reruns the damaged tasks and the pending ones" 0 "$NM" run "$SLOW" -o "$TMP/dmg.h5" --repair
grep -q "3 damaged tasks of .* will be run again" "$TMP/out" && pass "--repair says how many tasks it reruns" ||
    fail "--repair says how many tasks it reruns" "$(head -3 "$TMP/out")"
same_results "--repair gives the uninterrupted run's bytes" "$TMP/ref.h5" "$TMP/dmg.h5" "${RESULTS[@]}" /tasks/status

# ---- Two runs, one file ----
"${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/busy.h5" >"$TMP/busy.out" 2>&1 &
job=$!
wait_ranks "$TMP/busy.h5"
expect_status "second run with --force on a busy file refuses" 2 "$NM" run "$SLOW" -o "$TMP/busy.h5" --force
grep -q "being written by another neuromic run" "$TMP/out" && pass "second run says the file is busy" ||
    fail "second run says the file is busy" "$(cat "$TMP/out")"
expect_status "second run with --resume on a busy file refuses" 2 "$NM" run "$SLOW" -o "$TMP/busy.h5" --resume
wait $job; rc=$?
[ $rc -eq 0 ] && pass "the first run finishes undisturbed" || fail "the first run finishes undisturbed" "status $rc"
same_results "the first run's file is intact" "$TMP/ref.h5" "$TMP/busy.h5" "${RESULTS[@]}" /tasks/status
[ ! -e "$TMP/busy.h5.lock" ] && pass "the lock file is removed at the end" || fail "the lock file is removed at the end"

# ---- Bad command lines: status 2, no file ----
for args in "--resume --force" "--bogus" "--task-timeout -1" "--task-timeout" "--set nope=1" "--progress x"; do
    expect_status "bad command line ($args) is bad input" 2 "$NM" run "$SLOW" -o "$TMP/cl.h5" $args
    [ ! -e "$TMP/cl.h5" ] && pass "bad command line ($args) creates no file" ||
        { fail "bad command line ($args) creates no file"; rm -f "$TMP/cl.h5"; }
done
expect_status "run without -o is bad input" 2 "$NM" run "$SLOW"
expect_status "unknown command is bad input" 2 "$NM" frobnicate
