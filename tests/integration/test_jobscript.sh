#!/usr/bin/env bash
# The Slurm job script's own logic, without Slurm: the script run by bash
# in a process group of its own, signalled as Slurm would signal it. scancel
# is SIGTERM to every process of the job; the time-limit warning is SIGUSR1
# to the batch shell. The log must say what happened (README "Time limits"),
# without mpirun's banner after a clean stop, and with the ranks' last
# lines. test_slurm.sh does the same on a real Slurm, when it can run.
. "$(dirname "$0")/lib.sh"

JS=$PWD/jobscripts/slurm/neuromic.sbatch
export NEUROMIC=$NM NEUROMIC_PROGRESS=1
SPEC=tests/slurm/long.yaml
SET=(--set fixed.work=0.1) # 60 tasks of 0.1 s

# start NAME: the job script on $TMP/NAME.h5 in a new session; its pid.
start() {
    setsid bash "$JS" "$SPEC" "$TMP/$1.h5" "${SET[@]}" >"$TMP/$1.log" 2>&1 &
    echo $!
}
# computing NAME: until the run on NAME has printed its first progress line (30 s).
computing() {
    local i
    for i in $(seq 150); do grep -q "tasks (.*%)" "$TMP/$1.log" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}
finished() { # PID: until the job script has ended (60 s)
    local i
    for i in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
    return 1
}

# ---- scancel: SIGTERM to the whole job ----
pid=$(start cancel)
computing cancel
kill -TERM -- -"$pid"
finished "$pid"
log=$TMP/cancel.log
grep -q "cancelled; the sweep stopped cleanly at its last checkpoint" "$log" &&
    grep -q "resubmit the same command to resume $TMP/cancel.h5" "$log" &&
    pass "SIGTERM to the job: the log says it stopped cleanly and how to resume" ||
    fail "SIGTERM to the job: the log says it stopped cleanly" "$(cat "$log")"
grep -q "the sweep recorded status 3" "$log" && grep -q "stopped by SIGTERM with" "$log" &&
    pass "SIGTERM to the job: the sweep's status read back, the ranks' last lines kept" ||
    fail "SIGTERM to the job: the sweep's status, the ranks' last lines" "$(cat "$log")"
! grep -q "Primary job\|mpirun detected\|not requeued\|Terminated" "$log" &&
    pass "SIGTERM to the job: no mpirun banner, no failure message" || fail "SIGTERM: no banner" "$(cat "$log")"
[ "$(dump_values "$TMP/cancel.h5" /attempts/status | cut -d' ' -f1)" = 3 ] &&
    pass "SIGTERM to the job: /attempts says 3" || fail "SIGTERM to the job: /attempts says 3"

# ---- SIGUSR1 to the batch shell: passed on, clean stop; outside Slurm the
# requeue fails and the log says to resubmit ----
pid=$(start warn)
computing warn
kill -USR1 "$pid"
finished "$pid"
log=$TMP/warn.log
grep -q "warning signal: time limit near" "$log" && grep -q "asking the sweep to checkpoint and stop" "$log" &&
    grep -q "stopped (time limit near" "$log" && grep -q "resubmit the same command to resume" "$log" &&
    pass "SIGUSR1: passed to the sweep, which stops; the log says what to do" ||
    fail "SIGUSR1: passed to the sweep" "$(cat "$log")"
! grep -q "Primary job\|mpirun detected" "$log" && pass "SIGUSR1: no mpirun banner" ||
    fail "SIGUSR1: no mpirun banner" "$(cat "$log")"

# ---- the same command again: --resume, to the end ----
expect_status "the job script again finishes the sweep" 0 bash "$JS" "$SPEC" "$TMP/cancel.h5" "${SET[@]}"
grep -q -- "--resume" "$TMP/out" && grep -q "sweep complete" "$TMP/out" &&
    pass "the second run resumes and completes" || fail "the second run resumes and completes" "$(cat "$TMP/out")"

# ---- a rank killed: mpirun's banner is kept, the log says it failed ----
pid=$(start crash)
computing crash
kill -9 $(pgrep -f -- "^$NM run $SPEC -o $TMP/crash.h5" | head -1)
finished "$pid"
log=$TMP/crash.log
grep -q "^------" "$log" && grep -q "sweep failed (status [1-9][0-9]*); not requeued" "$log" &&
    grep -q "resubmit the same command to resume" "$log" &&
    pass "a rank killed: mpirun's banner kept, the log says the sweep failed and how to resume" ||
    fail "a rank killed: banner kept, failure said" "$(cat "$log")"

# ---- a sweep with failed tasks ----
expect_status "a sweep with failed tasks: exit 4" 4 bash "$JS" tests/data/sweeps/fail.yaml "$TMP/fail.h5"
grep -q "chain analysis jobs with --dependency=afterany" "$TMP/out" &&
    pass "exit 4: the log says how to chain analysis jobs" || fail "exit 4: the log says how to chain" "$(cat "$TMP/out")"
