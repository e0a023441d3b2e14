#!/usr/bin/env bash
# bench/wss.sh - wss:// speed: `make bench` runs it after bench/run.sh (or `make bench-wss`).
#
# Echo servers over TLS, each pinned to CPU 0 with build/loadgen_tls (loadgen.c built with
# ws.h's TLS layer) on CPU 1, beside plain ws.h in the same run:
#   ws.h        build/echo_server --cert --key (ws.h's WS_MBEDTLS layer, mbedTLS)
#   ws.h ws://  build/echo_server without TLS, under the same load generator
#   node        Node's `ws` on an https server (tests/interop/node_server.mjs CERT KEY)
#   uws         uWebSockets' SSL echo (OpenSSL), only when UWS_SSL_APP names a local build:
#               a command with {port}, {cert} and {key} in it, e.g.
#               UWS_SSL_APP='/src/uWebSockets/EchoServerSSL {port} {cert} {key}'
#               (nothing here builds it)
# For each: small messages (100 connections x 16 in flight x 16 bytes), bulk (10
# connections x 4 in flight x 64 KiB), handshakes per second (TCP connect, TLS handshake,
# upgrade and close, one after another, with the server's CPU time per handshake), and
# the server's RSS growth over IDLE idle TLS connections, divided. Then mbedTLS's AES-GCM
# alone (build/wss_cipher, per CPU second): the ceiling of bulk through mbedTLS. The test
# certificate (EC P-256) is made here by tests/tls/make_certs.sh.
#
# Environment: BUILD (build), SECONDS_PER_RUN (3), IDLE_TLS_CONNS (500), HANDSHAKES (200),
# WSS_PEERS ("ws.h ws.h-plain node", and uws with UWS_SSL_APP), BENCH_RT=1 (as run.sh).
set -u
BUILD=${BUILD:-build}
RUN=${SECONDS_PER_RUN:-3}
IDLE=${IDLE_TLS_CONNS:-500}
HS=${HANDSHAKES:-200}
PEERS=${WSS_PEERS:-"ws.h ws.h-plain node${UWS_SSL_APP:+ uws}"}
PRIO=()
if [ "${BENCH_RT:-0}" = 1 ] && chrt -f 10 true 2>/dev/null; then PRIO=(chrt -f 10); fi
OUT=$BUILD/bench
mkdir -p "$OUT"
tmp=$(mktemp -d)
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
ulimit -n $((2 * IDLE + 1000)) 2>/dev/null || IDLE=$(( ($(ulimit -n) - 200) / 2 ))

for b in loadgen_tls wss_cipher echo_server; do
    [ -x "$BUILD/$b" ] || { echo "wss: $BUILD/$b missing (make bench builds it, with libmbedtls-dev)"; exit 1; }
done
"$BUILD/echo_server" --help | grep -q -- --cert || { echo "wss: echo_server built without TLS"; exit 1; }
bash tests/tls/make_certs.sh "$tmp/pki" >/dev/null || exit 1
CERT=$tmp/pki/server.pem KEY=$tmp/pki/server.key

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
field() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$2"; }
cpu_s() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"; }     # utime + stime, 100 Hz
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start_server() {    # NAME PORT: pinned to CPU 0; sets spid (the server itself, not taskset)
    local log=$OUT/wss_server_$1.log cmd
    case $1 in
        ws.h) "${PRIO[@]}" taskset -c 0 "$BUILD/echo_server" --cert "$CERT" --key "$KEY" "$2" /dev/null >"$log" 2>&1 & ;;
        ws.h-plain) "${PRIO[@]}" taskset -c 0 "$BUILD/echo_server" "$2" /dev/null >"$log" 2>&1 & ;;
        node) "${PRIO[@]}" taskset -c 0 node tests/interop/node_server.mjs "$2" "$CERT" "$KEY" >"$log" 2>&1 & ;;
        uws) cmd=${UWS_SSL_APP//\{port\}/$2}; cmd=${cmd//\{cert\}/$CERT}; cmd=${cmd//\{key\}/$KEY}
             # shellcheck disable=SC2086
             "${PRIO[@]}" taskset -c 0 $cmd >"$log" 2>&1 & ;;
    esac
    spid=$!
    pids+=("$spid")
    local i
    for i in $(seq 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$2" \
            2>/dev/null && return 0
        sleep 0.1
    done
    echo "$1: did not start"; cat "$log"; return 1
}

loadgen() {         # ARGS...: one run on CPU 1; its result line, or "error: ..."
    local line
    line=$(timeout $((RUN + 60)) "${PRIO[@]}" taskset -c 1 "$BUILD/loadgen_tls" -d "$RUN" -w 1 "$@" 2>&1 | tail -1)
    case $line in msgs/s=*|handshakes/s=*|idle:*) echo "$line" ;; *) echo "error: $line" ;; esac
}

