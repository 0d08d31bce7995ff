# test_valgrind.sh: the unit tests under valgrind memcheck, no leaks, no errors.
#
# The unit tests are built a second time without sanitizers (-O1 -g) into
# build/vg/tests/ (`make vg`; `make check` builds them when valgrind is
# installed) and each runs under memcheck with --leak-check=full. Any
# invalid access, use of uninitialised memory, or definitely/possibly lost
# block fails the test. tests/valgrind.supp hides only what Open MPI leaks
# inside MPI_Init/MPI_Finalize (test_store initialises MPI); a last check
# makes sure a leak made by neuromic code in an MPI program still fails.
source "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed (Debian package valgrind; scripts/deps.sh installs it)"
    exit 0
fi
if ! ls build/vg/tests/test_* >/dev/null 2>&1; then
    fail "valgrind unit-test build exists" "build/vg/tests/ is empty: run 'make vg'"
    exit 0
fi

VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible
    --num-callers=40 --suppressions="$PWD/tests/valgrind.supp" --error-exitcode=99)

# Two at a time (VG_JOBS): memcheck is ~30x slower than native, and the
# kernels' unit tests dominate.
run_one() {
    nice "${VG[@]}" "$1" >"$TMP/$(basename "$1").log" 2>&1
    echo $? >"$TMP/$(basename "$1").rc"
}
tests=()
for t in build/vg/tests/test_*; do [ -x "$t" ] && tests+=("$t"); done
for t in "${tests[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "${VG_JOBS:-2}" ]; do wait -n; done
    run_one "$t" &
done
wait

for t in "${tests[@]}"; do
    name=$(basename "$t")
    log="$TMP/$name.log"
    rc=$(cat "$TMP/$name.rc" 2>/dev/null || echo missing)
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -1)
    if [ "$rc" = 0 ] && [ -n "$passed" ]; then
        pass "valgrind $name: $passed tests, no memcheck errors or leaks"
    else
        fail "valgrind $name: exit status $rc" "$(grep -E '^==[0-9]+==|FAILED' "$log" | head -60)"
    fi
done

# The suppressions must not hide our own leaks: a program that initialises
# MPI like test_store and leaks a parsed sweep must be reported.
cat >"$TMP/leak.c" <<'EOF'
#include <mpi.h>
#include <string.h>
#include "neuromic/internal/spec.h"
int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    static const char text[] = "kernel: probe\ngrid:\n  x: [1, 2]\n";
    nm_sweep *sw = NULL;
    nm_err err;
    int st = nm_spec_parse("leak.yaml", text, strlen(text), NULL, 0, &sw, &err);
    sw = NULL; /* dropped without nm_sweep_free: a definite leak */
    MPI_Finalize();
    return st;
}
EOF
cflags=$(pkg-config --cflags hdf5-openmpi gsl yaml-0.1 ompi-c 2>/dev/null)
libs=$(pkg-config --libs hdf5-openmpi gsl yaml-0.1 ompi-c openblas zlib 2>/dev/null | sed 's/-lgslcblas//')
if gcc -std=c17 -D_GNU_SOURCE -g -O1 -Iinclude -Ibuild $cflags "$TMP/leak.c" build/vg/libnmcore.a \
    $libs -lhdf5_hl -lpthread -lm -o "$TMP/leak" >"$TMP/cc.log" 2>&1; then
    nice "${VG[@]}" "$TMP/leak" >"$TMP/leak.log" 2>&1
    rc=$?
    if [ "$rc" -eq 99 ] && grep -q 'definitely lost' "$TMP/leak.log" &&
        grep -q 'nm_spec_parse' "$TMP/leak.log"; then
        pass "valgrind reports a leak from neuromic code despite the MPI suppressions"
    else
        fail "valgrind reports a leak from neuromic code despite the MPI suppressions" \
            "exit status $rc" "$(head -40 "$TMP/leak.log")"
    fi
else
    fail "leak check program builds" "$(head -20 "$TMP/cc.log")"
fi
