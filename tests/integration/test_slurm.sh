#!/usr/bin/env bash
# test_slurm.sh: the Slurm job script and `neuromic submit` against a real
# Slurm. As root it installs Debian's slurm-wlm and munge when missing,
# starts a one-node cluster on this machine (tests/slurm/cluster.sh), and:
#   1. submits the demo sweep with `neuromic submit` (which pipes the job
#      script to sbatch): the file is complete, equal to a direct mpirun
#      run, and names the job in its provenance;
#   2. submits a sweep of about 60 s with sbatch and the job script under a
#      one-minute limit (NM_SLURM_SKIP_TIMELIMIT=1 skips this part): the warning signal makes it checkpoint and requeue
#      itself, the requeued job resumes, and the file ends complete and
#      equal to a direct run;
#      The spec file is edited while the requeued job waits: the job goes on
#      with the spec text stored in the file;
#   3. a job stopped by a user's SIGUSR1 requeues itself, is cancelled with
#      scancel (a clean stop: "resubmit the same command to resume", no
#      mpirun banner), and the same submit command finishes it;
#   4. submit's checks: --test-only, an impossible request refused with
#      nothing created, SBATCH_TIMELIMIT overridden by --time; exit 4 and
#      an afterany analysis job;
#   5. checks that a job with bad input is not requeued, and shuts the
#      cluster down (also on failure).
# Without root or apt it prints SKIP lines. About 2 to 3 minutes.
. "$(dirname "$0")/lib.sh"
. tests/slurm/cluster.sh

JS=jobscripts/slurm/neuromic.sbatch
RESULTS=(/value /trace /draw /tasks/status)

# ---- The rendered job script (no cluster needed) ----
expect_status "submit --dry-run renders the job script" 0 "$NM" submit sweeps/demo.yaml \
    -o "$TMP/d.h5" --nodes 3 --ntasks-per-node 8 --time 2-00:30 --partition short --account p1 \
    --set n=5 --sbatch --qos=long --sbatch --mail-type=END --dry-run
sed -n '/^#!/,$p' "$TMP/out" >"$TMP/d.sbatch" # stdout after the estimate on stderr
grep -qx '#SBATCH --nodes=3' "$TMP/d.sbatch" && grep -qx '#SBATCH --ntasks-per-node=8' "$TMP/d.sbatch" &&
    grep -qx '#SBATCH --time=2-00:30:00' "$TMP/d.sbatch" && grep -qx '#SBATCH --partition=short' "$TMP/d.sbatch" &&
    grep -qx '#SBATCH --account=p1' "$TMP/d.sbatch" && grep -qx '#SBATCH --signal=B:USR1@300' "$TMP/d.sbatch" &&
    grep -qx "set -- 'sweeps/demo.yaml' '$TMP/d.h5' '--set' 'n=5'" "$TMP/d.sbatch" &&
    grep -qx '#SBATCH --qos=long' "$TMP/d.sbatch" && grep -qx '#SBATCH --mail-type=END' "$TMP/d.sbatch" &&
    pass "submit sets the #SBATCH lines and the sweep's arguments" ||
    fail "submit sets the #SBATCH lines and the sweep's arguments" "$(grep -E '^(#SBATCH|set --)' "$TMP/d.sbatch")"
check "rendered job script is valid bash" bash -n "$TMP/d.sbatch"
grep -q 'tasks of kernel probe on 24 ranks; cost' "$TMP/out" && pass "submit prints the cost estimate" ||
    fail "submit prints the cost estimate" "$(head -3 "$TMP/out")"
expect_status "submit: an 8-minute limit" 0 "$NM" submit sweeps/demo.yaml -o "$TMP/d.h5" --time 8 --dry-run
grep -qx '#SBATCH --signal=B:USR1@120' "$TMP/out" && grep -qx '#SBATCH --time=0-00:08:00' "$TMP/out" &&
    pass "submit: the warning comes a quarter of a short limit early" ||
    fail "submit: the warning comes a quarter of a short limit early" "$(grep '^#SBATCH' "$TMP/out")"
