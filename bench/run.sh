#!/usr/bin/env bash
# bench/run.sh - ws.h's benchmarks, with the peers in the same run: `make bench` runs it.
#
# 1. build/bench_mem: receive, send and UTF-8 paths in memory, beside memcpy and wslay.
# 2. Echo servers in interleaved rounds (A B C ... A B C, ROUNDS of them), each pinned to
#    CPU 0 with build/loadgen on CPU 1: build/echo_server (ws.h), uWebSockets' EchoServer
#    when UWS_ECHO names one (built by hand: bench/README.md), wslay and libwebsockets echo
#    servers (bench/peers/), Node's `ws` (tests/interop/node_server.mjs), and a plain TCP echo
#    (bench/peers/tcp_echo.c, with loadgen --tcp): the machine's limit for the same traffic.
#    For each: small messages (100 connections x 16 in flight x 16 bytes, binary and mixed
#    CJK text), bulk (10 connections x 4 in flight x 64 KiB, binary, ASCII text and mixed
#    text; 4 x 2 x 1 MiB and 2 x 1 x 16 MiB binary), latency (1 connection, 1 in flight,
#    server and loadgen on the same core), system calls per small message (perf stat on the
#    server during the binary small run, strace -c if perf cannot), and memory: the server's
#    RSS growth over 10,000 idle connections, divided.
# 3. Tables: each figure's median over the rounds with min-max, and the ratios to ws.h made
#    within each round (then their median, min-max). Results in $BUILD/bench/, and a chart,
#    $BUILD/bench/bench.png, drawn by gnuplot.
# 4. Many connections (MANY_CONNS, 100000; 0 skips it; fewer when the hard ulimit -n is
#    lower): that many idle connections to echo_server and to uWebSockets (past 20,000 from
#    127.0.0.2 and on), the time to open them all and the RSS growth; then a broadcast with
#    examples/chat_server.c to CHAT_CONNS connections: the fan-out time.
# 5. Echo with permessage-deflate (ZIDLE_CONNS, 1000; 0 skips it): ws.h's echo_server, Node ws
#    with perMessageDeflate (bench/peers/node_deflate.mjs) and uWebSockets' EchoServer with
#    UWS_ECHO, in interleaved rounds: chat-JSON msgs/s and RSS per idle compressed connection.
#    (PEERS=" " BENCH_MEM=0 MANY_CONNS=0 runs this part alone.)
#
# Environment: BUILD (build), SECONDS_PER_RUN (3), ROUNDS (3), IDLE_CONNS (10000),
# MANY_CONNS (100000), CHAT_CONNS (5000: the broadcast's audience), BENCH_MEM=0 to leave out the in-memory part, PEERS (default "ws.h uws wslay libwebsockets node tcp"; uws only
# with UWS_ECHO), UWS_ECHO (path to uWebSockets' examples/EchoServer; it listens on 9001),
# BENCH_RT=1 to run servers and load generator at real-time priority (chrt -f 10): on a
# machine busy with other work, a woken server or load generator otherwise waits for the
# busy process's time slice, and the figures measure the scheduler.
set -u
BUILD=${BUILD:-build}
RUN=${SECONDS_PER_RUN:-3}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE_CONNS:-10000}
MANY=${MANY_CONNS:-100000}
CHAT=${CHAT_CONNS:-5000}
UWS_ECHO=${UWS_ECHO:-}
PEERS=${PEERS:-"ws.h uws wslay libwebsockets node tcp"}
if [ -z "$UWS_ECHO" ] || [ ! -x "$UWS_ECHO" ]; then
    [ -n "$UWS_ECHO" ] && echo "(UWS_ECHO=$UWS_ECHO: not an executable; uWebSockets left out)"
    PEERS=$(tr ' ' '\n' <<<"$PEERS" | grep -vx uws | tr '\n' ' ')
fi
PRIO=()
TCP=()
if [ "${BENCH_RT:-0}" = 1 ]; then
    if chrt -f 10 true 2>/dev/null; then PRIO=(chrt -f 10); else echo "(BENCH_RT: chrt -f not permitted, running at normal priority)"; fi
