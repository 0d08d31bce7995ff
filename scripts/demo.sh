#!/usr/bin/env bash
# demo.sh: run sweeps/demo.yaml on every local core and summarise the result.
# Called by `make demo` after the build. The demo owns results/demo.h5 and
# replaces it on every run (--force).
set -eu
cd "$(dirname "$0")/.."
np=$(nproc 2>/dev/null || echo 2)
mpi=(mpirun -n "$np")
if [ "$(id -u)" = 0 ]; then
    # Open MPI refuses root without this; the demo asks for it, the program never does.
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "demo: build/neuromic plan sweeps/demo.yaml"
build/neuromic plan sweeps/demo.yaml --tasks 3
echo
echo "demo: ${mpi[*]} build/neuromic run sweeps/demo.yaml -o results/demo.h5 --force"
"${mpi[@]}" build/neuromic run sweeps/demo.yaml -o results/demo.h5 --force
echo
/usr/bin/python3 -m analysis.summary results/demo.h5
