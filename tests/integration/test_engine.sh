# test_engine.sh: the sweep engine end to end, at 1 to 4 ranks.
source "$(dirname "$0")/lib.sh"
SMALL=tests/data/sweeps/small.yaml

# CLI basics.
expect_status "kernels lists probe" 0 "$NM" kernels
grep -q '^probe ' "$TMP/out" || fail "kernels output names probe"
expect_status "describe probe" 0 "$NM" describe probe
grep -q 'fail_n' "$TMP/out" && grep -q 'trace_i' "$TMP/out" || fail "describe shows params and outputs"
expect_status "describe unknown kernel is bad input" 2 "$NM" describe nope
expect_status "plan small sweep" 0 "$NM" plan "$SMALL"
grep -q 'tasks: *72' "$TMP/out" && pass "plan counts 72 tasks" || fail "plan counts 72 tasks" "$(cat "$TMP/out")"
expect_status "unknown command is bad input" 2 "$NM" frobnicate
expect_status "run without -o is bad input" 2 "$NM" run "$SMALL"

# Determinism: the same bytes on 1, 2, 3 and 4 ranks.
for n in 1 2 3 4; do
    expect_status "run small sweep on $n ranks" 0 "${MPIRUN[@]}" -n $n "$NM" run "$SMALL" -o "$TMP/r$n.h5" --quiet
done
for n in 2 3 4; do
    same_results "results on $n ranks equal 1 rank" "$TMP/r1.h5" "$TMP/r$n.h5" /value /trace /draw /tasks/status
done
status=$(dump_values "$TMP/r4.h5" /tasks/status)
[ -n "$status" ] && [ -z "$(tr -d ' 1' <<<"$status")" ] && [ "$(wc -w <<<"$status")" = 72 ] &&
    pass "all tasks done on 4 ranks" || fail "all tasks done on 4 ranks" "got: $status"
h5dump -a /ranks "$TMP/r3.h5" | grep -q '(0): 3' && pass "provenance records 3 ranks" || fail "provenance records 3 ranks"

# Failed tasks: chosen points fail, the rest finishes, exit status 4.
expect_status "failing tasks exit 4" 4 "${MPIRUN[@]}" -n 3 "$NM" run tests/data/sweeps/fail.yaml -o "$TMP/fail.h5"
grep -q 'asked to fail at n=2' "$TMP/out" && grep -q 'NaN' "$TMP/out" &&
    pass "summary names the failed tasks" || fail "summary names the failed tasks" "$(cat "$TMP/out")"
status=$(dump_values "$TMP/fail.h5" /tasks/status)
[ "$status" = "1 1 1 1 2 2 2 2 1 1 1 1" ] && pass "status marks exactly the chosen points failed" ||
    fail "status marks exactly the chosen points failed" "got: $status"
h5dump -d /tasks/error "$TMP/fail.h5" | grep -q "output 'value' element 0 is NaN" &&
    pass "NaN output recorded as failure" || fail "NaN output recorded as failure"

# Never overwrite without --force; bad input touches no file.
sum=$(sha256sum <"$TMP/r1.h5")
expect_status "existing output refused" 2 "$NM" run "$SMALL" -o "$TMP/r1.h5"
grep -q 'exists; pass --resume to continue it or --force to overwrite it' "$TMP/out" || fail "refusal says how to continue or overwrite"
[ "$(sha256sum <"$TMP/r1.h5")" = "$sum" ] && pass "refused file unchanged" || fail "refused file unchanged"
expect_status "existing output refused on 2 ranks" 2 "${MPIRUN[@]}" -n 2 "$NM" run "$SMALL" -o "$TMP/r1.h5"
expect_status "--force overwrites" 0 "$NM" run "$SMALL" -o "$TMP/r1.h5" --force --set base_seed=8 --quiet
[ "$(sha256sum <"$TMP/r1.h5")" != "$sum" ] && pass "--force wrote a new file" || fail "--force wrote a new file"
expect_status "bad spec is bad input" 2 "${MPIRUN[@]}" -n 2 "$NM" run tests/data/sweeps/bad_param.yaml -o "$TMP/bad.h5"
grep -q "bad_param.yaml:3:3" "$TMP/out" && grep -q "did you mean 'length'" "$TMP/out" &&
    pass "bad spec error names file, line, column and suggestion" ||
    fail "bad spec error names file, line, column and suggestion" "$(cat "$TMP/out")"
[ ! -e "$TMP/bad.h5" ] && pass "bad spec creates no file" || fail "bad spec creates no file"
expect_status "bad --set is bad input" 2 "$NM" run "$SMALL" -o "$TMP/bad.h5" --set n=-4
[ ! -e "$TMP/bad.h5" ] && pass "bad --set creates no file" || fail "bad --set creates no file"
ls "$TMP" | grep -q 'tmp' && fail "no temporary files left behind" "$(ls "$TMP")" || pass "no temporary files left behind"

# Other tools read the file.
check "h5dump -H reads the file" h5dump -H "$TMP/r2.h5" >/dev/null
check "ncdump -h reads the file" ncdump -h "$TMP/r2.h5" >/dev/null

# Provenance.
for a in neuromic_version git_commit compiler mpi_library hdf5_version gsl_version hosts command_line \
    working_directory user start_time end_time rng_type base_seed spec_text spec_sha256; do
    h5dump -a "/$a" "$TMP/r2.h5" >/dev/null 2>&1 || missing_attrs+=" $a"
done
[ -z "${missing_attrs:-}" ] && pass "provenance attributes present" ||
    fail "provenance attributes present" "missing:$missing_attrs"
want=$(sha256sum "$SMALL" | cut -c1-64)
h5dump -a /spec_sha256 "$TMP/r2.h5" | grep -q "$want" && pass "spec hash matches the file" || fail "spec hash matches the file"
