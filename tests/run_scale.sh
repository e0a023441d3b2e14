#!/usr/bin/env bash
# chat_server --redis scaled out: one Redis (redis-server, no persistence), three
# chat_server processes sharing rooms through it, nginx in front as load balancer (ws://
# and, terminating TLS, wss:// on two free loopback ports; config written here, the
# certificates made here by tests/tls/make_certs.sh), and one chat_server without Redis
# for the random part's reference. tests/scale/scale_check.py checks, in this order:
#   random  2000 seeded random actions on the 3 processes and on the single one: the same
#           answers and the same events for every client (SCALE_SEED=N replays)
#   share   rooms, names, members lists and broadcasts across processes, through nginx
#   wss     the same through nginx's TLS
#   kill    kill -9 of one process under load: its clients notice, reconnect through
#           nginx, take their names back; the others lose nothing, get nothing twice
#   redis   Redis killed and started again: refused meanwhile, then back within 5 s
#   stop    SIGTERM to one process: its members leave the others' rooms, it exits 0
# and before them: Redis unreachable at start is said and exits 1, nothing listening.
# Every process is started here on 127.0.0.1 and stopped by PID. Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3
TTL=4000                        # --redis-ttl: a process that stops is reaped within 5 s
PING=(--ping-interval 2000 --ping-timeout 2000)
redis_pidfile=$tmp/redis.pid
trap '[ -s "$redis_pidfile" ] && kill "$(cat "$redis_pidfile")" 2>/dev/null; cleanup' EXIT

[ -x "$BUILD/chat_server" ] || { ko "$BUILD/chat_server is missing (make examples)"; finish; }
command -v redis-server >/dev/null || skip "no redis-server (apt-get install redis-server)"
command -v nginx >/dev/null || skip "no nginx (apt-get install nginx-light)"
command -v openssl >/dev/null || skip "no openssl (apt-get install openssl)"
"$PY" -c 'import websockets' 2>/dev/null || skip "no python3-websockets"
if "$BUILD/chat_server" --redis 127.0.0.1:1 0 2>&1 | grep -q "built without hiredis"; then
    skip "$BUILD/chat_server was built without hiredis (apt-get install libhiredis-dev, make examples)"
fi

# ---- Redis unreachable at start: said, exit 1, never listening ---------------------------
nowhere=$(free_port)
t0=$(date +%s%N)
timeout 10 "$BUILD/chat_server" --redis "127.0.0.1:$nowhere" "$(free_port)" >"$tmp/nowhere.log" 2>&1
status=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $status -eq 1 ] && grep -q "cannot use Redis at 127.0.0.1:$nowhere" "$tmp/nowhere.log" &&
   ! grep -q listening "$tmp/nowhere.log"; then
    ok "no Redis at start: says so and exits 1 in $ms ms, never listening ($(grep -o 'cannot use.*refused' "$tmp/nowhere.log"))"
else
    ko "no Redis at start: exit $status after $ms ms"; show "$tmp/nowhere.log"
fi
"$BUILD/chat_server" --redis nocolon 0 >"$tmp/bad.log" 2>&1
[ $? -eq 2 ] && grep -q "want HOST:PORT" "$tmp/bad.log" && ok "--redis without a port: usage error, exit 2" ||
    { ko "--redis without a port"; show "$tmp/bad.log"; }

# ---- Redis -------------------------------------------------------------------------------
rport=$(free_port)
redis_cmd=(redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no
           --dir "$tmp" --daemonize no --protected-mode yes)
"${redis_cmd[@]}" >"$tmp/redis.log" 2>&1 &
echo $! >"$redis_pidfile"
wait_for "Ready to accept connections" "$tmp/redis.log" || { ko "redis-server did not start"; show "$tmp/redis.log"; finish; }

# ---- three chat_server processes and the single one ---------------------------------------
# start_chat NAME OPTIONS...: sets $port, $spid (the server itself, for kill -9)
start_chat() {
    local name=$1
    shift
    port=$(free_port)
    "$BUILD/chat_server" "$@" "${PING[@]}" "$port" >"$tmp/$name.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    wait_for listening "$tmp/$name.log" || { ko "$name: chat_server did not start"; show "$tmp/$name.log"; finish; }
}
backends=() bpids=() blogs=()
for i in 0 1 2; do
    start_chat "chat$i" --redis "127.0.0.1:$rport" --redis-ttl $TTL
    backends+=("$port"); bpids+=("$spid"); blogs+=("$tmp/chat$i.log")
done
grep -q "sharing rooms as" "$tmp/chat0.log" && ok "3 chat_server --redis processes up, sharing rooms" ||
    { ko "chat0 does not say it shares rooms"; show "$tmp/chat0.log"; }
