# mlpc - plain Makefile.  `make` builds the library and the CLI, `make test`
# runs the whole test suite (unit tests under ASan+UBSan, then the slow tier
# on real MNIST), `make install PREFIX=...` installs header, libraries (static
# and shared), CLI and pkg-config file.  Kernels for AVX2/AVX-512 are compiled per file with their
# own -m flags and chosen at run time, so the binary stays portable.

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
OPT      ?= -O3
# -ffp-contract=off: a * b + c is two roundings everywhere (the fused SGD
# kernels match mlpc_opt_apply bit for bit); the GEMM files use explicit FMAs
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -ffp-contract=off -Wall -Wextra -Wshadow -Wno-unused-parameter \
              -Iinclude -Isrc -pthread -fPIC -g
CFLAGS   ?=
LIBS     = -lz -lcjson -lm -ldl -pthread

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
$(BUILD)/src/kernels/byte_rows.o:    ISA = -fno-trapping-math
# the optimizers: sqrtf without errno, so RMSprop's and Adam's loops
# vectorize (vsqrtps and vdivps round as the scalar forms: the same bits)
$(BUILD)/src/optim/optim.o:      ISA = -fno-math-errno

# the shared library: libmlpc.so.$(VERSION), soname libmlpc.so.$(SOMAJOR)
VERSION  := $(shell sed -n 's/.*MLPC_VERSION_STRING "\(.*\)"/\1/p' include/mlpc.h)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
SONAME    = libmlpc.so.$(SOMAJOR)
SHARED    = $(BUILD)/libmlpc.so.$(VERSION) $(BUILD)/$(SONAME) $(BUILD)/libmlpc.so

all: $(BUILD)/libmlpc.a $(SHARED) $(BUILD)/mlpc

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(OPT) $(ISA) $(VIS) $(CFLAGS) -MMD -MP -c $< -o $@

# The library's objects export only what mlpc.h marks MLPC_API (the shared
# library's symbol table, tests/cli/test_symbols.sh); static linking is the
# same as before.
$(LIB_OBJ): VIS = -fvisibility=hidden

$(BUILD)/libmlpc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libmlpc.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs $(OPT) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/$(SONAME): $(BUILD)/libmlpc.so.$(VERSION)
	ln -sf libmlpc.so.$(VERSION) $@

$(BUILD)/libmlpc.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

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
# The CUDA plugin (src/cuda/, README "GPU"): build/libmlpc_cuda.so, opened at
# run time by the library (src/backend/device.c) when --device asks for a GPU,
# so the same mlpc runs where there is no CUDA. CUDA=auto (the default) builds
# it when nvcc is found, CUDA=1 requires it, CUDA=0 leaves it out. The CUDA
# runtime is linked statically (-cudart static), cuBLAS dynamically with an
# rpath to $(CUDA_HOME)/lib64. CUDA_ARCHS: the GPUs to compile machine code
# for (those this nvcc does not know are dropped), with PTX for the newest so
# later GPUs compile it at load time.
CUDA       ?= auto
NVCC       ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA_ARCHS ?= 75 80 86 89 90
ifeq ($(CUDA),auto)
  CUDA_ON := $(if $(NVCC),1,0)
else
  CUDA_ON := $(CUDA)
