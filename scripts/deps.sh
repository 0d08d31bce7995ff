#!/usr/bin/env bash
# deps.sh: make sure what neuromic needs is installed.
#
# On Debian (or Ubuntu) as root: installs the missing packages with apt-get.
# Otherwise: says exactly what is missing, as Debian package names and as
# the environment modules a cluster usually offers, and exits 1.
set -u

# "check|debian-package|module hint"; check is pkg-config:NAME, cmd:NAME, file:PATH, py:MODULE
# or libfuzzer:CC (CC finds its libFuzzer runtime).
deps=(
    "cmd:gcc|gcc|a C17 compiler (module load gcc)"
    "file:/usr/include/stdio.h|libc6-dev|C library headers"
    "cmd:make|make|GNU make"
    "cmd:pkg-config|pkg-config|pkg-config"
    "cmd:git|git|git (for the build's commit id)"
    "pkg-config:ompi-c|libopenmpi-dev|Open MPI (module load openmpi)"
    "cmd:mpirun|openmpi-bin|Open MPI's mpirun (module load openmpi)"
    "pkg-config:hdf5-openmpi|libhdf5-openmpi-dev|parallel HDF5 built with Open MPI (module load hdf5/parallel or phdf5)"
    "cmd:h5dump|hdf5-tools|HDF5 tools: h5dump"
    "pkg-config:gsl|libgsl-dev|GSL (module load gsl)"
    "pkg-config:yaml-0.1|libyaml-dev|libyaml (module load libyaml)"
    "pkg-config:openblas|libopenblas-dev|OpenBLAS, the CBLAS behind GSL (module load openblas)"
    "pkg-config:zlib|zlib1g-dev|zlib, for gzip-compressed data files (module load zlib)"
    "pkg-config:cmocka|libcmocka-dev|cmocka (tests only)"
    "cmd:ncdump|netcdf-bin|netCDF's ncdump (tests only)"
    "cmd:/usr/bin/python3|python3|Python 3 (analysis and tests)"
    "py:numpy|python3-numpy|NumPy (analysis)"
    "py:h5py|python3-h5py|h5py (analysis)"
    "py:xarray|python3-xarray|xarray (analysis)"
    "py:h5netcdf|python3-h5netcdf|h5netcdf (analysis)"
    "py:pytest|python3-pytest|pytest (tests only)"
    "cmd:pgrep|procps|pgrep (tests only)"
    "cmd:ip|iproute2|ip, for the two-host test's network namespaces (tests only)"
    "py:matplotlib|python3-matplotlib|matplotlib (microcircuit figures)"
    "py:scipy|python3-scipy|SciPy (t-tests of the nk analysis)"
    "file:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz|dataset-fashion-mnist|Fashion-MNIST IDX files (microcircuit classify task)"
    "file:/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz|python3-sklearn|scikit-learn's 8x8 digits (folded kernel)"
    "cmd:clang|clang|clang, for the spec-reader fuzzer (tests only)"
    "libfuzzer:clang|libclang-rt-dev|libFuzzer, clang's fuzzing runtime (tests only)"
    "cmd:valgrind|valgrind|valgrind memcheck for the unit tests (tests only)"
)

have() {
    case $1 in
        cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
        pkg-config:*) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${1#pkg-config:}" ;;
        file:*) [ -e "${1#file:}" ] ;;
        libfuzzer:*) [ -e "$("${1#libfuzzer:}" -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null)" ] ;;
        py:*) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${1#py:}" >/dev/null 2>&1 ;;
    esac
}

missing() {
    local d
    for d in "${deps[@]}"; do
        IFS='|' read -r chk pkg hint <<<"$d"
        have "$chk" || echo "$pkg|$hint"
    done
}

todo=$(missing)
[ -z "$todo" ] && { echo "deps: everything neuromic needs is installed"; exit 0; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    pkgs=$(cut -d'|' -f1 <<<"$todo" | sort -u | tr '\n' ' ')
    echo "deps: installing $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
        { echo "deps: apt-get install failed" >&2; exit 1; }
    todo=$(missing)
    [ -z "$todo" ] && { echo "deps: installed"; exit 0; }
fi

{
    echo "deps: missing:"
    while IFS='|' read -r pkg hint; do printf '  %-22s %s\n' "$pkg" "$hint"; done <<<"$todo"
    echo "On Debian/Ubuntu, as root: apt-get install $(cut -d'|' -f1 <<<"$todo" | sort -u | tr '\n' ' ')"
    echo "On a cluster: load the modules named above, then check that 'pkg-config --exists hdf5-openmpi'"
    echo "or set PKG_CONFIG_PATH to where your parallel HDF5 keeps its .pc file."
} >&2
exit 1
