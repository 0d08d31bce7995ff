# cluster.sh: a one-node Slurm cluster on this machine, for the tests
# (sourced by tests/integration/test_slurm.sh). It runs munged, slurmctld
# and slurmd as root with every file under one temporary directory, so it
# touches neither /etc/slurm nor a system munged, and stops them all again.
#
#   slurm_need           prints why the cluster cannot run (empty: it can);
#                        installs slurm-wlm and munge with apt-get when root
#   slurm_start DIR      starts the daemons, config in DIR; exports SLURM_CONF
#   slurm_stop           kills the daemons started by slurm_start
#   slurm_wait JOBID SEC [hurry]  waits until the job has ended; prints its state
#   slurm_field JOBID NAME        one field of `scontrol show job`

SLURM_PIDS=()

slurm_need() {
    local missing=() p
    if [ "$(id -u)" != 0 ]; then
        echo "needs root to run munged, slurmctld and slurmd"
        return 0
    fi
    for p in sbatch:slurm-client slurmctld:slurmctld slurmd:slurmd munged:munge; do
        command -v "${p%%:*}" >/dev/null 2>&1 || missing+=("${p#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "apt-get is not available to install ${missing[*]}"
        return 0
    fi
    # Daemons must not start from the package scripts; we start our own.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        slurm-wlm munge >"${TMP:-/tmp}/apt-slurm.log" 2>&1; then
        # A fresh machine may have no package lists yet.
        apt-get update >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                slurm-wlm munge >"${TMP:-/tmp}/apt-slurm.log" 2>&1 ||
            { echo "apt-get install slurm-wlm munge failed: $(tail -1 "${TMP:-/tmp}/apt-slurm.log")"; return 0; }
    fi
    for p in sbatch slurmctld slurmd munged; do
        command -v $p >/dev/null 2>&1 || { echo "$p still missing after installing slurm-wlm and munge"; return 0; }
    done
}

# Two free TCP ports near a random base (ss is in iproute2, which Debian
# always has; without it the ports are taken as free).
slurm_ports() {
    local base=$((20000 + RANDOM % 20000)) p
    for p in $(seq $base $((base + 200))); do
        if ! ss -ltnH 2>/dev/null | awk '{print $4}' | grep -q ":$p\$" &&
           ! ss -ltnH 2>/dev/null | awk '{print $4}' | grep -q ":$((p + 1))\$"; then
            echo "$p $((p + 1))"
            return
        fi
    done
    echo "$base $((base + 1))"
}

slurm_start() {
    local dir=$1 here ctld slurmd_port host cpus i
    here=$(dirname "${BASH_SOURCE[0]}")
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
    chmod 700 "$dir" "$dir/munge"
    # munge: a fresh key, our own socket; --force because the directory is
    # under /tmp (sticky, world-writable), which munged would refuse.
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed" || return 1
    for i in $(seq 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
    SLURM_PIDS+=("$(cat "$dir/munge/munged.pid")")

    read -r ctld slurmd_port < <(slurm_ports)
    host=$(hostname -s)
    cpus=$(nproc)
    sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" \
        -e "s|@CTLD_PORT@|$ctld|g" -e "s|@SLURMD_PORT@|$slurmd_port|g" \
        "$here/slurm.conf.in" >"$dir/slurm.conf"
    export SLURM_CONF=$dir/slurm.conf
    # -D: stay in the foreground (we hold the pid); -i: ignore old state.
    slurmctld -D -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    slurmd -D -f "$SLURM_CONF" -N "$host" >"$dir/slurmd.out" 2>&1 &
    SLURM_PIDS+=($!)
    # Up when the node is idle (at most 30 s).
    for i in $(seq 150); do
        sinfo -h -o %t 2>/dev/null | grep -qx 'idle' && return 0
        sleep 0.2
    done
    return 1
}

slurm_stop() {
    local p jobs
    [ ${#SLURM_PIDS[@]} -eq 0 ] && return 0
    # Jobs first: their slurmstepd and ranks would outlive the daemons.
    jobs=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$jobs" ]; then
        scancel $jobs 2>/dev/null
        for p in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    for p in "${SLURM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in $(seq 50); do
        local alive=0 q
        for q in "${SLURM_PIDS[@]}"; do kill -0 "$q" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${SLURM_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    SLURM_PIDS=()
}

# slurm_wait JOBID SECONDS [hurry]: until the job has ended for good (not
# pending, running, signalled, requeued or completing); prints its final
# state. Slurm
# holds a requeued job for two minutes (its BeginTime) before it may start
# again; with "hurry" the wait lifts that hold (scontrol update
# StartTime=now, as the job's owner may), so that a test need not idle.
slurm_wait() {
    local job=$1 limit=$2 hurry=${3:-} t info state held=0
    for t in $(seq $((limit * 2))); do
        info=$(scontrol -o show job "$job" 2>/dev/null)
        state=$(grep -o 'JobState=[A-Z_]*' <<<"$info" | cut -d= -f2)
        case $state in
            PENDING)
                # Only once the node has cleaned up after the job's last run
                # (idle for a few polls): a run started while slurmd still
                # removes the previous one's files fails at once.
                if [ -n "$hurry" ] && grep -q 'Reason=BeginTime' <<<"$info" &&
                    [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; then
                    held=$((held + 1))
                    [ $held -ge 6 ] && scontrol update JobId="$job" StartTime=now >/dev/null 2>&1
                else
                    held=0
                fi ;;
            # The states a job ends in; any other is on its way.
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | BOOT_FAIL | DEADLINE | OUT_OF_MEMORY)
                echo "$state"; return 0 ;;
            # Running again: the next hold is counted afresh (a count left
            # from the last one would release it before the node is clean).
            *) held=0 ;;
        esac
        sleep 0.5
    done
    echo "TIMEOUT(${state:-unknown})"
    return 1
}

# slurm_field JOBID NAME: one field of `scontrol show job` (e.g. Restarts).
slurm_field() {
    scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
