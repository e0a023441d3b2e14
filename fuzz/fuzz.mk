# fuzz: make fuzz, make fuzz-afl, the corpus replay that make test runs
#   make fuzz               every target under libFuzzer for FUZZ_SECONDS (default 60) each;
#                           new inputs go to $(BUILD)/fuzz-corpus/<target>, crashes to
#                           $(BUILD)/fuzz-<target>-crash-*; FUZZERS="conn split" picks some
#   make fuzz-afl           the same targets built with AFL++ (afl-clang-fast); prints how
#                           to run afl-fuzz on them
#   make fuzz-cov           line coverage of ws.h by each target's committed corpus (clang
#                           source-based coverage, llvm-profdata and llvm-cov)
#   make check, make test   replay fuzz/corpus/<target>/ through every target, built with
#                           gcc and clang under ASan+UBSan, gcc -m32 (32-bit size_t) under
#                           ASan+UBSan, and gcc -DWS_NO_SIMD under ASan+UBSan: one driver per
#                           build, $(BUILD)/replay_gcc TARGET DIR (tests/run_fuzz_replay.sh)
#
# fuzz_tls (ws.h's TLS glue) needs mbedTLS: it is one of the targets where its headers are
# (WS_TLS, examples/examples.mk), linked with TLS_LIBS, and has replay drivers of its own,
# $(BUILD)/replay_tls_gcc, _clang and _nosimd DIR (its ws.h is built with WS_MBEDTLS; no
# -m32: Debian has no 32-bit mbedTLS); elsewhere its replay skips

FUZZERS      ?= request response frames_server frames_client conn split roundtrip calls proxy inflate pmd \
                $(if $(WS_TLS),tls)
FZ_REPLAY     = $(filter-out tls,$(FUZZERS))
FUZZ_LIBS     = $(if $(filter tls,$*),$(TLS_LIBS))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_DEPS     = ws.h fuzz/fuzz.h fuzz/http.h fuzz/frames.h tests/unit/wire.h
AFL_CC       ?= afl-clang-fast
LLVM_PROFDATA ?= llvm-profdata
LLVM_COV     ?= llvm-cov

.PHONY: fuzz fuzz-afl fuzz-cov
# The replay drivers (make check and make test): one program per build, every target of
# FUZZERS linked in with one object of ws.h's implementation, so that a cold build compiles
# ws.h 4 times, not 32: $(BUILD)/replay_gcc, _clang, _m32 (32-bit size_t against 64-bit
# wire lengths; i386 has no SSE2 unless asked) and _nosimd (the portable masking and UTF-8
# code; it links the gcc objects of the targets, which only the implementation tells
# apart). Run as replay_gcc TARGET DIR (tests/run_fuzz_replay.sh). Where a build cannot be
# made (no clang, no gcc-multilib) the Makefile leaves it out and the replay reports it
# skipped (failed under CI).
FZ_BUILDS     = gcc clang m32 nosimd
TEST_DEPS    += $(FZ_BUILDS:%=$(BUILD)/replay_%)
FZ_CC_gcc     = $(CC) $(WARN) $(SAN) $(CFLAGS)
FZ_CC_clang   = $(CLANG) $(WARN) $(SAN) $(CFLAGS)
FZ_CC_m32     = $(CC) -m32 $(WARN) $(SAN) $(CFLAGS)
FZ_CC_nosimd  = $(CC) $(WARN) $(SAN) $(CFLAGS) -DWS_NO_SIMD
FZ_OBJS_gcc   = gcc
FZ_OBJS_clang = clang
FZ_OBJS_m32   = m32
FZ_OBJS_nosimd = gcc
FZ_TARGETS    = '-DFZ_TARGETS(X)=$(foreach t,$(FZ_REPLAY),X($(t)))'
FZ_HDRS       = fuzz/fuzz.h fuzz/http.h fuzz/frames.h tests/unit/wire.h

define fz_build
$(BUILD)/fz/$(1)/ws.o: ws.h | $(BUILD)
	@mkdir -p $$(@D)
	$(FZ_CC_$(1)) -DWS_IMPLEMENTATION -x c -c ws.h -o $$@

$(BUILD)/fz/$(1)/fuzz_%.o: fuzz/fuzz_%.c ws.h $(FZ_HDRS) | $(BUILD)
	@mkdir -p $$(@D)
	$(FZ_CC_$(1)) -I. -DFZ_SHARED_IMPL -DLLVMFuzzerTestOneInput=fz_one_$$* -c $$< -o $$@

$(BUILD)/fz/$(1)/replay.o: fuzz/replay.c fuzz/fuzz.mk | $(BUILD)
	@mkdir -p $$(@D)
	$(FZ_CC_$(1)) $(FZ_TARGETS) -c fuzz/replay.c -o $$@

$(BUILD)/replay_$(1): $(BUILD)/fz/$(1)/ws.o $(BUILD)/fz/$(1)/replay.o \
                      $(FZ_REPLAY:%=$(BUILD)/fz/$(FZ_OBJS_$(1))/fuzz_%.o)
	$(FZ_CC_$(1)) $$^ -o $$@
endef
$(foreach b,$(FZ_BUILDS),$(eval $(call fz_build,$(b))))

