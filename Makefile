# SPDX-License-Identifier: MIT
# libae - top-level Makefile.  `make help` lists the targets.
#
# ---- settings you may change (or pass on the command line) ----------------
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/libae
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# DESTDIR: staging root prepended by install/uninstall only (never stored).
DESTDIR    ?=
CC         ?= cc
CXX        ?= c++
# O: where build products go (objects under $(O)/build, libraries under
# $(O)/lib, example programs under $(O)/bin)
O          ?= .
OPT        ?= -O2 -g
BLAS_PC    ?= openblas
# examples link the static library (static) or the shared one (shared, with
# an rpath to $(O)/lib)
EXAMPLES_LINK ?= static
# arguments of `make demo` (passed to $(O)/bin/reconstruct)
DEMO_ARGS  ?=
SANITIZE   ?= -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_O     ?= $(O)/build/asan
TSAN_O     ?= $(O)/build/tsan
# arguments of `make bench` (passed to bench/run.py, e.g. --quick or
# --repeats 9); BENCH_PYTHON runs bench/run.py (standard library only)
BENCH_ARGS ?=
BENCH_PYTHON ?= python3
VALGRIND   ?= valgrind --leak-check=full --error-exitcode=1
INSTALL    ?= install
# ---- end of settings -------------------------------------------------------

# ---- Debian packages: installed (as root) or named, before anything else -----
# scripts/ensure-deps.sh runs while this Makefile is read, so the pkg-config
# calls below already see what it installed. AE_SKIP_DEPS=1 skips it.
DEPS_check          := build test data abi onnx mpi docs
DEPS_check-onnx     := build test data abi onnx ort docs
DEPS_check-mpi      := build data mpi
DEPS_check-asan     := build test data
DEPS_check-tsan     := build test data
DEPS_check-install  := build test
DEPS_bench          := build data
DEPS_bench-search   := build data
DEPS_check-valgrind := build test data valgrind
DEPS_abi-check      := build abi
DEPS_abi-baseline   := build abi
DEPS_demo           := build data
DEPS_docs           := docs
DEPS_tabular        := build tabular
DEPS_figures        := build data
DEPS := $(sort $(foreach g,$(MAKECMDGOALS),$(DEPS_$(g))))
ifneq ($(DEPS),)
DEPS_STATUS := $(shell scripts/ensure-deps.sh $(DEPS) >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/ensure-deps.sh $(DEPS) failed (see above))
endif
endif

# The version lives in include/ae/common.h only.
VERSION_MAJOR := $(shell sed -n 's/^\#define AE_VERSION_MAJOR \([0-9]*\).*/\1/p' include/ae/common.h)
VERSION_MINOR := $(shell sed -n 's/^\#define AE_VERSION_MINOR \([0-9]*\).*/\1/p' include/ae/common.h)
VERSION_PATCH := $(shell sed -n 's/^\#define AE_VERSION_PATCH \([0-9]*\).*/\1/p' include/ae/common.h)
VERSION    := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME     := libae.so.$(VERSION_MAJOR)

WARN       := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
              -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla -Werror
CSTD       := -std=c11 -D_POSIX_C_SOURCE=200809L
PKG_CFLAGS := $(shell pkg-config --cflags $(BLAS_PC) zlib 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(BLAS_PC) zlib 2>/dev/null) -lm -lpthread
PNG_CFLAGS := $(shell pkg-config --cflags libpng 2>/dev/null)
PNG_LIBS   := $(shell pkg-config --libs libpng 2>/dev/null)

# The library's element-wise loops are written to vectorize: -O2's default
# "very cheap" cost model skips loops of unknown length, math-errno keeps
# sqrtf a call and trapping-math forbids selects between computed values
# (libae never reads errno after a math function nor the floating-point
# exception flags; neither option changes a computed value).
# (-fvect-cost-model is gcc's; clang vectorizes such loops at -O2 anyway.)
VEC_COST   := $(shell $(CC) -fvect-cost-model=dynamic -Werror -E -x c /dev/null >/dev/null 2>&1 \
                && echo -fvect-cost-model=dynamic)
VEC_CFLAGS := -fno-math-errno -fno-trapping-math -ftree-vectorize $(VEC_COST)
LIB_CFLAGS := $(CSTD) $(OPT) $(VEC_CFLAGS) $(WARN) -Iinclude -Isrc -fPIC -fvisibility=hidden \
              $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)