machine() {
    echo "machine: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs," \
         "Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); compiler:" \
         "$(${CC:-gcc} --version | head -1), -O2; mbedTLS $(dpkg-query -W -f '${Version}' libmbedtls-dev 2>/dev/null);" \
         "Node $(node --version 2>/dev/null) ws $(node -p 'require("ws/package.json").version' 2>/dev/null)," \
         "OpenSSL $(openssl version 2>/dev/null | cut -d' ' -f2); certificate EC P-256"
}

declare -A R
echo "== wss:// echo: server on CPU 0, build/loadgen_tls on CPU 1, ${RUN} s per run =="
machine | tee "$OUT/wss_machine.txt"
for peer in $PEERS; do
    if [ "$peer" = node ] && ! node -e 'require("ws")' 2>/dev/null; then echo "node: skipped (npm ci first)"; continue; fi
    port=$(free_port)
    start_server "$peer" "$port" || continue
    url=wss://127.0.0.1:$port/
    [ "$peer" = ws.h-plain ] && url=ws://127.0.0.1:$port/
    small=$(loadgen -c 100 -p 16 -s 16 -t binary "$url")
    bulk=$(loadgen -c 10 -p 4 -s 65536 -t binary "$url")
    c0=$(cpu_s "$spid")
    hs=$(loadgen --handshakes "$HS" "$url")
    c1=$(cpu_s "$spid")
    R[$peer,small]=$(field msgs/s "$small")
    R[$peer,bulk]=$(awk -v m="$(field MB/s "$bulk")" 'BEGIN { if (m != "") printf "%.3f", m / 1000 }')
    R[$peer,hs]=$(field handshakes/s "$hs")
    R[$peer,hscpu]=$(awk -v a="$c0" -v b="$c1" -v n="$HS" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
    # memory: RSS growth over IDLE idle connections
    before=$(rss_kb "$spid")
    timeout 300 taskset -c 1 "$BUILD/loadgen_tls" -c "$IDLE" --idle 8 "$url" >"$tmp/idle.out" 2>&1 &
    lg=$!
    for i in $(seq 1200); do grep -q '^idle:' "$tmp/idle.out" && break; kill -0 "$lg" 2>/dev/null || break; sleep 0.25; done
    sleep 1
    if grep -q '^idle:' "$tmp/idle.out"; then
        R[$peer,mem]=$(( ($(rss_kb "$spid") - before) * 1024 / IDLE ))
    else
        R[$peer,mem]="?"; echo "  $peer idle: $(tail -1 "$tmp/idle.out")"
    fi
    wait "$lg" 2>/dev/null
    for l in "$small" "$bulk" "$hs"; do case $l in error*) echo "  $peer: $l" ;; esac; done
    printf '%-11s small %9s msgs/s  bulk %6s GB/s  %6s handshakes/s (server %s ms CPU each)  %6s B/idle conn\n' \
        "$peer" "${R[$peer,small]:-?}" "${R[$peer,bulk]:-?}" "${R[$peer,hs]:-?}" "${R[$peer,hscpu]}" "${R[$peer,mem]}"
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
done

echo
echo "== the cipher alone: mbedTLS AES-GCM and ChaCha20-Poly1305, 16 KiB records, per CPU second (build/wss_cipher) =="
c128=$("$BUILD/wss_cipher" 1 128)
c256=$("$BUILD/wss_cipher" 1 256)
echo "$c128"
echo "$c256"
ssl=$(openssl speed -elapsed -seconds 1 -evp aes-128-gcm 2>/dev/null | awk '/^AES-128-GCM/ {print $NF}')
[ -n "$ssl" ] && echo "openssl speed aes-128-gcm (OpenSSL, wall time, 16 KiB): ${ssl%k} kB/s"

{
    echo "| server | small msgs/s | ratio to ws.h wss | 64 KiB GB/s | handshakes/s | server CPU ms/handshake | bytes/idle conn |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for peer in $PEERS; do
        [ -n "${R[$peer,small]:-}" ] || continue
        ratio=$(awk -v a="${R[ws.h,small]:-0}" -v b="${R[$peer,small]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        echo "| $peer | ${R[$peer,small]} | $ratio | ${R[$peer,bulk]} | ${R[$peer,hs]} | ${R[$peer,hscpu]} | ${R[$peer,mem]} |"
    done
    echo
    echo "cipher ceiling: $c128; $c256"
} | tee "$OUT/wss.md"
echo "(table in $OUT/wss.md)"
