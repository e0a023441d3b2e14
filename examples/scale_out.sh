#!/usr/bin/env bash
# examples/scale_out.sh - the chat scaled out on this machine: one redis-server, three
# build/chat_server --redis processes and nginx in front, all on 127.0.0.1
# (`make run-scale`; SCALE_PORT=9000 for another port).
#
#   examples/scale_out.sh [PORT]     nginx on PORT (8090), the chat processes on PORT+1..+3,
#                                    Redis on PORT+4; Ctrl-C stops all five (by PID)
#   examples/scale_out.sh --nginx-conf DIR PORT TLS_PORT CERT KEY BACKEND_PORT...
#                                    prints the nginx.conf it uses (TLS_PORT 0: no TLS),
#                                    with nginx's files in DIR: the deployment recipe, which
#                                    tests/run_scale.sh uses too
set -u
cd "$(dirname "$0")/.."

nginx_conf() {      # DIR PORT TLS_PORT CERT KEY BACKEND...
    local dir=$1 port=$2 tls=$3 cert=$4 key=$5 p
    shift 5
    cat <<EOF
# nginx in front of chat_server --redis processes (written by examples/scale_out.sh)
daemon off;                 # run in the foreground, stopped by its PID
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;

    # the WebSocket upgrade goes through; other requests (the page) are plain HTTP/1.1
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }

    upstream chat {         # round robin; a process that refuses is skipped for 10 s
EOF
    for p in "$@"; do echo "        server 127.0.0.1:$p max_fails=1 fail_timeout=10s;"; done
    cat <<EOF
    }
    server {
        listen 127.0.0.1:$port;
EOF
    [ "$tls" != 0 ] && cat <<EOF
        listen 127.0.0.1:$tls ssl;              # TLS ends here; the processes speak plain ws
        ssl_certificate $cert;
        ssl_certificate_key $key;
EOF
    cat <<EOF
        location / {
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$http_host;          # with the port: the Origin check
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;    # https: Origin https:// is ours
            proxy_read_timeout 1h;                     # the chat's heartbeats keep it open
            proxy_send_timeout 1h;
        }
    }
}
EOF
}

if [ "${1:-}" = --nginx-conf ]; then
    shift
    nginx_conf "$@"
    exit
fi

port=${1:-8090}
build=${BUILD:-build}
for tool in redis-server nginx; do
    command -v $tool >/dev/null || { echo "scale_out: no $tool (apt-get install redis-server nginx-light)" >&2; exit 2; }
done
if [ ! -x "$build/chat_server" ] || "$build/chat_server" --redis 127.0.0.1:1 0 2>&1 | grep -q "without hiredis"; then
    echo "scale_out: $build/chat_server without --redis (apt-get install libhiredis-dev, then make examples)" >&2
    exit 2
fi
dir=$(mktemp -d)
pids=()
stop() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 0' INT TERM

redis=$((port + 4))
redis-server --port $redis --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
for i in $(seq 50); do grep -q "Ready to accept" "$dir/redis.log" && break; sleep 0.1; done
backends=()
for i in 1 2 3; do
    "$build/chat_server" --redis 127.0.0.1:$redis $((port + i)) &
    pids+=($!)
    backends+=($((port + i)))
done
mkdir -p "$dir/tmp"
nginx_conf "$dir" "$port" 0 - - "${backends[@]}" >"$dir/nginx.conf"
nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" &
pids+=($!)
for i in $(seq 100); do (: </dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "scale_out: open http://127.0.0.1:$port/ (nginx; each new page lands on the next of" \
     "processes ${backends[*]}, rooms shared through Redis on :$redis). Ctrl-C stops all."
wait
