# tests/firmware: the unit suite on other CPUs, run by tests/run_firmware.sh (make test)
#   $(BUILD)/firmware/test_ws_m4.elf   every unit test on a Cortex-M4 (qemu-system-arm -M
#                       mps2-an386, semihosting): arm-none-eabi-gcc -Os, ws.h with
#                       WS_FREESTANDING, newlib and the files of tests/firmware/ (fw.h says
#                       what each does); its map file beside it
#   $(BUILD)/firmware/ws_m4.o          ws.h alone, freestanding, the flags of the size
#                       figures: its disassembly is checked for multi-word accesses
#   $(BUILD)/test_ws_mips, _s390x      every unit test on big-endian Linux CPUs, 32-bit
#                       (MIPS o32) and 64-bit (s390x), static, run under qemu-user
#   $(BUILD)/replay_<target>_mips, _s390x   the fuzz corpus replays, the same way
# No sanitizers on these (none for bare metal; qemu-user runs no ASan). A missing cross
# compiler builds nothing and says so (SKIP); tests/run_firmware.sh and run_cross.sh then
# report the suite skipped, a failure under CI (tests/deps.sh installs it).
FW_CC      ?= arm-none-eabi-gcc
FW_CFLAGS   = -mcpu=cortex-m4 -mthumb -Os -g -ffunction-sections -fdata-sections -ffreestanding
FW_LDFLAGS  = -specs=rdimon.specs -nostartfiles -T tests/firmware/mps2.ld -Wl,--gc-sections
FW_SRC      = tests/firmware/startup.c tests/firmware/heap.c
FW_DEPS     = ws.h $(TESTS) tests/unit/*.h $(FW_SRC) tests/firmware/fw.h tests/firmware/mps2.ld
CROSS_ARCHES = mips s390x
CROSS_CC_mips  ?= mips-linux-gnu-gcc
CROSS_CC_s390x ?= s390x-linux-gnu-gcc
# 64-bit file offsets: a 32-bit guest's readdir() fails (EOVERFLOW) on the host's 64-bit
# directory offsets otherwise
CROSS_CFLAGS = -O2 -g -static -D_FILE_OFFSET_BITS=64
# (not fuzz_tls: it links mbedTLS, which Debian has for the host only)
CROSS_FUZZ  = $(filter-out tls,$(notdir $(wildcard fuzz/corpus/*)))

# the echo server of examples/firmware/ (its rules are beside it)
include examples/firmware/firmware.mk

FIRMWARE_DEPS = $(BUILD)/firmware/test_ws_m4.elf $(BUILD)/firmware/ws_m4.o \
                $(BUILD)/firmware/echo_fw.elf \
                $(CROSS_ARCHES:%=$(BUILD)/test_ws_%) \
                $(foreach a,$(CROSS_ARCHES),$(CROSS_FUZZ:%=$(BUILD)/replay_%_$(a)))
.PHONY: firmware
firmware: $(FIRMWARE_DEPS)
# make test builds them; make check (the fast tier) does not
TEST_DEPS += $(if $(filter check-build,$(MAKECMDGOALS)),,$(FIRMWARE_DEPS))

# $(call fw_have,COMPILER,PACKAGES): in a recipe, stops it with a SKIP line when missing
fw_have = if ! command -v $(1) >/dev/null 2>&1; then \
    echo "SKIP $@: no $(1) (apt-get install $(2))"; exit 0; fi

$(BUILD)/firmware/test_ws_m4.elf: $(FW_DEPS)
	@$(call fw_have,$(FW_CC),gcc-arm-none-eabi libnewlib-arm-none-eabi); mkdir -p $(@D); \
	echo "$(FW_CC) $(FW_CFLAGS) -DWS_FREESTANDING ... -o $@"; \
	$(FW_CC) $(WARN) $(FW_CFLAGS) -DWS_FREESTANDING -I. $(TESTS) $(FW_SRC) $(FW_LDFLAGS) \
	    -Wl,-Map=$(@:.elf=.map) -o $@

$(BUILD)/firmware/ws_m4.o: ws.h
	@$(call fw_have,$(FW_CC),gcc-arm-none-eabi); mkdir -p $(@D); \
	echo "$(FW_CC) $(FW_CFLAGS) -DWS_FREESTANDING -DWS_IMPLEMENTATION -c ws.h -o $@"; \
	$(FW_CC) $(WARN) $(FW_CFLAGS) -DWS_FREESTANDING -DWS_IMPLEMENTATION -x c -c ws.h -o $@

define fw_cross
$(BUILD)/test_ws_$(1): ws.h $(TESTS) tests/unit/*.h | $(BUILD)
	@$$(call fw_have,$(CROSS_CC_$(1)),gcc-$(1)-linux-gnu); \
	echo "$(CROSS_CC_$(1)) $(CROSS_CFLAGS) -I. tests/unit/*.c -o $$@"; \
	$(CROSS_CC_$(1)) $(WARN) $(CROSS_CFLAGS) -I. $(TESTS) -o $$@

$(BUILD)/replay_%_$(1): fuzz/fuzz_%.c fuzz/replay.c $(FUZZ_DEPS) | $(BUILD)
	@$$(call fw_have,$(CROSS_CC_$(1)),gcc-$(1)-linux-gnu); \
	echo "$(CROSS_CC_$(1)) $(CROSS_CFLAGS) -I. fuzz/replay.c $$< -o $$@"; \
	$(CROSS_CC_$(1)) $(WARN) $(CROSS_CFLAGS) -I. fuzz/replay.c $$< -o $$@
endef
$(foreach a,$(CROSS_ARCHES),$(eval $(call fw_cross,$(a))))

# make size: ws.h's code size per build and configuration, as README's Size table has it
# (tests/firmware/size.sh: x86-64 gcc -O2/-Os, Cortex-M4 -Os with the peers' flags, the
# firmware configuration, WS_DEFLATE; server + client, WS_NO_CLIENT, WS_NO_SERVER)
.PHONY: size
size:
	@BUILD=$(BUILD) CC=$(CC) FW_CC=$(FW_CC) bash tests/firmware/size.sh
