# test_ckpt_budget.sh: a rank that has buffered about 8 MiB of results forces
# a checkpoint before checkpoint_every has passed (src/sched/sched.c,
# CKPT_BUFFER_BYTES), so a rank's memory does not grow with the sweep; the
# file is the same as with the only checkpoint at the end.
source "$(dirname "$0")/lib.sh"

# 1200 tasks with a 4000-element trace (32 kB a row): about 250 rows fill the
# budget, while checkpoint_every (600 s) never comes due.
cat >"$TMP/big_rows.yaml" <<'EOF'
kernel: probe
fixed:
  length: 4000
grid:
  n: {from: 0, to: 1199, step: 1}
output:
  checkpoint_every: 600
EOF
for n in 1 2; do
    expect_status "big rows on $n rank(s)" 0 "${MPIRUN[@]}" -n $n "$NM" run "$TMP/big_rows.yaml" \
        -o "$TMP/b$n.h5" --progress 600
    k=$(sed -n 's/.*; \([0-9]*\) checkpoints\{0,1\} took.*/\1/p' "$TMP/out")
    [ -n "$k" ] && [ "$k" -ge 2 ] && pass "full buffers force checkpoints on $n rank(s) ($k)" ||
        fail "full buffers force checkpoints on $n rank(s)" "checkpoints: '${k}'" "$(tail -3 "$TMP/out")"
done
same_results "forced checkpoints leave the same results" "$TMP/b1.h5" "$TMP/b2.h5" \
    /value /trace /draw /tasks/status

# Small rows: 72 tasks never fill the budget, so only the final checkpoint.
expect_status "small sweep" 0 "${MPIRUN[@]}" -n 2 "$NM" run tests/data/sweeps/small.yaml \
    --set output.checkpoint_every=600 -o "$TMP/s.h5" --progress 600
grep -q '; 1 checkpoint took' "$TMP/out" && pass "no forced checkpoint below the budget" ||
    fail "no forced checkpoint below the budget" "$(tail -3 "$TMP/out")"

# A checkpoint comes due (checkpoint_every 0.2 s) long before either rank has finished its
# one task (1.5 s of CPU each): with nothing to save it is not issued, so the ranks do not
# wait for each other mid-run and the final checkpoint is the only one.
cat >"$TMP/long.yaml" <<'EOF2'
kernel: probe
fixed:
  work: 1.5
grid:
  n: [0, 1]
output:
  checkpoint_every: 0.2
EOF2
expect_status "two long tasks" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$TMP/long.yaml" \
    -o "$TMP/l.h5" --progress 600
grep -q '; 1 checkpoint took' "$TMP/out" && pass "no checkpoint before a task has finished" ||
    fail "no checkpoint before a task has finished" "$(tail -3 "$TMP/out")"
