# fio-fhandle: the fio ioengine for io_uring's proposed file-handle opcodes.
# See README.md.  Everything built goes under build/.

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib/fio
DATADIR ?= $(PREFIX)/share/fio-fhandle

BUILD := build
FIO_SRC := $(BUILD)/fio-src
CC ?= cc
WARN := -Wall -Wextra -Werror
CSTD := -std=gnu11
OPT ?= -O2 -g
# fio's own headers: the engine is built against the source of the very fio
# that loads it (see engines/fio-source.sh).
# -isystem: fio's headers trip -Wextra in ways that are not ours to fix.
FIO_CPPFLAGS := -isystem $(FIO_SRC) -include $(FIO_SRC)/config-host.h \
	-D_GNU_SOURCE -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 -DFIO_INTERNAL

ENGINE := $(BUILD)/fhandle.so
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
KTESTS := $(patsubst test/kernel/%.c,$(BUILD)/test/kernel/%,\
	$(wildcard test/kernel/*.c))
RAWLOOP := $(BUILD)/bench/rawloop
# The NFS client workload (test/nfs): libnfs's RPC layer.
NFSLOAD := $(BUILD)/nfs/nfsload

# What building needs; the test suite installs what testing needs.
BUILD_PKGS := build-essential liburing-dev fio dpkg-dev

.PHONY: FORCE all engine examples ktests nfsload fio-src test host-test install uninstall \
	clean kernel kernel-debug vm-run vm-test compare run

all: engine examples ktests $(RAWLOOP) nfsload

engine: $(ENGINE)
examples: $(EXAMPLES)
ktests: $(KTESTS)
nfsload: $(NFSLOAD)

fio-src: $(FIO_SRC)/config-host.h

$(BUILD)/.deps: test/need-pkgs.sh
	bash test/need-pkgs.sh $(BUILD_PKGS)
	@mkdir -p $(@D) && touch $@

# The installed fio package, rewritten only when it changed: an upgrade
# (or downgrade) of fio fetches its source again and rebuilds the engine.
FIO_PKG_STAMP := $(BUILD)/fio-package
$(FIO_PKG_STAMP): FORCE | $(BUILD)/.deps
	@v=$$(dpkg-query -W fio); [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || \
		echo "$$v" >$@

$(FIO_SRC)/config-host.h: engines/fio-source.sh $(FIO_PKG_STAMP) | $(BUILD)/.deps
	bash engines/fio-source.sh $(FIO_SRC)

$(ENGINE): engines/fhandle.c engines/fhandle_uring.h $(FIO_SRC)/config-host.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) -fPIC -shared \
		$(FIO_CPPFLAGS) $(EXTRA_CFLAGS) -o $@ $< -luring $(EXTRA_LDFLAGS)

$(BUILD)/examples/%: examples/%.c engines/fhandle_uring.h | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iengines -o $@ $< -luring

$(BUILD)/test/kernel/%: test/kernel/%.c test/kernel/ktest.h \
		engines/fhandle_uring.h | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iengines -Itest/kernel -pthread \
		-o $@ $< -luring

$(RAWLOOP): test/bench/rawloop.c engines/fhandle_uring.h | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iengines -o $@ $< -luring

$(BUILD)/.deps-nfs: test/need-pkgs.sh
	bash test/need-pkgs.sh libnfs-dev
	@mkdir -p $(@D) && touch $@

$(NFSLOAD): test/nfs/nfsload.c | $(BUILD)/.deps $(BUILD)/.deps-nfs
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) -o $@ $< -lnfs

# The main job: a comparison on a temporary file set (jobfiles/run.sh).
run: engine examples
	bash jobfiles/run.sh $(JOB) $(RUN_ARGS)

# Every test: host set-up and tests, then the kernel VM.
test:
	bash test/run-all.sh

host-test: all
	bash test/engine/run.sh

install: $(ENGINE)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DATADIR)/jobfiles
	install -m 0755 $(ENGINE) $(DESTDIR)$(LIBDIR)/fhandle.so
	install -m 0644 jobfiles/*.fio $(DESTDIR)$(DATADIR)/jobfiles/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/fhandle.so
	rm -rf $(DESTDIR)$(DATADIR)

kernel:
	bash kernel/build.sh

kernel-debug:
	bash kernel/build.sh --debug

# CMD reaches the guest's shell as written ($VAR and $$ included): make
# would expand it (and export it expanded), so only its raw value is
# exported, as VM_RUN_CMD.  FHANDLE_VM_KERNEL=BZIMAGE boots that image.
unexport CMD
vm-run: export VM_RUN_CMD = $(value CMD)
vm-run: all
	bash test/vm/run.sh $${FHANDLE_VM_KERNEL:+--kernel "$$FHANDLE_VM_KERNEL"} \
		-c "$$VM_RUN_CMD"

vm-test: all
	bash test/vm/suite.sh

# make compare [PART=host|vm|nfs]: the benchmarks (BENCHMARKS.md)
compare: all
	bash test/bench/compare.sh $(if $(PART),--part $(PART))

clean:
	rm -rf $(BUILD)
