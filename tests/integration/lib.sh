# lib.sh: helpers for the integration tests (sourced). Each check prints one
# "PASS: name" or "FAIL: name" line; tests/run counts them.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The binary under test: tests/run passes the sanitizer build.
NM=${NM:-$PWD/build/neuromic}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/neuromic-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
MPIRUN=(mpirun --oversubscribe)

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; }

# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1; shift
    if "$@"; then pass "$name"; else fail "$name" "command: $*"; fi
}

# expect_status NAME WANT COMMAND...: runs the command, output to $TMP/out.
expect_status() {
    local name=$1 want=$2; shift 2
    "$@" >"$TMP/out" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then pass "$name"; else
        fail "$name" "exit status $rc, expected $want: $*" "$(tail -20 "$TMP/out")"
    fi
}

# dump_values FILE DATASET: the dataset's values, space-separated, on one line.
dump_values() {
    local out
    out=$(mktemp)
    h5dump -d "$2" -y -w 0 -o "$out" "$1" >/dev/null 2>&1 || { rm -f "$out"; return 1; }
    tr -d ',\n' <"$out" | tr -s ' ' | sed 's/^ //; s/ $//'
    rm -f "$out"
}
# Raw little-endian bytes of a dataset, for bitwise comparisons.
dump_raw() { h5dump -d "$2" -b LE -o "$3" "$1" >/dev/null 2>&1; }

# same_results NAME A.h5 B.h5 DATASET...: datasets bitwise identical.
same_results() {
    local name=$1 a=$2 b=$3; shift 3
    local d ok=1
    for d in "$@"; do
        dump_raw "$a" "$d" "$TMP/a.bin" && dump_raw "$b" "$d" "$TMP/b.bin" &&
            cmp -s "$TMP/a.bin" "$TMP/b.bin" || { ok=0; fail "$name" "dataset $d differs"; return; }
    done
    pass "$name"
}