BUILD      := $(O)/build
LIBOUT     := $(O)/lib
BINOUT     := $(O)/bin
LIB_SRC    := $(sort $(wildcard src/*/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
SHARED     := $(LIBOUT)/libae.so.$(VERSION)
STATIC     := $(LIBOUT)/libae.a
PCFILE     := $(O)/ae.pc
PCFILE_STATIC := $(O)/ae-static.pc

.PHONY: all lib examples tools demo check check-onnx test-run check-headers check-install check-mpi \
        check-asan check-tsan check-valgrind abi-check abi-baseline abi-map bench bench-search \
        fuzz golden docs install uninstall help clean tabular figures check-docs FORCE
all: lib tools

lib: $(SHARED) $(LIBOUT)/$(SONAME) $(LIBOUT)/libae.so $(STATIC)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

# libae's own GEMM micro-kernels (src/core/gemm_*.c): each file compiled for
# its instruction set on x86-64, run only on CPUs that have it (chosen at run
# time in src/core/gemm.c); elsewhere they compile to stubs.
ifneq ($(filter x86_64%,$(shell $(CC) -dumpmachine)),)
$(BUILD)/src/core/gemm_avx2.o: LIB_CFLAGS += -mavx2 -mfma
$(BUILD)/src/core/gemm_avx512.o: LIB_CFLAGS += -mavx512f -mfma
endif

$(SHARED): $(LIB_OBJ) src/ae.map
	@mkdir -p $(LIBOUT)
	$(CC) -shared -o $@ $(LIB_OBJ) -Wl,-soname,$(SONAME) -Wl,--version-script=src/ae.map \
	    -Wl,--no-undefined $(LDFLAGS) $(PKG_LIBS)

$(LIBOUT)/$(SONAME): $(SHARED)
	ln -sf libae.so.$(VERSION) $@
$(LIBOUT)/libae.so: $(LIBOUT)/$(SONAME)
	ln -sf $(SONAME) $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(LIBOUT)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# ---- pkg-config file -----------------------------------------------------------
# libdir/includedir are written relative to ${prefix} when they lie under it,
# so the installed ae.pc stays relocatable. Rewritten only when it changes.
PC_LIBDIR     := $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

$(PCFILE): ae.pc.in include/ae/common.h FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@BLAS_PC@|$(BLAS_PC)|g' ae.pc.in >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "wrote $@"; fi

# ae-static.pc: the same library linked statically (Libs names libae.a itself).
$(PCFILE_STATIC): ae-static.pc.in include/ae/common.h FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@BLAS_PC@|$(BLAS_PC)|g' ae-static.pc.in >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "wrote $@"; fi

# ---- CMake package config: find_package(ae 1.1 CONFIG) -> ae::ae ----------------
# Installed in $(CMAKEDIR); the paths inside are relative to it, so the
# installation can move. ae::ae_static carries the libraries libae.a needs.
CMAKEDIR    ?= $(LIBDIR)/cmake/ae
CMAKE_OUT   := $(BUILD)/cmake
CMAKE_FILES := $(CMAKE_OUT)/aeConfig.cmake $(CMAKE_OUT)/aeConfigVersion.cmake
CMAKE_STATIC_LIBS := $(subst $(eval) ,;,$(strip $(PKG_LIBS)))

$(CMAKE_OUT)/%.cmake: cmake/%.cmake.in include/ae/common.h FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(VERSION_MAJOR)|g' \
	    -e 's|@BLAS_PC@|$(BLAS_PC)|g' -e 's|@STATIC_LIBS@|$(CMAKE_STATIC_LIBS)|g' \
	    -e "s|@REL_LIBDIR@|$$(realpath -m --relative-to=$(CMAKEDIR) $(LIBDIR))|g" \
	    -e "s|@REL_INCLUDEDIR@|$$(realpath -m --relative-to=$(CMAKEDIR) $(INCLUDEDIR))|g" \
	    $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "wrote $@"; fi

# ---- examples: every examples/*.c is one program $(O)/bin/<name> ----------------
# Each program also gets examples/common/*.c, examples/<name>/*.c and the
# files listed in EXAMPLE_EXTRA_<name> (e.g. EXAMPLE_EXTRA_demo := examples/x/y.c).
EXAMPLE_SRC        := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN        := $(EXAMPLE_SRC:examples/%.c=$(BINOUT)/%)
EXAMPLE_COMMON_SRC := $(sort $(wildcard examples/common/*.c))
EXAMPLE_COMMON_OBJ := $(EXAMPLE_COMMON_SRC:%.c=$(BUILD)/%.o)
# examples/common/*.c as an archive: each program takes only what it uses
EXAMPLE_COMMON_LIB := $(if $(EXAMPLE_COMMON_OBJ),$(BUILD)/examples/libcommon.a)
EXAMPLE_ALL_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard examples/*.c examples/*/*.c)))
EXAMPLE_CFLAGS     := $(CSTD) $(OPT) $(WARN) -Iinclude -Iexamples $(PNG_CFLAGS) \
                      $(CPPFLAGS) $(CFLAGS)