fi
OUT=$BUILD/bench
mkdir -p "$OUT"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
ulimit -Sn $((IDLE + 1000)) 2>/dev/null || { IDLE=$(( $(ulimit -Sn) - 200 )); echo "(ulimit -n: $IDLE idle connections)"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
field() {   # field NAME LINE: the value of NAME=value in LINE
    awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' <<<"$2"
}

machine() {
    echo "machine: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs," \
         "Linux $(uname -r); compiler: $(${CC:-gcc} --version | head -1); flags: -O2" \
         "(no -march); peers: wslay $(dpkg-query -W -f '${Version}' libwslay-dev 2>/dev/null)," \
         "libwebsockets $(dpkg-query -W -f '${Version}' libwebsockets-dev 2>/dev/null)," \
         "Node $(node --version 2>/dev/null) ws $(node -p 'require("ws/package.json").version' 2>/dev/null)"
    [ -n "$UWS_ECHO" ] && echo "uWebSockets: $UWS_ECHO ($(cat "$(dirname "$UWS_ECHO")/COMMIT" 2>/dev/null || echo "commit unknown: put it in COMMIT beside the binary"))"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
    local busy
    busy=$(ps -eo ni=,pcpu=,comm= | awk '$1 > 0 && $2 > 20 {print $3}' | sort -u | tr '\n' ' ')
    [ -n "$busy" ] && echo "note: measured while these ran at low priority: $busy"
    [ ${#PRIO[@]} -gt 0 ] && echo "note: echo servers and load generator at real-time priority (${PRIO[*]})"
    return 0
}

echo "== in memory (build/bench_mem) =="
machine | tee "$OUT/machine.txt"
if [ "${BENCH_MEM:-1}" = 1 ]; then "$BUILD/bench_mem" 0.2 --csv "$OUT/mem.csv" || exit 1
else echo "(BENCH_MEM=0: skipped)"; : >"$OUT/mem.csv"; fi


start_server() {    # NAME PORT: starts it pinned to CPU 0, sets spid
    local log=$OUT/server_$1.log
    : >"$log"
    case $1 in
        ws.h) "${PRIO[@]}" taskset -c 0 "$BUILD/echo_server" "$2" /dev/null >"$log" 2>&1 & ;;
        # uWebSockets' writev (uSockets' bsd_write2) has no MSG_NOSIGNAL: a client that goes
        # while it writes would kill it with SIGPIPE. Ignored signals stay ignored over exec.
        uws) ( trap '' PIPE; exec "${PRIO[@]}" taskset -c 0 "$UWS_ECHO" ) >"$log" 2>&1 & ;;
        wslay) "${PRIO[@]}" taskset -c 0 "$BUILD/wslay_echo" "$2" >"$log" 2>&1 & ;;
        libwebsockets) "${PRIO[@]}" taskset -c 0 "$BUILD/lws_echo" "$2" >"$log" 2>&1 & ;;
        node) "${PRIO[@]}" taskset -c 0 node tests/interop/node_server.mjs "$2" >"$log" 2>&1 & ;;
        # zlib runs in libuv's threads on the same core: under SCHED_FIFO a thread that spins
        # keeps them from running (0 msgs/s), so with BENCH_RT this one runs round-robin
        node-deflate) ${PRIO[@]:+chrt -r 10} taskset -c 0 node bench/peers/node_deflate.mjs "$2" >"$log" 2>&1 & ;;
        tcp) "${PRIO[@]}" taskset -c 0 "$BUILD/tcp_echo" "$2" >"$log" 2>&1 & ;;
        chat) "${PRIO[@]}" taskset -c 0 "$BUILD/chat_server" --ping-interval 0 "$2" >"$log" 2>&1 & ;;
    esac
    spid=$!
    pids+=("$spid")
    local i
    for i in $(seq 100); do grep -qi listening "$log" 2>/dev/null && return 0; sleep 0.05; done
    echo "$1: did not start"; cat "$log"; return 1
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }

# loadgen CPU ARGS...: one run; prints its result line (or "error: ...")
loadgen() {
    local cpu=$1; shift
    local line prio=("${PRIO[@]}")
    # on the server's core, above it: it runs whenever it is woken, the server when it waits
    [ ${#PRIO[@]} -gt 0 ] && [ "$cpu" = 0 ] && prio=(chrt -f 11)
    line=$(timeout $((RUN + 60)) "${prio[@]}" taskset -c "$cpu" "$BUILD/loadgen" -d "$RUN" -w 1 \
        "${TCP[@]}" "$@" 2>&1 | tail -1)
    case $line in msgs/s=*) echo "$line" ;; *) echo "error: $line" ;; esac
}

