#!/usr/bin/env bash
# test_merge.sh: `neuromic merge` and a sampled sweep under the sanitizer build
# (tests/run passes NM=build/san/neuromic): two parts of a Sobol design run on
# 2 ranks and merged equal a run of the whole design bitwise (failed tasks
# included); overlapping parts are refused with exit 2, leaving no file.
# The full matrix is tests/python/test_merge.py.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/s.yaml" <<'YAML'
kernel: probe
base_seed: 3
fixed: {length: 2, fail_n: 4}
replicates: 2
sample:
  method: sobol
  n: 8
  params:
    x: {from: 0.1, to: 10, scale: log}
    n: {from: 0, to: 7}
YAML
run() { "${MPIRUN[@]}" -n 2 "$NM" run "$TMP/s.yaml" -o "$@" --quiet >>"$TMP/runs.log" 2>&1; }
run "$TMP/a.h5"; run "$TMP/b.h5" --set sample.skip=8; run "$TMP/u.h5" --set sample.n=16
expect_status "merge of two parts of a design" 0 "$NM" merge "$TMP/m.h5" "$TMP/a.h5" "$TMP/b.h5"
same_results "merged design equals one run of it" "$TMP/m.h5" "$TMP/u.h5" \
    value trace draw sample x n seed /tasks/status /tasks/checksum /tasks/error
expect_status "overlapping parts are refused" 2 "$NM" merge "$TMP/g.h5" "$TMP/a.h5" "$TMP/u.h5"
if grep -q "point 0 of axis 'sample' is in" "$TMP/out" && [ ! -e "$TMP/g.h5" ] &&
    ! ls "$TMP"/g.h5.* >/dev/null 2>&1; then
    pass "refusal names the value and leaves nothing"
else
    fail "refusal names the value and leaves nothing" "$(cat "$TMP/out")"
fi
