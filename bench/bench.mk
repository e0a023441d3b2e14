# bench: `make bench` builds the benchmarks and the peer echo servers with -O2 and runs
# bench/run.sh (a few minutes): in-memory figures beside memcpy and wslay, echo servers
# (ws.h, wslay, libwebsockets, Node ws; uWebSockets with UWS_ECHO=path/to/EchoServer) under
# build/loadgen in interleaved rounds, tables and build/bench/bench.png; 100,000 idle
# connections and a broadcast (examples/chat_server).
# Needs Debian's libwslay-dev, libwebsockets-dev and gnuplot-nox (not part of `make test`).
.PHONY: bench bench-deps
BENCH_BIN = $(BUILD)/bench_mem $(BUILD)/loadgen $(BUILD)/wslay_echo $(BUILD)/lws_echo \
            $(BUILD)/tcp_echo

bench: bench-deps $(BENCH_BIN) $(BUILD)/echo_server $(BUILD)/chat_server node
	@BUILD=$(BUILD) CC=$(CC) BENCH_RT=$(BENCH_RT) UWS_ECHO=$(UWS_ECHO) bash bench/run.sh
	@$(if $(WS_TLS),$(MAKE) --no-print-directory bench-wss,echo "wss: skipped (no mbedTLS: apt-get install libmbedtls-dev)")

# wss:// (bench/wss.sh): the echo servers over TLS under loadgen_tls (loadgen.c with ws.h's
# TLS layer), and mbedTLS's ciphers alone; UWS_SSL_APP adds a local uWebSockets SSL build
.PHONY: bench-wss
bench-wss: $(BUILD)/loadgen_tls $(BUILD)/wss_cipher $(BUILD)/echo_server node
	@BUILD=$(BUILD) CC=$(CC) BENCH_RT=$(BENCH_RT) bash bench/wss.sh

$(BUILD)/loadgen_tls: bench/loadgen.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -DWS_MBEDTLS -I. $< -o $@ $(TLS_LIBS) -lz

$(BUILD)/wss_cipher: bench/wss_cipher.c | $(BUILD)
	$(CC) $(WARN) -O2 -g $< -o $@ -lmbedcrypto

bench-deps:
	@for h in wslay/wslay.h libwebsockets.h; do \
	    [ -f /usr/include/$$h ] || { echo "make bench needs $$h:" \
	        "apt-get install -y libwslay-dev libwebsockets-dev gnuplot-nox"; exit 1; }; \
	done

$(BUILD)/bench_mem: bench/bench_mem.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -lwslay -o $@

$(BUILD)/loadgen: bench/loadgen.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -o $@ -lz

$(BUILD)/wslay_echo: bench/peers/wslay_echo.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -lwslay -o $@

$(BUILD)/lws_echo: bench/peers/lws_echo.c | $(BUILD)
	$(CC) $(WARN) -O2 -g $< -lwebsockets -o $@

$(BUILD)/tcp_echo: bench/peers/tcp_echo.c | $(BUILD)
	$(CC) $(WARN) -O2 -g $< -o $@

# make bench-many (bench/many.sh, also run by make bench): MANY_CONNS (100,000) idle
# connections over as many echo_server / chat_server --redis processes as the per-process
# descriptor limit needs, then a broadcast to all of them through Redis
.PHONY: bench-many
bench: bench-many
bench-many: $(BUILD)/loadgen $(BUILD)/echo_server $(BUILD)/chat_server
	@BUILD=$(BUILD) bash bench/many.sh

# make bench-scale (bench/scale/run.sh, also run by make bench): the chat's fan-out over 2
# processes behind nginx, chat_server --redis beside socket.io with its Redis adapter, under
# build/fanout; needs redis-server, nginx-light, libhiredis-dev and `make node`
.PHONY: bench-scale
bench: bench-scale
bench-scale: $(BUILD)/fanout $(BUILD)/chat_server node
	@BUILD=$(BUILD) bash bench/scale/run.sh

$(BUILD)/fanout: bench/fanout.c | $(BUILD)
	$(CC) $(WARN) -D_GNU_SOURCE -O2 -g $< -o $@

# bench-deflate: ws.h's permessage-deflate codec beside zlib in memory (bench/bench_deflate.c;
# zlib1g-dev: zlib is the peer here, never part of ws.h). Not part of `make bench`'s run.sh.
.PHONY: bench-deflate
bench-deflate: $(BUILD)/bench_deflate
	$(BUILD)/bench_deflate

$(BUILD)/bench_deflate: bench/bench_deflate.c ws.h | $(BUILD)
	$(CC) $(WARN) -O2 -g -I. $< -lz -o $@
