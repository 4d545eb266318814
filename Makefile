# mlpc - plain Makefile.  `make` builds the library and the CLI, `make test`
# runs the whole test suite (unit tests under ASan+UBSan, then the slow tier
# on real MNIST), `make install PREFIX=...` installs header, library, CLI and
# pkg-config file.  Kernels for AVX2/AVX-512 are compiled per file with their
# own -m flags and chosen at run time, so the binary stays portable.

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
OPT      ?= -O3
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
              -Iinclude -Isrc -pthread -fPIC -g
CFLAGS   ?=
LIBS     = -lz -lcjson -lm -pthread

LIB_SRC  = $(wildcard src/core/*.c src/kernels/*.c src/backend/*.c src/nn/*.c \
                      src/optim/*.c src/data/*.c src/train/*.c src/io/*.c)
CLI_SRC  = $(wildcard src/cli/*.c)
TEST_SRC = $(wildcard tests/test_*.c tests/slow_*.c)

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FAST_TESTS = $(filter $(BUILD)/tests/test_%,$(TESTS))

# per-file instruction-set flags (run-time dispatch picks the kernel)
$(BUILD)/src/kernels/%_avx512.o: ISA = -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma -mavx2 -ffp-contract=fast
$(BUILD)/src/kernels/%_avx2.o:   ISA = -mavx2 -mfma -ffp-contract=fast
# activations: no FP-exception semantics, so selects (relu) vectorize
$(BUILD)/src/kernels/act.o:      ISA = -fno-trapping-math

all: $(BUILD)/libmlpc.a $(BUILD)/mlpc

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(ISA) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmlpc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/mlpc: $(CLI_OBJ) $(BUILD)/libmlpc.a
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libmlpc.a $(LIBS)

$(BUILD)/tests/%: tests/%.c tests/testutil.h $(BUILD)/libmlpc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< $(BUILD)/libmlpc.a $(LIBS) -lcmocka

tests: $(TESTS)

# The sanitizer build lives in its own folder.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 CFLAGS="$(SAN_FLAGS)" all fast-tests

fast-tests: $(FAST_TESTS)

# `make test`: fast tier under sanitizers, then the optimized build's slow
# tier (end-to-end MNIST, CLI checks).  MLPC_FAST=1 skips the slow tier.
test: all tests asan
	@sh tests/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/mlpc.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libmlpc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/mlpc $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*MLPC_VERSION_STRING "\(.*\)"/\1/p' include/mlpc.h)|' \
	    mlpc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlpc.pc

# `make bench`: the performance harness (bench/README.md); needs the Debian
# packages in bench/deps.txt, which bench/run.sh installs when missing.
$(BUILD)/bench_mlpc: bench/bench_mlpc.c include/mlpc.h $(BUILD)/libmlpc.a
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ bench/bench_mlpc.c $(BUILD)/libmlpc.a $(LIBS)

.PHONY: bench
bench: all $(BUILD)/bench_mlpc
	@sh bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf build build-asan

.PHONY: all tests fast-tests asan test install clean
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
