#!/usr/bin/env bash
# `neuromic status FILE`: counts by axis value, runs, progress of a running
# sweep, failed tasks, JSON; read while a sweep writes the file, without
# disturbing it (README "Following a running sweep").
. "$(dirname "$0")/lib.sh"

SLOW=tests/data/sweeps/slow.yaml
SET=(--set fixed.work=0.08) # 96 tasks of 80 ms: a few seconds on 2 ranks

# json FILE EXPR: evaluates the Python expression EXPR over d, the JSON document.
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

expect_status "reference run" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/ref.h5" --quiet "${SET[@]}"

# ---- status on a running sweep, called as often as it can be ----
"${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/run.h5" "${SET[@]}" >"$TMP/run.out" 2>&1 &
job=$!
calls=0 bad=0 mid=0
while kill -0 $job 2>/dev/null; do
    if [ -e "$TMP/run.h5" ]; then
        "$NM" status "$TMP/run.h5" --json >"$TMP/st.json" 2>"$TMP/st.err"
        rc=$?
        calls=$((calls + 1))
        if [ $rc -ne 0 ] || grep -qi "lock" "$TMP/st.err"; then
            bad=$((bad + 1)); cp "$TMP/st.err" "$TMP/bad.err"
        elif [ "$(json "$TMP/st.json" "d['progress'] is not None and 0 < d['done'] < d['tasks']")" = True ]; then
            mid=$((mid + 1)); cp "$TMP/st.json" "$TMP/mid.json"
        fi
        "$NM" status "$TMP/run.h5" >"$TMP/st.txt" 2>&1
        grep -q "(no end)" "$TMP/st.txt" && grep -q ", [1-9][0-9]* pending" "$TMP/st.txt" &&
            cp "$TMP/st.txt" "$TMP/mid.txt"
    fi
    sleep 0.2
done
wait $job; rc=$?
[ $rc -eq 0 ] && pass "the sweep ends normally while status reads it ($calls calls)" ||
    fail "the sweep ends normally while status reads it" "exit $rc" "$(tail -5 "$TMP/run.out")"
same_results "the sweep's results are those of an undisturbed run" "$TMP/ref.h5" "$TMP/run.h5" /value /trace /draw
[ $bad -eq 0 ] && pass "status never failed on the file being written" ||
    fail "status never failed on the file being written" "$bad of $calls calls" "$(cat "$TMP/bad.err")"
if [ $mid -gt 0 ]; then
    pass "status saw the sweep in progress ($mid times)"
    [ "$(json "$TMP/mid.json" "d['done'] + d['pending'] + d['failed'] == d['tasks'] == 96")" = True ] &&
        pass "in progress: counts add up to the task count" || fail "in progress: counts add up" "$(cat "$TMP/mid.json")"
    [ "$(json "$TMP/mid.json" "all(sum(a['done'])==d['done'] and sum(a['pending'])==d['pending'] for a in d['axes'])")" = True ] &&
        pass "in progress: every axis's counts add up" || fail "in progress: every axis's counts add up" "$(cat "$TMP/mid.json")"
    [ "$(json "$TMP/mid.json" "d['progress']['tasks_per_second'] > 0 and d['progress']['eta_seconds'] >= 0 and d['attempts'][0]['status'] == -1")" = True ] &&
        pass "in progress: throughput, ETA, the run without an end" || fail "in progress: throughput and ETA" "$(cat "$TMP/mid.json")"
    grep -q "pending: ETA [0-9]*:[0-9][0-9]:[0-9][0-9]" "$TMP/mid.txt" && grep -q "by axis value" "$TMP/mid.txt" &&
        pass "in progress: text output" || fail "in progress: text output" "$(cat "$TMP/mid.txt" 2>&1)"
else
    fail "status saw the sweep in progress" "$calls calls, none in the middle"
fi
expect_status "status of the finished file" 0 "$NM" status "$TMP/run.h5"
grep -q "96 done, 0 pending, 0 failed" "$TMP/out" && grep -q "#0 .* status 0: complete; 2 ranks, 96 tasks run" "$TMP/out" &&
    ! grep -q "#1" "$TMP/out" && pass "finished: counts and the one run (unused rows not listed)" ||
    fail "finished: counts and the one run" "$(cat "$TMP/out")"
[ "$(dump_values "$TMP/run.h5" /attempts/status | cut -d' ' -f1-2)" = "0 -2" ] &&
    pass "unused /attempts rows read -2, not -1 (killed)" || fail "unused /attempts rows read -2" "$(dump_values "$TMP/run.h5" /attempts/status)"

# ---- a killed run ----
"${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/kill.h5" "${SET[@]}" >/dev/null 2>&1 &
job=$!
for i in $(seq 200); do
    [ -e "$TMP/kill.h5" ] && [ "$("$NM" status "$TMP/kill.h5" --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])' 2>/dev/null)" -gt 0 ] 2>/dev/null && break
    sleep 0.1
