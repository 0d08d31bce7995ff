# neuromic: build, test, demo.
#
#   make            build/neuromic (optimised, -Werror; NATIVE=1 for -march=native)
#   make check      every test; sanitizer build (ASan+UBSan) for the unit tests
#   make demo       install missing packages (as root), build, run sweeps/bull2024-small.yaml
#   make deps       only the dependency check / install
#   make clean

VERSION := $(shell cat VERSION)

# Two libraries. The kernel library (kernels, registry, task object, spec
# reader, grid, streams, util) needs no MPI and no HDF5: it is compiled
# without their include paths, so an #include <mpi.h> there fails to build,
# and its unit tests link without them. The engine (scheduler, store,
# provenance, run logic, command line) sits on top.
CORE_DIRS   := src/registry src/task src/spec src/grid src/rng src/util
ENGINE_DIRS := src/sched src/store src/prov src/run src/cli
CORE_PKGS   := gsl yaml-0.1 openblas zlib
ENGINE_PKGS := hdf5-openmpi ompi-c
ENGINE_PATTERNS := $(addsuffix /%,$(ENGINE_DIRS))
CORE_CFLAGS   := $(shell pkg-config --cflags $(CORE_PKGS) 2>/dev/null)
ENGINE_CFLAGS := $(CORE_CFLAGS) $(shell pkg-config --cflags $(ENGINE_PKGS) 2>/dev/null)
# GSL's CBLAS calls go to OpenBLAS.
CORE_LIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null)) -lm
ENGINE_LIBS := $(shell pkg-config --libs $(ENGINE_PKGS) 2>/dev/null) -lhdf5_hl -lpthread $(CORE_LIBS)

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# -MMD -MP: every object gets a .d file listing the headers it includes, so
# touching any header (public, internal, or a kernel's own) rebuilds exactly
# what uses it.
BASEFLAGS := -std=c17 -D_GNU_SOURCE -g $(WARN) -Iinclude -Ibuild -MMD -MP
OPTFLAGS := -O2
# make NATIVE=1: optimise for this machine's CPU (-march=native), for a
# cluster user who builds where the sweeps run; the default stays portable.
ifeq ($(NATIVE),1)
OPTFLAGS += -march=native
endif
SANFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

