# ws.h - build and test. Everything is built under $(BUILD)/ (default build/).
#
#   make run          builds build/chat_server and serves the chat at http://127.0.0.1:8080/
#                     (RUN_PORT=9000 make run for another port; Ctrl-C stops it)
#   make run-scale    the same chat on three chat_server --redis processes behind nginx at
#                     http://127.0.0.1:8090/ (redis-server, nginx-light, libhiredis-dev)
#   make run-firmware the echo page served by ws.h on an emulated Cortex-M4 (qemu-system-arm,
#                     examples/firmware/README.md)
#   make check        the fast tier, seconds once built, needing only a C compiler and make:
#                     unit tests (gcc, and gcc -DWS_NO_SIMD, both ASan+UBSan), the C++11,
#                     WS_STATIC, strict, freestanding and -O2 builds, the no-heap check and
#                     the fuzz corpus replayed. Without clang or g++ their builds are skipped,
#                     and the summary says so.
#   make test         everything, fast suites first (about 10 minutes here; tests/README.md lists
#                     the suites and their times).
#                     As root on Debian it first installs what the tests need (tests/deps.sh;
#                     NO_INSTALL=1 only names what is missing). SUITE=chat (or SUITE="chat
#                     wscat") runs those suites only; build/test_ws_gcc frame/NAME runs one
#                     unit test.
#   make examples     the example programs, one per examples/*.c: build/minimal_server,
#                     echo_server, echo_client, chat_server, shared_port, wscat
#   make node         the Node packages of the interop tests (npm ci, package-lock.json)
#   make screenshot   examples/chat.png, taken again in headless Chromium
#   make size         ws.h's code size per build and configuration (x86-64, Cortex-M4; both
#                     roles, server only, client only; WS_DEFLATE), as README's Size table
#   make bench        the benchmarks, a few minutes (bench/README.md; needs libwslay-dev,
#                     libwebsockets-dev, gnuplot-nox)
#   make fuzz         every fuzz target under libFuzzer, FUZZ_SECONDS (60) each (fuzz/README.md)
#   make fuzz-afl     the same targets built for AFL++
#   make fuzz-cov     ws.h's line coverage by the committed fuzz corpora
#   make clean        removes $(BUILD)/

CC       = gcc
CLANG   ?= clang
CXX      = g++
BUILD   ?= build
CFLAGS  ?= -O1 -g
WARN     = -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
STRICT   = $(WARN) -Wmissing-prototypes -Wcast-qual -Wundef -Wconversion -Wsign-conversion
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

