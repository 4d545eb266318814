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

# The hyperparameter search (src/search/, docs/search.md), linked into the
# CLI: SQLite from Debian, and the MPI transport when mpicc is there
# (MPI=auto, the default; MPI=1 requires it, MPI=0 leaves it out). Without
# it, `mlpc search` runs on one machine and says so under mpirun.
MPI   ?= auto
MPICC ?= mpicc
ifeq ($(MPI),auto)
  MPI_ON := $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
else
  MPI_ON := $(MPI)
endif
ifeq ($(MPI_ON),1)
  MPI_CFLAGS := $(shell $(MPICC) --showme:compile 2>/dev/null)
  MPI_LIBS   := $(shell $(MPICC) --showme:link 2>/dev/null)
  $(if $(MPI_LIBS),,$(error MPI=1 but '$(MPICC) --showme:link' failed: apt-get install libopenmpi-dev openmpi-bin))
  SEARCH_NET := $(BUILD)/src/search/mpi.o
  $(info mlpc build: search MPI transport ON ($(MPICC)): mpirun -np N mlpc search spreads trials over ranks)
else
  SEARCH_NET := $(BUILD)/src/search/nompi.o
  $(info mlpc build: search MPI transport OFF (no mpicc; apt-get install libopenmpi-dev openmpi-bin, or make MPI=1))
endif
SEARCH_SRC  = $(filter-out src/search/mpi.c src/search/nompi.c,$(wildcard src/search/*.c))
SEARCH_OBJ  = $(SEARCH_SRC:%.c=$(BUILD)/%.o)
SEARCH_LIBS = -lsqlite3 $(MPI_LIBS)
$(BUILD)/src/search/mpi.o: CFLAGS_BASE += $(MPI_CFLAGS)

$(BUILD)/libmlpc_search.a: $(SEARCH_OBJ)
	@rm -f $@
	ar rcs $@ $^

SEARCH_TESTS = $(filter $(BUILD)/tests/test_search%,$(TESTS))
$(SEARCH_TESTS): $(BUILD)/tests/%: tests/%.c tests/testutil.h $(BUILD)/libmlpc_search.a $(BUILD)/src/search/nompi.o $(BUILD)/libmlpc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< $(BUILD)/src/search/nompi.o $(BUILD)/libmlpc_search.a \
	    $(BUILD)/libmlpc.a -lsqlite3 $(LIBS) -lcmocka

$(BUILD)/mlpc: $(CLI_OBJ) $(SEARCH_NET) $(BUILD)/libmlpc_search.a $(BUILD)/libmlpc_dash.a $(BUILD)/libmlpc.a
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $(CLI_OBJ) $(SEARCH_NET) $(BUILD)/libmlpc_search.a $(BUILD)/libmlpc_dash.a $(BUILD)/libmlpc.a $(DASH_LIBS) $(SEARCH_LIBS) $(LIBS)

$(BUILD)/tests/%: tests/%.c tests/testutil.h $(BUILD)/libmlpc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ $< $(BUILD)/libmlpc.a $(LIBS) -lcmocka

# The live dashboard, progress bar and plot export (src/dash/, docs/dashboard.md),
# linked into the CLI only: libmicrohttpd, cairo and SQLite (to follow a search's
# database) from Debian, and the page
# (web/) with uPlot from npm (`npm ci --prefix web`, pinned by package-lock.json)
# embedded into the binary, so the page works offline.
DASH_CFLAGS := $(shell pkg-config --cflags libmicrohttpd cairo sqlite3 2>/dev/null)
DASH_LIBS   := $(shell pkg-config --libs libmicrohttpd cairo sqlite3 2>/dev/null || echo -lmicrohttpd -lcairo -lsqlite3)
DASH_SRC  = $(wildcard src/dash/*.c)
DASH_OBJ  = $(DASH_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/dash_assets.o
WEB_NPM   = web/node_modules/.mlpc-npm-ci
UPLOT     = web/node_modules/uplot/dist
$(BUILD)/src/dash/%.o: CFLAGS_BASE += $(DASH_CFLAGS)

$(WEB_NPM): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: run scripts/install-deps.sh" >&2; exit 1; }
	npm ci --prefix web --no-audit --no-fund
	@touch $@

$(BUILD)/embed: src/dash/tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -o $@ $<

$(BUILD)/gen/dash_assets.c: $(BUILD)/embed $(WEB_NPM) web/index.html web/app.js web/app.css
	@mkdir -p $(dir $@)
	$(BUILD)/embed $@ / "text/html; charset=utf-8" web/index.html \
	    /app.js "text/javascript; charset=utf-8" web/app.js \
	    /app.css "text/css; charset=utf-8" web/app.css \
	    /uPlot.iife.min.js "text/javascript; charset=utf-8" $(UPLOT)/uPlot.iife.min.js \
	    /uPlot.min.css "text/css; charset=utf-8" $(UPLOT)/uPlot.min.css

$(BUILD)/gen/dash_assets.o: $(BUILD)/gen/dash_assets.c
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -c $< -o $@

$(BUILD)/libmlpc_dash.a: $(DASH_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_dash%: tests/test_dash%.c tests/testutil.h $(BUILD)/libmlpc_dash.a $(BUILD)/libmlpc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(DASH_CFLAGS) $(OPT) $(CFLAGS) -o $@ $< $(BUILD)/libmlpc_dash.a \
	    $(BUILD)/libmlpc.a $(DASH_LIBS) $(LIBS) -lcmocka

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
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DASH_SRC:%.c=$(BUILD)/%.d)
-include $(wildcard $(BUILD)/src/search/*.d)