expect_status "submit: output path with a space is bad input" 2 "$NM" submit sweeps/demo.yaml -o "$TMP/a b.h5" --dry-run
expect_status "submit: bad --nodes is bad input" 2 "$NM" submit sweeps/demo.yaml -o "$TMP/d.h5" --nodes 0 --dry-run
grep -q -- '--nodes: expected a whole number' "$TMP/out" || fail "submit: bad --nodes message" "$(cat "$TMP/out")"
expect_status "submit: bad --time is bad input" 2 "$NM" submit sweeps/demo.yaml -o "$TMP/d.h5" --time 1:2:3:4 --dry-run
grep -q -- '--time: expected MINUTES' "$TMP/out" || fail "submit: bad --time message" "$(cat "$TMP/out")"
expect_status "submit: bad spec is refused before sbatch" 2 "$NM" submit tests/data/sweeps/bad_param.yaml -o "$TMP/d.h5"
grep -q "bad_param.yaml:3:3" "$TMP/out" || fail "submit: bad spec message" "$(cat "$TMP/out")"
expect_status "submit: --sbatch with a space is bad input" 2 "$NM" submit sweeps/demo.yaml -o "$TMP/d.h5" \
    --sbatch "--comment=a b" --dry-run
expect_status "job script without arguments is bad input" 2 bash "$JS"

# ---- The cluster ----
reason=$(slurm_need)
if [ -n "$reason" ]; then
    echo "SKIP: Slurm cluster tests: $reason"
    exit 0
fi
trap 'slurm_stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP # so that the EXIT trap cleans up then too
if ! slurm_start "$TMP/cluster"; then
    fail "one-node Slurm cluster starts" "$(tail -5 "$TMP"/cluster/*.out "$TMP"/cluster/*.log 2>/dev/null)"
    exit 0
fi
pass "one-node Slurm cluster starts"
export NEUROMIC=$NM NEUROMIC_PROGRESS=5
mkdir -p "$TMP/work"

# job_info JOBID: Slurm's view of the job, for a failure message.
job_info() { scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | grep -E '^(JobState|Reason|Restarts|ExitCode)='; }

# ---- 1. The demo sweep through `neuromic submit` and sbatch ----
SBATCH_TIMELIMIT=3 "$NM" submit sweeps/demo.yaml -o "$TMP/work/new/demo.h5" --nodes 1 --ntasks-per-node 2 \
    --time 5 >"$TMP/sub.out" 2>&1
job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out")
[ -n "$job" ] && pass "submit hands the job to sbatch (job $job)" || fail "submit hands the job to sbatch" "$(cat "$TMP/sub.out")"
grep -q "job $job; its log: $TMP/work/new/demo-$job.log" "$TMP/sub.out" && grep -q "to start at" "$TMP/sub.out" &&
    pass "submit checks the job with --test-only, prints the job id and the log's path" ||
    fail "submit checks the job with --test-only, prints the job id and the log's path" "$(cat "$TMP/sub.out")"
grep -q "SBATCH_TIMELIMIT=3 in the environment is overridden by --time" "$TMP/sub.out" &&
    [ "$(slurm_field "$job" TimeLimit)" = 00:05:00 ] &&
    pass "SBATCH_TIMELIMIT is reported and --time wins" ||
    fail "SBATCH_TIMELIMIT is reported and --time wins" "TimeLimit $(slurm_field "$job" TimeLimit)" "$(cat "$TMP/sub.out")"
state=$(slurm_wait "$job" 120)
[ "$state" = COMPLETED ] && pass "demo job completes" ||
    fail "demo job completes" "state $state" "$(job_info "$job")" "$(tail -20 "$TMP"/work/new/demo-*.log 2>/dev/null)"
grep -q "sweep complete" "$TMP/work/new/demo-$job.log" && pass "demo job log is next to the output (new directory) and says complete" ||
    fail "demo job log is next to the output (new directory) and says complete" "$(ls -R "$TMP/work")"
[ "$(slurm_field "$job" Restarts)" = 0 ] && pass "a finished job is not requeued" || fail "a finished job is not requeued"
expect_status "direct mpirun run of the demo sweep" 0 "${MPIRUN[@]}" -n 2 "$NM" run sweeps/demo.yaml -o "$TMP/demo-ref.h5" --quiet
same_results "demo job's file equals a direct run" "$TMP/demo-ref.h5" "$TMP/work/new/demo.h5" "${RESULTS[@]}"
h5dump -a /SLURM_JOB_ID "$TMP/work/new/demo.h5" 2>/dev/null | grep -q "(0): \"$job\"" &&
    h5dump -d /attempts/job_id "$TMP/work/new/demo.h5" 2>/dev/null | grep -q "(0): \"$job\\\\000" &&
    pass "provenance names the Slurm job" || fail "provenance names the Slurm job"
