# examples: make run, make screenshot (rules for the example programs are in ../Makefile)
#   make run          builds build/chat_server and starts it at http://127.0.0.1:8080/
#                     (RUN_PORT=9000 make run for another port; Ctrl-C stops it)
#   make screenshot   regenerates examples/chat.png: the chat page in headless Chromium, as
#                     the browser part of tests/run_chat.sh leaves it in build/chat.png

RUN_PORT ?= 8080

# the examples share examples/outq.h (output queue) and examples/net.h (sockets, clock);
# the generic rule in ../Makefile builds each examples/NAME.c into $(BUILD)/NAME
$(EXAMPLES:%=$(BUILD)/%): examples/outq.h examples/net.h

.PHONY: run screenshot
run: $(BUILD)/chat_server
	@echo "chat: open http://127.0.0.1:$(RUN_PORT)/ in a browser (Ctrl-C stops the server)"
	@$(BUILD)/chat_server $(RUN_PORT)

screenshot: $(BUILD)/chat_server node
	CHAT_ONLY=browser BUILD=$(BUILD) bash tests/run_chat.sh
	cp $(BUILD)/chat.png examples/chat.png
include examples/integrations.mk
