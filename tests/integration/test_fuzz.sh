# test_fuzz.sh: the spec reader under libFuzzer (ASan + UBSan), bounded.
#
# build/fuzz/fuzz_spec (tests/fuzz/fuzz_spec.c; `make fuzz`, and `make check`
# builds it when Debian's clang and its libFuzzer runtime are installed):
#   1. replays every kept input: tests/fuzz/corpus/ (seeds, edge cases,
#      inputs found by longer campaigns, former crashes) and the spec files of
#      tests/data/ and sweeps/, and checks that the harness reaches both the
#      success and the error path;
#   2. fuzzes for FUZZ_SECONDS (default 30) from a fixed seed (FUZZ_SEED),
#      starting from those inputs; new inputs go to a temporary directory.
# Any sanitizer report, leak, timeout or broken contract fails the test and
# leaves the reproducer under build/fuzz/artifacts/.
source "$(dirname "$0")/lib.sh"

FUZZ=build/fuzz/fuzz_spec
SECONDS_BUDGET=${FUZZ_SECONDS:-30}
SEED=${FUZZ_SEED:-20261122}
CORPORA=(tests/fuzz/corpus tests/data/specs tests/data/sweeps sweeps)

runtime=$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null)
if ! command -v clang >/dev/null 2>&1 || [ ! -e "$runtime" ]; then
    echo "SKIP: clang or its libFuzzer runtime is not installed (Debian packages clang,"
    echo "      libclang-rt-dev; as root, scripts/deps.sh installs them)"
    exit 0
fi
if [ ! -x "$FUZZ" ]; then
    fail "fuzz harness built" "$FUZZ is missing: run 'make fuzz' (needs libFuzzer: libclang-rt-dev)"
    exit 0
fi

# The run is bounded by time; a single input gets at most 10 s and 2 GB.
OPTS=(-timeout=10 -rss_limit_mb=2048 -dict=tests/fuzz/spec.dict)
mkdir -p build/fuzz/artifacts

# 1. Replay, with each input's outcome printed.
inputs=()
for d in "${CORPORA[@]}"; do
    for f in "$d"/*; do [ -f "$f" ] && inputs+=("$f"); done
done
NM_FUZZ_REPORT=1 nice "$FUZZ" "${OPTS[@]}" -artifact_prefix=build/fuzz/artifacts/ "${inputs[@]}" \
    >"$TMP/replay.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
    pass "replay of ${#inputs[@]} kept inputs is clean"
else
    fail "replay of ${#inputs[@]} kept inputs is clean" "exit status $rc" \
        "$(grep -E 'Running:|ERROR|SUMMARY|contract|#[0-9]+ ' "$TMP/replay.log" | tail -40)"
fi
ok=$(grep -c '^fuzz_spec: ok' "$TMP/replay.log")
err=$(grep -c '^fuzz_spec: error: ' "$TMP/replay.log")
if [ "$ok" -gt 0 ] && [ "$err" -gt 0 ] && [ $((ok + err)) -eq ${#inputs[@]} ]; then
    pass "replay reaches both paths: $ok specs accepted, $err refused"
else
    fail "replay reaches both paths" "accepted $ok, refused $err, of ${#inputs[@]} inputs"
fi
grep -q "^fuzz_spec: error: fuzz.yaml:3:3: grid.lenght: unknown parameter 'lenght'" "$TMP/replay.log" &&
    pass "replayed bad spec gives its positioned message" ||
    fail "replayed bad spec gives its positioned message" "$(grep lenght "$TMP/replay.log")"

# 2. A bounded fuzz run from a fixed seed.
mkdir -p "$TMP/new"
nice "$FUZZ" "${OPTS[@]}" -seed="$SEED" -max_total_time="$SECONDS_BUDGET" -print_final_stats=1 \
    -artifact_prefix=build/fuzz/artifacts/ "$TMP/new" "${CORPORA[@]}" >"$TMP/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz.log")
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$TMP/fuzz.log")
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$TMP/fuzz.log" | tail -1)
echo "fuzz run: seed $SEED, ${SECONDS_BUDGET} s, ${runs:-?} inputs, ${speed:-?} exec/s, ${cov:-?}"
if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
    pass "fuzzing the spec reader for ${SECONDS_BUDGET} s finds nothing"
else
    fail "fuzzing the spec reader for ${SECONDS_BUDGET} s finds nothing" "exit status $rc" \
        "$(grep -E -A30 'ERROR|contract broken|Test unit written' "$TMP/fuzz.log" | head -60)"
fi