h5dump -a /SLURM_NTASKS "$TMP/work/new/demo.h5" 2>/dev/null | grep -q '(0): "2"' &&
    pass "provenance keeps the SLURM_* variables" || fail "provenance keeps the SLURM_* variables"

# The same through srun instead of mpirun, where Slurm has PMIx.
if srun --mpi=list 2>&1 | grep -q pmix; then
    # (--signal: the script's 300 s warning would be due at once in a 5-minute job)
    NEUROMIC_LAUNCHER=srun NEUROMIC_SRUN_ARGS=--mpi=pmix sbatch --time=5 --signal=B:USR1@60 --ntasks-per-node=2 \
        --output="$TMP/work/srun-%j.log" "$JS" sweeps/demo.yaml "$TMP/work/srun.h5" >"$TMP/sub.out" 2>&1
    job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out")
    state=$(slurm_wait "$job" 120)
    [ "$state" = COMPLETED ] && grep -q 'srun exited with status 0' "$TMP/work/srun-$job.log" &&
        pass "demo job with srun completes" ||
        fail "demo job with srun completes" "state $state" "$(tail -20 "$TMP/work/srun-$job.log")"
    same_results "srun job's file equals a direct run" "$TMP/demo-ref.h5" "$TMP/work/srun.h5" "${RESULTS[@]}"
else
    echo "SKIP: srun launcher: this Slurm has no PMIx plugin (srun --mpi=list)"
fi

# ---- 2. A one-minute limit for a sweep of about 60 s ----
# Slurm checks time limits every 30 s and sends the warning at the first
# check within 10 + 30 s of the end: 20 to 50 s into each run. One rank, so
# that the direct run to compare with runs at the same time on the other core.
if [ "${NM_SLURM_SKIP_TIMELIMIT:-0}" = 1 ]; then
    echo "SKIP: Slurm time-limit test (NM_SLURM_SKIP_TIMELIMIT=1)"
else
t0=$(date +%s)
cp tests/slurm/long.yaml "$TMP/work/long.yaml"
sbatch --time=1 --signal=B:USR1@10 --ntasks-per-node=1 --output="$TMP/work/long-%j.log" \
    "$JS" "$TMP/work/long.yaml" "$TMP/work/long.h5" >"$TMP/sub.out" 2>&1
job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out")
[ -n "$job" ] && pass "sbatch takes the job script (job $job)" || fail "sbatch takes the job script" "$(cat "$TMP/sub.out")"
# While the requeued job waits, the spec file is edited (a comment, and
# another base seed): the requeued run must go on with the spec the file
# was made from, and warn.
(
    for i in $(seq 800); do
        if grep -q "requeueing job $job" "$TMP/work/long-$job.log" 2>/dev/null; then
            sed -i 's/^base_seed: 5/base_seed: 6  # edited while the job waited/' "$TMP/work/long.yaml"
            break
        fi
        sleep 0.5
    done
) &
editor=$!
"$NM" run tests/slurm/long.yaml -o "$TMP/long-ref.h5" --quiet >"$TMP/long-ref.out" 2>&1 &
ref=$!
state=$(slurm_wait "$job" 400 hurry)
log="$TMP/work/long-$job.log"
restarts=$(slurm_field "$job" Restarts)
echo "time-limit job: $state after $(($(date +%s) - t0)) s, $restarts requeue(s)"
[ "$state" = COMPLETED ] && pass "time-limited job completes in the end" ||
    fail "time-limited job completes in the end" "state $state" "$(job_info "$job")" "$(tail -30 "$log")" \
        "$(tail -15 "$TMP/cluster/slurmd.log")"
grep -q 'warning signal: time limit near' "$log" && grep -q 'asking the sweep to checkpoint' "$log" &&
    pass "the warning signal reaches the job script and the sweep" ||
    fail "the warning signal reaches the job script and the sweep" "$(tail -30 "$log")"
grep -q 'stopped by SIGUSR1' "$log" && pass "the sweep stops on the signal" ||
    fail "the sweep stops on the signal" "$(tail -30 "$log")"
[ "${restarts:-0}" -ge 1 ] && grep -q "requeueing job $job" "$log" && grep -q -- '--resume' "$log" &&
    pass "the job requeues itself and resumes ($restarts requeues)" ||
    fail "the job requeues itself and resumes" "restarts: $restarts" "$(grep neuromic.sbatch "$log")"
