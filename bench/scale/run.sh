#!/usr/bin/env bash
# bench/scale/run.sh - the chat's fan-out across processes, ws.h beside socket.io
# (`make bench-scale`, part of `make bench`).
#
# For each stack: one redis-server (no persistence), two chat processes on it, nginx in
# front (the config of examples/scale_out.sh, the deployment recipe), and build/fanout:
# CLIENTS (1000) clients through nginx in one room, SENDERS (10) of them sending room
# messages, each with one in flight (the next when its ack comes), for SECONDS (5) after a
# 2 s warm-up (ws.h: once every client has the last join's members list). The stacks:
#   ws.h       build/chat_server --redis --redis-ttl 10000 (examples/chat_server.c; a longer
#              TTL than the default 5000: the joins' members lists, 1000 x 1000 of them, keep
#              a loaded 2-core machine busy long enough to delay a heartbeat by seconds)
#   socket.io  bench/scale/sio_chat.mjs: socket.io 4 with @socket.io/redis-adapter (npm)
# Figures: messages delivered per second (to all members), p50/p99 delivery latency, and
# the chat processes' RSS growth per client (both processes' growth from before the clients
# to the end of the run, over CLIENTS). Every process is stopped by PID.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CLIENTS=${CLIENTS:-1000}
SENDERS=${SENDERS:-10}
SECS=${SECONDS_PER_RUN:-5}
STACKS=${STACKS:-"ws.h socket.io"}
OUT=$BUILD/bench
mkdir -p "$OUT"
tmp=$(mktemp -d)
pids=()
stop_all() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done; pids=(); }
trap 'stop_all; [ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
ulimit -n 20000 2>/dev/null
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { local i; for i in $(seq 200); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done; echo "bench/scale: $2: no '$1'" >&2; cat "$2" >&2; return 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

for tool in redis-server nginx node; do command -v $tool >/dev/null || { echo "bench/scale: no $tool" >&2; exit 1; }; done
"$BUILD/chat_server" --redis 127.0.0.1:1 0 2>&1 | grep -q "without hiredis" && { echo "bench/scale: chat_server built without hiredis" >&2; exit 1; }
[ -f node_modules/@socket.io/redis-adapter/package.json ] || { echo "bench/scale: no node_modules/@socket.io/redis-adapter (make node)" >&2; exit 1; }

results=()
for stack in $STACKS; do
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
    pids+=($!)
    wait_for "Ready to accept" "$tmp/redis.log" || exit 1
    ports=() spids=()
    for i in 1 2; do
        p=$(free_port)
        if [ "$stack" = ws.h ]; then
            "$BUILD/chat_server" --redis "127.0.0.1:$rport" --redis-ttl 10000 "$p" >"$tmp/chat$i.log" 2>&1 &
        else
            node bench/scale/sio_chat.mjs "$p" "$rport" >"$tmp/chat$i.log" 2>&1 &
        fi
        spids+=($!); pids+=($!); ports+=("$p")
        wait_for listening "$tmp/chat$i.log" || exit 1
    done
    nport=$(free_port)
    mkdir -p "$tmp/nginx/tmp"
    bash examples/scale_out.sh --nginx-conf "$tmp/nginx" "$nport" 0 - - "${ports[@]}" >"$tmp/nginx/nginx.conf"
    nginx -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" &
    pids+=($!)
    for i in $(seq 100); do (: </dev/tcp/127.0.0.1/$nport) 2>/dev/null && break; sleep 0.05; done
    before=$(( $(rss_kb "${spids[0]}") + $(rss_kb "${spids[1]}") ))
    proto=ws; [ "$stack" = socket.io ] && proto=sio
    line=$(timeout 300 "$BUILD/fanout" --proto $proto -c "$CLIENTS" -s "$SENDERS" -d "$SECS" -w 2 \
           127.0.0.1 "$nport" 2>"$tmp/fanout.err")
    status=$?
    after=$(( $(rss_kb "${spids[0]}") + $(rss_kb "${spids[1]}") ))
    if [ $status -ne 0 ] || [ -z "$line" ]; then
        echo "bench/scale: $stack: fanout failed (exit $status)"; cat "$tmp/fanout.err"; tail -5 "$tmp/chat1.log"
        stop_all; continue
    fi
    per=$(( (after - before) * 1024 / CLIENTS ))
    echo "$stack: $line rss_per_client=${per}B rss_before=${before}kB rss_after=${after}kB ($(grep -o 'in the room after.*' "$tmp/fanout.err"))"
    results+=("$stack $line rss_per_client=$per")
    stop_all
done

{
    printf '%-10s %14s %9s %9s %12s\n' stack delivered/s p50_us p99_us RSS/client
    for r in "${results[@]}"; do
        set -- $r
        v() { sed -nE "s|.* $1=([0-9]+).*|\1|p" <<<" $r"; }
        printf '%-10s %14s %9s %9s %11sB\n' "$1" "$(v delivered/s)" "$(v p50_us)" "$(v p99_us)" "$(v rss_per_client)"
    done
    echo "$CLIENTS clients in one room over 2 processes behind nginx, $SENDERS senders (one message in flight each), ${SECS} s; $(nproc) cores, $(uname -r)"
} | tee "$OUT/scale.txt"
