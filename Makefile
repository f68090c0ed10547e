# libae - top-level Makefile.  `make help` lists the targets.
#
# ---- settings you may change (or pass on the command line) ----------------
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CC         ?= cc
CXX        ?= c++
# O: where build products go (objects under $(O)/build, libraries under $(O)/lib)
O          ?= .
OPT        ?= -O2 -g
BLAS_PC    ?= openblas
# ---- end of settings -------------------------------------------------------

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

LIB_CFLAGS := $(CSTD) $(OPT) $(WARN) -Iinclude -Isrc -fPIC -fvisibility=hidden \
              $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)

BUILD      := $(O)/build
LIBOUT     := $(O)/lib
LIB_SRC    := $(sort $(wildcard src/*/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
SHARED     := $(LIBOUT)/libae.so.$(VERSION)
STATIC     := $(LIBOUT)/libae.a

.PHONY: all lib help clean
all: lib

lib: $(SHARED) $(LIBOUT)/$(SONAME) $(LIBOUT)/libae.so $(STATIC)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

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

# ---- tests -------------------------------------------------------------------
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
TEST_SRC     := $(sort $(wildcard tests/*.c))
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN     := $(BUILD)/tests/check_all
TEST_CFLAGS  := $(CSTD) $(OPT) $(WARN) -Wno-missing-prototypes -Iinclude -Isrc -Itests \
                $(PKG_CFLAGS) $(CHECK_CFLAGS) $(CPPFLAGS) $(CFLAGS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

# Tests link the static archive so they can reach ae__ internals.
$(TEST_BIN): $(TEST_OBJ) $(STATIC)
	$(CC) -o $@ $(TEST_OBJ) $(STATIC) $(LDFLAGS) $(CHECK_LIBS) $(PKG_LIBS)

.PHONY: check
check: $(TEST_BIN)
	cd tests && OPENBLAS_NUM_THREADS=1 $(abspath $(TEST_BIN))

clean:
	rm -rf $(BUILD) $(LIBOUT) ae.pc

help:
	@echo "targets: all lib check clean"

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