st=$(dump_values "$TMP/work/long.h5" /attempts/status)
runs=$((restarts + 1))
want="$(printf '3 %.0s' $(seq $restarts))0"
[ "$(cut -d' ' -f1-$runs <<<"$st")" = "$want" ] &&
    pass "attempts: $restarts stopped run(s) (status 3), then one complete" ||
    fail "attempts: stopped runs, then one complete" "statuses: $st, want $want"
first=$(dump_values "$TMP/work/long.h5" /attempts/tasks_run | cut -d' ' -f1)
[ "$first" -gt 0 ] && [ "$first" -lt 60 ] &&
    pass "the first run's checkpoint on the signal kept $first tasks" ||
    fail "the first run's checkpoint on the signal kept its tasks" "tasks_run: $first"
ids=$(h5dump -d /attempts/job_id "$TMP/work/long.h5" | grep -o "\"$job\\\\000" | wc -l)
[ "$ids" = "$runs" ] && pass "every run records the job id" || fail "every run records the job id" "$ids of $runs"
wait $ref && pass "direct run of the long sweep" || fail "direct run of the long sweep" "$(cat "$TMP/long-ref.out")"
same_results "requeued job's file equals a direct run" "$TMP/long-ref.h5" "$TMP/work/long.h5" "${RESULTS[@]}"
wait $editor
grep -q "base_seed: 6" "$TMP/work/long.yaml" && grep -q "long.yaml has changed since .* resuming with the spec text stored in" "$log" &&
    pass "a spec edited while the requeued job waited: warned, the stored spec used (results equal)" ||
    fail "a spec edited while the requeued job waited" "$(grep -E 'base_seed|warning' "$TMP/work/long.yaml" "$log")"
grep -q "time limit near (SIGUSR1 from Slurm" "$log" && pass "the log says the time limit is near" ||
    fail "the log says the time limit is near" "$(grep neuromic.sbatch "$log")"
fi

# ---- 3. A user's SIGUSR1, then scancel, then the same command again ----
# 60 tasks of 0.3 s on one rank. Checkpoints only on a stop or at the end.
sed 's/work: 1.0/work: 0.3/' tests/slurm/long.yaml >"$TMP/work/user.yaml"
submit_user() {
    "$NM" submit "$TMP/work/user.yaml" -o "$TMP/work/user/u.h5" --ntasks-per-node 1 --time 10 \
        --sbatch --comment=neuromic-test >"$TMP/sub.out" 2>&1
    sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out"
}
# runs_started LOG N: until the job's log shows its Nth run computing (60 s).
runs_started() {
    local i
    for i in $(seq 120); do
        [ "$(grep -c 'tasks of kernel probe to run' "$1" 2>/dev/null)" -ge "$2" ] && return 0
        sleep 0.5
    done
    return 1
}
job=$(submit_user)
log="$TMP/work/user/u-$job.log"
runs_started "$log" 1 && sleep 3
scancel --signal=USR1 --batch "$job"
for i in $(seq 120); do grep -q "requeueing job $job" "$log" && break; sleep 0.5; done
grep -q "warning signal: SIGUSR1 from a user" "$log" && grep -q "requeueing job $job" "$log" &&
    pass "a user's SIGUSR1 is told from the time limit; the job checkpoints and requeues" ||
    fail "a user's SIGUSR1 is told from the time limit" "$(grep neuromic.sbatch "$log")"
! grep -q "Primary job\|mpirun detected" "$log" && pass "no mpirun banner after a clean stop" ||
    fail "no mpirun banner after a clean stop" "$(cat "$log")"
# Let the requeued run start, then cancel it.
for i in $(seq 240); do
    if grep -q 'Reason=BeginTime' <<<"$(scontrol -o show job "$job")" && [ "$(sinfo -h -o %t)" = idle ]; then
        scontrol update JobId="$job" StartTime=now >/dev/null 2>&1
    fi
    [ "$(grep -c 'tasks of kernel probe to run' "$log")" -ge 2 ] && break
    sleep 0.5
done
sleep 3
scancel "$job"
state=$(slurm_wait "$job" 120)
[ "$state" = CANCELLED ] && grep -q "cancelled; the sweep stopped cleanly" "$log" &&
    grep -q "resubmit the same command to resume" "$log" &&
    pass "scancel: the log says the sweep stopped cleanly and how to resume" ||
    fail "scancel: the log says the sweep stopped cleanly and how to resume" "state $state" "$(grep neuromic.sbatch "$log")"
