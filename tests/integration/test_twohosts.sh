#!/usr/bin/env bash
# test_twohosts.sh: one sweep whose ranks run on two hosts. The hosts are
# two network namespaces joined by a veth pair on a private subnet
# (10.231.0.1 and .2), each with its own host name (a UTS namespace). Open
# MPI starts its daemon on the second host through a launch agent of ours
# (in place of ssh) that enters that host's namespaces, and the ranks talk
# over TCP on the veth pair only. The file must be complete, bitwise equal
# to a single-host run, and name both hosts in its provenance. Root only
# (it makes namespaces and links); SKIP otherwise. About 20 s.
. "$(dirname "$0")/lib.sh"

SPEC=tests/data/sweeps/small.yaml
RESULTS=(/value /trace /draw /tasks/status)
HOST_A=neuromic-host-a HOST_B=neuromic-host-b
NS_A=nm2h-a-$$ NS_B=nm2h-b-$$
VETH_A=nm2ha$$ VETH_B=nm2hb$$ # at most 15 characters

skip() { echo "SKIP: two-host test: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces"
for c in ip unshare timeout; do
    command -v $c >/dev/null 2>&1 || skip "$c is missing (Debian packages iproute2, util-linux, coreutils)"
done

cleanup() {
    local ns p
    for ns in "$NS_A" "$NS_B"; do
        # Whatever of ours still runs inside (after a failure), then the
        # namespace; the veth pair goes with it.
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP # so that the EXIT trap cleans up then too

# ---- The two hosts ----
ip netns add "$NS_A" 2>"$TMP/ns.err" && ip netns add "$NS_B" 2>>"$TMP/ns.err" ||
    skip "cannot make network namespaces: $(head -1 "$TMP/ns.err")"
if ! { ip link add "$VETH_A" type veth peer name "$VETH_B" &&
       ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" &&
       ip -n "$NS_A" addr add 10.231.0.1/24 dev "$VETH_A" && ip -n "$NS_A" link set "$VETH_A" up &&
       ip -n "$NS_A" link set lo up &&
       ip -n "$NS_B" addr add 10.231.0.2/24 dev "$VETH_B" && ip -n "$NS_B" link set "$VETH_B" up &&
       ip -n "$NS_B" link set lo up; } 2>"$TMP/veth.err"; then
    skip "cannot join the namespaces with a veth pair: $(head -1 "$TMP/veth.err")"
fi
ip netns exec "$NS_B" unshare --uts sh -c "hostname $HOST_B" 2>"$TMP/uts.err" ||
    skip "cannot give a namespace its own host name: $(head -1 "$TMP/uts.err")"
pass "two hosts: namespaces joined by a veth pair"

# The launch agent, called by mpirun as it would call ssh:
#   agent [ssh options] HOST COMMAND WORDS...
# It runs the command (Open MPI's daemon) with a shell, as sshd would, in
# the host's network namespace under its host name.
cat >"$TMP/agent" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1; shift
case \$host in
    10.231.0.2 | $HOST_B) exec ip netns exec $NS_B unshare --uts sh -c "hostname $HOST_B && \$*" ;;
    *) echo "agent: unknown host \$host" >&2; exit 255 ;;
esac
EOF
chmod +x "$TMP/agent"

# mpirun itself, and the ranks it starts locally, run on the first host.
on_host_a() { ip netns exec "$NS_A" unshare --uts sh -c "hostname $HOST_A && exec \"\$@\"" sh "$@"; }
TCP=(--mca plm_rsh_agent "$TMP/agent" --mca btl tcp,self
     --mca btl_tcp_if_include 10.231.0.0/24 --mca oob_tcp_if_include 10.231.0.0/24)

expect_status "Open MPI starts a rank on each host" 0 on_host_a timeout 60 "${MPIRUN[@]}" "${TCP[@]}" \
    --host 10.231.0.1:1,10.231.0.2:1 -n 2 hostname
[ "$(sort "$TMP/out" | tr '\n' ' ')" = "$HOST_A $HOST_B " ] && pass "ranks report both host names" ||
    fail "ranks report both host names" "$(cat "$TMP/out")"

# ---- One sweep across the two hosts, two ranks on each ----
expect_status "sweep on 4 ranks over 2 hosts" 0 on_host_a timeout 180 "${MPIRUN[@]}" "${TCP[@]}" \
    --host 10.231.0.1:2,10.231.0.2:2 -n 4 "$NM" run "$SPEC" -o "$TMP/two.h5"
expect_status "sweep on 2 ranks on one host" 0 "${MPIRUN[@]}" -n 2 "$NM" run "$SPEC" -o "$TMP/one.h5" --quiet
same_results "two-host file equals a single-host run" "$TMP/one.h5" "$TMP/two.h5" "${RESULTS[@]}"
status=$(dump_values "$TMP/two.h5" /tasks/status)
[ -n "$status" ] && [ -z "$(tr -d ' 1' <<<"$status")" ] && pass "two-host file is complete" ||
    fail "two-host file is complete" "status: $status"
hosts=$(h5dump -a /hosts "$TMP/two.h5" 2>/dev/null)
grep -q "0 $HOST_A" <<<"$hosts" && grep -q "1 $HOST_A" <<<"$hosts" && grep -q "2 $HOST_B" <<<"$hosts" &&
    grep -q "3 $HOST_B" <<<"$hosts" && pass "root attribute hosts names both hosts" ||
    fail "root attribute hosts names both hosts" "$hosts"
ah=$(h5dump -d /attempts/hosts "$TMP/two.h5" 2>/dev/null | grep -o '(0): "[^\\]*')
grep -q "$HOST_A" <<<"$ah" && grep -q "$HOST_B" <<<"$ah" && pass "/attempts/hosts names both hosts" ||
    fail "/attempts/hosts names both hosts" "$ah"
th=$(h5dump -d /tasks/host "$TMP/two.h5" 2>/dev/null)
grep -q "$HOST_A" <<<"$th" && grep -q "$HOST_B" <<<"$th" && pass "tasks ran on both hosts (/tasks/host)" ||
    fail "tasks ran on both hosts (/tasks/host)"
