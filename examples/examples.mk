# examples: make run, make screenshot, and the TLS builds (the other example programs are
# built by the generic rule in ../Makefile)
#   make run          builds build/chat_server and starts it at http://127.0.0.1:8080/
#                     (RUN_PORT=9000 make run for another port; Ctrl-C stops it)
#   make screenshot   regenerates examples/chat.png: the chat page in headless Chromium, as
#                     the browser part of tests/run_chat.sh leaves it in build/chat.png
#   WS_TLS=           builds the examples without TLS even where mbedTLS is installed
#                     (WS_TLS=yes with mbedTLS elsewhere: add its paths to TLS_FLAGS, TLS_LIBS)

RUN_PORT ?= 8080
SCALE_PORT ?= 8090

# the examples share examples/outq.h (output queue), examples/net.h (sockets, clock) and
# examples/tls.h (certificate files); the generic rule in ../Makefile builds each
# examples/NAME.c into $(BUILD)/NAME
$(EXAMPLES:%=$(BUILD)/%): examples/outq.h examples/net.h examples/tls.h

# https and wss (--cert/--key in the servers, wss:// in wscat and echo_client) through
# ws.h's WS_MBEDTLS layer, when mbedTLS's headers are there (Debian: apt-get install
# libmbedtls-dev). Without them these build as the others do, and refuse --cert and wss://
# with a line saying so.
WS_TLS      ?= $(if $(wildcard /usr/include/mbedtls/ssl.h),yes)
TLS_EXAMPLES = echo_server echo_client chat_server shared_port wscat
TLS_FLAGS   ?= -DWS_MBEDTLS
TLS_LIBS    ?= -lmbedtls -lmbedx509 -lmbedcrypto
$(TLS_EXAMPLES:%=$(BUILD)/%): $(BUILD)/%: examples/%.c ws.h $(wildcard examples/*.h) | $(BUILD)
	$(CC) $(WARN) -O2 -g $(if $(WS_TLS),$(TLS_FLAGS)) $(EXTRA_FLAGS) -I. $< -o $@ \
	    $(if $(WS_TLS),$(TLS_LIBS)) $(EXTRA_LIBS)

# chat_server --redis (rooms shared by many processes, examples/README.md) through hiredis'
# async API, when its headers are there (Debian: apt-get install libhiredis-dev). Without
# them chat_server builds as before, one process, and refuses --redis with a line saying so.
#   WS_REDIS=         builds it without hiredis even where it is installed
WS_REDIS ?= $(if $(wildcard /usr/include/hiredis/async.h),yes)
$(BUILD)/chat_server: EXTRA_FLAGS = $(if $(WS_REDIS),-DCHAT_REDIS)
$(BUILD)/chat_server: EXTRA_LIBS = $(if $(WS_REDIS),-lhiredis)
$(BUILD)/chat_server: $(BUILD)/.redis-$(or $(WS_REDIS),no)
$(BUILD)/.redis-yes $(BUILD)/.redis-no: | $(BUILD)
	@rm -f $(if $(filter %-yes,$@),$(@:-yes=-no),$(@:-no=-yes))
	@touch $@

.PHONY: run screenshot
run: $(BUILD)/chat_server
	@echo "chat: open http://127.0.0.1:$(RUN_PORT)/ in a browser (Ctrl-C stops the server)"
	@$(BUILD)/chat_server $(RUN_PORT)

screenshot: $(BUILD)/chat_server node
	CHAT_ONLY=browser BUILD=$(BUILD) bash tests/run_chat.sh
	cp $(BUILD)/chat.png examples/chat.png
# make run-scale: the chat on three processes behind nginx at http://127.0.0.1:8090/, rooms
# shared through Redis (SCALE_PORT=9000 for 9000-9004)
# (examples/scale_out.sh: needs redis-server, nginx and chat_server built with hiredis)
.PHONY: run-scale
run-scale: $(BUILD)/chat_server
	@BUILD=$(BUILD) bash examples/scale_out.sh $(SCALE_PORT)

include examples/integrations.mk