! grep -q "not requeued\|Primary job\|mpirun detected" "$log" && pass "scancel: no failure message, no mpirun banner" ||
    fail "scancel: no failure message, no mpirun banner" "$(cat "$log")"
job=$(submit_user)
state=$(slurm_wait "$job" 180)
"$NM" status "$TMP/work/user/u.h5" --json >"$TMP/u.json"
[ "$state" = COMPLETED ] && grep -q "sweep complete" "$TMP/work/user/u-$job.log" &&
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d['done'] == 60 and [a['status'] for a in d['attempts']] == [3, 3, 0]))" "$TMP/u.json" &&
    pass "the same submit command again finishes the sweep (runs: 3, 3, 0)" ||
    fail "the same submit command again finishes the sweep" "state $state" "$(cat "$TMP/u.json")"

# ---- 4. What submit refuses, exit 4, afterany ----
expect_status "submit: an impossible request is refused before queueing" 2 "$NM" submit sweeps/demo.yaml \
    -o "$TMP/work/never/x.h5" --nodes 5 --time 5
grep -q "the cluster refuses this job" "$TMP/out" && [ ! -e "$TMP/work/never" ] &&
    [ -z "$(squeue -h -o %i)" ] && pass "refused: says so, nothing queued, no directory made" ||
    fail "refused: says so, nothing queued, no directory made" "$(cat "$TMP/out")" "$(ls "$TMP/work")"
expect_status "submit --test-only of a feasible job" 0 "$NM" submit sweeps/demo.yaml -o "$TMP/work/t/x.h5" --time 5 --test-only
grep -q "the cluster accepts the job; nothing was queued" "$TMP/out" && [ ! -e "$TMP/work/t" ] && [ -z "$(squeue -h -o %i)" ] &&
    pass "--test-only: nothing queued or created" || fail "--test-only: nothing queued or created" "$(cat "$TMP/out")"
"$NM" submit tests/data/sweeps/fail.yaml -o "$TMP/work/f.h5" --ntasks-per-node 1 --time 5 >"$TMP/sub.out" 2>&1
job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out")
sbatch --parsable --dependency=afterok:"$job" --output=/dev/null --wrap true >"$TMP/ok.id" 2>&1
sbatch --parsable --dependency=afterany:"$job" --output="$TMP/work/any.out" \
    --wrap "$NM status $TMP/work/f.h5 --json" >"$TMP/any.id" 2>&1
state=$(slurm_wait "$job" 120)
anystate=$(slurm_wait "$(cat "$TMP/any.id")" 60)
okinfo=$(scontrol -o show job "$(cat "$TMP/ok.id")" 2>/dev/null)
[ "$state" = FAILED ] && [ "$(slurm_field "$job" ExitCode)" = 4:0 ] && grep -q "chain analysis jobs with --dependency=afterany" "$TMP/work/f-$job.log" &&
    pass "a sweep with failed tasks: exit 4, job FAILED, the log says how to chain" ||
    fail "a sweep with failed tasks: exit 4, job FAILED" "state $state" "$(cat "$TMP/work/f-$job.log")"
[ "$anystate" = COMPLETED ] && grep -q '"failed": 4' "$TMP/work/any.out" &&
    { ! grep -q "JobState=COMPLETED" <<<"$okinfo"; } &&
    pass "afterany runs the analysis job (it sees the 4 failed tasks); afterok does not" ||
    fail "afterany runs the analysis job; afterok does not" "any: $anystate" "ok: $okinfo"
scancel "$(cat "$TMP/ok.id")" 2>/dev/null

# ---- 5. Bad input is not requeued; shut down ----
sbatch --time=1 --output="$TMP/work/bad-%j.log" "$JS" tests/data/sweeps/bad_param.yaml "$TMP/work/bad.h5" \
    >"$TMP/sub.out" 2>&1
job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$TMP/sub.out")
state=$(slurm_wait "$job" 60)
[ "$state" = FAILED ] && [ "$(slurm_field "$job" Restarts)" = 0 ] && grep -q 'bad input; not requeued' "$TMP/work/bad-$job.log" &&
    pass "a job with bad input fails and is not requeued" ||
    fail "a job with bad input fails and is not requeued" "state $state" "$(cat "$TMP/work/bad-$job.log")"

pids=("${SLURM_PIDS[@]}")
slurm_stop
alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
[ $alive = 0 ] && pass "cluster shut down" || fail "cluster shut down" "still running: ${pids[*]}"