ifeq ($(EXAMPLES_LINK),shared)
EXAMPLE_LIBDEP     := $(LIBOUT)/libae.so
EXAMPLE_LIBS       := -L$(LIBOUT) -lae -Wl,-rpath,$(abspath $(LIBOUT))
else
EXAMPLE_LIBDEP     := $(STATIC)
EXAMPLE_LIBS       := $(STATIC) $(PKG_LIBS)
endif
# extra objects of example $1 (kept in a variable: a % here would be taken
# for the stem of the pattern rule below)
example_objs = $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard examples/$1/*.c)) $(EXAMPLE_EXTRA_$1))

examples: $(EXAMPLE_BIN)

$(BUILD)/examples/%.o: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) -MMD -MP -c $< -o $@

$(EXAMPLE_COMMON_LIB): $(EXAMPLE_COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $(EXAMPLE_COMMON_OBJ)

# keep the objects make would otherwise delete as intermediate files
.SECONDARY: $(EXAMPLE_ALL_OBJ)

.SECONDEXPANSION:
$(BINOUT)/%: $(BUILD)/examples/%.o $$(call example_objs,$$*) $(EXAMPLE_COMMON_LIB) \
             $(EXAMPLE_LIBDEP)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(EXAMPLE_COMMON_LIB) $(LDFLAGS) $(EXAMPLE_LIBS) \
	    $(PNG_LIBS) -lm

# ---- Open MPI: examples/mpi (the adapter ae_mpi.c and mpi_train), outside
# libae; built only when mpicc is found (Debian: libopenmpi-dev openmpi-bin).
MPICC   ?= $(shell command -v mpicc 2>/dev/null)
MPIRUN  ?= mpirun
MPI_SRC := examples/mpi/mpi_train.c examples/mpi/ae_mpi.c
MPI_BIN := $(if $(MPICC),$(BINOUT)/mpi_train)

examples: $(MPI_BIN)

$(BINOUT)/mpi_train: $(MPI_SRC) examples/mpi/ae_mpi.h $(EXAMPLE_COMMON_LIB) $(EXAMPLE_LIBDEP)
	@mkdir -p $(dir $@)
	$(MPICC) $(EXAMPLE_CFLAGS) -o $@ $(MPI_SRC) $(EXAMPLE_COMMON_LIB) $(LDFLAGS) $(EXAMPLE_LIBS) \
	    $(PNG_LIBS) -lm

# The MPI gate of `make check` (scripts/check-mpi.sh): skipped without mpicc.
check-mpi: $(MPI_BIN)
	@MPIRUN="$(MPIRUN)" scripts/check-mpi.sh "$(MPI_BIN)"

# ---- tools: every tools/*.c is one program $(O)/bin/<name> (ae-inspect) --------
TOOL_SRC    := $(sort $(wildcard tools/*.c))
TOOL_BIN    := $(TOOL_SRC:tools/%.c=$(BINOUT)/%)
TOOL_CFLAGS := $(CSTD) $(OPT) $(WARN) -Iinclude $(CPPFLAGS) $(CFLAGS)

# Their manual pages: man/<name>.1.in, written to $(BUILD)/man/<name>.1
# with @VERSION@ replaced; make install puts them in $(MANDIR)/man1.
MAN_SRC     := $(sort $(wildcard man/*.1.in))
MAN_OUT     := $(MAN_SRC:man/%.in=$(BUILD)/man/%)

tools: $(TOOL_BIN) $(MAN_OUT)

$(TOOL_BIN): $(BINOUT)/%: tools/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TOOL_CFLAGS) -o $@ $< $(LDFLAGS) $(STATIC) $(PKG_LIBS)

$(MAN_OUT): $(BUILD)/man/%: man/%.in include/ae/common.h
	@mkdir -p $(dir $@)
	sed 's|@VERSION@|$(VERSION)|g' $< >$@

# Trains the Fashion-MNIST demo (examples/reconstruct.c).
demo: $(BINOUT)/reconstruct
	$(BINOUT)/reconstruct $(DEMO_ARGS)

# ---- tests -------------------------------------------------------------------
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
TEST_SRC     := $(sort $(wildcard tests/*.c))
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN     := $(BUILD)/tests/check_all
TEST_CFLAGS  := $(CSTD) $(OPT) $(WARN) -Wno-missing-prototypes -Iinclude -Isrc -Itests \
                $(PKG_CFLAGS) $(CHECK_CFLAGS) $(CPPFLAGS) $(CFLAGS)
TEST_ENV     := OPENBLAS_NUM_THREADS=1
TEST_LOG     := $(BUILD)/tests/check.log

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

# Tests link the static archive so they can reach ae__ internals.
$(TEST_BIN): $(TEST_OBJ) $(STATIC)
	$(CC) -o $@ $(TEST_OBJ) $(STATIC) $(LDFLAGS) $(CHECK_LIBS) $(PKG_LIBS)

# The model-file fuzz target (tests/fuzz/) with a plain main() that replays
# inputs: built by $(CC), it replays tests/fuzz/corpus in `make check`.
FUZZ_SRC    := tests/fuzz/fuzz_model_load.c
FUZZ_REPLAY := $(BUILD)/tests/fuzz/replay
FUZZ_CORPUS := tests/fuzz/corpus
# The dataset-loader target (IDX plain and gzip, CSV), the same way.
FUZZ_DATA_SRC    := tests/fuzz/fuzz_data_load.c
FUZZ_DATA_REPLAY := $(BUILD)/tests/fuzz/replay_data
FUZZ_DATA_CORPUS := tests/fuzz/data_corpus

$(FUZZ_REPLAY): $(FUZZ_SRC) tests/fuzz/standalone.c tests/fuzz/capped.h tests/golden/golden_v1.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $(FUZZ_SRC) tests/fuzz/standalone.c $(STATIC) $(LDFLAGS) \
	    $(PKG_LIBS)

$(FUZZ_DATA_REPLAY): $(FUZZ_DATA_SRC) tests/fuzz/standalone.c tests/fuzz/capped.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $(FUZZ_DATA_SRC) tests/fuzz/standalone.c $(STATIC) $(LDFLAGS) \
	    $(PKG_LIBS)

# The ONNX gate (tests/onnx/): helper writes libae's exports and runs
# imported files; check.py validates the exports with Debian's python3-onnx
# and imports PyTorch's (python3-torch). ONNX_PYTHON is Debian's Python, the
# one those packages are installed for.
ONNX_HELPER := $(BUILD)/tests/onnx/helper
ONNX_WORK   := $(BUILD)/tests/onnx/work
ONNX_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
ONNX_CHECK   = $(ONNX_PYTHON) tests/onnx/check.py $(ONNX_HELPER) $(ONNX_WORK) $(BINOUT)

$(ONNX_HELPER): tests/onnx/helper.c tests/onnx_models.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ tests/onnx/helper.c $(STATIC) $(LDFLAGS) $(PKG_LIBS)

# The ONNX importer's fuzz target, built and replayed the same way.
ONNX_FUZZ_SRC    := tests/fuzz/fuzz_onnx_import.c
ONNX_FUZZ_REPLAY := $(BUILD)/tests/fuzz/replay_onnx
ONNX_FUZZ_CORPUS := tests/fuzz/corpus_onnx

$(ONNX_FUZZ_REPLAY): $(ONNX_FUZZ_SRC) tests/fuzz/standalone.c tests/fuzz/capped.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $(ONNX_FUZZ_SRC) tests/fuzz/standalone.c $(STATIC) $(LDFLAGS) \
	    $(PKG_LIBS)

# The gates `make check` runs after the suites (each also a target of its own).
ABI_CHECK     = scripts/abi-check.sh $(LIBOUT)
ABI_SELFTEST  = CC="$(CC)" scripts/abi-selftest.sh
PINNED_CHECK  = CC="$(CC)" scripts/check-pinned.sh include
OLD_CONSUMERS = CC="$(CC)" BLAS_PC="$(BLAS_PC)" scripts/check-old-consumers.sh $(LIBOUT)
README_CHECK  = CC="$(CC)" BLAS_PC="$(BLAS_PC)" scripts/check-readme.sh $(O)
DOCS_CHECK    = scripts/check-docs.sh $(BINOUT)
HEADERS_CHECK = CC="$(CC)" CXX="$(CXX)" scripts/check-headers.sh include
INSTALL_CHECK = MAKE="$(MAKE)" CC="$(CC)" CXX="$(CXX)" O="$(O)" scripts/check-install.sh
LINK_CHECK    = CC="$(CC)" BLAS_PC="$(BLAS_PC)" scripts/link-footprint.sh --check $(LIBOUT)

# make check: the Check suites, then abi-check, the header and the
# installed-consumer tests; the last line sums up (Check tests + gates).
check: $(TEST_BIN) lib examples tools $(FUZZ_REPLAY) $(FUZZ_DATA_REPLAY) $(ONNX_FUZZ_REPLAY) \
       $(ONNX_HELPER)
	@echo "==== Check suites"
	@scripts/run-suite.sh $(TEST_LOG) sh -c 'cd tests && $(TEST_ENV) $(abspath $(TEST_BIN))'
	@echo "==== fuzz corpus replay ($(FUZZ_CORPUS), $(FUZZ_DATA_CORPUS))"
	@$(TEST_ENV) $(FUZZ_REPLAY) $(FUZZ_CORPUS) && $(TEST_ENV) $(FUZZ_DATA_REPLAY) $(FUZZ_DATA_CORPUS)
	@echo "==== ONNX fuzz corpus replay ($(ONNX_FUZZ_CORPUS))"
	@$(TEST_ENV) $(ONNX_FUZZ_REPLAY) $(ONNX_FUZZ_CORPUS)
	@echo "==== ONNX: libae's exports pass onnx.checker (full_check); PyTorch's exports run in libae"
	@$(TEST_ENV) $(ONNX_CHECK)
	@echo "==== abi-check"
	@$(ABI_CHECK)
	@echo "==== abi-selftest: the gate allows what the stability promise allows, nothing else"
	@$(ABI_SELFTEST)
	@echo "==== pinned enumerator values"
	@$(PINNED_CHECK)
	@echo "==== old-headers consumers: built against each frozen 1.x release's headers, run against this library"
	@$(OLD_CONSUMERS)
	@echo "==== headers: each compiles alone as C11 and C++11"
	@$(HEADERS_CHECK)
	@echo "==== --help of the examples and tools, manual pages (scripts/check-help.sh)"
	@scripts/check-help.sh $(BINOUT) $(BUILD)/man
	@echo "==== installed consumers (make install/uninstall, pkg-config, C++ and static C)"
	@$(INSTALL_CHECK)
	@echo "==== the README's program, compiled and run (trains the demo model, about 4 s)"
	@$(README_CHECK)
	@echo "==== inference-only static link: an encoder-only program links no training code"
	@$(LINK_CHECK)
	@echo "==== Open MPI: mpirun --oversubscribe -np 2 mpi_train against 1 rank, resume, faults (scripts/check-mpi.sh)"
	@MPIRUN="$(MPIRUN)" scripts/check-mpi.sh "$(MPI_BIN)"
	@echo "==== the docs' numbers against the examples' output (small runs, and make figures' records)"
	@$(DOCS_CHECK)
	@echo "==== API reference: Doxygen over the public headers, warnings are errors (as make docs)"
	@rm -rf $(BUILD)/api-check && mkdir -p $(BUILD)/api-check
	@AE_VERSION=$(VERSION) AE_DOCS_OUT=$(BUILD)/api-check $(DOXYGEN) docs/Doxyfile >/dev/null
	@scripts/run-suite.sh --summary $(TEST_LOG) "fuzz corpus replay" "ONNX fuzz corpus replay" \
	    ONNX abi-check abi-selftest "pinned values" "old-headers consumers" headers --help \
	    "installed consumers" README "inference-only link" MPI "docs numbers" "API reference"

# make check, then libae's exports run in ONNX Runtime (npm's onnxruntime-node,
# installed into $(ORT_DIR) with --ignore-scripts: its linux-x64 CPU binary
# is inside the package) next to libae's own outputs (tests/onnx/ort.mjs).
ORT_DIR ?= $(BUILD)/onnxruntime
check-onnx: check
	@echo "==== ONNX Runtime: libae's exports run there as in libae"
	@test -d $(ORT_DIR)/node_modules/onnxruntime-node || \
	    (mkdir -p $(ORT_DIR) && cd $(ORT_DIR) && \
	     npm install --ignore-scripts --no-audit --no-fund --silent onnxruntime-node)
	node tests/onnx/ort.mjs $(ORT_DIR)/node_modules $(ONNX_WORK) dense conv custom

# The suites alone (CK_RUN_SUITE=<module> selects one).
test-run: $(TEST_BIN)
	cd tests && $(TEST_ENV) $(abspath $(TEST_BIN))

check-headers:
	$(HEADERS_CHECK)

check-docs: examples
	$(DOCS_CHECK)

check-install: lib
	$(INSTALL_CHECK)

# The whole suite rebuilt with ASan+UBSan in $(ASAN_O).
check-asan:
	$(MAKE) O=$(ASAN_O) OPT="-O1 -g -fno-omit-frame-pointer $(SANITIZE)" \
	    LDFLAGS="$(LDFLAGS) $(SANITIZE)" test-run

# The whole suite rebuilt with ThreadSanitizer in $(TSAN_O) (the concurrency
# tests of check_threads and check_model run several threads of inference).
# OpenBLAS's own synchronisation is invisible to TSan: tests/tsan.supp says
# why, and limits the suppression to OpenBLAS's sgemm_beta frame. TSan runs
# code 5 to 15 times slower: Check's per-test timeouts are scaled by 4.
check-tsan:
	$(MAKE) O=$(TSAN_O) OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
	    LDFLAGS="$(LDFLAGS) -fsanitize=thread" \
	    TEST_ENV="$(TEST_ENV) CK_TIMEOUT_MULTIPLIER=4 TSAN_OPTIONS=suppressions=$(abspath tests/tsan.supp)" \
	    test-run

# The suite in-process (CK_FORK=no) under valgrind's leak checker.
check-valgrind: $(TEST_BIN)
	cd tests && CK_FORK=no $(TEST_ENV) $(VALGRIND) $(abspath $(TEST_BIN))

# libFuzzer build of tests/fuzz/fuzz_model_load.c: the library rebuilt with
# clang in $(FUZZ_O) (coverage, ASan, UBSan), then linked with -fsanitize=fuzzer.
# Run: $(FUZZ_O)/fuzz_model_load -max_total_time=600 WORKDIR $(FUZZ_CORPUS)
# (tests/fuzz/README.md). Warnings are not errors there: clang's differ.
FUZZ_O     ?= $(O)/build/fuzz
FUZZ_CC    ?= clang
FUZZ_FLAGS ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined
fuzz:
	$(MAKE) O=$(FUZZ_O) CC=$(FUZZ_CC) OPT="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" \
	    VEC_CFLAGS= CFLAGS="$(CFLAGS) -Wno-error" $(FUZZ_O)/lib/libae.a
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iinclude -Isrc -Itests $(PKG_CFLAGS) \
	    -o $(FUZZ_O)/fuzz_model_load $(FUZZ_SRC) $(FUZZ_O)/lib/libae.a $(PKG_LIBS)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iinclude -Isrc -Itests $(PKG_CFLAGS) \
	    -o $(FUZZ_O)/fuzz_data_load $(FUZZ_DATA_SRC) $(FUZZ_O)/lib/libae.a $(PKG_LIBS)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iinclude -Isrc -Itests $(PKG_CFLAGS) \
	    -o $(FUZZ_O)/fuzz_onnx_import $(ONNX_FUZZ_SRC) $(FUZZ_O)/lib/libae.a $(PKG_LIBS)
	@echo "fuzz: built $(FUZZ_O)/fuzz_model_load, $(FUZZ_O)/fuzz_data_load and $(FUZZ_O)/fuzz_onnx_import"

# Rewrites the golden file tests/data/golden_v1.aem from tests/golden/ (only
# on purpose: tests/check_io.c checks that the library reads it bit-exactly).
GOLDEN_GEN := $(BUILD)/tests/golden/gen_golden_v1
$(GOLDEN_GEN): tests/golden/gen_golden_v1.c tests/golden/golden_v1.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(PKG_LIBS)
golden: $(GOLDEN_GEN)
	$(GOLDEN_GEN) tests/data/golden_v1.aem

# ---- benchmarks --------------------------------------------------------------------
# bench/bench.c (libae's side) against bench/torch_peer.py (PyTorch, Debian's
# python3-torch), driven by bench/run.py: markdown tables on stdout and
# bench/results.json. The peer's package is installed as root when missing
# (scripts/ensure-deps.sh bench); otherwise bench/run.py says it skips it.
BENCH_BIN := $(BUILD)/bench/bench

$(BENCH_BIN): bench/bench.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iinclude $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) \
	    -o $@ bench/bench.c $(STATIC) $(LDFLAGS) $(PKG_LIBS)

# tests/kernels/gemm_table.c: libae's own GEMM kernels against cblas_sgemm,
# for make bench's GEMM table. White-box (it includes the kernels' internal
# header src/core/gemm.h), so it lives with the tests: every program under
# bench/ and examples/ builds against include/ only, as a user's does.
GEMM_BENCH_BIN := $(BUILD)/tests/kernels/gemm_table

$(GEMM_BENCH_BIN): tests/kernels/gemm_table.c src/core/gemm.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iinclude -Isrc $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) \
	    -o $@ tests/kernels/gemm_table.c $(STATIC) $(LDFLAGS) $(PKG_LIBS)

# bench/search_ivf.c: exact search (ae_index) against an IVF prototype, by
# database size: where an approximate index would take over (docs/search.md).
SEARCH_BENCH_BIN := $(BUILD)/bench/search_ivf

$(SEARCH_BENCH_BIN): bench/search_ivf.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iinclude $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) \
	    -o $@ bench/search_ivf.c $(STATIC) $(LDFLAGS) $(PKG_LIBS)

bench-search: $(SEARCH_BENCH_BIN)
	OPENBLAS_NUM_THREADS=1 $(SEARCH_BENCH_BIN)

bench: $(BENCH_BIN) $(GEMM_BENCH_BIN) $(MPI_BIN)
	@scripts/ensure-deps.sh bench || \
	    echo "bench: python3-torch is missing and cannot be installed here: the PyTorch peer is skipped"
	$(BENCH_PYTHON) bench/run.py --bench $(BENCH_BIN) --gemm-table $(GEMM_BENCH_BIN) \
	    $(if $(MPI_BIN),--mpi $(MPI_BIN)) $(BENCH_ARGS)

# ---- pictures ------------------------------------------------------------------------
# Regenerates every picture in docs/img from the examples (default settings,
# one thread) and the output of each run beside it (docs/img/<run>.txt);
# scripts/check-docs.sh (make check) compares the pages' numbers with them.
figures: examples
	scripts/figures.sh $(BINOUT) docs/img

# ---- tabular anomaly detection against PCA and an Isolation Forest --------------------
# docs/examples/tabular_anomaly.py: examples/anomaly's CSV mode on the tables
# Debian's python3-sklearn ships, the two baselines on the same splits, ten
# seeds; prints the tables of docs/examples/anomaly.md (about a minute).
TABULAR_ARGS ?= --variants all --seeds 10
tabular: $(BINOUT)/anomaly
	/usr/bin/python3 docs/examples/tabular_anomaly.py --bin $(BINOUT)/anomaly $(TABULAR_ARGS)

# ---- ABI -------------------------------------------------------------------------
abi-check: lib
	$(ABI_CHECK)

# Adds the AE_API functions src/ae.map is missing to the node of the current
# version (created when missing); PRUNE=1 also deletes the names no header
# declares, unless a released baseline exports them.
abi-map:
	scripts/abi-map.sh $(if $(PRUNE),--prune) src/ae.map include

# Once per release, when its interface is final: syncs src/ae.map with the
# headers, rebuilds, and freezes the release's ABI as abi/libae-$(VERSION).abi
# (the abidw dump every later build of the major is checked against) and its
# public headers as abi/include-$(VERSION).tar.gz (what the old-headers
# consumer test compiles against). Refuses to overwrite a frozen release.
# Commit src/ae.map and both files afterwards.
ABI_FROZEN  := abi/libae-$(VERSION).abi
ABI_HEADERS := abi/include-$(VERSION).tar.gz
abi-baseline:
	@for f in $(ABI_FROZEN) $(ABI_HEADERS); do \
	    if [ -e "$$f" ]; then \
	        echo "abi-baseline: $$f exists: release $(VERSION) is frozen (bump the version first)" >&2; \
	        exit 1; \
	    fi; \
	done
	scripts/abi-map.sh src/ae.map include
	$(MAKE) lib
	@readelf -S -W $(SHARED) | grep -q '\.debug_info' || \
	    { echo "abi-baseline: $(SHARED) has no debug info (OPT must contain -g)" >&2; exit 1; }
	abidw --headers-dir include --drop-private-types --no-corpus-path --no-comp-dir-path \
	    --out-file $(ABI_FROZEN) $(SHARED)
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - include | \
	    gzip -n -9 >$(ABI_HEADERS)
	@echo "abi-baseline: froze $(ABI_FROZEN) and $(ABI_HEADERS); commit them with src/ae.map"
	$(ABI_CHECK)

# ---- API reference -----------------------------------------------------------------
# Doxygen over the public headers (docs/Doxyfile): every undocumented public
# function, type, field, enum value or macro fails the build (WARN_AS_ERROR).
# Output: $(DOCS_OUT)/html/index.html. `make check` runs the same Doxygen
# into $(BUILD)/api-check as a gate.
DOXYGEN  ?= doxygen
DOCS_OUT := $(O)/docs/api

docs:
	@rm -rf $(DOCS_OUT)
	@mkdir -p $(DOCS_OUT)
	AE_VERSION=$(VERSION) AE_DOCS_OUT=$(DOCS_OUT) $(DOXYGEN) docs/Doxyfile
	@echo "docs: API reference in $(DOCS_OUT)/html/index.html"

# ---- install -----------------------------------------------------------------------
HEADERS_TOP := include/ae.h
HEADERS_AE  := $(sort $(wildcard include/ae/*.h))
HEADERS_SYS := $(sort $(wildcard include/ae/sys/*.h))
INSTALLED   := $(addprefix $(DESTDIR)$(LIBDIR)/,libae.so.$(VERSION) $(SONAME) libae.so libae.a) \
               $(DESTDIR)$(PKGCONFIGDIR)/ae.pc $(DESTDIR)$(PKGCONFIGDIR)/ae-static.pc \
               $(CMAKE_FILES:$(CMAKE_OUT)/%=$(DESTDIR)$(CMAKEDIR)/%) \
               $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(HEADERS_TOP) $(HEADERS_AE) $(HEADERS_SYS)) \
               $(TOOL_BIN:$(BINOUT)/%=$(DESTDIR)$(BINDIR)/%) \
               $(MAN_OUT:$(BUILD)/man/%=$(DESTDIR)$(MANDIR)/man1/%) \
               $(DESTDIR)$(DOCDIR)/LICENSE

install: lib $(PCFILE) $(PCFILE_STATIC) $(CMAKE_FILES) $(TOOL_BIN) $(MAN_OUT)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/ae/sys $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libae.so.$(VERSION)
	ln -sf libae.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libae.so
	$(INSTALL) -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libae.a
	$(INSTALL) -m 644 $(PCFILE) $(DESTDIR)$(PKGCONFIGDIR)/ae.pc
	$(INSTALL) -m 644 $(PCFILE_STATIC) $(DESTDIR)$(PKGCONFIGDIR)/ae-static.pc
	$(INSTALL) -m 644 $(CMAKE_FILES) $(DESTDIR)$(CMAKEDIR)/
	$(INSTALL) -m 644 $(HEADERS_TOP) $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(HEADERS_AE) $(DESTDIR)$(INCLUDEDIR)/ae/
	$(INSTALL) -m 644 $(HEADERS_SYS) $(DESTDIR)$(INCLUDEDIR)/ae/sys/
	$(INSTALL) -m 755 $(TOOL_BIN) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(MAN_OUT) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 LICENSE $(DESTDIR)$(DOCDIR)/LICENSE
	@$(RUN_LDCONFIG)

# The dynamic loader's cache: refreshed by install and uninstall when they
# run as root, without DESTDIR, into a library folder the loader searches
# (/lib*, /usr/lib*, /usr/local/lib*), so programs find libae.so.1 there
# with no rpath or LD_LIBRARY_PATH. Other prefixes: see the README.
LDCONFIG     ?= ldconfig
LDCONFIG_DIR := $(if $(DESTDIR),,$(filter /lib /lib/% /usr/lib /usr/lib/% /usr/local/lib /usr/local/lib/%,$(LIBDIR)))
RUN_LDCONFIG  = if [ -n "$(LDCONFIG_DIR)" ] && [ "$$(id -u)" = 0 ]; then \
                    echo "$(LDCONFIG)"; $(LDCONFIG) || echo "warning: $(LDCONFIG) failed" >&2; fi

# Removes exactly the files install put down, then ae/sys and ae if empty.
uninstall:
	rm -f $(INSTALLED)
	@rmdir $(DESTDIR)$(INCLUDEDIR)/ae/sys $(DESTDIR)$(INCLUDEDIR)/ae $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(CMAKEDIR) $(dir $(DESTDIR)$(CMAKEDIR)) 2>/dev/null || true
	@$(RUN_LDCONFIG)

# ---- housekeeping ------------------------------------------------------------------
clean:
	rm -rf $(BUILD) $(LIBOUT) $(BINOUT) $(PCFILE) $(PCFILE_STATIC) $(CMAKE_OUT) $(O)/stage

help:
	@echo "libae $(VERSION) - make targets (O=<dir> puts every product under <dir>):"
	@echo "  all            lib/libae.so.$(VERSION) (+ libae.so.$(VERSION_MAJOR), libae.so links), lib/libae.a, tools"
	@echo "  lib            the libraries only"
	@echo "  examples       every examples/*.c as $(BINOUT)/<name> (EXAMPLES_LINK=static|shared)"
	@echo "  demo           builds examples/reconstruct and trains on Fashion-MNIST (DEMO_ARGS=...)"
	@echo "  tools          every tools/*.c as $(BINOUT)/<name> (ae-inspect: describes and checks model files)"
	@echo "  check          Check suites, fuzz corpus replays, ONNX gate, abi-check and its self-test,"
	@echo "                 pinned values, old-headers consumers, headers, --help, installed consumers,"
	@echo "                 README program, inference-only static link (scripts/link-footprint.sh --check),"
	@echo "                 the docs' numbers (check-docs: small example runs, make figures' records),"
	@echo "                 the API reference (Doxygen, warnings are errors)"
	@echo "  check-docs     the docs' numbers alone (scripts/check-docs.sh)"
	@echo "  check-mpi      the Open MPI gate alone (scripts/check-mpi.sh)"
	@echo "  check-onnx     check, then libae's ONNX exports run in ONNX Runtime (npm onnxruntime-node)"
	@echo "  fuzz           the libFuzzer targets (model files, dataset loaders, ONNX import), built with"
	@echo "                 clang in FUZZ_O=$(FUZZ_O)"
	@echo "  docs           API reference from the headers with Doxygen in $(O)/docs/api (warnings are errors)"
	@echo "  golden         rewrites tests/data/golden_v1.aem (on purpose only)"
	@echo "  test-run       the Check suites only (CK_RUN_SUITE=<module> selects one)"
	@echo "  check-asan     the suites rebuilt with ASan+UBSan in ASAN_O=$(ASAN_O)"
	@echo "  check-tsan     the suites rebuilt with ThreadSanitizer in TSAN_O=$(TSAN_O)"
	@echo "  check-valgrind the suites in-process under valgrind --leak-check=full"
	@echo "  check-headers  every public header compiles alone as C11 and C++11"
	@echo "  check-install  install into $(O)/stage, build and run the consumers, uninstall"
	@echo "  bench          libae vs PyTorch side by side: tables + bench/results.json (BENCH_ARGS=...)"
	@echo "  bench-search   exact search against an IVF prototype by database size (docs/search.md)"
	@echo "  figures        regenerates every picture of docs/img from the examples, with each run's"
	@echo "                 output beside it (docs/img/<run>.txt; about 10 minutes)"
	@echo "  tabular        examples/anomaly --csv vs PCA and Isolation Forest on scikit-learn's tables"
	@echo "                 (docs/examples/anomaly.md; TABULAR_ARGS=...)"
	@echo "  abi-check      exports == src/ae.map == AE_API functions; abidiff + field layouts vs every"
	@echo "                 frozen abi/libae-MAJOR.*.abi; SONAME and newest node follow the version"
	@echo "  abi-map        adds missing AE_API functions to src/ae.map's AE_MAJOR.MINOR node (made if missing)"
	@echo "  abi-baseline   at a release: freezes abi/libae-$(VERSION).abi and abi/include-$(VERSION).tar.gz"
	@echo "  install        into DESTDIR + PREFIX=$(PREFIX) (LIBDIR, INCLUDEDIR, PKGCONFIGDIR, CMAKEDIR, BINDIR,"
	@echo "                 MANDIR, DOCDIR): ae.pc, ae-static.pc, CMake's aeConfig.cmake; runs ldconfig as"
	@echo "                 root for a system LIBDIR (LDCONFIG=...)"
	@echo "  uninstall      removes exactly what install put down"
	@echo "  clean          removes $(BUILD) $(LIBOUT) $(BINOUT) $(PCFILE)"
	@echo "check, check-onnx, demo, docs, check-asan, check-tsan, check-valgrind, abi-check first install missing Debian"
	@echo "packages when run as root (scripts/ensure-deps.sh; AE_SKIP_DEPS=1 skips that)."

FORCE:

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(EXAMPLE_ALL_OBJ:.o=.d)
