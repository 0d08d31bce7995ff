#!/usr/bin/env bash
# demo.sh: run sweeps/bull2024-small.yaml (a small version of the reproduction
# of Bull 2024, Figure 4: nk kernel, about a minute on 2 cores) on every local
# core, summarise it, print the nMLP/hMLP t-tests and draw the figure next to
# the result file. Called by `make demo` after the build. The demo owns
# results/bull2024-small.h5 and .png and replaces them on every run (--force).
# sweeps/demo.yaml (probe kernel, seconds) remains for trying the engine.
set -eu
cd "$(dirname "$0")/.."
np=$(nproc 2>/dev/null || echo 2)
mpi=(mpirun -n "$np")
if [ "$(id -u)" = 0 ]; then
    # Open MPI refuses root without this; the demo asks for it, the program never does.
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
spec=sweeps/bull2024-small.yaml
out=results/bull2024-small.h5
echo "demo: build/neuromic plan $spec"
build/neuromic plan "$spec" --tasks 3
echo
echo "demo: ${mpi[*]} build/neuromic run $spec -o $out --force"
"${mpi[@]}" build/neuromic run "$spec" -o "$out" --force
echo
/usr/bin/python3 -m analysis.summary "$out"
echo
echo "demo: /usr/bin/python3 -m analysis.bull2024 $out"
/usr/bin/python3 -m analysis.bull2024 "$out"
