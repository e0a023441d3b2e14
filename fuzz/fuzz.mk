# fuzz: make fuzz, make fuzz-afl, the corpus replay that make test runs
#   make fuzz               every target under libFuzzer for FUZZ_SECONDS (default 60) each;
#                           new inputs go to $(BUILD)/fuzz-corpus/<target>, crashes to
#                           $(BUILD)/fuzz-<target>-crash-*; FUZZERS="conn split" picks some
#   make fuzz-afl           the same targets built with AFL++ (afl-clang-fast); prints how
#                           to run afl-fuzz on them
#   make test               replays fuzz/corpus/<target>/ through every target, built with
#                           gcc and clang under ASan+UBSan (tests/run_fuzz_replay.sh)

FUZZERS      ?= request response frames_server frames_client conn split roundtrip
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_DEPS     = ws.h fuzz/fuzz.h fuzz/http.h fuzz/frames.h
AFL_CC       ?= afl-clang-fast

.PHONY: fuzz fuzz-afl
TEST_DEPS += $(FUZZERS:%=$(BUILD)/replay_%_gcc) $(FUZZERS:%=$(BUILD)/replay_%_clang)

# replay drivers: the target linked with fuzz/replay.c instead of libFuzzer
$(BUILD)/replay_%_gcc: fuzz/fuzz_%.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	$(CC) $(WARN) $(SAN) $(CFLAGS) -I. fuzz/replay.c $< -o $@

$(BUILD)/replay_%_clang: fuzz/fuzz_%.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	$(CLANG) $(WARN) $(SAN) $(CFLAGS) -I. fuzz/replay.c $< -o $@

# libFuzzer
$(BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS) | $(BUILD)
	$(CLANG) $(WARN) $(FUZZ_CFLAGS) -I. $< -o $@

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
	    grep -E '^#[0-9]+ +DONE' $(BUILD)/fuzz-$$t.log | sed 's/^/    /'; \
	    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' $(BUILD)/fuzz-$$t.log | sed 's/^/    /'; \
	done

# AFL++: the same LLVMFuzzerTestOneInput, with AFL++'s driver in place of libFuzzer's
fuzz-afl: $(FUZZERS:%=$(BUILD)/afl_%)
	@echo "built $(FUZZERS:%=$(BUILD)/afl_%). Run one (a second core: -S instead of -M) with:"
	@echo "  AFL_SKIP_CPUFREQ=1 afl-fuzz -i fuzz/corpus/conn -o $(BUILD)/afl-conn -x fuzz/ws.dict -- $(BUILD)/afl_conn"
	@echo "then replay its finds: $(BUILD)/replay_conn_gcc $(BUILD)/afl-conn/default/crashes"

$(BUILD)/afl_%: fuzz/fuzz_%.c $(FUZZ_DEPS) | $(BUILD)
	@command -v $(AFL_CC) >/dev/null || { echo "$(AFL_CC) not found: apt-get install afl++"; exit 1; }
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(WARN) -g -O1 -fsanitize=fuzzer -I. $< -o $@
