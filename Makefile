# ws.h - build and test. Everything is built under $(BUILD)/.
#   make test       every test: unit tests (gcc and clang, ASan+UBSan), C++ and static builds,
#                   the no-heap check, examples on loopback, interop and conformance suites
#   make examples   build/echo_server, build/echo_client
#   make clean

CC       = gcc
CLANG   ?= clang
CXX      = g++
BUILD   ?= build
CFLAGS  ?= -O1 -g
WARN     = -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
STRICT   = $(WARN) -Wmissing-prototypes -Wcast-qual -Wundef -Wconversion -Wsign-conversion
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

EXAMPLES = $(sort $(basename $(notdir $(wildcard examples/*.c))))
TESTS    = $(wildcard tests/test_*.c)
CHECKS   = $(BUILD)/test_ws_gcc $(BUILD)/test_ws_clang $(BUILD)/compile_cpp.o \
           $(BUILD)/static_link $(BUILD)/strict_gcc.o $(BUILD)/strict_clang.o \
           $(BUILD)/freestanding_gcc.o $(BUILD)/freestanding_clang.o $(BUILD)/impl_O2.o \
           $(BUILD)/test_ws_plain $(BUILD)/test_ws_nosimd

.PHONY: all test checks examples node clean
all: examples

# what `make test` builds before it runs tests/run_all.sh; the fragments below add to it
TEST_DEPS = checks examples node

# each area keeps its own rules beside it
include examples/examples.mk fuzz/fuzz.mk bench/bench.mk

test: $(TEST_DEPS)
	@BUILD=$(BUILD) tests/run_all.sh

checks: $(CHECKS)

$(BUILD)/test_ws_gcc: ws.h $(TESTS) tests/*.h | $(BUILD)
	$(CC) $(WARN) $(SAN) $(CFLAGS) -I. $(TESTS) -o $@

$(BUILD)/test_ws_clang: ws.h $(TESTS) tests/*.h | $(BUILD)
	$(CLANG) $(WARN) $(SAN) $(CFLAGS) -I. $(TESTS) -o $@

# the portable code only (no SSE2 fast paths)
$(BUILD)/test_ws_nosimd: ws.h $(TESTS) tests/*.h | $(BUILD)
	$(CC) $(WARN) $(SAN) $(CFLAGS) -DWS_NO_SIMD -I. $(TESTS) -o $@

# without sanitizers, for Valgrind memcheck (tests/run_analysis.sh)
$(BUILD)/test_ws_plain: ws.h $(TESTS) tests/*.h | $(BUILD)
	$(CC) $(WARN) -O1 -g -I. $(TESTS) -o $@

# the implementation compiled as C++11
$(BUILD)/compile_cpp.o: ws.h tests/compile_cpp.cpp | $(BUILD)
	$(CXX) -std=c++11 -Wall -Wextra -Werror -I. -c tests/compile_cpp.cpp -o $@

# two WS_STATIC translation units linked together
$(BUILD)/static_link: ws.h tests/compile_static_a.c tests/compile_static_b.c | $(BUILD)
	$(CC) $(WARN) -I. tests/compile_static_a.c tests/compile_static_b.c -o $@

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
$(BUILD)/%: examples/%.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -o $@

# Node packages for the interop tests (package-lock.json pins them)
node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(BUILD):
	mkdir -p $@

clean:
	rm -rf $(BUILD)