EXAMPLES = $(sort $(basename $(notdir $(wildcard examples/*.c))))
TESTS    = $(wildcard tests/unit/*.c)
# (a unit test left in tests/ itself would silently not be built)
$(if $(wildcard tests/test_*.c tests/*.h),$(error $(wildcard tests/test_*.c tests/*.h): unit tests live in tests/unit/))
CHECKS   = $(BUILD)/test_ws_gcc $(BUILD)/test_ws_clang $(BUILD)/compile_cpp.o \
           $(BUILD)/static_link $(BUILD)/strict_gcc.o $(BUILD)/strict_clang.o \
           $(BUILD)/freestanding_gcc.o $(BUILD)/freestanding_clang.o $(BUILD)/impl_O2.o \
           $(BUILD)/test_ws_plain $(BUILD)/test_ws_nosimd

.PHONY: all test check checks test-build check-build examples node clean
all: examples

# what `make test` builds before it runs tests/run_all.sh; the fragments below add to it
TEST_DEPS = $(CHECKS) examples node
CHECK_DEPS =

# each area keeps its own rules beside it
include examples/examples.mk fuzz/fuzz.mk bench/bench.mk tests/firmware/firmware.mk

# what `make check` builds: the unit tests (gcc, WS_NO_SIMD), the build checks and the fuzz
# replay drivers fuzz/fuzz.mk adds to TEST_DEPS. A fragment adds to TEST_DEPS for make test,
# to CHECK_DEPS for make check too.
CHECK_DEPS += $(BUILD)/test_ws_gcc $(BUILD)/test_ws_nosimd $(BUILD)/compile_cpp.o \
              $(BUILD)/static_link $(BUILD)/strict_gcc.o $(BUILD)/strict_clang.o \
              $(BUILD)/freestanding_gcc.o $(BUILD)/freestanding_clang.o $(BUILD)/impl_O2.o \
              $(filter $(BUILD)/replay_%,$(TEST_DEPS))

# clang, its sanitizer runtime, gcc -m32 (gcc-N-multilib), g++ and npm are optional: what
# needs a missing one is left out of the build, and tests/run_all.sh reports it skipped (a
# failure under CI). Probed only for the two targets below, so other goals pay nothing.
ifneq ($(filter test-build check-build,$(MAKECMDGOALS)),)
HAVE_CLANG := $(shell command -v $(CLANG) >/dev/null 2>&1 && echo yes)
HAVE_CLANG_SAN := $(if $(HAVE_CLANG),$(shell mkdir -p $(BUILD) && \
    echo 'int main(void) { return 0; }' | $(CLANG) $(SAN) -x c - -o $(BUILD)/.clang-probe \
    >/dev/null 2>&1 && echo yes; rm -f $(BUILD)/.clang-probe))
HAVE_M32 := $(shell mkdir -p $(BUILD) && echo 'int main(void) { return 0; }' | \
    $(CC) -m32 $(SAN) -x c - -o $(BUILD)/.m32-probe >/dev/null 2>&1 && echo yes; \
    rm -f $(BUILD)/.m32-probe)
HAVE_CXX := $(shell command -v $(CXX) >/dev/null 2>&1 && echo yes)
HAVE_NPM := $(shell command -v npm >/dev/null 2>&1 && echo yes)
endif
MISSING  = $(if $(HAVE_CLANG),,%_clang %_clang.o) $(if $(HAVE_CLANG_SAN),,$(BUILD)/test_ws_clang \
           $(BUILD)/replay_clang) $(if $(HAVE_M32),,$(BUILD)/replay_m32) \
           $(if $(HAVE_CXX),,%/compile_cpp.o) $(if $(HAVE_NPM),,node)

# without -j, the builds run on every core
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PARALLEL = $(if $(filter -j% --jobserver%,$(MAKEFLAGS)),,-j$(JOBS))

test:
	@bash tests/deps.sh
	@$(MAKE) --no-print-directory $(PARALLEL) test-build
	@BUILD=$(BUILD) CLANG=$(CLANG) CXX=$(CXX) bash tests/run_all.sh $(SUITE)

check:
	@$(MAKE) --no-print-directory $(PARALLEL) check-build
	@BUILD=$(BUILD) CLANG=$(CLANG) CXX=$(CXX) bash tests/run_all.sh $(or $(SUITE),--tier check)

test-build: $(filter-out $(MISSING),$(TEST_DEPS))
check-build: $(filter-out $(MISSING),$(CHECK_DEPS))
checks: $(CHECKS)

# The unit tests, one object per file and build. test_main.c and test_fastpath.c compile
# ws.h's implementation (test_fastpath.c a WS_STATIC copy of its own), so every build has
# its own; the other files see only declarations, which WS_NO_SIMD does not change, so the
# no-SIMD build links gcc's objects of them.
UNIT_BUILDS     = gcc clang nosimd plain
UNIT_IMPL       = test_main test_fastpath
UNIT_CC_gcc     = $(CC) $(WARN) $(SAN) $(CFLAGS)
UNIT_CC_clang   = $(CLANG) $(WARN) $(SAN) $(CFLAGS)
UNIT_CC_nosimd  = $(CC) $(WARN) $(SAN) $(CFLAGS) -DWS_NO_SIMD    # the portable code only
UNIT_CC_plain   = $(CC) $(WARN) -O1 -g                 # for Valgrind (tests/run_analysis.sh)
UNIT_DECL_gcc   = gcc
UNIT_DECL_clang = clang
UNIT_DECL_nosimd = gcc
UNIT_DECL_plain = plain
UNIT_NAMES      = $(basename $(notdir $(TESTS)))

define unit_build
$(BUILD)/unit/$(1)/%.o: tests/unit/%.c ws.h $(wildcard tests/unit/*.h) | $(BUILD)
	@mkdir -p $$(@D)
	$(UNIT_CC_$(1)) -I. -c $$< -o $$@

$(BUILD)/test_ws_$(1): $(UNIT_IMPL:%=$(BUILD)/unit/$(1)/%.o) \
        $(patsubst %,$(BUILD)/unit/$(UNIT_DECL_$(1))/%.o,$(filter-out $(UNIT_IMPL),$(UNIT_NAMES)))
	$(UNIT_CC_$(1)) $$^ -o $$@
endef
$(foreach b,$(UNIT_BUILDS),$(eval $(call unit_build,$(b))))

# the implementation compiled as C++11
$(BUILD)/compile_cpp.o: ws.h tests/builds/compile_cpp.cpp | $(BUILD)
	$(CXX) -std=c++11 -Wall -Wextra -Werror -I. -c tests/builds/compile_cpp.cpp -o $@

# two WS_STATIC translation units linked together
STATIC_SRC = tests/builds/compile_static_a.c tests/builds/compile_static_b.c
$(BUILD)/static_link: ws.h $(STATIC_SRC) | $(BUILD)
	$(CC) $(WARN) -I. $(STATIC_SRC) -o $@

# the library alone under the strictest warnings we hold it to
$(BUILD)/strict_%.o: ws.h | $(BUILD)
	$(if $(filter gcc,$*),$(CC),$(CLANG)) $(STRICT) -DWS_IMPLEMENTATION -x c -c ws.h -o $@

# the core with no libc at all (firmware)
$(BUILD)/freestanding_%.o: ws.h | $(BUILD)
	$(if $(filter gcc,$*),$(CC),$(CLANG)) $(WARN) -Os -ffreestanding -DWS_FREESTANDING \
	    -DWS_IMPLEMENTATION -x c -c ws.h -o $@

# what users link: checked for heap calls by tests/run_all.sh
$(BUILD)/impl_O2.o: ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -DWS_IMPLEMENTATION -x c -c ws.h -o $@

examples: $(EXAMPLES:%=$(BUILD)/%)
$(BUILD)/%: examples/%.c ws.h $(wildcard examples/*.h) | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -o $@

# Node packages for the interop tests (package-lock.json pins them)
# (without network the Node suites skip; under CI that fails them)
node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund || { [ -z "$$CI" ] && echo "npm ci failed: the Node suites will skip"; }

$(BUILD):
	mkdir -p $@

clean:
	rm -rf $(BUILD)
