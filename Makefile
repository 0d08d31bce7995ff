# neuromic: build, test, demo.
#
#   make            build/neuromic (optimised, -Werror)
#   make check      every test; sanitizer build (ASan+UBSan) for the unit tests
#   make demo       install missing packages (as root), build, run sweeps/bull2024-small.yaml
#   make deps       only the dependency check / install
#   make clean

VERSION := $(shell cat VERSION)
PKGS    := hdf5-openmpi gsl yaml-0.1 ompi-c openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASEFLAGS := -std=c17 -D_GNU_SOURCE -g $(WARN) -Iinclude -Ibuild $(PKG_CFLAGS)
OPTFLAGS := -O2
SANFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# GSL's CBLAS calls go to OpenBLAS.
LIBS    := $(filter-out -lgslcblas,$(PKG_LIBS)) -lhdf5_hl -lpthread -lm

SRC      := $(wildcard src/*/*.c src/kernels/*/*.c)
OBJ      := $(SRC:%.c=build/obj/%.o)
SAN_OBJ  := $(SRC:%.c=build/san/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)

.PHONY: all check unit demo deps clean FORCE
all: build/neuromic

# Build information embedded in the binary (rewritten only when it changes).
build/buildinfo.h: FORCE
	@mkdir -p build
	@commit=$$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown); \
	 printf '#define NM_VERSION "%s"\n#define NM_GIT_COMMIT "%s"\n#define NM_CFLAGS "%s"\n' \
	   "$(VERSION)" "$$commit" "$(OPTFLAGS) $(WARN) -std=c17" > $@.tmp; \
	 if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# The Slurm job script, compiled into `neuromic submit` as a C string.
build/jobscript_slurm.h: jobscripts/slurm/neuromic.sbatch
	@mkdir -p build
	@{ echo '/* generated from $< by the Makefile */'; echo 'static const char nm_slurm_template[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; echo ';'; } >$@
build/obj/src/cli/submit.o build/san/src/cli/submit.o build/fuzz/src/cli/submit.o \
build/vg/src/cli/submit.o: build/jobscript_slurm.h

build/obj/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) -c $< -o $@

build/san/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

build/libneuromic.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^

build/san/libneuromic.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/neuromic: src/main.c build/libneuromic.a
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< build/libneuromic.a $(LIBS) -o $@

build/san/neuromic: src/main.c build/san/libneuromic.a
	$(CC) $(BASEFLAGS) $(SANFLAGS) $< build/san/libneuromic.a $(LIBS) -o $@

build/san/tests/%: tests/unit/%.c tests/unit/testutil.h build/san/libneuromic.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $< build/san/libneuromic.a $(LIBS) $(shell pkg-config --libs cmocka) -o $@

unit: $(UNIT_BIN)

check: build/neuromic build/san/neuromic $(UNIT_BIN)
	@tests/run

deps:
	@scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory build/neuromic
	@scripts/demo.sh

clean:
	rm -rf build

# ---- Fuzzing and valgrind (tests/integration/test_fuzz.sh, test_valgrind.sh) ----
# build/fuzz/fuzz_spec: libFuzzer harness for the spec reader, Debian's clang,
# ASan + UBSan. The sources go into an archive so that the linker takes only
# the objects nm_spec_parse needs; through the kernels' nm_task_rng those
# include src/sched/runner.c and with it the store, so MPI and HDF5 are
# linked (never initialised). No -Werror: clang warns about things gcc does
# not, and the gcc build already enforces the warnings.
# build/vg/tests/test_*: the unit tests without sanitizers (-O1 -g), for
# valgrind memcheck. `make check` builds whichever of the two has its tool.
FUZZ_CC    := clang
# NM_FUZZ_LIMITS: at most 10^5 values per axis and 10^5 YAML nodes instead of
# 10^7 and 10^6 (src/spec/spec.c), so that legal but huge specs stay within
# the fuzzer's time limit per input.
FUZZ_FLAGS := $(filter-out -Werror,$(BASEFLAGS)) -O1 -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined -DNM_FUZZ_LIMITS
FUZZ_OBJ   := $(SRC:%.c=build/fuzz/%.o)
VG_OBJ     := $(SRC:%.c=build/vg/%.o)
VG_BIN     := $(UNIT_SRC:tests/unit/%.c=build/vg/tests/%)

.PHONY: fuzz vg
fuzz: build/fuzz/fuzz_spec
vg: $(VG_BIN)

build/fuzz/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libneuromic.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_spec: tests/fuzz/fuzz_spec.c build/fuzz/libneuromic.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< build/fuzz/libneuromic.a $(LIBS) -o $@

build/vg/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O1 -c $< -o $@

build/vg/libneuromic.a: $(VG_OBJ)
	rm -f $@ && ar rcs $@ $^

build/vg/tests/%: tests/unit/%.c tests/unit/testutil.h build/vg/libneuromic.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -O1 $< build/vg/libneuromic.a $(LIBS) $(shell pkg-config --libs cmocka) -o $@

# libFuzzer's runtime (Debian: libclang-rt-dev) ships apart from clang.
FUZZ_RT := $(wildcard $(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-$(shell uname -m).a 2>/dev/null))
ifneq ($(FUZZ_RT),)
check: build/fuzz/fuzz_spec
endif
ifneq ($(shell command -v valgrind 2>/dev/null),)
check: $(VG_BIN)
endif

# Benchmark of the nk kernel: cycles/s of incremental vs full evaluation vs a
# NumPy version (bench/nk/, results in docs/benchmarks-nk.md).
.PHONY: bench-nk
build/bench/nk_bench: bench/nk/nk_bench.c src/kernels/nk/nk.h build/libneuromic.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< build/libneuromic.a $(LIBS) -o $@

bench-nk: build/bench/nk_bench
	@/usr/bin/python3 bench/nk/bench.py

# Benchmark of the microcircuit kernel: steps/s of the C network vs a NumPy
# version of the same equations, and peak memory per task (bench/microcircuit/,
# results in docs/benchmarks-microcircuit.md).
.PHONY: bench-mc
build/bench/mc_bench: bench/microcircuit/mc_bench.c src/kernels/microcircuit/mc.h build/libneuromic.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< build/libneuromic.a $(LIBS) -o $@

bench-mc: build/bench/mc_bench build/neuromic
	@/usr/bin/python3 bench/microcircuit/bench.py

# The nk kernel's sources and unit test share a private header.
NK_DEP := $(foreach d,obj san vg fuzz,$(addprefix build/$(d)/src/kernels/nk/,nk.o nk_data.o nk_model.o)) \
          build/san/tests/test_nk build/vg/tests/test_nk
$(NK_DEP): src/kernels/nk/nk.h

# Engine benchmarks (bench/engine.py: six figures, bench/results/engine.json,
# docs/performance.md), then the nk kernel's. BENCH_ARGS passes options, e.g.
# `make bench BENCH_ARGS="--quick --repeats 1"`. The two run one after the
# other, never at once: they would time each other.
.PHONY: bench
build/bench/libh5time.so: bench/h5time.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC $(BASEFLAGS) $(OPTFLAGS) $< -o $@ -ldl

bench: build/neuromic build/bench/libh5time.so
	@/usr/bin/python3 bench/engine.py $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-nk