endif
ifeq ($(CUDA_ON),1)
  $(if $(NVCC),,$(error CUDA=1 but nvcc was not found: install the CUDA toolkit or set NVCC=/path/to/nvcc))
  CUDA_HOME   ?= $(patsubst %/bin/nvcc,%,$(realpath $(NVCC)))
  CUDA_VER    := $(shell $(NVCC) --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
  CUDA_KNOWN  := $(patsubst compute_%,%,$(shell $(NVCC) --list-gpu-arch 2>/dev/null))
  CUDA_USE    := $(if $(CUDA_KNOWN),$(filter $(CUDA_KNOWN),$(CUDA_ARCHS)),$(CUDA_ARCHS))
  $(if $(CUDA_USE),,$(error CUDA_ARCHS=$(CUDA_ARCHS): $(NVCC) supports none of them ($(CUDA_KNOWN))))
  CUDA_PTX    := $(lastword $(CUDA_USE))
  CUDA_GENCODE := $(foreach a,$(CUDA_USE),-gencode arch=compute_$(a),code=sm_$(a)) \
                  -gencode arch=compute_$(CUDA_PTX),code=compute_$(CUDA_PTX)
  NVCCFLAGS   ?= -O3
  CUDA_FLAGS   = -std=c++17 -Iinclude -Isrc -Xcompiler -fPIC,-Wall,-Wextra,-fvisibility=hidden \
                 -DMLPC_CUDA_ARCHS='"$(CUDA_USE)"' -DMLPC_CUDA_PTX='"$(CUDA_PTX)"' $(CUDA_GENCODE)
  CUDA_SRC    := $(wildcard src/cuda/*.cu)
  CUDA_OBJ     = $(CUDA_SRC:%.cu=$(BUILD)/%.o)
  CUDA_PLUGIN  = $(BUILD)/libmlpc_cuda.so
  DEVICE_DEFS  = -DMLPC_CUDA_BUILT
  $(info mlpc build: CUDA plugin ON ($(NVCC), CUDA $(CUDA_VER), sm_$(subst $() ,/,$(CUDA_USE)) + PTX $(CUDA_PTX)): $(BUILD)/libmlpc_cuda.so, --device cuda)
else
  CUDA_PLUGIN :=
  $(info mlpc build: CUDA plugin OFF ($(if $(filter 0,$(CUDA)),CUDA=0,no nvcc; install the CUDA toolkit, or make CUDA=1)): --device cpu only)
endif

$(BUILD)/src/cuda/%.o: src/cuda/%.cu src/cuda/plugin.h $(wildcard src/cuda/*.cuh) include/mlpc.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) $(CUDA_FLAGS) -c $< -o $@

$(BUILD)/libmlpc_cuda.so: $(CUDA_OBJ) src/cuda/plugin.map
	$(NVCC) -shared -cudart static $(CUDA_GENCODE) -o $@ $(CUDA_OBJ) \
	    -L$(CUDA_HOME)/lib64 -lcublas -Xlinker --version-script=src/cuda/plugin.map -Xlinker -z,defs \
	    -Xlinker -rpath,'$$ORIGIN' -Xlinker -rpath,$(CUDA_HOME)/lib64

all: $(CUDA_PLUGIN)

# where the loader looks after the program's own folder
$(BUILD)/src/backend/device.o: CFLAGS_BASE += -DMLPC_LIBDIR='"$(PREFIX)/lib"' $(DEVICE_DEFS)

# stand-ins for the plugin in tests/test_device.c: an old ABI, and probes
# that report no driver, an old driver, no GPU and one fake GPU
FAKE_PLUGINS = $(addprefix $(BUILD)/tests/fake_cuda_,badabi.so nosym.so nodriver.so olddriver.so nodevice.so onegpu.so)
$(BUILD)/tests/fake_cuda_%.so: tests/fake_cuda_plugin.c src/cuda/plugin.h include/mlpc.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Iinclude -Isrc -fPIC -shared -g -O1 -DFAKE_$* -o $@ $< -lm
$(BUILD)/tests/test_device $(BUILD)/tests/slow_cuda_parity: $(FAKE_PLUGINS)

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

$(BUILD)/gen/dash_assets.c: $(BUILD)/embed $(WEB_NPM) web/index.html web/app.js web/study.js web/app.css
	@mkdir -p $(dir $@)
	$(BUILD)/embed $@ / "text/html; charset=utf-8" web/index.html \
	    /app.js "text/javascript; charset=utf-8" web/app.js \
	    /study.js "text/javascript; charset=utf-8" web/study.js \
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
	$(MAKE) BUILD=build-asan OPT=-O1 CFLAGS="$(SAN_FLAGS)" CUDA=0 all fast-tests

fast-tests: $(FAST_TESTS)

# `make tsan`: ThreadSanitizer over the tests that exercise the thread pool
# (test_train, test_bindings: interrupts from another thread) and the
# dashboard's lock-free rings (test_dash_bus), bf16 products sharing one packing
# of B between threads (test_bf16), the weight gradients of all layers in one
# region, each split layer's D packed in its own part of one buffer
# (test_gemm); own folder, run by tests/run.sh
# as the "tsan" tier.
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
TSAN_TESTS = test_train test_bindings test_dash_bus test_bf16 test_gemm
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 CFLAGS="$(TSAN_FLAGS)" CUDA=0 $(TSAN_TESTS:%=build-tsan/tests/%)

# libFuzzer targets (tests/fuzz/): the IDX, CSV and NPY loaders, the
# model-file reader, SPACE.json and the JSON config, with clang (-fsanitize=fuzzer,address,undefined) over a
# library built for it in build-fuzz/. `make fuzz-build` builds them (and
# says so, building nothing, without clang); `make test` runs each for 30 s,
# `make fuzz FUZZ_SECONDS=N` for N seconds each.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS  = $(patsubst tests/fuzz/fuzz_%.c,build-fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz-build:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) OPT=-O1 CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" CUDA=0 MPI=0 \
	        build-fuzz/libmlpc.a build-fuzz/libmlpc_search.a $(FUZZ_CLI) && \
	    $(MAKE) $(FUZZ_TARGETS); \
	else echo "fuzz-build: $(FUZZ_CC) not found, the fuzz targets are not built (apt-get install clang)"; fi

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build-fuzz/libmlpc.a
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	    $(FUZZ_EXTRA) build-fuzz/libmlpc.a $(FUZZ_LIBS) $(LIBS)

# the readers above the library: SPACE.json (src/search/space.c) and the
# JSON config (src/cli/config_file.c, with the flag parser it fills)
build-fuzz/fuzz_space: FUZZ_EXTRA = build-fuzz/libmlpc_search.a
build-fuzz/fuzz_space: FUZZ_LIBS = -lsqlite3
build-fuzz/fuzz_space: build-fuzz/libmlpc_search.a
FUZZ_CLI = build-fuzz/src/cli/config_file.o build-fuzz/src/cli/args.o
build-fuzz/fuzz_config: FUZZ_EXTRA = $(FUZZ_CLI)
build-fuzz/fuzz_config: $(FUZZ_CLI)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# `make lint`: the 15 longest functions (candidates to split) and the layer
# check (scripts/check-layers.sh, docs/design.md; also a test in `make test`).
lint:
	@echo "the 15 longest functions (lines, where, name):"
	@sh scripts/longest-functions.sh -n 15
	@sh scripts/check-layers.sh

# `make test`: fast tier under sanitizers, then the optimized build's slow
# tier (end-to-end MNIST, CLI checks).  MLPC_FAST=1 skips the slow tier.
test: all tests asan tsan fuzz-build python
	@sh tests/run.sh

# PREFIX is also compiled into device.o (the CUDA plugin's last search
# folder): installing an existing build elsewhere keeps the old one there.
install: all install-python
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/mlpc.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libmlpc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libmlpc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libmlpc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libmlpc.so
	install -m 755 $(BUILD)/mlpc $(DESTDIR)$(PREFIX)/bin/
	$(if $(CUDA_PLUGIN),install -m 755 $(CUDA_PLUGIN) $(DESTDIR)$(PREFIX)/lib/)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    mlpc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlpc.pc

# `make python`: the Python package (python/, docs/python.md). Copies the
# shared library and the CLI into python/mlpc/_native/, so that
# `PYTHONPATH=python python3 -c "import mlpc"` works from the source tree and
# `python3 -m pip install --no-build-isolation ./python` packs them into the
# wheel. `make install` also installs the package for $(PYTHON) into
# $(PYDIR): /usr/lib/python3/dist-packages for PREFIX=/usr, else
# $(PREFIX)/lib/python3.X/dist-packages (on Debian's path for /usr/local).
PYTHON    ?= /usr/bin/python3
PY_NATIVE  = python/mlpc/_native
PYVER     := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PREFIX),/usr)
  PYDIR ?= $(PREFIX)/lib/python3/dist-packages
else
  PYDIR ?= $(PREFIX)/lib/python$(PYVER)/dist-packages
endif

python: $(BUILD)/libmlpc.so.$(VERSION) $(BUILD)/mlpc $(CUDA_PLUGIN)
	@mkdir -p $(PY_NATIVE)
	install -m 755 $(BUILD)/libmlpc.so.$(VERSION) $(PY_NATIVE)/$(SONAME)
	install -m 755 $(BUILD)/mlpc $(PY_NATIVE)/mlpc
	$(if $(CUDA_PLUGIN),install -m 755 $(CUDA_PLUGIN) $(PY_NATIVE)/)

install-python: python
	@if [ -z "$(PYVER)" ]; then \
	    echo "make install: $(PYTHON) not found, the Python package is not installed (set PYTHON=...)"; \
	else \
	    set -e; \
	    install -d $(DESTDIR)$(PYDIR)/mlpc/_native; \
	    install -m 644 python/mlpc/*.py $(DESTDIR)$(PYDIR)/mlpc/; \
	    install -m 755 $(PY_NATIVE)/* $(DESTDIR)$(PYDIR)/mlpc/_native/; \
	    echo "installed the Python package mlpc into $(DESTDIR)$(PYDIR)/mlpc"; \
	fi

.PHONY: python install-python

# `make bench`: the performance harness (bench/README.md); needs the Debian
# packages in bench/deps.txt, which bench/run.sh installs when missing.
$(BUILD)/bench_mlpc: bench/bench_mlpc.c include/mlpc.h $(BUILD)/libmlpc.a
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -o $@ bench/bench_mlpc.c $(BUILD)/libmlpc.a $(LIBS)

.PHONY: bench
bench: all $(BUILD)/bench_mlpc
	@sh bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf build build-asan build-tsan build-fuzz python/mlpc/_native python/build python/*.egg-info

.PHONY: all tests fast-tests asan tsan fuzz fuzz-build test install clean lint
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(DASH_SRC:%.c=$(BUILD)/%.d)
-include $(wildcard $(BUILD)/src/search/*.d)
