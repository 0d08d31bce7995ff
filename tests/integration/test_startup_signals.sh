#!/usr/bin/env bash
# A stop signal at any moment of start-up (README "What survives what"):
# exit status 3 and either no file (then --resume starts the sweep) or a file
# that --resume completes, bitwise equal to an uninterrupted run.
# One rank: the run is started with SIGTERM blocked (as a launcher may do),
# and the signal is sent at a sweep of delays from the moment the program is
# executing, from 0 (still in the dynamic loader, before main) on: a signal
# before main stays pending until main installs its handlers, so none is lost
# and none kills the process. Several ranks: SIGTERM to every rank at a sweep
# of delays from when the ranks exist.
. "$(dirname "$0")/lib.sh"

SP=tests/data/sweeps/startup.yaml
RESULTS=(/value /trace /draw /tasks/status)
expect_status "reference run" 0 "$NM" run "$SP" -o "$TMP/ref.h5" --quiet

# after_signal NAME FILE RC: the outcome of a signalled run, then its resume.
tried=0 held=0 nofile=0
after_signal() {
    local name=$1 f=$2 rc=$3 d ok=1
    tried=$((tried + 1))
    if [ "$rc" -ne 3 ] && [ "$rc" -ne 0 ]; then
        fail "$name: exit status 3" "got $rc" "$(tail -3 "$TMP/sig.out")"; return
    fi
    [ -e "$f" ] || nofile=$((nofile + 1))
    "$NM" run "$SP" -o "$f" --resume --quiet >"$TMP/res.out" 2>&1 ||
        { fail "$name: resume completes" "$(tail -3 "$TMP/res.out")"; return; }
    for d in "${RESULTS[@]}"; do
        dump_raw "$TMP/ref.h5" "$d" "$TMP/a.bin" && dump_raw "$f" "$d" "$TMP/b.bin" &&
            cmp -s "$TMP/a.bin" "$TMP/b.bin" || ok=0
    done
    [ $ok = 1 ] && held=$((held + 1)) || fail "$name: resumed file equals an uninterrupted run"
}

# Starts NM with SIGTERM blocked; $pid once it runs the program.
start_blocked() {
    /usr/bin/python3 -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
os.execv(sys.argv[1], sys.argv[1:])' "$NM" "$@" >"$TMP/sig.out" 2>&1 &
    pid=$!
    local i nm
    nm=$(readlink -f "$NM")
    for i in $(seq 5000); do
        [ "$(readlink /proc/$pid/exe 2>/dev/null)" = "$nm" ] && break
    done
}

for d in 0 0.005 0.01 0.02 0.04 0.07 0.1 0.15 0.2 0.3 0.4 0.5 0.7 1.0 1.5 2.5; do
    f=$TMP/one-$d.h5
    start_blocked run "$SP" -o "$f" --quiet
    sleep "$d"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    after_signal "1 rank, SIGTERM ${d} s after exec" "$f" $rc
done
one="$held of $tried (no file: $nofile)"

# Under mpirun the ranks start with the launcher's signal mask, so a signal
# that comes before main kills them; the sweep starts when both ranks catch
# SIGTERM (SigCgt in /proc: main has run its first instruction).
rank_pids() { pgrep -f -- "^$NM run .* -o $1" || true; }
catching() { # PIDS: all of them catch SIGTERM
    local p m
    for p in "$@"; do
        m=$(awk '/^SigCgt/ { print $2 }' /proc/$p/status 2>/dev/null)
        [ -n "$m" ] && (( 0x$m & 0x4000 )) || return 1
    done
}
for d in 0 0.02 0.05 0.1 0.2 0.3 0.5 0.8; do
    f=$TMP/two-$d.h5
    "${MPIRUN[@]}" -n 2 "$NM" run "$SP" -o "$f" --quiet >"$TMP/sig.out" 2>&1 &
    job=$!
    for i in $(seq 3000); do
        pids=$(rank_pids "$f")
        [ "$(echo $pids | wc -w)" -ge 2 ] && catching $pids && break
    done
    sleep "$d"
    kill -TERM $(rank_pids "$f") 2>/dev/null
    wait $job; rc=$?
    after_signal "2 ranks, SIGTERM ${d} s after the ranks started" "$f" $rc
done
[ "$held" = "$tried" ] && pass "stop signals during start-up: $held of $tried held (1 rank: $one)" ||
    fail "stop signals during start-up" "$held of $tried held"
echo "start-up signals: $held of $tried held; 1 rank: $one"