# syscalls PID SECONDS: system calls the process made in the next SECONDS
syscalls() {
    local n
    local hi=()
    [ ${#PRIO[@]} -gt 0 ] && hi=(chrt -f 20)             # above the processes it watches
    n=$("${hi[@]}" perf stat -x, -e raw_syscalls:sys_enter -p "$1" -- sleep "$2" 2>&1 | awk -F, '/raw_syscalls/ {print $1}')
    if [[ $n =~ ^[0-9]+$ ]]; then echo "$n"; return; fi
    n=$("${hi[@]}" timeout "$2" strace -c -f -p "$1" 2>&1 | awk '/^-+ -+/ {t=1; next} t && /total/ {print $4}')
    echo "${n:-?}"
}

# rt_self: with BENCH_RT, this (sub)shell above the processes it watches, or it would not run
# until they are done
rt_self() { [ ${#PRIO[@]} -gt 0 ] && chrt -f -p 20 "$BASHPID" 2>/dev/null; return 0; }

# cpu_share PID SECONDS: the share of one CPU the process used in the next SECONDS
cpu_share() {
    local a b t0 t1
    t0=$(date +%s.%N); a=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null)
    sleep "$2"
    t1=$(date +%s.%N); b=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null)
    awk -v a="$a" -v b="$b" -v t="$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }')" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN { if (a != "" && b != "" && t > 0) printf "%.3f", (b - a) / hz / t }'
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# idle PEER URL N: opens N idle connections; prints "BYTES_PER_CONN SECONDS" or "? ?"
idle_conns() {
    local before after i log=$OUT/idle_$1
    before=$(rss_kb "$spid")
    timeout 300 "${PRIO[@]}" taskset -c 1 "$BUILD/loadgen" -c "$3" --idle 3 "$2" >"$log" 2>&1 &
    local idler=$!
    for i in $(seq 6000); do grep -q '^idle:' "$log" && break; kill -0 $idler 2>/dev/null || break; sleep 0.05; done
    sleep 0.5
    after=$(rss_kb "$spid")
    wait $idler
    if grep -q '^idle:' "$log"; then
        echo "$(( (after - before) * 1024 / $3 )) $(awk '/^idle:/ {print $5}' "$log")"
    else
        echo "? ?"; echo "  $1: idle connections: $(tail -1 "$log")" >&2
    fi
}

# the scenarios: key, connections, in flight, size, type; the figure kept (msgs/s or MB/s)
SCEN=(
    "small  100 16 16       binary msgs/s"
    "smallt 100 16 16       mixed  msgs/s"
    "bulk   10  4  65536    binary MB/s"
    "bulkt  10  4  65536    text   MB/s"
    "bulkm  10  4  65536    mixed  MB/s"
    "mib    4   2  1048576  binary MB/s"
    "mib16  2   1  16777216 binary MB/s"
)
declare -A R        # R[peer,key,round]
echo
echo "== echo servers: server on CPU 0, build/loadgen on CPU 1, ${RUN} s per run, $ROUNDS rounds =="
for round in $(seq "$ROUNDS"); do
    for peer in $PEERS; do
        port=$(free_port)
        [ "$peer" = uws ] && port=9001
        if [ "$peer" = node ] && ! node -e 'require("ws")' 2>/dev/null; then
            [ "$round" = 1 ] && echo "$peer: skipped (npm ci first)"; continue
        fi
        start_server "$peer" "$port" || continue
        url=ws://127.0.0.1:$port/
        TCP=()
        [ "$peer" = tcp ] && TCP=(--tcp)
        printf 'round %s %-14s' "$round" "$peer"
        for sc in "${SCEN[@]}"; do
            read -r key c p s t fig <<<"$sc"
            if [ "$key" = small ]; then     # the system calls counted over one second of it
                ( rt_self; sleep 1.5; syscalls "$spid" 1 >"$OUT/sys_$peer" ) &
                counter=$!
            fi
            ( rt_self; sleep 1.3; cpu_share "$spid" "$(awk -v r="$RUN" 'BEGIN { print r - 0.5 }')" >"$OUT/cpu_$peer" ) &
            sampler=$!
            line=$(loadgen 1 -c "$c" -p "$p" -s "$s" -t "$t" "$url")
            wait "$sampler"
            R[$peer,${key}_cpu,$round]=$(cat "$OUT/cpu_$peer")
            # the figure per second of server CPU: what ws.h saves when the load generator,
            # not the server, is the limit
            R[$peer,${key}_eff,$round]=$(awk -v v="$(field "$fig" "$line")" -v c="${R[$peer,${key}_cpu,$round]}" \
                'BEGIN { if (v + 0 > 0 && c + 0 > 0.02) printf "%.1f", v / c }')
            case $line in error*) echo; printf '  %s %s: %s\n%28s' "$peer" "$key" "$line" "" ;; esac
            R[$peer,$key,$round]=$(field "$fig" "$line")
            if [ "$key" = small ]; then
                wait "$counter"
                R[$peer,sys,$round]=$(awk -v n="$(cat "$OUT/sys_$peer")" -v r="${R[$peer,small,$round]:-0}" \
                    'BEGIN { if (n ~ /^[0-9]+$/ && r > 0) printf "%.3f", n / r; else print "" }')
            fi
            printf '.'
        done
        line=$(loadgen 0 -c 1 -p 1 -s 16 -t binary "$url")
        case $line in error*) echo; echo "  $peer lat: $line" ;; esac
        R[$peer,p50,$round]=$(field p50_us "$line")
        R[$peer,p99,$round]=$(field p99_us "$line")
        if [ "$peer" != tcp ]; then     # on a fresh server: no memory freed by the runs above
            stop_server
            start_server "$peer" "$port" || continue
            read -r mem _ < <(idle_conns "$peer" "$url" "$IDLE")
            [ "$mem" != "?" ] && R[$peer,mem,$round]=$mem
        else
            R[$peer,sys,$round]=""
        fi
        stop_server
        echo " done"
    done
done

# ---- the tables ----
# stat_text KEY: ws.h's KEY / its bulk binary, each round with itself: "median min max"
stat_text() {
    local r
    for r in $(seq "$ROUNDS"); do
        awk -v a="${R[ws.h,$1,$r]:-}" -v b="${R[ws.h,bulk,$r]:-}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.4f\n", a / b }'
    done | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# stat KEY PEER [DEN]: "median min max" over the rounds of R[PEER,KEY], or of the ratio
# R[PEER,KEY] / R[DEN,KEY] (each round with itself; INV=1: R[DEN] / R[PEER]) when DEN is given
stat() {
    local key=$1 peer=$2 den=${3:-} inv=${4:-0} r v a b
    for r in $(seq "$ROUNDS"); do
        a=${R[$peer,$key,$r]:-}
        if [ -z "$den" ]; then v=$a; else
            b=${R[$den,$key,$r]:-}
            v=$(awk -v a="$a" -v b="$b" -v inv="$inv" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.4f", inv ? b / a : a / b }')
        fi
        [ -n "$v" ] && echo "$v"
    done | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# cell KIND "median min max": one table cell
cell() {
    awk -v k="$1" -v s="$2" 'BEGIN {
        n = split(s, v, " "); if (n < 3) { print "-"; exit }
        if (k == "M") f = "%.2f"; else if (k == "G") f = "%.2f"; else if (k == "x") f = "%.2f";
        else if (k == "us") f = "%.1f"; else if (k == "%") f = "%.0f"; else if (k == "sys") f = "%.3f"; else f = "%.0f";
        d = (k == "M") ? 1e6 : (k == "G") ? 1e3 : (k == "%") ? 0.01 : 1;
        m = sprintf(f, v[1] / d); lo = sprintf(f, v[2] / d); hi = sprintf(f, v[3] / d);
        u = (k == "M") ? " M" : (k == "G") ? " GB/s" : (k == "x") ? "x" : (k == "%") ? "%" : "";
        if (lo == hi) printf "%s%s", m, u; else printf "%s%s (%s-%s)", m, u, lo, hi }'
}
CPUROWS=(); EFFROWS=()
ROWS=(
    "small  M   16 B binary, msgs/s (100 x 16)"
    "smallt M   16 B mixed text, msgs/s"
    "bulk   G   64 KiB binary (10 x 4)"
    "bulkt  G   64 KiB ASCII text"
    "bulkm  G   64 KiB mixed CJK text"
    "mib    G   1 MiB binary (4 x 2)"
    "mib16  G   16 MiB binary (2 x 1)"
    "p50    us  latency p50, us (1 x 1, one core)"
    "p99    us  latency p99, us"
    "sys    sys syscalls per small message"
    "mem    B   RSS per idle connection, B"
)
for sc in "${SCEN[@]}"; do
    read -r key _ _ _ _ fig <<<"$sc"
    label=$(printf '%s\n' "${ROWS[@]}" | awk -v k="$key" '$1 == k { $1 = ""; $2 = ""; sub(/^  /, ""); sub(/,.*| \(.*/, ""); print }')
    CPUROWS+=("${key}_cpu %  $label: server CPU")
    EFFROWS+=("${key}_eff $([ "$fig" = msgs/s ] && echo M || echo G)   $label per server CPU-second")
done
SHOWN=()
for peer in $PEERS; do
    for r in $(seq "$ROUNDS"); do [ -n "${R[$peer,small,$r]:-}" ] && { SHOWN+=("$peer"); break; }; done
done
{
    echo
    echo "Echo, one server thread on CPU 0, load generator on CPU 1, loopback; every echoed byte checked."
    echo "Each figure: the median of $ROUNDS interleaved rounds (min-max); ${RUN} s per run."
    printf '%-42s' ""; for peer in "${SHOWN[@]}"; do printf ' | %-26s' "$peer"; done; echo
    for row in "${ROWS[@]}"; do
        read -r key kind label <<<"$row"
        printf '%-42s' "$label"
        for peer in "${SHOWN[@]}"; do printf ' | %-26s' "$(cell "$kind" "$(stat "$key" "$peer")")"; done
        echo
    done
    echo "Server CPU during each run (share of one CPU; under 100%: the load generator was the limit),"
    echo "and each figure divided by it (throughput per second of server CPU):"
    for row in "${CPUROWS[@]}" "${EFFROWS[@]}"; do
        read -r key kind label <<<"$row"
        printf '%-42s' "$label"
        for peer in "${SHOWN[@]}"; do printf ' | %-26s' "$(cell "$kind" "$(stat "$key" "$peer")")"; done
        echo
    done
    if [[ " ${SHOWN[*]} " == *" ws.h "* ]]; then
        echo
        echo "ws.h against each peer, the ratio made within each round: median (min-max); above 1: ws.h better"
        echo "(throughput: ws.h / peer; latency, system calls, memory: peer / ws.h; against tcp: the share of"
        echo " the machine's limit ws.h reaches)"
        printf '%-42s' ""; for peer in "${SHOWN[@]}"; do [ "$peer" = ws.h ] || printf ' | %-22s' "ws.h / $peer"; done; echo
        for row in "${ROWS[@]}" "${EFFROWS[@]}"; do
            read -r key kind label <<<"$row"
            inv=0; case $key in p50|p99|sys|mem) inv=1 ;; esac
            printf '%-42s' "$label"
            for peer in "${SHOWN[@]}"; do
                [ "$peer" = ws.h ] || printf ' | %-22s' "$(cell x "$(stat "$key" ws.h "$peer" "$inv")")"
            done
            echo
        done
        echo "text within 15% of binary (ws.h, same round): 64 KiB ASCII $(cell x "$(stat_text bulkt)"), mixed $(cell x "$(stat_text bulkm)")"
    fi
    echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
} | tee "$OUT/echo.txt"

# ---- echo with permessage-deflate ----
# The same rounds for compressed chat traffic: 100 connections x 16 in flight x 200-byte chat
# JSON messages (loadgen -t json --deflate: each message compressed, each echo inflated and
# checked), then the RSS growth over ZIDLE_CONNS idle connections that agreed compression,
# each with one message echoed first (so that the server's compression state for it exists).
# ws.h's echo_server (its defaults: permessage-deflate agreed with server_no_context_takeover,
# a 32 KiB decoder window per connection, one encoder for all); Node ws with perMessageDeflate
# (bench/peers/node_deflate.mjs: ws's defaults, threshold 64 bytes); uWebSockets' EchoServer
# with UWS_ECHO (its example's own setting: DEDICATED_COMPRESSOR_4KB | DEDICATED_DECOMPRESSOR,
# echoes under 16 KiB compressed).
ZIDLE=${ZIDLE_CONNS:-1000}
TCP=()      # the echo rounds leave it set when their last peer is tcp, as PEERS has it by default
ZPEERS=${ZPEERS:-"ws.h node-deflate uws"}
[[ " $PEERS " == *" uws "* ]] || [ -n "${UWS_ECHO:-}" -a -x "${UWS_ECHO:-/}" ] || ZPEERS=$(tr ' ' '\n' <<<"$ZPEERS" | grep -vx uws | tr '\n' ' ')
node -e 'require("ws")' 2>/dev/null || ZPEERS=$(tr ' ' '\n' <<<"$ZPEERS" | grep -vx node-deflate | tr '\n' ' ')
if [ -n "${ZPEERS// /}" ] && [ "$ZIDLE" -gt 0 ]; then
    echo
    echo "== echo with permessage-deflate: 100 x 16 x 200 B chat JSON (loadgen --deflate), $ROUNDS rounds; RSS per idle compressed connection ($ZIDLE) =="
    for round in $(seq "$ROUNDS"); do
        for peer in $ZPEERS; do
            port=$(free_port)
            [ "$peer" = uws ] && port=9001
            start_server "$peer" "$port" || continue
            url=ws://127.0.0.1:$port/
            ( rt_self; sleep 1.3; cpu_share "$spid" "$(awk -v r="$RUN" 'BEGIN { print r - 0.5 }')" >"$OUT/cpu_$peer" ) &
            sampler=$!
            line=$(loadgen 1 --deflate -c 100 -p 16 -s 200 -t json "$url")
            wait "$sampler"
            R[$peer,zrate,$round]=$(field msgs/s "$line")
            R[$peer,zcpu,$round]=$(cat "$OUT/cpu_$peer")
            stop_server
            start_server "$peer" "$port" || continue
            before=$(rss_kb "$spid")
            log=$OUT/zidle_$peer
            timeout 300 "${PRIO[@]}" taskset -c 1 "$BUILD/loadgen" --deflate -s 200 -t json -c "$ZIDLE" --idle 3 "$url" >"$log" 2>&1 &
            idler=$!
            for i in $(seq 6000); do grep -q '^idle:' "$log" && break; kill -0 $idler 2>/dev/null || break; sleep 0.05; done
            sleep 0.5
            after=$(rss_kb "$spid")
            wait $idler
            grep -q '^idle:' "$log" && R[$peer,zmem,$round]=$(( (after - before) * 1024 / ZIDLE ))
            stop_server
            printf 'round %s %-14s %s msgs/s, server CPU %s, %s B per idle connection%s\n' "$round" "$peer" \
                "${R[$peer,zrate,$round]:-?}" "${R[$peer,zcpu,$round]:-?}" "${R[$peer,zmem,$round]:-?}" \
                "$(case $line in error*) echo " ($line)" ;; esac; grep -q '^idle:' "$log" || echo " (idle: $(tail -1 "$log"))")"
        done
    done
    {
        echo
        echo "Echo with permessage-deflate: 200-byte chat JSON, 100 connections x 16 in flight, every echo"
        echo "inflated and checked; median of $ROUNDS interleaved rounds (min-max), ${RUN} s per run."
        printf '%-34s' ""; for peer in $ZPEERS; do printf ' | %-24s' "$peer"; done; echo
        printf '%-34s' "msgs/s"; for peer in $ZPEERS; do printf ' | %-24s' "$(cell n "$(stat zrate "$peer")")"; done; echo
        printf '%-34s' "server CPU"; for peer in $ZPEERS; do printf ' | %-24s' "$(cell % "$(stat zcpu "$peer")")"; done; echo
        printf '%-34s' "RSS per idle compressed conn, B"; for peer in $ZPEERS; do printf ' | %-24s' "$(cell B "$(stat zmem "$peer")")"; done; echo
        printf '%-34s' "ws.h / peer, msgs/s (same round)"; for peer in $ZPEERS; do [ "$peer" = ws.h ] && printf ' | %-24s' "" || printf ' | %-24s' "$(cell x "$(stat zrate ws.h "$peer")")"; done; echo
        printf '%-34s' "peer / ws.h, RSS (same round)"; for peer in $ZPEERS; do [ "$peer" = ws.h ] && printf ' | %-24s' "" || printf ' | %-24s' "$(cell x "$(stat zmem ws.h "$peer" 1)")"; done; echo
    } | tee "$OUT/deflate.txt"
fi

# ---- many connections ----
if [ "$MANY" -gt 0 ] && ! ulimit -Sn $((MANY + 500)) 2>/dev/null; then
    # each side holds MANY descriptors: without CAP_SYS_RESOURCE, the hard limit bounds them
    echo
    echo "(ulimit -n $((MANY + 500)) not permitted, the hard limit is $(ulimit -Hn): $(( $(ulimit -Hn) - 500 )) connections instead of $MANY)"
    MANY=$(( $(ulimit -Hn) - 500 ))
    ulimit -Sn "$(ulimit -Hn)"
fi
if [ "$MANY" -gt 0 ]; then
    echo
    echo "== $MANY idle connections (from 127.0.0.1-$(( (MANY - 1) / 20000 + 1 ))): RSS, time to open them all, a broadcast =="
    {
        for peer in ws.h uws chat; do
            [ "$peer" = uws ] && [[ " $PEERS " != *" uws "* ]] && continue
            port=$(free_port)
            [ "$peer" = uws ] && port=9001
            start_server "$peer" "$port" || continue
            path=/; [ "$peer" = chat ] && path=/chat
            if [ "$peer" = chat ]; then
                before=$(rss_kb "$spid")
                line=$(timeout 300 "${PRIO[@]}" taskset -c 1 "$BUILD/loadgen" -c "$CHAT" \
                       --fanout '{"event":"broadcast","data":"hello, everyone"}' \
                       "ws://127.0.0.1:$port$path" 2>&1)
                after=$(rss_kb "$spid")
                printf '%-8s %s conns: open in %s s, RSS %s B/conn, broadcast to all in %s ms\n' chat "$CHAT" \
                    "$(awk '/^connected:/ {print $5}' <<<"$line")" "$(( (after - before) * 1024 / CHAT ))" \
                    "$(awk '/^fanout:/ {print $5}' <<<"$line")"
                grep -q '^fanout:' <<<"$line" || echo "  chat: $(tail -1 <<<"$line")"
            else
                read -r mem secs < <(idle_conns "$peer" "ws://127.0.0.1:$port$path" "$MANY")
                printf '%-8s %s conns: open in %s s, RSS %s B/conn\n' "$peer" "$MANY" "$secs" "$mem"
            fi
            stop_server
        done
        echo "(opened one after another by build/loadgen, each handshake done before the next; the chat"
        echo " with --ping-interval 0; RSS: the server's growth, divided)"
    } | tee "$OUT/many.txt"
fi

# ---- data and chart ----
{
    echo "# server small_Mmsgs small_text_Mmsgs bulk_GBs bulk_text_GBs (medians over the rounds)"
    for peer in "${SHOWN[@]}"; do
        awk -v n="$peer" -v a="$(stat small "$peer")" -v b="$(stat smallt "$peer")" \
            -v c="$(stat bulk "$peer")" -v d="$(stat bulkm "$peer")" \
            'BEGIN { printf "\"%s\" %.4f %.4f %.4f %.4f\n", n, a / 1e6, b / 1e6, c / 1e3, d / 1e3 }'
    done
} >"$OUT/echo.dat"
awk -F, '$1 == "receive" { k = $2 " " $3; v[k, $4] = $5; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
         END { print "# case ws.h wslay_frame wslay_event memcpy (payload GB/s)";
               for (i = 1; i <= n; i++) { k = order[i]; printf "\"%s\" %s %s %s %s\n", k, v[k, "ws.h"], v[k, "wslay_frame"], v[k, "wslay_event"], v[k, "memcpy"] } }' \
    "$OUT/mem.csv" >"$OUT/mem.dat"
# the in-memory panel only when there are rows to draw (BENCH_MEM=0 leaves mem.dat empty)
memrows=$(grep -vc '^#' "$OUT/mem.dat" || true)
if command -v gnuplot >/dev/null; then
    for ext in png svg; do
        gnuplot -e "outfile='$OUT/bench.$ext'; echo='$OUT/echo.dat'; mem='$OUT/mem.dat'; memrows=$memrows; machine='$(head -1 "$OUT/machine.txt" | sed "s/'//g")'" \
            bench/chart.gp && echo "chart: $OUT/bench.$ext"
    done
else
    echo "chart: skipped (gnuplot not installed: apt-get install gnuplot-nox)"
fi