# fuzz_tls's own replay drivers, with its own WS_MBEDTLS implementation
TEST_DEPS += $(if $(WS_TLS),$(BUILD)/replay_tls_gcc $(BUILD)/replay_tls_clang $(BUILD)/replay_tls_nosimd)
$(BUILD)/replay_tls_gcc: fuzz/fuzz_tls.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	$(FZ_CC_gcc) -I. fuzz/replay.c $< -o $@ $(TLS_LIBS)
$(BUILD)/replay_tls_clang: fuzz/fuzz_tls.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	$(FZ_CC_clang) -I. fuzz/replay.c $< -o $@ $(TLS_LIBS)
$(BUILD)/replay_tls_nosimd: fuzz/fuzz_tls.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	$(FZ_CC_nosimd) -I. fuzz/replay.c $< -o $@ $(TLS_LIBS)

# libFuzzer
$(BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS) | $(BUILD)
	$(CLANG) $(WARN) $(FUZZ_CFLAGS) -I. $< -o $@ $(FUZZ_LIBS)

# HTTP heads may reach the 8 KiB default limit; frames do with libFuzzer's default 4 KiB
fuzz: $(FUZZERS:%=$(BUILD)/fuzz_%)
	@for t in $(FUZZERS); do \
	    mkdir -p $(BUILD)/fuzz-corpus/$$t; \
	    case $$t in request|response) max=-max_len=9000;; *) max=;; esac; \
	    echo "fuzz_$$t: $(FUZZ_SECONDS) s (log: $(BUILD)/fuzz-$$t.log)"; \
	    $(BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
	        -dict=fuzz/ws.dict -artifact_prefix=$(BUILD)/fuzz-$$t- $$max \
	        $(BUILD)/fuzz-corpus/$$t fuzz/corpus/$$t >$(BUILD)/fuzz-$$t.log 2>&1 \
	        || { tail -n 40 $(BUILD)/fuzz-$$t.log; echo "fuzz_$$t FAILED: input in $(BUILD)/fuzz-$$t-*"; exit 1; }; \
	    grep -E ' cov: ' $(BUILD)/fuzz-$$t.log | tail -n 1 | sed -E 's/.* (cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/    \1/'; \
	    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
	        $(BUILD)/fuzz-$$t.log | sed 's/^/    /'; \
	done

# AFL++: the same LLVMFuzzerTestOneInput, with AFL++'s driver in place of libFuzzer's
fuzz-afl: $(FUZZERS:%=$(BUILD)/afl_%)
	@echo "built $(FUZZERS:%=$(BUILD)/afl_%). Run one (a second core: -S instead of -M) with:"
	@echo "  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 afl-fuzz -M main \\"
	@echo "      -i fuzz/corpus/conn -o $(BUILD)/afl-conn -x fuzz/ws.dict -- $(BUILD)/afl_conn"
	@echo "then replay its finds: $(BUILD)/replay_gcc conn $(BUILD)/afl-conn/main/crashes"

$(BUILD)/afl_%: fuzz/fuzz_%.c $(FUZZ_DEPS) | $(BUILD)
	@command -v $(AFL_CC) >/dev/null || { echo "$(AFL_CC) not found: apt-get install afl++"; exit 1; }
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(WARN) -g -O1 -fsanitize=fuzzer -I. $< -o $@ $(FUZZ_LIBS)

# ws.h's line coverage by the committed corpora: one line per target, then all together
fuzz-cov: | $(BUILD)
	@rm -f $(BUILD)/cov_*.profraw
	@for t in $(FUZZERS); do \
	    $(CLANG) -O1 -g -fprofile-instr-generate -fcoverage-mapping -I. fuzz/replay.c \
	        fuzz/fuzz_$$t.c -o $(BUILD)/cov_$$t $$([ $$t = tls ] && echo "$(TLS_LIBS)") || exit 1; \
	    LLVM_PROFILE_FILE=$(BUILD)/cov_$$t.profraw $(BUILD)/cov_$$t fuzz/corpus/$$t \
	        >/dev/null 2>&1 || { echo "cov_$$t failed on fuzz/corpus/$$t"; exit 1; }; \
	    $(LLVM_PROFDATA) merge -o $(BUILD)/cov_$$t.profdata $(BUILD)/cov_$$t.profraw || exit 1; \
	    $(LLVM_COV) report $(BUILD)/cov_$$t -instr-profile=$(BUILD)/cov_$$t.profdata ws.h \
	        | awk -v t=$$t '$$1 ~ /ws\.h$$/ { printf "%-14s ws.h lines %s of %s (%s), branches %s\n", t, $$8 - $$9, $$8, $$10, $$13 }'; \
	done
	@$(LLVM_PROFDATA) merge -o $(BUILD)/cov_all.profdata $(BUILD)/cov_*.profraw
	@$(LLVM_COV) report $(BUILD)/cov_$(firstword $(FUZZERS)) \
	    $(patsubst %,-object $(BUILD)/cov_%,$(wordlist 2,99,$(FUZZERS))) \
	    -instr-profile=$(BUILD)/cov_all.profdata ws.h \
	    | awk '$$1 ~ /ws\.h$$/ { printf "%-14s ws.h lines %s of %s (%s), branches %s\n", "all", $$8 - $$9, $$8, $$10, $$13 }'
