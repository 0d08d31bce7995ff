#!/usr/bin/env bash
# The random interruption trial (README "What survives what"): TRIALS runs
# (default 100) of tests/data/sweeps/slow.yaml on 1-3 ranks, each
# interrupted at a random moment, of start-up or of the sweep, by one of:
# kill -9 of the whole job, kill -9 of one rank, SIGTERM to every rank; then
# resumed (on 1-3 ranks, again until it completes) and compared bit for bit
# with an uninterrupted run. Prints one line per trial and "held H of T".
# Usage: NM=build/neuromic tests/trials/interrupt.sh [TRIALS] [SEED]
set -u
cd "$(dirname "$0")/../.."
NM=${NM:-$PWD/build/neuromic}
TRIALS=${1:-100}
RANDOM=${2:-20261129}
SLOW=tests/data/sweeps/slow.yaml
TMP=$(mktemp -d "${TMPDIR:-/tmp}/neuromic-trial.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
MPIRUN=(mpirun --oversubscribe)
raw() { h5dump -d "$2" -b LE -o "$3" "$1" >/dev/null 2>&1; }
same() {
    local d
    for d in /value /trace /draw /tasks/status; do
        raw "$TMP/ref.h5" $d "$TMP/a.bin" && raw "$1" $d "$TMP/b.bin" && cmp -s "$TMP/a.bin" "$TMP/b.bin" || return 1
    done
}
rank_pids() { pgrep -f -- "^$NM run .* -o $1" || true; }
"${MPIRUN[@]}" -n 2 "$NM" run "$SLOW" -o "$TMP/ref.h5" --quiet || { echo "reference run failed"; exit 1; }
held=0
for t in $(seq "$TRIALS"); do
    f=$TMP/t$t.h5
    ranks=$((RANDOM % 3 + 1)) how=$((RANDOM % 3)) wait_ms=$((RANDOM % 3500))
    "${MPIRUN[@]}" -n $ranks "$NM" run "$SLOW" -o "$f" --quiet >"$TMP/run.out" 2>&1 &
    job=$!
    sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
    pids=$(rank_pids "$f")
    case $how in
        0) what="kill -9 job"; kill -9 $job $pids 2>/dev/null ;;
        1) what="kill -9 one rank"; kill -9 $(echo $pids | tr ' ' '\n' | head -n $((RANDOM % ranks + 1)) | tail -1) 2>/dev/null ;;
        2) what="SIGTERM"; kill -TERM $pids 2>/dev/null ;;
    esac
    wait $job 2>/dev/null; rc=$?
    for i in $(seq 100); do [ -z "$(rank_pids "$f")" ] && break; sleep 0.1; done
    state=$([ -e "$f" ] && echo "file, $(h5dump -d /tasks/status -y -w 0 "$f" 2>/dev/null | grep -o '\b1\b' | wc -l) done" || echo "no file")
    ok=1 resumes=0
    for r in 1 2 3; do
        rr=$((RANDOM % 3 + 1))
        "${MPIRUN[@]}" -n $rr "$NM" run "$SLOW" -o "$f" --resume --quiet >"$TMP/res.out" 2>&1; rrc=$?
        resumes=$r
        [ $rrc -eq 0 ] && break
        [ $rrc -ne 3 ] && { ok=0; break; }
    done
    [ $ok = 1 ] && same "$f" && held=$((held + 1)) && verdict=held || verdict="FAILED (status $rrc: $(grep -v -e '^-*$' -e '^\s*$' "$TMP/res.out" | tail -4 | tr '\n' ' '))"
    echo "trial $t: $ranks rank(s), $what after $wait_ms ms (status $rc, $state), $resumes resume(s): $verdict"
    rm -f "$f" "$f".*
done
echo "held $held of $TRIALS"
