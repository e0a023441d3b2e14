# examples/firmware: the WebSocket echo server for a Cortex-M4 (qemu's mps2-an386), built
# by `make firmware` and `make test` (included by tests/firmware/firmware.mk):
#   $(BUILD)/firmware/echo_fw.elf   the image: ws.h (WS_FREESTANDING) in ws_impl.o, the
#                       rest in echo_fw.o and startup.o; -nostdlib (libgcc only), no heap;
#                       its map file beside it, and each object's .su and .ci (gcc's
#                       stack usage and call graph, read by tests/run_firmware.sh)
# Run it: make run-firmware (RUN_PORT=8080), or tests/firmware/bridge.py --elf build/firmware/echo_fw.elf
FWEX_DIR    = $(BUILD)/firmware/echo
FWEX_CFLAGS = $(WARN) -mcpu=cortex-m4 -mthumb -Os -g -ffunction-sections -fdata-sections \
              -ffreestanding -fno-builtin -fstack-usage -fcallgraph-info=su $(FWEX_WS)
# the firmware configuration of ws.h: no libc, server only, error codes without their texts,
# no HTTP proxy CONNECT (a client's; nothing in a server-only build)
FWEX_WS    ?= -DWS_FREESTANDING -DWS_NO_CLIENT -DWS_NO_ERROR_STRINGS -DWS_NO_PROXY
FWEX_OBJS   = $(FWEX_DIR)/ws_impl.o $(FWEX_DIR)/echo_fw.o $(FWEX_DIR)/startup.o
FWEX_HDRS   = ws.h $(wildcard examples/firmware/*.h) examples/firmware/firmware.mk

$(FWEX_DIR)/%.o: examples/firmware/%.c $(FWEX_HDRS)
	@$(call fw_have,$(FW_CC),gcc-arm-none-eabi); mkdir -p $(@D); \
	echo "$(FW_CC) -Os -mcpu=cortex-m4 $(FWEX_WS) -c $< -o $@"; \
	cd $(@D) && $(FW_CC) $(FWEX_CFLAGS) -I$(CURDIR) -c $(CURDIR)/$< -o $(notdir $@)

$(BUILD)/firmware/echo_fw.elf: $(FWEX_OBJS) examples/firmware/mps2_an386.ld
	@$(call fw_have,$(FW_CC),gcc-arm-none-eabi); \
	echo "$(FW_CC) -nostdlib -T examples/firmware/mps2_an386.ld ... -o $@"; \
	$(FW_CC) -mcpu=cortex-m4 -mthumb -nostdlib -T examples/firmware/mps2_an386.ld \
	    -Wl,--gc-sections -Wl,-Map=$(@:.elf=.map) $(FWEX_OBJS) -lgcc -o $@

# make run-firmware: the echo server on the emulated board, its page at
# http://127.0.0.1:$(RUN_PORT)/ (the bridge serves examples/echo.html; Ctrl-C stops both)
.PHONY: run-firmware
run-firmware: $(BUILD)/firmware/echo_fw.elf
	@echo "firmware echo: open http://127.0.0.1:$(RUN_PORT)/ in a browser (Ctrl-C stops it)"
	@python3 tests/firmware/bridge.py --elf $< --port $(RUN_PORT) --page examples/echo.html
