#!/usr/bin/env bash
# bench/many.sh - MANY_CONNS (100,000) concurrent idle connections on this machine, then one
# broadcast to all of them (issue 17, goal 5). `make bench-many`; `make bench` runs it last.
#
# One process may hold only as many sockets as the hard `ulimit -n` allows (20,000 in a
# container without CAP_SYS_RESOURCE), and a connection takes a descriptor at each end. So
# the connections are spread over K = MANY / PER_PROC server processes and as many load
# generators, PER_PROC (the hard limit less 500) each, every load generator from source
# addresses of its own (127.0.0.x, `loadgen --src`):
#   1. echo: K build/echo_server; K `loadgen --idle` open their share one after another,
#      each handshake done before the next, the K in parallel: the time until all are open,
#      and the servers' RSS growth divided by MANY.
#   2. chat: one redis-server (no persistence) and K build/chat_server --redis sharing rooms
#      through it (the scale-out of examples/scale_out.sh, without nginx); K `loadgen
#      --await` hold MANY connections; one more client sends {"event":"broadcast"} to the
#      first process, and the time is from its send() to the last of the MANY connections
#      receiving it (CLOCK_MONOTONIC, the same clock in every process). RSS per connection
#      of the chat processes, and Redis's.
# Prints a table; writes build/bench/many.txt. Knobs: MANY_CONNS, PER_PROC, MANY_TIMEOUT
# (600 s for each phase), BUILD. Needs redis-server and a chat_server built with hiredis
# for part 2 (it says so and leaves part 2 out otherwise).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MANY=${MANY_CONNS:-100000}
LIMIT=${MANY_TIMEOUT:-600}
[ "$MANY" -gt 0 ] 2>/dev/null || { echo "(MANY_CONNS=$MANY: many.sh skipped)"; exit 0; }
OUT=$BUILD/bench
mkdir -p "$OUT"
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
ulimit -Sn "$hard"
PER=${PER_PROC:-$(( hard - 500 ))}
[ "$PER" -gt 19500 ] && PER=19500       # 20,000 per source address in loadgen
[ "$PER" -lt 1 ] && { echo "many.sh: ulimit -n $hard is too small"; exit 1; }
K=$(( (MANY + PER - 1) / PER ))
for b in echo_server chat_server loadgen; do
    [ -x "$BUILD/$b" ] || { echo "many.sh: $BUILD/$b missing (make bench)"; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wait_line() {   # PATTERN FILE SECONDS PID: the line appeared (0), or the process ended / timed out
    local i
    for i in $(seq $(( $3 * 20 ))); do
        grep -q "$1" "$2" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || { grep -q "$1" "$2" 2>/dev/null; return; }
        sleep 0.05
    done
    return 1
}
share() { local k=$1; echo $(( MANY / K + (k < MANY % K ? 1 : 0) )); }    # connections of process k
now_s() { date +%s.%N; }

# start_servers NAME ARGS...: K servers of build/NAME on free ports: sports[], spids[], srss[]
start_servers() {
    local name=$1 k port
    shift
    sports=(); spids=(); srss=()
    for k in $(seq 0 $((K - 1))); do
        port=$(free_port)
        "$BUILD/$name" "$@" "$port" >"$tmp/$name.$k.log" 2>&1 &
        spids+=($!); pids+=($!); sports+=("$port")
        wait_line listening "$tmp/$name.$k.log" 10 $! || { echo "$name $k did not start:"; cat "$tmp/$name.$k.log"; return 1; }
        srss+=("$(rss_kb $!)")
    done
}
grown_kb() { local k t=0; for k in $(seq 0 $((K - 1))); do t=$(( t + $(rss_kb "${spids[$k]}") - ${srss[$k]} )); done; echo "$t"; }
stop_servers() { local p; for p in "${spids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

# open_all MODE PATH ARGS...: K load generators, one per server, started together; waits for
# each one's "idle:"/"ready" line; sets lpids[], open_s (seconds until the last was open)
open_all() {
    local mode=$1 path=$2 k t0 want
    shift 2
    lpids=()
    t0=$(now_s)
    for k in $(seq 0 $((K - 1))); do
        "$BUILD/loadgen" -c "$(share "$k")" --src $(( k * 5 + 1 )) "$@" \
            "ws://127.0.0.1:${sports[$k]}$path" >"$tmp/lg.$mode.$k.log" 2>&1 &
        lpids+=($!); pids+=($!)
    done
    want='^idle:'; [ "$mode" = await ] && want='^ready'
    for k in $(seq 0 $((K - 1))); do
        wait_line "$want" "$tmp/lg.$mode.$k.log" "$LIMIT" "${lpids[$k]}" ||
            { echo "loadgen $k ($(share "$k") connections): $(tail -1 "$tmp/lg.$mode.$k.log")"; return 1; }
    done
    open_s=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
}

exec > >(tee "$OUT/many.txt") 2>&1
echo "== $MANY idle connections: $K server processes x up to $PER (hard ulimit -n $hard), then a broadcast =="
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"

    # ---- 1. echo_server ---------------------------------------------------------------------
    # ECHO_PING_MS: no keepalive ping (loadgen --idle does not read, so it would never answer)
    if ECHO_PING_MS=86400000 start_servers echo_server && open_all idle / --idle "$LIMIT"; then
        grown=$(grown_kb)
        printf 'echo_server x%d: %d connections open in %s s; RSS %d B per connection (%d MB in all)\n' \
            "$K" "$MANY" "$open_s" $(( grown * 1024 / MANY )) $(( grown / 1024 ))
    else
        echo "echo_server: failed"
    fi
    for p in "${lpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    stop_servers

    # ---- 2. chat_server --redis, a broadcast to all -----------------------------------------
    if ! command -v redis-server >/dev/null; then
        echo "chat: left out (no redis-server: apt-get install redis-server)"
    elif "$BUILD/chat_server" --redis 127.0.0.1:1 0 2>&1 | grep -q "built without hiredis"; then
        echo "chat: left out ($BUILD/chat_server built without hiredis: apt-get install libhiredis-dev)"
    else
        rport=$(free_port)
        redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
            --daemonize no --protected-mode yes --maxclients $(( K * 4 + 100 )) >"$tmp/redis.log" 2>&1 &
        rpid=$!; pids+=("$rpid")
        if ! wait_line "Ready to accept" "$tmp/redis.log" 10 "$rpid"; then
            echo "chat: redis-server did not start"; cat "$tmp/redis.log"
        elif start_servers chat_server --redis "127.0.0.1:$rport" --ping-interval 0 &&
             rbefore=$(rss_kb "$rpid") && open_all await /chat --await "$LIMIT"; then
            grown=$(grown_kb)
            "$BUILD/loadgen" -c 1 --src 250 --fanout '{"event":"broadcast","data":"hello, everyone"}' \
                "ws://127.0.0.1:${sports[0]}/chat" >"$tmp/sender.log" 2>&1
            sent=$(awk '/^sent:/ {print $2}' "$tmp/sender.log")
            last=0 got=0
            for k in $(seq 0 $((K - 1))); do
                wait "${lpids[$k]}" 2>/dev/null
                l=$(awk '/^received:/ {print $7}' "$tmp/lg.await.$k.log")
                if [ -n "$l" ]; then got=$(( got + $(share "$k") )); [ "$l" -gt "$last" ] && last=$l
                else echo "  loadgen $k: $(tail -1 "$tmp/lg.await.$k.log")"; fi
            done
            if [ -n "$sent" ] && [ "$got" = "$MANY" ]; then
                printf 'chat_server --redis x%d: %d connections open in %s s; RSS %d B per connection; Redis %d KB\n' \
                    "$K" "$MANY" "$open_s" $(( grown * 1024 / MANY )) $(( $(rss_kb "$rpid") - rbefore ))
                printf 'broadcast: one {"event":"broadcast"} to process 1 reached all %d connections in %s ms\n' \
                    "$MANY" "$(awk -v a="$sent" -v b="$last" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')"
            else
                echo "chat: the broadcast reached $got of $MANY connections ($(tail -1 "$tmp/sender.log"))"
            fi
        else
            echo "chat: failed"
        fi
        for p in "${lpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        stop_servers
    fi
    echo "(servers and load generators unpinned, on $(nproc) CPUs; a process holds at most $PER connections)"