CORE_SRC   := $(wildcard $(addsuffix /*.c,$(CORE_DIRS)) src/kernels/*/*.c)
ENGINE_SRC := $(wildcard $(addsuffix /*.c,$(ENGINE_DIRS)))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_NAMES := $(UNIT_SRC:tests/unit/%.c=%)
UNIT_BIN := $(UNIT_NAMES:%=build/san/tests/%)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# Unit tests that need the engine; every other test links the kernel
# library alone.
ENGINE_TESTS := test_store test_stop test_input test_sched

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

GENERATED := build/buildinfo.h build/jobscript_slurm.h

# Flags for one source file, by its path without .c: nk_vec.c passes
# 32-byte vectors between its AVX2 clones, about whose ABI GCC notes.
CFLAGS_src/kernels/nk/nk_vec := -Wno-psabi

# One set of rules per build variant: $(1) directory under build/, $(2)
# compiler, $(3) flags. Objects, the two libraries, and the unit tests.
# The generated headers are order-only: the .d files say who includes them.
define variant
build/$(1)/%.o: %.c | $(GENERATED)
	@mkdir -p $$(dir $$@)
	$(2) $(3) $$(CFLAGS_$$*) $$(if $$(filter $$(ENGINE_PATTERNS),$$<),$$(ENGINE_CFLAGS),$$(CORE_CFLAGS)) -c $$< -o $$@

build/$(1)/libnmcore.a: $$(CORE_SRC:%.c=build/$(1)/%.o)
	rm -f $$@ && ar rcs $$@ $$^

build/$(1)/libnmengine.a: $$(ENGINE_SRC:%.c=build/$(1)/%.o)
	rm -f $$@ && ar rcs $$@ $$^

$$(filter-out $$(ENGINE_TESTS:%=build/$(1)/tests/%),$$(UNIT_NAMES:%=build/$(1)/tests/%)): \
build/$(1)/tests/%: tests/unit/%.c build/$(1)/libnmcore.a | $(GENERATED)
	@mkdir -p $$(dir $$@)
	$(2) $(3) $$(CORE_CFLAGS) $$< build/$(1)/libnmcore.a $$(CORE_LIBS) $$(CMOCKA_LIBS) -o $$@

$$(ENGINE_TESTS:%=build/$(1)/tests/%): \
build/$(1)/tests/%: tests/unit/%.c build/$(1)/libnmengine.a build/$(1)/libnmcore.a | $(GENERATED)
	@mkdir -p $$(dir $$@)
	$(2) $(3) $$(ENGINE_CFLAGS) $$< build/$(1)/libnmengine.a build/$(1)/libnmcore.a \
	    $$(ENGINE_LIBS) $$(CMOCKA_LIBS) -o $$@

-include $$(CORE_SRC:%.c=build/$(1)/%.d) $$(ENGINE_SRC:%.c=build/$(1)/%.d) \
         $$(UNIT_SRC:tests/unit/%.c=build/$(1)/tests/%.d)
endef
$(eval $(call variant,obj,$(CC),$(BASEFLAGS) $(OPTFLAGS)))
$(eval $(call variant,san,$(CC),$(BASEFLAGS) $(SANFLAGS)))

build/neuromic: src/main.c build/obj/libnmengine.a build/obj/libnmcore.a | $(GENERATED)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $(ENGINE_CFLAGS) $< build/obj/libnmengine.a build/obj/libnmcore.a $(ENGINE_LIBS) -o $@

build/san/neuromic: src/main.c build/san/libnmengine.a build/san/libnmcore.a | $(GENERATED)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $(ENGINE_CFLAGS) $< build/san/libnmengine.a build/san/libnmcore.a $(ENGINE_LIBS) -o $@

-include build/neuromic.d build/san/neuromic.d

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
# ASan + UBSan. It links the kernel library alone: no MPI, no HDF5. No
# -Werror: clang warns about things gcc does not, and the gcc build already
# enforces the warnings.
# build/vg/tests/test_*: the unit tests without sanitizers (-O1 -g), for
# valgrind memcheck. `make check` builds whichever of the two has its tool.
FUZZ_CC    := clang
# NM_FUZZ_LIMITS: at most 10^5 values per axis and 10^5 YAML nodes instead of
# 10^7 and 10^6 (src/spec/), so that legal but huge specs stay within the
# fuzzer's time limit per input.
FUZZ_FLAGS := $(filter-out -Werror,$(BASEFLAGS)) -O1 -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined -DNM_FUZZ_LIMITS
VG_BIN     := $(UNIT_SRC:tests/unit/%.c=build/vg/tests/%)

.PHONY: fuzz vg
fuzz: build/fuzz/fuzz_spec
vg: $(VG_BIN)

$(eval $(call variant,fuzz,$(FUZZ_CC),$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link))
$(eval $(call variant,vg,$(CC),$(BASEFLAGS) -O1))

build/fuzz/fuzz_spec: tests/fuzz/fuzz_spec.c build/fuzz/libnmcore.a
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CORE_CFLAGS) -fsanitize=fuzzer $< build/fuzz/libnmcore.a $(CORE_LIBS) -o $@

# libFuzzer's runtime (Debian: libclang-rt-dev) ships apart from clang.
FUZZ_RT := $(wildcard $(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-$(shell uname -m).a 2>/dev/null))
ifneq ($(FUZZ_RT),)
check: build/fuzz/fuzz_spec
endif
ifneq ($(shell command -v valgrind 2>/dev/null),)
check: $(VG_BIN)
endif

# Kernel benchmarks: a C driver bench/<kernel>/<k>_bench.c linked with the
# kernel library, run by bench/<kernel>/bench.py against a NumPy version of
# the same equations.
#   bench-nk         cycles/s, incremental vs full vs NumPy (docs/benchmarks-nk.md)
#   bench-urbanczik  simulated s per CPU s of the neuron and the 30-20-10 network (docs/reproductions/urbanczik.md)
#   bench-mc         steps/s and peak memory per task (docs/benchmarks-microcircuit.md)
#   bench-folded     patterns/s, C vs NumPy (docs/reproductions/folded.md)
#   bench-metaplastic  plastic updates/s, C vs NumPy, and the meta-gradient's cost
#                    (docs/reproductions/metaplastic.md)
#   bench-dendnet    neuron sim s per CPU s, TCN samples/s vs NumPy (docs/reproductions/dendnet.md)
.PHONY: bench-nk bench-urbanczik bench-mc bench-folded bench-metaplastic bench-dendnet
BENCH_BIN := build/bench/nk_bench build/bench/uz_bench build/bench/mc_bench
BENCH_BIN += build/bench/fd_bench
BENCH_BIN += build/bench/mp_bench
BENCH_BIN += build/bench/dd_bench
vpath %_bench.c bench/nk bench/urbanczik bench/microcircuit
vpath %_bench.c bench/folded
vpath %_bench.c bench/metaplastic
vpath %_bench.c bench/dendnet
build/bench/nk_bench: BENCH_CFLAGS := -Isrc/kernels/nk
$(BENCH_BIN): build/bench/%: %.c build/obj/libnmcore.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $(CORE_CFLAGS) $(BENCH_CFLAGS) $< build/obj/libnmcore.a $(CORE_LIBS) -o $@
-include $(BENCH_BIN:%=%.d)

bench-nk: build/bench/nk_bench
	@/usr/bin/python3 bench/nk/bench.py
bench-urbanczik: build/bench/uz_bench
	@/usr/bin/python3 bench/urbanczik/bench.py
bench-mc: build/bench/mc_bench build/neuromic
	@/usr/bin/python3 bench/microcircuit/bench.py
bench-folded: build/bench/fd_bench
	@/usr/bin/python3 bench/folded/bench.py
bench-metaplastic: build/bench/mp_bench
	@/usr/bin/python3 bench/metaplastic/bench.py
bench-dendnet: build/bench/dd_bench
	@/usr/bin/python3 bench/dendnet/bench.py

# Engine benchmarks (bench/engine.py: six figures, bench/results/engine.json,
# docs/performance.md), then the nk kernel's. BENCH_ARGS passes options, e.g.
# `make bench BENCH_ARGS="--quick --repeats 1"`. The two run one after the
# other, never at once: they would time each other.
.PHONY: bench
build/bench/libh5time.so: bench/h5time.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC $(BASEFLAGS) $(OPTFLAGS) $(ENGINE_CFLAGS) $< -o $@ -ldl

bench: build/neuromic build/bench/libh5time.so
	@/usr/bin/python3 bench/engine.py $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-nk
