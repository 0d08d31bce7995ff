# test_nk_ranks.sh: the nk kernel's results do not depend on the number of
# ranks: a small nk sweep (three models, both decoder precisions, sigmoid and
# tanh decoders) gives the same bytes in every output on 1 and 3 ranks. The
# vectorised loops sum in a fixed lane order and every task draws from its own
# streams, so which rank runs a task, and after which others, must not matter.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/nk.yaml" <<'YAML'
kernel: nk
base_seed: 7
fixed:
  H: 3
  cycles: 300
  train_size: 37
  test_size: 29
  record_every: 50
grid:
  N: [6, 11]
  K: [2]
  model: [mlp, nmlp, hmlp]
  decoder_precision: [single, double]
  decoder_act: [sigmoid, tanh]
replicates: 2
YAML

for n in 1 3; do
    expect_status "nk sweep on $n rank(s)" 0 "${MPIRUN[@]}" -n $n "$NM" run "$TMP/nk.yaml" \
        -o "$TMP/nk$n.h5" --quiet
done
same_results "nk results on 3 ranks equal 1 rank" "$TMP/nk1.h5" "$TMP/nk3.h5" \
    /train_mse /test_mse /recon_mse /train_curve /test_curve /accepted_hidden /accepted_output \
    /hidden_cycles /nparams /tasks/status /tasks/checksum
status=$(dump_values "$TMP/nk3.h5" /tasks/status)
[ "$(wc -w <<<"$status")" = 48 ] && [ -z "$(tr -d ' 1' <<<"$status")" ] &&
    pass "nk: all 48 tasks done on 3 ranks" || fail "nk: all 48 tasks done on 3 ranks" "got: $status"
# The two precisions really give different reconstruction errors for nmlp
# and hmlp (else the sweep would not test both paths); axes: N, K, model,
# decoder_precision, decoder_act, replicate.
/usr/bin/python3 - "$TMP/nk1.h5" <<'PY' && pass "nk: single and double decoder precision differ" ||
import sys
import h5py
x = h5py.File(sys.argv[1], "r")["recon_mse"][...]
sys.exit(0 if x.shape == (2, 1, 3, 2, 2, 2) and (x[:, :, 1:, 0] != x[:, :, 1:, 1]).all() else 1)
PY
    fail "nk: single and double decoder precision differ"
