#!/usr/bin/env bash
# `plan --calibrate N` (and submit's): sample tasks run here turn the cost
# estimate into seconds, and a --time too short for the work per rank is
# warned about (README "Estimating the wall time"). The probe kernel burns
# `work` seconds of CPU per task and its cost is `work`, so the seconds per
# cost unit must come out near 1 (more on a loaded machine: wall time).
. "$(dirname "$0")/lib.sh"

SLOW=tests/data/sweeps/slow.yaml # 96 tasks of 40 ms

expect_status "plan --calibrate 8" 0 "$NM" plan "$SLOW" --calibrate 8 --ranks 2
per=$(sed -n 's/^calibration: 8 tasks run here in .* s per cost unit$/&/p' "$TMP/out" |
      sed 's/.*: \([0-9.e+-]*\) s per cost unit$/\1/')
# At least the CPU time (0.8: clock granularity); at most what a machine
# shared by many busy processes stretches it to.
awk -v p="${per:-0}" 'BEGIN { exit !(p >= 0.8 && p <= 40) }' &&
    pass "calibration: $per s per cost unit for a kernel whose cost is its CPU seconds (load $(cut -d' ' -f1 /proc/loadavg))" ||
    fail "calibration: seconds per cost unit near 1" "$(cat "$TMP/out")"
grep -q "^estimate: .* per rank on 2 ranks" "$TMP/out" && ! grep -q "^warning" "$TMP/out" &&
    pass "calibration: an estimate per rank, no warning without --time" || fail "calibration: estimate" "$(cat "$TMP/out")"

# 96 x 0.5 s = 48 s of work (more under load) on one rank: a 2-minute limit
# (30 s warning, 60 s slack) leaves 30 s a run, so two runs or more; an hour
# holds it in one.
expect_status "plan --calibrate with a short --time" 0 "$NM" plan "$SLOW" --set fixed.work=0.5 --calibrate 2 --time 2
grep -q "^warning: --time 0-00:02:00 is short for the work per rank: about \([2-9]\|[1-9][0-9]\+\) job runs" "$TMP/out" &&
    pass "a short --time: warned, with the number of runs" || fail "a short --time: warned" "$(cat "$TMP/out")"
grep -q "requeue.*overhead.*--time .* finishes in one run" "$TMP/out" &&
    pass "a short --time: the requeue overhead and a --time that suffices" || fail "a short --time: overhead" "$(cat "$TMP/out")"
expect_status "plan --calibrate with a long --time" 0 "$NM" plan "$SLOW" --set fixed.work=0.5 --calibrate 2 --time 1:00:00
! grep -q "^warning" "$TMP/out" && pass "a long --time: no warning" || fail "a long --time: no warning" "$(cat "$TMP/out")"
# A limit of 65 s: 16 s of warning and 60 s of slack leave no time to work.
expect_status "plan --calibrate, a limit with no room for work" 0 "$NM" plan "$SLOW" --set fixed.work=0.5 \
    --set n=0 --set x=0 --set replicates=1 --set mode=a --calibrate 1 --time 1:05
grep -q "leaves 0 s of work per job run .* the sweep would never finish" "$TMP/out" &&
    pass "a limit with no room for work is warned about" ||
    fail "a limit with no room for work is warned about" "$(cat "$TMP/out")"
expect_status "submit --calibrate --dry-run" 0 "$NM" submit "$SLOW" -o "$TMP/s.h5" --calibrate 2 --time 2 \
    --set fixed.work=0.5 --ntasks-per-node 1 --dry-run
grep -q "^calibration: 2 tasks" "$TMP/out" && grep -q "^warning: --time 0-00:02:00 is short" "$TMP/out" &&
    pass "submit --calibrate warns about its --time" || fail "submit --calibrate warns about its --time" "$(head -5 "$TMP/out")"
expect_status "run refuses --calibrate" 2 "$NM" run "$SLOW" -o "$TMP/r.h5" --calibrate 2
[ ! -e "$TMP/r.h5" ] && pass "run refuses --calibrate: no file" || fail "run refuses --calibrate: no file"
expect_status "plan --calibrate 0 is bad input" 2 "$NM" plan "$SLOW" --calibrate 0