done
kill -9 $(pgrep -f -- "^$NM run .* -o $TMP/kill.h5") 2>/dev/null
wait $job
expect_status "status of a killed run's file" 0 "$NM" status "$TMP/kill.h5"
grep -q "status -1: no end recorded: running, or killed" "$TMP/out" && grep -q -- "--resume" "$TMP/out" &&
    pass "killed: the run without an end, and how to continue" || fail "killed: the run without an end" "$(cat "$TMP/out")"

# ---- failed tasks ----
expect_status "a sweep with failures" 4 "$NM" run tests/data/sweeps/fail.yaml -o "$TMP/fail.h5" --quiet
expect_status "status --failed" 0 "$NM" status "$TMP/fail.h5" --failed
grep -q "8 done, 0 pending, 4 failed" "$TMP/out" && [ "$(grep -c '^  task [0-9]* (n=[23] x=' "$TMP/out")" = 4 ] &&
    pass "--failed: every failed task with its parameters" || fail "--failed: every failed task with its parameters" "$(cat "$TMP/out")"
grep -q "NaN" "$TMP/out" && pass "--failed: the messages" || fail "--failed: the messages" "$(cat "$TMP/out")"
expect_status "status (no --failed) points to --failed" 0 "$NM" status "$TMP/fail.h5"
grep -q "4 failed tasks: .*--failed" "$TMP/out" && pass "status without --failed says how to list them" ||
    fail "status without --failed says how to list them" "$(cat "$TMP/out")"
"$NM" status "$TMP/fail.h5" --failed --json >"$TMP/f.json"
[ "$(json "$TMP/f.json" "sorted((t['params']['n'], t['params']['x']) for t in d['failed_tasks']) == [(2,1.0),(2,2.0),(3,1.0),(3,2.0)] and all(t['error'] for t in d['failed_tasks'])")" = True ] &&
    pass "--failed --json: parameters and messages" || fail "--failed --json" "$(cat "$TMP/f.json")"

# A message cut inside a UTF-8 character (the field is 256 bytes) or with
# quotes still gives valid JSON.
cp "$TMP/fail.h5" "$TMP/u8.h5"
/usr/bin/python3 -c "import h5py,sys; h5py.File(sys.argv[1],'r+')['tasks/error'][4] = b'cut \xc3 \"q\" \xe2\x82\xac'" "$TMP/u8.h5"
"$NM" status "$TMP/u8.h5" --failed --json >"$TMP/u8.json"
[ "$(json "$TMP/u8.json" "[t['error'] for t in d['failed_tasks'] if t['task'] == 4] == ['cut \ufffd \"q\" \u20ac']")" = True ] &&
    pass "--json: a message that is not valid UTF-8 stays valid JSON" || fail "--json: invalid UTF-8 message" "$(cat "$TMP/u8.json")"

# ---- the spec file is not needed: status reads the text stored in the file ----
cp tests/data/sweeps/fail.yaml "$TMP/gone.yaml"
expect_status "a sweep from a spec file that is then removed" 4 "$NM" run "$TMP/gone.yaml" -o "$TMP/gone.h5" --quiet
rm "$TMP/gone.yaml"
expect_status "status without the spec file" 0 "$NM" status "$TMP/gone.h5"
grep -q "by axis value" "$TMP/out" && pass "status without the spec file: axes from the stored text" ||
    fail "status without the spec file: axes from the stored text" "$(cat "$TMP/out")"

# ---- bad input: exit 2, a message ----
expect_status "status of a missing file" 2 "$NM" status "$TMP/none.h5"
grep -q "No such file" "$TMP/out" && pass "missing file: says so" || fail "missing file: says so" "$(cat "$TMP/out")"
echo "text" >"$TMP/text.h5"
expect_status "status of a file that is not HDF5" 2 "$NM" status "$TMP/text.h5"
/usr/bin/python3 -c "import h5py,sys; h5py.File(sys.argv[1],'w')['x']=[1,2]" "$TMP/foreign.h5"
expect_status "status of an HDF5 file that is not neuromic's" 2 "$NM" status "$TMP/foreign.h5"
grep -q "not a neuromic result file" "$TMP/out" && pass "foreign file: says so" || fail "foreign file: says so" "$(cat "$TMP/out")"
mkfifo "$TMP/fifo.h5"
expect_status "status of a FIFO (refused, not read)" 2 timeout 20 "$NM" status "$TMP/fifo.h5"
grep -q "not a regular file" "$TMP/out" && pass "FIFO: says so" || fail "FIFO: says so" "$(cat "$TMP/out")"
expect_status "status of a device" 2 timeout 20 "$NM" status /dev/zero
expect_status "status without FILE" 2 "$NM" status
expect_status "status with an unknown option" 2 "$NM" status "$TMP/run.h5" --bogus
