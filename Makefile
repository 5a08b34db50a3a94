# vxcr build.  `make` builds into $(BUILD); `make check` runs every test.
BUILD     ?= build
PREFIX    ?= /usr/local
CC        ?= cc
PROTOC_C  ?= protoc-c
SCDOC     ?= scdoc
# One version, the one `vxcr --version` prints.
VERSION   := $(shell sed -n 's/^\#define VXCR_VERSION "\(.*\)"/\1/p' lib/include/vxcr/vxcr.h)
SOVER     := 0

PKGS      := libprotobuf-c libzstd libsodium nettle libnl-3.0 libnl-route-3.0 libnftables libseccomp
WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS    ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -fPIC -pthread \
             -DVXCR_BINDIR='"$(PREFIX)/bin"' \
             -Ilib -Ilib/include -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libnftables and nettle are loaded when first used (dlopen: lib/net/nft.c,
# lib/img/sign.c): their headers are needed, their link is not (NOTES
# "Small processes in milliseconds").
LINK_PKGS := $(filter-out libnftables nettle,$(PKGS))
LIBS_EXT   = -Wl,--as-needed $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) -pthread

PROTOS    := $(wildcard images/*.proto)
PB_C      := $(patsubst images/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PB_H      := $(PB_C:.c=.h)
LIB_SRC   := $(wildcard lib/*.c lib/*/*.c)
LIB_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) \
             $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/gen/%.o,$(PB_C))
