# mplog - one non-recursive Makefile. `make` builds the shim, mplogd and
# mplogctl into $(BUILD); `make test` sets up dependencies and runs the
# Criterion suite; `make demo` runs the bundled demo under mplog-run.

CC       ?= cc
CFLAGS   ?= -O2 -g
WERROR   ?=
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
SBINDIR   = $(PREFIX)/sbin
LIBDIR    = $(PREFIX)/lib/mplog
MANDIR    = $(PREFIX)/share/man
UNITDIR   = $(PREFIX)/lib/systemd/system

WARN      = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes
ALL_CPPFLAGS = -D_GNU_SOURCE -Ishm -Isinks -Ipreload -Itests $(CPPFLAGS)
ALL_CFLAGS   = -std=gnu11 -fPIC $(WARN) $(WERROR) $(CFLAGS) $(SANFLAGS) -MMD -MP

SHM_SRC     = shm/seg.c shm/lanesock.c shm/lane.c shm/laneout.c shm/procid.c shm/pri.c shm/snap.c \
              shm/tsc.c
PRELOAD_SRC = preload/real.c preload/shim.c preload/capture.c preload/start.c preload/heapring.c \
              preload/lines.c preload/pipeline.c preload/hook_stderr.c \
              preload/hook_syslog.c preload/hook_fd.c preload/hook_open.c \
              preload/fdset.c preload/errout.c preload/hook_stdio.c \
              preload/hook_wide.c preload/hook_exit.c preload/report.c preload/hook_report.c \
              preload/hook_signal.c preload/wfc.c preload/fatal.c preload/sigdisp.c preload/hook_sigaction.c \
              preload/hook_exec.c preload/hook_fork.c preload/guard.c \
              preload/rodata.c preload/hook_printf.c preload/divert.c preload/hook_libcmsg.c \
              preload/idents.c preload/threadname.c preload/hook_rename.c preload/multiline.c
SINKS_SRC   = sinks/consumer.c sinks/fmt.c sinks/sink.c sinks/sinkspec.c sinks/run.c \
              sinks/options.c sinks/segguard.c sinks/forward.c sinks/journal.c sinks/rotate.c sinks/spool.c sinks/sender.c sinks/relp.c sinks/tlsout.c sinks/ratelimit.c \
              sinks/fdio.c sinks/lanesrv.c
MPLOGD_SRC  = sinks/mplogd.c sinks/catchall.c sinks/daemon.c
# zlib and libzstd compress rotated files (sinks/rotate.c); librelp and
# GnuTLS carry relp:// and tls:// (sinks/relp.c, sinks/tlsout.c).
SINK_LIBS   = -lz -lzstd -lrelp -lgnutls
# The shim's pure line assembly, linked into mplogd as into the tests.
MPLOGD_PRELOAD_SRC = preload/lines.c
CTL_SRC     = sinks/mplogctl.c sinks/ctlstat.c sinks/ctlshow.c sinks/fmt.c
TEST_SRC    = tests/test_seg.c tests/test_tsc.c tests/test_lane.c tests/test_names.c tests/test_promises.c tests/test_consumer.c tests/test_multiline.c \
              tests/test_stdout.c tests/test_relp.c tests/test_lanesock.c \
              tests/test_pri.c tests/test_fmt.c tests/test_heapring.c \
              tests/test_lines.c tests/test_ctl.c tests/test_e2e.c \
              tests/test_conform.c tests/test_life.c \
              tests/test_catchall.c tests/test_report.c tests/harness.c \
              tests/test_hostile.c tests/fuzz/lanefeed.c \
              tests/test_faults.c tests/test_sinks.c tests/test_snap.c tests/test_daemon.c tests/test_forward.c
HOST_SRC    = tests/hosts/logmix.c tests/hosts/plain.c tests/hosts/say.c \
              tests/hosts/sigmix.c tests/hosts/rawerr.c \
              tests/hosts/report.c tests/hosts/life.c tests/hosts/snapper.c \
              tests/hosts/libcmsg.c tests/hosts/outmix.c demo/demo.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

SHIM     = $(BUILD)/libmplog_preload.so
MPLOGD   = $(BUILD)/mplogd
MPLOGCTL = $(BUILD)/mplogctl
TESTS    = $(BUILD)/mplog-tests
HOSTS    = $(patsubst %.c,$(BUILD)/hosts/%,$(notdir $(HOST_SRC)))

