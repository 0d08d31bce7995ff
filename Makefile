# neuromic: build, test, demo.
#
#   make            build/neuromic (optimised, -Werror)
#   make check      every test; sanitizer build (ASan+UBSan) for the unit tests
#   make demo       install missing packages (as root), build, run sweeps/demo.yaml
#   make deps       only the dependency check / install
#   make clean

VERSION := $(shell cat VERSION)
PKGS    := hdf5-openmpi gsl yaml-0.1 ompi-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASEFLAGS := -std=c17 -D_GNU_SOURCE -g $(WARN) -Iinclude -Ibuild $(PKG_CFLAGS)
OPTFLAGS := -O2
SANFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBS    := $(PKG_LIBS) -lhdf5_hl -lpthread -lm

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

build/obj/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) -c $< -o $@

build/san/%.o: %.c build/buildinfo.h $(wildcard include/neuromic/*.h) src/kernel/registry.def
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -c $< -o $@

build/libneuromic.a: $(OBJ)
	ar rcs $@ $^

build/san/libneuromic.a: $(SAN_OBJ)
	ar rcs $@ $^

build/neuromic: src/main.c build/libneuromic.a
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< build/libneuromic.a $(LIBS) -o $@

build/san/neuromic: src/main.c build/san/libneuromic.a
	$(CC) $(BASEFLAGS) $(SANFLAGS) $< build/san/libneuromic.a $(LIBS) -o $@

build/san/tests/%: tests/unit/%.c tests/unit/testutil.h build/san/libneuromic.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $< build/san/libneuromic.a $(LIBS) $(shell pkg-config --libs cmocka) -o $@

unit: $(UNIT_BIN)

check: build/neuromic $(UNIT_BIN)
	@tests/run

deps:
	@scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory build/neuromic
	@scripts/demo.sh

clean:
	rm -rf build