CLI_SRC   := $(wildcard crtools/*.c)
CLI_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
PROG_SRC  := $(wildcard tests/progs/*.c)
PROG_BIN  := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(PROG_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

STATIC    := $(BUILD)/lib/libvxcr.a
SHARED    := $(BUILD)/lib/libvxcr.so.$(SOVER)
BIN       := $(BUILD)/bin/vxcr
DEPS_OK   := $(BUILD)/.deps-ok
# Man pages: docs/NAME.SECTION.scd -> $(BUILD)/man/NAME.SECTION (scdoc).
MAN_SRC   := $(wildcard docs/*.scd)
MAN_OUT   := $(patsubst docs/%.scd,$(BUILD)/man/%,$(MAN_SRC))
MANDIR    ?= $(PREFIX)/share/man
COMPDIR   ?= $(PREFIX)/share/bash-completion/completions

.PHONY: all deps check check-unit check-integration check-kernel demo bench \
        install lint clean asan fuzz fuzz-build fuzz-bins fuzz-cov man
.SECONDARY:

all: $(BIN) $(BUILD)/bin/vxdump $(BUILD)/bin/vxrestore $(STATIC) $(SHARED) \
     $(BUILD)/lib/vxcr.pc $(PROG_BIN) $(UNIT_BIN) $(BENCH_BIN) $(MAN_OUT)

# Installs missing Debian packages once (the script checks before installing).
$(DEPS_OK): contrib/install-deps.sh
	@mkdir -p $(BUILD)
	@contrib/install-deps.sh --check >/dev/null 2>&1 || contrib/install-deps.sh
	@touch $@
deps: $(DEPS_OK)

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: images/%.proto $(DEPS_OK)
	@mkdir -p $(BUILD)/gen
	$(PROTOC_C) --proto_path=images --c_out=$(BUILD)/gen $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-unused -c $< -o $@

$(BUILD)/obj/%.o: %.c $(PB_H) $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The CLI sees only the public headers (lib/include/vxcr) and its own.
CLI_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ilib/include
$(BUILD)/obj/crtools/%.o: crtools/%.c $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ) lib/libvxcr.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libvxcr.so.$(SOVER) -Wl,--version-script=lib/libvxcr.map \
		-o $@ $(LIB_OBJ) $(LIBS_EXT)
	ln -sf libvxcr.so.$(SOVER) $(BUILD)/lib/libvxcr.so

# Test hooks (util/testhook.h) exist only in the test build of the library:
# the few files that use them are compiled a second time with
# -DVXCR_TEST_HOOKS and linked with every other object into
# BUILD/lib-test/libvxcr.so.0, which the tests put first in LD_LIBRARY_PATH
# (tests/integration/lib.sh).  BUILD/lib, the one installed, has none.
HOOK_SRC    := $(shell grep -l '^\#include "util/testhook.h"' $(LIB_SRC))
HOOK_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(HOOK_SRC))
HOOK_OBJ_T  := $(patsubst %.c,$(BUILD)/obj-test/%.o,$(HOOK_SRC))
TEST_SHARED := $(BUILD)/lib-test/libvxcr.so.$(SOVER)
all: $(TEST_SHARED)

$(BUILD)/obj-test/%.o: %.c $(PB_H) $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DVXCR_TEST_HOOKS -MMD -MP -c $< -o $@

$(TEST_SHARED): $(filter-out $(HOOK_OBJ),$(LIB_OBJ)) $(HOOK_OBJ_T) lib/libvxcr.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libvxcr.so.$(SOVER) -Wl,--version-script=lib/libvxcr.map \
		-o $@ $(filter %.o,$^) $(LIBS_EXT)

$(BUILD)/lib/vxcr.pc: lib/vxcr.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/man/%: docs/%.scd $(DEPS_OK)
	@mkdir -p $(dir $@)
	sed 's|@VERSION@|$(VERSION)|g' $< | $(SCDOC) > $@.tmp || { rm -f $@.tmp; exit 1; }
	mv $@.tmp $@
man: $(MAN_OUT)

# Linked against the shared library, found next to the binary's directory
# (BUILD/lib in the build tree, PREFIX/lib once installed).
$(BIN): $(CLI_OBJ) $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) -L$(BUILD)/lib -l:libvxcr.so.$(SOVER) \
		-Wl,-rpath,'$$ORIGIN/../lib'

$(BUILD)/bin/vxdump $(BUILD)/bin/vxrestore: $(BIN)
	ln -sf vxcr $@

# vxcr-exec: the binfmt_misc interpreter of executable images (vxcr
# binfmt), installed beside vxcr; the public API only, like the CLI.
EXEC_BIN := $(BUILD)/bin/vxcr-exec
all: $(EXEC_BIN)
$(EXEC_BIN): crtools/exec/vxcr-exec.c $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -o $@ $< -L$(BUILD)/lib -l:libvxcr.so.$(SOVER) \
		-Wl,-rpath,'$$ORIGIN/../lib'

$(BUILD)/tests/unit/%: tests/unit/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT) -lcunit

# test_chan drives the channel's fault hook (VXCR_TEST_CHAN): it links the
# test build of chan.c ahead of the library, whose own chan.o then stays out.
$(BUILD)/tests/unit/test_chan: tests/unit/test_chan.c $(BUILD)/obj-test/lib/img/chan.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/obj-test/lib/img/chan.o $(STATIC) $(LIBS_EXT) -lcunit

# Fuzz tools (tests/fuzz/*.c), e.g. the image mutator of t-fuzz-restore.sh.
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/*.c))
all: $(FUZZ_BIN)
# Every C file under tests/fuzz/mutate/ is linked into each fuzz tool but
# edit-image, which needs only the image reading and writing.
FUZZ_PARTS := $(wildcard tests/fuzz/mutate/*.c)
$(BUILD)/tests/fuzz/edit-image: tests/fuzz/edit-image.c tests/fuzz/mutate/image.c \
		tests/fuzz/mutate/mutate.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/mutate/image.c $(STATIC) $(LIBS_EXT)
# raw-frames (zstd frames rewritten as Raw_Blocks) needs zstd alone.
$(BUILD)/tests/fuzz/raw-frames: tests/fuzz/raw-frames.c tests/unit/img-raw.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lzstd
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_PARTS) $(wildcard tests/fuzz/mutate/*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< $(FUZZ_PARTS) $(STATIC) $(LIBS_EXT)

# libFuzzer harnesses (tests/fuzz/lf/, see NOTES "Fuzzing"): built with clang
# in their own tree, FUZZ_BUILD, with the library; protobuf-c is Debian's
# (not instrumented: no other project's code is kept in this one).
FUZZ_CC     ?= clang-14
FUZZ_BUILD  ?= $(BUILD)-fuzz
FUZZ_TIME   ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)
LF_NAMES    := reader img-text plan
LF_BIN      := $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(LF_NAMES))
LF_PARTS    := tests/fuzz/lf/fuzz.c tests/fuzz/lf/codec.c tests/fuzz/lf/input.c \
               tests/fuzz/lf/structured.c tests/fuzz/mutate/msg.c tests/fuzz/mutate/kinds.c
LF_HDRS     := $(wildcard tests/fuzz/lf/*.h tests/fuzz/mutate/*.h)
# Harness bodies linked into the unit test that replays tests/fuzz/regress/.
LF_REPLAY   := $(patsubst %,tests/fuzz/lf/fuzz-%.c,$(LF_NAMES)) tests/fuzz/lf/input.c

$(BUILD)/tests/unit/test_fuzz_regress: tests/unit/test_fuzz_regress.c $(LF_REPLAY) $(LF_HDRS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< $(LF_REPLAY) $(STATIC) $(LIBS_EXT) -lcunit

$(BUILD)/fuzz/fuzz-%: tests/fuzz/lf/fuzz-%.c $(LF_PARTS) $(LF_HDRS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -DFUZZ_ENTRY=fuzz_$(subst -,_,$*) \
		-o $@ $< $(LF_PARTS) $(STATIC) $(LIBS_EXT)

fuzz-bins: $(LF_BIN)

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" \
		LIBS_EXT="$(LIBS_EXT) $(FUZZ_SAN)" fuzz-bins

# Each harness FUZZ_TIME seconds (3/4 repair mode, 1/4 raw); fails on a crash.
fuzz: all fuzz-build
	tests/fuzz/lf/run.sh $(BUILD) $(FUZZ_BUILD) $(FUZZ_TIME)

# Line coverage of lib/img and lib/restore/plan.c over the fuzz corpus.
fuzz-cov: all
	$(MAKE) BUILD=$(FUZZ_BUILD)-cov CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping" \
		LIBS_EXT="$(LIBS_EXT) -fprofile-instr-generate" fuzz-bins
	tests/fuzz/lf/coverage.sh $(FUZZ_BUILD) $(FUZZ_BUILD)-cov

$(BUILD)/tests/progs/%: tests/progs/%.c tests/progs/prog.h tests/progs/tree.h tests/progs/mem-vmflags.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -o $@ $< -lm

# Test programs of the kernel tests (tests/kernel/progs/*.c), packed into
# the QEMU guest with tests/progs' (tests/kernel/run.sh): linked with the
# library, they may include its headers, tests/progs/prog.h and
# switch/kmod.h (the module's ioctl).
KPROG_SRC := $(wildcard tests/kernel/progs/*.c)
KPROG_BIN := $(patsubst tests/kernel/progs/%.c,$(BUILD)/tests/kernel/progs/%,$(KPROG_SRC))
all: $(KPROG_BIN)
$(BUILD)/tests/kernel/progs/%: tests/kernel/progs/%.c $(wildcard tests/kernel/progs/*.h) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/progs -o $@ $< $(STATIC) $(LIBS_EXT)

# The image format header builds alone, freestanding, with only the
# kernel's uapi headers: kernel/ includes it too (tests/header/check.sh).
IMAGE_H_TEST := $(BUILD)/tests/header/image-h.o
all: $(IMAGE_H_TEST)
$(IMAGE_H_TEST): tests/header/image-h.c tests/header/check.sh lib/include/vxcr/image.h
	@mkdir -p $(dir $@)
	tests/header/check.sh "$(CC)" $@

# LD_PRELOAD shims of the tests (tests/shim/NAME.c -> NAME.so).
SHIM_SO   := $(patsubst tests/shim/%.c,$(BUILD)/tests/shim/%.so,$(wildcard tests/shim/*.c))
all: $(SHIM_SO)
$(BUILD)/tests/shim/%.so: tests/shim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -fPIC -shared -o $@ $< -ldl

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -o $@ $<

# tests/progs/snap-*: programs under vxcr snap, calling vxcr_snap_ready():
# linked with the library (its public header only).
$(BUILD)/tests/progs/snap-%: tests/progs/snap-%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

# tests/progs/vmad-undump calls vmad_undump(): linked with the shared
# library, so that the tests' LD_LIBRARY_PATH picks the test build (hooks).
$(BUILD)/tests/progs/vmad-undump: tests/progs/vmad-undump.c $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ilib/include -o $@ $< \
		-L$(BUILD)/lib -l:libvxcr.so.$(SOVER) -Wl,-rpath,'$$ORIGIN/../../lib'

# tests/progs/restore-commit drives vxcr_restore() with a commit hook:
# linked with the library (its public header only).
$(BUILD)/tests/progs/restore-commit: tests/progs/restore-commit.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

# tests/progs/track-migrate drives the dirty tracker, a dump with it and a
# restore from its page store: linked with the library (internal headers).
$(BUILD)/tests/progs/track-migrate: tests/progs/track-migrate.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

# tests/progs/lazy-dump writes a post-copy migration's image (LAZY ranges)
# to a file: linked with the library (internal headers).
$(BUILD)/tests/progs/lazy-dump: tests/progs/lazy-dump.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

# tests/progs/vmad-self calls the VMADump API (vxcr/vmadump.h): linked with
# the shared library (the tests' LD_LIBRARY_PATH puts the test build's, with
# its hooks, first).
$(BUILD)/tests/progs/vmad-self: tests/progs/vmad-self.c $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ilib/include -o $@ $< \
		-L$(BUILD)/lib -l:libvxcr.so.$(SOVER) -Wl,-rpath,'$$ORIGIN/../../lib' -pthread

# tests/progs/bproc-* call the BProc moves (vxcr/bproc.h): linked with the
# shared library, as vmad-self.
$(BUILD)/tests/progs/bproc-%: tests/progs/bproc-%.c $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ilib/include -Itests/progs -o $@ $< \
		-L$(BUILD)/lib -l:libvxcr.so.$(SOVER) -Wl,-rpath,'$$ORIGIN/../../lib' -pthread

# bench/netlock times the library's network lock: linked with it.
$(BUILD)/bench/netlock: bench/netlock.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

# bench/chan-rate times the migration channel: linked with the library.
$(BUILD)/bench/chan-rate: bench/chan-rate.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LIBS_EXT)

check: all
	tests/run-all.sh $(BUILD)
check-unit: all
	tests/run-all.sh $(BUILD) unit
check-integration: all
	tests/run-all.sh $(BUILD) integration
# The kernel module's tests: vxcr.ko and tests/kernel/k-*.sh in a QEMU guest
# booting Debian's 6.1 kernel (tests/kernel/run.sh; VXK_TESTS=k-ctx-* picks).
check-kernel: all
	tests/kernel/run.sh $(BUILD)

demo: all
	contrib/demo.sh $(BUILD)

bench: all
	bench/run.sh $(BUILD)

# Unit tests under AddressSanitizer/UBSan in a separate build tree.
asan:
	$(MAKE) BUILD=$(BUILD)-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS=-fsanitize=address,undefined $(BUILD)-asan/lib/libvxcr.a
	$(MAKE) BUILD=$(BUILD)-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LIBS_EXT="$(LIBS_EXT) -fsanitize=address,undefined" check-unit-only

check-unit-only: $(UNIT_BIN) $(BUILD)/tests/progs/subreaper
	tests/run-all.sh $(BUILD) unit

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/vxcr
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/vxcr
	install -m 755 $(EXEC_BIN) $(DESTDIR)$(PREFIX)/bin/vxcr-exec
	ln -sf vxcr $(DESTDIR)$(PREFIX)/bin/vxdump
	ln -sf vxcr $(DESTDIR)$(PREFIX)/bin/vxrestore
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libvxcr.so.$(SOVER) $(DESTDIR)$(PREFIX)/lib/libvxcr.so
	install -m 644 $(BUILD)/lib/vxcr.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 lib/include/vxcr/*.h $(DESTDIR)$(PREFIX)/include/vxcr/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(COMPDIR)
	install -m 644 $(filter %.1,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.3,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man3/
	ln -sf vxdump.1 $(DESTDIR)$(MANDIR)/man1/vxcr-dump.1
	ln -sf vxrestore.1 $(DESTDIR)$(MANDIR)/man1/vxcr-restore.1
	install -m 644 contrib/bash-completion/vxcr $(DESTDIR)$(COMPDIR)/vxcr
	ln -sf vxcr $(DESTDIR)$(COMPDIR)/vxdump
	ln -sf vxcr $(DESTDIR)$(COMPDIR)/vxrestore

# Fails on any finding: the C sources and headers of lib/ and crtools/ as
# .clang-format has them, and cppcheck clean (what it cannot see, such as
# the cleanup attribute, is listed with reasons in one file).
LINT_SRC   = $(LIB_SRC) $(CLI_SRC) crtools/exec/vxcr-exec.c $(wildcard lib/*.h lib/*/*.h lib/include/vxcr/*.h crtools/*.h)
# kernel/ in kernel style (the same .clang-format), and the kernel's
# scripts/checkpatch.pl on it when the headers tree has one (Debian's
# linux-headers packages do not ship it: then the line says so).
KLINT_SRC  = $(wildcard kernel/*.c kernel/*.h)
CHECKPATCH = $(firstword $(wildcard /usr/src/linux-headers-6.1.*-common/scripts/checkpatch.pl \
                                    /usr/src/linux-headers-6.1.*-amd64/scripts/checkpatch.pl))
lint:
	clang-format --dry-run -Werror $(LINT_SRC) $(KLINT_SRC)
	@if [ -n "$(CHECKPATCH)" ]; then \
		$(CHECKPATCH) --no-tree --quiet --terse -f $(KLINT_SRC) || exit 1; \
	else \
		echo "lint: no scripts/checkpatch.pl in the kernel headers: kernel/ checked by clang-format only"; \
	fi
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance --inline-suppr \
		--suppress-xml=tests/lint/cppcheck-suppressions.xml -Ilib -Ilib/include lib crtools

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(FUZZ_BUILD) $(FUZZ_BUILD)-cov

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/obj-test/*/*/*.d)