.PHONY: all test demo deps install uninstall clean check-exports
all: $(SHIM) $(MPLOGD) $(MPLOGCTL) $(HOSTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# The shim: hidden visibility, and only the interposed libc names exported.
$(SHIM): $(call obj,$(PRELOAD_SRC) $(SHM_SRC)) preload/exports.map
	$(CC) -shared -Wl,--version-script=preload/exports.map -Wl,-z,now \
	    $(SANFLAGS) -o $@ $(call obj,$(PRELOAD_SRC) $(SHM_SRC)) -ldl -lpthread
	@$(MAKE) --no-print-directory check-exports SHIM=$@

$(call obj,$(PRELOAD_SRC) $(SHM_SRC)): ALL_CFLAGS += -fvisibility=hidden

check-exports:
	@scripts/check-exports $(SHIM) preload/exports.map

# mplog's own programs export mplog_no_capture: the shim leaves them alone.
NOCAPTURE = -Wl,--export-dynamic-symbol=mplog_no_capture

$(MPLOGD): $(call obj,$(MPLOGD_SRC) $(SINKS_SRC) $(SHM_SRC)) \
          $(patsubst %.c,$(BUILD)/obj/test-%.o,$(MPLOGD_PRELOAD_SRC))
	$(CC) $(SANFLAGS) $(NOCAPTURE) -o $@ $^ $(SINK_LIBS) -lbsd -lpthread

$(MPLOGCTL): $(call obj,$(CTL_SRC) $(SHM_SRC))
	$(CC) $(SANFLAGS) $(NOCAPTURE) -o $@ $^ -lbsd -lpthread

$(BUILD)/hosts/%: tests/hosts/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< -lpthread

$(BUILD)/hosts/demo: demo/demo.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< -lpthread

# The conformance hosts of tests/test_conform.c: paths.c built plain (-O0,
# every stdio call is a call) and fortified (-O2 -D_FORTIFY_SOURCE=2: the
# __*_chk entry points, putc_unlocked inlined into __overflow), and the
# C++ streams host.
CXXFLAGS ?= -O2 -g
CONFORM_HOSTS = $(BUILD)/hosts/paths $(BUILD)/hosts/paths-fortify $(BUILD)/hosts/paths-cxx
all: $(CONFORM_HOSTS)

$(BUILD)/hosts/paths: tests/hosts/paths.c tests/hosts/paths.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -U_FORTIFY_SOURCE $(ALL_CFLAGS) -O0 -o $@ $< -lpthread

$(BUILD)/hosts/paths-fortify: tests/hosts/paths.c tests/hosts/paths.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 $(ALL_CFLAGS) -O2 -o $@ $< -lpthread

$(BUILD)/hosts/paths-cxx: tests/hosts/paths_cxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++17 -Wall -Wextra -Wshadow $(WERROR) $(CXXFLAGS) $(SANFLAGS) -o $@ $<

# tests/test_hostile.c's secure-execution host: say with the shim linked
# in by its absolute path (DT_NEEDED), which a set-user-ID copy still
# loads, where glibc ignores LD_PRELOAD.
HOSTILE_HOSTS = $(BUILD)/hosts/say-linked
all: $(HOSTILE_HOSTS)

$(BUILD)/hosts/say-linked: tests/hosts/say.c $(SHIM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(abspath $(SHIM)) -lpthread

# The library tests/hosts/snapper.c loads and unloads with dlopen.
all: $(BUILD)/hosts/libsnapper.so

$(BUILD)/hosts/libsnapper.so: tests/hosts/libsnapper.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -shared -o $@ $<

# Unit tests link the modules directly; the shim's modules are compiled
# again here without hidden visibility.
# Only the shim's pure modules: its hooks would interpose the test runner.
TEST_PRELOAD_SRC = preload/heapring.c preload/lines.c preload/idents.c preload/multiline.c

# The snapshot test's corpus, generated (tests/snapgen.py, 20,000 calls);
# built without -Wformat, as it holds on purpose the flag combinations C
# leaves to glibc, and without optimisation, which would take half a minute.
SNAP_CORPUS = $(BUILD)/obj/gen/snapcases.o

$(TESTS): $(call obj,$(TEST_SRC) $(SINKS_SRC) sinks/catchall.c $(SHM_SRC)) $(SNAP_CORPUS) \
          $(patsubst %.c,$(BUILD)/obj/test-%.o,$(TEST_PRELOAD_SRC))
	$(CC) $(SANFLAGS) -o $@ $^ -lcriterion $(SINK_LIBS) -lbsd -ldl -lpthread

$(BUILD)/gen/snapcases.c: tests/snapgen.py
	@mkdir -p $(dir $@)
	python3 tests/snapgen.py $@ 20000
$(SNAP_CORPUS): $(BUILD)/gen/snapcases.c tests/snapt.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -O0 -g0 -Wno-format -Wno-format-overflow -c $< -o $@

$(BUILD)/obj/test-%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -DMPLOG_UNIT_TEST $(ALL_CFLAGS) -c $< -o $@

# Fuzzing: the lane and record readers under libFuzzer with ASan and UBSan
# (clang; scripts/setup-deps fuzz installs it). `make fuzz` runs the target
# for FUZZ_SECONDS on the seed corpus, the regression inputs and what
# earlier runs found ($(BUILD)/fuzz/corpus); a finding is written to
# $(BUILD)/fuzz/ and fails the run. `make fuzz-seed` rewrites the seed
# corpus and the generated regression inputs (gen-*) from real lanes.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR      = $(BUILD)/fuzz
# The code under test gets libFuzzer's coverage; the reading harness and
# its checks (lanefeed.c) only the sanitizers, so that its byte-by-byte
# checks neither slow the fuzzer down nor count as coverage.
FUZZ_UNDER_TEST = shm/lane.c shm/seg.c shm/lanesock.c sinks/lanesrv.c shm/procid.c shm/pri.c shm/snap.c sinks/fmt.c \
                  sinks/consumer.c sinks/sink.c sinks/sinkspec.c sinks/forward.c sinks/ratelimit.c \
                  sinks/journal.c sinks/rotate.c sinks/spool.c sinks/sender.c sinks/relp.c \
                  sinks/tlsout.c sinks/fdio.c sinks/catchall.c shm/laneout.c preload/lines.c \
                  shm/tsc.c
FUZZ_LIB_SRC  = tests/fuzz/lanefeed.c $(FUZZ_UNDER_TEST)
FUZZ_CFLAGS   = -std=gnu11 -g -O1 $(WARN) -fsanitize=address,undefined \
                -fno-sanitize-recover=all
FUZZ_HDRS     = $(wildcard shm/*.h) $(wildcard sinks/*.h) tests/fuzz/lanefeed.h

.PHONY: fuzz fuzz-seed fuzz-cov
# Each target: the lanes (FUZZ_SECONDS), snapshots and the catch-all
# reader (a quarter of it each), on its seeds, regression inputs and what
# earlier runs found.
FUZZ_TARGETS = lane snap catchall hello
fuzz:
	@scripts/setup-deps fuzz
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz-%)
	@mkdir -p $(FUZZ_TARGETS:%=$(FUZZ_DIR)/corpus-%)
	$(FUZZ_DIR)/fuzz-lane -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -max_len=16384 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/lane- \
	    $(FUZZ_DIR)/corpus-lane tests/fuzz/corpus tests/fuzz/corpus-regress
	$(FUZZ_DIR)/fuzz-snap -max_total_time=$$(($(FUZZ_SECONDS) / 4)) -timeout=10 \
	    -max_len=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/snap- \
	    $(FUZZ_DIR)/corpus-snap tests/fuzz/corpus-snap
	$(FUZZ_DIR)/fuzz-catchall -max_total_time=$$(($(FUZZ_SECONDS) / 4)) -timeout=30 \
	    -max_len=16384 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/catchall- \
	    $(FUZZ_DIR)/corpus-catchall tests/fuzz/corpus-catchall
	$(FUZZ_DIR)/fuzz-hello -max_total_time=$$(($(FUZZ_SECONDS) / 4)) -timeout=30 \
	    -max_len=512 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/hello- \
	    $(FUZZ_DIR)/corpus-hello tests/fuzz/corpus-hello

$(FUZZ_DIR)/lanefeed.o: tests/fuzz/lanefeed.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

# fuzz-lane and fuzz-catchall: tests/fuzz/fuzz_feed.c over the reading
# function FUZZ_FEED names.
FEED_lane = lanefeed_read
FEED_catchall = lanefeed_catchall
$(FUZZ_DIR)/fuzz-lane $(FUZZ_DIR)/fuzz-catchall: $(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz_feed.c \
    tests/fuzz/fuzz_init.c $(FUZZ_DIR)/lanefeed.o $(FUZZ_UNDER_TEST) $(FUZZ_HDRS)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -DFUZZ_FEED=$(FEED_$*) -fsanitize=fuzzer -o $@ \
	    tests/fuzz/fuzz_feed.c tests/fuzz/fuzz_init.c $(FUZZ_UNDER_TEST) \
	    $(FUZZ_DIR)/lanefeed.o $(SINK_LIBS) -lbsd -lpthread

$(FUZZ_DIR)/fuzz-snap: tests/fuzz/fuzz_snap.c tests/fuzz/fuzz_init.c shm/snap.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    tests/fuzz/fuzz_snap.c tests/fuzz/fuzz_init.c shm/snap.c

# fuzz-hello: handshakes with the lane server (tests/fuzz/fuzz_hello.c).
HELLO_SRC = shm/seg.c shm/lanesock.c shm/lane.c shm/procid.c shm/tsc.c sinks/lanesrv.c \
            sinks/fdio.c
$(FUZZ_DIR)/fuzz-hello: tests/fuzz/fuzz_hello.c tests/fuzz/fuzz_init.c $(HELLO_SRC) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    tests/fuzz/fuzz_hello.c tests/fuzz/fuzz_init.c $(HELLO_SRC) -lpthread

# Line coverage of the code under test by the seeds, the regression
# inputs and what earlier runs found, through clang's source coverage.
FUZZ_COV = $(FUZZ_DIR)/cov
fuzz-cov: $(FUZZ_LIB_SRC) $(FUZZ_HDRS) tests/fuzz/fuzz_feed.c tests/fuzz/fuzz_init.c \
    tests/fuzz/replay.c
	@scripts/setup-deps fuzz
	@mkdir -p $(FUZZ_COV) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/corpus-%)
	$(foreach t,lane catchall,$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 -O0 -g \
	    -fprofile-instr-generate -fcoverage-mapping -DFUZZ_FEED=$(FEED_$(t)) \
	    -o $(FUZZ_COV)/replay-$(t) tests/fuzz/replay.c tests/fuzz/fuzz_feed.c \
	    tests/fuzz/fuzz_init.c $(FUZZ_LIB_SRC) $(SINK_LIBS) -lbsd -lpthread &&) true
	LLVM_PROFILE_FILE=$(FUZZ_COV)/lane.profraw $(FUZZ_COV)/replay-lane \
	    tests/fuzz/corpus/* tests/fuzz/corpus-regress/* $$(find $(FUZZ_DIR)/corpus-lane -type f)
	LLVM_PROFILE_FILE=$(FUZZ_COV)/catchall.profraw $(FUZZ_COV)/replay-catchall \
	    tests/fuzz/corpus-catchall/* $$(find $(FUZZ_DIR)/corpus-catchall -type f)
	llvm-profdata-14 merge -o $(FUZZ_COV)/replay.profdata $(FUZZ_COV)/lane.profraw \
	    $(FUZZ_COV)/catchall.profraw
	llvm-cov-14 report $(FUZZ_COV)/replay-lane -object $(FUZZ_COV)/replay-catchall \
	    -instr-profile=$(FUZZ_COV)/replay.profdata \
	    $(FUZZ_UNDER_TEST)

fuzz-seed: $(FUZZ_DIR)/lanefeed-seed
	@mkdir -p tests/fuzz/corpus tests/fuzz/corpus-regress tests/fuzz/corpus-snap \
	    tests/fuzz/corpus-catchall
	$(FUZZ_DIR)/lanefeed-seed tests/fuzz/corpus tests/fuzz/corpus-regress \
	    tests/fuzz/corpus-snap tests/fuzz/corpus-catchall

$(FUZZ_DIR)/lanefeed-seed: tests/fuzz/lanefeed_seed.c $(FUZZ_LIB_SRC) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(CFLAGS) -o $@ \
	    tests/fuzz/lanefeed_seed.c $(FUZZ_LIB_SRC) $(SINK_LIBS) -lbsd -lpthread

# Benchmarks: `make bench` measures mplog against its baselines (rsyslogd
# for syslog, a plain file for stderr) and prints a table, with
# $(BUILD)/bench/results.csv and latency.png/.svg; BENCH_QUICK=1 runs a
# shorter version. bench/run says what each number is.
BENCH_SRC   = bench/latency.c bench/load.c bench/spawn.c bench/rss.c bench/floor.c bench/first.c bench/handshake.c
BENCH_PROGS = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_QUICK ?=

.PHONY: bench
bench:
	@scripts/setup-deps bench
	@$(MAKE) --no-print-directory all $(BENCH_PROGS)
	bench/run --build $(BUILD) $(if $(filter-out 0,$(BENCH_QUICK)),--quick)

$(BUILD)/bench/%: bench/%.c bench/pct.h bench/opt.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< -lpthread

# floor pushes into the shim's own heap ring.
# handshake times lanesock_attach itself.
$(BUILD)/bench/handshake: bench/handshake.c shm/lanesock.c shm/seg.c shm/procid.c shm/tsc.c \
                       bench/pct.h bench/opt.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ bench/handshake.c shm/lanesock.c shm/seg.c \
	    shm/procid.c shm/tsc.c -lpthread

$(BUILD)/bench/floor: bench/floor.c preload/heapring.c preload/heapring.h shm/tsc.c shm/tsc.h \
                   bench/pct.h bench/opt.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ bench/floor.c preload/heapring.c shm/tsc.c -lpthread

deps:
	@scripts/setup-deps

# The run's report lists what it skipped; scripts/skips prints each skip
# and fails on one that tests/skips does not allow.
test: deps
	@$(MAKE) --no-print-directory all $(TESTS)
	MPLOG_BUILD=$(abspath $(BUILD)) $(TESTS) --jobs 2 --json=$(BUILD)/test-report.json $(TESTFLAGS)
	@scripts/skips $(BUILD)/test-report.json

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

# ---- sanitizers ------------------------------------------------------
# make asan, make ubsan, make tsan: the shim, mplogd, mplogctl, the hosts,
# the test runner and the stress driver of tests/san/stress.c built with
# one sanitizer into build-asan, build-ubsan or build-tsan, and run by
# scripts/sanitize, which fails on any sanitizer report. Criterion cannot
# run under TSan, so make tsan builds the runner without it, in
# build-tsan/runner, to drive the TSan programs. What each one covers and
# skips: README.md, "Tests".
SAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -DTEST_SLOW=4
SAN_asan   = -fsanitize=address
SAN_ubsan  = -fsanitize=undefined -fno-sanitize-recover=all
# -Wno-tsan: GCC warns that TSan does not model atomic_thread_fence. An
# ordering that rests on a fence alone is invisible to TSan; shm/ has a
# few, each between processes, which TSan does not watch anyway.
SAN_tsan   = -fsanitize=thread -Wno-tsan
SAN_RUN    = $(MAKE) --no-print-directory CFLAGS='$(SAN_CFLAGS)' CXXFLAGS='$(SAN_CFLAGS)'

$(BUILD)/san-stress: $(call obj,tests/san/stress.c $(SHM_SRC)) $(BUILD)/obj/test-preload/heapring.o \
                   $(BUILD)/obj/test-preload/idents.o
	$(CC) $(SANFLAGS) -o $@ $^ -lpthread

.PHONY: asan ubsan tsan
asan ubsan: deps
	@$(SAN_RUN) BUILD=build-$@ SANFLAGS='$(SAN_$@)' all build-$@/mplog-tests build-$@/san-stress
	scripts/sanitize $@ build-$@

tsan: deps
	@$(SAN_RUN) BUILD=build-tsan SANFLAGS='$(SAN_tsan)' all build-tsan/san-stress
	@$(SAN_RUN) BUILD=build-tsan/runner SANFLAGS= build-tsan/runner/mplog-tests
	scripts/sanitize tsan build-tsan

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(MPLOGD) $(DESTDIR)$(SBINDIR)/mplogd
	install -m 0755 $(MPLOGCTL) $(DESTDIR)$(BINDIR)/mplogctl
	install -m 0755 $(SHIM) $(DESTDIR)$(LIBDIR)/libmplog_preload.so
	sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	    scripts/mplog-run > $(DESTDIR)$(BINDIR)/mplog-run
	chmod 0755 $(DESTDIR)$(BINDIR)/mplog-run
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/mplog-run.1 docs/mplogctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/libmplog_preload.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 docs/mplogd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' contrib/mplogd-system.service \
	    > $(DESTDIR)$(UNITDIR)/mplogd-system.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mplogd $(DESTDIR)$(BINDIR)/mplogctl \
	    $(DESTDIR)$(BINDIR)/mplog-run $(DESTDIR)$(LIBDIR)/libmplog_preload.so \
	    $(DESTDIR)$(MANDIR)/man1/mplog-run.1 $(DESTDIR)$(MANDIR)/man1/mplogctl.1 \
	    $(DESTDIR)$(MANDIR)/man7/libmplog_preload.7 $(DESTDIR)$(MANDIR)/man8/mplogd.8 \
	    $(DESTDIR)$(UNITDIR)/mplogd-system.service

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