start_chat single
single=$port

# ---- nginx in front: ws:// and wss:// (TLS ends at nginx) ------------------------------------
if ! bash tests/tls/make_certs.sh "$tmp/pki" >"$tmp/certs.log" 2>&1; then
    ko "test certificates (tests/tls/make_certs.sh)"; show "$tmp/certs.log"; finish
fi
nport=$(free_port)
tport=$(free_port)
mkdir -p "$tmp/nginx/tmp"
# the deployment recipe of examples/README.md, written by examples/scale_out.sh
bash examples/scale_out.sh --nginx-conf "$tmp/nginx" "$nport" "$tport" "$tmp/pki/server.pem" \
    "$tmp/pki/server.key" "${backends[@]}" >"$tmp/nginx/nginx.conf"
# what examples/README.md shows is what runs here: each proxy_, map and listen line of its nginx block
missing=$(awk '/^```nginx/ { on = 1; next } /^```/ { on = 0 } on' examples/README.md |
          sed -E 's/#.*//; s/^ +//; s/ +$//; s/ +/ /g' | grep -E '^(proxy_|map |ssl_|listen )' |
          sed -E 's/127\.0\.0\.1:[0-9]+/ADDR/; s/(ssl_certificate(_key)?) .*/\1/' |
          while read -r l; do
              sed -E 's/#.*//; s/^ +//; s/ +$//; s/ +/ /g; s/127\.0\.0\.1:[0-9]+/ADDR/; s/(ssl_certificate(_key)?) .*/\1/' \
                  "$tmp/nginx/nginx.conf" | grep -qxF -- "$l" || echo "$l"; done)
[ -z "$missing" ] && ok "the nginx recipe in examples/README.md is the config tested here" ||
    ko "examples/README.md's nginx lines not in the generated config: $missing"
nginx -t -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx-t.log" 2>&1 ||
    { ko "nginx -t: the generated config"; show "$tmp/nginx-t.log"; finish; }
nginx -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.out" 2>&1 &
pids+=($!)
for i in $(seq 100); do
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $nport), 0.2)" 2>/dev/null && break
    sleep 0.05
done
page=$("$PY" -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$nport/', timeout=5).read().decode())" 2>&1)
grep -q "<html" <<<"$page" && ok "nginx on 127.0.0.1:$nport (wss on :$tport) serves the chat page from a process" ||
    { ko "GET / through nginx"; echo "$page" | tail -5; show "$tmp/nginx/error.log"; }

# ---- the checks ---------------------------------------------------------------------------
"$PY" - "$tmp/scale.json" "${redis_cmd[@]}" <<EOF
import json, sys
b = [dict(port=int(p), pid=int(i), log=l, url="ws://127.0.0.1:%s/chat" % p)
     for p, i, l in zip("${backends[*]}".split(), "${bpids[*]}".split(), "${blogs[*]}".split())]
json.dump(dict(backends=b, single=dict(url="ws://127.0.0.1:$single/chat"), nginx=$nport,
               nginx_tls=$tport, ca="$tmp/pki/ca.pem", redis_pidfile="$redis_pidfile",
               redis_log="$tmp/redis.log", redis_cmd=sys.argv[2:], ttl=$TTL,
               ping_interval=${PING[1]}, ping_timeout=${PING[3]}), open(sys.argv[1], "w"))
EOF
parts=(random share wss kill redis stop)
timeout 150 "$PY" tests/scale/scale_check.py "$tmp/scale.json" "${parts[@]}" >"$tmp/check.out" 2>&1
lines "$tmp/check.out" ""
grep -E '^(seed=|one process:|[a-z]+: done)' "$tmp/check.out"
for p in "${parts[@]}"; do
    grep -q "^$p: done" "$tmp/check.out" || { ko "$p: the checks did not finish"; show "$tmp/check.out"; }
done
grep -q Traceback "$tmp/check.out" && show "$tmp/check.out"

# the process stopped with SIGTERM exits 0; the others are still there
for i in 0 1 2; do
    if grep -q "shutting down" "${blogs[$i]}"; then
        wait "${bpids[$i]}"; st=$?
        [ $st -eq 0 ] && ok "stop: chat$i exits 0 after SIGTERM" || { ko "stop: chat$i exit $st"; show "${blogs[$i]}"; }
    fi
done
n=0
for i in 0 1 2; do kill -0 "${bpids[$i]}" 2>/dev/null && n=$((n + 1)); done
[ $n -eq 1 ] && ok "one process left running (one killed, one stopped)" || ko "$n processes left running, want 1"
grep -q "lost Redis" "$tmp/chat1.log" "$tmp/chat2.log" && ok "the processes log the Redis outage" || ko "no process logged the Redis outage"
finish
